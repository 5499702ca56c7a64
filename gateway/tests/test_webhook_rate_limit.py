"""The provider's webhook is rate limited per client address (issue #15): anyone may call it without a
credential and every call reaches finance. Past the limit: 429 ``rate_limited`` with Retry-After, and
finance is not asked. The address is gateway.web.client_address's (X-Forwarded-For only from trusted
proxies). The window slides, in the memory of each worker (gateway/ratelimit.py)."""

from __future__ import annotations

import pytest

from cartable.finance.v1 import finance_pb2
from gateway import create_app
from gateway.ratelimit import SlidingWindow, address_key
from gateway.tests.conftest import SERVICES


@pytest.fixture
def limited(fake_server, fakes):
    """A gateway whose webhook accepts 3 calls a minute per address, behind a proxy 10.0.0.0/8."""
    server, _f = fake_server
    fakes.on("finance", "HandlePaymentWebhook", finance_pb2.HandlePaymentWebhookResponse(known=True))
    app = create_app(
        {
            "TESTING": True,
            "SECURE_COOKIES": False,
            "GRPC_TARGETS": {svc: f"127.0.0.1:{server.port}" for svc in SERVICES},
            "WEBHOOK_RATE_LIMIT": (3, 60),
            "TRUSTED_PROXIES": "10.0.0.0/8",
        }
    )
    yield app.test_client()
    app.extensions["cartable_clients"].close()


def call(client, remote: str, forwarded: str | None = None, pid: str = "tr_abc"):
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.post(
        "/webhooks/mollie", data={"id": pid}, headers=headers, environ_base={"REMOTE_ADDR": remote}
    )


def test_past_the_limit_one_address_gets_429_with_retry_after_and_finance_is_not_called(limited, fakes):
    for _ in range(3):
        assert call(limited, "203.0.113.9").status_code == 200
    r = call(limited, "203.0.113.9")
    assert r.status_code == 429
    assert r.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert len(fakes.requests("finance", "HandlePaymentWebhook")) == 3
    # another address is not held back by the first
    assert call(limited, "198.51.100.7").status_code == 200


def test_behind_a_trusted_proxy_each_client_counts_apart(limited, fakes):
    for _ in range(3):
        assert call(limited, "10.0.0.5", "203.0.113.9").status_code == 200
    assert call(limited, "10.0.0.5", "203.0.113.9").status_code == 429
    assert call(limited, "10.0.0.5", "198.51.100.7").status_code == 200  # same proxy, another client


def test_a_forged_x_forwarded_for_does_not_escape_the_limit(limited, fakes):
    for i in range(3):
        assert call(limited, "203.0.113.9", f"192.0.2.{i}").status_code == 200
    assert call(limited, "203.0.113.9", "192.0.2.99").status_code == 429  # not from our proxy: ignored


def test_the_default_limit_lets_a_normal_provider_through(client, fakes):
    fakes.on("finance", "HandlePaymentWebhook", finance_pb2.HandlePaymentWebhookResponse(known=True))
    for i in range(30):
        assert client.post("/webhooks/mollie", data={"id": f"tr_{i}"}).status_code == 200


# -- the window ----------------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_window_slides():
    clock = Clock()
    limit = SlidingWindow(2, 10, clock=clock)
    assert limit.hit("a") is None
    clock.now += 4
    assert limit.hit("a") is None
    clock.now += 1
    assert limit.hit("a") == 5  # the first hit leaves the window in 5 s
    clock.now += 5
    assert limit.hit("a") is None  # it left; the second still counts
    assert limit.hit("a") == 4


def test_refused_hits_do_not_prolong_the_wait():
    clock = Clock()
    limit = SlidingWindow(1, 10, clock=clock)
    assert limit.hit("a") is None
    for _ in range(100):
        clock.now += 0.05
        assert limit.hit("a") is not None
    clock.now = 1010.0
    assert limit.hit("a") is None


def test_memory_is_bounded_by_the_number_of_keys():
    limit = SlidingWindow(1, 60, max_keys=100)
    for i in range(10_000):
        limit.hit(f"k{i}")
    assert len(limit) == 100


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),  # one subscriber's network, one bucket
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("", ""),
    ],
)
def test_ipv6_addresses_count_by_their_64(address, key):
    assert address_key(address) == key
