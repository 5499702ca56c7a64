"""``python -m services.finance seed-demo``: the demo school's money for the local run.

Reads ``{"school_id": ..., "students": [{"id", "level", "class_name", ...}]}`` on stdin (what
``devtools/seed.py`` passes on) and creates, once: the wallet types "Repas" and "Activités", payment
settings with a demo IBAN/BIC and wallet payments on, the students' wallets, cash top-ups, a purchase,
an invoice paid from a wallet and one still to pay. Every step is idempotent (idempotency keys,
names), so running it again changes nothing.
"""

from __future__ import annotations

import json
import sys

from cartable.finance.v1 import finance_pb2 as pb
from kit.identity import Identity
from kit.service import Runtime
from services.finance.use_cases.invoices import Invoices
from services.finance.use_cases.operations import Operations
from services.finance.use_cases.settings import PaymentSettings
from services.finance.use_cases.wallet_payments import WalletPayments
from services.finance.use_cases.wallets import Wallets

DEMO_SETTINGS = pb.Settings(
    iban="BE68 5390 0754 7034",
    bic="BBRUBEBB",
    beneficiary="École Cartable de démonstration",
    school_name="École Cartable de démonstration",
    top_up_methods=["online", "transfer"],
    internal_wallet_payments=True,
    online_payment_for_orders=False,
)


def seed_demo(rt: Runtime, argv: list[str], stdin=None) -> int:
    data = json.load(stdin or sys.stdin)
    school_id = data["school_id"]
    # The operator running the seed stands for the demo school's manager: its first IBAN is set as if
    # the password had just been typed again (UpdateSettings asks for it).
    who = Identity(
        account_id="seed-demo",
        role="system",
        school_id=school_id,
        reauthenticated_at=int(rt.clock().timestamp()),
    )
    settings, wallets, operations = PaymentSettings(rt), Wallets(rt), Operations(rt)
    invoices, wallet_payments = Invoices(rt), WalletPayments(rt)
    if not settings.get_settings(who).settings.iban:
        settings.update_settings(who, pb.UpdateSettingsRequest(settings=DEMO_SETTINGS))
    for name in ("Repas", "Activités"):
        wallets.create_wallet_type(who, pb.CreateWalletTypeRequest(name=name))
    summary = []
    for i, st in enumerate(data.get("students", [])):
        sid = st["id"]
        opened = wallets.open_student_wallets(
            who,
            pb.OpenStudentWalletsRequest(
                student_id=sid,
                level=st.get("level") or "primary",
                first_name=st.get("first_name", ""),
                last_name=st.get("last_name", ""),
                class_name=st.get("class_name", ""),
            ),
        ).wallets
        by_name = {w.name: w for w in opened}
        meals, activities = by_name["Repas"], by_name["Activités"]
        for wallet, cents in ((meals, 4500), (activities, 2000)):
            operations.record_top_up(
                who,
                pb.RecordTopUpRequest(
                    wallet_id=wallet.id,
                    amount_cents=cents,
                    method="cash",
                    idempotency_key=f"seed:top-up:{wallet.id}",
                ),
            )
        operations.record_sale(
            who,
            pb.RecordSaleRequest(
                student_id=sid,
                wallet_id=meals.id,
                idempotency_key=f"seed:sale:{sid}",
                lines=[pb.SaleLineInput(label="Repas chaud", quantity=2, unit_price_cents=395)],
            ),
        )
        photos = invoices.create_invoice(
            who,
            pb.CreateInvoiceRequest(
                student_id=sid,
                title="Photos de classe",
                idempotency_key=f"seed:invoice-photos:{sid}",
                lines=[pb.InvoiceLineInput(label="Photo de classe 13×18", quantity=1, unit_price_cents=850)],
            ),
        ).invoice
        wallet_payments.pay_invoice(
            who,
            pb.PayInvoiceRequest(
                invoice_id=photos.id,
                method="wallet",
                wallet_id=activities.id,
                idempotency_key=f"seed:pay-photos:{sid}",
            ),
        )
        bruges = invoices.create_invoice(
            who,
            pb.CreateInvoiceRequest(
                student_id=sid,
                title="Visite à Bruges",
                idempotency_key=f"seed:invoice-bruges:{sid}",
                lines=[
                    pb.InvoiceLineInput(label="Car", quantity=1, unit_price_cents=1200),
                    pb.InvoiceLineInput(
                        label="Entrée au musée Groeninge", quantity=1, unit_price_cents=600 + 50 * i
                    ),
                ],
            ),
        ).invoice
        summary.append(
            {"student_id": sid, "wallets": [w.id for w in opened], "invoices": [photos.id, bruges.id]}
        )
    json.dump({"school_id": school_id, "students": summary}, sys.stdout)
    sys.stdout.write("\n")
    return 0
