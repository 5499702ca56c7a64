"""axe-core in the page under test: ``axe_audit(page)`` fails on any serious or critical violation.

The engine (tests/browser/vendor/axe.min.js, see its README) is evaluated through Playwright, not
added as a <script> element: the pages' Content-Security-Policy allows only their own scripts, and
the ``page`` fixture fails on any violation it reports.
"""

from __future__ import annotations

from pathlib import Path

AXE_JS = Path(__file__).parent / "vendor" / "axe.min.js"
FAILING_IMPACTS = ("serious", "critical")


def _describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['impact']}: {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:5]:
            lines.append(f"    {' '.join(node['target'])}: {node.get('failureSummary', '').strip()}")
    return "\n".join(lines)


def axe_violations(page, impacts: tuple[str, ...] = FAILING_IMPACTS) -> list[dict]:
    """The violations of the page as it is now whose impact is one of ``impacts``."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8") + "\n;true")
    results = page.evaluate("() => window.axe.run(document, {resultTypes: ['violations']})")
    return [v for v in results["violations"] if v["impact"] in impacts]


def axe_audit(page, impacts: tuple[str, ...] = FAILING_IMPACTS) -> None:
    """Fail the test when axe-core finds a violation of ``impacts`` (serious, critical) on the page."""
    bad = axe_violations(page, impacts)
    assert not bad, f"axe-core on {page.url}:\n{_describe(bad)}"
