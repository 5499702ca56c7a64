"""FinanceService servicer: proto in, use case, proto out."""

from cartable.finance.v1 import finance_pb2_grpc as pb_grpc
from kit.identity import current
from services.finance.service import FinanceService


class Servicer(pb_grpc.FinanceServiceServicer):
    def __init__(self, svc: FinanceService) -> None:
        self.svc = svc

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
        return self.svc.create_order_invoice(current(), request)

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

