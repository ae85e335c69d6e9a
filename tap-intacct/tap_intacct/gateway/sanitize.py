"""Make arbitrary text safe to put in an XML 1.0 document.

XML 1.0 allows only ``#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]``.
Anything else (C0 controls other than tab, LF and CR; lone surrogates; U+FFFE and U+FFFF) cannot
appear in a document even as a character reference, and lxml refuses such text outright. We strip
those characters and leave every legal character untouched; escaping of ``& < > " '`` is lxml's
job when it serializes.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

__all__ = ["format_value", "is_xml_safe", "sanitize_text"]

_ILLEGAL_XML_CHARS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

DATE_FORMAT = "%m/%d/%Y"
DATETIME_FORMAT = "%m/%d/%Y %H:%M:%S"


def sanitize_text(value: str) -> str:
    """Return ``value`` without the characters XML 1.0 forbids; legal text is returned unchanged."""
    if _ILLEGAL_XML_CHARS.search(value) is None:
        return value
    return _ILLEGAL_XML_CHARS.sub("", value)


def is_xml_safe(value: str) -> bool:
    """True when every character of ``value`` may appear in an XML 1.0 document."""
    return _ILLEGAL_XML_CHARS.search(value) is None


def format_value(value: object) -> str:
    """Render a Python value the way the gateway expects it, then sanitize it.

    - ``bool`` -> ``true``/``false``
    - ``datetime`` -> ``MM/DD/YYYY HH:MM:SS`` (wall-clock time as given; Intacct values carry no
      time zone, so callers convert to the company's frame first)
    - ``date`` -> ``MM/DD/YYYY``
    - ``Decimal``/``int``/``float`` -> plain decimal string (no exponent, no thousands separator)
    - ``str`` -> itself
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.strftime(DATETIME_FORMAT)
    if isinstance(value, dt.date):
        return value.strftime(DATE_FORMAT)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int | float):
        return format(Decimal(str(value)), "f") if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return sanitize_text(value)
    if value is None:
        raise ValueError("None has no gateway representation; use an isnull filter instead")
    raise TypeError(f"cannot send a value of type {type(value).__name__} to the gateway")
