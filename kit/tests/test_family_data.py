"""kit.family_data: who may have a family's data, the JSON parts, the purge of published outbox rows."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import MetaData, create_engine, func, select
from sqlalchemy.orm import Session

from kit.bus import bus_tables
from kit.errors import Forbidden, InvalidRequest
from kit.family_data import json_file, purge_published, require_export_caller
from kit.identity import Identity

MUM = Identity(account_id="mum", role="parent", school_id="s1", students={"emma": "3A", "leo": "1B"})
STAFF = Identity(account_id="boss", role="staff", school_id="s1")


def test_the_parent_themself_has_their_own_childrens_data():
    assert require_export_caller(MUM, "mum", ["emma", "leo", "emma", ""]) == ["emma", "leo"]


@pytest.mark.parametrize(
    ("parent_id", "students"),
    [("dad", ["emma"]), ("mum", ["zoe"]), ("mum", ["emma", "zoe"])],
    ids=["another parent", "a child not theirs", "one child not theirs"],
)
def test_a_parent_asking_for_another_family_is_refused(parent_id, students):
    with pytest.raises(Forbidden):
        require_export_caller(MUM, parent_id, students)


def test_staff_may_ask_for_any_parent_of_their_school_and_the_parent_id_is_required():
    assert require_export_caller(STAFF, "mum", ["emma"]) == ["emma"]
    with pytest.raises(InvalidRequest) as err:
        require_export_caller(STAFF, "", ["emma"])
    assert err.value.fields == {"parent_id": "required"}


def test_a_part_is_indented_sorted_utf8_json_with_iso_dates():
    part = json_file(
        "finance/wallets.json",
        [
            {
                "name": "Zoé",
                "at": datetime(2026, 12, 3, 9, 0, tzinfo=UTC),
                "on": date(2026, 9, 1),
                "cents": 1250,
            }
        ],
    )
    assert part.name == "finance/wallets.json" and part.content_type == "application/json"
    text = part.content.decode("utf-8")
    assert "Zoé" in text  # not \u00e9
    assert text.index('"at"') < text.index('"cents"') < text.index('"name"') < text.index('"on"')
    assert json.loads(text) == [
        {"name": "Zoé", "at": "2026-12-03T09:00:00+00:00", "on": "2026-09-01", "cents": 1250}
    ]


def test_the_purge_deletes_published_outbox_rows_and_keeps_those_still_owed():
    md = MetaData()
    outbox, _inbox = bus_tables(md)
    engine = create_engine("sqlite://")
    md.create_all(engine)
    now = datetime(2026, 12, 3, tzinfo=UTC)
    with Session(engine) as session, session.begin():
        session.execute(
            outbox.insert(),
            [
                {"event_id": "e1", "event_name": "x", "body": b"Zoe", "published_at": now},
                {"event_id": "e2", "event_name": "x", "body": b"Zoe", "published_at": now},
                {"event_id": "e3", "event_name": "x", "body": b"Zoe", "published_at": None},
            ],
        )
        assert purge_published(session, outbox) == 2
        assert purge_published(session, outbox) == 0
        assert session.scalar(select(func.count()).select_from(outbox)) == 1
        assert session.scalar(select(outbox.c.event_id)) == "e3"
