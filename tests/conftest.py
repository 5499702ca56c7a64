"""Fixtures for flows across services: the whole suite, started once per test session."""

from __future__ import annotations

import pytest

from kit.testing import BrokerNamespace, ThrowawayDatabases, preferred_backend
from tests.suite import Suite


@pytest.fixture(scope="session")
def suite(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("suite")
    dbs = ThrowawayDatabases(preferred_backend(), tmp)
    broker = BrokerNamespace()
    s = Suite(tmp, dbs, broker)
    try:
        s.start()
        yield s
    finally:
        s.stop()
        broker.cleanup()
        dbs.cleanup()
