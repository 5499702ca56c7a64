"""Childcare tax certificates (attestation 281.86, issue #19): for a calendar year, one certificate per
child and paying parent of the childcare actually paid that year (rules: ``domain/childcare.py``).

Finance holds the money and who paid it; the people (names, birth dates, national numbers, which
parents a child has) come from auth through the gateway, in the request. A regeneration of the same
year changes nothing where nothing changed; a certificate whose figures or people changed gets a new
version that replaces the old one (its PDF says so). Each new version is announced
(finance.tax_certificate.issued.v1) for documents to render and file. The people's national numbers
are sealed in the stored content and in the event (``national_numbers.py``).

A certificate already issued that a regeneration no longer finds (its payment refunded) is kept as it
is: withdrawing one is for the manager to do by hand with the administration (noted in the report)."""

from __future__ import annotations

import json
import uuid
from datetime import date

from sqlalchemy.orm import Session

from cartable.finance.v1 import tax_certificates_pb2 as pb
from kit import audit
from kit.errors import Conflict, InvalidRequest
from kit.identity import Identity
from kit.secretbox import SecretBox
from kit.service import Runtime
from services.finance import db, events, views
from services.finance import national_numbers as nn
from services.finance.db import tax_certificate_queries as q
from services.finance.domain import childcare
from services.finance.domain.school_settings import address_line
from services.finance.use_cases import common

ISSUED = "finance.tax_certificate.issued.v1"
MIN_YEAR = 2022  # the official model is mandatory from income year 2022
# Document ids are derived from the certificate's id: the list names the PDF before documents renders it.
DOCUMENT_NAMESPACE = uuid.UUID("6f1d2c1e-5b8a-4c1e-9a51-281860000000")


def document_id_for(certificate_id: str) -> str:
    return str(uuid.uuid5(DOCUMENT_NAMESPACE, certificate_id))


MIN_DAILY_CAP_CENTS, MAX_DAILY_CAP_CENTS = 100, 5000  # what a school may enter: 1.00 to 50.00 EUR


def _check_year(year: int, today: date) -> None:
    if not MIN_YEAR <= year <= today.year:
        raise InvalidRequest("no such year", fields={"year": f"{MIN_YEAR} to {today.year}"})


def daily_cap(s: Session, school_id: str, year: int) -> tuple[int, str] | None:
    """The year's legal maximum per day and where it comes from: the code's table (``law``, always
    first: a known year's figure is never overridden) or the figure the school entered (``school``);
    None when neither knows it."""
    try:
        return childcare.daily_cap_cents(year), "law"
    except childcare.UnknownYear:
        entered = q.school_daily_cap(s, school_id, year)
        return (int(entered), "school") if entered is not None else None


def _address(settings) -> str:
    if settings is None:
        return ""
    return address_line(settings.address_street, settings.address_postal_code, settings.address_city)


def _child(c: pb.TaxChild) -> childcare.Child:
    birth = common.parse_date(c.birth_date, "birth_date") if c.birth_date else None
    return childcare.Child(c.student_id, birth, [p.id for p in c.parents if p.id], c.severe_disability)


def _bills(s: Session, school_id: str, year: int, student_ids: list[str]) -> dict[str, list[childcare.Bill]]:
    """Each student's invoices with childcare lines and their payments of the year, and their sales."""
    lines: dict[str, list] = {}
    for r in q.childcare_invoice_lines(s, school_id, student_ids):
        lines.setdefault(r.invoice_id, []).append(r)
    pays: dict[str, list[childcare.Payment]] = {}
    for p in q.invoice_payments(s, school_id, list(lines), year):
        net = int(p.net_cents)  # a sum: Decimal on PostgreSQL
        if net > 0:
            pays.setdefault(p.invoice_id, []).append(
                childcare.Payment(q.brussels_day(p.paid_at), net, p.created_by)
            )
    out: dict[str, list[childcare.Bill]] = {}
    for invoice_id, rows in lines.items():
        first = rows[0]
        care = [childcare.CareLine(first.issued_on, r.days, r.amount_cents) for r in rows]
        out.setdefault(first.student_id, []).append(
            childcare.Bill(first.total_cents, care, pays.get(invoice_id, []))
        )
    sale_rows: dict[str, list] = {}
    for r in q.childcare_sale_lines(s, school_id, year, student_ids):
        sale_rows.setdefault(r.sale_id, []).append(r)
    for rows in sale_rows.values():
        first = rows[0]
        day = q.brussels_day(first.created_at)
        care = [childcare.CareLine(day, r.days, r.amount_cents) for r in rows]
        # a sale is paid from the child's wallet at once; who filled the wallet is not recorded
        paid = [childcare.Payment(day, first.total_cents, None)]
        out.setdefault(first.student_id, []).append(childcare.Bill(first.total_cents, care, paid))
    return out


