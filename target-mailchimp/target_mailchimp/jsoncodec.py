"""The target's one JSON encoding: msgspec, with exact decimals and no NaN.

Every JSON the target writes goes through here: request bodies and batch operations
(:mod:`target_mailchimp.api`), the payloads and source records the ledger stores, and the
canonical form the payload hashes are taken of (:mod:`target_mailchimp.mapping.jsonexact`).

msgspec does the writing: ``decimal_format="number"`` writes a ``Decimal`` as a JSON number
with exactly its digits (``0.10``, ``12345678901234567.89``; a float would lose cents), strings
are escaped as Python's ``json`` escapes them (non-ASCII kept as UTF-8), and dict keys can be
written sorted. What msgspec would write that JSON cannot hold is refused before: it writes a
NaN or infinite float as ``null``, which would turn a broken amount into a missing one, so
:func:`encode` raises :class:`ValueError` for every non-finite float or Decimal and names where
it sits (``lines[0].price``). Dates and datetimes are written as ``isoformat()`` strings
(``+00:00`` for UTC, as Python writes them, so stored payloads and hashes keep their form).
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import msgspec

_ENCODER = msgspec.json.Encoder(decimal_format="number")
_SORTED_ENCODER = msgspec.json.Encoder(decimal_format="number", order="sorted")
_DECODER = msgspec.json.Decoder(float_hook=Decimal)

#: The types msgspec writes as they are (no conversion or check needed).
_PLAIN = (str, int, bool, type(None))


class _NonFiniteError(ValueError):
    """A non-finite number; carries where it sits so the message can name it."""

    def __init__(self, value: object, where: str = "") -> None:
        self.value = value
        self.where = where
        at = f" at {where}" if where else ""
        super().__init__(
            f"{value!r}{at} cannot be written as a JSON number: JSON has no NaN or Infinity"
        )

    def inside(self, step: str) -> _NonFiniteError:
        """The same error, one level further out (``step`` is a key or ``[index]``)."""
        if not self.where:
            return _NonFiniteError(self.value, step)
        joint = "" if self.where.startswith("[") else "."
        return _NonFiniteError(self.value, f"{step}{joint}{self.where}")


def _canonical_number(value: Decimal) -> msgspec.Raw:
    # 10, 10.0 and Decimal("10.00") all become 10: no exponent, no trailing zeros, and no
    # rounding (the context holds every digit, however long the number).
    if value == 0:
        return msgspec.Raw(b"0")
    exact = decimal.Context(prec=max(28, len(value.as_tuple().digits)))
    return msgspec.Raw(format(value.normalize(exact), "f").encode())


def _prepared(value: Any, canonical: bool) -> Any:
    """``value`` as msgspec should write it (see the module doc); raises on NaN/Infinity."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise _NonFiniteError(value)
        return _canonical_number(value) if canonical else value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _NonFiniteError(value)
        return _canonical_number(Decimal(repr(value))) if canonical else value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be strings, got {key!r}")
            try:
                out[key] = _prepared(item, canonical)
            except _NonFiniteError as exc:
                raise exc.inside(key) from None
        return out
    if isinstance(value, list | tuple):
        items = []
        for index, item in enumerate(value):
            try:
                items.append(_prepared(item, canonical))
            except _NonFiniteError as exc:
                raise exc.inside(f"[{index}]") from None
        return items
    return value  # msgspec refuses what it cannot write (TypeError)


def encode(value: Any, *, sort_keys: bool = False) -> bytes:
    """Compact UTF-8 JSON of ``value``; Decimals as exact numbers.

    Raises ValueError for NaN or Infinity (float or Decimal), TypeError for a non-string key
    or an object JSON cannot hold.
    """
    prepared = _prepared(value, canonical=False)
    return (_SORTED_ENCODER if sort_keys else _ENCODER).encode(prepared)


def encode_canonical(value: Any) -> bytes:
    """The canonical JSON of ``value``: keys sorted, every number in its shortest exact
    decimal form (so 10, 10.0 and Decimal("10.00") encode alike; True stays apart from 1)."""
    return _SORTED_ENCODER.encode(_prepared(value, canonical=True))


def decode(data: str | bytes) -> Any:
    """Parse JSON; non-integer numbers come back as Decimal (the inverse of :func:`encode`).

    Raises msgspec's DecodeError, a ValueError, for text that is not JSON.
    """
    return _DECODER.decode(data)
