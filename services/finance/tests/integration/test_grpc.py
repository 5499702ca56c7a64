"""The FinanceService over a real gRPC server: identity tokens, status codes and error codes."""

from __future__ import annotations

import grpc
import pytest

from cartable.finance.v1 import finance_pb2 as pb
from services.finance.tests.conftest import ACCOUNTS, SCHOOL, STAFF, error_code, md, reauthenticated_token


@pytest.fixture
def tokens(keys, finance_rt):
    return {
        "staff": keys.token(role="staff", school_id=SCHOOL, account_id=ACCOUNTS["manager"]),
        # what auth's Reauthenticate answers: the password typed again just now (the IBAN asks for it)
        "staff_reauth": reauthenticated_token(keys, finance_rt, STAFF),
        "mum": keys.token(
            role="parent", school_id=SCHOOL, students={"emma": "1A"}, account_id=ACCOUNTS["mum"]
        ),
        "stranger": keys.token(
            role="parent", school_id=SCHOOL, students={"noah": "2B"}, account_id=ACCOUNTS["stranger"]
        ),
    }


def call(stub, method: str, request, token: str):
    return getattr(stub, method)(request, metadata=md(token), timeout=10)


def fails(stub, method, request, token) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as exc:
        call(stub, method, request, token)
    return exc.value.code(), error_code(exc.value)


def test_school_setup_invoice_and_wallet_payment_over_grpc(stub, tokens):
    staff, mum = tokens["staff"], tokens["mum"]
    got = call(
        stub,
        "UpdateSettings",
        pb.UpdateSettingsRequest(
            settings=pb.Settings(
                iban="be68 5390 0754 7034",
                bic="bbrubebb",
                beneficiary="École Saint-Joseph",
                top_up_methods=["transfer"],
                internal_wallet_payments=True,
            )
        ),
        tokens["staff_reauth"],
    ).settings
    assert (got.iban, got.bic, list(got.top_up_methods)) == ("BE68539007547034", "BBRUBEBB", ["transfer"])
    assert call(stub, "GetSettings", pb.GetSettingsRequest(), mum).settings == got
    meals = call(stub, "CreateWalletType", pb.CreateWalletTypeRequest(name="Repas"), staff).wallet_type
    assert [
        wt.name for wt in call(stub, "ListWalletTypes", pb.ListWalletTypesRequest(), staff).wallet_types
    ] == ["Repas"]
    opened = call(
        stub, "OpenStudentWallets", pb.OpenStudentWalletsRequest(student_id="emma", level="primary"), staff
    )
    (wallet,) = opened.wallets
    assert wallet.wallet_type_id == meals.id
    call(
        stub,
        "RecordTopUp",
        pb.RecordTopUpRequest(wallet_id=wallet.id, amount_cents=3710, method="cash"),
        staff,
    )
    inv = call(
        stub,
        "CreateInvoice",
        pb.CreateInvoiceRequest(
            student_id="emma",
            title="Visite à Bruges",
            due_on="2026-06-30",
            lines=[pb.InvoiceLineInput(label="Car", quantity=1, unit_price_cents=1200)],
        ),
        staff,
    ).invoice
    assert [
        i.id for i in call(stub, "ListInvoices", pb.ListInvoicesRequest(student_id="emma"), mum).invoices
    ] == [inv.id]
    paid = call(
        stub,
        "PayInvoice",
        pb.PayInvoiceRequest(invoice_id=inv.id, method="wallet", wallet_id=wallet.id, idempotency_key="k"),
        mum,
    )
    assert paid.invoice.status == "paid" and paid.wallet_balance_cents == 2510
    assert (
        call(stub, "ListWallets", pb.ListWalletsRequest(student_id="emma"), mum).wallets[0].balance_cents
        == 2510
    )
    sold = call(
        stub,
        "RecordSale",
        pb.RecordSaleRequest(
            student_id="emma",
            wallet_id=wallet.id,
            lines=[pb.SaleLineInput(label="Repas chaud", quantity=1, unit_price_cents=395)],
        ),
        staff,
    )
    assert sold.balance_cents == 2115
    operations = call(
        stub,
        "ListOperations",
        pb.ListOperationsRequest(student_id="emma", period=pb.PeriodFilter(period="last_30_days")),
        mum,
    ).operations
    assert [o.type for o in operations] == ["purchase", "invoice_payment", "top_up"]
    assert [
        ln.label for ln in call(stub, "ListSales", pb.ListSalesRequest(student_id="emma"), mum).lines
    ] == ["Repas chaud"]

    # errors carry their API code
    assert fails(
        stub, "PayInvoice", pb.PayInvoiceRequest(invoice_id=inv.id, method="wallet", wallet_id=wallet.id), mum
    ) == (grpc.StatusCode.FAILED_PRECONDITION, "already_paid")
    assert fails(
        stub,
        "PayInvoice",
        pb.PayInvoiceRequest(
            invoice_id=inv.id, method="wallet", wallet_id=wallet.id, idempotency_key="k", student_id="emma"
        ),
        mum,
    ) == (grpc.StatusCode.FAILED_PRECONDITION, "idempotency_key_reused")
    assert fails(stub, "GetInvoice", pb.GetInvoiceRequest(invoice_id=inv.id), tokens["stranger"]) == (
        grpc.StatusCode.NOT_FOUND,
        "not_found",
    )
    assert fails(stub, "ListWallets", pb.ListWalletsRequest(student_id="emma"), tokens["stranger"]) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "forbidden",
    )
    assert fails(stub, "CreateWalletType", pb.CreateWalletTypeRequest(name="x"), mum) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "forbidden",
    )
    code, _ = fails(
        stub,
        "UpdateSettings",
        pb.UpdateSettingsRequest(settings=pb.Settings(iban="BE00 0000 0000 0000", beneficiary="x")),
        staff,
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT


def test_a_call_without_a_valid_identity_token_is_refused(stub):
    with pytest.raises(grpc.RpcError) as exc:
        stub.ListWallets(pb.ListWalletsRequest(student_id="emma"), timeout=5)
    assert exc.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as exc:
        stub.ListWallets(pb.ListWalletsRequest(student_id="emma"), metadata=md("not-a-token"), timeout=5)
    assert exc.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_bad_settings_name_each_wrong_field(stub, tokens):
    with pytest.raises(grpc.RpcError) as exc:
        call(
            stub,
            "UpdateSettings",
            pb.UpdateSettingsRequest(
                settings=pb.Settings(
                    iban="BE68 5390 0754 7035", bic="NOPE", beneficiary="", top_up_methods=["cash"]
                )
            ),
            tokens["staff"],
        )
    fields = dict(exc.value.trailing_metadata())["x-error-fields"]
    for name in ("iban", "bic", "beneficiary", "top_up_methods"):
        assert name in fields
