"""Custom fields: from a ``lookup`` answer to JSON schema properties.

Only fields that ``lookup`` flags as custom are added; the standard fields come from the
bundled schemas, which stay the source of truth for their types. A dotted custom field ID
becomes nested objects like every other dotted path.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

_DATATYPES: dict[str, dict[str, Any]] = {
    "INTEGER": {"type": ["integer", "null"]},
    "SEQUENCE": {"type": ["integer", "null"]},
    "DECIMAL": {"type": ["number", "null"]},
    "CURRENCY": {"type": ["number", "null"]},
    "PERCENT": {"type": ["number", "null"]},
    "BOOLEAN": {"type": ["boolean", "null"]},
    "DATE": {"type": ["string", "null"], "format": "date"},
    "TIMESTAMP": {"type": ["string", "null"], "format": "date-time"},
}
_TEXT = {"type": ["string", "null"]}


class LookupField(Protocol):
    """What this module reads of one lookup field (the gateway's ``FieldDef``)."""

    @property
    def id(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def datatype(self) -> str: ...
    @property
    def is_custom(self) -> bool: ...


def property_for(field: LookupField) -> dict[str, Any]:
    """The schema property of one lookup field (unknown data types are text)."""
    prop = dict(_DATATYPES.get(field.datatype.upper(), _TEXT))
    if field.label:
        prop["description"] = f"{field.label} (custom field)"
    return prop


def add_custom_fields(schema: Mapping[str, Any], fields: Iterable[LookupField]) -> dict[str, Any]:
    """A copy of ``schema`` with every custom field of ``fields`` that it lacks."""
    out = copy.deepcopy(dict(schema))
    for field in fields:
        if not field.is_custom or not field.id:
            continue
        *parents, leaf = field.id.split(".")
        node = out
        clash = False
        for part in parents:
            props = node.setdefault("properties", {})
            child = props.get(part)
            if child is None:
                child = {
                    "type": ["object", "null"],
                    "properties": {},
                    "additionalProperties": False,
                }
                props[part] = child
            elif "properties" not in child:
                clash = True
                break
            node = child
        if clash:
            continue
        node.setdefault("properties", {}).setdefault(leaf, property_for(field))
    return out


def extra_properties(schema: Mapping[str, Any], bundled: Mapping[str, Any]) -> dict[str, Any]:
    """Top-level properties of ``schema`` (an input catalog's) that ``bundled`` lacks."""
    known = bundled.get("properties", {})
    return {k: v for k, v in schema.get("properties", {}).items() if k not in known}
