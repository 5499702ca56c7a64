"""Finance: wallets, invoices, paying them (from a wallet, online, by transfer), operations and sales;
the school's payment settings, invoicing and cash; bank statements and unmatched transfers."""

from __future__ import annotations

import logging

from flask import current_app
from flask_babel import gettext as _

from cartable.auth.v1 import auth_pb2
from cartable.finance.v1 import finance_pb2 as pb
from gateway.calls import notifications
from gateway.clients import rpc
from gateway.web import client_address
from kit.errors import Forbidden, NotFound, Unauthenticated, Unavailable

log = logging.getLogger("gateway.finance")

# Payments on one wallet queue on its row lock: a burst of them may wait longer than a page's read.
MONEY_TIMEOUT = 10.0
# Calls that reach the payment provider or book a whole statement take longer than a page's 3 s.
PROVIDER_TIMEOUT = 20
IMPORT_TIMEOUT = 180
# Opening the new type's wallet for every student of a large school takes a moment.
WALLET_TYPE_TIMEOUT = 30


# -- wallets and invoices ---------------------------------------------------------------------------


def list_wallets(student_id: str) -> list[pb.Wallet]:
    return list(rpc("finance", "ListWallets", pb.ListWalletsRequest(student_id=student_id)).wallets)


def open_student_wallets(student, level: str) -> list[pb.Wallet]:
    """Finance opens a new student's wallets. When finance does not answer, the student exists all
    the same and finance opens them on ``auth.student.created.v1``: the answer then lists none."""
    try:
        resp = rpc(
            "finance",
            "OpenStudentWallets",
            pb.OpenStudentWalletsRequest(
                student_id=student.id,
                level=level,
                first_name=student.first_name,
                last_name=student.last_name,
                class_name=student.class_name,
            ),
        )
    except Unavailable:
        log.warning(
            "finance unavailable: the student's wallets will be opened from auth.student.created.v1",
            extra={"student_id": student.id},
        )
        return []
    return list(resp.wallets)


def list_invoices(student_id: str, status: str = "") -> list[pb.Invoice]:
    return list(
        rpc("finance", "ListInvoices", pb.ListInvoicesRequest(student_id=student_id, status=status)).invoices
    )


def child_invoice(invoice_id: str, child_id: str, *, missing: str = "no such invoice") -> pb.Invoice:
    """One of the active child's invoices, with its lines; a sibling's is not found (``missing``)."""
    inv = rpc("finance", "GetInvoice", pb.GetInvoiceRequest(invoice_id=invoice_id)).invoice
    if inv.student_id != child_id:
        raise NotFound(missing)
    return inv


def pay_invoice_from_wallet(
    invoice_id: str, wallet_id: str, child_id: str, key: str
) -> pb.PayInvoiceResponse:
    """The invoice's open amount from one of the child's wallets ("Payer" > "Avec portefeuille
    interne"); 409 insufficient_balance, already_paid, invoice_cancelled, method_disabled."""
    return rpc(
        "finance",
        "PayInvoice",
        pb.PayInvoiceRequest(
            invoice_id=invoice_id,
            method="wallet",
            wallet_id=wallet_id,
            idempotency_key=key,
            student_id=child_id,
        ),
        timeout=MONEY_TIMEOUT,
    )


def list_operations(
    student_id: str,
    period: pb.PeriodFilter,
    *,
    type: str = "",
    payment_method: str = "",
    wallet_id: str = "",
    limit: int = 0,
    cursor: str = "",
) -> pb.ListOperationsResponse:
    """A student's wallet movements in the period, newest first: every one when ``limit`` is 0 (the
    pages), else a page computed by finance after ``cursor``."""
    return rpc(
        "finance",
        "ListOperations",
        pb.ListOperationsRequest(
            student_id=student_id,
            period=period,
            type=type,
            payment_method=payment_method,
            wallet_id=wallet_id,
            limit=limit,
            cursor=cursor,
        ),
    )


def list_sales(
    student_id: str, period: pb.PeriodFilter, wallet_id: str = "", *, limit: int = 0, cursor: str = ""
) -> pb.ListSalesResponse:
    """The sales journal line by line: one student's (every line of the period when ``limit`` is 0),
    or the whole school's (no ``student_id``: always a page); pages computed by finance."""
    return rpc(
        "finance",
        "ListSales",
        pb.ListSalesRequest(
            student_id=student_id, period=period, wallet_id=wallet_id, limit=limit, cursor=cursor
        ),
    )


# -- the school's settings, invoicing and cash (staff) ------------------------------------------------


