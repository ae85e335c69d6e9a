"""Sage's request schema (api.xsd), loaded once per process with xmlschema (lax).

The file is vendored in the repository (tests/sandbox/reference/intacct-xsd/api.xsd, see
PROVENANCE.md there). Loading takes about 1.5 s; validating a request takes a few milliseconds.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import xmlschema

from tests.sandbox.reference import INTACCT_XSD

DEFAULT_XSD_PATH = INTACCT_XSD

_lock = threading.Lock()
_schemas: dict[Path, Any] = {}


def load_schema(path: Path | None = None) -> Any:
    """The cached xmlschema.XMLSchema for `path` (default: the vendored api.xsd)."""
    p = (path or DEFAULT_XSD_PATH).resolve()
    with _lock:
        schema = _schemas.get(p)
        if schema is None:
            if not p.exists():
                raise FileNotFoundError(
                    f"Intacct request schema not found at {p}; it is part of the repository "
                    "(tests/sandbox/reference/intacct-xsd/api.xsd): restore it with git checkout"
                )
            schema = xmlschema.XMLSchema(str(p), validation="lax")
            _schemas[p] = schema
        return schema


def validation_errors(root: Any, path: Path | None = None, limit: int = 10) -> list[str]:
    """Readable schema errors of a parsed request (lxml element), at most `limit`."""
    schema = load_schema(path)
    out: list[str] = []
    with _lock:
        for err in schema.iter_errors(root):
            where = err.path or ""
            out.append(f"{err.reason} Path: {where}" if where else str(err.reason))
            if len(out) >= limit:
                break
    return out
