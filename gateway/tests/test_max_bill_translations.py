"""Every French string of the maximum bill's pages and the invoice form's line attributes (issue #19)
has its Dutch and English translation, placeholders kept."""

from __future__ import annotations

import re

import pytest
from babel.messages.extract import extract_from_file

from gateway.tests.test_account_translations import GATEWAY, KEYWORDS, _translated

SOURCES = [
    GATEWAY / "pages" / "max_bill.py",
    GATEWAY / "pages" / "line_attributes.py",
    *sorted((GATEWAY / "templates" / "max_bill").glob("*.html")),
    GATEWAY / "templates" / "invoices_staff" / "bulk.html",
    GATEWAY / "templates" / "invoices_staff" / "confirm.html",
    GATEWAY / "templates" / "settings_staff" / "settings.html",
]


def _msgids() -> set[str]:
    found: set[str] = set()
    for path in SOURCES:
        method = "python" if path.suffix == ".py" else "jinja2.ext:babel_extract"
        for _line, message, _comments, _context in extract_from_file(method, str(path), keywords=KEYWORDS):
            found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_string_is_translated_placeholders_kept(lang):
    translated = _translated(lang)
    assert sorted(m for m in _msgids() if m not in translated) == []
    wrong = []
    for msgid in _msgids():
        wanted = set(re.findall(r"%\(\w+\)[ds]", msgid))
        wrong += [(msgid, s) for s in translated[msgid] if set(re.findall(r"%\(\w+\)[ds]", s)) != wanted]
    assert wrong == []
