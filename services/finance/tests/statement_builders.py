"""Build valid bank statement files (CODA v2 and camt.053) from simple movement specs.

For tests and benchmarks: the files are consistent (CODA trailer record count and sums, balances;
camt opening/closing balances), so a test can corrupt one thing and expect exactly that refusal.

* :class:`Mv` is one movement; a ``tuple`` of ``Mv`` is a batch: in CODA a globalised total (type 1,
  globalisation code 1) followed by its details (type 5); in camt.053 one entry with one ``TxDtls``
  per movement.
* ``build_coda(...) + build_coda(...)`` is a valid multi-statement CODA file (header to trailer
  blocks one after the other, as the banks send them).
* :func:`bulk_specs` gives ``n`` varied movements (structured, free text with ``+++...+++``, debits,
  foreign counterparties) quickly, for the 50,000-movement benchmark.
* The last section is what the statement tests share to read files back: the banks' real CODA
  samples (:func:`sample`), :func:`patch` to corrupt one field of one record, :func:`refused`.

The builders use no parser code: what they write follows payments.md, not domain/statements; only
:func:`refused` calls the parser.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from kit.money import cents_to_decimal_str
from kit.ogm import make_ogm
from services.finance.domain.statements import StatementError, parse_statement

__all__ = [
    "BAD_OGM",
    "DEFAULT_DAY",
    "OGM",
    "OGM_TEXT",
    "OTHER_OGM",
    "PARENT_IBAN",
    "SAMPLES",
    "SCHOOL_IBAN",
    "Mv",
    "build_camt053",
    "build_coda",
    "build_coda_statement",
    "bulk_specs",
    "make_ogm",
    "patch",
    "records",
    "refused",
    "replace_record",
    "sample",
]

SCHOOL_IBAN = "BE68539007547034"
DEFAULT_DAY = date(2025, 9, 15)
PARENT_IBANS = ("BE71096123456769", "BE62510007547061", "BE43068999999501", "NL91ABNA0417164300")
PARENT_IBAN = PARENT_IBANS[0]
OGM = make_ogm(1080681718)  # 108068171862
OGM_TEXT = f"+++{OGM[:3]}/{OGM[3:7]}/{OGM[7:]}+++"
OTHER_OGM = make_ogm(1234567890)
BAD_OGM = OGM[:10] + f"{(int(OGM[10:]) % 97) + 1:02d}"  # same base, wrong check digits


@dataclass(frozen=True)
class Mv:
    """One movement to write. ``ogm`` (12 digits) is written as a structured communication (CODA
    type ``structured_type``, camt ``Strd/CdtrRefInf/Ref`` SCOR/BBA); ``free_text`` as free text
    (CODA up to 149 characters over records 2.1/2.2/2.3, camt ``Ustrd``)."""

    amount_cents: int
    direction: str = "credit"
    ogm: str = ""
    free_text: str = ""
    counterparty_name: str = ""
    counterparty_iban: str = ""
    booked_on: date = DEFAULT_DAY
    value_date: date | None = None  # None: the booking day
    bank_reference: str | None = None  # None: generated; "": none written
    reversal: bool = False
    structured_type: str = "101"  # CODA only
    # SEPA direct debit: the end-to-end id (CODA record 2.2 positions 64-98; camt.053
    # Refs/EndToEndId, None: the builder's E2E-<n>), the R-transaction type (CODA 2.2 position 113)
    # and the ISO return reason (CODA 2.2 positions 114-117; camt.053 RtrInf/Rsn/Cd).
    end_to_end_id: str | None = None
    r_transaction: str = ""
    return_reason: str = ""


Item = Mv | tuple[Mv, ...]


def _items(items: Iterable[Item]) -> list[tuple[Mv, ...]]:
    return [item if isinstance(item, tuple) else (item,) for item in items]


def _signed(mv: Mv) -> int:
    return mv.amount_cents if mv.direction == "credit" else -mv.amount_cents


# --- CODA ------------------------------------------------------------------------------------------


def _ddmmyy(day: date) -> str:
    return f"{day.day:02d}{day.month:02d}{day.year % 100:02d}"


def _fit(text: str, width: int) -> str:
    return text[:width].ljust(width)


def _mills(cents: int) -> str:
    return f"{abs(cents) * 10:015d}"


def _coda_account_field(account: str) -> tuple[str, str]:
    """(structure digit, the 37 characters [5:42] of record 1) for an account."""
    if len(account) == 12 and account.isdigit():  # Belgian BBAN
        return "0", f"{account} EUR".ljust(37)
    structure = "2" if account.startswith("BE") and len(account) == 16 else "3"
    return structure, f"{account.ljust(34)}EUR"


def _coda_movement_records(
    seq: int, detail: int, mv: Mv, *, tx_type: str, glob: str, stmt_no: str, ref: str
) -> list[str]:
    credit = mv.direction == "credit"
    if mv.reversal:
        transaction = "99" if credit else "49"
    else:
        transaction = "50" if credit else "01"
    code = f"{tx_type}01{transaction}000"
    key = f"{seq:04d}{detail:04d}"
    text = mv.free_text
    if mv.ogm:
        comm_type, comm1 = "1", _fit(mv.structured_type + mv.ogm, 53)
        comm2, comm3 = _fit(text, 53), ""
        text_rest = text[53:]
    else:
        comm_type, comm1 = "0", _fit(text, 53)
        comm2, comm3 = _fit(text[53:106], 53), text[106:149]
        text_rest = text[106:]
    sepa_22 = bool(mv.end_to_end_id or mv.r_transaction or mv.return_reason)
    need_22 = bool(comm2.strip()) or sepa_22
    need_23 = bool(mv.counterparty_name or mv.counterparty_iban or text_rest.strip())
    value_date = mv.value_date or mv.booked_on
    records = [
        f"21{key}{_fit(ref, 21)}{'0' if credit else '1'}{_mills(mv.amount_cents)}{_ddmmyy(value_date)}"
        f"{code}{comm_type}{comm1}{_ddmmyy(mv.booked_on)}{stmt_no}{glob}{'1' if need_22 or need_23 else '0'} 0"
    ]
    if need_22:
        sepa_fields = f"{' ' * 3}{_fit(mv.r_transaction, 1)}{_fit(mv.return_reason, 4)}{' ' * 8}"
        records.append(
            f"22{key}{comm2}{_fit(mv.end_to_end_id or '', 35)}{' ' * 11}{sepa_fields}{'1' if need_23 else '0'} 0"
        )
    if need_23:
        account = mv.counterparty_iban.ljust(34) + ("EUR" if mv.counterparty_iban else "   ")
        records.append(f"23{key}{account}{_fit(mv.counterparty_name, 35)}{_fit(comm3, 43)}0 0")
    return records


MAX_CODA_SEQUENCES = 9999  # the sequence number of a movement is 4 digits


def build_coda(
    items: Sequence[Item],
    *,
    account: str = SCHOOL_IBAN,
    statement_number: int = 1,
    opening_balance_cents: int = 0,
    created_on: date = DEFAULT_DAY,
    holder_name: str = "ECOLE COMMUNALE DE TEST",
    duplicate: bool = False,
    line_end: str = "\r\n",
) -> bytes:
    """A CODA file holding ``items`` in order (see :func:`build_coda_statement`). Beyond 9,999 items
    (the sequence number has 4 digits) the file holds several statements, one header-to-trailer block
    each, numbered on from ``statement_number`` with chained balances, as a bank sends several days at
    once."""
    groups = list(items)
    blocks = []
    balance = opening_balance_cents
    for k, start in enumerate(range(0, max(len(groups), 1), MAX_CODA_SEQUENCES)):
        chunk = groups[start : start + MAX_CODA_SEQUENCES]
        blocks.append(
            build_coda_statement(
                chunk,
                account=account,
                statement_number=statement_number + k,
                opening_balance_cents=balance,
                created_on=created_on,
                holder_name=holder_name,
                duplicate=duplicate,
                line_end=line_end,
            )
        )
        balance += sum(_signed(mv) for group in _items(chunk) for mv in group)
    return b"".join(blocks)


def build_coda_statement(
    items: Sequence[Item],
    *,
    account: str = SCHOOL_IBAN,
    statement_number: int = 1,
    opening_balance_cents: int = 0,
    created_on: date = DEFAULT_DAY,
    holder_name: str = "ECOLE COMMUNALE DE TEST",
    duplicate: bool = False,
    line_end: str = "\r\n",
    final_line_end: bool = True,
) -> bytes:
    """One CODA file (header, one statement, trailer) holding ``items`` in order. ``account``: a
    Belgian IBAN (structure 2), a 12-digit Belgian BBAN (structure 0) or a foreign IBAN (structure 3).
    Bank references are generated as ``B<statement><seq>`` unless the movement gives one."""
    stmt_no = f"{statement_number:03d}"
    structure, account_field = _coda_account_field(account)
    header = (
        f"00000{_ddmmyy(created_on)}00005{'D' if duplicate else ' '}{' ' * 7}{' ' * 10}"
        f"{_fit(holder_name, 26)}{_fit('GKCCBEBB', 11)}{'0' * 11} 00000{' ' * 16}{' ' * 16}{' ' * 7}2"
    )
    opening_sign = "0" if opening_balance_cents >= 0 else "1"
    old_balance = (
        f"1{structure}{stmt_no}{account_field}{opening_sign}{_mills(opening_balance_cents)}"
        f"{_ddmmyy(created_on)}{_fit(holder_name, 26)}{_fit('Compte courant', 35)}{stmt_no}"
    )
    lines = [header, old_balance]
    credit = debit = 0
    for seq, group in enumerate(_items(items), 1):
        if len(group) == 1:
            mv = group[0]
            ref = mv.bank_reference if mv.bank_reference is not None else f"B{stmt_no}{seq:07d}"
            lines += _coda_movement_records(seq, 0, mv, tx_type="0", glob="0", stmt_no=stmt_no, ref=ref)
            total = _signed(mv)
        else:
            total = sum(_signed(mv) for mv in group)
            total_mv = Mv(
                amount_cents=abs(total),
                direction="credit" if total >= 0 else "debit",
                free_text=f"COLLECTIVE {len(group)} PAYMENTS",
                booked_on=group[0].booked_on,
            )
            lines += _coda_movement_records(
                seq, 0, total_mv, tx_type="1", glob="1", stmt_no=stmt_no, ref=f"B{stmt_no}{seq:07d}"
            )
            for detail, mv in enumerate(group, 1):
                ref = (
                    mv.bank_reference
                    if mv.bank_reference is not None
                    else f"B{stmt_no}{seq:07d}D{detail:04d}"
                )
                glob = "1" if detail == len(group) else "0"
                lines += _coda_movement_records(
                    seq, detail, mv, tx_type="5", glob=glob, stmt_no=stmt_no, ref=ref
                )
        if total >= 0:
            credit += total
        else:
            debit -= total
    closing = opening_balance_cents + credit - debit
    lines.append(
        f"8{stmt_no}{account_field}{'0' if closing >= 0 else '1'}{_mills(closing)}{_ddmmyy(created_on)}"
        f"{' ' * 64}0"
    )
    count = len(lines) - 1  # records 1, 2.x, 3.x and 8 (the header is not counted)
    lines.append(f"9{' ' * 15}{count:06d}{_mills(debit)}{_mills(credit)}{' ' * 75}2")
    for record in lines:
        assert len(record) == 128, (len(record), record)
    text = line_end.join(lines) + (line_end if final_line_end else "")
    return text.encode("cp1252")


# --- camt.053 --------------------------------------------------------------------------------------


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _amount(cents: int) -> str:
    return cents_to_decimal_str(abs(cents))


def _tx_details(mv: Mv, *, v2: bool, with_amount: bool, index: str) -> str:
    e2e = mv.end_to_end_id if mv.end_to_end_id is not None else f"E2E-{index}"
    parts = [f"<TxDtls><Refs><EndToEndId>{_esc(e2e)}</EndToEndId></Refs>"]
    if with_amount:
        if v2:
            parts.append(f'<AmtDtls><TxAmt><Amt Ccy="EUR">{_amount(mv.amount_cents)}</Amt></TxAmt></AmtDtls>')
        else:
            indicator = "CRDT" if mv.direction == "credit" else "DBIT"
            parts.append(f'<Amt Ccy="EUR">{_amount(mv.amount_cents)}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>')
    if mv.counterparty_name or mv.counterparty_iban:
        # the payer of a credit, the payee of a debit; a reversal keeps the original roles
        role = "Dbtr" if (mv.direction == "credit") != mv.reversal else "Cdtr"
        parts.append("<RltdPties>")
        if mv.counterparty_name:
            name = _esc(mv.counterparty_name)
            parts.append(
                f"<{role}><Nm>{name}</Nm></{role}>" if v2 else f"<{role}><Pty><Nm>{name}</Nm></Pty></{role}>"
            )
        if mv.counterparty_iban:
            parts.append(f"<{role}Acct><Id><IBAN>{mv.counterparty_iban}</IBAN></Id></{role}Acct>")
        parts.append("</RltdPties>")
    if mv.ogm or mv.free_text:
        parts.append("<RmtInf>")
        if mv.free_text:
            parts.append(f"<Ustrd>{_esc(mv.free_text)}</Ustrd>")
        if mv.ogm:
            parts.append(
                "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry><Issr>BBA</Issr></Tp>"
                f"<Ref>{mv.ogm}</Ref></CdtrRefInf></Strd>"
            )
        parts.append("</RmtInf>")
    if mv.return_reason or mv.r_transaction:
        parts.append(f"<RtrInf><Rsn><Cd>{_esc(mv.return_reason)}</Cd></Rsn></RtrInf>")
    parts.append("</TxDtls>")
    return "".join(parts)


def build_camt053(
    items: Sequence[Item],
    *,
    account: str = SCHOOL_IBAN,
    version: str = "001.08",
    statement_id: str = "STMT-2025-001",
    opening_balance_cents: int | None = 0,
    created_on: date = DEFAULT_DAY,
    duplicate: bool = False,
    pretty: bool = False,
) -> bytes:
    """One camt.053 document with one statement. ``version`` ``001.02`` writes the old layout
    (``Dbtr/Nm``, ``TxDtls/AmtDtls/TxAmt/Amt``, ``Sts`` as text), later versions the new one
    (``Dbtr/Pty/Nm``, ``TxDtls/Amt``, ``Sts/Cd``). ``opening_balance_cents=None`` leaves balances out.
    ``pretty`` puts each entry on its own lines (to test line numbers)."""
    v2 = version == "001.02"
    nl = "\n" if pretty else ""
    status = "<Sts>BOOK</Sts>" if v2 else "<Sts><Cd>BOOK</Cd></Sts>"
    entries = []
    net = 0
    for number, group in enumerate(_items(items), 1):
        if len(group) == 1:
            mv = group[0]
            entry_signed = _signed(mv)
            details = _tx_details(mv, v2=v2, with_amount=False, index=f"{number}")
        else:
            mv = group[0]
            entry_signed = sum(_signed(m) for m in group)
            details = f"<Btch><NbOfTxs>{len(group)}</NbOfTxs></Btch>" + "".join(
                _tx_details(m, v2=v2, with_amount=True, index=f"{number}-{i}") for i, m in enumerate(group, 1)
            )
        net += entry_signed
        indicator = "CRDT" if entry_signed >= 0 else "DBIT"
        ref = mv.bank_reference if mv.bank_reference is not None else f"ASR{number:09d}"
        value_date = mv.value_date or mv.booked_on
        entries.append(
            f"<Ntry>{nl}<NtryRef>{number}</NtryRef>{nl}"
            f'<Amt Ccy="EUR">{_amount(entry_signed)}</Amt>{nl}<CdtDbtInd>{indicator}</CdtDbtInd>{nl}'
            + ("<RvslInd>true</RvslInd>" + nl if mv.reversal else "")
            + f"{status}{nl}<BookgDt><Dt>{mv.booked_on.isoformat()}</Dt></BookgDt>{nl}"
            f"<ValDt><Dt>{value_date.isoformat()}</Dt></ValDt>{nl}"
            + (f"<AcctSvcrRef>{_esc(ref)}</AcctSvcrRef>{nl}" if ref else "")
            + "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>"
            + f"{nl}<NtryDtls>{details}</NtryDtls>{nl}</Ntry>{nl}"
        )
    balances = ""
    if opening_balance_cents is not None:
        closing = opening_balance_cents + net
        balances = "".join(
            f'<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{_amount(value)}</Amt>'
            f"<CdtDbtInd>{'CRDT' if value >= 0 else 'DBIT'}</CdtDbtInd><Dt><Dt>{created_on.isoformat()}</Dt></Dt>"
            f"</Bal>{nl}"
            for code, value in (("OPBD", opening_balance_cents), ("CLBD", closing))
        )
    document = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.{version}">{nl}<BkToCstmrStmt>{nl}'
        f"<GrpHdr><MsgId>MSG-{statement_id}</MsgId><CreDtTm>{created_on.isoformat()}T18:00:00</CreDtTm></GrpHdr>{nl}"
        f"<Stmt>{nl}<Id>{_esc(statement_id)}</Id>{nl}<ElctrncSeqNb>1</ElctrncSeqNb>{nl}"
        + ("<CpyDplctInd>DUPL</CpyDplctInd>" if duplicate else "")
        + f"<CreDtTm>{created_on.isoformat()}T18:00:00</CreDtTm>{nl}"
        f"<Acct><Id><IBAN>{account}</IBAN></Id><Ccy>EUR</Ccy><Ownr><Nm>ECOLE COMMUNALE DE TEST</Nm></Ownr></Acct>{nl}"
        f"{balances}{''.join(entries)}</Stmt>{nl}</BkToCstmrStmt>{nl}</Document>\n"
    )
    return document.encode("utf-8")


# --- volume ----------------------------------------------------------------------------------------


def bulk_specs(n: int, *, seed: int = 2025) -> list[Mv]:
    """``n`` varied movements: mostly parents' credits with a structured communication, some with the
    reference typed in free text, some free text only, some debits, a few foreign payers."""
    rand = random.Random(seed)
    names = ("DUPONT MARIE", "PEETERS JAN", "JANSSENS AN", "MAES LUC", "MARTIN CLAIRE", "NGUYEN LINH")
    specs = []
    for i in range(n):
        kind = i % 10
        amount = rand.randrange(100, 25_000)
        name = names[i % len(names)]
        iban = PARENT_IBANS[i % len(PARENT_IBANS)]
        reference = make_ogm(1_000_000 + i)
        if kind < 6:
            specs.append(Mv(amount, ogm=reference, counterparty_name=name, counterparty_iban=iban))
        elif kind < 8:
            text = f"repas +++{reference[:3]}/{reference[3:7]}/{reference[7:]}+++ {name.title()}"
            specs.append(Mv(amount, free_text=text, counterparty_name=name, counterparty_iban=iban))
        elif kind == 8:
            specs.append(Mv(amount, free_text=f"Classe verte {name.title()}", counterparty_name=name))
        else:
            specs.append(
                Mv(amount, direction="debit", free_text="Fournisseur repas", counterparty_name="TRAITEUR SA")
            )
    return specs


# --- reading files back (the statement tests) ------------------------------------------------------

SAMPLES = Path(os.environ.get("CODA_SAMPLES_DIR", "/work/shared/reference/coda-samples"))


def sample(name: str) -> bytes:
    """One of the banks' real CODA files; the test is skipped where they are not available."""
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"real CODA sample {path} not available (set CODA_SAMPLES_DIR)")
    return path.read_bytes()


def records(data: bytes) -> list[bytes]:
    return data.splitlines()


def replace_record(data: bytes, line: int, new: bytes) -> bytes:
    lines = data.split(b"\r\n") if b"\r\n" in data else data.split(b"\n")
    lines[line - 1] = new
    return (b"\r\n" if b"\r\n" in data else b"\n").join(lines)


def patch(data: bytes, line: int, start: int, text: bytes) -> bytes:
    """Overwrite ``text`` at Python slice ``start`` of record ``line`` (1-based)."""
    rec = records(data)[line - 1]
    assert len(rec) == 128
    return replace_record(data, line, rec[:start] + text + rec[start + len(text) :])


def refused(data: bytes) -> StatementError:
    """The refusal parse_statement raises for ``data`` (the test fails if the file is accepted)."""
    with pytest.raises(StatementError) as caught:
        parse_statement(data)
    return caught.value
