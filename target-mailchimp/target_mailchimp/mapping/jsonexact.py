"""JSON with exact decimals, and the canonical payload hash.

Payloads hold money as `Decimal`. `json.dumps` cannot write a Decimal as a number, and going
through float loses digits (12345678901234567.89 becomes 12345678901234568.0), so:

- `dumps_exact(obj, sort_keys=False) -> str`: JSON text where every Decimal is written as a
  JSON number with exactly its digits; `datetime`/`date` become ISO 8601 strings, tuples
  lists. NaN and infinities raise ValueError (JSON has no such numbers).
- `loads_exact(text)`: the inverse; non-integer numbers come back as Decimal.
- `jsonable(obj)`: a copy of `obj` that `dumps_exact` and the ledger can store (dates as ISO
  strings, Decimals kept).
- `payload_hash(obj) -> str`: SHA-256 hex of a canonical form (sorted keys, numbers in a
  canonical decimal text, so 10, 10.0 and Decimal("10.00") hash alike). The ledger compares
  these hashes to skip unchanged writes.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

_encode_str = json.encoder.encode_basestring


def _number_text(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"{value!r} cannot be written as a JSON number")
    return str(value)


def _canonical_number(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"{value!r} cannot be written as a JSON number")
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def _write(obj: Any, out: list[str], sort_keys: bool, canonical: bool) -> None:
    if obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, str):
        out.append(_encode_str(obj))
    elif isinstance(obj, Decimal):
        out.append(_canonical_number(obj) if canonical else _number_text(obj))
    elif isinstance(obj, int):
        out.append(_canonical_number(Decimal(obj)) if canonical else str(int(obj)))
    elif isinstance(obj, float):
        if not math.isfinite(obj):
            raise ValueError(f"{obj!r} cannot be written as a JSON number")
        out.append(_canonical_number(Decimal(repr(obj))) if canonical else repr(obj))
    elif isinstance(obj, datetime | date):
        out.append(_encode_str(obj.isoformat()))
    elif isinstance(obj, Mapping):
        items = list(obj.items())
        for key, _ in items:
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be strings, got {key!r}")
        if sort_keys:
            items.sort(key=lambda kv: kv[0])
        out.append("{")
        for index, (key, value) in enumerate(items):
            if index:
                out.append(",")
            out.append(_encode_str(key))
            out.append(":")
            _write(value, out, sort_keys, canonical)
        out.append("}")
    elif isinstance(obj, list | tuple):
        out.append("[")
        for index, value in enumerate(obj):
            if index:
                out.append(",")
            _write(value, out, sort_keys, canonical)
        out.append("]")
    else:
        raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def dumps_exact(obj: Any, *, sort_keys: bool = False) -> str:
    """Compact JSON text with Decimals written as exact JSON numbers."""
    out: list[str] = []
    _write(obj, out, sort_keys, canonical=False)
    return "".join(out)


def loads_exact(text: str | bytes) -> Any:
    """Parse JSON, reading non-integer numbers as Decimal (the inverse of `dumps_exact`)."""
    return json.loads(text, parse_float=Decimal)


def jsonable(obj: Any) -> Any:
    """A copy of `obj` made of dict/list/str/int/Decimal/bool/None (dates as ISO strings)."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, float):
        return Decimal(repr(obj)) if math.isfinite(obj) else None
    return obj


def payload_hash(obj: Any) -> str:
    """SHA-256 hex digest of the canonical JSON of `obj` (sorted keys, canonical numbers)."""
    out: list[str] = []
    _write(obj, out, sort_keys=True, canonical=True)
    return hashlib.sha256("".join(out).encode("utf-8")).hexdigest()
