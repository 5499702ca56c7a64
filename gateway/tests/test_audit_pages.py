"""The audit log's staff page (/gestion/journal), in-process against a fake auth: a table of entries
newest first (when on the school's clock, who, a sentence for the action in fr/nl/en or its code, what
it concerns, the detail), "Plus ancien" following auth's cursor without script, a stale cursor, the
empty log, staff only, the navigation's link; and the page's strings translated."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from cartable.auth.v1 import auth_pb2 as pb
from gateway.pages.audit import ACTIONS, OBJECTS
from gateway.tests.test_audit_api import entry, paged
from kit.errors import InvalidRequest

GATEWAY = Path(__file__).resolve().parents[1]


def text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


def cells(page: str) -> list[list[str]]:
    """Each body row's cells as a reader sees them (tags dropped, spaces joined)."""
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S)
    assert body, "no table body"
    rows = re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)
    return [
        [" ".join(re.sub(r"<[^>]+>", "", c).split()) for c in re.findall(r"<td>(.*?)</td>", r, re.S)]
        for r in rows
    ]


@pytest.fixture
def staff(client, fakes):
    signed = fakes.staff()
    client.set_cookie("cartable_session", signed.token)
    return signed


def answer(fakes, *entries: pb.AuditEntry, next_cursor: str = "") -> None:
    fakes.on(
        "auth", "ListAuditEntries", pb.ListAuditEntriesResponse(entries=entries, next_cursor=next_cursor)
    )


IBAN = entry(
    3,
    "finance.settings.iban_changed",
    at="2026-03-29T01:30:00+00:00",  # just after Brussels moved to summer time: 03:30 there
    object_type="school_settings",
    object_id="school-1",
    detail="BE** **** **** 7034 -> BE** **** **** 6769",
)
DISABLED = entry(
    2, "auth.account.disabled", at="2026-01-15T13:05:00Z", object_type="account", object_id="p-7", detail=""
)
UNKNOWN = entry(1, "orders.period.reopened", object_type="order_window", actor_id="", actor_name="")


def test_the_journal_lists_entries_newest_first_in_a_table(client, fakes, staff):
    answer(fakes, IBAN, DISABLED, UNKNOWN)
    resp = client.get("/gestion/journal")
    assert resp.status_code == 200
    page = text(resp)
    assert "<h1>Journal des actions</h1>" in page
    assert re.search(
        r"<caption[^>]*>Dernières actions, de la plus récente à la plus ancienne</caption>", page
    )
    assert re.findall(r'<th scope="col">([^<]+)</th>', page) == [
        "Quand",
        "Qui",
        "Action",
        "Concerne",
        "Détail",
    ]
    assert cells(page) == [
        [
            "Quand : 29 mars 2026 à 03:30",
            "Qui : Claire Direction",
            "Action : a changé l'IBAN",
            "Concerne : Paramètres de l'école",  # the school's own id left out
            "Détail : BE** **** **** 7034 -> BE** **** **** 6769",
        ],
        [
            "Quand : 15 janvier 2026 à 14:05",
            "Qui : Claire Direction",
            "Action : a désactivé un compte",
            "Concerne : Compte p-7",
            "Détail : —",
        ],
        [
            "Quand : 11 mars 2026 à 10:01",
            "Qui : Système (commande d'exploitation)",
            "Action : orders.period.reopened",  # not named yet: its code
            "Concerne : order_window inv-1",
            f"Détail : {UNKNOWN.detail}",
        ],
    ]
    # the machine-readable instant beside the reader's
    assert '<time datetime="2026-03-29T01:30:00+00:00">' in page
    # the code of an unknown action may wrap at its dots on a phone
    assert "orders.<wbr>period.<wbr>reopened" in resp.get_data(as_text=True)
    # the first page: no way back, no older page
    assert "Revenir aux actions les plus récentes" not in page and "Plus ancien" not in page
    assert [(r.limit, r.cursor) for r in fakes.requests("auth", "ListAuditEntries")] == [(50, "")]


def test_an_actor_auth_no_longer_names_is_an_unknown_account(client, fakes, staff):
    answer(fakes, entry(1, actor_id="gone", actor_name=""))
    assert cells(text(client.get("/gestion/journal")))[0][1] == "Qui : Compte inconnu"


def test_older_pages_follow_auths_cursor_without_script(client, fakes, staff):
    import gateway.tests.test_audit_api as api_tests

    fakes.on("auth", "ListAuditEntries", paged)
    many = [entry(i) for i in range(120, 0, -1)]
    old, api_tests.ENTRIES = api_tests.ENTRIES, many
    try:
        first = text(client.get("/gestion/journal"))
        assert len(cells(first)) == 50
        nav = re.search(r'<nav class="pager" aria-label="Pages du journal">(.*?)</nav>', first, re.S)
        assert nav, "no pager"
        link = re.search(r'<a href="([^"]+)" rel="next">Plus ancien</a>', nav.group(1))
        assert link and link.group(1) == "/gestion/journal?cursor=at-50"

        second = text(client.get(link.group(1)))
        assert re.search(r"<caption[^>]*>Actions plus anciennes", second)
        assert '<a href="/gestion/journal">Revenir aux actions les plus récentes</a>' in second
        assert len(cells(second)) == 50
        last = text(client.get(re.search(r'<a href="([^"]+)" rel="next">', second).group(1)))
        assert len(cells(last)) == 20 and 'rel="next"' not in last
        assert [r.cursor for r in fakes.requests("auth", "ListAuditEntries")] == ["", "at-50", "at-100"]
    finally:
        api_tests.ENTRIES = old


