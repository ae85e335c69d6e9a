"""Checking records against their stream's schema, cheaply.

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

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import jsonschema  # type: ignore[import-untyped]

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
