"""Writes ``docs/privacy.md``, the record of processing (GDPR art. 30), from each service's own
declarations (``services/<svc>/privacy.py``, ``kit.privacy.Record``) and the security measures below,
each with the tests that prove it.

``python -m devtools.privacy_record`` writes the page; ``--check`` exits 1 when the published page is
not what the declarations give (``devtools/tests/test_privacy_record.py`` runs the same check, and
checks that every table of every service is declared exactly once and that every test named below
exists).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from dataclasses import dataclass
from pathlib import Path

from kit.privacy import Record

SERVICES = ("auth", "finance", "documents", "orders", "notifications", "meetings")
PAGE = Path(__file__).resolve().parent.parent / "docs" / "privacy.md"


@dataclass(frozen=True)
class Measure:
    """A security measure and the tests (``path::test_name``) that prove it."""

    what: str
    tests: tuple[str, ...]


MEASURES: tuple[Measure, ...] = (
    Measure(
        "Passwords are stored as Argon2id hashes; sign-in attempts are throttled per account and per address.",
        (
            "services/auth/tests/unit/test_passwords.py::test_hash_is_argon2id_with_at_least_owasp_parameters",
            "services/auth/tests/unit/test_throttle.py::"
            "test_five_account_failures_lock_it_for_five_minutes_even_for_the_right_password",
            "services/auth/tests/integration/test_grpc_throttle.py::"
            "test_guesses_from_one_address_lock_its_failures_not_the_right_password_behind_it",
        ),
    ),
    Measure(
        "National register numbers are stored encrypted (Fernet, key from settings) and never logged.",
        (
            "services/auth/tests/integration/test_students.py::"
            "test_a_change_of_every_field_is_kept_announced_and_audited",
            "services/auth/tests/integration/test_students.py::test_the_national_number_is_never_logged",
        ),
    ),
    Measure(
        "Second-factor secrets are stored encrypted; a key rotation keeps them readable.",
        (
            "services/auth/tests/unit/test_second_factor.py::"
            "test_a_sealed_secret_does_not_show_and_opens_with_the_key_only",
            "services/auth/tests/unit/test_second_factor.py::test_a_rotated_key_still_opens_what_the_old_one_sealed",
        ),
    ),
    Measure(
        "Connection and reset tokens are stored as hashes and are single use.",
        (
            "services/auth/tests/unit/test_tokens.py::test_hash_is_sha256_hex_and_differs_between_tokens",
            "services/auth/tests/integration/test_grpc_auth.py::test_a_used_token_is_refused",
        ),
    ),
    Measure(
        "A parent acts only for their own children; staff calls are refused to parents.",
        (
            "services/auth/tests/integration/test_grpc_auth.py::test_choosing_another_family_s_child_is_refused",
            "services/auth/tests/integration/test_grpc_auth.py::"
            "test_staff_rpcs_are_refused_to_parents_and_without_an_identity_token",
        ),
    ),
    Measure(
        "Every service checks that each id a staff call names belongs to the caller's school.",
        tuple(f"services/{s}/tests/integration/test_school_scoping.py" for s in SERVICES),
    ),
    Measure(
        "Cookie-authenticated writes need a CSRF token.",
        (
            "gateway/tests/test_csrf.py::"
            "test_a_cookie_request_without_its_csrf_token_is_refused_before_any_service_call",
            "gateway/tests/test_csrf.py::test_a_page_form_without_its_csrf_token_is_refused",
        ),
    ),
    Measure(
        "A family's export holds every service's part and nothing of another family; its archive is "
        "opened only by the parent it is about, for 7 days.",
        (
            "tests/e2e/test_family_data.py::"
            "test_a_parent_downloads_every_services_part_and_nothing_of_another_family",
            "services/documents/tests/integration/test_data_exports.py::"
            "test_only_the_parent_it_is_about_opens_the_archive_even_when_staff_asked_for_it",
            "services/documents/tests/integration/test_data_exports.py::"
            "test_an_export_expires_after_seven_days_and_purge_exports_deletes_its_archive",
        ),
    ),
    Measure(
        "An erased family leaves no name, e-mail address, IBAN or national number in any table of any "
        "service; financial records keep their amounts and dates and the ledger still sums to zero.",
        (
            "tests/e2e/test_family_data.py::"
            "test_an_erased_family_leaves_no_name_behind_and_the_ledger_still_balances",
            "services/finance/tests/integration/test_family_data.py::"
            "test_an_erased_family_leaves_no_name_iban_or_national_number_but_its_amounts_and_a_balanced_ledger",
        ),
    ),
    Measure(
        "The ledger is append-only in the database: postings never change, nothing is deleted; only a "
        "transaction's label may be rewritten (an erasure).",
        (
            "services/finance/tests/integration/test_ledger_append_only.py::"
            "test_postings_never_change_and_nothing_is_deleted",
            "services/finance/tests/integration/test_ledger_append_only.py::"
            "test_a_transaction_keeps_everything_but_its_label",
        ),
    ),
)


def records() -> list[Record]:
    return [importlib.import_module(f"services.{s}.privacy").RECORD for s in SERVICES]


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render(recs: list[Record] | None = None, measures: tuple[Measure, ...] = MEASURES) -> str:
    recs = records() if recs is None else recs
    out = [
        "# Record of processing (GDPR art. 30)",
        "",
        "Generated by `python -m devtools.privacy_record` from each service's `services/<svc>/privacy.py`;",
        "do not edit by hand. The school is the controller; Cartable processes on its behalf.",
        "",
    ]
    for rec in recs:
        out += [
            f"## {rec.service}",
            "",
            "| data | tables | purpose | legal basis | retention | recipients |",
            "|---|---|---|---|---|---|",
        ]
        for p in rec.processing:
            tables = ", ".join(f"`{t}`" for t in p.tables)
            out.append(
                f"| {_cell(p.data)} | {tables} | {_cell(p.purpose)} | {_cell(p.legal_basis)} | "
                f"{_cell(p.retention)} | {_cell(p.recipients)} |"
            )
        if rec.not_personal:
            out += ["", "No personal data: " + ", ".join(f"`{t}`" for t in rec.not_personal) + "."]
        out.append("")
    out += ["## Security measures", "", "| measure | proved by |", "|---|---|"]
    for m in measures:
        out.append(f"| {_cell(m.what)} | {', '.join(f'`{t}`' for t in m.tests)} |")
    out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.privacy_record")
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/privacy.md is stale")
    ns = parser.parse_args(argv)
    text = render()
    if ns.check:
        if not PAGE.exists() or PAGE.read_text(encoding="utf-8") != text:
            print("docs/privacy.md is stale: run python -m devtools.privacy_record", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