def test_a_stale_cursor_goes_back_to_the_latest_with_a_message(client, fakes, staff):
    def refuse_cursor(req):
        if req.cursor:
            raise InvalidRequest("invalid cursor", fields={"cursor": "use next_cursor as given"})
        return pb.ListAuditEntriesResponse(entries=[IBAN])

    fakes.on("auth", "ListAuditEntries", refuse_cursor)
    resp = client.get("/gestion/journal?cursor=garbled")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/gestion/journal")
    page = text(client.get("/gestion/journal"))
    assert "Ce lien ne mène plus à une page du journal : voici les actions les plus récentes." in page
    assert len(cells(page)) == 1


def test_the_empty_log_says_so(client, fakes, staff):
    answer(fakes)
    page = text(client.get("/gestion/journal"))
    assert "Aucune action n'est encore inscrite au journal." in page and "<table" not in page
    page = text(client.get("/gestion/journal?cursor=at-50"))
    assert "Aucune action plus ancienne." in page


@pytest.mark.parametrize(
    ("lang", "heading", "what", "when"),
    [
        ("nl", "Logboek van de acties", "heeft het IBAN gewijzigd", "29 maart 2026 om 03:30"),
        ("en", "Action log", "changed the IBAN", "29 March 2026 at 03:30"),
    ],
)
def test_the_journal_in_dutch_and_english(client, fakes, staff, lang, heading, what, when):
    answer(fakes, IBAN)
    page = text(client.get(f"/gestion/journal?lang={lang}"))
    assert f"<h1>{heading}</h1>" in page
    row = cells(page)[0]
    assert what in row[2] and when in row[0]
    assert f'<html lang="{lang}">' in page


def test_a_parent_cannot_see_the_journal(client, fakes):
    parent = fakes.parent()
    client.set_cookie("cartable_session", parent.token)
    assert client.get("/gestion/journal").status_code == 403
    assert fakes.requests("auth", "ListAuditEntries") == []


def test_signed_out_the_journal_asks_to_sign_in(client, fakes):
    resp = client.get("/gestion/journal")
    assert resp.status_code in (302, 303) and "/connexion" in resp.headers["Location"]


def test_the_staff_navigation_links_to_the_journal(client, fakes, staff):
    answer(fakes, IBAN)
    page = text(client.get("/gestion/journal"))
    assert '<a href="/gestion/journal" aria-current="page">Journal</a>' in page


# -- the page's strings in Dutch and English --------------------------------------------------------

SOURCES = [GATEWAY / "pages" / "audit.py", *sorted((GATEWAY / "templates" / "audit").glob("*.html"))]
KEYWORDS = {"_": None, "_l": None, "gettext": None, "ngettext": (1, 2)}


def _msgids() -> set[str]:
    found: set[str] = {"Journal"}  # the navigation's link, in staff_base.html
    for path in SOURCES:
        method = "python" if path.suffix == ".py" else "jinja2.ext:babel_extract"
        for _line, message, _c, _ctx in extract_from_file(method, str(path), keywords=KEYWORDS):
            found.add(message if isinstance(message, str) else message[0])
    return found


def _catalog(area: str, lang: str) -> dict[str, str]:
    path = GATEWAY / "translations" / area / lang / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        return {
            m.id: m.string for m in read_po(f) if isinstance(m.id, str) and m.id and isinstance(m.string, str)
        }


def test_every_action_and_object_known_is_a_source_string():
    assert len(ACTIONS) >= 38 and all(re.fullmatch(r"[a-z_]+(\.[a-z_]+){2,}", a) for a in ACTIONS)
    assert {str(v) for v in ACTIONS.values()} | {str(v) for v in OBJECTS.values()} <= _msgids()


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_string_of_the_page_is_translated(lang):
    mine = _catalog("audit", lang)
    assert sorted(m for m in _msgids() if not mine.get(m)) == []
    wrong = [
        (m, s)
        for m, s in mine.items()
        if set(re.findall(r"%\(\w+\)[ds]", m)) != set(re.findall(r"%\(\w+\)[ds]", s))
    ]
    assert wrong == []


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_string_other_areas_translate_too_reads_the_same(lang):
    """The catalogs are merged and a later area's translation wins: a string this page shares with
    another area must mean the same there, or the page would show the other's words."""
    mine = _catalog("audit", lang)
    merged: dict[str, str] = {}
    for po in sorted(GATEWAY.glob(f"translations/*/{lang}/LC_MESSAGES/messages.po")):
        merged.update({m: s for m, s in _catalog(po.parts[-4], lang).items() if s})
    assert sorted((m, merged[m], s) for m, s in mine.items() if merged[m] != s) == []
