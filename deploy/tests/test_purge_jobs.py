"""Every service purges on a schedule: a CronJob per service runs its ``purge`` command (kit.service)."""

from __future__ import annotations

import pytest

from deploy.tests.test_manifests import SERVICES, by_kind


@pytest.mark.parametrize("svc", sorted(SERVICES))
def test_each_service_purges_once_a_day_one_run_at_a_time(svc):
    job = by_kind("CronJob")[f"{svc}-purge"]
    spec = job["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    minute, hour, *rest = spec["schedule"].split()
    assert rest == ["*", "*", "*"] and hour.isdigit() and minute.isdigit()
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["python", "-m", f"services.{svc}", "purge"]
    env = {e["name"]: e for e in container["env"]}
    assert env[f"{svc.upper()}_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "cartable-databases",
        "key": svc,
    }
    assert pod["restartPolicy"] == "Never"
