"""FinanceService servicer: proto in, use case, proto out."""

from cartable.finance.v1 import finance_pb2_grpc as pb_grpc
from kit.identity import current
from services.finance.bank import BankStatements
from services.finance.payments import PaymentsService
from services.finance.service import FinanceService


class Servicer(pb_grpc.FinanceServiceServicer):
    def __init__(
        self, svc: FinanceService, payments: PaymentsService | None = None, bank: BankStatements | None = None
    ) -> None:
        self.svc = svc
        self.payments = payments or PaymentsService(svc.rt)
        self.bank = bank or BankStatements(svc.rt)

    def ListWallets(self, request, context):
        return self.svc.list_wallets(current(), request.student_id)

    def OpenStudentWallets(self, request, context):
        return self.svc.open_student_wallets(current(), request)

    def CreateWalletType(self, request, context):
        return self.svc.create_wallet_type(current(), request)

    def ListWalletTypes(self, request, context):
        return self.svc.list_wallet_types(current())

    def GetSettings(self, request, context):
        return self.svc.get_settings(current())

    def UpdateSettings(self, request, context):
        return self.svc.update_settings(current(), request)

    def CreateInvoice(self, request, context):
        return self.svc.create_invoice(current(), request)

    def CreateOrderInvoice(self, request, context):
        # the invoice, and its checkout when the school takes orders online (payments.py)
        return self.payments.create_order_invoice(current(), request)

    def ListInvoices(self, request, context):
        return self.svc.list_invoices(current(), request.student_id, request.status)

    def GetInvoice(self, request, context):
        return self.svc.get_invoice(current(), request.invoice_id)

    def PayInvoice(self, request, context):
        return self.svc.pay_invoice(current(), request)

    def IssueCreditNote(self, request, context):
        return self.svc.issue_credit_note(current(), request)

    def RecordTopUp(self, request, context):
        return self.svc.record_top_up(current(), request)

    def RecordSale(self, request, context):
        return self.svc.record_sale(current(), request)

    def ListOperations(self, request, context):
        return self.svc.list_operations(current(), request)

    def ListSales(self, request, context):
        return self.svc.list_sales(current(), request)

    # -- payments: online, transfers, bank statements (payments.py, bank.py) ------------------------

    def StartTopUp(self, request, context):
        return self.payments.start_top_up(current(), request)

    def StartInvoicePayment(self, request, context):
        return self.payments.start_invoice_payment(current(), request)

    def HandlePaymentWebhook(self, request, context):
        # public (no identity): the id alone proves nothing, the status is fetched from the provider
        return self.payments.handle_webhook(request.provider_payment_id)

    def GetPayment(self, request, context):
        return self.payments.get_payment(current(), request.payment_id)

    def GetWalletTransfer(self, request, context):
        return self.payments.get_wallet_transfer(current(), request)

    def GetInvoiceTransfer(self, request, context):
        return self.payments.get_invoice_transfer(current(), request)

    def ImportStatement(self, request, context):
        return self.bank.import_statement(current(), request)

    def ListStatementImports(self, request, context):
        return self.bank.list_imports(current(), request)

    def ListUnmatchedTransfers(self, request, context):
        return self.payments.list_unmatched(current(), request)

    def AssignUnmatchedTransfer(self, request, context):
        return self.payments.assign_unmatched(current(), request)
