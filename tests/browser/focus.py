"""Where the keyboard's focus is, waited for rather than read at once: a page's ``autofocus`` is
applied when the browser renders it, which may come after its load event, and a script moves the focus
after the answer it waits for. Reading ``document.activeElement`` straight after a navigation raced
that on a loaded machine."""

from __future__ import annotations


def focus_reaches(page, element_id: str) -> None:
    """Wait, with the page's default deadline, until the element ``element_id`` has the focus; a
    timeout (the focus never got there) fails the test."""
    page.wait_for_function("id => document.activeElement && document.activeElement.id === id", arg=element_id)


def focused(page) -> str:
    """The id of the focused element, or its text when it has none."""
    return page.evaluate("() => document.activeElement.id || document.activeElement.textContent.trim()")
