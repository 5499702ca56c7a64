"""CODA (Febelfin, version 2) files read into movements: record order, balances, trailer, globalisation.

The fields of each record are read in :mod:`.coda_records`.

What is checked
    Every record is exactly 128 characters (Windows-1252, CRLF or LF line ends, an optional final line
    end). Header version ``[127]`` must be ``2``. Records must come in order (0, then per statement 1,
    2.x/3.x/4 ..., 8, then 4 ..., 9), a 2.2/2.3 record must continue the 2.1 movement just before it
    (same sequence and detail number). Per statement: new balance = old balance + credits - debits.
    Per file (header to trailer): the trailer's record count (records 1, 2.x, 3.x and 8; records 0, 4
    and 9 are not counted, as the real files show) and its debit and credit sums. Only movements with
    detail number ``0000`` are in the balances and trailer sums. A file may hold several header-trailer
    blocks one after the other (the banks' "multi-statement" files); the trailer's "another file
    follows" flag is not trusted (the real samples set it to 1 on their last block). Not checked,
    because real files disagree: the account of record 8 against record 1, and the statement number
    and entry date repeated in each 2.1 record (the globalisation sample has 119 and 11/11/11 in a
    statement 159 of December 2014; the entry date is still what ``booked_on`` reports).

Globalisation (one amount on the account, its breakdown in the file)
    Within a statement, the 2.1 record with detail number ``0000`` of a sequence number is what was
    booked on the account; the 2.1 records with the same sequence number and another detail number are
    its details. The first digit of the transaction code ``[53]`` says what they are (1 = total made by
    the customer, 2 = total made by the bank, 3 = simple amount with detailed data, 5/6/7/8/9 = detail
    of those), and the globalisation code ``[124]`` opens and closes a level. This parser does not trust
    those codes alone; it applies one rule that can never book money twice: when the details of a
    total add up exactly (signed) to the total, the details are returned **instead of** the total (they
    carry each payer's name and communication); otherwise (no details, informative details such as a
    breakdown of charges, nested levels) the total alone is returned. Either way the returned
    movements add up to the statement's balances and the trailer sums. A detail without communication
    inherits the free communication of its total.

De-duplication (``StatementMovement.dedup_key``)
    ``coda|account|statement number|sequence|detail number|bank reference|entry date``. The entry date
    is part of it because paper statement numbers restart every year and some banks leave the bank
    reference blank (see the foreign-account sample): without it, statement 024 movement 0001 of two
    different years would be taken for the same movement.
"""

from __future__ import annotations

from datetime import date

from services.finance.domain.statements.coda_records import (
    CodaMove,
    CodaStatement,
    coda_cents,
    coda_check_trailer,
    coda_date,
    coda_movement_record,
    coda_old_balance,
    coda_sign,
    ddmmyy,
    split_coda_records,
)
from services.finance.domain.statements.model import (
    CREDIT,
    DEBIT,
    FORMAT_CODA,
    ParsedStatement,
    StatementError,
    StatementMovement,
    StatementSummary,
    clean_account,
    eur,
    ogm_in_free_text,
    squeeze,
    valid_ogm,
)


