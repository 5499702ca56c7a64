"""The gateway in-process, against fake services: a gateway change is tested in seconds.

One gRPC server on port 0 in the test process carries a fake of every service (each a subclass of the
generated ``*Servicer`` class). It runs behind kit's real interceptor, so a fake raises ``AppError``s
as a service does (the gateway gets the same status, code and fields) and reads the caller with
``kit.identity.current()``; identity tokens are signed by a throwaway key, as auth signs them.

A test says what a service answers with ``fakes.on("finance", "ListInvoices", handler)`` (a
function of the request, or a message to answer every time) and reads what the gateway asked with
``fakes.requests("finance", "ListInvoices")``. A method no test set answers UNIMPLEMENTED (500).
Sessions: ``fakes.parent(...)`` / ``fakes.staff()`` make one that the fake auth resolves.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from google.protobuf.message import Message

from cartable.auth.v1 import auth_pb2, auth_pb2_grpc
from cartable.documents.v1 import documents_pb2, documents_pb2_grpc, statements_pb2, statements_pb2_grpc
from cartable.finance.v1 import (
    exports_pb2,
    exports_pb2_grpc,
    finance_pb2,
    finance_pb2_grpc,
    max_bill_pb2,
    max_bill_pb2_grpc,
    periodic_statements_pb2,
    periodic_statements_pb2_grpc,
    sepa_pb2,
    sepa_pb2_grpc,
    tax_certificates_pb2,
    tax_certificates_pb2_grpc,
    till_pb2,
    till_pb2_grpc,
)
from cartable.meetings.v1 import meetings_pb2, meetings_pb2_grpc
from cartable.notifications.v1 import notifications_pb2, notifications_pb2_grpc
from cartable.orders.v1 import orders_pb2, orders_pb2_grpc
from cartable.privacy.v1 import privacy_pb2, privacy_pb2_grpc
from gateway import create_app
from kit.errors import NotFound, Unauthenticated
from kit.grpcserver import Registration, build_server
from kit.identity import Identity
from kit.testing import Keys

# service -> (generated module, *_pb2_grpc module, service name)
SERVICES = {
    "auth": (auth_pb2, auth_pb2_grpc, "AuthService"),
    "documents": (documents_pb2, documents_pb2_grpc, "DocumentsService"),
    "finance": (finance_pb2, finance_pb2_grpc, "FinanceService"),
    "orders": (orders_pb2, orders_pb2_grpc, "OrdersService"),
    "notifications": (notifications_pb2, notifications_pb2_grpc, "NotificationsService"),
    "meetings": (meetings_pb2, meetings_pb2_grpc, "MeetingsService"),
}
# Services a service serves beside its main one, reached on its channel (finance's till and exports):
# faked on the same port, answered by ``fakes.on("till", ...)``, ``fakes.on("exports", ...)``.
BESIDE = {
    "till": (till_pb2, till_pb2_grpc, "TillService"),
    "exports": (exports_pb2, exports_pb2_grpc, "ExportsService"),
    "direct_debits": (sepa_pb2, sepa_pb2_grpc, "DirectDebitService"),
    "refunds": (sepa_pb2, sepa_pb2_grpc, "RefundService"),
    "periodic_statements": (
        periodic_statements_pb2,
        periodic_statements_pb2_grpc,
        "PeriodicStatementService",
    ),
    "statement_documents": (statements_pb2, statements_pb2_grpc, "StatementDocumentsService"),
    "tax_certificates": (tax_certificates_pb2, tax_certificates_pb2_grpc, "TaxCertificateService"),
    "max_bill": (max_bill_pb2, max_bill_pb2_grpc, "MaxBillService"),
    "data_exports": (privacy_pb2, privacy_pb2_grpc, "DataExportService"),
    # every service's part of a family's data: one fake answers for all of them (one port)
    "family_data": (privacy_pb2, privacy_pb2_grpc, "FamilyDataService"),
}
# What the gateway calls without an identity token (as the real services declare them public).
PUBLIC = frozenset(
    [
        *(
            f"/cartable.auth.v1.AuthService/{m}"
            for m in (
                "SignIn",
                "Activate",
                "CheckConnectionToken",
                "RequestPasswordReset",
                "ResolveSession",
                "SignOut",
                "ChangePassword",
                "SelectChild",
            )
        ),
        "/cartable.finance.v1.FinanceService/HandlePaymentWebhook",
    ]
)

Handler = Callable[[Any], Message]


@dataclass
class Signed:
    """A session the fake auth knows, and how to call the gateway with it."""

    session: auth_pb2.Session

    @property
    def token(self) -> str:
        return self.session.session_token

    @property
    def csrf(self) -> str:
        return self.session.csrf_token

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Fakes:
    """What each fake service answers, what the gateway asked, and the sessions auth resolves."""

    keys: Keys
    handlers: dict[tuple[str, str], Handler] = field(default_factory=dict)
    calls: dict[tuple[str, str], list[Any]] = field(default_factory=lambda: defaultdict(list))
    sessions: dict[str, auth_pb2.Session] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on(self, service: str, method: str, answer: Handler | Message) -> None:
        """``answer``: a function of the request returning the response (it may raise an AppError),
        or one response for every call."""
        self.handlers[(service, method)] = answer if callable(answer) else (lambda _req: answer)

    def requests(self, service: str, method: str) -> list[Any]:
        with self.lock:
            return list(self.calls[(service, method)])

    def reset(self) -> None:
        with self.lock:
            self.handlers.clear()
            self.calls.clear()
            self.sessions.clear()

    def _session(self, role: str, children: list[auth_pb2.Child], active: str, students: dict) -> Signed:
        account_id = str(uuid.uuid4())
        token = self.keys.signer.sign(
            Identity(account_id=account_id, role=role, school_id="school-1", students=students)
        )[0]
        sess = auth_pb2.Session(
            session_token=uuid.uuid4().hex,
            csrf_token=uuid.uuid4().hex,
            account=auth_pb2.Account(
                id=account_id,
                display_name="Staff" if role == "staff" else "Parent Test",
                role=role,
                school_id="school-1",
                language="fr",
            ),
            children=children,
            active_child_id=active,
            identity_token=token,
        )
        self.sessions[sess.session_token] = sess
        return Signed(sess)

    def parent(self, *first_names: str, active: int | None = 0) -> Signed:
        """A parent of children named ``first_names`` (default one, Emma); ``active`` is the index of
        the chosen child (None: none chosen yet)."""
        names = first_names or ("Emma",)
        children = [
            auth_pb2.Child(
                id=f"child-{i + 1}",
                first_name=name,
                last_name="Peeters",
                class_name="3A",
                school_name="École du Parc",
            )
            for i, name in enumerate(names)
        ]
        chosen = children[active].id if active is not None else ""
        return self._session("parent", children, chosen, {c.id: c.class_name for c in children})

    def staff(self) -> Signed:
        return self._session("staff", [], "", {})


def _fake_servicer(fakes: Fakes, service: str):
    pb2, pb2_grpc, name = {**SERVICES, **BESIDE}[service]
    base = getattr(pb2_grpc, f"{name}Servicer")
    methods = [m.name for m in pb2.DESCRIPTOR.services_by_name[name].methods]

    def method(rpc_name: str):
        def call(self, request, context):
            with fakes.lock:
                fakes.calls[(service, rpc_name)].append(request)
            handler = fakes.handlers.get((service, rpc_name))
            if handler is None:
                return base.__dict__[rpc_name](self, request, context)  # UNIMPLEMENTED
            return handler(request)

        call.__name__ = rpc_name
        return call

    return type(f"Fake{name}", (base,), {m: method(m) for m in methods})()


def _resolve_session(fakes: Fakes):
    def resolve(req: auth_pb2.ResolveSessionRequest) -> auth_pb2.ResolveSessionResponse:
        sess = fakes.sessions.get(req.session_token)
        if sess is None:
            raise Unauthenticated("no such session")
        return auth_pb2.ResolveSessionResponse(session=sess)

    return resolve


@pytest.fixture(scope="session")
def fake_server(tmp_path_factory):
    """(server, fakes): every fake service on one port, started once per test session."""
    fakes = Fakes(Keys(tmp_path_factory.mktemp("keys")))
    regs = []
    for service, (pb2, pb2_grpc, name) in {**SERVICES, **BESIDE}.items():
        regs.append(
            Registration(
                getattr(pb2_grpc, f"add_{name}Servicer_to_server"),
                _fake_servicer(fakes, service),
                pb2.DESCRIPTOR.services_by_name[name].full_name,
            )
        )
    server = build_server("fakes", "127.0.0.1:0", regs, fakes.keys.verifier, public_methods=PUBLIC)
    yield server, fakes
    server.stop(0)


@pytest.fixture
def fakes(fake_server) -> Fakes:
    _server, f = fake_server
    f.reset()
    f.on("auth", "ResolveSession", _resolve_session(f))
    f.on("orders", "ListOpenPeriods", orders_pb2.ListOpenPeriodsResponse())  # the menu's order tabs
    return f


@pytest.fixture
def app(fake_server, fakes):
    server, _f = fake_server
    app = create_app(
        {
            "TESTING": True,
            "SECURE_COOKIES": False,
            "GRPC_TARGETS": {svc: f"127.0.0.1:{server.port}" for svc in SERVICES},
            "GRPC_TIMEOUT": 20.0,  # a loaded CI machine is slow, not wrong
            "DASHBOARD_DEADLINE": 10.0,
            "PUBLIC_BASE_URL": "http://gateway.test",
        }
    )
    yield app
    app.extensions["cartable_clients"].close()


@pytest.fixture
def client(app):
    return app.test_client()


def form_fields(html: str, action: str) -> dict[str, str]:
    """The hidden fields of the form posting to ``action`` (its CSRF token, idempotency key)."""
    form = re.search(rf'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.S)
    assert form, f"no form posting to {action}"
    return dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form.group(1)))


def not_found(_req):
    raise NotFound("not found")
