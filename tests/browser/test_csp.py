"""The pages' Content-Security-Policy in Chromium: an inline script is refused, and the ``page`` fixture's
check (tests/browser/conftest.py) sees the refusal, so every browser test fails on a page the policy
breaks."""

import pytest

pytestmark = pytest.mark.browser


def test_an_inline_script_is_blocked_and_the_check_sees_it(suite, page, csp_violations):
    answer = page.goto(suite.base_url + "/")
    assert answer is not None
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    page.evaluate(
        """() => {
            const s = document.createElement("script");
            s.textContent = "window.inlineRan = true";
            document.body.appendChild(s);
        }"""
    )
    page.wait_for_timeout(200)  # the console message comes after the refusal
    assert page.evaluate("window.inlineRan === undefined")
    assert any("Content Security Policy" in m for m in csp_violations), csp_violations
    csp_violations.clear()  # expected here: the fixture must not fail this test for it
