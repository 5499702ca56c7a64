"""Wallets: the school's wallet types and every student's wallet of each type, with its own
structured communication (for top-ups by bank transfer). Students reach finance through
OpenStudentWallets (the gateway, right after creating one) and auth.student.created.v1
(``handlers.py``); whichever comes second finds the wallets open. auth.student.updated.v1 keeps their
names, class and level in step (a new level: new communications, the old ones still credit), and
whether they left the school (``common.refuse_left``: no new top-up, invoice or sale for a leaver;
their wallets stay readable, and money that still arrives for them is booked as any other)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from cartable.finance.v1 import finance_pb2 as pb
from kit import audit
from kit.errors import InvalidRequest, NotFound
from kit.identity import Identity
from kit.service import Runtime
from services.finance import db, views
from services.finance.db import direct_debit_queries
from services.finance.use_cases.common import now, require_student_here

LEVELS = ("nursery", "primary", "secondary")  # nursery: maternelle / kleuter (issue #19)
STATUSES = ("active", "left")
# After primary -> secondary, transfers with the old communication still credit the wallet this long.
OLD_COMMUNICATION_GRACE = timedelta(days=365)


class Wallets:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def list_wallets(self, who: Identity, student_id: str) -> pb.ListWalletsResponse:
        """The student's wallets, one per wallet type, with their balances and communications. Staff:
        a student finance does not know in their school is not found."""
        who.require_student(student_id)
        with self.rt.db.unit_of_work() as s:
            require_student_here(s, who, student_id)
            return pb.ListWalletsResponse(wallets=_wallets(s, who.school_id, student_id))

    def open_student_wallets(
        self, who: Identity, req: pb.OpenStudentWalletsRequest
    ) -> pb.OpenStudentWalletsResponse:
        """Make sure the student has one wallet per wallet type (idempotent). A new level gives every
        wallet a new structured communication; the old one keeps crediting it for a while."""
        who.require_staff()
        if not req.student_id or len(req.student_id) > 36:
            raise InvalidRequest("student_id is required", fields={"student_id": "required"})
        if req.level not in LEVELS:
            raise InvalidRequest(
                "level must be nursery, primary or secondary",
                fields={"level": "nursery | primary | secondary"},
            )
        with self.rt.db.unit_of_work() as s:
            self.open_wallets_in(
                s,
                who.school_id,
                req.student_id,
                req.level,
                first_name=req.first_name,
                last_name=req.last_name,
                class_name=req.class_name,
            )
            return pb.OpenStudentWalletsResponse(wallets=_wallets(s, who.school_id, req.student_id))

    def open_wallets_in(
        self,
        s: Session,
        school_id: str,
        student_id: str,
        level: str,
        *,
        first_name: str = "",
        last_name: str = "",
        class_name: str = "",
        update_existing: bool = True,
    ) -> int:
        """In the caller's transaction (the RPC, or the auth.student.created.v1 handler): record the
        student and open its missing wallets. Returns how many wallets were opened. With
        ``update_existing`` false (a possibly late event) a known student's level and names stay."""
        at = now(self.rt)
        db.school_lock(s, school_id, "wallets")
        db.add_student(
            s,
            id=student_id,
            school_id=school_id,
            level=level,
            first_name=first_name[:100],
            last_name=last_name[:100],
            class_name=class_name[:50],
            created_at=at,
        )
        student = db.student_row(s, student_id)
        if student.school_id != school_id:
            raise NotFound("not found")
        if update_existing:
            _bring_up_to_date(s, student, at, level, first_name, last_name, class_name)
        have = db.wallet_type_ids_of(s, student_id)
        opened = 0
        for type_id in db.wallet_type_ids(s, school_id):
            if type_id not in have:
                db.open_wallet(s, school_id, student_id, type_id, level, at)
                opened += 1
        return opened

    def follow_student_update(
        self,
        s: Session,
        school_id: str,
        student_id: str,
        *,
        level: str,
        previous_level: str,
        first_name: str,
        last_name: str,
        class_name: str,
        status: str = "",
        left_on: str = "",
        said_at: datetime | None = None,
    ) -> None:
        """auth.student.updated.v1, in the consumer's transaction: the student's names and class as
        auth has them now, and a new level (primary -> secondary) gives every wallet of the student a
        new structured communication while the old ones still credit the same wallets
        (OLD_COMMUNICATION_GRACE; statements.py matches by any communication still valid). The level
        changes only when finance holds the level the event left (``previous_level``), so that an
        event delivered late never undoes a later one. A student finance never heard of gets their
        wallets at the new level. ``status`` (active | left) and ``left_on`` are recorded unless
        finance holds what a later event said (``said_at``: when auth said it)."""
        if level not in LEVELS:
            level = "primary"
        self.open_wallets_in(
            s,
            school_id,
            student_id,
            level,
            first_name=first_name,
            last_name=last_name,
            class_name=class_name,
            update_existing=False,
        )
        student = db.student_row(s, student_id)
        follows = not previous_level or previous_level == student.level
        _bring_up_to_date(
            s, student, now(self.rt), level if follows else student.level, first_name, last_name, class_name
        )
        if status in STATUSES:
            _follow_status(s, db.student_row(s, student_id), status, left_on, said_at)

    def create_wallet_type(
        self, who: Identity, req: pb.CreateWalletTypeRequest
    ) -> pb.CreateWalletTypeResponse:
        """A wallet type for the school, opened at once for every student finance knows. An existing
        name (any case) answers the existing type."""
        who.require_staff()
        name = " ".join((req.name or "").split())
        if not name or len(name) > 100:
            raise InvalidRequest(
                "name is required (at most 100 characters)", fields={"name": "1 to 100 characters"}
            )
        at = now(self.rt)
        with self.rt.db.unit_of_work() as s:
            db.school_lock(s, who.school_id, "wallets")
            found = db.find_wallet_type(s, who.school_id, name.casefold())
            if found is not None:
                return pb.CreateWalletTypeResponse(wallet_type=views.wallet_type(found))
            type_id = db.add_wallet_type(s, who.school_id, name, at)
            known = db.students_of(s, who.school_id)
            for st in known:
                db.open_wallet(s, who.school_id, st.id, type_id, st.level, at)
            audit.record(
                self.rt,
                s,
                who,
                "finance.wallet_type.created",
                "wallet_type",
                type_id,
                f"{name}, {len(known)} wallets opened",
            )
            return pb.CreateWalletTypeResponse(
                wallet_type=pb.WalletType(id=type_id, name=name), wallets_opened=len(known), created=True
            )

    def list_wallet_types(self, who: Identity) -> pb.ListWalletTypesResponse:
        """Staff: the school's wallet types, in the order it created them."""
        who.require_staff()
        with self.rt.db.unit_of_work() as s:
            rows = db.wallet_types_of(s, who.school_id)
        return pb.ListWalletTypesResponse(wallet_types=[views.wallet_type(r) for r in rows])


