"""Seed the local run: on empty databases, a demo school with a manager and a parent of two children,
their wallets and some money; writes var/demo-credentials.json as API.md "Local run" says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from kit.settings import load_settings


def _run(service: str, command: str, stdin: str | None = None) -> str:
    out = subprocess.run(
        [sys.executable, "-m", f"services.{service}", command],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"services.{service} {command} failed:\n{out.stderr[-3000:]}")
    return out.stdout


def main() -> int:
    settings = load_settings("gateway")
    target = Path(settings.var_dir) / "demo-credentials.json"
    demo = json.loads(_run("auth", "seed-demo"))
    if demo.get("created") is False:
        # Only password hashes exist now: keep the credentials file written the first time.
        print(f"Demo school already there; accounts in {target}")
        return 0
    students = demo.get("students", [])
    payload = json.dumps({"school_id": demo["school_id"], "students": students})
    for service in ("finance", "documents", "orders", "notifications"):
        help_text = subprocess.run(
            [sys.executable, "-m", f"services.{service}", "--help"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        if "seed-demo" in help_text:
            _run(service, "seed-demo", payload)
    creds = {
        "staff": {"username": demo["staff"]["username"], "password": demo["staff"]["password"]},
        "parent": {"username": demo["parent"]["username"], "password": demo["parent"]["password"]},
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(creds, fh, indent=2)
    os.replace(tmp, target)
    print(f"Demo accounts in {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
