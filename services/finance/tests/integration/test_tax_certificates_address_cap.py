"""The tax certificates' gaps closed (issue #19), on a real database: the school's postal address in
its settings and on the certificates, the legal maximum per day a school enters for a year the code
does not know (a known year's figure never overridden), a child with a severe disability counted
until 21."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cartable.finance.v1 import finance_pb2 as pb
from cartable.finance.v1 import tax_certificates_pb2 as tpb
from kit.errors import Conflict, InvalidRequest
from services.finance.tests.conftest import STAFF, reauthenticated, settings
from services.finance.tests.integration.test_tax_certificates import MUM, child, issued, pay
from services.finance.use_cases.tax_certificates import TaxCertificates

ADDRESS = pb.SchoolAddress(street="Rue de l'École 1", postal_code="1000", city="Bruxelles")


def save(world, finance_rt, **over) -> pb.Settings:
    req = settings(enterprise_number="0203201340", **over)
    return world.finance.settings.update_settings(reauthenticated(STAFF, finance_rt), req).settings


def invoice(world, student_id: str = "emma"):
    return world.finance.invoices.create_invoice(
        STAFF,
        pb.CreateInvoiceRequest(
            student_id=student_id,
            title="Garderie",
            lines=[
                pb.InvoiceLineInput(
                    label="Garderie du soir", quantity=1, unit_price_cents=20000, childcare=True, days=10
                )
            ],
        ),
    ).invoice


def generate(certs: TaxCertificates, year: int, c: tpb.TaxChild | None = None):
    return certs.generate(STAFF, tpb.GenerateTaxCertificatesRequest(year=year, children=[c or child()]))


def test_the_address_is_saved_checked_kept_and_cleared(world, finance_rt):
    finance_rt.clock.set(datetime(2024, 3, 1, tzinfo=UTC))
    saved = save(
        world,
        finance_rt,
        address=pb.SchoolAddress(street=" Rue  de l'École 1 ", postal_code="1000", city="Bruxelles"),
    )
    assert (saved.address.street, saved.address.postal_code, saved.address.city) == (
        "Rue de l'École 1", "1000", "Bruxelles",
    )  # fmt: skip
    assert save(world, finance_rt).address.city == "Bruxelles"  # unset: kept
    with pytest.raises(InvalidRequest) as err:
        save(world, finance_rt, address=pb.SchoolAddress(street="Rue 1", postal_code="75001", city="Paris"))
    assert set(err.value.fields) == {"address.postal_code"}
    with pytest.raises(InvalidRequest) as err:
        save(world, finance_rt, address=pb.SchoolAddress(street="", postal_code="0999", city=""))
    assert set(err.value.fields) == {"address.street", "address.postal_code", "address.city"}
    assert save(world, finance_rt, address=pb.SchoolAddress()).address.street == ""  # cleared


def test_the_address_is_on_the_certificate_and_adding_it_corrects_them(world, finance_rt):
    finance_rt.clock.set(datetime(2024, 3, 1, tzinfo=UTC))
    save(world, finance_rt)
    certs = TaxCertificates(finance_rt)
    pay(finance_rt, invoice(world).id, 20000, MUM)
    assert generate(certs, 2024).created == 1  # allowed without an address (the page warns)
    assert issued(finance_rt)[0].school_address == ""
    assert certs.list_certificates(STAFF, 2024).school_address == ""
    save(world, finance_rt, address=ADDRESS)
    out = generate(certs, 2024)
    assert (out.created, out.replaced) == (0, 1)
    assert issued(finance_rt)[-1].school_address == "Rue de l'École 1, 1000 Bruxelles"
    assert certs.list_certificates(STAFF, 2024).school_address == "Rue de l'École 1, 1000 Bruxelles"
    assert generate(certs, 2024).replaced == 0


def test_a_school_enters_the_daily_maximum_of_a_year_the_code_does_not_know(world, finance_rt):
    finance_rt.clock.set(datetime(2025, 2, 3, tzinfo=UTC))
    save(world, finance_rt)
    certs = TaxCertificates(finance_rt)
    pay(finance_rt, invoice(world).id, 20000, MUM)
    listing = certs.list_certificates(STAFF, 2025)
    assert (listing.daily_cap_cents, listing.daily_cap_source) == (0, "")
    with pytest.raises(InvalidRequest) as err:
        generate(certs, 2025)
    assert err.value.code == "unknown_year"
    for bad in (0, 99, 5001):
        with pytest.raises(InvalidRequest) as err:
            certs.set_daily_cap(STAFF, tpb.SetDailyCapRequest(year=2025, daily_cap_cents=bad))
        assert "daily_cap_cents" in err.value.fields
    got = certs.set_daily_cap(STAFF, tpb.SetDailyCapRequest(year=2025, daily_cap_cents=1690))
    assert (got.daily_cap_cents, got.daily_cap_source) == (1690, "school")
    assert generate(certs, 2025).created == 1
    listing = certs.list_certificates(STAFF, 2025)
    (cert,) = listing.certificates
    assert (listing.daily_cap_cents, listing.daily_cap_source) == (1690, "school")
    assert (cert.daily_cap_cents, cert.daily_cap_source, cert.capped_amount_cents) == (1690, "school", 16900)
    assert issued(finance_rt)[-1].certificate.daily_cap_source == "school"
    # a correction of the figure corrects the certificate
    certs.set_daily_cap(STAFF, tpb.SetDailyCapRequest(year=2025, daily_cap_cents=1700))
    assert generate(certs, 2025).replaced == 1
    (cert,) = certs.list_certificates(STAFF, 2025).certificates
    assert (cert.version, cert.daily_cap_cents, cert.capped_amount_cents) == (2, 1700, 17000)


def test_a_known_years_figure_cannot_be_overridden(world, finance_rt):
    finance_rt.clock.set(datetime(2025, 2, 3, tzinfo=UTC))
    save(world, finance_rt)
    certs = TaxCertificates(finance_rt)
    with pytest.raises(Conflict) as err:
        certs.set_daily_cap(STAFF, tpb.SetDailyCapRequest(year=2024, daily_cap_cents=2000))
    assert err.value.code == "daily_cap_known"
    pay(finance_rt, invoice(world).id, 20000, MUM)
    finance_rt.clock.set(datetime(2024, 6, 1, tzinfo=UTC))
    listing = certs.list_certificates(STAFF, 2024)
    assert (listing.daily_cap_cents, listing.daily_cap_source) == (1640, "law")


def test_a_severe_disability_counts_until_21(world, finance_rt):
    finance_rt.clock.set(datetime(2024, 3, 1, tzinfo=UTC))
    save(world, finance_rt)
    certs = TaxCertificates(finance_rt)
    pay(finance_rt, invoice(world).id, 20000, MUM)
    fifteen = child(birth="2009-01-10")  # 15 on the day of care
    assert generate(certs, 2024, fifteen).count == 0
    fifteen.severe_disability = True
    assert generate(certs, 2024, fifteen).count == 1
    (cert,) = certs.list_certificates(STAFF, 2024).certificates
    assert cert.child.severe_disability and cert.days == 10
