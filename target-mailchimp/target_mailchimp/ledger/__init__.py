"""The ledger: dedupe of Mailchimp writes, what Intacct said, and the audit trail.

SQLAlchemy Core on any database URL (`ledger_url`; default
`sqlite:///.target-mailchimp/ledger.sqlite`, relative to the working directory), with portable
SQL only, so PostgreSQL works as well as SQLite. Nothing secret is stored: credentials never
reach the ledger, its URL's password is masked in every message, audit details pass through
`redact()`.

`Ledger(url, *, full_refresh=False, stale_after=timedelta(minutes=10), heartbeat_interval=60.0,
clock=utcnow, scope=None)` opens the database and holds four parts, each with one job:

- `ledger.lock` (`lock.RunLock`): runs and the run lock: `start_run`, `heartbeat`,
  `assert_lock_held` / `lock_lost`, `finish_run`, `runs`, `note_run`, `current_run_id`.
- `ledger.writes` (`writes.WriteLog`): the payload hash last written to each Mailchimp object
  (`unchanged`, `record_writes`, `object_states`, `mark_deleted`), order lines, and open
  `/batches` with their plans.
- `ledger.sources` (`sources.SourceRecords`): customers, vendors, bills, invoices and payments
  as Intacct sent them (newest version kept), tombstones of deleted records, parked records.
- `ledger.audit` (`audit.AuditTrail`): the audit trail (`write`, `summary`, `rejected`,
  `rows`).

Underneath: `database.LedgerDatabase` (the Engine, short transactions: SQLite WAL with BEGIN
IMMEDIATE for writes, PostgreSQL with a transaction-scoped advisory lock; portable upserts),
`engine` (the Engine per dialect), `schema` (the tables), `records` (the row types, actions,
errors and `redact`), `scope` (one database for many companies: `LedgerScope`), `slots`
(PostgreSQL connection slots shared by a fleet's runs).
"""

from target_mailchimp.ledger.core import DEFAULT_LEDGER_URL, Ledger, utcnow
from target_mailchimp.ledger.engine import create_ledger_engine, display_url
from target_mailchimp.ledger.records import (
    ACTIONS,
    SUCCESS_ACTIONS,
    AuditEntry,
    AuditRow,
    LedgerError,
    LedgerLockedError,
    LedgerLockLostError,
    ObjectState,
    ParkedRecord,
    PlannedOperation,
    RunInfo,
    WriteRecord,
    redact,
)
from target_mailchimp.ledger.scope import LedgerScope, list_scopes

__all__ = [
    "ACTIONS",
    "DEFAULT_LEDGER_URL",
    "SUCCESS_ACTIONS",
    "AuditEntry",
    "AuditRow",
    "Ledger",
    "LedgerError",
    "LedgerLockLostError",
    "LedgerLockedError",
    "LedgerScope",
    "ObjectState",
    "ParkedRecord",
    "PlannedOperation",
    "RunInfo",
    "WriteRecord",
    "create_ledger_engine",
    "display_url",
    "list_scopes",
    "redact",
    "utcnow",
]
