"""deploy/README.md's "Deploy one service alone" can work: a Job's pod template is immutable (``kubectl
set image`` on it fails, and on a deleted one has nothing to change), so the steps delete the Job and
make it again from the rendered manifests with the new image, wait for it, then move every workload
of the service."""

from __future__ import annotations

import re

import pytest
import yaml

from deploy.tests.cluster import rendered
from deploy.tests.test_manifests import DEPLOY, SERVICES


def steps() -> str:
    readme = (DEPLOY / "README.md").read_text()
    section = readme.split("### Deploy one service alone", 1)[1].split("\n### ", 1)[0]
    found = re.search(r"```sh\n(.*?)```", section, re.S)
    assert found, "no shell block in the section"
    return found.group(1)


def test_the_steps_delete_reapply_and_wait_for_the_job_before_moving_the_service():
    text = steps()
    assert "set image job/" not in text
    order = [
        "delete job finance-migrate --ignore-not-found",
        "kubectl kustomize deploy/k8s/overlays/production",
        "kubectl apply -l app.kubernetes.io/name=finance-migrate -f -",
        "wait --for=condition=complete job/finance-migrate",
        "set image deployment/finance",
        "rollout status deployment/finance",
    ]
    positions = [text.index(step) for step in order]
    assert positions == sorted(positions)


def _sed(text: str) -> tuple[re.Pattern[str], str]:
    found = re.search(r'sed "s\|(.*?)\|(.*?)\|"', text)
    assert found, "no sed substitution in the steps"
    return re.compile(found.group(1)), found.group(2)


@pytest.mark.parametrize("svc", sorted(SERVICES))
def test_the_selection_makes_exactly_the_migration_job_with_the_new_image(svc):
    pattern, replacement = _sed(steps())
    image = "ghcr.io/cartable/cartable:9.9.9"
    out = "\n".join(
        pattern.sub(replacement.replace("$IMAGE", image), line)
        for line in yaml.safe_dump_all(rendered("production")).splitlines()
    )
    selected = [
        d
        for d in yaml.safe_load_all(out)
        if d and d["metadata"].get("labels", {}).get("app.kubernetes.io/name") == f"{svc}-migrate"
    ]
    assert [(d["kind"], d["metadata"]["name"]) for d in selected] == [("Job", f"{svc}-migrate")]
    (container,) = selected[0]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == image


def test_every_workload_of_the_service_moves_to_the_new_image():
    text = steps()
    moved = set(re.findall(r"(deployment|cronjob)/([a-z-]+)", text))
    finance = {
        (d["kind"].lower(), d["metadata"]["name"])
        for d in rendered("production")
        if d["kind"] in ("Deployment", "CronJob") and d["metadata"]["name"].split("-", 1)[0] == "finance"
    }
    assert finance <= moved
