"""ISO 20022 camt.053 bank statements (any ``camt.053.001.*`` version) read into movements.

Only booked entries count (``Sts`` = ``BOOK``, or absent); pending or informative entries are
skipped. An entry with several ``TxDtls`` gives one movement per detail, with the detail's own amount
(``TxDtls/Amt`` or ``TxDtls/AmtDtls/TxAmt/Amt``), and those amounts must add up to the entry's amount
(else the file is refused: who paid what would be a guess). An entry with one ``TxDtls`` or none gives
one movement for the entry's amount. When both opening (``OPBD``/``PRCD``) and closing (``CLBD``)
balances are given, closing = opening + credits - debits is checked. Amounts are read with ``Decimal``
and a fraction of a cent is refused. The XML itself is read by :mod:`.camt_xml`.

De-duplication (``StatementMovement.dedup_key``)
    ``camt053|account|AcctSvcrRef|detail index``; without ``AcctSvcrRef``, a hash of the entry's
    content (element names and values, so re-indenting the file changes nothing) plus its occurrence
    number among identical entries of the file, so that two genuinely identical payments stay two.
    The same bank file imported twice gives the same keys; a CODA and a camt.053 of the same account
    do not share keys.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from decimal import Decimal
from functools import lru_cache
from xml.etree.ElementTree import Element

from services.finance.domain.statements.camt_xml import CamtFault, line_of, parse_xml
from services.finance.domain.statements.model import (
    CREDIT,
    CURRENCY,
    DEBIT,
    FORMAT_CAMT053,
    ParsedStatement,
    StatementError,
    StatementMovement,
    StatementSummary,
    clean_account,
    eur,
    ogm_from_reference,
    ogm_in_free_text,
    squeeze,
)

_CAMT053_NS = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.[0-9]+")


class _Camt:
    """Element lookups in one camt.053 namespace. Paths are walked one tag at a time: a single
    namespaced tag is the C fast path of ``Element.find``, a multi-step path is not."""

    def __init__(self, ns: str) -> None:
        self.ns = ns
        self._tags: dict[str, tuple[str, ...]] = {}

    def tags(self, path: str) -> tuple[str, ...]:
        tags = self._tags.get(path)
        if tags is None:
            tags = tuple(f"{{{self.ns}}}{part}" for part in path.split("/"))
            self._tags[path] = tags
        return tags

    def find(self, element: Element | None, path: str) -> Element | None:
        for tag in self.tags(path):
            if element is None:
                return None
            element = element.find(tag)
        return element

    def findall(self, element: Element | None, path: str) -> list[Element]:
        *parents, last = self.tags(path)
        nodes = [element] if element is not None else []
        for tag in parents:
            nodes = [child for node in nodes for child in node if child.tag == tag]
        return [child for node in nodes for child in node if child.tag == last]

    def text(self, element: Element | None, path: str) -> str:
        found = self.find(element, path)
        return (found.text or "").strip() if found is not None else ""


_CAMT_AMOUNT = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def _camt_cents(amount: Element, what: str) -> int:
    text = (amount.text or "").strip()
    currency = amount.get("Ccy", "").strip()
    if currency != CURRENCY:
        raise CamtFault(
            amount, f"the {what} is in {currency or 'no currency'}: only euro statements are accepted"
        )
    if not _CAMT_AMOUNT.fullmatch(text):
        raise CamtFault(amount, f"the {what} {text!r} is not a decimal amount")
    cents = Decimal(text) * 100
    if cents != cents.to_integral_value():
        raise CamtFault(amount, f"the {what} {text} EUR has more than 2 decimals (a fraction of a cent)")
    return int(cents)


@lru_cache(maxsize=4096)
def _iso_date(text: str) -> date | None:
    match = _ISO_DATE.match(text)
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _camt_date(c: _Camt, parent: Element | None, what: str) -> date | None:
    """``<X><Dt>2025-09-15</Dt></X>`` or ``<X><DtTm>2025-09-15T10:00:00+02:00</DtTm></X>`` (the date as
    written, without moving it to another time zone)."""
    if parent is None:
        return None
    found = c.find(parent, "Dt")
    if found is None:
        found = c.find(parent, "DtTm")
    if found is None:
        return None
    text = (found.text or "").strip()
    parsed = _iso_date(text)
    if parsed is None:
        raise CamtFault(found, f"the {what} {text!r} is not a valid date")
    return parsed


def _camt_sign(c: _Camt, element: Element) -> int:
    indicator = c.text(element, "CdtDbtInd")
    if indicator == "CRDT":
        return 1
    if indicator == "DBIT":
        return -1
    found = c.find(element, "CdtDbtInd")
    raise CamtFault(
        found if found is not None else element, f"CdtDbtInd must be CRDT or DBIT, got {indicator!r}"
    )


def _camt_account(c: _Camt, account: Element | None) -> str:
    if account is None:
        return ""
    return c.text(account, "Id/IBAN") or c.text(account, "Id/Othr/Id")


def _camt_content_hash(c: _Camt, entry: Element) -> str:
    """A digest of what an entry says (element names and values), insensitive to indentation and
    namespace prefixes."""
    digest = hashlib.sha256()
    strip = len(c.ns) + 2
    for element in entry.iter():
        tag = element.tag[strip:] if element.tag.startswith("{") else element.tag
        text = (element.text or "").strip()
        attrs = ",".join(f"{k}={v}" for k, v in sorted(element.attrib.items()))
        digest.update(f"<{tag}|{attrs}|{text}>".encode())
    return digest.hexdigest()[:32]


def parse_camt053(data: bytes) -> ParsedStatement:
    root = parse_xml(data)
    try:
        return _read_camt053(root)
    except CamtFault as fault:
        raise StatementError(line_of(data, root, fault.element), fault.reason) from None


def _read_camt053(root: Element) -> ParsedStatement:
    match = re.fullmatch(r"\{([^}]*)\}(.*)", root.tag)
    namespace, local = (match[1], match[2]) if match else ("", root.tag)
    if not _CAMT053_NS.fullmatch(namespace) or local != "Document":
        raise CamtFault(
            root,
            f"this XML is not a camt.053 bank statement (root {local!r} in namespace {namespace or 'none'!r})",
        )
    c = _Camt(namespace)
    report = c.find(root, "BkToCstmrStmt")
    if report is None:
        raise CamtFault(root, "the document has no BkToCstmrStmt element")
    created_on = _iso_date(c.text(report, "GrpHdr/CreDtTm"))
    statements = c.findall(report, "Stmt")
    if not statements:
        raise CamtFault(report, "the document holds no statement (Stmt)")

    movements: list[StatementMovement] = []
    summaries: list[StatementSummary] = []
    duplicate = False
    seen_hashes: dict[tuple[str, str], int] = {}
    for stmt in statements:
        account_el = c.find(stmt, "Acct")
        account = _camt_account(c, account_el)
        if not account:
            raise CamtFault(stmt, "the statement has no account (Acct/Id/IBAN)")
        account_currency = c.text(account_el, "Ccy")
        if account_currency and account_currency != CURRENCY:
            raise CamtFault(
                c.find(account_el, "Ccy"),
                f"the account is in {account_currency}: only euro statements are accepted",
            )
        number = c.text(stmt, "LglSeqNb") or c.text(stmt, "ElctrncSeqNb") or c.text(stmt, "Id")
        duplicate = duplicate or c.text(stmt, "CpyDplctInd") in ("DUPL", "CODU")

        opening = closing = None
        opening_date = closing_date = None
        for balance in c.findall(stmt, "Bal"):
            code = c.text(balance, "Tp/CdOrPrtry/Cd")
            if code not in ("OPBD", "PRCD", "CLBD"):
                continue
            amount_el = c.find(balance, "Amt")
            if amount_el is None:
                raise CamtFault(balance, f"the {code} balance has no amount")
            value = _camt_cents(amount_el, f"{code} balance") * _camt_sign(c, balance)
            when = _camt_date(c, c.find(balance, "Dt"), f"{code} balance date")
            if code == "CLBD":
                closing, closing_date = value, when
            elif opening is None or code == "OPBD":
                opening, opening_date = value, when

        stmt_moves: list[StatementMovement] = []
        booked_entries = 0
        net = 0
        for index, entry in enumerate(c.findall(stmt, "Ntry"), 1):
            status = c.text(entry, "Sts/Cd") or c.text(entry, "Sts")
            if status and status != "BOOK":
                continue  # pending or informative entry: not (yet) on the account
            booked_entries += 1
            net += _camt_entry(c, entry, index, account, number, seen_hashes, stmt_moves)
        if opening is not None and closing is not None and opening + net != closing:
            raise CamtFault(
                stmt,
                f"statement {number} does not add up: opening balance {eur(opening)} + booked entries "
                f"{eur(net)} = {eur(opening + net)}, but the closing balance is {eur(closing)}",
            )
        movements.extend(stmt_moves)
        summaries.append(
            StatementSummary(
                account_iban=account,
                statement_number=number,
                currency=account_currency or CURRENCY,
                holder_name=c.text(account_el, "Ownr/Nm"),
                opening_balance_cents=opening,
                opening_date=opening_date,
                closing_balance_cents=closing,
                closing_date=closing_date,
                movement_count=len(stmt_moves),
                movement_records=booked_entries,
                information_records=0,
            )
        )
    return ParsedStatement(
        format=FORMAT_CAMT053,
        movements=tuple(movements),
        statements=tuple(summaries),
        created_on=created_on,
        duplicate=duplicate,
    )


def _camt_entry(
    c: _Camt,
    entry: Element,
    index: int,
    account: str,
    number: str,
    seen_hashes: dict[tuple[str, str], int],
    out: list[StatementMovement],
) -> int:
    """Append the movements of one booked entry to ``out``; return the entry's signed amount."""
    amount_el = c.find(entry, "Amt")
    if amount_el is None:
        raise CamtFault(entry, "the entry has no amount (Amt)")
    sign = _camt_sign(c, entry)
    entry_signed = sign * _camt_cents(amount_el, "entry amount")
    reversal = c.text(entry, "RvslInd").lower() in ("true", "1")
    value_date = _camt_date(c, c.find(entry, "ValDt"), "value date")
    booked_on = _camt_date(c, c.find(entry, "BookgDt"), "booking date") or value_date
    if booked_on is None:
        raise CamtFault(entry, "the entry has no booking date (BookgDt) nor value date (ValDt)")
    bank_reference = c.text(entry, "AcctSvcrRef")
    if bank_reference:
        entry_key = bank_reference
    else:
        digest = _camt_content_hash(c, entry)
        occurrence = seen_hashes.get((account, digest), 0) + 1
        seen_hashes[(account, digest)] = occurrence
        entry_key = f"hash:{digest}:{occurrence}"
    sequence = c.text(entry, "NtryRef") or str(index)

    details = c.findall(entry, "NtryDtls/TxDtls")
    parts: list[tuple[Element | None, int]] = []
    if len(details) <= 1:
        parts.append((details[0] if details else None, entry_signed))
    else:
        for batch_detail in details:
            amount = c.find(batch_detail, "Amt")
            if amount is None:
                amount = c.find(batch_detail, "AmtDtls/TxAmt/Amt")
            if amount is None:
                raise CamtFault(
                    batch_detail,
                    "a transaction detail of a batch entry has no amount: who paid what cannot be known",
                )
            has_sign = c.find(batch_detail, "CdtDbtInd") is not None
            detail_sign = _camt_sign(c, batch_detail) if has_sign else sign
            parts.append((batch_detail, detail_sign * _camt_cents(amount, "transaction detail amount")))
        total = sum(cents for _, cents in parts)
        if total != entry_signed:
            raise CamtFault(
                entry,
                f"the {len(details)} transaction details add up to {eur(total)} but the entry is {eur(entry_signed)}",
            )

    for detail_index, (detail, signed) in enumerate(parts, 1 if details else 0):
        if signed == 0:
            continue
        structured, free, name, counterparty = _camt_detail(c, detail, signed > 0, reversal, account)
        if not free:
            free = squeeze(c.text(detail, "AddtlTxInf")) or squeeze(c.text(entry, "AddtlNtryInf"))
            if not structured:
                structured = ogm_in_free_text(free)
        out.append(
            StatementMovement(
                account_iban=account,
                statement_number=number,
                sequence=sequence,
                detail_number=str(detail_index),
                bank_reference=bank_reference or c.text(detail, "Refs/AcctSvcrRef"),
                amount_cents=abs(signed),
                direction=CREDIT if signed > 0 else DEBIT,
                booked_on=booked_on,
                value_date=value_date,
                structured_communication=structured,
                free_communication=free,
                counterparty_name=name,
                counterparty_iban=counterparty,
                reversal=reversal,
                dedup_key=f"camt053|{account}|{entry_key}|{detail_index}",
                **_camt_direct_debit(c, detail),
            )
        )
    return entry_signed


