"""`python -m services.finance seed-demo`: the demo school's money, once however often it runs."""

from __future__ import annotations

import io
import json

from kit.identity import Identity
from services.finance.app import use_cases
from services.finance.demo import seed_demo
from services.finance.tests.conftest import NO_PROVIDER, assert_ledger_invariants

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
    finance = use_cases(finance_rt, provider=NO_PROVIDER)
    staff = Identity(account_id="x", role="staff", school_id="demo-school")
    settings = finance.settings.get_settings(staff).settings
    assert settings.internal_wallet_payments and settings.iban == "BE68539007547034"
    wallets = finance.wallets.list_wallets(staff, "demo-emma").wallets
    assert {w.name: w.balance_cents for w in wallets} == {"Repas": 4500 - 790, "Activités": 2000 - 850}
    statuses = sorted(i.status for i in finance.invoices.list_invoices(staff, "demo-lucas").invoices)
    assert statuses == ["paid", "unpaid"]
    assert_ledger_invariants(finance_rt)
