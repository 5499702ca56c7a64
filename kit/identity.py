"""The identity token of DESIGN.md: who calls, with which role, for which school and students.

Auth signs it with its Ed25519 private key (EdDSA JWT, a few minutes long); every service verifies it
with auth's public key and refuses a call for a student the token does not name.

A token auth issues right after the caller typed their password again (auth's Reauthenticate) also
carries ``reauthenticated_at`` (epoch seconds): what a sensitive change (the school's IBAN) asks for,
with :meth:`Identity.require_reauthenticated`. Tokens without it verify as before (``None``).

A parent's children who left the school (issue #16) stay in their token, read-only: the ``stu`` claim
names the active ones as before ({student_id: class}), a ``left`` claim the leavers ({student_id:
{"class": ..., "left_on": "YYYY-MM-DD"}}). :attr:`Identity.students` holds both (what the caller may
see: :meth:`Identity.may_act_for`), :attr:`Identity.left` the leavers' dates; what creates something
new for a student (a top-up, an order, a booking, an invoice) asks :meth:`Identity.may_change_for` or
:meth:`Identity.refuse_left` (409 ``student_left``). A verifier that predates the claim ignores it, so
to it a leaver is not in the token at all (refused, as before the claim existed); a token without it
names no leaver.
"""

from __future__ import annotations

import contextvars
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kit.errors import Conflict, Forbidden, NotFound, Unauthenticated

ISSUER = "cartable-auth"
AUDIENCE = "cartable"
METADATA_KEY = "authorization"
REAUTH_CLAIM = "reauthenticated_at"
LEFT_CLAIM = "left"
# The error code of something new refused for a student who left the school (409).
STUDENT_LEFT = "student_left"
# A reauthentication dated this far ahead of the verifier's clock is accepted (clocks drift a little).
REAUTH_CLOCK_SKEW = 30


@dataclass(frozen=True)
class Identity:
    """The verified caller. ``students`` maps each student the caller may act for to its class (a
    parent's children, those who left the school included); ``left`` maps the ones who left to their
    leaving date (YYYY-MM-DD): they are shown, read-only."""

    account_id: str
    role: str  # parent | staff | system
    school_id: str
    students: dict[str, str] = field(default_factory=dict)
    token: str = ""
    # Epoch seconds of the caller's last password check (auth's Reauthenticate); None: not in the token.
    reauthenticated_at: int | None = None
    left: dict[str, str] = field(default_factory=dict)

    @property
    def is_staff(self) -> bool:
        return self.role in ("staff", "system")

    def may_act_for(self, student_id: str) -> bool:
        """Whether the caller may see the student's things (staff: any of their school; a parent: their
        children, those who left included)."""
        return self.role in ("staff", "system") or student_id in self.students

    def is_left(self, student_id: str) -> bool:
        """Whether the token says the student left the school (a staff token names no student: the
        service's own records say it for staff calls)."""
        return student_id in self.left

    def left_on(self, student_id: str) -> str:
        """The leaving date (YYYY-MM-DD) the token gives a student who left; "" for any other."""
        return self.left.get(student_id, "")

    def may_change_for(self, student_id: str) -> bool:
        """Whether the caller may create something new for the student (a top-up, an order, a
        booking): they may act for them and the token does not say they left."""
        return self.may_act_for(student_id) and not self.is_left(student_id)

    def refuse_left(self, student_id: str) -> None:
        """Refuse something new for a student the token says left the school: Conflict
        ``student_left`` (409). Who may act for the student at all is the other checks' business."""
        if self.is_left(student_id):
            raise Conflict("this student has left the school", code=STUDENT_LEFT)

    def require_student(self, student_id: str) -> None:
        """Refuse a call for a student this identity does not name (staff: any of their school)."""
        if not student_id or not self.may_act_for(student_id):
            raise Forbidden("you may not act for this student")

    def require_owner(self, student_id: str) -> None:
        """Like require_student, but answers not_found: what belongs to someone else is not shown."""
        if not student_id or not self.may_act_for(student_id):
            raise NotFound("not found")

    def require_staff(self) -> None:
        if not self.is_staff:
            raise Forbidden("this is for the school's staff")

    def require_school(self, school_id: str) -> None:
        if school_id != self.school_id:
            raise NotFound("not found")

    def reauthenticated_within(self, seconds: int, now: float | None = None) -> bool:
        """Whether the caller typed their password again at most ``seconds`` ago (a date slightly
        ahead of ``now`` counts as now: clocks drift)."""
        if self.reauthenticated_at is None:
            return False
        now = time.time() if now is None else now
        return -REAUTH_CLOCK_SKEW <= now - self.reauthenticated_at <= seconds

    def require_reauthenticated(self, seconds: int, now: float | None = None) -> None:
        """Refuse a sensitive change unless the caller typed their password again at most ``seconds``
        ago: Forbidden ``reauthentication_required`` (the gateway asks for ``current_password``)."""
        if not self.reauthenticated_within(seconds, now):
            raise Forbidden("type your password again to make this change", code="reauthentication_required")


