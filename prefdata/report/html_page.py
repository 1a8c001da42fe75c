"""Render ``report.html``: the template of :mod:`prefdata.report.template` with autoescaping on."""

from __future__ import annotations

import re

import jinja2
from markupsafe import Markup, escape

from prefdata.build.card import visible_controls
from prefdata.report.content import ReportContent, num
from prefdata.report.examples import short_id
from prefdata.report.template import CSS, TEMPLATE

_ROLES = {"system", "user", "assistant", "tool"}


def _role_class(role: str) -> str:
    """Roles become CSS class names; anything unexpected maps to ``other`` rather than into markup."""
    return role if role in _ROLES else "other"


def _ticks(text: str) -> Markup:
    """Escape, then show `backticked` words as code: for prefdata's own sentences (captions, notes)."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))


def _finalize(value: object) -> object:
    """Every value the template prints, before escaping: bidi controls and control characters written
    out (``\\u202e``, ``\\u001b``), as in report.md, so that an override in a name or message cannot
    reorder the page's text after it."""
    if isinstance(value, Markup):  # markup already escaped (SVG, code spans): the written-out form holds no <>&
        return Markup(visible_controls(value))
    return visible_controls(value) if isinstance(value, str) else value


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True, finalize=_finalize)
    env.filters["num"] = num
    env.filters["role_class"] = _role_class
    env.filters["ticks"] = _ticks
    env.filters["short_id"] = short_id
    return env


def render_html(content: ReportContent) -> str:
    """The whole page as one string: inline CSS and SVG, no script, no external reference."""
    template = _environment().from_string(TEMPLATE)
    context = {f.name: getattr(content, f.name) for f in content.__dataclass_fields__.values()}
    context["css"] = re.sub(r"\n\s*", "\n", CSS.strip())
    return template.render(**context)
