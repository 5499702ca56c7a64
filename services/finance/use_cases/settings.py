"""The school's payment settings: its bank account (for transfers and the EPC QR code), which top-up
methods parents may use, whether invoices may be paid from wallets and orders online."""

from __future__ import annotations

from cartable.finance.v1 import finance_pb2 as pb
from kit.epc import validate_bic, validate_iban
from kit.errors import InvalidRequest
from kit.identity import Identity
from kit.service import Runtime
from services.finance import db
from services.finance.domain.payments import TOP_UP_METHODS
from services.finance.use_cases import common


class PaymentSettings:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def get_settings(self, who: Identity) -> pb.GetSettingsResponse:
        """The school's payment settings (what is not set yet: empty, every method off)."""
        with self.rt.db.unit_of_work() as s:
            return pb.GetSettingsResponse(settings=common.settings(s, who.school_id))

    def update_settings(self, who: Identity, req: pb.UpdateSettingsRequest) -> pb.UpdateSettingsResponse:
        """Replace the school's payment settings: IBAN (checked), BIC, beneficiary, top-up methods,
        wallet payments of invoices, online payment of orders."""
        who.require_staff()
        new, errors = req.settings, {}
        try:
            iban = validate_iban(new.iban)
        except ValueError as e:
            errors["iban"] = str(e)
        try:
            bic = validate_bic(new.bic)
        except ValueError as e:
            errors["bic"] = str(e)
        beneficiary = " ".join(new.beneficiary.split())
        if not beneficiary or len(beneficiary) > 70:
            errors["beneficiary"] = "required, at most 70 characters"
        school_name = " ".join(new.school_name.split())
        if len(school_name) > 200:
            errors["school_name"] = "at most 200 characters"
        unknown = [m for m in new.top_up_methods if m not in TOP_UP_METHODS]
        if unknown:
            errors["top_up_methods"] = "each one of: " + ", ".join(TOP_UP_METHODS)
        if errors:
            raise InvalidRequest("the payment settings are not valid", fields=errors)
        values = {
            "iban": iban,
            "bic": bic,
            "beneficiary": beneficiary,
            "school_name": school_name,
            "top_up_methods": ",".join(m for m in TOP_UP_METHODS if m in new.top_up_methods),
            "internal_wallet_payments": new.internal_wallet_payments,
            "online_payment_for_orders": new.online_payment_for_orders,
            "updated_at": common.now(self.rt),
        }
        with self.rt.db.unit_of_work() as s:
            db.save_settings(s, who.school_id, values)
            return pb.UpdateSettingsResponse(settings=common.settings(s, who.school_id))
