"""Schools, staff, students and families for end-to-end and browser tests, made the way a school makes
them: the school and its manager with the auth command line, everything else through the public API,
and the parent's first connection with the token read from the mail the suite's catcher caught.

    staff = new_school(suite)                        # a new school and its signed-in manager
    emma = staff.create_student("Emma", "Peeters", "3A")
    family = new_family(suite, staff, children=[emma, {"first_name": "Noah", "class_name": "1B"}])
    family.get("/children").json()                   # relative paths are under /api/v1
    family.browser_login(page)                       # the same parent, signed in through the web form

Every call makes new, unique names, so tests sharing the session-wide ``suite`` never collide.
The API here is shared by every area's tests: add to it, do not change what exists.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
import threading
import uuid
from collections.abc import Iterable, Mapping
from email.message import EmailMessage
from typing import Any

import requests

from kit.testing import wait_for
from tests.addresses import client_address_header

API_PREFIX = "/api/v1"
TIMEOUT = 30
DEFAULT_PASSWORD = "Tournesol bleu sous la pluie 7"
STAFF_PASSWORD = "Cartable manager passphrase 42!"
# a connection token as auth mails it: 7 groups of 4 Crockford base32 characters
TOKEN_RE = re.compile(r"\b[0-9A-HJKMNP-TV-Z]{4}(?:-[0-9A-HJKMNP-TV-Z]{4}){6}\b")


def unique(prefix: str = "") -> str:
    """A short unique suffix (letters only after the prefix, so it fits names too)."""
    letters = "".join(chr(ord("a") + int(c, 16) % 26) for c in uuid.uuid4().hex[:8])
    return f"{prefix}{letters}"


# -- HTTP clients ----------------------------------------------------------------------------------


class ApiClient:
    """A ``requests.Session`` on the suite's gateway. ``get/post/put/delete`` take API paths relative
    to ``/api/v1`` (``"/children"``), or absolute ones (``"/api/v1/children"``, ``"http://..."``);
    ``page(path)`` fetches a web page (``"/tableau-de-bord"``). None raises on an HTTP error status:
    tests look at it (or use ``expect``)."""

    def __init__(self, base: str, session_token: str | None = None) -> None:
        self.base = base.rstrip("/")
        self.http = requests.Session()
        self.session_token = session_token
        if session_token:
            self.http.headers["Authorization"] = f"Bearer {session_token}"

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        if not path.startswith("/"):
            path = "/" + path
        if path.startswith("/api/"):
            return self.base + path
        return self.base + API_PREFIX + path

    def request(self, method: str, path: str, **kw: Any) -> requests.Response:
        kw.setdefault("timeout", TIMEOUT)
        return self.http.request(method, self.url(path), **kw)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> requests.Response:
        return self.request("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.request("DELETE", path, **kw)

    def page(self, path: str, method: str = "GET", **kw: Any) -> requests.Response:
        """A web page (not under /api/v1), with this client's session."""
        kw.setdefault("timeout", TIMEOUT)
        url = path if path.startswith(("http://", "https://")) else self.base + path
        return self.http.request(method, url, **kw)


def anonymous(suite) -> ApiClient:
    """A client that is not signed in, from an address of its own (``client_address_header``)."""
    client = ApiClient(suite.base_url)
    client.http.headers.update(client_address_header())
    return client


def expect(resp: requests.Response, *statuses: int) -> requests.Response:
    """``resp`` if its status is one of ``statuses`` (default 2xx), else an AssertionError showing it."""
    ok = resp.status_code in statuses if statuses else 200 <= resp.status_code < 300
    if not ok:
        raise AssertionError(f"{resp.request.method} {resp.url} -> {resp.status_code}: {resp.text[:1000]}")
    return resp


