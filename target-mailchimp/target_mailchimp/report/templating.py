"""The Jinja2 environment of the report's templates (`templates/`), with autoescaping.

Autoescaping escapes every value a template prints. On top of it, characters that would be
invisible or reorder the line (C0/C1 controls, bidi embeddings, overrides and isolates, BOM,
lone surrogates) are shown as visible `\\uXXXX` codes: in every printed value (`codes`, the
environment's `finalize`), and styled as such by the `visible` filter; the `bdi` filter
also wraps a value in <bdi> so right-to-left text does not reorder the cells around it.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from target_mailchimp.report.data import NO_KIND


def kind_label(kind: str) -> str:
    """How an object kind is named on the page ("no object" for rows about none)."""
    return "no object" if kind == NO_KIND else kind


# Tab, newline and carriage return are kept (cells keep line breaks); U+200E/U+200F (LRM/RLM)
# are ordinary marks in right-to-left text and are kept too.
_HIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]"
)


_CTL = Markup('<span class="ctl" title="hidden character">{}</span>')
_WHEN2 = Markup('{}<br><span class="k">{}</span>')


def _code(char: str) -> str:
    return f"\\u{ord(char):04x}"


def codes(value: object) -> object:
    """`value` with hidden characters as visible `\\uXXXX` text (Markup and non-text as is);
    the environment's `finalize`, so every printed value gets it before escaping."""
    if isinstance(value, Markup) or not isinstance(value, str):
        return "" if value is None else value
    return _HIDDEN.sub(lambda m: _code(m.group()), value)


def visible(value: object) -> Markup:
    """`value` as escaped element content with hidden characters shown as styled codes."""
    if value is None:
        return Markup("")
    text = str(value)
    parts: list[Markup] = []
    end = 0
    for match in _HIDDEN.finditer(text):
        parts.append(escape(text[end : match.start()]))
        parts.append(_CTL.format(_code(match.group())))
        end = match.end()
    parts.append(escape(text[end:]))
    return Markup("").join(parts)


def bdi(value: object) -> Markup:
    """`value` as isolated element content (right-to-left text stays in its cell)."""
    if value is None or value == "":
        return Markup("")
    return Markup("<bdi>") + visible(value) + Markup("</bdi>")


def when(value: datetime | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d %H:%M:%S}"


def when2(value: datetime | None) -> Markup:
    """A time on two lines (date, then time) for narrow table columns."""
    if value is None:
        return Markup('<span class="k">not finished</span>')
    return _WHEN2.format(f"{value:%Y-%m-%d}", f"{value:%H:%M:%S}")


def duration(start: datetime, end: datetime | None) -> str:
    if end is None:
        return ""
    seconds = max(int((end - start) / timedelta(seconds=1)), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


@cache
def environment() -> Environment:
    """The environment (autoescaping on; built once)."""
    env = Environment(
        loader=PackageLoader("target_mailchimp.report", "templates"),
        autoescape=True,
        finalize=codes,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters.update(visible=visible, bdi=bdi, when=when, when2=when2)
    env.globals.update(duration=duration, kind_label=kind_label)
    return env
