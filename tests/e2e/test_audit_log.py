"""The school's audit log through the whole suite (issue #15, API.md ``GET /api/v1/admin/audit``): a
manager creates a student, issues an invoice, publishes an event and changes the IBAN (with the
password again); each service records its entry in its own transaction and the entries travel by
events to auth's consumer. Once the bus has settled the log lists them newest first with the
manager's name, pages with its cursor, and shows them on /gestion/journal; another school's manager
sees none of them, a parent is refused, and nothing can change an entry."""

from __future__ import annotations

import datetime as dt
import re

from tests.factories import expect, new_family, new_school

SETTINGS = {
    "iban": "BE68 5390 0754 7034",
    "bic": "BBRUBEBB",
    "beneficiary": "École du Journal",
    "top_up_methods": ["online", "transfer"],
    "internal_wallet_payments": True,
    "online_payment_for_orders": False,
}
OURS = (
    "auth.student.created",
    "finance.invoice.created",
    "notifications.event.created",
    "finance.settings.iban_changed",
)


def _all_entries(client, limit: int = 200) -> list[dict]:
    """Every entry of the caller's log, page after page."""
    items, cursor = [], None
    for _ in range(100):
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        body = expect(client.get("/admin/audit", params=params)).json()
        assert set(body) == {"items", "next_cursor"}
        items += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            return items
    raise AssertionError("the log's pages do not end")


def test_the_managers_actions_are_in_the_log_newest_first_and_only_for_their_school(suite):
    staff = new_school(suite)
    other = new_school(suite)
    mark = suite.bus_mark()

    student = staff.create_student("Lina", "Peeters", "3A")
    due = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)).isoformat()
    invoice = expect(
        staff.post(
            "/admin/invoices",
            json={
                "student_id": student["id"],
                "title": "Classe verte",
                "due_on": due,
                "lines": [{"label": "Séjour", "quantity": 1, "unit_price_cents": 12000}],
            },
        ),
        201,
    ).json()
    starts = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=7)
    event = expect(
        staff.post(
            "/admin/events",
            json={
                "title": "Fancy-fair",
                "starts_at": starts.isoformat(),
                "ends_at": (starts + dt.timedelta(hours=3)).isoformat(),
                "description": "",
                "class_names": [],
            },
        ),
        201,
    ).json()
    expect(staff.put("/admin/settings", json={**SETTINGS, "current_password": staff.password}))

    suite.wait_until_settled(mark)

    entries = _all_entries(staff)
    assert all(
        set(e) == {"id", "at", "actor_id", "actor_name", "action", "object_type", "object_id", "detail"}
        for e in entries
    )
    # newest first, by the instant each service acted
    instants = [dt.datetime.fromisoformat(e["at"]) for e in entries]
    assert instants == sorted(instants, reverse=True)
    assert len({e["id"] for e in entries}) == len(entries)  # each entry once

    mine = {e["action"]: e for e in entries if e["action"] in OURS}
    assert set(mine) == set(OURS), [e["action"] for e in entries]
    order = [e["action"] for e in entries if e["action"] in OURS]
    assert order == list(reversed(OURS))
    for e in mine.values():
        assert e["actor_id"] == staff.account_id and e["actor_name"] == "Claire Direction", e
    assert mine["auth.student.created"]["object_id"] == student["id"]
    assert mine["finance.invoice.created"]["object_type"] == "invoice"
    assert mine["finance.invoice.created"]["object_id"] == invoice["id"]
    assert mine["notifications.event.created"]["object_id"] == event["id"]
    assert "Fancy-fair" in mine["notifications.event.created"]["detail"]
    iban = mine["finance.settings.iban_changed"]
    assert iban["object_type"] == "school_settings"
    assert "7034" in iban["detail"] and "BE68539007547034" not in iban["detail"].replace(" ", "")

    # paging with a small limit gives the same entries in the same order
    assert [e["id"] for e in _all_entries(staff, limit=2)] == [e["id"] for e in entries]

    # the page says it in words, with the manager's name
    page = staff.page("/gestion/journal")
    assert page.status_code == 200
    assert "a changé l'IBAN" in page.text.replace("&#39;", "'") and "Claire Direction" in page.text
    assert "a émis une facture" in page.text and "a publié un évènement" in page.text

    # another school's manager sees none of it
    theirs = _all_entries(other)
    assert not {e["id"] for e in theirs} & {e["id"] for e in entries}
    assert not {e["object_id"] for e in theirs} & {student["id"], invoice["id"], event["id"]}
    assert all(e["actor_id"] != staff.account_id for e in theirs)
    assert not re.search(r"Lina|Fancy-fair|Classe verte", other.page("/gestion/journal").text)

    # nothing changes an entry: no route writes to the log
    for method in ("PUT", "DELETE", "PATCH", "POST"):
        resp = staff.request(method, "/admin/audit", json={"detail": "rewritten"})
        assert resp.status_code == 405, (method, resp.status_code, resp.text[:200])
        resp = staff.request(method, f"/admin/audit/{iban['id']}", json={"detail": "rewritten"})
        assert resp.status_code in (404, 405), (method, resp.status_code)
    assert [e for e in _all_entries(staff) if e["id"] in {x["id"] for x in entries}] == entries

    # a parent of the school is refused, the API and the page alike
    parent = new_family(suite, staff, [student])
    resp = parent.get("/admin/audit")
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "forbidden"
    assert parent.page("/gestion/journal").status_code == 403


def test_a_bad_limit_or_cursor_is_400_with_its_field(suite):
    staff = new_school(suite)
    for params, field in (
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ):
        resp = staff.get("/admin/audit", params=params)
        assert resp.status_code == 400, (params, resp.text)
        err = resp.json()["error"]
        assert err["code"] == "invalid_request" and field in err["fields"], (params, err)
    assert expect(staff.get("/admin/audit", params={"limit": 200})).status_code == 200
