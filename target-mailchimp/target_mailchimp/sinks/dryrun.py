"""Dry runs: a scratch copy of the ledger and a client that cannot write.

A dry run maps every record and compares it with the ledger exactly like a real run, but:

- it works on a scratch SQLite copy of the ledger (`ScratchLedger.copy_of(url)`: the
  objects, source records, payment allocations and parked records of the real ledger,
  copied into a temporary file), so what it records (planned writes, source records,
  parking, audit rows) never changes the real ledger, and a later real run behaves as if
  the dry run never happened. The real ledger is only read, and its run lock is not taken.
- the client is a `DryRunClient`: reads (GET merge fields, GET store) go to Mailchimp,
  every write raises `DryRunWriteError` (the writers never call one in a dry run; this is
  the safety net).

The run summary, rendered from the scratch ledger, says what a real run would do.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert, inspect, select
from sqlalchemy.engine import make_url

from target_mailchimp.api import MailchimpClient
from target_mailchimp.ledger import LedgerScope, create_ledger_engine
from target_mailchimp.ledger import schema as ledger_schema
from target_mailchimp.ledger.scope import registered_scope_schema
from target_mailchimp.sinks.errors import DryRunWriteError

#: Tables a dry run needs from the real ledger (not the audit trail or runs).
COPIED_TABLES = (
    ledger_schema.objects,
    ledger_schema.source_records,
    ledger_schema.payment_allocations,
    ledger_schema.parked,
    ledger_schema.order_lines,
)
COPY_CHUNK = 5000


@dataclass
class ScratchLedger:
    """A temporary SQLite ledger holding a copy of the real one."""

    folder: Path
    copied_rows: int = 0

    @property
    def url(self) -> str:
        return f"sqlite:///{self.folder / 'dry-run-ledger.sqlite'}"

    @classmethod
    def copy_of(cls, url: str, scope: LedgerScope | None = None) -> ScratchLedger:
        """A scratch copy of the rows of `scope` (None: the database's own tables)."""
        scratch = cls(Path(tempfile.mkdtemp(prefix="target-mailchimp-dry-run-")))
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            database = parsed.database or ""
            if database in ("", ":memory:") or not Path(database).exists():
                return scratch  # nothing recorded yet: start from an empty ledger
        source = create_ledger_engine(url)
        if scope is not None and parsed.get_backend_name() == "postgresql":
            # Read only: an unknown scope is not registered, its copy starts empty.
            with source.connect() as conn:
                schema = registered_scope_schema(conn, scope, display=str(url))
            source.dispose()
            if schema is None:
                return scratch
            source = create_ledger_engine(url, search_path=schema)
        target = create_ledger_engine(scratch.url)
        try:
            ledger_schema.metadata.create_all(target)
            existing = set(inspect(source).get_table_names())
            with source.connect() as src, target.begin() as dst:
                for table in COPIED_TABLES:
                    if table.name not in existing:
                        continue
                    result = src.execution_options(stream_results=True).execute(select(table))
                    while rows := result.fetchmany(COPY_CHUNK):
                        dst.execute(insert(table), [dict(r._mapping) for r in rows])
                        scratch.copied_rows += len(rows)
        finally:
            source.dispose()
            target.dispose()
        return scratch

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


#: Client methods a dry run may call (they only read).
READ_METHODS = frozenset(
    {
        "ping",
        "get_account",
        "get_list",
        "get_merge_fields",
        "get_member",
        "get_member_tags",
        "get_store",
        "get_customer",
        "get_product",
        "get_order",
        "get_batch",
        "close",
    }
)
READ_ATTRIBUTES = frozenset({"base_url", "account", "max_concurrency", "stats", "transport"})


class DryRunClient(MailchimpClient):
    """Wraps a client; reads pass through, any write raises `DryRunWriteError`."""

    def __init__(self, inner: MailchimpClient) -> None:
        self._inner = inner
        self.transport = inner.transport

    def __getattribute__(self, name: str) -> Any:
        if name.startswith("_") or name in READ_ATTRIBUTES:
            return object.__getattribute__(self, name)
        inner = object.__getattribute__(self, "_inner")
        if name in READ_METHODS:
            return getattr(inner, name)
        attr = getattr(inner, name)
        if callable(attr):
            return _refuse(name)
        return attr


def _refuse(name: str) -> Callable[..., Any]:
    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise DryRunWriteError(
            f"dry run: MailchimpClient.{name} was called, but a dry run never writes to "
            "Mailchimp (this is a bug in the target)"
        )

    return refuse