def get_settings() -> pb.Settings:
    return rpc("finance", "GetSettings", pb.GetSettingsRequest()).settings


def update_settings(
    settings: pb.Settings, current_password: str = "", payment_plan_contact: str | None = None
) -> pb.Settings:
    """Change the school's payment settings. With ``current_password``, auth checks the manager's
    password first and answers a re-authenticated identity token, which finance asks for before the
    IBAN changes (finance decides when it is needed: the gateway does not compare IBANs)."""
    identity: str | bool = True
    if current_password:
        try:
            again = rpc(
                "auth",
                "Reauthenticate",
                auth_pb2.ReauthenticateRequest(
                    current_password=current_password, client_address=client_address()
                ),
            )
        except Unauthenticated as err:
            if err.code != "invalid_credentials":
                raise
            # 403, not 401: the session is fine, only this change is refused
            raise Forbidden(
                _("Le mot de passe n'est pas le bon : l'IBAN n'a pas été changé."),
                code="reauthentication_required",
            ) from None
        identity = again.identity_token
    saved = rpc(
        "finance", "UpdateSettings", pb.UpdateSettingsRequest(settings=settings), identity=identity
    ).settings
    if settings.HasField("reminders"):
        # notifications sends the scheduled reminders and keeps its own copy of these settings (with
        # whom to contact to spread a payment, which finance does not hold); if it does not answer,
        # the manager is told (503) and saving again puts both in step
        r = saved.reminders
        if payment_plan_contact is None:  # not given: the contact notifications has stays
            payment_plan_contact = notifications.reminder_settings().payment_plan_contact
        notifications.update_reminder_settings(
            {
                "enabled": r.enabled,
                "first_after_days": r.first_after_days or 7,
                "repeat_every_days": r.repeat_every_days or 14,
                "max_count": r.max_count or 3,
                "payment_plan_contact": payment_plan_contact or "",
            }
        )
    return saved


def list_wallet_types() -> list[pb.WalletType]:
    return list(rpc("finance", "ListWalletTypes", pb.ListWalletTypesRequest()).wallet_types)


def create_wallet_type(name: str) -> pb.WalletType:
    return rpc(
        "finance", "CreateWalletType", pb.CreateWalletTypeRequest(name=name), timeout=WALLET_TYPE_TIMEOUT
    ).wallet_type


def create_invoice(
    student_id: str,
    title: str,
    due_on: str,
    lines: list,
    credit_cents: int,
    key: str,
    override_max_bill: bool = False,
) -> pb.Invoice:
    """``override_max_bill``: past the Flemish maximum bill knowingly (else 409 max_bill_exceeded)."""
    return rpc(
        "finance",
        "CreateInvoice",
        pb.CreateInvoiceRequest(
            student_id=student_id,
            title=title,
            due_on=due_on,
            lines=lines,
            credit_cents=credit_cents,
            idempotency_key=key,
            override_max_bill=override_max_bill,
        ),
    ).invoice


def issue_credit_note(invoice_id: str, reason: str, key: str) -> pb.IssueCreditNoteResponse:
    return rpc(
        "finance",
        "IssueCreditNote",
        pb.IssueCreditNoteRequest(invoice_id=invoice_id, reason=reason, idempotency_key=key),
    )


def record_sale(student_id: str, wallet_id: str, lines: list, key: str) -> pb.RecordSaleResponse:
    return rpc(
        "finance",
        "RecordSale",
        pb.RecordSaleRequest(student_id=student_id, wallet_id=wallet_id, lines=lines, idempotency_key=key),
        timeout=MONEY_TIMEOUT,
    )


def record_cash_top_up(wallet_id: str, amount_cents: int, label: str, key: str) -> pb.RecordTopUpResponse:
    """Cash handed over at the school's office credits the wallet."""
    return rpc(
        "finance",
        "RecordTopUp",
        pb.RecordTopUpRequest(
            wallet_id=wallet_id, amount_cents=amount_cents, method="cash", label=label, idempotency_key=key
        ),
        timeout=MONEY_TIMEOUT,
    )


# -- paying for real: online, by transfer -------------------------------------------------------------


def start_top_up(wallet_id: str, child_id: str, amount_cents: int, key: str) -> pb.StartPaymentResponse:
    """An online top-up ("Recharger" > "En ligne"): finance checks the amount (its range: an
    InvalidRequest on ``amount_cents``) and answers the provider's checkout URL."""
    return rpc(
        "finance",
        "StartTopUp",
        pb.StartTopUpRequest(
            wallet_id=wallet_id,
            amount_cents=amount_cents,
            method="online",
            idempotency_key=key,
            student_id=child_id,
        ),
        timeout=PROVIDER_TIMEOUT,
    )


