"""The staff pages of the school's people, in-process against a fake auth: the parents' list (search,
status, pages of auth's cursor), a parent's page and its buttons (names and e-mail changed, another
child linked through the student picker), the colleagues' list and its buttons, auth's refusals in
the reader's words, and the one staff navigation on every staff page."""

from __future__ import annotations

import html
import re

import pytest

from cartable.auth.v1 import auth_pb2 as pb
from cartable.notifications.v1 import notifications_pb2
from gateway.tests.conftest import form_fields
from gateway.tests.test_people_api import COLLEAGUE, PARENTS, _copy, fake_parents, parent
from kit.errors import Conflict, Forbidden, InvalidRequest

STUDENTS = {
    f"s-{i}": pb.Student(id=f"s-{i}", first_name=f"Enfant{i}", last_name="Famille", class_name=f"{i}A")
    for i in range(1, 130)
}


def text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


@pytest.fixture
def staff(client, fakes):
    state = {"parents": [_copy(p) for p in PARENTS]}
    fake_parents(fakes, state["parents"], STUDENTS)

    def students(req):
        if req.q:
            return pb.ListStudentsResponse(
                students=[s for s in STUDENTS.values() if req.q.lower() in s.first_name.lower()][: req.limit]
            )
        return pb.ListStudentsResponse(students=[STUDENTS[i] for i in req.student_ids if i in STUDENTS])

    fakes.on("auth", "ListStudents", students)
    signed = fakes.staff()
    me = pb.StaffMember(
        id=signed.session.account.id,
        first_name="Claire",
        last_name="Direction",
        status="active",
        username="claire",
    )
    with_factor = pb.StaffMember()
    with_factor.CopyFrom(COLLEAGUE)
    with_factor.second_factor_enabled = True
    fakes.on("auth", "ListStaff", pb.ListStaffResponse(staff=[me, with_factor]))
    client.set_cookie("cartable_session", signed.token)
    signed.state = state  # type: ignore[attr-defined]
    return signed


def test_the_parents_list_with_search_and_status(client, fakes, staff):
    page = text(client.get("/gestion/parents"))
    assert "5 parents." in page
    assert (
        '<label for="q">Nom ou adresse e-mail</label>' in page
        and '<label for="status">Statut</label>' in page
    )
    assert 'href="/gestion/parents/p-1">Dubois Éloïse</a>' in page
    assert "Enfant1 Famille (1A)" in page
    assert "En attente de première connexion" in page and "Désactivé" in page
    assert 'aria-current="page">Parents</a>' in page

    found = text(client.get("/gestion/parents?q=eloise"))
    assert "1 parent trouvé." in found and "Dubois Éloïse" in found and "Peeters" not in found
    invited = text(client.get("/gestion/parents?status=invited"))
    assert "2 parents trouvés." in invited and fakes.requests("auth", "ListParents")[-1].status == "invited"
    assert '<option value="invited" selected>' in invited
    nothing = text(client.get("/gestion/parents?q=personne"))
    assert "Aucun parent ne correspond." in nothing
    # an unknown status is ignored, not an error page
    assert client.get("/gestion/parents?status=gone").status_code == 200


def test_the_parents_list_is_paged(client, fakes, staff):
    staff.state["parents"][:] = [parent(i, f"Prénom{i:03d}", f"Nom{i:03d}") for i in range(1, 121)]
    first = text(client.get("/gestion/parents"))
    assert "Parents 1 à 50. D'autres suivent." in first
    assert "Nom050" in first and "Nom051" not in first
    assert (
        'href="/gestion/parents?cursor=after-50&debut=51" rel="next"' in first
        and "Première page" not in first
    )
    assert fakes.requests("auth", "ListParents")[-1].limit == 50
    last = text(client.get("/gestion/parents?cursor=after-100&debut=101"))
    assert "Parents 101 à 120." in last and "Nom120" in last and 'rel="next"' not in last
    assert 'href="/gestion/parents">Première page</a>' in last
    searched = text(client.get("/gestion/parents?q=nom1"))
    assert "21 parents trouvés." in searched and 'aria-label="Pages"' not in searched  # one page: no pager
    kept = text(client.get("/gestion/parents?q=nom&status=active"))
    assert 'href="/gestion/parents?q=nom&status=active&cursor=after-50&debut=51" rel="next"' in kept
    stale = client.get("/gestion/parents?cursor=nonsense&q=nom")
    assert stale.status_code == 303 and stale.headers["Location"].endswith("/gestion/parents?q=nom")
    assert "voici la première" in text(client.get("/gestion/parents"))


