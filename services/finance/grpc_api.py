"""FinanceService servicer: proto in, use case, proto out."""

from cartable.finance.v1 import finance_pb2 as pb
from cartable.finance.v1 import finance_pb2_grpc as pb_grpc
from kit.identity import current
from services.finance.service import FinanceService


def wallet_pb(w) -> pb.Wallet:
    return pb.Wallet(
        id=w.id,
        student_id=w.student_id,
        name=w.name,
        balance_cents=w.balance_cents,
        structured_communication=w.structured_communication,
    )


class Servicer(pb_grpc.FinanceServiceServicer):
    def __init__(self, svc: FinanceService) -> None:
        self.svc = svc

    def ListWallets(self, request, context):
        return pb.ListWalletsResponse(wallets=[wallet_pb(w) for w in self.svc.list_wallets(current(), request.student_id)])
