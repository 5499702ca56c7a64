"""The pages' catalogs (one per area, gateway/translations/<area>/) are merged into one at run time,
the later area winning a message both translate: a French text translated two ways made one area's
pages speak another's words (a new area's "De hele school" replaced the events page's "Hele school").
Each French text has one translation per language across every area."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parents[1] / "translations"


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_french_text_has_one_translation_in_every_area(lang):
    found: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for po in sorted(TRANSLATIONS.glob(f"*/{lang}/LC_MESSAGES/messages.po")):
        with po.open("rb") as fh:
            for message in read_po(fh):
                if message.id and message.string:
                    found[str(message.id)][str(message.string)].append(po.parts[-4])
    disagreeing = {msgid: dict(ways) for msgid, ways in found.items() if len(ways) > 1}
    assert disagreeing == {}
