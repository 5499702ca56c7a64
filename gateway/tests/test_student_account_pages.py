"""A student's statement of account (/gestion/eleves/<id>/releve-de-compte), in-process against a
fake auth and finance: opening and closing balances computed back from today's balance, the movements
with the balance after each, the period's and still-open invoices, the period form's errors, finance
down, and parents kept out."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from cartable.finance.v1 import finance_pb2 as fpb
from gateway.calls.notifications import school_today
from gateway.pages.student_account import school_year_start
from gateway.tests.test_students_pages import staff, text  # noqa: F401 - the fixture
from kit.dates import BRUSSELS
from kit.errors import Unavailable

TODAY = date.fromisoformat(school_today())


def _at(days_ago: int, hour: int = 12) -> str:
    local = datetime.combine(TODAY - timedelta(days=days_ago), time(hour), tzinfo=BRUSSELS)
    return local.astimezone(UTC).isoformat().replace("+00:00", "Z")


# finance answers newest first
OPERATIONS = [
    fpb.Operation(
        id="o-3", at=_at(0), type="top_up", label="Recharge en ligne", amount_cents=500, wallet_id="w-1"
    ),
    fpb.Operation(
        id="o-2", at=_at(10), type="purchase", label="Repas chaud", amount_cents=-300, wallet_id="w-1"
    ),
    fpb.Operation(id="o-1", at=_at(20), type="top_up", label="Virement", amount_cents=1000, wallet_id="w-1"),
]
INVOICES = [
    fpb.Invoice(
        id="i-old",
        number="2026-0001",
        title="Photos",
        issued_on=(TODAY - timedelta(days=40)).isoformat(),
        total_cents=900,
        paid_cents=400,
        status="partially_paid",
    ),
    fpb.Invoice(
        id="i-old-paid",
        number="2026-0002",
        title="Cotisation",
        issued_on=(TODAY - timedelta(days=40)).isoformat(),
        total_cents=2000,
        paid_cents=2000,
        status="paid",
    ),
    fpb.Invoice(
        id="i-in",
        number="2026-0007",
        title="Piscine",
        issued_on=(TODAY - timedelta(days=8)).isoformat(),
        total_cents=800,
        paid_cents=0,
        status="unpaid",
    ),
    fpb.Invoice(
        id="i-late",
        number="2026-0009",
        title="Théâtre",
        issued_on=(TODAY - timedelta(days=2)).isoformat(),
        total_cents=1500,
        paid_cents=0,
        status="unpaid",
    ),
]


def _listed(req):
    """As finance answers: the movements from the period's first day (the school's days) on."""
    first = date.fromisoformat(req.period.from_date)
    return fpb.ListOperationsResponse(
        operations=[
            op
            for op in OPERATIONS
            if datetime.fromisoformat(op.at.replace("Z", "+00:00")).astimezone(BRUSSELS).date() >= first
        ]
    )


@pytest.fixture
def money(fakes, staff):  # noqa: F811 - the fixture imported above
    fakes.on("finance", "ListOperations", _listed)
    fakes.on("finance", "ListInvoices", fpb.ListInvoicesResponse(invoices=INVOICES))
    return staff


def _path(**query) -> str:
    q = "&".join(f"{k}={v}" for k, v in query.items())
    return "/gestion/eleves/s-1/releve-de-compte" + (f"?{q}" if q else "")


def test_balances_are_computed_back_from_today_and_each_movement_carries_the_balance_after(
    client, fakes, money
):
    first, last = TODAY - timedelta(days=15), TODAY - timedelta(days=5)
    resp = client.get(_path(**{"from": first.isoformat(), "to": last.isoformat()}))
    assert resp.status_code == 200
    page = text(resp)
    # finance was asked for every movement from the first day to today (those after the period too)
    asked = fakes.requests("finance", "ListOperations")[-1]
    assert (asked.student_id, asked.period.period, asked.period.from_date, asked.period.to_date) == (
        "s-1",
        "custom",
        first.isoformat(),
        TODAY.isoformat(),
    )
    # today 12,50; +5,00 after the period: closing 7,50; −3,00 in the period: opening 10,50
    wallet = page[page.index('id="wallet-w-1"') :]
    wallet = wallet[: wallet.index("</table>")]
    assert "Repas chaud" in wallet and "Recharge en ligne" not in wallet and "Virement" not in wallet
    assert '<td class="num opening"><span class="cell-label">Solde : </span>10,50\xa0€' in wallet
    assert '<td class="num closing"><span class="cell-label">Solde : </span>7,50\xa0€' in wallet
    assert "-3,00\xa0€" in wallet and "+0,00\xa0€ / −3,00\xa0€" in wallet
    # invoices: the one issued in the period, the older one still open; not the older paid one nor the later one
    invoices = page[page.index('id="invoices-title"') :]
    assert "Piscine" in invoices and "Photos" in invoices
    assert "Cotisation" not in invoices and "Théâtre" not in invoices
    assert 'id="invoiced-total">8,00\xa0€' in invoices  # Piscine only: Photos was issued before
    assert 'id="remaining-total">13,00\xa0€' in invoices  # 8,00 + what remains of Photos (5,00)


def test_by_default_the_school_year_so_far(client, fakes, money):
    page = text(client.get(_path()))
    asked = fakes.requests("finance", "ListOperations")[-1]
    assert asked.period.from_date == school_year_start(TODAY).isoformat()
    assert asked.period.to_date == TODAY.isoformat()
    assert "Relevé de compte de Emma D'Hondt" in page
    # up to today nothing comes after the period: the closing balance is today's
    assert '<td class="num closing"><span class="cell-label">Solde : </span>12,50\xa0€' in page


def test_school_year_start():
    assert school_year_start(date(2026, 12, 2)) == date(2026, 9, 1)
    assert school_year_start(date(2027, 6, 30)) == date(2026, 9, 1)
    assert school_year_start(date(2026, 9, 1)) == date(2026, 9, 1)


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"from": "2026-13-40"}, "from", "Indiquez une date valable"),
        ({"to": (TODAY + timedelta(days=1)).isoformat()}, "to", "ne peut pas être après aujourd'hui"),
        ({"from": (TODAY - timedelta(days=400)).isoformat()}, "from", "au plus à un an"),
        (
            {"from": (TODAY - timedelta(days=2)).isoformat(), "to": (TODAY - timedelta(days=3)).isoformat()},
            "to",
            "doit suivre son début",
        ),
    ],
)
def test_a_bad_period_is_refused_with_the_field_named(client, fakes, money, query, field, message):
    resp = client.get(_path(**query))
    assert resp.status_code == 400
    page = text(resp)
    assert f'<p id="{field}-error" class="field-error">' in page and message in page
    assert f'id="{field}" name="{field}" type="date"' in page and 'aria-invalid="true"' in page
    assert fakes.requests("finance", "ListOperations") == []  # nothing asked


def test_finance_down_says_so(client, fakes, money):
    def down(_req):
        raise Unavailable("finance is down")

    fakes.on("finance", "ListOperations", down)
    resp = client.get(_path())
    assert resp.status_code == 503
    assert "Le relevé ne peut pas être établi pour l'instant" in text(resp)


def test_the_students_page_links_to_it_and_parents_are_kept_out(client, fakes, money):
    assert 'href="/gestion/eleves/s-1/releve-de-compte" id="statement-link"' in text(
        client.get("/gestion/eleves/s-1")
    )
    client.set_cookie("cartable_session", fakes.parent().token)
    assert client.get(_path()).status_code == 403


def test_it_reads_in_dutch_and_english(client, fakes, money):
    assert "Rekeningoverzicht van Emma D'Hondt" in text(client.get(_path(lang="nl")))
    assert "Statement of account of Emma D'Hondt" in text(client.get(_path(lang="en")))