def parse_coda(data: bytes) -> ParsedStatement:
    records = split_coda_records(data)
    movements: list[StatementMovement] = []
    summaries: list[StatementSummary] = []
    created_on: date | None = None
    duplicate = False

    in_block = False  # between a header (0) and its trailer (9)
    block_records = block_debit = block_credit = 0
    block_statements = 0
    stmt: CodaStatement | None = None
    current: CodaMove | None = None  # the 2.1 record that 2.2/2.3 records may continue

    for line, rec in enumerate(records, 1):
        kind = rec[0]
        if kind == "0":
            if in_block:
                raise StatementError(
                    line, "a new header record (0) before the trailer record (9) of the file"
                )
            if rec[127] != "2":
                raise StatementError(
                    line, f"CODA version {rec[127]!r} is not supported: only version 2 files are read"
                )
            if rec[1:5] != "0000" or rec[14:16] != "05":
                raise StatementError(
                    line, "this header record (0) is not a CODA header (application code 05)"
                )
            header_date = coda_date(rec[5:11], line, "creation date")
            if created_on is None:
                created_on = header_date
            duplicate = duplicate or rec[16] == "D"
            in_block = True
            block_records = block_debit = block_credit = block_statements = 0
            continue
        if not in_block:
            raise StatementError(
                line, f"record type {kind!r} outside a file: a header record (0) must come first"
            )

        if kind == "1":
            if stmt is not None:
                raise StatementError(
                    line,
                    f"an old balance record (1) before the new balance record (8) of statement {stmt.number}",
                )
            stmt = coda_old_balance(rec, line)
            block_records += 1
            current = None
        elif kind == "2":
            if stmt is None:
                raise StatementError(
                    line, "a movement record (2) outside a statement (no old balance record 1)"
                )
            block_records += 1
            sub = rec[1]
            if sub == "1":
                current = coda_movement_record(rec, line)
                stmt.move_records += 1
                if current.detail == "0000":
                    stmt.groups.append((current, []))
                    if current.signed_cents >= 0:
                        block_credit += current.signed_cents
                        stmt.sum_credit += current.signed_cents
                    else:
                        block_debit -= current.signed_cents
                        stmt.sum_debit -= current.signed_cents
                else:
                    if not stmt.groups or stmt.groups[-1][0].seq != current.seq:
                        raise StatementError(
                            line,
                            f"detail movement {current.seq}/{current.detail} does not follow its "
                            f"movement {current.seq}/0000",
                        )
                    stmt.groups[-1][1].append(current)
            elif sub in ("2", "3"):
                if (
                    current is None
                    or current.key != rec[2:10]
                    or (sub == "2" and current.last != "1")
                    or (sub == "3" and current.last == "3")
                ):
                    raise StatementError(
                        line,
                        f"record 2.{sub} {rec[2:6]}/{rec[6:10]} does not continue the movement record before it",
                    )
                current.last = sub
                if sub == "2":
                    current.cont.append(rec[10:63])
                    current.end_to_end_id = _reference(rec[63:98])
                    current.r_transaction = rec[112].strip()
                    current.return_reason = rec[113:117].strip()
                else:
                    current.counterparty_account = rec[10:22] if rec[22] == " " else rec[10:44]
                    current.counterparty_name = rec[47:82]
                    current.cont.append(rec[82:125])
            else:
                raise StatementError(line, f"unknown movement record type 2.{sub}")
        elif kind == "3":
            if stmt is None:
                raise StatementError(line, "an information record (3) outside a statement")
            if rec[1] not in "123":
                raise StatementError(line, f"unknown information record type 3.{rec[1]}")
            block_records += 1
            if rec[1] == "1":
                stmt.info_records += 1
            current = None
        elif kind == "4":
            current = None  # free message: nothing to book, not counted in the trailer
        elif kind == "8":
            if stmt is None:
                raise StatementError(line, "a new balance record (8) without its old balance record (1)")
            block_records += 1
            stmt_moves = _coda_close_statement(stmt, rec, line)
            movements.extend(stmt_moves)
            summaries.append(_coda_summary(stmt, rec, line, len(stmt_moves)))
            block_statements += 1
            stmt = None
            current = None
        elif kind == "9":
            if stmt is not None:
                raise StatementError(
                    line,
                    f"the trailer record (9) comes before the new balance record (8) of statement {stmt.number}",
                )
            if block_statements == 0:
                raise StatementError(line, "this file holds no statement (no old balance record 1)")
            coda_check_trailer(rec, line, block_records, block_debit, block_credit)
            in_block = False
            current = None
        else:
            raise StatementError(line, f"unknown CODA record type {kind!r}")

    if in_block:
        raise StatementError(
            len(records) + 1,
            "the file ends without its new balance (8) and trailer (9) records: it is truncated"
            if stmt is not None
            else "the file ends without its trailer record (9): it is truncated",
        )
    return ParsedStatement(
        format=FORMAT_CODA,
        movements=tuple(movements),
        statements=tuple(summaries),
        created_on=created_on,
        duplicate=duplicate,
    )