def _content(
    cert: childcare.Certificate, child: pb.TaxChild, parent: pb.TaxPerson, address: str, cap: tuple[int, str]
) -> dict:
    """The certificate as certified. The school's address and a daily maximum the school entered are
    there only when present, so that certificates made before they existed keep their fingerprint;
    adding the address, or the code's table gaining the year, corrects the certificates."""
    extra: dict = {"school_address": address} if address else {}
    if cap[1] != "law":
        extra["daily_cap"] = {"cents": cap[0], "source": cap[1]}
    return {
        **extra,
        "periods": [
            {
                "start": p.start.isoformat(),
                "end": p.end.isoformat(),
                "days": p.days,
                "daily_rate_cents": p.daily_rate_cents,
                "amount_cents": p.amount_cents,
            }
            for p in cert.periods
        ],
        "capped_amount_cents": cert.capped_amount_cents,
        "child": {
            "student_id": child.student_id,
            "first_name": child.first_name,
            "last_name": child.last_name,
            "birth_date": child.birth_date,
            "national_number": child.national_number,
            "severe_disability": child.severe_disability,
        },
        "parent": {
            "id": parent.id,
            "first_name": parent.first_name,
            "last_name": parent.last_name,
            "national_number": parent.national_number,
        },
    }


def certificate_message(r, box: SecretBox) -> pb.TaxCertificate:
    """A ``tax_certificates`` row as the message, its national numbers opened (``replaces_id`` left for
    the caller)."""
    content = nn.opened(json.loads(r.content), box)
    child = content["child"]
    return pb.TaxCertificate(
        id=r.id,
        year=r.year,
        student_id=r.student_id,
        parent_id=r.parent_id,
        days=r.days,
        amount_cents=r.amount_cents,
        capped_amount_cents=r.capped_amount_cents,
        document_id=r.document_id,
        version=r.version,
        periods=[pb.TaxCertificatePeriod(**p) for p in content["periods"]],
        child=pb.TaxChild(**child),
        parent=pb.TaxPerson(**content["parent"]),
        daily_cap_cents=r.daily_cap_cents,
        issued_at=views.rfc3339(r.created_at),
        number=r.number,
        daily_cap_source=r.daily_cap_source,
    )


