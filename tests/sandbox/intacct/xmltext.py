"""Text helpers for writing XML by hand, fast.

XML 1.0 cannot carry C0 control characters (other than TAB, LF, CR), lone surrogates or
U+FFFE/U+FFFF, not even as character references. The generator keeps such characters in
stored values (real user data has them); the sandbox strips them when it serializes, as the
real gateway's output is well-formed XML too.
"""

from __future__ import annotations

import re

_INVALID_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_NEEDS_ESCAPE = re.compile('[&<>\r"]')
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;", '"': "&quot;"}


def sanitize(text: str) -> str:
    """Remove characters that XML 1.0 cannot represent."""
    return _INVALID_XML.sub("", text)


def escape(text: str) -> str:
    """Escape markup characters for element text or a double-quoted attribute value."""
    if _NEEDS_ESCAPE.search(text) is None:
        return text
    return _NEEDS_ESCAPE.sub(lambda m: _ESCAPES[m.group(0)], text)


def text(value: str) -> str:
    """Sanitize then escape."""
    return escape(sanitize(value))


def element(tag: str, value: str | None) -> str:
    """`<tag>value</tag>` with escaping, or `<tag></tag>` for None/''."""
    if not value:
        return f"<{tag}></{tag}>"
    return f"<{tag}>{text(value)}</{tag}>"
