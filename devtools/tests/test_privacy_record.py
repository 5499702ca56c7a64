"""The record of processing (docs/privacy.md) is generated from the services' own declarations, every
table of every service is declared exactly once, and every test it names as proof exists."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from devtools import privacy_record
from kit.privacy import Processing, Record

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("service", privacy_record.SERVICES)
def test_every_table_of_the_service_is_declared_exactly_once(service):
    metadata = importlib.import_module(f"services.{service}.app").spec().metadata
    record = importlib.import_module(f"services.{service}.privacy").RECORD
    declared = record.declared_tables()
    assert record.service == service
    assert sorted(set(metadata.tables) - set(declared)) == [], "tables with no declaration"
    assert sorted(set(declared) - set(metadata.tables)) == [], "declared tables that do not exist"
    assert len(declared) == len(set(declared)), "a table declared twice"
    for p in record.processing:
        assert p.tables, p
        for text in (p.data, p.purpose, p.legal_basis, p.retention, p.recipients):
            assert text.strip(), p


def test_the_published_page_is_the_generated_one():
    assert privacy_record.PAGE.read_text(encoding="utf-8") == privacy_record.render(), (
        "docs/privacy.md is stale: run python -m devtools.privacy_record"
    )
    assert privacy_record.main(["--check"]) == 0


def test_every_test_named_as_proof_exists():
    for measure in privacy_record.MEASURES:
        assert measure.tests, measure
        for ref in measure.tests:
            path, _, name = ref.partition("::")
            source = ROOT / path
            assert source.is_file(), ref
            if name:
                tree = ast.parse(source.read_text(encoding="utf-8"))
                names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
                assert name in names, ref


def test_the_page_lists_each_processing_and_the_tables_that_hold_none():
    rec = Record(
        service="demo",
        processing=(
            Processing(
                data="names | classes",
                tables=("pupils",),
                purpose="teaching",
                legal_basis="public task (art. 6.1.e)",
                retention="one school year",
            ),
        ),
        not_personal=("settings",),
    )
    text = privacy_record.render([rec], ())
    assert "## demo" in text
    assert "| names \\| classes | `pupils` | teaching | public task (art. 6.1.e) | one school year |" in text
    assert "No personal data: `settings`." in text


def test_a_stale_page_fails_the_check(tmp_path, monkeypatch):
    monkeypatch.setattr(privacy_record, "PAGE", tmp_path / "privacy.md")
    assert privacy_record.main(["--check"]) == 1
    assert privacy_record.main([]) == 0
    assert privacy_record.main(["--check"]) == 0
