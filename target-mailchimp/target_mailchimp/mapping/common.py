"""Small pure helpers shared by the mapping modules.

- `check_email(value) -> (email, error)`: the email validity rule (below).
- `email_key(email)`: the lower-cased address members are matched on.
- `subscriber_hash(email)`: MD5 hex of the lower-cased, trimmed address (Mailchimp's member id).
- `truncate_utf8(text, max_bytes=255)`: the longest prefix that fits in `max_bytes` UTF-8 bytes
  without splitting a code point.
- `clean_text(value, max_bytes=255)`: a trimmed, truncated text or None for empty values.
- `get_path(record, "A.B.C")`: a nested value; also finds flattened keys "A.B.C" / "A__B__C"
  (the SDK's schema flattening) so records work with and without flattening.
- `to_decimal`, `as_recordno`, `to_datetime`, `iso_datetime`, `iso_date_midnight`: input
  coercion; date/date-time values may be `datetime`/`date` objects or ISO strings, numbers
  `Decimal`, `int`, `float` or numeric strings.
- `check_object_id(value) -> (id, error)`: ids used in Mailchimp URL paths.
- `record_label(stream, record)`: "ap_bills RECORDNO 7 (RECORDID B-7)" for messages.

Email validity (conservative: an address we pass should not be refused by Mailchimp for its
shape; Mailchimp's own "looks fake" checks cannot be predicted):

- trimmed of surrounding whitespace; no whitespace or control character inside;
- exactly one "@"; at most 254 characters in all, 64 bytes before the "@";
- the local part is ASCII dot-atom text (letters, digits and ``!#$%&'*+-/=?^_`{|}~``, dots
  not first, last or doubled). Quoted local parts and non-ASCII (internationalized) local
  parts are rejected: Mailchimp refuses most of them;
- the domain has at least two labels of letters, digits and hyphens (not at either end), each
  at most 63 characters, a top-level label of at least two letters (or an "xn--" label), no
  trailing dot, no IP literal. An internationalized domain (e.g. "bücher.de") is converted to
  its ASCII (IDNA/punycode) form, which is what is sent and hashed;
- the case of the address is kept in `email_address`; the hash and the member identity use the
  lower-cased address.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

import idna

from target_mailchimp.mapping.results import Rejected

STREAM_CUSTOMERS = "customers"
STREAM_VENDORS = "vendors"
STREAM_BILLS = "ap_bills"
STREAM_PAYMENTS = "ap_payments"
STREAM_INVOICES = "ar_invoices"
STREAM_AR_PAYMENTS = "ar_payments"
#: The streams whose records are people (audience members and e-commerce customers).
CONTACT_STREAMS = (STREAM_CUSTOMERS, STREAM_VENDORS)
#: The streams of payments, AP then AR.
PAYMENT_STREAMS = (STREAM_PAYMENTS, STREAM_AR_PAYMENTS)
STREAM_LIST_MEMBERS = "list_members"
STREAM_EC_CUSTOMERS = "ecommerce_customers"
STREAM_EC_PRODUCTS = "ecommerce_products"
STREAM_EC_ORDERS = "ecommerce_orders"

TEXT_MAX_BYTES = 255
EMAIL_MAX_CHARS = 254
LOCAL_PART_MAX_BYTES = 64

_ATEXT = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~"
)
_LABEL_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_TLD_RE = re.compile(r"^(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$")


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def _ascii_domain(domain: str) -> tuple[str | None, str | None]:
    """The ASCII (punycode) form of a domain under IDNA 2008 with UTS #46 mapping.

    Non-transitional: ß, ς and the joiners keep their meaning (straße.de is xn--strae-oqa.de,
    never strasse.de). An ASCII domain is kept as written; its punycode labels must decode.
    """
    if domain.isascii() and not any(
        label.lower().startswith("xn--") for label in domain.split(".")
    ):
        return domain, None
    try:
        if domain.isascii():
            idna.decode(domain.rstrip("."))
            return domain, None
        trailing = "." if domain.endswith(".") else ""
        ascii_domain = idna.encode(domain.rstrip("."), uts46=True, transitional=False)
        return ascii_domain.decode("ascii") + trailing, None
    except (idna.IDNAError, UnicodeError):
        # The library's message quotes the label: personal data stays out of the reason.
        return None, (
            "has an internationalized domain that IDNA 2008 does not allow (symbols such as "
            "emoji, or a malformed xn-- label)"
        )


def check_email(value: Any) -> tuple[str | None, str | None]:
    """Return (email, None) for a valid address, (None, problem) otherwise.

    The problem is a short phrase ("has no '@'") for use inside a longer message.
    """
    if value is None:
        return None, "is empty"
    if not isinstance(value, str):
        return None, f"is not text ({type(value).__name__})"
    text = value.strip()
    if not text:
        return None, "is empty"
    if any(ch.isspace() for ch in text):
        return None, "contains a space"
    if any(_is_control(ch) for ch in text):
        return None, "contains a control character"
    at_count = text.count("@")
    if at_count == 0:
        return None, "has no '@'"
    if at_count > 1:
        return None, "has more than one '@'"
    local, domain = text.split("@")
    if not local:
        return None, "has nothing before the '@'"
    if not domain:
        return None, "has no domain after the '@'"
    if any(ord(ch) > 127 for ch in local):
        return None, (
            "has non-ASCII characters before the '@' (Mailchimp does not accept "
            "internationalized local parts)"
        )
    bad = sorted({ch for ch in local if ch not in _ATEXT and ch != "."})
    if bad:
        return None, f"has characters not allowed before the '@': {''.join(bad)!r}"
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return None, "has a misplaced '.' before the '@'"
    if len(local.encode()) > LOCAL_PART_MAX_BYTES:
        return None, f"has more than {LOCAL_PART_MAX_BYTES} characters before the '@'"
    ascii_domain, problem = _ascii_domain(domain)
    if ascii_domain is None:
        return None, problem
    if ascii_domain.endswith("."):
        return None, "has a domain ending in '.'"
    labels = ascii_domain.split(".")
    if len(labels) < 2:
        return None, "has a domain without a '.'"
    if not all(_LABEL_RE.match(label) for label in labels):
        return None, "has an invalid domain"
    if not _TLD_RE.match(labels[-1]):
        return None, f"has an invalid top-level domain {labels[-1]!r}"
    if len(ascii_domain) > 253:
        return None, "has a domain longer than 253 characters"
    email = f"{local}@{ascii_domain}"
    if len(email) > EMAIL_MAX_CHARS:
        return None, f"is longer than {EMAIL_MAX_CHARS} characters"
    return email, None


def email_key(email: str) -> str:
    """The identity of a member: the trimmed, lower-cased address."""
    return email.strip().lower()


def subscriber_hash(email: str) -> str:
    """Mailchimp's subscriber hash: MD5 hex digest of the lower-cased address."""
    return hashlib.md5(email_key(email).encode("utf-8"), usedforsecurity=False).hexdigest()


