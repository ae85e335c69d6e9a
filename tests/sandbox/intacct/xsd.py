"""Sage's request schema (api.xsd), loaded once per process with xmlschema (lax).

The file lives in the shared reference folder beside the repository
(REPO_ROOT.parent / "shared" / "reference" / "intacct-xsd" / "api.xsd"); the environment
variable INTACCT_XSD_PATH overrides it. Loading takes about 1.5 s; validating a request
takes a few milliseconds.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import xmlschema

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_XSD_PATH = REPO_ROOT.parent / "shared" / "reference" / "intacct-xsd" / "api.xsd"

_lock = threading.Lock()
_schemas: dict[Path, Any] = {}


def xsd_path() -> Path:
    env = os.environ.get("INTACCT_XSD_PATH")
    return Path(env) if env else DEFAULT_XSD_PATH


def load_schema(path: Path | None = None) -> Any:
    """The cached xmlschema.XMLSchema for `path` (default: xsd_path())."""
    p = (path or xsd_path()).resolve()
    with _lock:
        schema = _schemas.get(p)
        if schema is None:
            if not p.exists():
                raise FileNotFoundError(
                    f"Intacct request schema not found at {p}; the shared/ folder must sit "
                    "beside the repository, or set INTACCT_XSD_PATH"
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