current_identity: contextvars.ContextVar[Identity | None] = contextvars.ContextVar(
    "current_identity", default=None
)


def current() -> Identity:
    """The identity of the call being served; raises Unauthenticated outside a verified call."""
    ident = current_identity.get()
    if ident is None:
        raise Unauthenticated("a valid identity token is required")
    return ident


def generate_keypair(private_file: Path, public_file: Path) -> None:
    """Write a new Ed25519 key pair (PEM). The private key file is readable by its owner only."""
    key = Ed25519PrivateKey.generate()
    private_file.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    tmp = private_file.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    os.replace(tmp, private_file)
    public_file.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def ensure_keypair(private_file: Path, public_file: Path) -> None:
    """Create the local key pair when missing (local runs and tests; production mounts a Secret)."""
    if not private_file.exists() or not public_file.exists():
        generate_keypair(private_file, public_file)


# How many tokens a signer or a verifier remembers (the most recent ones; a few hundred bytes each).
TOKEN_CACHE_SIZE = 4096


class TokenSigner:
    """Signs identity tokens (auth only).

    A token signed for the same claims less than half its life ago is handed out again instead of
    signing anew (the claims are computed from the database on every call, so a change of children,
    class or role is a new token at once); a token handed out always has at least half its life left."""

    def __init__(self, private_pem: bytes, ttl_seconds: int = 300, key_id: str = "1") -> None:
        # EdDSA is the one algorithm signed and accepted: the keys are Ed25519 (generate_keypair).
        self._key = cast(Ed25519PrivateKey, serialization.load_pem_private_key(private_pem, password=None))
        self.ttl = ttl_seconds
        self.key_id = key_id
        self._recent: OrderedDict[tuple[object, ...], tuple[str, int]] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: Path, ttl_seconds: int = 300) -> TokenSigner:
        return cls(path.read_bytes(), ttl_seconds)

    def sign(self, identity: Identity, now: float | None = None) -> tuple[str, int]:
        """(token, exp in epoch seconds) for ``identity``; ``now``: sign as of that time (never
        reused)."""
        if now is not None:
            return self._sign(identity, now)
        now = time.time()
        key = (
            identity.account_id,
            identity.role,
            identity.school_id,
            tuple(sorted(identity.students.items())),
            tuple(sorted(identity.left.items())),
            identity.reauthenticated_at,
        )
        with self._lock:
            hit = self._recent.get(key)
            if hit is not None and hit[1] - now >= self.ttl / 2:
                self._recent.move_to_end(key)
                return hit
        signed = self._sign(identity, now)
        with self._lock:
            self._recent[key] = signed
            self._recent.move_to_end(key)
            while len(self._recent) > TOKEN_CACHE_SIZE:
                self._recent.popitem(last=False)
        return signed

    def _sign(self, identity: Identity, now: float) -> tuple[str, int]:
        exp = int(now) + self.ttl
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": identity.account_id,
            "role": identity.role,
            "school": identity.school_id,
            "stu": {k: v for k, v in identity.students.items() if k not in identity.left},
            "iat": int(now),
            "exp": exp,
        }
        if identity.reauthenticated_at is not None:
            claims[REAUTH_CLAIM] = int(identity.reauthenticated_at)
        if identity.left:
            claims[LEFT_CLAIM] = {
                k: {"class": identity.students.get(k, ""), "left_on": on} for k, on in identity.left.items()
            }
        token = jwt.encode(claims, self._key, algorithm="EdDSA", headers={"kid": self.key_id})
        return token, exp


