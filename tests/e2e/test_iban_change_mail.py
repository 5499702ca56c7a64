"""Changing the school's IBAN mails every manager of the school, once (issue #15, Accounts), through the
whole suite: auth announces each staff account (auth.staff.updated.v1) into notifications' managers'
book; the manager changes the IBAN with their password again (PUT /api/v1/admin/settings with
``current_password``); finance publishes finance.settings.iban_changed.v1; notifications mails each
active manager of that school in their language, and no one else."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from cartable.auth.v1 import events_pb2 as auth_events
from cartable.events.v1 import envelope_pb2
from tests.factories import (
    anonymous,
    expect,
    mail_text,
    mails_to,
    new_school,
    unique,
    wait_for_token,
)

SETTINGS = {
    "iban": "BE68 5390 0754 7034",
    "bic": "BBRUBEBB",
    "beneficiary": "École Saint-Joseph",
    "top_up_methods": ["online", "transfer"],
    "internal_wallet_payments": True,
    "online_payment_for_orders": False,
}
OTHER_IBAN = "BE71 0961 2345 6769"
# the subjects of the mail in French (the first manager) and Dutch (the colleague)
SUBJECTS = ("Sécurité : l’IBAN de l’école a été modifié", "Beveiliging: het IBAN van de school is gewijzigd")


def iban_mails(suite, address: str) -> list:
    return [m for m in mails_to(suite, address) if str(m.get("Subject", "")).startswith(SUBJECTS)]


def staff_announced(suite, mark: dict[str, int]) -> set[str]:
    """The account ids of the auth.staff.updated.v1 events auth wrote since ``mark``."""
    engine = create_engine(suite.urls["auth"])
    try:
        with engine.connect() as c:
            bodies = c.execute(
                text("SELECT body FROM outbox WHERE id > :m AND event_name = 'auth.staff.updated.v1'"),
                {"m": mark.get("auth", 0)},
            ).scalars()
            ids = set()
            for body in bodies:
                env = envelope_pb2.Envelope.FromString(bytes(body))
                ev = auth_events.StaffUpdated()
                env.payload.Unpack(ev)
                ids.add(ev.account_id)
            return ids
    finally:
        engine.dispose()


def email_of(staff, account_id: str) -> str:
    """A staff account's address, from the school's staff list."""
    return {m["id"]: m for m in expect(staff.get("/admin/staff")).json()["items"]}[account_id]["email"]


def add_colleague(suite, manager, email: str) -> str:
    """A second manager added by the first (POST /admin/staff), activated from the mailed token."""
    body = {"first_name": "Luc", "last_name": "Peeters", "email": email, "language": "nl"}
    made = expect(manager.post("/admin/staff", json=body), 201).json()
    token = wait_for_token(suite, email)
    password = "Tournesol jaune sous la neige 8"
    activation = {"token": token, "password": password, "password_confirm": password}
    session = expect(anonymous(suite).post("/activation", json=activation)).json()
    assert session["account"]["role"] == "staff"
    return made["id"]


def test_changing_the_iban_mails_every_manager_of_the_school_once(suite):
    start = suite.bus_mark()
    manager = new_school(suite)
    luc = f"{unique('luc.')}@school.example.test"
    luc_id = add_colleague(suite, manager, luc)
    bystander = new_school(suite)  # another school's manager hears nothing of it
    suite.wait_until_settled(start)
    missing = {manager.account_id, luc_id, bystander.account_id} - staff_announced(suite, start)
    assert not missing, (
        "waiting on auth: it must publish auth.staff.updated.v1 (StaffUpdated) when a staff account "
        "is created (the create-staff command and POST /admin/staff), disabled or enabled, so that "
        f"notifications' managers' book knows the school's managers; not announced: {sorted(missing)}"
    )
    claire = email_of(manager, manager.account_id)

    # a first IBAN (the school had none), then another one: each change mails each manager once
    mark = suite.bus_mark()
    expect(manager.put("/admin/settings", json={**SETTINGS, "current_password": manager.password}))
    suite.wait_until_settled(mark)
    assert [len(iban_mails(suite, a)) for a in (claire, luc)] == [1, 1]

    mark = suite.bus_mark()
    changed = {**SETTINGS, "iban": OTHER_IBAN, "current_password": manager.password}
    assert expect(manager.put("/admin/settings", json=changed)).json()["iban"] == "BE71096123456769"
    suite.wait_until_settled(mark)
    mine, theirs = iban_mails(suite, claire), iban_mails(suite, luc)
    assert (len(mine), len(theirs)) == (2, 2), [str(m["Subject"]) for m in mine + theirs]

    fr, nl = mail_text(mine[-1]), mail_text(theirs[-1])
    for expected in (
        "Ancien IBAN : BE** **** **** 7034",
        "Nouvel IBAN : BE** **** **** 6769",
        "Modifié par : Claire Direction",
        "(heure de Bruxelles)",
        "autres gestionnaires",
        "changez votre mot de passe",
    ):
        assert expected in fr, (expected, fr)
    for expected in (
        "Vorig IBAN: BE** **** **** 7034",
        "Nieuw IBAN: BE** **** **** 6769",
        "Gewijzigd door: Claire Direction",
        "(Brusselse tijd)",
        "wijzig uw wachtwoord",
    ):
        assert expected in nl, (expected, nl)
    assert "Ancien IBAN : aucun" in mail_text(mine[0])
    assert "BE71096123456769" not in fr + nl  # masked, never the whole account number
    assert theirs[-1]["Content-Language"] == "nl"
    assert iban_mails(suite, email_of(bystander, bystander.account_id)) == []

    # the same settings again (the IBAN unchanged): no password asked, no mail
    mark = suite.bus_mark()
    expect(manager.put("/admin/settings", json=SETTINGS | {"iban": OTHER_IBAN}))
    suite.wait_until_settled(mark)
    assert [len(iban_mails(suite, a)) for a in (claire, luc)] == [2, 2]