def _camt_direct_debit(c: _Camt, detail: Element | None) -> dict[str, str]:
    """A detail's end-to-end id (``Refs/EndToEndId``, not the banks' "NOTPROVIDED") and, for a returned
    direct debit (``RtrInf``), the R-transaction "2" (return: camt.053 has no R-type code) and its ISO
    reason (``RtrInf/Rsn/Cd``, else ``Prtry``)."""
    if detail is None:
        return {}
    e2e = c.text(detail, "Refs/EndToEndId")
    out = {"end_to_end_id": "" if e2e.upper() == "NOTPROVIDED" else e2e[:35]}
    back = c.find(detail, "RtrInf")
    if back is not None:
        out["r_transaction"] = "2"
        out["return_reason"] = (c.text(back, "Rsn/Cd") or c.text(back, "Rsn/Prtry"))[:4]
    return out


def _camt_detail(
    c: _Camt, detail: Element | None, is_credit: bool, reversal: bool, own_account: str
) -> tuple[str, str, str, str]:
    """(structured OGM or '', free text, counterparty name, counterparty account) of a TxDtls."""
    if detail is None:
        return "", "", "", ""
    remittance = c.find(detail, "RmtInf")
    structured_refs: list[str] = []
    free_parts: list[str] = []
    if remittance is not None:
        free_parts = [(u.text or "") for u in c.findall(remittance, "Ustrd")]
        for strd in c.findall(remittance, "Strd"):
            ref = c.text(strd, "CdtrRefInf/Ref")
            if ref:
                ogm = ogm_from_reference(ref)
                if ogm:
                    structured_refs.append(ogm)
                else:
                    free_parts.append(ref)
            free_parts.extend((a.text or "") for a in c.findall(strd, "AddtlRmtInf"))
    free = squeeze(" ".join(free_parts))
    distinct = set(structured_refs)
    if len(distinct) == 1:
        structured = distinct.pop()
    elif distinct:
        structured = ""  # several references in one payment: a person decides
        free = squeeze(" ".join([*sorted(distinct), free]))
    else:
        structured = ogm_in_free_text(free) or ogm_in_free_text("".join(free_parts))

    # The other party: the payer (Dbtr) of a credit, the payee (Cdtr) of a debit. A reversal is
    # reported with the parties of the original transaction, so the roles swap. The other role is
    # only a fallback when it names another account than the statement's own.
    parties = c.find(detail, "RltdPties")
    if parties is None:
        return structured, free, "", ""
    first, second = ("Dbtr", "Cdtr") if is_credit != reversal else ("Cdtr", "Dbtr")
    for role in (first, second):
        name = c.text(parties, f"{role}/Nm") or c.text(parties, f"{role}/Pty/Nm")
        counterparty = _camt_account(c, c.find(parties, f"{role}Acct"))
        if counterparty and counterparty == own_account:
            continue
        if counterparty or (name and role == first):
            return structured, free, squeeze(name), clean_account(counterparty)
    return structured, free, "", ""
