"""Strict settings: every key known, every value in its declared range, before any request.

`settings_problems(config, schema) -> list[str]` checks a plugin's config against its declared
config schema (the plugin's own settings plus the SDK's built-in ones the plugin declares:
stream_maps, flattening_*, batch_config, validate_records, ...), generically, so a setting
added to the schema is checked without more code:

- a key the schema does not declare is refused, with "did you mean" for a near miss (a typo
  such as `status_if_neww` would otherwise be ignored and its default silently used);
- a value is checked against its property's schema (type, minimum/maximum, exclusive
  bounds, allowed values, the values of an object's entries), and a refusal names the
  setting, the value and the allowed range.

Unset values (None) are left to the defaults. One line per problem.

`plugin_settings_problems(plugin) -> (schema, problems)` is the check as both plugins run it:
the plugin's declared schema with the SDK's built-in settings appended, and the problems of
its config against that. Each plugin raises its own error from them.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping
from typing import Any, Protocol

import jsonschema  # type: ignore[import-untyped]


def _did_you_mean(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.7)
    return f"; did you mean {close[0]!r}?" if close else ""


def _allowed(schema: Mapping[str, Any]) -> str:
    """The allowed values of a property schema, in words."""
    if "enum" in schema:
        return "one of " + ", ".join(repr(v) for v in schema["enum"] if v is not None)
    low = schema.get("minimum")
    low_x = schema.get("exclusiveMinimum")
    high = schema.get("maximum")
    high_x = schema.get("exclusiveMaximum")
    parts = []
    if low is not None and high is not None:
        parts.append(f"from {low} to {high}")
        low = high = None
    if low is not None:
        parts.append(f"at least {low}")
    if low_x is not None:
        parts.append(f"more than {low_x}")
    if high is not None:
        parts.append(f"at most {high}")
    if high_x is not None:
        parts.append(f"less than {high_x}")
    kinds = schema.get("type")
    names = [kinds] if isinstance(kinds, str) else [k for k in kinds or () if k != "null"]
    kind = {"integer": "a whole number", "number": "a number", "string": "a text"}.get(
        names[0] if len(names) == 1 else "", " or ".join(names) or "a value"
    )
    return kind + (" " + " and ".join(parts) if parts else "")


def _value_problem(name: str, value: Any, schema: Mapping[str, Any]) -> str | None:
    validator = jsonschema.Draft7Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is None:
        return None
    where = name + "".join(f"[{p!r}]" for p in error.absolute_path)
    sub = error.schema if isinstance(error.schema, Mapping) else schema
    shown = repr(error.instance)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"setting {where!r} must be {_allowed(sub)}; got {shown}"


def settings_problems(config: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """Every unknown key and out-of-range value of `config` (see module docstring)."""
    properties: Mapping[str, Any] = schema.get("properties") or {}
    known = sorted(properties)
    problems: list[str] = []
    for key in sorted(config, key=str):
        if key not in properties:
            problems.append(
                f"unknown setting {str(key)!r}{_did_you_mean(str(key), known)} (it would be "
                "ignored; remove it or correct its name)"
            )
            continue
        value = config[key]
        if value is None:
            continue
        problem = _value_problem(key, value, properties[key])
        if problem is not None:
            problems.append(problem)
    return problems


class DeclaresSettings(Protocol):
    """What the check needs of a plugin (an SDK tap or target has it)."""

    @property
    def config(self) -> Mapping[str, Any]: ...

    @property
    def config_jsonschema(self) -> dict[str, Any]: ...

    def append_builtin_config(self, config_jsonschema: dict[str, Any]) -> None: ...


def plugin_settings_problems(plugin: DeclaresSettings) -> tuple[dict[str, Any], list[str]]:
    """The plugin's full config schema (a copy of its own, with the SDK's built-in settings
    appended) and every problem `settings_problems` finds in its config against it."""
    schema = copy.deepcopy(plugin.config_jsonschema)
    plugin.append_builtin_config(schema)
    return schema, settings_problems(plugin.config, schema)
