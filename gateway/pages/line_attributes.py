"""The staff invoice form's line attributes (issue #19): childcare and its days (tax certificate
281.86), optional (FWB periodic statements) and the Flemish maximum bill a line counts towards; read
from the form's row ``i`` (``childcare_i``, ``days_i``, ``optional_i``, ``max_bill_i``), turned into
``InvoiceLineInput`` fields, and finance's refusals of them put back on the row's fields."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

MAX_BILL_LABELS = {
    "": _l("Aucun"),
    "strict": _l("Strict (scherpe maximumfactuur)"),
    "less_strict": _l("Moins strict (minder scherpe maximumfactuur)"),
}
_LINE_FIELD = re.compile(r"^lines\[(\d+)\]\.(days|max_bill|childcare|optional)$")


def read(form, i: int, errors: dict[str, str]) -> dict[str, Any]:
    """Row ``i``'s attributes as typed (``days`` text kept to show again) and ``days_n``."""
    row: dict[str, Any] = {
        "childcare": form.get(f"childcare_{i}") == "1",
        "optional": form.get(f"optional_{i}") == "1",
        "max_bill": (form.get(f"max_bill_{i}") or "")[:20],
        "days": (form.get(f"days_{i}") or "").strip()[:5],
        "days_n": 0,
    }
    if row["max_bill"] not in MAX_BILL_LABELS:
        errors[f"max_bill_{i}"] = _("Choisissez un maximum à facturer de la liste.")
    if row["days"]:
        if not row["days"].isdigit() or not 0 <= int(row["days"]) <= 366:
            errors[f"days_{i}"] = _("Un nombre de jours de 0 à 366.")
        elif int(row["days"]) and not row["childcare"]:
            errors[f"days_{i}"] = _("Les jours ne se disent que d'une ligne de garde d'enfants.")
        else:
            row["days_n"] = int(row["days"])
    return row


def message_fields(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "childcare": bool(row.get("childcare")),
        "days": int(row.get("days_n") or 0),
        "optional": bool(row.get("optional")),
        "max_bill": row.get("max_bill") or "",
    }


def field_errors(fields: dict[str, str], lines: list[dict]) -> dict[str, str]:
    """Finance's ``lines[k].days`` / ``lines[k].max_bill`` on the form's row fields."""
    out: dict[str, str] = {}
    for name in fields:
        m = _LINE_FIELD.match(name)
        if m and int(m.group(1)) < len(lines):
            index = lines[int(m.group(1))]["index"]
            out[f"{m.group(2)}_{index}"] = (
                _("Un nombre de jours de 0 à 366, sur une ligne de garde d'enfants.")
                if m.group(2) == "days"
                else _("Choisissez un maximum à facturer de la liste.")
            )
    return out
