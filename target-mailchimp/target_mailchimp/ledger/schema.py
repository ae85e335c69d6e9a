"""Ledger tables (SQLAlchemy Core, portable types: works on SQLite and PostgreSQL).

- `ledger_meta`: key/value; `schema_version`.
- `runs`: one row per run: run_id, started_at, finished_at, status (running, succeeded,
  failed, abandoned), host, pid, counts (JSON: {object kind: {action: n}}), note (what the
  operator must know, e.g. a ledger reset).
- `locks`: the run lock; one row named "run" while a run holds the ledger (unique key),
  with its heartbeat.
- `objects`: per Mailchimp object (kind, object_id): the hash of the payload last written
  successfully, the last action, HTTP status, X-Request-Id, run and time.
- `source_records`: every Intacct record seen, keyed by (stream, source_key = RECORDNO):
  source_id (CUSTOMERID / VENDORID / RECORDID), email_key, status and the JSON the mapping
  needs (a ContactRecord, the bill record, the payment's allocations).
- `payment_allocations`: (payment RECORDNO, bill RECORDNO) -> amounts and voided flag, so
  payments can be summed per bill with a plain indexed query.
- `order_lines`: (order id, line id) of the lines last written to each order, so lines that
  left the source document are deleted from the order (a PATCH never removes a line).
- `parked`: records waiting for another record (bills for their vendor, payments for their
  bill), with the full record JSON.
- `audit`: one row per record and object per run: what happened and why, and the ids the
  record refers to (`refs`: its vendor, customer, the bills a payment pays).

Nothing secret is stored: no API key, no Intacct credentials; the ledger never receives them.
Times are stored as naive UTC and returned as aware UTC datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeDecorator

SCHEMA_VERSION = 1


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python, naive UTC in the database (portable)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


_ID = String(255)
_RUN_ID = String(64)
_AUDIT_ID = BigInteger().with_variant(Integer, "sqlite")

metadata = MetaData()

ledger_meta = Table(
    "ledger_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(255), nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("run_id", _RUN_ID, primary_key=True),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
    Column("status", String(20), nullable=False),
    Column("host", String(255)),
    Column("pid", Integer),
    Column("counts", Text),
    # What an operator must know about the run, said in its summary (e.g. a ledger reset
    # detected). Added after schema version 1: see ADDED_COLUMNS.
    Column("note", Text),
)

locks = Table(
    "locks",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("run_id", _RUN_ID, nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("acquired_at", UTCDateTime(), nullable=False),
    Column("heartbeat_at", UTCDateTime(), nullable=False),
)

objects = Table(
    "objects",
    metadata,
    Column("kind", String(20), nullable=False),
    Column("object_id", _ID, nullable=False),
    Column("payload_hash", String(64)),
    Column("hash_run_id", _RUN_ID),
    Column("last_action", String(20), nullable=False),
    Column("http_status", Integer),
    Column("request_id", _ID),
    Column("run_id", _RUN_ID),
    Column("updated_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("kind", "object_id"),
)

source_records = Table(
    "source_records",
    metadata,
    Column("stream", String(64), nullable=False),
    Column("source_key", _ID, nullable=False),
    Column("source_id", _ID),
    Column("email_key", String(320)),
    Column("status", String(64)),
    Column("data", Text, nullable=False),
    Column("run_id", _RUN_ID),
    Column("updated_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("stream", "source_key"),
    Index("ix_source_records_email_key", "email_key"),
    Index("ix_source_records_stream_source_id", "stream", "source_id"),
)

payment_allocations = Table(
    "payment_allocations",
    metadata,
    Column("payment_key", String(64), nullable=False),
    Column("bill_key", String(64), nullable=False),
    Column("trx_amount", String(64), nullable=False),
    Column("base_amount", String(64), nullable=False),
    Column("voided", Boolean, nullable=False),
    Column("when_modified", String(64)),
    PrimaryKeyConstraint("payment_key", "bill_key"),
    Index("ix_payment_allocations_bill_key", "bill_key"),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("order_id", _ID, nullable=False),
    Column("line_id", _ID, nullable=False),
    Column("run_id", _RUN_ID),
    PrimaryKeyConstraint("order_id", "line_id"),
)

parked = Table(
    "parked",
    metadata,
    Column("stream", String(64), nullable=False),
    Column("source_key", _ID, nullable=False),
    Column("source_id", _ID),
    Column("code", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("waiting_kind", String(20), nullable=False),
    Column("waiting_keys", Text, nullable=False),
    Column("record", Text, nullable=False),
    Column("run_id", _RUN_ID),
    Column("parked_at", UTCDateTime(), nullable=False),
    Column("attempts", Integer, nullable=False),
    PrimaryKeyConstraint("stream", "source_key"),
)

audit = Table(
    "audit",
    metadata,
    Column("id", _AUDIT_ID, primary_key=True, autoincrement=True),
    Column("run_id", _RUN_ID, nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("stream", String(64), nullable=False),
    Column("source_key", _ID),
    Column("source_id", _ID),
    Column("email", String(320)),
    Column("object_kind", String(20)),
    Column("object_id", _ID),
    Column("action", String(20), nullable=False),
    Column("http_status", Integer),
    Column("request_id", _ID),
    Column("detail", Text),
    Column("attempts", Integer, nullable=False),
    # The ids the record refers to, as JSON ({"VENDORID": "V-1", "bill RECORDNO": ["12"]}),
    # so a search for a vendor finds the bills rejected because of it. Ids only, never an
    # email or a name. Added after schema version 1: see ADDED_COLUMNS.
    Column("refs", Text),
    Index("ix_audit_run_action", "run_id", "action"),
)

#: Nullable columns added to existing tables without a schema version change: a ledger
#: made before them gets them on open (ALTER TABLE ... ADD COLUMN), and an older target
#: reading a newer ledger simply ignores them.
ADDED_COLUMNS: tuple[tuple[Table, str], ...] = ((audit, "refs"), (runs, "note"))
