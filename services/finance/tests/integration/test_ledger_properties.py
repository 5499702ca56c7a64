"""Property-based: any sequence of top-ups, sales, invoices, wallet payments, credit notes, settings
changes and replayed keys keeps every invariant — the ledger sums to zero, each wallet's balance equals
its postings and matches a simple model, no wallet is ever negative, invoices' paid amounts equal
their payments."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from cartable.finance.v1 import finance_pb2 as pb
from kit.errors import Conflict
from kit.identity import Identity
from services.finance.tests.conftest import assert_ledger_invariants, reauthenticated
from services.finance.tests.conftest import settings as settings_request

STUDENTS = ("ana", "ben")
TYPES = ("Repas", "Activités")
amounts = st.integers(min_value=1, max_value=5000)


def machine_for(finance, rt):
    class LedgerMachine(RuleBasedStateMachine):
        @initialize()
        def school(self):
            self.school = f"prop-{uuid.uuid4().hex[:8]}"
            self.staff = Identity(account_id="staff", role="staff", school_id=self.school)
            # Student ids are unique across schools: each example has its own.
            self.ids = {s: f"{self.school}-{s}" for s in STUDENTS}
            self.parent = Identity(
                account_id="parent",
                role="parent",
                school_id=self.school,
                students={i: "1A" for i in self.ids.values()},
            )
            finance.settings.update_settings(
                reauthenticated(self.staff, finance.settings.rt), settings_request()
            )
            self.wallet_payments = True
            for name in TYPES:
                finance.wallets.create_wallet_type(self.staff, pb.CreateWalletTypeRequest(name=name))
            self.wallets = {}
            for student in STUDENTS:
                opened = finance.wallets.open_student_wallets(
                    self.staff, pb.OpenStudentWalletsRequest(student_id=self.ids[student], level="primary")
                )
                for w in opened.wallets:
                    self.wallets[(student, w.name)] = w.id
            self.balance = dict.fromkeys(self.wallets, 0)
            self.invoices: list[dict] = []  # model: id, student, total, paid, cancelled
            self.answers: dict[str, tuple] = {}  # key -> (request, response) for replays

        @rule(student=st.sampled_from(STUDENTS), name=st.sampled_from(TYPES), cents=amounts)
        def top_up(self, student, name, cents):
            key = uuid.uuid4().hex
            req = pb.RecordTopUpRequest(
                wallet_id=self.wallets[(student, name)],
                amount_cents=cents,
                method="cash",
                idempotency_key=key,
            )
            resp = finance.operations.record_top_up(self.staff, req)
            self.balance[(student, name)] += cents
            assert resp.balance_cents == self.balance[(student, name)]
            self.answers[key] = ("top_up", req, resp)

        @rule(
            student=st.sampled_from(STUDENTS),
            name=st.sampled_from(TYPES),
            cents=amounts,
            qty=st.integers(min_value=1, max_value=3),
        )
        def sale(self, student, name, cents, qty):
            req = pb.RecordSaleRequest(
                student_id=self.ids[student],
                wallet_id=self.wallets[(student, name)],
                lines=[pb.SaleLineInput(label="Repas", quantity=qty, unit_price_cents=cents)],
            )
            total = cents * qty
            if total > self.balance[(student, name)]:
                with pytest.raises(Conflict) as exc:
                    finance.operations.record_sale(self.staff, req)
                assert exc.value.code == "insufficient_balance"
            else:
                assert (
                    finance.operations.record_sale(self.staff, req).balance_cents
                    == self.balance[(student, name)] - total
                )
                self.balance[(student, name)] -= total

        @rule(
            student=st.sampled_from(STUDENTS),
            cents=st.integers(min_value=0, max_value=8000),
            credit=st.integers(min_value=0, max_value=100),
        )
        def invoice(self, student, cents, credit):
            credit = min(credit, cents)
            inv = finance.invoices.create_invoice(
                self.staff,
                pb.CreateInvoiceRequest(
                    student_id=self.ids[student],
                    title="Sortie",
                    credit_cents=credit,
                    lines=[pb.InvoiceLineInput(label="Sortie", quantity=1, unit_price_cents=cents)],
                ),
            ).invoice
            assert inv.total_cents == cents - credit
            self.invoices.append(
                {"id": inv.id, "student": student, "total": inv.total_cents, "paid": 0, "cancelled": False}
            )

        @rule(data=st.data(), name=st.sampled_from(TYPES))
        def pay(self, data, name):
            if not self.invoices:
                return
            inv = data.draw(st.sampled_from(self.invoices))
            key = uuid.uuid4().hex
            req = pb.PayInvoiceRequest(
                invoice_id=inv["id"],
                method="wallet",
                wallet_id=self.wallets[(inv["student"], name)],
                idempotency_key=key,
            )
            due = inv["total"] - inv["paid"]
            expected = (
                "invoice_cancelled"
                if inv["cancelled"]
                else "already_paid"
                if due == 0
                else "method_disabled"
                if not self.wallet_payments
                else "insufficient_balance"
                if due > self.balance[(inv["student"], name)]
                else None
            )
            if expected:
                with pytest.raises(Conflict) as exc:
                    finance.wallet_payments.pay_invoice(self.parent, req)
                assert exc.value.code == expected
                return
            resp = finance.wallet_payments.pay_invoice(self.parent, req)
            inv["paid"] += due
            self.balance[(inv["student"], name)] -= due
            assert (
                resp.invoice.status == "paid"
                and resp.wallet_balance_cents == self.balance[(inv["student"], name)]
            )
            self.answers[key] = ("pay", req, resp)

        @rule(data=st.data())
        def credit_note(self, data):
            if not self.invoices:
                return
            inv = data.draw(st.sampled_from(self.invoices))
            req = pb.IssueCreditNoteRequest(invoice_id=inv["id"], reason="Annulée")
            if inv["cancelled"] or inv["paid"] >= inv["total"]:
                with pytest.raises(Conflict):
                    finance.invoices.issue_credit_note(self.staff, req)
                return
            resp = finance.invoices.issue_credit_note(self.staff, req)
            assert resp.credit_note.credited_cents == inv["total"] - inv["paid"]
            inv["cancelled"] = True

        @rule(on=st.booleans())
        def switch_wallet_payments(self, on):
            finance.settings.update_settings(self.staff, settings_request(internal_wallet_payments=on))
            self.wallet_payments = on

        @rule(data=st.data())
        def replay(self, data):
            if not self.answers:
                return
            key = data.draw(st.sampled_from(sorted(self.answers)))
            kind, req, resp = self.answers[key]
            who = self.staff if kind == "top_up" else self.parent
            again = (
                finance.operations.record_top_up(who, req)
                if kind == "top_up"
                else finance.wallet_payments.pay_invoice(who, req)
            )
            assert again == resp  # the first answer, nothing moved

        @invariant()
        def ledger_holds(self):
            if not hasattr(self, "school"):
                return
            assert_ledger_invariants(rt, self.school)
            listed = {}
            for student in STUDENTS:
                for w in finance.wallets.list_wallets(self.staff, self.ids[student]).wallets:
                    listed[(student, w.name)] = w.balance_cents
            assert listed == self.balance
            for inv in self.invoices:
                got = finance.invoices.get_invoice(self.staff, inv["id"]).invoice
                assert got.paid_cents == inv["paid"]
                assert got.status == (
                    "cancelled" if inv["cancelled"] else "paid" if inv["paid"] >= inv["total"] else "unpaid"
                )

    return LedgerMachine


def test_any_sequence_of_operations_keeps_the_ledger_balanced_and_no_wallet_negative(
    finance, finance_rt, databases
):
    examples = 30 if databases.backend == "sqlite" else 15
    run_state_machine_as_test(
        lambda: machine_for(finance, finance_rt)(),
        settings=settings(
            max_examples=examples,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