def _bring_up_to_date(
    s: Session, student, at: datetime, level: str, first_name: str, last_name: str, class_name: str
) -> None:
    """The names and class given (an empty one stays), and the level: a new one renews every
    wallet's communication (the current one keeps crediting its wallet for OLD_COMMUNICATION_GRACE)."""
    changes: dict[str, str] = {
        k: v[:100]
        for k, v in (("first_name", first_name), ("last_name", last_name), ("class_name", class_name[:50]))
        if v and v[:100] != getattr(student, k)
    }
    if level != student.level:
        changes["level"] = level
        db.renew_communications(s, student.school_id, student.id, level, at, at + OLD_COMMUNICATION_GRACE)
    if changes:
        db.update_student(s, student.id, changes)


def _follow_status(s: Session, student, status: str, left_on: str, said_at: datetime | None) -> None:
    """The student's status and leaving date as auth said them at ``said_at``, unless finance already
    holds what auth said later (events of one student may arrive out of order after a retry)."""
    if said_at is not None and student.status_at is not None and db.utc(student.status_at) > said_at:
        return
    try:
        day = date.fromisoformat(left_on) if status == "left" and left_on else None
    except ValueError:
        day = None
    changes = {"status": status, "left_on": day, "status_at": said_at}
    if any(getattr(student, k) != v for k, v in changes.items() if k != "status_at"):
        db.update_student(s, student.id, changes)
    elif said_at is not None:
        db.update_student(s, student.id, {"status_at": said_at})


def _wallets(s: Session, school_id: str, student_id: str) -> list[pb.Wallet]:
    """The student's wallets, each with its automatic top-up and what direct debits collect for it."""
    rows = db.student_wallets(s, school_id, student_id)
    states = direct_debit_queries.wallet_collection_states(s, [r.id for r in rows])
    return [views.wallet(r, states.get(r.id)) for r in rows]