def start_invoice_payment(invoice_id: str, child_id: str, key: str) -> pb.StartPaymentResponse:
    """Pay an invoice's open amount online ("Payer" > "En ligne")."""
    return rpc(
        "finance",
        "StartInvoicePayment",
        pb.StartInvoicePaymentRequest(
            invoice_id=invoice_id, method="online", idempotency_key=key, student_id=child_id
        ),
        timeout=PROVIDER_TIMEOUT,
    )


def qr_title() -> str:
    return _("Code QR du virement (EPC / SEPA)")


def wallet_transfer(wallet_id: str, child_id: str) -> pb.GetTransferResponse:
    return rpc(
        "finance",
        "GetWalletTransfer",
        pb.GetWalletTransferRequest(wallet_id=wallet_id, student_id=child_id, qr_title=qr_title()),
    )


def invoice_transfer(invoice_id: str, child_id: str) -> pb.GetTransferResponse:
    return rpc(
        "finance",
        "GetInvoiceTransfer",
        pb.GetInvoiceTransferRequest(invoice_id=invoice_id, student_id=child_id, qr_title=qr_title()),
    )


def get_payment(payment_id: str) -> pb.Payment:
    return rpc("finance", "GetPayment", pb.GetPaymentRequest(payment_id=payment_id[:36])).payment


def handle_payment_webhook(provider_payment_id: str) -> pb.HandlePaymentWebhookResponse:
    """The provider says a payment changed; finance fetches its status from the provider itself."""
    return rpc(
        "finance",
        "HandlePaymentWebhook",
        pb.HandlePaymentWebhookRequest(provider_payment_id=provider_payment_id),
        identity=False,
        timeout=current_app.config["WEBHOOK_TIMEOUT"],
    )


# -- bank statements and unmatched transfers (staff) ------------------------------------------------


def import_statement(content: bytes, filename: str, key: str = "") -> pb.StatementImport:
    return rpc(
        "finance",
        "ImportStatement",
        pb.ImportStatementRequest(content=content, filename=filename, idempotency_key=key),
        timeout=IMPORT_TIMEOUT,
    ).result


def list_statement_imports(limit: int) -> list[pb.StatementImport]:
    return list(rpc("finance", "ListStatementImports", pb.ListStatementImportsRequest(limit=limit)).imports)


def list_unmatched(status: str = "open") -> list[pb.UnmatchedTransfer]:
    return list(
        rpc("finance", "ListUnmatchedTransfers", pb.ListUnmatchedTransfersRequest(status=status)).transfers
    )


def assign(
    transfer_id: str, *, wallet_id: str = "", invoice_id: str = "", key: str = ""
) -> pb.AssignUnmatchedTransferResponse:
    return rpc(
        "finance",
        "AssignUnmatchedTransfer",
        pb.AssignUnmatchedTransferRequest(
            transfer_id=transfer_id, wallet_id=wallet_id, invoice_id=invoice_id, idempotency_key=key
        ),
    )


# -- the school's invoices (back office) ------------------------------------------------------------

# A whole school's batch is one transaction in finance: more than a page's deadline.
BULK_TIMEOUT = 120


def bulk_create_invoices(
    title: str,
    due_on: str,
    lines: list,
    class_names: list[str],
    student_ids: list[str],
    key: str,
    override_max_bill: bool = False,
) -> pb.BulkCreateInvoicesResponse:
    return rpc(
        "finance",
        "BulkCreateInvoices",
        pb.BulkCreateInvoicesRequest(
            title=title,
            due_on=due_on,
            lines=lines,
            class_names=class_names,
            student_ids=student_ids,
            idempotency_key=key,
            override_max_bill=override_max_bill,
        ),
        timeout=BULK_TIMEOUT,
    )


def list_school_invoices(
    *,
    status: str = "",
    student_id: str = "",
    overdue: bool = False,
    q: str = "",
    class_name: str = "",
    limit: int = 50,
    cursor: str = "",
) -> pb.ListSchoolInvoicesResponse:
    return rpc(
        "finance",
        "ListSchoolInvoices",
        pb.ListSchoolInvoicesRequest(
            status=status,
            student_id=student_id,
            overdue=overdue,
            q=q,
            class_name=class_name,
            limit=limit,
            cursor=cursor,
        ),
    )


def finance_summary() -> pb.GetFinanceSummaryResponse:
    return rpc("finance", "GetFinanceSummary", pb.GetFinanceSummaryRequest())
