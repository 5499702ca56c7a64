"""Idempotency keys for calls that move money or create orders.

The first answer to ``(scope, key)`` is stored in the same transaction as the work it reports; the
same key with the same request answers it again and changes nothing; with another request, 409
``idempotency_key_reused``. Two concurrent calls with one key: the unique key makes the second wait
for the first and then replay its answer. Keys expire after ``KEY_TTL``: ``purge_expired_keys``
removes them, run on a schedule by each service's ``purge`` command.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from google.protobuf.message import Message
from sqlalchemy import Column, DateTime, LargeBinary, MetaData, Row, String, Table, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kit.db import Database, delete_in_batches
from kit.errors import AppError, Conflict, InvalidRequest

M = TypeVar("M", bound=Message)

# How long a key answers its first answer again: far longer than any client retries a call (a
# network error, a double click, an app resumed the next day). After that the key is purged and the
# same key runs the work again.
KEY_TTL = timedelta(days=7)


def idempotency_table(metadata: MetaData) -> Table:
    return Table(
        "idempotency_keys",
        metadata,
        Column("scope", String(80), primary_key=True),
        Column("key", String(200), primary_key=True),
        Column("request_hash", String(64), nullable=False),
        Column("response", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
    )


def request_hash(request: Message, *, exclude: tuple[str, ...] = ("idempotency_key",)) -> str:
    """A stable hash of a request's content, without the key itself."""
    copy = type(request)()
    copy.CopyFrom(request)
    for name in exclude:
        if name in copy.DESCRIPTOR.fields_by_name:
            copy.ClearField(name)
    return hashlib.sha256(copy.SerializeToString(deterministic=True)).hexdigest()


def run_idempotent(
    db: Database,
    table: Table,
    scope: str,
    key: str,
    req_hash: str,
    response_type: type[M],
    work: Callable[[Session], M],
) -> M:
    """Run ``work`` once per ``(scope, key)`` in one transaction; replay its stored answer afterwards.

    Without a key the work simply runs. A failed call (domain error) stores nothing.
    """
    if not key:
        with db.unit_of_work() as s:
            return work(s)
    if len(key) > 200:
        raise InvalidRequest(
            "Idempotency-Key is too long", fields={"Idempotency-Key": "at most 200 characters"}
        )

    def stored(s: Session) -> Row[str, bytes] | None:
        q = select(table.c.request_hash, table.c.response).where(table.c.scope == scope, table.c.key == key)
        return s.execute(q).first()

    for _attempt in range(3):
        try:
            with db.unit_of_work() as s:
                row = stored(s)
                if row is not None:
                    if row.request_hash != req_hash:
                        raise Conflict(
                            "this Idempotency-Key was used for another request", code="idempotency_key_reused"
                        )
                    return response_type.FromString(row.response)
                response = work(s)
                s.execute(
                    table.insert().values(
                        scope=scope,
                        key=key,
                        request_hash=req_hash,
                        response=response.SerializeToString(),
                        created_at=datetime.now(UTC),
                    )
                )
                return response
        except IntegrityError:
            continue  # a concurrent call with the same key committed first: replay its answer
        except AppError as err:
            if err.code == "idempotency_key_reused":
                raise
            # Two calls with one key at once: this one waited on the first one's row lock and then
            # saw its effect (e.g. already_paid). The key promises the first answer: give it when it
            # is there by now (read after this transaction ended: SQLite has one writer at a time).
            with db.unit_of_work() as s:
                first = stored(s)
            if first is not None and first.request_hash == req_hash:
                return response_type.FromString(first.response)
            raise
    raise Conflict("the request is being processed, retry", code="idempotency_key_in_use")


def purge_expired_keys(db: Database, table: Table, now: datetime, ttl: timedelta = KEY_TTL) -> int:
    """Delete the keys (and their stored answers) created more than ``ttl`` ago."""
    return delete_in_batches(db, table, table.c.created_at < now - ttl)
