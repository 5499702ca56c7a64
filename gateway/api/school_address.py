"""The school's postal address in ``PUT /api/v1/admin/settings`` (``address: {street, postal_code,
city}``, printed on the tax certificates 281.86): the body's object as finance's SchoolAddress, its
JSON shape and its schema. Finance checks it (all three or none, a Belgian postal code)."""

from __future__ import annotations

from typing import Any

from cartable.finance.v1 import finance_pb2 as pb
from kit.errors import InvalidRequest

FIELDS = {"street": 200, "postal_code": 10, "city": 100}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {name: {"type": "string", "maxLength": n} for name, n in FIELDS.items()},
    "description": "the school's postal address (tax certificates 281.86): street and number, a Belgian "
    "postal code (4 digits), city; every field empty clears it; left out: kept",
}


def address_field(data: dict) -> pb.SchoolAddress:
    value = data["address"]
    if value is None:
        return pb.SchoolAddress()  # null clears it
    if not isinstance(value, dict):
        raise InvalidRequest("address must be an object", fields={"address": "{street, postal_code, city}"})
    out = {}
    for name, max_len in FIELDS.items():
        text = value.get(name, "")
        if text is None:
            text = ""
        if not isinstance(text, str) or len(text) > max_len:
            raise InvalidRequest(
                f"address.{name} must be text",
                fields={f"address.{name}": f"text, at most {max_len} characters"},
            )
        out[name] = text
    return pb.SchoolAddress(**out)
