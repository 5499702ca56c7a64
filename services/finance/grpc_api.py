"""FinanceService servicer: the caller's identity and the request to a use case, its answer back."""

from __future__ import annotations

from cartable.finance.v1 import finance_pb2_grpc as pb_grpc
from kit.identity import current
from services.finance.use_cases.bulk_invoices import BulkInvoices
from services.finance.use_cases.invoices import Invoices
from services.finance.use_cases.online_payments import OnlinePayments
from services.finance.use_cases.operations import Operations
from services.finance.use_cases.school_invoices import SchoolInvoices
from services.finance.use_cases.settings import PaymentSettings
from services.finance.use_cases.statements import Statements
from services.finance.use_cases.transfers import Transfers
from services.finance.use_cases.wallet_payments import WalletPayments
from services.finance.use_cases.wallets import Wallets
from services.finance.use_cases.webhooks import PaymentWebhooks


class Servicer(pb_grpc.FinanceServiceServicer):
    def __init__(
        self,
        *,
        wallets: Wallets,
        settings: PaymentSettings,
        invoices: Invoices,
        wallet_payments: WalletPayments,
        online_payments: OnlinePayments,
        webhooks: PaymentWebhooks,
        transfers: Transfers,
        statements: Statements,
        operations: Operations,
        bulk_invoices: BulkInvoices,
        school_invoices: SchoolInvoices,
    ) -> None:
        self.wallets = wallets
        self.settings = settings
        self.invoices = invoices
        self.wallet_payments = wallet_payments
        self.online_payments = online_payments
        self.webhooks = webhooks
        self.transfers = transfers
        self.statements = statements
        self.operations = operations
        self.bulk_invoices = bulk_invoices
        self.school_invoices = school_invoices

    # -- wallets and settings (use_cases/wallets.py, settings.py) -----------------------------------

    def ListWallets(self, request, context):
        return self.wallets.list_wallets(current(), request.student_id)

    def OpenStudentWallets(self, request, context):
        return self.wallets.open_student_wallets(current(), request)

    def CreateWalletType(self, request, context):
        return self.wallets.create_wallet_type(current(), request)

    def ListWalletTypes(self, request, context):
        return self.wallets.list_wallet_types(current())

    def GetSettings(self, request, context):
        return self.settings.get_settings(current())

    def UpdateSettings(self, request, context):
        return self.settings.update_settings(current(), request)

    # -- invoices (use_cases/invoices.py, wallet_payments.py) ----------------------------------------

    def CreateInvoice(self, request, context):
        return self.invoices.create_invoice(current(), request)

    def CreateOrderInvoice(self, request, context):
        # the invoice, and its checkout when the school takes orders online
        return self.online_payments.create_order_invoice(current(), request)

    def ListInvoices(self, request, context):
        return self.invoices.list_invoices(current(), request.student_id, request.status)

    def GetInvoice(self, request, context):
        return self.invoices.get_invoice(current(), request.invoice_id)

    def PayInvoice(self, request, context):
        return self.wallet_payments.pay_invoice(current(), request)

    def IssueCreditNote(self, request, context):
        return self.invoices.issue_credit_note(current(), request)

    # -- wallet money and reports (use_cases/operations.py) ------------------------------------------

    def RecordTopUp(self, request, context):
        return self.operations.record_top_up(current(), request)

    def RecordSale(self, request, context):
        return self.operations.record_sale(current(), request)

    def ListOperations(self, request, context):
        return self.operations.list_operations(current(), request)

    def ListSales(self, request, context):
        return self.operations.list_sales(current(), request)

    # -- online payments (use_cases/online_payments.py, webhooks.py) ---------------------------------

    def StartTopUp(self, request, context):
        return self.online_payments.start_top_up(current(), request)

    def StartInvoicePayment(self, request, context):
        return self.online_payments.start_invoice_payment(current(), request)

    def HandlePaymentWebhook(self, request, context):
        # public (no identity): the id alone proves nothing, the status is fetched from the provider
        return self.webhooks.handle_webhook(request.provider_payment_id)

    def GetPayment(self, request, context):
        return self.online_payments.get_payment(current(), request.payment_id)

    # -- transfers and bank statements (use_cases/transfers.py, statements.py) -----------------------

    def GetWalletTransfer(self, request, context):
        return self.transfers.get_wallet_transfer(current(), request)

    def GetInvoiceTransfer(self, request, context):
        return self.transfers.get_invoice_transfer(current(), request)

    def ImportStatement(self, request, context):
        return self.statements.import_statement(current(), request)

    def ListStatementImports(self, request, context):
        return self.statements.list_imports(current(), request)

    def ListUnmatchedTransfers(self, request, context):
        return self.transfers.list_unmatched(current(), request)

    def AssignUnmatchedTransfer(self, request, context):
        return self.transfers.assign_unmatched(current(), request)

    # -- the school's invoices (use_cases/bulk_invoices.py, school_invoices.py) -----------------------

    def BulkCreateInvoices(self, request, context):
        return self.bulk_invoices.bulk_create_invoices(current(), request)

    def ListSchoolInvoices(self, request, context):
        return self.school_invoices.list_school_invoices(current(), request)

    def GetFinanceSummary(self, request, context):
        return self.school_invoices.get_finance_summary(current())
