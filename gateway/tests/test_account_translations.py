"""Every French string of the account, security, people and staff pages has its Dutch and English
translation (French is the source language; a string left out would show in French to every reader)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

GATEWAY = Path(__file__).resolve().parents[1]
SOURCES = [
    *(
        GATEWAY / "pages" / f
        for f in ("account.py", "account_messages.py", "security.py", "people.py", "staff.py")
    ),
    GATEWAY / "templates" / "staff_base.html",
    *sorted((GATEWAY / "templates" / "account").glob("*.html")),
    *sorted((GATEWAY / "templates" / "people").glob("*.html")),
    *sorted((GATEWAY / "templates" / "staff").glob("*.html")),
]
KEYWORDS = {"_": None, "_l": None, "gettext": None, "ngettext": (1, 2)}


def _msgids() -> set[str]:
    found: set[str] = set()
    for path in SOURCES:
        method = "python" if path.suffix == ".py" else "jinja2.ext:babel_extract"
        for _line, message, _comments, _context in extract_from_file(method, str(path), keywords=KEYWORDS):
            found.add(message if isinstance(message, str) else message[0])
    return found


def _translated(lang: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for po in sorted(GATEWAY.glob(f"translations/*/{lang}/LC_MESSAGES/messages.po")):
        with po.open("rb") as f:
            for m in read_po(f):
                if m.id:
                    key = m.id if isinstance(m.id, str) else m.id[0]
                    strings = [m.string] if isinstance(m.string, str) else list(m.string or ())
                    if all(strings):
                        out[key] = strings
    return out


def test_the_sources_are_found():
    assert len(_msgids()) > 150


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_string_is_translated(lang):
    translated = _translated(lang)
    missing = sorted(m for m in _msgids() if m not in translated)
    assert missing == []


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_placeholders_are_kept(lang):
    ids = _msgids()
    wrong = []
    for msgid, strings in _translated(lang).items():
        if msgid in ids:
            wanted = set(re.findall(r"%\(\w+\)[ds]", msgid))
            wrong += [(msgid, s) for s in strings if set(re.findall(r"%\(\w+\)[ds]", s)) != wanted]
    assert wrong == []
