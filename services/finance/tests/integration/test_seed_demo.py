"""`python -m services.finance seed-demo`: the demo school's money, once however often it runs."""

from __future__ import annotations

import io
import json

from kit.identity import Identity
from services.finance.demo import seed_demo
from services.finance.service import FinanceService
from services.finance.tests.conftest import assert_ledger_invariants

PAYLOAD = {
    "school_id": "demo-school",
    "students": [
        {"id": "demo-emma", "level": "primary", "class_name": "3A", "first_name": "Emma"},
        {"id": "demo-lucas", "level": "secondary", "class_name": "1C"},
    ],
}


def test_seed_demo_creates_wallets_money_and_invoices_once(finance_rt, capsys):
    for _ in range(2):
        assert seed_demo(finance_rt, [], stdin=io.StringIO(json.dumps(PAYLOAD))) == 0
    first, second = capsys.readouterr().out.strip().splitlines()
    assert json.loads(first) == json.loads(second)
    svc = FinanceService(finance_rt)
    staff = Identity(account_id="x", role="staff", school_id="demo-school")
    settings = svc.get_settings(staff).settings
    assert settings.internal_wallet_payments and settings.iban == "BE68539007547034"
    wallets = svc.list_wallets(staff, "demo-emma").wallets
    assert {w.name: w.balance_cents for w in wallets} == {"Repas": 4500 - 790, "Activités": 2000 - 850}
    statuses = sorted(i.status for i in svc.list_invoices(staff, "demo-lucas").invoices)
    assert statuses == ["paid", "unpaid"]
    assert_ledger_invariants(finance_rt)