def test_a_parents_page_and_its_actions(client, fakes, staff):
    disabled = pb.ParentContact()
    disabled.CopyFrom(PARENTS[3])
    disabled.status = "disabled"

    def disable(req):
        staff.state["parents"][3].CopyFrom(disabled)
        return pb.DisableAccountResponse(parent=disabled)

    fakes.on("auth", "DisableAccount", disable)
    fakes.on("auth", "IssueConnectionToken", pb.IssueConnectionTokenResponse())
    fakes.on("auth", "EndSessions", pb.EndSessionsResponse(ended=2))
    page = text(client.get("/gestion/parents/p-4"))
    assert "<h1>Jan Peeters</h1>" in page and re.search(r"Enfant4 Famille(</a>)? · classe 4A", page)
    assert "Renvoyer un jeton de connexion" in page and "Désactiver le compte" in page
    assert 'aria-current="page">Parents</a>' in page
    fields = form_fields(
        client.get("/gestion/parents/p-4").get_data(as_text=True), "/gestion/parents/p-4/jeton"
    )

    resp = client.post("/gestion/parents/p-4/jeton", data=fields)
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/gestion/parents/p-4")
    assert "Un nouveau jeton de connexion a été envoyé" in text(client.get("/gestion/parents/p-4"))
    assert fakes.requests("auth", "IssueConnectionToken")[0].parent_id == "p-4"

    client.post("/gestion/parents/p-4/fin-des-sessions", data=fields)
    assert "2 connexions ont été fermées." in text(client.get("/gestion/parents/p-4"))

    client.post("/gestion/parents/p-4/desactiver", data=fields)
    after = text(client.get("/gestion/parents/p-4"))
    assert "Le compte est désactivé" in after
    assert "Réactiver le compte" in after and "Renvoyer un jeton de connexion" not in after
    assert fakes.requests("auth", "DisableAccount")[0].account_id == "p-4"


def test_a_parents_names_and_email_are_changed_on_their_page(client, fakes, staff):
    page = text(client.get("/gestion/parents/p-4"))
    assert '<h2 id="edit-title">Nom et adresse e-mail</h2>' in page
    assert 'id="first_name" name="first_name"' in page and 'value="jan.peeters@example.test"' in page
    fields = form_fields(
        client.get("/gestion/parents/p-4").get_data(as_text=True), "/gestion/parents/p-4/modifier"
    )
    form = {**fields, "first_name": " Johan ", "last_name": "Peeters", "email": "Johan@Example.test"}
    resp = client.post("/gestion/parents/p-4/modifier", data=form)
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/gestion/parents/p-4")
    sent = fakes.requests("auth", "UpdateParent")[-1]
    assert (sent.parent_id, sent.first_name, sent.email) == ("p-4", "Johan", "Johan@Example.test")
    after = text(client.get("/gestion/parents/p-4"))
    assert "Les coordonnées du parent sont enregistrées." in after and "<h1>Johan Peeters</h1>" in after

    def taken(_req):
        raise Conflict("another account uses this e-mail address", code="email_taken")

    fakes.on("auth", "UpdateParent", taken)
    refused = client.post("/gestion/parents/p-4/modifier", data={**form, "email": "luc@school.test"})
    assert refused.status_code == 409
    body = text(refused)
    assert 'id="email-error" class="field-error" role="alert">Cette adresse e-mail est déjà celle' in body
    assert 'value="luc@school.test"' in body and 'aria-invalid="true"' in body  # what was typed is kept

    def bad(_req):
        raise InvalidRequest("the parent is not valid", fields={"last_name": "a name has letters"})

    fakes.on("auth", "UpdateParent", bad)
    refused = client.post("/gestion/parents/p-4/modifier", data={**form, "last_name": "1234"})
    assert refused.status_code == 400 and 'id="last_name-error"' in text(refused)
    calls = len(fakes.requests("auth", "UpdateParent"))
    empty = client.post("/gestion/parents/p-4/modifier", data={**form, "first_name": "", "email": "nope"})
    assert (
        empty.status_code == 400
        and 'id="first_name-error"' in text(empty)
        and 'id="email-error"' in text(empty)
    )
    assert len(fakes.requests("auth", "UpdateParent")) == calls  # refused before asking auth