def truncate_utf8(text: str, max_bytes: int = TEXT_MAX_BYTES) -> str:
    """The longest prefix of `text` that is at most `max_bytes` bytes in UTF-8.

    Never splits a code point (a cut inside a multi-byte character drops that character).
    """
    data = text.encode("utf-8", errors="replace")
    if len(data) <= max_bytes:
        return text
    return data[:max_bytes].decode("utf-8", errors="ignore")


# C0 control characters other than tab, LF and CR, and DEL: Intacct cannot hold them in XML,
# and no Mailchimp field is better for them, so text from any tap is cleaned the same way.
_CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def to_text(value: Any) -> str | None:
    """Text form of a scalar input value; None for None and blank strings.

    Control characters (C0 other than tab, LF and CR; DEL) are dropped, the rest is kept.
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = _CONTROL_CHARS.sub("", value).strip()
        return text or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return iso_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, float)):
        return str(value)
    return None


def clean_text(value: Any, max_bytes: int = TEXT_MAX_BYTES) -> str | None:
    """Trimmed text truncated to `max_bytes` UTF-8 bytes, or None when empty."""
    text = to_text(value)
    if text is None:
        return None
    return truncate_utf8(text, max_bytes) or None


def get_path(record: Mapping[str, Any], path: str) -> Any:
    """Value at a dotted path of nested objects; None when any part is missing.

    Also accepts records flattened by the SDK ("A__B") or keyed by the dotted path itself.
    """
    if path in record:
        return record[path]
    flat = path.replace(".", "__")
    if flat in record:
        return record[flat]
    current: Any = record
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    return current


def to_decimal(value: Any) -> Decimal | None:
    """A finite Decimal from Decimal/int/float/numeric string; None for None or "".

    Raises ValueError for anything else (callers turn that into a rejection).
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        if not value.strip():
            return None
        try:
            result = Decimal(value.strip())
        except InvalidOperation as exc:
            raise ValueError(f"{value!r} is not a number") from exc
    else:
        raise ValueError(f"{value!r} is not a number")
    if not result.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return result


