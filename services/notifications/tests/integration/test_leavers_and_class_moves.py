"""Issue #16 in notifications, on a real database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set).
A class change needs no copy of the class here: the parent's token carries it on every call, so the
next ListEvents after the move shows the new class's events and not the old one's. A child who left
the school is shown no upcoming event (the school's life goes on without them)."""

from __future__ import annotations

import dataclasses

from services.notifications.tests.integration.test_school_events import PARENT, create, events  # noqa: F401


def _titles(events, who) -> list[str]:  # noqa: F811  (the fixture's name)
    return sorted(e.title for e in events.list_events(who, "stu-emma").events)


def test_a_class_change_shows_the_new_class_s_events_at_the_next_call(events):  # noqa: F811
    create(events, title="Classe verte 3A", class_names=["3A"])
    create(events, title="Piscine 4A", class_names=["4A"])
    create(events, title="Fancy-fair")
    assert _titles(events, PARENT) == ["Classe verte 3A", "Fancy-fair"]
    moved = dataclasses.replace(PARENT, students={"stu-emma": "4A"})  # the token auth signs after the move
    assert _titles(events, moved) == ["Fancy-fair", "Piscine 4A"]


def test_a_child_who_left_is_shown_no_upcoming_event(events):  # noqa: F811
    create(events, title="Classe verte 3A", class_names=["3A"])
    create(events, title="Fancy-fair")
    gone = dataclasses.replace(PARENT, left={"stu-emma": "2026-06-30"})
    assert _titles(events, gone) == []
