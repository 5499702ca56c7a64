"""What the browser tests of a page check on every page and state they visit, once: its text read
as a reader sees it, nothing wider than the screen (naming what is, when something is) and axe-core;
and a form submitted with the keyboard."""

from __future__ import annotations

from tests.browser.axe import axe_audit
from tests.browser.test_staff_events import fits_the_screen

# The elements that stick out on the right of the screen, to say which when a page scrolls sideways.
WIDER = """() => [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
    .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right) + ' ' + (e.innerText || e.outerHTML).slice(0, 120))"""


def text(page, selector: str = "main") -> str:
    return " ".join(page.inner_text(selector).split())


def audited(page) -> None:
    """Nothing scrolls sideways, and axe-core finds no serious or critical violation."""
    assert fits_the_screen(page), (page.url, page.evaluate(WIDER))
    axe_audit(page)


def submitted(page, locator) -> int:
    """Focus ``locator``, press Enter and answer the status of the page it leads to."""
    locator.focus()
    with page.expect_navigation() as nav:
        page.keyboard.press("Enter")
    return nav.value.status
