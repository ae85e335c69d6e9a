"""Checking a record before mapping: values no record may carry, then its stream's schema.

A sink wraps each buffered record in an `Incoming` with the first problem found (or None);
the processors reject a record with a problem into the audit trail and go on.

**Values.** Values no record may carry, whatever its schema says: the first one found rejects it.

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

**Schema.** Checking records against their stream's schema, cheaply.

`RecordChecker(schema).problem(record) -> jsonschema.ValidationError | None`.

Taps' schemas use a small part of JSON Schema (type, properties, items, required,
additionalProperties, plus annotations). For those, the checker compiles the schema into
plain Python closures that say "valid" about ten times faster than a jsonschema validator
walking the schema per record. When the fast check fails, or the schema uses anything
else, the full Draft 7 validator decides and explains (its best-matching error), so the
answer is always jsonschema's: the fast path can only be stricter, never more lenient, and a
stricter "no" is always re-checked.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import jsonschema  # type: ignore[import-untyped]


@dataclass
class Incoming:
    """A buffered input record and, when it is rejected before mapping, why."""

    record: dict[str, Any]
    problem: str | None = None


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


Check = Callable[[Any], bool]

#: Keywords that only annotate (or that this target does not enforce: formats).
_ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "title",
        "description",
        "default",
        "examples",
        "format",
        "readOnly",
        "writeOnly",
        "deprecated",
    }
)
_HANDLED = frozenset({"type", "properties", "items", "required", "additionalProperties"})

_TYPE_CHECKS: dict[str, Check] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float | Decimal) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}


def _always(_value: Any) -> bool:
    return True


def compile_schema(schema: Any) -> Check | None:
    """A fast validity check for `schema`, or None if it uses unsupported keywords."""
    if schema is True or schema == {}:
        return _always
    if not isinstance(schema, Mapping):
        return None
    unknown = set(schema) - _HANDLED - _ANNOTATIONS
    if unknown:
        return None
    checks: list[Check] = []

    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        if not all(isinstance(n, str) and n in _TYPE_CHECKS for n in names):
            return None
        checks.append(_any_of(tuple(_TYPE_CHECKS[n] for n in names)))

    properties = schema.get("properties")
    required = schema.get("required")
    additional = schema.get("additionalProperties", True)
    if properties is not None or required is not None or additional is not True:
        props: dict[str, Check] = {}
        for name, sub in (properties or {}).items():
            compiled = compile_schema(sub)
            if compiled is None:
                return None
            props[name] = compiled
        if required is not None and not isinstance(required, list):
            return None
        needed = tuple(required or ())
        extra: Check | None
        if additional is True:
            extra = None
        elif additional is False:
            extra = lambda _v: False  # noqa: E731 - a tiny closure reads best here
        else:
            extra = compile_schema(additional)
            if extra is None:
                return None

        def check_object(value: Any, props: dict[str, Check] = props) -> bool:
            if not isinstance(value, dict):
                return True  # "properties" only constrains objects
            for key in needed:
                if key not in value:
                    return False
            for key, item in value.items():
                check = props.get(key)
                if check is not None:
                    if not check(item):
                        return False
                elif extra is not None and not extra(item):
                    return False
            return True

        checks.append(check_object)

    if "items" in schema:
        compiled_items = compile_schema(schema["items"])
        if compiled_items is None:
            return None
        checks.append(_items_check(compiled_items))

    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    return _all_of(tuple(checks))


def _items_check(item_check: Check) -> Check:
    def check_items(value: Any) -> bool:
        if not isinstance(value, list):
            return True
        return all(item_check(v) for v in value)

    return check_items


def _any_of(checks: tuple[Check, ...]) -> Check:
    if len(checks) == 1:
        return checks[0]

    def check_any(value: Any) -> bool:
        return any(c(value) for c in checks)

    return check_any


def _all_of(checks: tuple[Check, ...]) -> Check:
    def check_all(value: Any) -> bool:
        return all(c(value) for c in checks)

    return check_all


class RecordChecker:
    """Validates records of one stream (see module docstring)."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self._full = jsonschema.Draft7Validator(schema)
        self._fast = compile_schema(schema)

    @property
    def fast(self) -> bool:
        """Whether the fast path applies to this schema."""
        return self._fast is not None

    def problem(self, record: Any) -> Any:
        """None when `record` is valid, else jsonschema's best-matching error."""
        if self._fast is not None:
            if self._fast(record):
                return None
        elif self._full.is_valid(record):
            return None
        return jsonschema.exceptions.best_match(self._full.iter_errors(record))
