"""Escaping of ledger text into HTML and SVG.

The audit trail holds whatever Intacct and Mailchimp said: `& < > " '`, emoji, right-to-left
text, control characters, bidirectional overrides. Every value goes through `text()` (element
content) or `attr()` (attribute values): html.escape with quotes, and characters that would
be invisible or reorder the line (C0/C1 controls, bidi embeddings/overrides/isolates, BOM,
lone surrogates) shown as visible `\\uXXXX` codes. `bdi()` wraps a value in <bdi> so
right-to-left text does not reorder the cells around it.
"""

from __future__ import annotations

import html
import re

# Tab, newline and carriage return are kept (cells keep line breaks); U+200E/U+200F (LRM/RLM)
# are ordinary marks in right-to-left text and are kept too.
_HIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]"
)


def _code(char: str) -> str:
    return f"\\u{ord(char):04x}"


def text(value: object) -> str:
    """`value` as HTML element content (None is empty); hidden characters made visible."""
    if value is None:
        return ""
    escaped = html.escape(str(value), quote=True)
    return _HIDDEN.sub(
        lambda m: f'<span class="ctl" title="hidden character">{_code(m.group())}</span>',
        escaped,
    )


def attr(value: object) -> str:
    """`value` as an attribute value (to put inside double quotes)."""
    if value is None:
        return ""
    return html.escape(_HIDDEN.sub(lambda m: _code(m.group()), str(value)), quote=True)


def bdi(value: object) -> str:
    """`value` as isolated element content (right-to-left text stays in its cell)."""
    if value is None or value == "":
        return ""
    return f"<bdi>{text(value)}</bdi>"
