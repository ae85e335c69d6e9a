"""Values no record may carry, whatever its schema says: the first one found rejects it.

`value_problem(record) -> str | None` walks a record (iteratively, so no nesting can exhaust
the stack) and names the first field holding:

- a number that is not finite (NaN, Infinity: Python taps write them as bare constants) or
  out of range: a fraction or exponent form beyond ±10^18 (`1e309` reads as a decimal that
  Mailchimp would store as `inf`; no amount of a real book comes near), or a whole number
  beyond 64 bits;
- text that is not valid Unicode (a lone surrogate, from an unpaired `\\ud800` escape or a
  byte that was not UTF-8), or a NUL character in a key;
- nesting deeper than `MAX_DEPTH` levels (no tap's record comes near; a 50,000-deep one
  would otherwise stop the run with a RecursionError), or a structure the reader marked as
  too deep to read (`TOO_DEEP`, see `target_mailchimp.reader`).

The sinks reject such a record into the audit trail with this reason and go on with the
rest, so one odd value never stops a run (and every rerun after it).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

#: Deepest nesting accepted (the record itself is level 0).
MAX_DEPTH = 32
#: Largest magnitude of a number written with a fraction or an exponent.
MAX_AMOUNT = Decimal(10) ** 18
#: Largest magnitude of a whole number (64-bit signed).
MAX_INTEGER = 2**63 - 1
#: What the reader puts in place of a structure nested too deep to read.
TOO_DEEP = "\x00too-deep\x00"


def _field(path: list[str | int]) -> str:
    if not path:
        return "the record"
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _is_valid_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _number_problem(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return f"{value!r} is not a finite number"
        if abs(value) >= MAX_AMOUNT:
            return f"{value!r} is out of range (beyond ±10^18)"
        return None
    if isinstance(value, Decimal):
        if not value.is_finite():
            return f"{value} is not a finite number"
        if abs(value) >= MAX_AMOUNT:
            return f"{value} is out of range (beyond ±10^18)"
        return None
    if isinstance(value, int) and abs(value) > MAX_INTEGER:
        return "a whole number beyond 64 bits is out of range"
    return None


def value_problem(record: Any) -> str | None:
    """Why `record` holds a value no record may carry (see module docstring), or None."""
    stack: list[tuple[Any, list[str | int]]] = [(record, [])]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if value == TOO_DEEP:
                return f"{_field(path)} is nested too deep to read (more than {MAX_DEPTH} levels)"
            if not _is_valid_text(value):
                return f"{_field(path)} holds text that is not valid Unicode (a lone surrogate)"
            continue
        if isinstance(value, dict | list) and len(path) >= MAX_DEPTH:
            return f"{_field(path)} is nested more than {MAX_DEPTH} levels deep"
        if isinstance(value, dict):
            for key, item in reversed(list(value.items())):
                name = str(key)
                if not _is_valid_text(name) or "\x00" in name:
                    return f"a key under {_field(path)} is not valid text"
                stack.append((item, [*path, name]))
            continue
        if isinstance(value, list):
            for index in range(len(value) - 1, -1, -1):
                stack.append((value[index], [*path, index]))
            continue
        problem = _number_problem(value)
        if problem is not None:
            return f"{_field(path)}: {problem}"
    return None
