"""A real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright."""

from __future__ import annotations

import os
import re
import shutil

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium is missing at {CHROMIUM}: run `make browser` (apt-get install chromium)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


# How Chromium reports a blocked script, style, image, frame or form target in the console.
CSP_VIOLATION = re.compile(r"Content Security Policy|Content-Security-Policy", re.IGNORECASE)


@pytest.fixture
def csp_violations() -> list[str]:
    """Every CSP violation Chromium reported in the test's pages (the ``page`` fixture fails on any)."""
    return []


@pytest.fixture
def page(browser, csp_violations):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="fr-BE")  # a phone
    ctx.on("console", lambda msg: csp_violations.append(msg.text) if CSP_VIOLATION.search(msg.text) else None)
    p = ctx.new_page()
    p.set_default_timeout(30000)  # a generous deadline: a loaded machine is slow, not wrong
    yield p
    ctx.close()
    if csp_violations:
        pytest.fail("the Content-Security-Policy blocked something:\n" + "\n".join(csp_violations))
