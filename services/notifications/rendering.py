"""Mail templates (``mail_templates/<lang>/<kind>.j2``) rendered into subject, text and HTML.

Each kind's file has three blocks. The text environment does not escape (it is plain text); the HTML
environment escapes every value, so a document title like ``<b>`` arrives as text, not markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from markupsafe import Markup

from services.notifications.domain import formatting
from services.notifications.domain.mail import MANDATORY_KINDS, language_or_default

TEMPLATES_DIR = Path(__file__).parent / "mail_templates"


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


@pass_context
def _money(ctx, cents) -> str:
    return formatting.money(int(cents or 0), ctx["lang"])


@pass_context
def _day(ctx, value) -> str:
    return formatting.iso_date(value, ctx["lang"])


@pass_context
def _instant(ctx, value, tz: str = "") -> str:
    return formatting.rfc3339_instant(value or "", ctx["lang"], tz)


@pass_context
def _span(ctx, starts_at, ends_at, tz: str = "") -> str:
    return formatting.time_span(starts_at or "", ends_at or "", ctx["lang"], tz)


def _environment(directory: Path, *, html: bool) -> Environment:
    # The text environment renders text/plain, where HTML escaping would be wrong.
    env = Environment(
        loader=FileSystemLoader(directory),
        autoescape=html,  # noqa: S701
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["money"] = _money
    env.filters["day"] = _day
    env.filters["instant"] = _instant
    env.filters["span"] = _span
    return env


def _tidy_text(text: str) -> str:
    lines = [ln.rstrip() for ln in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


class MailRenderer:
    """Renders one kind of mail in one language; templates are loaded once and cached by Jinja."""

    def __init__(self, directory: Path = TEMPLATES_DIR) -> None:
        self._text = _environment(directory, html=False)
        self._html = _environment(directory, html=True)

    def _block(self, env: Environment, name: str, block: str, values: dict) -> str:
        tmpl = env.get_template(name)
        return "".join(tmpl.blocks[block](tmpl.new_context(values)))

    def render(self, kind: str, lang: str, **values) -> RenderedMail:
        """``values``: ``name`` (the recipient), ``student`` (the child's name or "") and the kind's fields."""
        lang = language_or_default(lang)
        values = {"name": "", "student": "", **values, "lang": lang}
        name = f"{lang}/{kind}.j2"
        # One line; no-break spaces (before € in French) stay.
        subject = re.sub(r"[ \t\r\n]+", " ", self._block(self._text, name, "subject", values)).strip()
        optional = kind not in MANDATORY_KINDS
        layout = {"name": values["name"], "lang": lang, "subject": subject, "optional": optional}
        text_body = self._block(self._text, name, "text", values)
        text = self._text.get_template(f"{lang}/_layout.txt.j2").render(layout, body=text_body.strip())
        html_body = self._block(self._html, name, "html", values)
        html = self._html.get_template(f"{lang}/_layout.html.j2").render(
            layout,
            body=Markup(html_body.strip()),  # noqa: S704 - escaped by the HTML environment
        )
        return RenderedMail(subject=subject, text=_tidy_text(text), html=html.strip() + "\n")
