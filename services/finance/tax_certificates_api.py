"""TaxCertificateService servicer (childcare tax certificates 281.86): the caller's identity and the
request to ``use_cases/tax_certificates.py``, its answer back. Served beside FinanceService."""

from __future__ import annotations

from cartable.finance.v1 import tax_certificates_pb2_grpc as pb_grpc
from kit.grpcserver import Registration
from kit.identity import current
from kit.service import Runtime
from services.finance.use_cases.tax_certificates import TaxCertificates

SERVICE = "cartable.finance.v1.TaxCertificateService"


class TaxCertificateServicer(pb_grpc.TaxCertificateServiceServicer):
    def __init__(self, certificates: TaxCertificates) -> None:
        self.certificates = certificates

    def ListChildcareStudents(self, request, context):
        return self.certificates.list_childcare_students(current(), request.year)

    def GenerateTaxCertificates(self, request, context):
        return self.certificates.generate(current(), request)

    def ListTaxCertificates(self, request, context):
        return self.certificates.list_certificates(current(), request.year)

    def SetDailyCap(self, request, context):
        return self.certificates.set_daily_cap(current(), request)


def registration(rt: Runtime) -> Registration:
    """The TaxCertificateService on the finance server (``app.registrations``)."""
    return Registration(
        pb_grpc.add_TaxCertificateServiceServicer_to_server,
        TaxCertificateServicer(TaxCertificates(rt)),
        SERVICE,
    )
