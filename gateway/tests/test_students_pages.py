"""The staff pages of the school's students, in-process against a fake auth and finance: the list
(search, class, present or left, pages), a student's page (facts, wallets, parents, invoices), the
edit form (only what changed is sent, errors tied to their fields), the leaving date (confirmed), the
year's turn (a confirmation with the count first), and every string of these pages in nl and en."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from cartable.auth.v1 import auth_pb2 as pb
from cartable.finance.v1 import finance_pb2 as fpb
from gateway.tests.conftest import form_fields, not_found
from gateway.tests.test_people_api import parent
from kit.errors import Conflict, InvalidRequest, Unavailable

ROSTER = [
    pb.Student(
        id=f"s-{i}",
        first_name=f"Prénom{i:03d}",
        last_name=f"Nom{i:03d}",
        class_name=c,
        level="primary",
        status="active",
    )
    for i, c in enumerate(["10A"] * 3 + ["2A"] * 2 + ["3B"], start=1)
]
EMMA = pb.Student(
    id="s-1",
    first_name="Emma",
    last_name="D'Hondt",
    class_name="3A",
    level="primary",
    status="active",
    external_id="E-001",
    birth_date="2016-04-02",
    parent_ids=["p-1"],
    national_number="16040212391",
)


def text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


@pytest.fixture
def staff(client, fakes):
    state = {"student": EMMA}

    def listing(req):
        if not (req.q or req.class_name or req.status or req.cursor):  # the classes' lookup
            return pb.ListStudentsResponse(students=ROSTER)
        return pb.ListStudentsResponse(students=[EMMA], next_cursor="" if req.cursor else "next_1")

    fakes.on("auth", "ListStudents", listing)
    fakes.on(
        "auth",
        "GetStudent",
        lambda req: (
            pb.GetStudentResponse(student=state["student"], parents=[parent(1, "Éloïse", "Dubois")])
            if req.student_id == "s-1"
            else not_found(req)
        ),
    )
    fakes.on(
        "finance",
        "ListWallets",
        fpb.ListWalletsResponse(
            wallets=[
                fpb.Wallet(
                    id="w-1",
                    name="Général",
                    balance_cents=1250,
                    structured_communication="+++090/9337/55493+++",
                )
            ]
        ),
    )
    fakes.on(
        "finance",
        "ListInvoices",
        fpb.ListInvoicesResponse(
            invoices=[
                fpb.Invoice(
                    id="i-1",
                    number="2026-0007",
                    title="Piscine",
                    due_on="2026-10-15",
                    total_cents=800,
                    status="unpaid",
                )
            ]
        ),
    )
    signed = fakes.staff()
    client.set_cookie("cartable_session", signed.token)
    signed.state = state  # type: ignore[attr-defined]
    return signed


def test_the_list_with_search_class_status_and_pages(client, fakes, staff):
    page = text(client.get("/gestion/eleves"))
    assert '<label for="q">Nom ou prénom</label>' in page and '<label for="class_name">Classe</label>' in page
    assert 'href="/gestion/eleves/s-1">D\'Hondt Emma</a>' in page
    # the classes of the filter, in a person's order (2A before 10A)
    assert re.search(
        r'<option value="2A">2A</option>.*<option value="3B">3B</option>.*<option value="10A">10A</option>',
        page,
        re.S,
    )
    assert "Page 1 : élèves 1 à 1. D'autres suivent." in page
    assert 'href="/gestion/eleves?cursor=next_1&page=2" rel="next"' in page and "Première page" not in page
    assert 'aria-current="page">Élèves</a>' in page
    asked = fakes.requests("auth", "ListStudents")[0]
    assert (asked.status, asked.limit, asked.cursor) == ("active", 50, "")

    second = text(client.get("/gestion/eleves?q=emma&class_name=3A&status=left&cursor=next_1&page=2"))
    asked = [r for r in fakes.requests("auth", "ListStudents") if r.cursor][-1]
    assert (asked.q, asked.class_name, asked.status, asked.cursor) == ("emma", "3A", "left", "next_1")
    assert "Page 2 : élèves 51 à 51." in second and 'rel="next"' not in second
    assert 'href="/gestion/eleves?q=emma&class_name=3A&status=left">Première page</a>' in second
    assert '<option value="3A" selected>3A</option>' in second  # a class no present student has any more
    assert '<option value="left" selected>' in second and '<th scope="col">Départ</th>' in second


def test_a_cursor_edited_by_hand_goes_back_to_the_first_page(client, fakes, staff):
    def refuse(req):
        if req.cursor:
            raise InvalidRequest("invalid cursor", fields={"cursor": "use next_cursor as given"})
        return pb.ListStudentsResponse(students=ROSTER)

    fakes.on("auth", "ListStudents", refuse)
    resp = client.get("/gestion/eleves?q=emma&cursor=bogus")
    assert resp.status_code == 302 and resp.headers["Location"] == "/gestion/eleves?q=emma"
    assert client.get("/gestion/eleves?cursor=not%20one%20of%20ours").status_code == 200  # never sent


def test_a_students_page(client, fakes, staff):
    page = text(client.get("/gestion/eleves/s-1"))
    assert "<h1>Emma D'Hondt</h1>" in page
    assert '<dd id="student-class">3A</dd>' in page and '<dd id="student-level">Primaire</dd>' in page
    assert "2 avril 2016" in page and "E-001" in page and "16040212391" in page
    assert "Général" in page and "12,50" in page and "+++090/9337/55493+++" in page
    assert 'href="/gestion/parents/p-1">Éloïse Dubois</a>' in page
    assert "Piscine" in page and "2026-0007" in page and "15 octobre 2026" in page and "À payer" in page
    assert (
        'value="Emma"' in page
        and '<option value="primary" selected>' in page
        and 'value="2016-04-02"' in page
    )
    assert 'aria-current="page">Élèves</a>' in page
    assert client.get("/gestion/eleves/s-404").status_code == 404
    missing = text(client.get("/gestion/eleves/s-404"))
    assert "Cet élève n'existe pas, ou n'est pas de votre école." in missing


def test_the_student_shows_without_finance(client, fakes, staff):
    def down(_req):
        raise Unavailable("finance is down")

    fakes.on("finance", "ListWallets", down)
    resp = client.get("/gestion/eleves/s-1")
    assert resp.status_code == 200
    assert "Les portefeuilles et les factures ne peuvent pas être affichés pour l'instant." in text(resp)


def _edit(client, **changes):
    page = client.get("/gestion/eleves/s-1").get_data(as_text=True)
    fields = form_fields(page, "/gestion/eleves/s-1")
    form = {**fields, "first_name": "Emma", "last_name": "D'Hondt", "class_name": "3A", "level": "primary"}
    form |= {"birth_date": "2016-04-02", "external_id": "E-001", "national_number": "16040212391", **changes}
    return client.post("/gestion/eleves/s-1", data=form)


def test_the_edit_form_sends_only_what_changed(client, fakes, staff):
    moved = pb.Student()
    moved.CopyFrom(EMMA)
    moved.class_name, moved.level = "4A", "secondary"
    fakes.on("auth", "UpdateStudent", pb.UpdateStudentResponse(student=moved))
    resp = _edit(client, class_name=" 4A ", level="secondary")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/gestion/eleves/s-1")
    sent = fakes.requests("auth", "UpdateStudent")[0]
    assert sent.class_name == "4A" and sent.level == "secondary"
    assert not any(
        sent.HasField(n) for n in ("first_name", "last_name", "birth_date", "external_id", "national_number")
    )
    after = text(client.get("/gestion/eleves/s-1"))
    assert "Les modifications de Emma D'Hondt sont enregistrées." in after
    assert "les portefeuilles reçoivent de nouvelles communications structurées" in after

    assert _edit(client).status_code == 303  # nothing changed: nothing sent
    assert len(fakes.requests("auth", "UpdateStudent")) == 1
    assert "Rien n'a changé." in text(client.get("/gestion/eleves/s-1"))

    _edit(client, birth_date="")  # cleared
    assert fakes.requests("auth", "UpdateStudent")[1].HasField("birth_date")


def test_the_edit_forms_errors_are_tied_to_their_fields(client, fakes, staff):
    def refuse(_req):
        raise InvalidRequest(
            "the student is not valid", fields={"last_name": "required", "birth_date": "no such day"}
        )

    fakes.on("auth", "UpdateStudent", refuse)
    resp = _edit(client, last_name="", birth_date="2016-02-30")
    assert resp.status_code == 400
    page = text(resp)
    assert "La fiche n'a pas été enregistrée : corrigez les champs signalés." in page
    assert re.search(
        r'id="last_name"[^>]*aria-describedby="last_name-error" aria-invalid="true" autofocus', page
    )
    assert (
        re.search(r'id="birth_date"[^>]*aria-invalid="true"', page)
        and 'id="birth_date" name="birth_date" type="date" value="2016-02-30"' in page
    )
    assert '<a href="#last_name">Nom : Indiquez le nom' in page
    assert page.count("autofocus") == 1

    def taken(_req):
        raise Conflict("taken", code="external_id_taken")

    fakes.on("auth", "UpdateStudent", taken)
    resp = _edit(client, external_id="E-002")
    assert resp.status_code == 400 and "Un autre élève de l'école a déjà cet identifiant." in text(resp)


def test_the_leaving_date_needs_the_confirmation(client, fakes, staff):
    left = pb.Student()
    left.CopyFrom(EMMA)
    left.status, left.left_on = "left", "2026-06-30"
    fakes.on("auth", "LeaveStudent", pb.LeaveStudentResponse(student=left))
    page = client.get("/gestion/eleves/s-1").get_data(as_text=True)
    assert re.search(r'id="left_on" name="left_on" type="date" value="\d{4}-\d{2}-\d{2}"', page)  # today
    fields = form_fields(page, "/gestion/eleves/s-1/depart")
    fields.pop("confirm")  # the box, not a hidden field: unticked

    unconfirmed = client.post("/gestion/eleves/s-1/depart", data={**fields, "left_on": "2026-06-30"})
    assert unconfirmed.status_code == 400 and "Cochez la case pour confirmer le départ." in text(unconfirmed)
    assert fakes.requests("auth", "LeaveStudent") == []

    done = client.post(
        "/gestion/eleves/s-1/depart", data={**fields, "left_on": "2026-06-30", "confirm": "yes"}
    )
    assert done.status_code == 303 and fakes.requests("auth", "LeaveStudent")[0].left_on == "2026-06-30"
    staff.state["student"] = left
    after = text(client.get("/gestion/eleves/s-1"))
    assert "Le départ de Emma D'Hondt est enregistré au 30 juin 2026." in after
    assert "A quitté l'école le 30 juin 2026" in after and "Corriger la date du départ" in after

    def too_far(_req):
        raise InvalidRequest("left_on is too far from today", fields={"left_on": "within two years"})

    fakes.on("auth", "LeaveStudent", too_far)
    refused = client.post(
        "/gestion/eleves/s-1/depart", data={**fields, "left_on": "1990-01-01", "confirm": "yes"}
    )
    assert refused.status_code == 400 and "entre deux ans avant et un an après aujourd'hui" in text(refused)


def test_a_whole_class_moves_after_a_confirmation(client, fakes, staff):
    fakes.on("auth", "MoveClass", pb.MoveClassResponse(moved=3))
    page = client.get("/gestion/eleves/changer-de-classe").get_data(as_text=True)
    assert "10A (3 élèves)" in page and "3B (1 élève)" in page
    fields = form_fields(page, "/gestion/eleves/changer-de-classe")

    wrong = client.post(
        "/gestion/eleves/changer-de-classe", data={**fields, "from_class": "9Z", "to_class": ""}
    )
    assert wrong.status_code == 400
    assert "Choisissez une classe qui compte des élèves." in text(
        wrong
    ) and "Indiquez la nouvelle classe" in text(wrong)
    same = client.post(
        "/gestion/eleves/changer-de-classe", data={**fields, "from_class": "2A", "to_class": "2A"}
    )
    assert "Indiquez une autre classe que la classe actuelle." in text(same)

    confirm = client.post(
        "/gestion/eleves/changer-de-classe", data={**fields, "from_class": "10A", "to_class": "2A"}
    )
    assert confirm.status_code == 200 and fakes.requests("auth", "MoveClass") == []
    said = text(confirm)
    assert "3 élèves de 10A passeront en 2A." in said
    assert "La classe 2A compte déjà 2 élèves : ils y resteront" in said
    hidden = form_fields(confirm.get_data(as_text=True), "/gestion/eleves/changer-de-classe/confirmer")
    assert hidden["from_class"] == "10A" and hidden["to_class"] == "2A"

    done = client.post("/gestion/eleves/changer-de-classe/confirmer", data=hidden)
    assert done.status_code == 303 and done.headers["Location"].endswith("/gestion/eleves/changer-de-classe")
    assert (
        fakes.requests("auth", "MoveClass")[0].from_class,
        fakes.requests("auth", "MoveClass")[0].to_class,
    ) == ("10A", "2A")
    assert "3 élèves de 10A sont passés en 2A." in text(client.get("/gestion/eleves/changer-de-classe"))


def test_parents_cannot_open_the_students_pages(client, fakes, staff):
    client.set_cookie("cartable_session", fakes.parent().token)
    for path in ("/gestion/eleves", "/gestion/eleves/s-1", "/gestion/eleves/changer-de-classe"):
        assert client.get(path).status_code == 403, path


# -- every string in Dutch and English ------------------------------------------------------------------

GATEWAY = Path(__file__).resolve().parents[1]
SOURCES = [
    GATEWAY / "pages" / "students.py",
    GATEWAY / "pages" / "student_account.py",
    *sorted((GATEWAY / "templates" / "students").glob("*.html")),
]
KEYWORDS = {"_": None, "_l": None, "gettext": None, "ngettext": (1, 2)}


def _msgids() -> set[str]:
    found: set[str] = set()
    for path in SOURCES:
        method = "python" if path.suffix == ".py" else "jinja2.ext:babel_extract"
        for _line, message, _comments, _context in extract_from_file(method, str(path), keywords=KEYWORDS):
            found.add(message if isinstance(message, str) else message[0])
    return found | {"Élèves"}  # the staff navigation's label, translated in this area's catalog


def _catalog(lang: str) -> dict[str, list[str]]:
    with (GATEWAY / "translations" / "students" / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return {
            (m.id if isinstance(m.id, str) else m.id[0]): (
                [m.string] if isinstance(m.string, str) else list(m.string or ())
            )
            for m in read_po(f)
            if m.id
        }


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_string_of_the_students_pages_is_translated(lang):
    catalog = _catalog(lang)
    assert sorted(m for m in _msgids() if not all(catalog.get(m) or [""])) == []
    # placeholders kept
    for msgid, strings in catalog.items():
        for s in strings:
            assert set(re.findall(r"%\((\w+)\)", s)) <= set(re.findall(r"%\((\w+)\)", msgid)) | {"num"}, (
                msgid,
                s,
            )


def test_the_pages_read_in_dutch_and_english(client, fakes, staff):
    nl = text(client.get("/gestion/eleves/s-1?lang=nl"))
    assert "Leerlingen" in nl and "Primair" in nl
    en = text(client.get("/gestion/eleves?lang=en"))
    assert ">Students</a>" in en and "Name or first name" in en


def test_a_refused_level_names_the_three_levels(client, fakes, staff):
    """maternelle (nursery, kleuter) is a level as primaire and secondaire are (issue #19)."""

    def refuse(_req):
        raise InvalidRequest("the student is not valid", fields={"level": "nursery | primary | secondary"})

    fakes.on("auth", "UpdateStudent", refuse)
    resp = _edit(client, level="secondary")
    assert resp.status_code == 400
    assert "Niveau : Choisissez maternelle, primaire ou secondaire." in text(resp)
    client.get("/gestion/eleves/s-1?lang=nl")
    assert "Kies kleuter, primair of secundair." in text(_edit(client, level="secondary"))
    client.get("/gestion/eleves/s-1?lang=en")
    assert "Choose nursery, primary or secondary." in text(_edit(client, level="secondary"))