class StaffClient(ApiClient):
    """A school's manager signed in through the API (Bearer)."""

    def __init__(
        self,
        suite,
        *,
        school_id: str,
        school_name: str,
        account_id: str,
        username: str,
        password: str,
        session: dict[str, Any],
    ) -> None:
        super().__init__(suite.base_url, session["session_token"])
        self.suite = suite
        self.school_id = school_id
        self.school_name = school_name
        self.account_id = account_id
        self.username = username
        self.password = password
        self.session = session

    def create_student(
        self, first_name: str, last_name: str, class_name: str, level: str = "primary"
    ) -> dict:
        """POST /admin/students; the answer (``{id, wallets}``) plus the names given, for ``new_family``."""
        resp = expect(
            self.post(
                "/admin/students",
                json={
                    "first_name": first_name,
                    "last_name": last_name,
                    "class_name": class_name,
                    "level": level,
                },
            ),
            201,
        )
        return {
            **resp.json(),
            "first_name": first_name,
            "last_name": last_name,
            "class_name": class_name,
            "level": level,
        }

    def create_parent(
        self, first_name: str, last_name: str, email: str, student_ids: Iterable[str], language: str = "fr"
    ) -> dict:
        """POST /admin/parents: ``{id, username}``; auth mails the connection token."""
        body = {
            "first_name": first_name,
            "last_name": last_name,
            "email": email,
            "student_ids": list(student_ids),
            "language": language,
        }
        return expect(self.post("/admin/parents", json=body), 201).json()

    def reissue_token(self, parent_id: str) -> requests.Response:
        """POST /admin/parents/{id}/token (202): a new token is mailed, the old one stops working."""
        return expect(self.post(f"/admin/parents/{parent_id}/token"), 202)


class ParentClient(ApiClient):
    """A parent who has made their first connection, signed in through the API (Bearer)."""

    def __init__(
        self, suite, *, parent_id: str, username: str, password: str, email: str, session: dict
    ) -> None:
        super().__init__(suite.base_url, session["session_token"])
        self.suite = suite
        self.parent_id = parent_id
        self.id = parent_id
        self.username = username
        self.password = password
        self.email = email
        self.session = session

    @property
    def children(self) -> list[dict]:
        return self.session["children"]

    @property
    def active_child_id(self) -> str | None:
        return self.session["active_child_id"]

    @property
    def child(self) -> dict | None:
        """The active child (``None`` while several and none chosen)."""
        return next((c for c in self.children if c["id"] == self.active_child_id), None)

    def select_child(self, child_id: str) -> dict:
        self.session = expect(self.put("/session/child", json={"child_id": child_id}), 200).json()
        return self.session

    def sign_in_again(self) -> ParentClient:
        """A second, separate session of this parent (POST /session)."""
        resp = expect(
            anonymous(self.suite).post(
                "/session", json={"username": self.username, "password": self.password}
            ),
            200,
        )
        return ParentClient(
            self.suite,
            parent_id=self.parent_id,
            username=self.username,
            password=self.password,
            email=self.email,
            session=resp.json(),
        )

    def browser_login(self, page, child_id: str | None = None) -> None:
        """Sign in through the web form in Playwright's ``page`` (any language); with several children
        choose ``child_id`` (default the first) so the page lands on the dashboard."""
        page.goto(self.suite.base_url + "/connexion")
        page.fill("#username", self.username)
        page.fill("#password", self.password)
        with page.expect_navigation():
            page.locator("form[action='/connexion'] button[type=submit]").click()
        if "/enfants" in page.url:
            wanted = child_id or self.children[0]["id"]
            with page.expect_navigation():
                page.locator(f"form:has(input[name=child_id][value='{wanted}']) button[type=submit]").click()


# -- the auth command line -------------------------------------------------------------------------


_AUTH_LOCK = threading.Lock()


def _auth_runtime(suite):
    """Auth's runtime on the suite's database, built once per suite (the commands run in-process:
    starting a Python process per school cost seconds in every test)."""
    rt = getattr(suite, "_auth_command_runtime", None)
    if rt is None:
        from kit.service import bootstrap
        from kit.settings import load_settings
        from services.auth.app import spec

        rt = bootstrap(spec(), load_settings("auth", suite.env("auth")))
        suite._auth_command_runtime = rt
    return rt


