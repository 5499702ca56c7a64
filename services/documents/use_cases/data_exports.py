"""A family's data as one ZIP (issue #21, ``DataExportService``): requested by the parent or staff,
leased to one builder at a time (the gateway gathers the other services' parts), completed here with
documents' own part and a manifest, kept 7 days in the blob store, then expired by ``purge-exports``.

Who sees an export: the parent it is about and the staff of its school; anyone else, or another
school, gets not_found. The file itself goes ONLY to the parent it is about (a manager's request is
downloaded by the parent: the national numbers in it go to no one but the family)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from cartable.privacy.v1 import privacy_pb2 as ppb
from kit import audit
from kit.errors import Conflict, Forbidden, InvalidRequest, NotFound, RateLimited
from kit.family_data import require_export_caller
from kit.identity import Identity
from kit.service import Runtime
from services.documents import events, exports_db
from services.documents.blobstore import BlobStore
from services.documents.db import aware
from services.documents.domain.archive import ArchiveFile, build_zip, part_name_problems
from services.documents.family_data import FamilyData
from services.documents.use_cases.common import new_blob_key

log = logging.getLogger("documents.data_exports")

KEPT = timedelta(days=7)  # a ready archive, then it is deleted
ABANDONED = timedelta(days=7)  # a pending export no builder finished: expired, a new request may start
DEFAULT_LEASE_SECONDS = 300
MAX_LEASE_SECONDS = 3600
ZIP = "application/zip"
MAX_PIECE = 8 * 1024 * 1024  # bytes of the archive one OpenDataExport answers
# Each export reads every service and writes a ZIP: at most this many new ones a parent in a day
# (the one pending is answered again without counting).
MAX_PER_DAY = 5
DAY = timedelta(days=1)


def _instant(dt: datetime | None) -> str:
    return "" if dt is None else aware(dt).isoformat()


def status_of(row, now: datetime) -> str:
    """pending | ready | expired: a ready export is expired once its expiry passed, purged or not."""
    if row.status == "ready" and row.expires_at is not None and aware(row.expires_at) <= now:
        return "expired"
    return str(row.status)


def _message(row, now: datetime) -> ppb.DataExport:
    return ppb.DataExport(
        id=row.id,
        parent_id=row.parent_id,
        status=status_of(row, now),
        requested_at=_instant(row.requested_at),
        ready_at=_instant(row.ready_at),
        expires_at=_instant(row.expires_at),
        requested_by=row.requested_by,
        size_bytes=row.size_bytes if row.status == "ready" else 0,
    )


def _refuse_too_many(recent: list[datetime], now: datetime) -> None:
    """rate_limited (429, Retry-After) once the parent had MAX_PER_DAY exports in the last day."""
    if len(recent) >= MAX_PER_DAY:
        retry = aware(recent[len(recent) - MAX_PER_DAY]) + DAY - now
        raise RateLimited(
            f"at most {MAX_PER_DAY} data exports a day: the last ones are still there to download",
            retry_after=max(1, int(retry.total_seconds()) + 1),
        )


def _sees(who: Identity, row) -> bool:
    """The parent it is about, or the staff of its school (the row was read in the caller's school)."""
    return who.is_staff or (who.role == "parent" and who.account_id == row.parent_id)


class DataExports:
    def __init__(self, rt: Runtime, blobs: BlobStore, family: FamilyData) -> None:
        self.rt = rt
        self.blobs = blobs
        self.family = family

    def _load(self, s, who: Identity, export_id: str, *, lock: bool = False):
        row = exports_db.find(s, who.school_id, export_id, lock=lock) if export_id else None
        if row is None or not _sees(who, row):
            raise NotFound("no such data export")
        return row

    def _parent_of_request(self, who: Identity, parent_id: str) -> str:
        if who.role == "parent":
            if parent_id and parent_id != who.account_id:
                raise Forbidden("a parent asks for their own data only")
            return who.account_id
        who.require_staff()
        if not parent_id:
            raise InvalidRequest("parent_id is required", fields={"parent_id": "required"})
        return parent_id

    def request_data_export(self, who: Identity, parent_id: str) -> ppb.DataExport:
        """A new pending export for the parent, or the one still pending (no second build at once).
        Staff name a parent of their school (the gateway checked it with auth); audited."""
        if who.role == "parent" and not parent_id:
            raise InvalidRequest("parent_id is required", fields={"parent_id": "required"})
        parent_id = self._parent_of_request(who, parent_id)
        now = self.rt.clock()
        try:
            with self.rt.db.unit_of_work() as s:
                row = exports_db.pending_for(s, who.school_id, parent_id)
                if row is None:
                    _refuse_too_many(exports_db.requested_since(s, who.school_id, parent_id, now - DAY), now)
                    export_id = exports_db.insert(s, who.school_id, parent_id, who.account_id, now)
                    if who.is_staff:
                        action = "documents.data_export.requested"
                        detail = f"for parent {parent_id}"
                        audit.record(self.rt, s, who, action, "data_export", export_id, detail)
                    row = exports_db.find(s, who.school_id, export_id)
                return _message(row, now)
        except IntegrityError:  # requested at the same moment by another call: that one is pending
            with self.rt.db.unit_of_work() as s:
                row = exports_db.pending_for(s, who.school_id, parent_id)
                if row is None:
                    raise
                return _message(row, now)

    def claim_data_export(
        self, who: Identity, export_id: str, lease_seconds: int
    ) -> ppb.ClaimDataExportResponse:
        """The build of a pending export for ``lease_seconds`` (0: 300): claimed false when it is not
        pending or another builder's lease has not run out."""
        if lease_seconds == 0:
            lease_seconds = DEFAULT_LEASE_SECONDS
        if not 0 < lease_seconds <= MAX_LEASE_SECONDS:
            raise InvalidRequest(
                "lease_seconds out of range", fields={"lease_seconds": f"1 to {MAX_LEASE_SECONDS}"}
            )
        now = self.rt.clock()
        with self.rt.db.unit_of_work() as s:
            self._load(s, who, export_id)
            claimed = exports_db.claim(s, export_id, now, now + timedelta(seconds=lease_seconds))
            row = exports_db.find(s, who.school_id, export_id)
            return ppb.ClaimDataExportResponse(claimed=claimed, export=_message(row, now))

    def complete_data_export(
        self,
        who: Identity,
        export_id: str,
        student_ids: Sequence[str],
        parts: Sequence[ppb.ExportFile],
        *,
        classes: dict[str, str] | None = None,
        left_on: dict[str, str] | None = None,
    ) -> ppb.DataExport:
        """Documents' own part for the same ids, every part given and ``manifest.json`` in one ZIP in
        the blob store; the export ready for 7 days and documents.data_export.ready.v1 published, in
        one transaction. A ready export is answered as it is; an expired one: export_expired.
        ``classes`` and ``left_on`` (a staff caller's, from auth through the gateway) say which class
        albums the children saw; a parent's token says it for them."""
        now = self.rt.clock()
        with self.rt.db.unit_of_work() as s:
            row = self._load(s, who, export_id)
        if (answer := self._done(row, now)) is not None:
            return answer
        ids = require_export_caller(who, row.parent_id, student_ids)
        problems = part_name_problems([p.name for p in parts])
        if problems:
            raise InvalidRequest("some parts cannot go in the archive", fields=problems)
        own = self.family.export(who, row.parent_id, ids, classes=classes, left_on=left_on)
        files = [ArchiveFile(f.name, f.content, f.content_type) for f in [*own, *parts]]
        data = build_zip(files, now, export_id=export_id, parent_id=row.parent_id, student_ids=ids)
        key = new_blob_key("zip")
        self.blobs.put(key, data, ZIP)
        kept = False
        try:
            with self.rt.db.unit_of_work() as s:
                row = self._load(s, who, export_id, lock=True)
                mine = row.status == "pending"
                if mine:
                    expires_at = now + KEPT
                    exports_db.mark_ready(s, export_id, key, len(data), now, expires_at)
                    events.data_export_ready(
                        self.rt, s, row.school_id, export_id, row.parent_id, _instant(expires_at)
                    )
                    row = exports_db.find(s, who.school_id, export_id)
            kept = mine
        finally:
            if not kept:  # nothing refers to it (another builder finished first, or this one failed)
                self.blobs.delete(key)
        if not kept:
            return self._done(row, now) or _message(row, now)
        log.info("data export ready", extra={"export_id": export_id, "size_bytes": len(data)})
        return _message(row, now)

    def _done(self, row, now: datetime) -> ppb.DataExport | None:
        """A ready export's answer; export_expired for an expired one; None while pending."""
        status = status_of(row, now)
        if status == "expired":
            raise Conflict("this data export has expired; ask for a new one", code="export_expired")
        return _message(row, now) if status == "ready" else None

    def get_data_export(self, who: Identity, export_id: str) -> ppb.DataExport:
        """One export (its status by the clock: expired once its expiry passed)."""
        now = self.rt.clock()
        with self.rt.db.unit_of_work() as s:
            return _message(self._load(s, who, export_id), now)

    def list_data_exports(self, who: Identity, parent_id: str) -> ppb.ListDataExportsResponse:
        """A parent's exports, newest first: a parent their own; staff any parent of their school."""
        parent_id = self._parent_of_request(who, parent_id)
        now = self.rt.clock()
        with self.rt.db.unit_of_work() as s:
            rows = exports_db.of_parent(s, who.school_id, parent_id)
            return ppb.ListDataExportsResponse(items=[_message(r, now) for r in rows])

    def open_data_export(
        self, who: Identity, export_id: str, offset: int = 0, length: int = 0
    ) -> ppb.OpenDataExportResponse:
        """The ZIP (``length`` bytes from ``offset``; 0: all of it), only to the parent it is about;
        pending: export_pending; expired: not_found."""
        if offset < 0 or not 0 <= length <= MAX_PIECE:
            raise InvalidRequest(
                "offset and length out of range", fields={"length": f"0 to {MAX_PIECE}", "offset": ">= 0"}
            )
        if who.role != "parent":
            raise NotFound("no such data export")
        now = self.rt.clock()
        with self.rt.db.unit_of_work() as s:
            row = self._load(s, who, export_id)
        status = status_of(row, now)
        if status == "pending":
            raise Conflict("this data export is still being prepared", code="export_pending")
        if status != "ready" or not row.blob_key:
            raise NotFound("no such data export")
        try:
            if length:
                content = self.blobs.get_range(row.blob_key, offset, length)
            else:
                content = self.blobs.get(row.blob_key)[offset:]
        except FileNotFoundError:
            log.error("data export file missing", extra={"export_id": export_id})
            raise NotFound("no such data export") from None
        day = aware(row.ready_at).date().isoformat()
        return ppb.OpenDataExportResponse(
            content=content, filename=f"cartable-export-{day}.zip", total_bytes=row.size_bytes
        )

    def purge_expired(self) -> tuple[int, int]:
        """Delete the archives of expired exports and mark them expired (and pending ones abandoned
        for 7 days); (expired, failures: retried at the next run)."""
        now = self.rt.clock()
        with self.rt.db.unit_of_work() as s:
            rows = exports_db.to_expire(s, now, now - ABANDONED)
        failed = 0
        for row in rows:
            try:
                if row.blob_key:
                    self.blobs.delete(row.blob_key)
            except Exception:
                failed += 1
                log.exception("data export file not deleted", extra={"export_id": row.id})
                continue
            with self.rt.db.unit_of_work() as s:
                exports_db.mark_expired(s, row.id)
        return len(rows) - failed, failed
