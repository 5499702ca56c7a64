"""kit.privacy: the erasure pseudonym and find_text, the search an erasure test asserts on."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Integer, LargeBinary, MetaData, String, Table, create_engine

from kit.privacy import ERASED_STUDENT, find_text, pseudonym


def test_the_pseudonym_is_stable_per_id_and_holds_nothing_of_the_name():
    a = pseudonym(ERASED_STUDENT, "student-1")
    assert a == pseudonym(ERASED_STUDENT, "student-1")
    assert a != pseudonym(ERASED_STUDENT, "student-2")
    assert a.startswith("Élève ") and len(a.split()[1]) == 6


def test_find_text_finds_a_name_in_text_json_and_protobuf_bytes_and_nowhere_else():
    md = MetaData()
    people = Table("people", md, Column("id", Integer, primary_key=True), Column("name", String(50)))
    outbox = Table("outbox", md, Column("id", Integer, primary_key=True), Column("body", LargeBinary))
    log = Table("log", md, Column("id", Integer, primary_key=True), Column("detail", JSON))
    counts = Table("counts", md, Column("id", Integer, primary_key=True), Column("n", Integer))
    engine = create_engine("sqlite://")
    md.create_all(engine)
    with engine.begin() as conn:
        conn.execute(people.insert(), [{"name": "Zoé Vandermeulen"}, {"name": "Élève 3F9A2C"}])
        conn.execute(outbox.insert(), [{"body": b"\x0a\x10" + "Zoé Vandermeulen".encode()}])
        conn.execute(log.insert(), [{"detail": {"who": "other"}}])
        conn.execute(counts.insert(), [{"n": 1}])
        tables = [people, outbox, log, counts]
        assert find_text(conn, tables, ["vandermeulen"]) == [("people", "name"), ("outbox", "body")]
        conn.execute(log.insert(), [{"detail": {"who": "Vandermeulen"}}])
        assert ("log", "detail") in find_text(conn, tables, ["Vandermeulen"])
        conn.execute(people.delete().where(people.c.name.like("%Vandermeulen")))
        conn.execute(outbox.delete())
        conn.execute(log.delete())
        assert find_text(conn, tables, ["Vandermeulen", ""]) == []