def auth_command(suite, *args: str, stdin: str | None = None) -> dict:
    """``python -m services.auth <args>`` against the suite's auth database; its JSON output.

    The command's own function runs in this process (same code path as the command line, minus the
    interpreter start)."""
    rt = _auth_runtime(suite)
    command, rest = args[0], list(args[1:])
    out, err = io.StringIO(), io.StringIO()
    with _AUTH_LOCK:
        old_stdin = sys.stdin
        sys.stdin = io.StringIO(stdin or "")
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = rt.spec.commands[command](rt, rest)
        finally:
            sys.stdin = old_stdin
    if code != 0:
        raise AssertionError(f"services.auth {' '.join(args)} failed ({code}):\n{err.getvalue()[-3000:]}")
    text = out.getvalue().strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:  # a log line before the JSON: take the last JSON object printed
        start = text.rfind("\n{")
        return json.loads(text[start + 1 :] if start >= 0 else text)


def _pick(data: Mapping, *keys: str) -> Any:
    for key in keys:
        if data.get(key):
            return data[key]
        for nested in ("school", "staff", "account"):
            inner = data.get(nested)
            if isinstance(inner, Mapping) and key in inner and inner[key]:
                return inner[key]
    raise KeyError(f"none of {keys} in {data}")


def new_school(suite, name: str | None = None) -> StaffClient:
    """A new school and its manager (created with the auth command line, the password given on stdin),
    signed in through POST /api/v1/session."""
    name = name or f"École {unique().capitalize()}"
    school = auth_command(suite, "create-school", "--name", name)
    school_id = _pick(school, "school_id", "id")
    username = unique("direction.")
    email = f"{username}@school.example.test"
    staff = auth_command(
        suite,
        "create-staff",
        "--school-id",
        school_id,
        "--first-name",
        "Claire",
        "--last-name",
        "Direction",
        "--email",
        email,
        "--username",
        username,
        "--password-stdin",
        stdin=STAFF_PASSWORD + "\n",
    )
    username = staff.get("username") or username
    resp = expect(
        anonymous(suite).post("/session", json={"username": username, "password": STAFF_PASSWORD}), 200
    )
    session = resp.json()
    return StaffClient(
        suite,
        school_id=school_id,
        school_name=name,
        account_id=session["account"]["id"],
        username=username,
        password=STAFF_PASSWORD,
        session=session,
    )


# -- the mail ----------------------------------------------------------------------------------------


def _mailbox():
    try:
        from devtools import mailbox
    except ImportError:  # pragma: no cover - the catcher's helpers came with the notifications work
        return None
    return mailbox


def _messages(mail_dir) -> list[EmailMessage]:
    box = _mailbox()
    if box is not None:
        return box.read_messages(mail_dir)
    import email
    import email.policy
    from pathlib import Path

    out = []
    for path in sorted(Path(mail_dir).glob("*.eml")):
        try:
            out.append(email.message_from_bytes(path.read_bytes(), policy=email.policy.default))
        except FileNotFoundError:
            continue
    return out


def mail_text(msg: EmailMessage) -> str:
    """The text/plain body (else HTML), decoded."""
    part = msg.get_body(preferencelist=("plain", "html"))
    return part.get_content() if part is not None else ""


def is_to(msg: EmailMessage, address: str) -> bool:
    address = address.lower()
    cached = getattr(msg, "recipients_text", None)
    if cached is not None:
        return address in cached
    if address in str(msg.get("To", "")).lower():
        return True
    return address in str(msg.get("X-Envelope-To", "")).lower()


def mails_to(suite, address: str) -> list[EmailMessage]:
    """Every mail caught for ``address`` so far, oldest first."""
    return [m for m in _messages(suite.mail_dir) if is_to(m, address)]


def token_in(msg: EmailMessage) -> str | None:
    found = TOKEN_RE.search(mail_text(msg))
    return found.group(0) if found else None