def test_another_child_is_linked_through_the_student_picker(client, fakes, staff):
    fakes.on(
        "auth", "LinkChildren", lambda req: pb.LinkChildrenResponse(student_ids=["s-4", *req.student_ids])
    )
    page = text(client.get("/gestion/parents/p-4?eleve=enfant1"))
    assert 'value="enfant1"' in page and "20 élèves trouvés." in page and "Précisez le nom" in page
    sent = fakes.requests("auth", "ListStudents")[-1]
    assert (sent.q, sent.status, sent.limit) == ("enfant1", "active", 20)
    assert 'Lier<span class="visually-hidden"> : Enfant12 Famille, classe 12A</span>' in page
    fields = form_fields(page.replace("&amp;", "&"), "/gestion/parents/p-4/enfants")
    assert fields["student_id"] == "s-1"
    resp = client.post("/gestion/parents/p-4/enfants", data={**fields, "student_id": "s-12"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/gestion/parents/p-4")
    assert fakes.requests("auth", "LinkChildren")[-1].student_ids == ["s-12"]
    assert "Enfant12 Famille fait maintenant partie des enfants de ce parent." in text(
        client.get("/gestion/parents/p-4")
    )
    # the children already linked are not offered
    assert "Enfant4 Famille, classe" not in text(client.get("/gestion/parents/p-4?eleve=enfant4"))

    def unknown(_req):
        raise InvalidRequest("unknown students", fields={"student_ids": "unknown: s-999"})

    fakes.on("auth", "LinkChildren", unknown)
    client.post("/gestion/parents/p-4/enfants", data={**fields, "student_id": "s-999"})
    assert "rien n'a été lié" in text(client.get("/gestion/parents/p-4"))


def test_auth_refusals_are_shown_in_the_readers_words(client, fakes, staff):
    def refuse(_req):
        raise Conflict("disabled", code="account_disabled")

    fakes.on("auth", "IssueConnectionToken", refuse)
    fields = form_fields(
        client.get("/gestion/parents/p-3").get_data(as_text=True), "/gestion/parents/p-3/activer"
    )
    client.post("/gestion/parents/p-3/jeton", data=fields)
    page = text(client.get("/gestion/parents/p-3"))
    assert "Ce compte est désactivé : réactivez-le d'abord." in page
    assert 'class="flash flash-error"' in page


def test_an_unknown_parent_or_a_colleague_is_not_a_parents_page(client, fakes, staff):
    assert client.get("/gestion/parents/p-404").status_code == 404
    fields = form_fields(
        client.get("/gestion/parents/p-1").get_data(as_text=True), "/gestion/parents/p-1/desactiver"
    )
    assert client.post("/gestion/parents/st-2/desactiver", data=fields).status_code == 404
    assert fakes.requests("auth", "DisableAccount") == []


def test_the_colleagues_list_and_actions(client, fakes, staff):
    fakes.on("auth", "ResetSecondFactor", pb.ResetSecondFactorResponse())
    fakes.on("auth", "EndSessions", pb.EndSessionsResponse(ended=0))
    page = text(client.get("/gestion/collegues"))
    assert "Luc Secrétariat" in page and "(vous)" in page
    # the buttons name the colleague for a screen reader
    assert 'Désactiver<span class="visually-hidden"> : Luc Secrétariat</span>' in page
    assert "Réinitialiser la validation en deux étapes" in page
    me = staff.session.account.id
    assert f"/gestion/collegues/{me}/desactiver" not in page  # not one's own
    fields = form_fields(
        client.get("/gestion/collegues").get_data(as_text=True), "/gestion/collegues/st-2/desactiver"
    )

    client.post("/gestion/collegues/st-2/second-facteur", data=fields)
    assert "réinitialisée" in text(client.get("/gestion/collegues"))
    assert fakes.requests("auth", "ResetSecondFactor")[0].account_id == "st-2"
    client.post("/gestion/collegues/st-2/fin-des-sessions", data=fields)
    assert "Aucune connexion n'était ouverte." in text(client.get("/gestion/collegues"))

    def self_(_req):
        raise Forbidden("no", code="cannot_disable_self")

    fakes.on("auth", "DisableAccount", self_)
    client.post(f"/gestion/collegues/{me}/desactiver", data=fields)
    assert "Vous ne pouvez pas désactiver votre propre compte" in text(client.get("/gestion/collegues"))
    assert client.post("/gestion/collegues/p-1/desactiver", data=fields).status_code == 404


def test_parents_cannot_open_the_staff_pages(client, fakes, staff):
    client.set_cookie("cartable_session", fakes.parent().token)
    for path in ("/gestion/parents", "/gestion/parents/p-1", "/gestion/collegues", "/gestion/securite"):
        assert client.get(path).status_code == 403, path


def test_every_staff_page_has_the_one_staff_navigation(client, fakes, staff):
    fakes.on("notifications", "ListFailedMails", notifications_pb2.ListFailedMailsResponse())
    fakes.on("auth", "GetSecuritySettings", pb.SecuritySettings())
    for path, current in [
        ("/gestion", "Accueil"),
        ("/gestion/parents", "Parents"),
        ("/gestion/parents/p-1", "Parents"),
        ("/gestion/collegues", "Collègues"),
        ("/gestion/courriels-en-echec", "Courriels en échec"),
        ("/gestion/securite", "Sécurité"),
        ("/mot-de-passe", None),
        ("/compte/securite", None),
    ]:
        page = text(client.get(path))
        navs = re.findall(r'<nav class="sidenav staffnav" aria-label="Gestion">', page)
        assert len(navs) == 1, path
        for link in ("/gestion/parents", "/gestion/collegues", "/gestion/documents", "/gestion/extraits"):
            assert f'href="{link}"' in page
        marked = re.findall(r'aria-current="page">([^<]+)</a>', page)
        assert marked == ([current] if current else []), path
        assert re.search(r"<h1>", page) and page.index("<h1>") < page.index("<h2") if "<h2" in page else True


def test_the_staff_pages_speak_dutch_and_english(client, staff):
    nl = text(client.get("/gestion/parents?lang=nl"))
    assert "Ouders" in nl and "Naam of e-mailadres" in nl
    en = text(client.get("/gestion/collegues?lang=en"))
    assert "Colleagues" in en and "Two-step verification" in en


def test_adding_a_colleague_from_the_page(client, fakes, staff):
    fakes.on("auth", "CreateStaff", lambda req: pb.CreateStaffResponse(id="st-3", username="marie.dupont"))
    page = text(client.get("/gestion/collegues"))
    for label in ("Prénom", "Nom", "Adresse e-mail", "Langue des courriels"):
        assert re.search(rf'<label for="\w+">{label}</label>', page), label
    fields = form_fields(client.get("/gestion/collegues").get_data(as_text=True), "/gestion/collegues")
    bad = client.post("/gestion/collegues", data={**fields, "first_name": "Marie", "email": "nope"})
    assert bad.status_code == 400
    body = text(bad)
    assert 'id="last_name-error"' in body and 'id="email-error"' in body
    assert 'value="Marie"' in body  # what was typed is kept
    assert fakes.requests("auth", "CreateStaff") == []
    done = client.post(
        "/gestion/collegues",
        data={
            **fields,
            "first_name": "Marie",
            "last_name": "Dupont",
            "email": "marie@school.test",
            "language": "nl",
        },
    )
    assert done.status_code == 303
    assert "nom d'utilisateur marie.dupont" in text(client.get("/gestion/collegues"))
    assert fakes.requests("auth", "CreateStaff")[0].language == "nl"
