"""The address sign-in throttling is keyed on (gateway.web.client_address): X-Forwarded-For counts
only from the proxies the gateway is told to trust. (The same cases as tests/e2e/test_account_session.py,
which needs no suite for them.)"""

from __future__ import annotations

import pytest
from flask import Flask

from gateway.web import client_address


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "expected"),
    [
        (None, "10.0.0.5", "203.0.113.9", "10.0.0.5"),  # no trusted proxy: the header is ignored
        ("10.0.0.0/8", "10.0.0.5", "203.0.113.9", "203.0.113.9"),
        ("10.0.0.0/8", "10.0.0.5", "198.51.100.1, 203.0.113.9", "203.0.113.9"),  # the client forged the first
        ("10.0.0.0/8", "10.0.0.5", "203.0.113.9, 10.1.2.3", "203.0.113.9"),  # two proxies of ours
        ("10.0.0.0/8", "192.0.2.7", "203.0.113.9", "192.0.2.7"),  # not from our proxy: ignored
        ("10.0.0.0/8", "10.0.0.5", "", "10.0.0.5"),
        ("10.0.0.0/8", "10.0.0.5", "garbage", "10.0.0.5"),
        (1, "10.0.0.5", "198.51.100.1, 203.0.113.9", "203.0.113.9"),  # one hop
        (2, "10.0.0.5", "198.51.100.1, 203.0.113.9", "198.51.100.1"),
        (["10.0.0.5", "2001:db8::/32"], "2001:db8::1", "203.0.113.9", "203.0.113.9"),
    ],
)
def test_client_address_honours_x_forwarded_for_only_from_trusted_proxies(
    trusted, remote, forwarded, expected
):
    app = Flask(__name__)
    app.config["TRUSTED_PROXIES"] = trusted
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    with app.test_request_context("/", headers=headers, environ_base={"REMOTE_ADDR": remote}):
        assert client_address() == expected