def wait_for_token_mail(
    suite, address: str, *, previous: Iterable[str] = (), timeout: float = 60
) -> EmailMessage:
    """The first mail to ``address`` carrying a connection token not in ``previous`` (tokens already
    seen), waiting for it to arrive."""
    seen = set(previous)

    def new_token_mail() -> list[EmailMessage]:
        return [m for m in mails_to(suite, address) if (tok := token_in(m)) and tok not in seen][:1]

    found = wait_for(
        new_token_mail,
        timeout,
        what=f"a new token mail for {address}",
        describe=lambda: f"mails to it: {[str(m.get('Subject', '')) for m in mails_to(suite, address)]}",
    )
    return found[0]


def wait_for_token(suite, address: str, *, previous: Iterable[str] = (), timeout: float = 60) -> str:
    """The connection token of the first mail to ``address`` whose token is not in ``previous``."""
    tok = token_in(wait_for_token_mail(suite, address, previous=previous, timeout=timeout))
    assert tok is not None
    return tok


def tokens_mailed_to(suite, address: str) -> list[str]:
    """Every connection token mailed to ``address`` so far, oldest first."""
    return [t for t in (token_in(m) for m in mails_to(suite, address)) if t]


# -- families ----------------------------------------------------------------------------------------


def _child_ids(staff: StaffClient, children: Iterable[Any]) -> list[str]:
    ids = []
    for i, spec in enumerate(children):
        if isinstance(spec, str):
            spec = {"first_name": spec}
        if not isinstance(spec, Mapping):
            raise TypeError(f"a child is a student dict (from create_student) or a spec dict, not {spec!r}")
        if spec.get("id"):
            ids.append(spec["id"])
            continue
        made = staff.create_student(
            spec.get("first_name") or f"Enfant{i + 1}",
            spec.get("last_name") or unique("Famille").capitalize(),
            spec.get("class_name") or "1A",
            spec.get("level") or "primary",
        )
        ids.append(made["id"])
    return ids


def new_family(
    suite,
    staff: StaffClient,
    children: Iterable[Any] = ({},),
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    *,
    first_name: str = "Sophie",
    last_name: str | None = None,
    language: str = "fr",
    select_first: bool = True,
) -> ParentClient:
    """A parent of ``children`` who made their first connection, signed in through the API.

    ``children``: student dicts returned by ``staff.create_student`` (reused as they are), or specs
    ``{"first_name", "last_name", "class_name", "level"}`` (any may be left out; a plain string is a
    first name), created first. The parent is created with POST /admin/parents, the token read from
    the mail the suite caught, and the account activated with POST /activation and ``password``.
    With several children the first is chosen when ``select_first`` (else none is active).
    """
    ids = _child_ids(staff, children)
    last_name = last_name or unique("Parent").capitalize()
    email = email or f"{unique('famille-')}@example.test"
    made = staff.create_parent(first_name, last_name, email, ids, language)
    token = wait_for_token(suite, email)
    resp = expect(
        anonymous(suite).post(
            "/activation", json={"token": token, "password": password, "password_confirm": password}
        ),
        200,
    )
    parent = ParentClient(
        suite,
        parent_id=made["id"],
        username=made["username"],
        password=password,
        email=email,
        session=resp.json(),
    )
    if select_first and parent.active_child_id is None and parent.children:
        parent.select_child(
            ids[0] if ids[0] in {c["id"] for c in parent.children} else parent.children[0]["id"]
        )
    return parent


def invite_parent(
    suite,
    staff: StaffClient,
    children: Iterable[Any] = ({},),
    email: str | None = None,
    *,
    first_name: str = "Sophie",
    last_name: str | None = None,
    language: str = "fr",
) -> dict:
    """A parent account the school created but that has not connected yet:
    ``{id, username, email, token, student_ids}`` with the token read from the mail."""
    ids = _child_ids(staff, children)
    email = email or f"{unique('famille-')}@example.test"
    made = staff.create_parent(first_name, last_name or unique("Parent").capitalize(), email, ids, language)
    return {**made, "email": email, "token": wait_for_token(suite, email), "student_ids": ids}
