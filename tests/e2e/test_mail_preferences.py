"""A parent chooses which mails to receive and their language; staff see failed mails."""

from tests.factories import expect, new_family, new_school


def test_parent_reads_and_replaces_mail_preferences(suite):
    staff = new_school(suite)
    parent = new_family(suite, staff, [{"first_name": "Lou"}], email="lou.parent@example.test")
    prefs = expect(parent.get("/mail-preferences")).json()
    assert prefs["email"] == "lou.parent@example.test"
    assert prefs["language"] == "fr" and prefs["documents"] is True
    wanted = {**prefs, "language": "nl", "documents": False, "low_balance_threshold_cents": 500}
    saved = expect(parent.put("/mail-preferences", json=wanted)).json()
    assert (saved["language"], saved["documents"], saved["low_balance_threshold_cents"]) == ("nl", False, 500)
    assert expect(parent.get("/mail-preferences")).json() == saved


def test_bad_preferences_are_refused_with_their_fields(suite):
    staff = new_school(suite)
    parent = new_family(suite, staff, [{"first_name": "Max"}])
    r = parent.put(
        "/mail-preferences", json={"language": "de", "documents": "yes", "low_balance_threshold_cents": -1}
    )
    assert r.status_code == 400
    assert set(r.json()["error"]["fields"]) == {"language", "documents", "low_balance_threshold_cents"}
    assert staff.get("/mail-preferences").status_code == 403


def test_preferences_page_saves_the_threshold_in_euros(suite):
    staff = new_school(suite)
    parent = new_family(suite, staff, [{"first_name": "Ines"}])
    page = parent.page("/compte/courriels")
    assert page.status_code == 200 and "Courriels" in page.text
    assert expect(staff.get("/admin/failed-mails")).json()["items"] == []
