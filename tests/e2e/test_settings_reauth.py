"""The school's IBAN asks for the manager's password again (issue #15, API.md: `current_password`, 403
`reauthentication_required`); the back office's additions to the settings (reminders, creditor id,
enterprise number) round-trip and are checked."""

from __future__ import annotations

from tests.factories import expect, new_school

SETTINGS = {
    "iban": "BE68 5390 0754 7034",
    "bic": "BBRUBEBB",
    "beneficiary": "École Saint-Joseph",
    "top_up_methods": ["online", "transfer"],
    "internal_wallet_payments": True,
    "online_payment_for_orders": False,
}
OTHER_IBAN = "BE71 0961 2345 6769"


def _code(resp) -> str:
    return resp.json()["error"]["code"]


def test_the_iban_changes_only_with_the_managers_password_again(suite):
    staff = new_school(suite)

    # a first IBAN, without the password, then with a wrong one: refused, nothing stored
    r = staff.put("/admin/settings", json=SETTINGS)
    assert r.status_code == 403 and _code(r) == "reauthentication_required"
    r = staff.put("/admin/settings", json={**SETTINGS, "current_password": "not-my-password"})
    assert r.status_code == 403 and _code(r) == "reauthentication_required"
    assert expect(staff.get("/admin/settings")).json()["iban"] == ""
    # the session is still good: a wrong password here is not a sign-out
    assert staff.get("/admin/settings").status_code == 200

    body = expect(staff.put("/admin/settings", json={**SETTINGS, "current_password": staff.password})).json()
    assert body["iban"] == "BE68539007547034"

    # the same IBAN (in another spelling) and other fields change without the password
    body = expect(
        staff.put(
            "/admin/settings", json={**SETTINGS, "iban": "be68539007547034", "beneficiary": "École St-Jo"}
        )
    ).json()
    assert body["beneficiary"] == "École St-Jo" and body["iban"] == "BE68539007547034"

    # another IBAN asks again
    r = staff.put("/admin/settings", json={**SETTINGS, "iban": OTHER_IBAN})
    assert r.status_code == 403 and _code(r) == "reauthentication_required"
    assert expect(staff.get("/admin/settings")).json()["iban"] == "BE68539007547034"
    body = expect(
        staff.put(
            "/admin/settings", json={**SETTINGS, "iban": OTHER_IBAN, "current_password": staff.password}
        )
    ).json()
    assert body["iban"] == "BE71096123456769"


def test_reminders_creditor_id_and_enterprise_number_round_trip_and_are_checked(suite):
    staff = new_school(suite)
    base = {**SETTINGS, "current_password": staff.password}
    body = expect(
        staff.put(
            "/admin/settings",
            json={
                **base,
                "reminders": {
                    "enabled": True,
                    "first_after_days": 10,
                    "repeat_every_days": 7,
                    "max_count": 3,
                },
                "creditor_id": "BE69ZZZ050D000000008",
                "enterprise_number": "0203.201.340",
            },
        )
    ).json()
    assert body["reminders"] == {
        "enabled": True,
        "first_after_days": 10,
        "repeat_every_days": 7,
        "max_count": 3,
    }
    assert body["creditor_id"] == "BE69ZZZ050D000000008" and body["enterprise_number"] == "0203201340"

    # a client that does not send them keeps them
    body = expect(staff.put("/admin/settings", json=SETTINGS)).json()
    assert body["reminders"]["enabled"] is True and body["creditor_id"] == "BE69ZZZ050D000000008"

    for extra, field in (
        ({"creditor_id": "BE00ZZZ000"}, "creditor_id"),
        ({"enterprise_number": "0203201341"}, "enterprise_number"),
        (
            {"reminders": {"enabled": True, "first_after_days": 0, "repeat_every_days": 7, "max_count": 3}},
            "reminders",
        ),
        ({"reminders": "weekly"}, "reminders"),
    ):
        r = staff.put("/admin/settings", json={**SETTINGS, **extra})
        assert r.status_code == 400, (extra, r.text)
        assert any(k.startswith(field) for k in r.json()["error"]["fields"]), (extra, r.json())
    assert expect(staff.get("/admin/settings")).json()["enterprise_number"] == "0203201340"
