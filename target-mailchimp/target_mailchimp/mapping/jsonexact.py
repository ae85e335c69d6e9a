"""JSON with exact decimals, and the canonical payload hash.

Payloads hold money as `Decimal`. The encoding itself is the target's one JSON encoding,
:mod:`target_mailchimp.jsoncodec` (msgspec; Decimals as exact numbers, NaN and infinities
refused with ValueError); this module gives the mapping and the ledger its text forms:

- `dumps_exact(obj, sort_keys=False) -> str`: JSON text where every Decimal is written as a
  JSON number with exactly its digits; `datetime`/`date` become ISO 8601 strings, tuples
  lists.
- `loads_exact(text)`: the inverse; non-integer numbers come back as Decimal.
- `jsonable(obj)`: a copy of `obj` that `dumps_exact` and the ledger can store (dates as ISO
  strings, Decimals kept).
- `payload_hash(obj) -> str`: SHA-256 hex of a canonical form (sorted keys, numbers in a
  canonical decimal text, so 10, 10.0 and Decimal("10.00") hash alike). The ledger compares
  these hashes to skip unchanged writes.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from target_mailchimp import jsoncodec


def dumps_exact(obj: Any, *, sort_keys: bool = False) -> str:
    """Compact JSON text with Decimals written as exact JSON numbers."""
    return jsoncodec.encode(obj, sort_keys=sort_keys).decode("utf-8")


def loads_exact(text: str | bytes) -> Any:
    """Parse JSON, reading non-integer numbers as Decimal (the inverse of `dumps_exact`)."""
    return jsoncodec.decode(text)


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
    return hashlib.sha256(jsoncodec.encode_canonical(obj)).hexdigest()
