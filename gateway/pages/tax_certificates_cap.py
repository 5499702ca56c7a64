"""The certificates page's facts of the year beyond the certificates (issue #19): the school's address
(a warning while the settings hold none: certificates may still be made, and are corrected once it is
given) and the year's legal maximum per day: the figure of Cartable's table, or the one the school
entered for a year the table does not know yet, or a form to enter it from the official source."""

from __future__ import annotations

import re
from typing import Any

from gateway.i18n import current_lang, eur

AMOUNT = re.compile(r"(\d{1,3})(?:[.,](\d{1,2}))?")
# Where the figure is published: the federal finance administration's page on childcare costs.
SOURCE_URLS = {"nl": "https://financien.belgium.be/nl", "fr": "https://finances.belgium.be/fr"}
SOURCE_URL_EN = "https://finance.belgium.be/en"


def parse_euros(text: str) -> int | None:
    """``16,90`` / ``16.9`` / ``17`` (a euro sign and spaces allowed) as cents; None when not an amount."""
    m = AMOUNT.fullmatch((text or "").replace("€", "").replace(" ", "").strip())
    if not m:
        return None
    return int(m.group(1)) * 100 + int((m.group(2) or "0").ljust(2, "0"))


def daily_cap_context(listing, cap_error: str = "") -> dict[str, Any]:
    return {
        "school_address": listing.school_address,
        "daily_cap": eur(listing.daily_cap_cents) if listing.daily_cap_cents else "",
        "daily_cap_source": listing.daily_cap_source,  # law | school | "" (unknown)
        "daily_cap_value": f"{listing.daily_cap_cents // 100},{listing.daily_cap_cents % 100:02d}"
        if listing.daily_cap_source == "school"
        else "",
        "cap_error": cap_error,
        "source_url": SOURCE_URLS.get(current_lang(), SOURCE_URL_EN),
    }