def _coda_close_statement(stmt: CodaStatement, rec: str, line: int) -> list[StatementMovement]:
    if rec[1:4] != stmt.number:
        raise StatementError(
            line,
            f"the new balance record is for statement {rec[1:4]}, the old balance record for {stmt.number}",
        )
    closing = coda_sign(rec[41], line, "new balance") * coda_cents(rec[42:57], line, "new balance")
    coda_date(rec[57:63], line, "new balance date", zero_is_none=True)
    expected = stmt.opening + stmt.sum_credit - stmt.sum_debit
    if expected != closing:
        raise StatementError(
            line,
            f"statement {stmt.number} does not add up: old balance {eur(stmt.opening)} + credits "
            f"{eur(stmt.sum_credit)} - debits {eur(stmt.sum_debit)} = {eur(expected)}, "
            f"but the new balance is {eur(closing)}",
        )
    fallback_date = ddmmyy(rec[57:63]) or stmt.opening_date
    out: list[StatementMovement] = []
    for total, details in stmt.groups:
        if details and sum(d.signed_cents for d in details) == total.signed_cents:
            total_free = _coda_free_text(total)
            for detail in details:
                out_move = _coda_movement(stmt, detail, fallback_date, inherited_free=total_free)
                if out_move is not None:
                    out.append(out_move)
        else:
            out_move = _coda_movement(stmt, total, fallback_date)
            if out_move is not None:
                out.append(out_move)
    return out


def _coda_free_text(move: CodaMove) -> str:
    return _coda_communication(move)[1]


def _coda_communication(move: CodaMove) -> tuple[str, str]:
    """(structured 12 digits or '', free text)."""
    cont = "".join(move.cont)
    if move.comm_type == "1":
        body = move.body[3:]  # without the 3-digit type of structured communication
        if move.body[:3] == "101" and valid_ogm(body[:12]):
            return body[:12], squeeze(body[12:] + cont)
        return "", squeeze(body + cont)
    free = squeeze(move.body + cont)
    return ogm_in_free_text(free), free


def _coda_movement(
    stmt: CodaStatement, move: CodaMove, fallback_date: date | None, inherited_free: str = ""
) -> StatementMovement | None:
    if move.signed_cents == 0:
        return None  # nothing moved (information-only movement)
    structured, free = _coda_communication(move)
    if not free and not structured:
        free = inherited_free
    booked_on = ddmmyy(move.entry_date) or move.value_date or fallback_date
    if booked_on is None:
        raise StatementError(move.line, "the movement has no entry date, value date nor statement date")
    return StatementMovement(
        account_iban=stmt.account,
        statement_number=stmt.number,
        sequence=move.seq,
        detail_number=move.detail,
        bank_reference=move.bank_reference,
        amount_cents=abs(move.signed_cents),
        direction=CREDIT if move.signed_cents > 0 else DEBIT,
        booked_on=booked_on,
        value_date=move.value_date,
        structured_communication=structured,
        free_communication=free,
        counterparty_name=move.counterparty_name.strip(),
        counterparty_iban=clean_account(move.counterparty_account),
        reversal=move.reversal,
        end_to_end_id=move.end_to_end_id,
        r_transaction=move.r_transaction,
        return_reason=move.return_reason,
        dedup_key=(
            f"coda|{stmt.account}|{stmt.number}|{move.seq}|{move.detail}|{move.bank_reference}|"
            f"{booked_on.isoformat()}"
        ),
    )


def _reference(text: str) -> str:
    """A reference field as given ("" for blanks and the banks' "NOTPROVIDED")."""
    ref = text.strip()
    return "" if ref.upper() == "NOTPROVIDED" else ref


def _coda_summary(stmt: CodaStatement, rec: str, line: int, movement_count: int) -> StatementSummary:
    closing = coda_sign(rec[41], line, "new balance") * coda_cents(rec[42:57], line, "new balance")
    return StatementSummary(
        account_iban=stmt.account,
        statement_number=stmt.number,
        currency=stmt.currency,
        holder_name=stmt.holder,
        opening_balance_cents=stmt.opening,
        opening_date=stmt.opening_date,
        closing_balance_cents=closing,
        closing_date=ddmmyy(rec[57:63]),
        movement_count=movement_count,
        movement_records=stmt.move_records,
        information_records=stmt.info_records,
    )