class TaxCertificates:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def list_childcare_students(self, who: Identity, year: int) -> pb.ListChildcareStudentsResponse:
        """The school's students with childcare paid (in part) in ``year``."""
        who.require_staff()
        with self.rt.db.unit_of_work() as s:
            ids = q.students_with_paid_childcare(s, who.school_id, year)
        return pb.ListChildcareStudentsResponse(student_ids=ids)

    def list_certificates(self, who: Identity, year: int) -> pb.ListTaxCertificatesResponse:
        """The year's current certificates, by student then parent, with the school's name and number."""
        who.require_staff()
        with self.rt.db.unit_of_work() as s:
            rows = q.current_certificates(s, who.school_id, year)
            settings = db.settings_row(s, who.school_id)
            cap = daily_cap(s, who.school_id, year)
        return pb.ListTaxCertificatesResponse(
            certificates=[certificate_message(r, nn.box(self.rt)) for r in rows],
            school_name=settings.school_name if settings else "",
            enterprise_number=settings.enterprise_number if settings else "",
            school_address=_address(settings),
            daily_cap_cents=cap[0] if cap else 0,
            daily_cap_source=cap[1] if cap else "",
        )

    def set_daily_cap(self, who: Identity, req: pb.SetDailyCapRequest) -> pb.SetDailyCapResponse:
        """The legal maximum per day of a year the code's table does not know, as the school read it
        (409 ``daily_cap_known`` for a year the table knows)."""
        who.require_staff()
        _check_year(req.year, common.today(self.rt))
        if req.year in childcare.DAILY_CAP_CENTS:
            raise Conflict(
                "the legal maximum per day of this year is known and cannot be changed",
                code="daily_cap_known",
            )
        if not MIN_DAILY_CAP_CENTS <= req.daily_cap_cents <= MAX_DAILY_CAP_CENTS:
            raise InvalidRequest(
                "the legal maximum per day is out of bounds",
                fields={"daily_cap_cents": f"{MIN_DAILY_CAP_CENTS} to {MAX_DAILY_CAP_CENTS}"},
            )
        with self.rt.db.unit_of_work() as s:
            db.school_lock(s, who.school_id, f"tax-certificates:{req.year}")
            before = q.school_daily_cap(s, who.school_id, req.year)
            if before != req.daily_cap_cents:
                at = common.now(self.rt)
                q.save_school_daily_cap(s, who.school_id, req.year, req.daily_cap_cents, who.account_id, at)
                audit.record(
                    self.rt,
                    s,
                    who,
                    "finance.tax_certificates.daily_cap_set",
                    "tax_certificates",
                    str(req.year),
                    f"{req.year}: {before if before is not None else 'none'} -> {req.daily_cap_cents} cents",
                )
        return pb.SetDailyCapResponse(daily_cap_cents=req.daily_cap_cents, daily_cap_source="school")

    def generate(
        self, who: Identity, req: pb.GenerateTaxCertificatesRequest
    ) -> pb.GenerateTaxCertificatesResponse:
        """The year's certificates made or corrected (see the module); 409 ``enterprise_number_missing``
        when the school's settings have none; not_found when a child is not a student finance knows
        in the caller's school (the gateway sends those ListChildcareStudents named); once per key."""
        who.require_staff()
        _check_year(req.year, common.today(self.rt))
        children = {c.student_id: c for c in req.children if c.student_id}

        def work(s: Session) -> pb.GenerateTaxCertificatesResponse:
            for sid in sorted(children):  # another school's child: not_found, nothing made
                common.student(s, who, sid)
            settings = db.settings_row(s, who.school_id)
            if settings is None or not settings.enterprise_number:
                raise Conflict(
                    "the school's enterprise number is missing from its settings",
                    code="enterprise_number_missing",
                )
            db.school_lock(s, who.school_id, f"tax-certificates:{req.year}")
            cap = daily_cap(s, who.school_id, req.year)
            if cap is None:
                raise InvalidRequest(
                    "the legal maximum per day of this year is not known yet",
                    fields={"year": "no legal maximum known for this year"},
                    code="unknown_year",
                )
            address = _address(settings)
            known = set(q.students_with_paid_childcare(s, who.school_id, req.year))
            ids = sorted(known & set(children))
            bills = _bills(s, who.school_id, req.year, ids)
            current = {
                (r.student_id, r.parent_id): r for r in q.current_certificates(s, who.school_id, req.year)
            }
            created = replaced = 0
            for sid in ids:
                child = children[sid]
                parents = {p.id: p for p in child.parents if p.id}
                for cert in childcare.certificates(req.year, _child(child), bills.get(sid, []), cap[0]):
                    content = _content(cert, child, parents[cert.parent_id], address, cap)
                    fingerprint = nn.fingerprint(content)
                    old = current.get((sid, cert.parent_id))
                    if old is not None and self._unchanged(old, content, fingerprint):
                        continue
                    text = nn.canonical(nn.sealed(content, nn.box(self.rt)))
                    lang = parents[cert.parent_id].language or req.language or "fr"
                    self._issue(s, who, settings, req, cert, text, fingerprint, old, lang, cap)
                    created += old is None
                    replaced += old is not None
            rows = q.current_certificates(s, who.school_id, req.year)
            if created or replaced:
                audit.record(
                    self.rt,
                    s,
                    who,
                    "finance.tax_certificates.generated",
                    "tax_certificates",
                    str(req.year),
                    f"{req.year}: {created} new, {replaced} corrected",
                )
            return pb.GenerateTaxCertificatesResponse(
                count=len(rows),
                total_cents=sum(r.amount_cents for r in rows),
                created=created,
                replaced=replaced,
            )

        return common.idempotent(
            self.rt,
            f"tax-certificates:{who.account_id}",
            req.idempotency_key,
            req,
            pb.GenerateTaxCertificatesResponse,
            work,
        )

    def _unchanged(self, old, content: dict, fingerprint: str) -> bool:
        """Whether the stored version ``old`` certifies ``content``: the same figures and names (its
        fingerprint) and the same national numbers (opened: the fingerprint leaves them out)."""
        if old.fingerprint != fingerprint:
            return False
        return nn.numbers(nn.opened(json.loads(old.content), nn.box(self.rt))) == nn.numbers(content)

    def _issue(
        self,
        s: Session,
        who: Identity,
        settings,
        req,
        cert,
        text: str,
        fingerprint: str,
        old,
        lang: str,
        cap: tuple[int, str],
    ) -> None:
        cert_id = str(uuid.uuid4())
        version = old.version + 1 if old is not None else 1
        number = (
            old.number
            if old is not None
            else f"{req.year}-{db.next_number(s, who.school_id, f'tax-certificate:{req.year}'):05d}"
        )
        at = common.now(self.rt)
        q.insert_certificate(
            s,
            id=cert_id,
            school_id=who.school_id,
            year=req.year,
            student_id=cert.student_id,
            parent_id=cert.parent_id,
            number=number,
            version=version,
            days=cert.days,
            amount_cents=cert.amount_cents,
            capped_amount_cents=cert.capped_amount_cents,
            daily_cap_cents=cap[0],
            daily_cap_source=cap[1],
            document_id=document_id_for(cert_id),
            content=text,
            fingerprint=fingerprint,
            replaced_by=None,
            created_at=at,
        )
        if old is not None:
            q.mark_replaced(s, old.id, cert_id)
        row = next(r for r in q.current_certificates(s, who.school_id, req.year) if r.id == cert_id)
        message = certificate_message(row, nn.box(self.rt))
        message.replaces_id = old.id if old is not None else ""
        nn.seal_message(message, nn.box(self.rt))  # documents opens them to render the PDF
        events.record(
            self.rt,
            s,
            who.school_id,
            events.Event(
                ISSUED,
                pb.TaxCertificateIssued(
                    certificate=message,
                    school_name=settings.school_name or settings.beneficiary,
                    enterprise_number=settings.enterprise_number,
                    school_address=_address(settings),
                    language=lang,
                    replaces_version=old.version if old is not None else 0,
                    replaces_number=old.number if old is not None else "",
                ),
            ),
        )
