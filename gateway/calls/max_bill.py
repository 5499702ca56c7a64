"""The Flemish maximum bill (issue #19): finance's MaxBillService (served beside FinanceService) for
the JSON API (``gateway.api.max_bill``) and the pages (``gateway.pages.max_bill``); and what a
409 ``max_bill_exceeded`` says, read from finance's error fields."""

from __future__ import annotations

from typing import Any

from cartable.finance.v1 import max_bill_pb2 as pb
from gateway.clients import rpc
from kit.errors import AppError

EXCEEDED = "max_bill_exceeded"
CAPS = ("strict", "less_strict")
LEVELS = ("kleuter", "lager")


def list_caps(school_year: str = "") -> list[pb.MaxBillCaps]:
    return list(rpc("max_bill", "ListMaxBillCaps", pb.ListMaxBillCapsRequest(school_year=school_year)).caps)


def set_caps(school_year: str, level: str, strict_cents: int, less_strict_cents: int) -> pb.MaxBillCaps:
    caps = pb.MaxBillCaps(
        school_year=school_year, level=level, strict_cents=strict_cents, less_strict_cents=less_strict_cents
    )
    return rpc("max_bill", "SetMaxBillCaps", pb.SetMaxBillCapsRequest(caps=caps)).caps


def get_max_bill(student_id: str, school_year: str = "") -> pb.GetMaxBillResponse:
    return rpc("max_bill", "GetMaxBill", pb.GetMaxBillRequest(student_id=student_id, school_year=school_year))


def exceeded_details(err: AppError) -> dict[str, Any] | None:
    """The cap passed, as the 409's ``details``: cap, cap_cents, used_cents, left_cents, adding_cents,
    student_id, school_year, level; None for another error."""
    if err.code != EXCEEDED:
        return None
    f = err.fields or {}

    def cents(name: str) -> int | None:
        value = f.get(name, "")
        return int(value) if value.lstrip("-").isdigit() else None

    return {
        "cap": f.get("cap", ""),
        "cap_cents": cents("cap_cents"),
        "used_cents": cents("used_cents"),
        "left_cents": cents("left_cents"),
        "adding_cents": cents("adding_cents"),
        "student_id": f.get("student_id", ""),
        "school_year": f.get("school_year", ""),
        "level": f.get("level", ""),
    }