def as_recordno(value: Any) -> int | None:
    """An Intacct RECORDNO as int (from int, integral Decimal or digit string), else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        if value.is_finite() and value == value.to_integral_value():
            return int(value)
        return None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def recordno_or_rejected(label: str, record: Mapping[str, Any]) -> int | Rejected:
    """The RECORDNO of a document or payment record, or why the record cannot be read."""
    recordno = as_recordno(record.get("RECORDNO"))
    if recordno is None:
        return Rejected(
            "recordno_missing",
            f"{label}: RECORDNO is missing or not an integer; select RECORDNO in the tap",
        )
    return recordno


_US_DATE_FORMATS = ("%m/%d/%Y", "%m/%d/%Y %H:%M:%S")


def _parse_datetime_text(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    for fmt in _US_DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def to_datetime(value: Any) -> datetime | None:
    """An aware datetime from datetime/date/ISO string (or Intacct's MM/DD/YYYY); None if empty.

    Naive values are taken as UTC; a date is midnight UTC. Raises ValueError when unparseable.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(0, 0), tzinfo=UTC)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        parsed = _parse_datetime_text(text)
        if parsed is None:
            raise ValueError(f"{value!r} is not an ISO 8601 date or date-time")
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    raise ValueError(f"{value!r} is not a date or date-time")


def iso_datetime(value: Any) -> str | None:
    """ISO 8601 date-time text (offset kept; naive taken as UTC); None when empty."""
    parsed = to_datetime(value)
    return parsed.isoformat() if parsed is not None else None


def iso_date_midnight(value: Any) -> str | None:
    """The calendar date of `value` (as written, offset ignored) at 00:00:00+00:00, ISO 8601."""
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value
    else:
        parsed = to_datetime(value)
        if parsed is None:
            return None
        day = parsed.date()
    return datetime.combine(day, time(0, 0), tzinfo=UTC).isoformat()


_ID_FORBIDDEN = ("/", "\\")


def check_object_id(value: Any) -> tuple[str | None, str | None]:
    """(id, None) when `value` can be a Mailchimp object id, else (None, problem).

    Ids are trimmed; empty ids, ids with '/' or '\\' (which proxies and servers treat as path
    separators even when percent-encoded), the dot segments '.' and '..' (which URL
    normalization removes) and ids with control characters are refused. Other
    characters are allowed: the API client percent-encodes path segments.
    """
    text = to_text(value)
    if text is None:
        return None, "is empty"
    if any(ch in text for ch in _ID_FORBIDDEN):
        return None, "contains '/' or '\\', which cannot be used in a Mailchimp URL path"
    if text in (".", ".."):
        return None, "is '.' or '..', which cannot be used in a Mailchimp URL path"
    if any(_is_control(ch) for ch in text):
        return None, "contains a control character"
    if len(text.encode("utf-8")) > 200:
        return None, "is longer than 200 bytes"
    return text, None


#: Values a record label shows (a list or an object in an id field is left out).
_LABEL_SCALARS = (str, int, float, Decimal)


def record_label(stream: str, record: Mapping[str, Any]) -> str:
    """A short human name of a source record for messages: stream, RECORDNO and its id."""
    parts = [stream]
    recordno = record.get("RECORDNO")
    if recordno is not None and isinstance(recordno, _LABEL_SCALARS):
        parts.append(f"RECORDNO {recordno}")
    for key in ("CUSTOMERID", "VENDORID", "RECORDID"):
        val = record.get(key)
        if val not in (None, "") and isinstance(val, _LABEL_SCALARS):
            parts.append(f"({key} {val})")
            break
    if len(parts) == 1:
        for key in ("email_address", "id"):
            val = record.get(key)
            if val not in (None, "") and isinstance(val, _LABEL_SCALARS):
                parts.append(f"{key} {val!r}")
                break
    return " ".join(parts)