class TokenVerifier:
    """Verifies identity tokens with one or more public keys (several during a key rotation).

    A token verified once is remembered (its signature and claims cannot change) until it expires:
    the same caller's next calls are a dictionary lookup and the expiry check, not a signature check."""

    def __init__(self, public_pems: list[bytes], leeway: int = 5) -> None:
        self._keys = [cast(Ed25519PublicKey, serialization.load_pem_public_key(p)) for p in public_pems]
        self.leeway = leeway
        self._verified: OrderedDict[str, tuple[Identity, int]] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_files(cls, paths: list[Path]) -> TokenVerifier:
        return cls([p.read_bytes() for p in paths if p.exists()])

    def verify(self, token: str) -> Identity:
        with self._lock:
            hit = self._verified.get(token)
            if hit is not None:
                if time.time() > hit[1] + self.leeway:
                    del self._verified[token]
                    raise Unauthenticated("the identity token has expired")
                self._verified.move_to_end(token)
                return hit[0]
        identity, exp = self._verify(token)
        with self._lock:
            self._verified[token] = (identity, exp)
            while len(self._verified) > TOKEN_CACHE_SIZE:
                self._verified.popitem(last=False)
        return identity

    def _verify(self, token: str) -> tuple[Identity, int]:
        last: Exception | None = None
        for key in self._keys:
            try:
                claims = jwt.decode(
                    token,
                    key,
                    algorithms=["EdDSA"],
                    audience=AUDIENCE,
                    issuer=ISSUER,
                    leeway=self.leeway,
                    options={"require": ["exp", "sub", "iss", "aud"]},
                )
            except jwt.ExpiredSignatureError as exc:
                raise Unauthenticated("the identity token has expired") from exc
            except jwt.PyJWTError as exc:
                last = exc
                continue
            students = claims.get("stu") or {}
            if not isinstance(students, dict):
                raise Unauthenticated("malformed identity token")
            reauthenticated_at = claims.get(REAUTH_CLAIM)
            if reauthenticated_at is not None and (
                isinstance(reauthenticated_at, bool) or not isinstance(reauthenticated_at, int)
            ):
                raise Unauthenticated("malformed identity token")
            classes = {str(k): str(v) for k, v in students.items()}
            left = _left_claim(claims.get(LEFT_CLAIM))
            for student_id, (class_name, _on) in left.items():
                classes.setdefault(student_id, class_name)
            identity = Identity(
                account_id=str(claims["sub"]),
                role=str(claims.get("role", "")),
                school_id=str(claims.get("school", "")),
                students=classes,
                token=token,
                reauthenticated_at=reauthenticated_at,
                left={k: on for k, (_c, on) in left.items()},
            )
            return identity, int(claims["exp"])
        raise Unauthenticated("invalid identity token") from last


def _left_claim(value: object) -> dict[str, tuple[str, str]]:
    """The ``left`` claim as {student_id: (class, left_on)}; absent: none; anything else but its
    shape: Unauthenticated (a token auth signed always has it right)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Unauthenticated("malformed identity token")
    out: dict[str, tuple[str, str]] = {}
    for student_id, entry in value.items():
        if not isinstance(entry, dict):
            raise Unauthenticated("malformed identity token")
        class_name, left_on = entry.get("class", ""), entry.get("left_on", "")
        if not isinstance(class_name, str) or not isinstance(left_on, str):
            raise Unauthenticated("malformed identity token")
        out[str(student_id)] = (class_name, left_on)
    return out
