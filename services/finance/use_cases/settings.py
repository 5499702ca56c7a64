"""The school's payment settings: its bank account (for transfers and the EPC QR code), which top-up
methods parents may use, whether invoices may be paid from wallets and orders online, its SEPA
creditor identifier and enterprise number, and when parents are reminded of overdue invoices.

Changing the IBAN (setting the first one too) needs the manager's password typed again: the gateway
has auth check ``current_password`` (``Reauthenticate``) and calls with the fresh identity token,
whose ``reauthenticated_at`` must be at most ``REAUTH_WINDOW_SECONDS`` old; otherwise Forbidden
``reauthentication_required`` and nothing is saved. A changed IBAN is announced
(``finance.settings.iban_changed.v1``, masked) so that every manager of the school is mailed.
"""

from __future__ import annotations

from typing import Any

from cartable.finance.v1 import finance_pb2 as pb
from kit import audit
from kit.epc import validate_bic, validate_iban
from kit.errors import InvalidRequest
from kit.identity import Identity
from kit.service import Runtime
from services.finance import db, events, views
from services.finance.domain.payments import TOP_UP_METHODS
from services.finance.domain.school_settings import (
    REAUTH_WINDOW_SECONDS,
    Reminders,
    address_errors,
    clean_address,
    iban_changes,
    last4,
    mask_iban,
    reminder_errors,
    validate_creditor_id,
    validate_enterprise_number,
)
from services.finance.use_cases import common


def _validated(new: pb.Settings) -> dict[str, Any]:
    """The columns to write from ``new`` (those it leaves unset are absent: kept as stored), or
    InvalidRequest naming every bad field."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    try:
        values["iban"] = validate_iban(new.iban)
    except ValueError as e:
        errors["iban"] = str(e)
    try:
        values["bic"] = validate_bic(new.bic)
    except ValueError as e:
        errors["bic"] = str(e)
    values["beneficiary"] = " ".join(new.beneficiary.split())
    if not values["beneficiary"] or len(values["beneficiary"]) > 70:
        errors["beneficiary"] = "required, at most 70 characters"
    values["school_name"] = " ".join(new.school_name.split())
    if len(values["school_name"]) > 200:
        errors["school_name"] = "at most 200 characters"
    unknown = [m for m in new.top_up_methods if m not in TOP_UP_METHODS]
    if unknown:
        errors["top_up_methods"] = "each one of: " + ", ".join(TOP_UP_METHODS)
    values["top_up_methods"] = ",".join(m for m in TOP_UP_METHODS if m in new.top_up_methods)
    values["internal_wallet_payments"] = new.internal_wallet_payments
    values["online_payment_for_orders"] = new.online_payment_for_orders
    if new.HasField("creditor_id"):
        try:
            values["creditor_id"] = validate_creditor_id(new.creditor_id)
        except ValueError as e:
            errors["creditor_id"] = str(e)
    if new.HasField("enterprise_number"):
        try:
            values["enterprise_number"] = validate_enterprise_number(new.enterprise_number)
        except ValueError as e:
            errors["enterprise_number"] = str(e)
    if new.HasField("address"):
        street, postal_code, city = clean_address(
            new.address.street, new.address.postal_code, new.address.city
        )
        errors.update({f"address.{k}": v for k, v in address_errors(street, postal_code, city).items()})
        values.update(address_street=street, address_postal_code=postal_code, address_city=city)
    if new.HasField("reminders"):
        r = new.reminders
        values["reminders_enabled"] = r.enabled
        if r.enabled or (r.first_after_days, r.repeat_every_days, r.max_count) != (0, 0, 0):
            given = Reminders(r.enabled, r.first_after_days, r.repeat_every_days, r.max_count)
            errors.update({f"reminders.{k}": v for k, v in reminder_errors(given).items()})
            values.update(
                reminders_first_after_days=r.first_after_days,
                reminders_repeat_every_days=r.repeat_every_days,
                reminders_max_count=r.max_count,
            )
    if errors:
        raise InvalidRequest("the payment settings are not valid", fields=errors)
    return values


def _changes(stored, values: dict[str, Any]) -> str:
    """The audit detail of a save: which settings it changed (their names only: no IBAN in clear)."""
    names = [
        k
        for k, v in values.items()
        if k != "updated_at" and (stored is None or getattr(stored, k, None) != v)
    ]
    return "changed: " + (", ".join(names) or "nothing")


class PaymentSettings:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def get_settings(self, who: Identity) -> pb.GetSettingsResponse:
        """The school's payment settings (what is not set yet: empty, every method off)."""
        with self.rt.db.unit_of_work() as s:
            return pb.GetSettingsResponse(settings=common.settings(s, who.school_id))

    def update_settings(self, who: Identity, req: pb.UpdateSettingsRequest) -> pb.UpdateSettingsResponse:
        """Replace the school's payment settings: IBAN (checked; changing it needs a reauthenticated
        identity), BIC, beneficiary, top-up methods, wallet payments of invoices, online payment of
        orders, and, when given, the creditor identifier, the enterprise number and the reminders."""
        who.require_staff()
        values = _validated(req.settings)
        at = common.now(self.rt)
        values["updated_at"] = at
        with self.rt.db.unit_of_work() as s:
            stored = db.settings_row(s, who.school_id, lock=True)
            old_iban = stored.iban if stored is not None else ""
            changed = iban_changes(old_iban, values["iban"])
            if changed:
                who.require_reauthenticated(REAUTH_WINDOW_SECONDS, now=at.timestamp())
            db.save_settings(s, who.school_id, values)
            saved = common.settings(s, who.school_id)
            audit.record(
                self.rt,
                s,
                who,
                "finance.settings.updated",
                "school_settings",
                who.school_id,
                _changes(stored, values),
            )
            if changed:
                audit.record(
                    self.rt,
                    s,
                    who,
                    "finance.settings.iban_changed",
                    "school_settings",
                    who.school_id,
                    f"{mask_iban(old_iban) or 'none'} -> {mask_iban(saved.iban)}",
                )
                events.record(
                    self.rt,
                    s,
                    who.school_id,
                    events.iban_changed(
                        school_id=who.school_id,
                        account_id=who.account_id,
                        old_iban_masked=mask_iban(old_iban),
                        new_iban_masked=mask_iban(saved.iban),
                        old_iban_last4=last4(old_iban),
                        new_iban_last4=last4(saved.iban),
                        changed_at=views.rfc3339(at),
                        school_name=saved.school_name or saved.beneficiary,
                    ),
                )
            return pb.UpdateSettingsResponse(settings=saved)
