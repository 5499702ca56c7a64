"""Administration commands: ``python -m services.auth create-school | create-staff | seed-demo |
seed-families | retention``.

They print JSON on stdout (for scripts) and report errors on stderr with a non-zero exit status. Each
takes the use cases' ``Deps`` (app.py gives them) and the command line's arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from kit.errors import AppError
from services.auth.use_cases import demo, erasure, load_seed, schools
from services.auth.use_cases.common import Deps


def _out(data: dict) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _guarded(fn: Callable[[], dict]) -> int:
    try:
        _out(fn())
    except AppError as err:
        sys.stderr.write(json.dumps(err.to_json(), ensure_ascii=False) + "\n")
        return 2
    return 0


def create_school_command(deps: Deps, args: list[str]) -> int:
    """``create-school --name "École Sainte-Marie"``: prints ``{"school_id", "name"}``."""
    parser = argparse.ArgumentParser(prog="python -m services.auth create-school")
    parser.add_argument("--name", required=True)
    ns = parser.parse_args(args)

    def run() -> dict:
        school_id = schools.create_school(deps, ns.name)
        return {"school_id": school_id, "name": ns.name.strip()}

    return _guarded(run)


def create_staff_command(deps: Deps, args: list[str]) -> int:
    """``create-staff --school-id ID --first-name F --last-name L --email E [--username U]
    [--password-stdin] [--language fr|nl|en]``: prints ``{"account_id", "school_id", "username"}``;
    without a password, also ``connection_token`` and ``token_expires_at`` (the token is mailed too)."""
    parser = argparse.ArgumentParser(prog="python -m services.auth create-staff")
    parser.add_argument("--school-id", required=True)
    parser.add_argument("--first-name", required=True)
    parser.add_argument("--last-name", required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--username", default="")
    parser.add_argument("--language", default="fr")
    parser.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of stdin"
    )
    ns = parser.parse_args(args)
    password = sys.stdin.readline().rstrip("\r\n") if ns.password_stdin else None

    def run() -> dict:
        created = schools.create_staff(
            deps, ns.school_id, ns.first_name, ns.last_name, ns.email, ns.username, password, ns.language
        )
        out = {"account_id": created.account_id, "school_id": created.school_id, "username": created.username}
        if created.connection_token and created.token_expires_at:
            out["connection_token"] = created.connection_token
            out["token_expires_at"] = created.token_expires_at.isoformat()
        return out

    return _guarded(run)


def seed_demo_command(deps: Deps, args: list[str]) -> int:
    """``seed-demo``: the local run's demo school, once. Prints ``{"school_id", "created", "staff",
    "parent", "students"}``; passwords are null when the demo existed already."""
    argparse.ArgumentParser(prog="python -m services.auth seed-demo").parse_args(args)
    return _guarded(lambda: demo.seed_demo(deps).to_json())


def seed_families_command(deps: Deps, args: list[str]) -> int:
    """``seed-families --school-id ID --count N [--class-name 1A] [--prefix Charge]``: N parents of
    one child each, signed in, for capacity measurements (bench/). Prints ``{"password", "families":
    [{"parent_id", "username", "student_id", "session_token"}]}``."""
    parser = argparse.ArgumentParser(prog="python -m services.auth seed-families")
    parser.add_argument("--school-id", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--class-name", default="1A")
    parser.add_argument("--prefix", default="Charge")
    ns = parser.parse_args(args)

    def run() -> dict:
        password, families = load_seed.seed_families(deps, ns.school_id, ns.count, ns.class_name, ns.prefix)
        return {"password": password, "families": [f.__dict__ for f in families]}

    return _guarded(run)


def retention_command(deps: Deps, args: list[str]) -> int:
    """``retention`` (daily): erase, in every school, the families whose children all left more than
    the school's ``personal_years`` school years ago, and such students left without a guardian not
    erased (issue #21). Prints ``{"parent_ids", "student_ids"}`` erased; a second run erases nothing."""
    argparse.ArgumentParser(prog="python -m services.auth retention").parse_args(args)
    return _guarded(lambda: erasure.run_retention(deps))


COMMANDS = {
    "create-school": create_school_command,
    "create-staff": create_staff_command,
    "seed-demo": seed_demo_command,
    "seed-families": seed_families_command,
    "retention": retention_command,
}
