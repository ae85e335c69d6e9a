"""`Ledger`: the ledger's database and its four parts (see the package docstring)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Self

from target_mailchimp.ledger.audit import AuditTrail
from target_mailchimp.ledger.database import DEFAULT_LEDGER_URL, LedgerDatabase, utcnow
from target_mailchimp.ledger.lock import RunLock
from target_mailchimp.ledger.scope import LedgerScope
from target_mailchimp.ledger.sources import SourceRecords
from target_mailchimp.ledger.writes import WriteLog

__all__ = ["DEFAULT_LEDGER_URL", "Ledger", "utcnow"]


class Ledger:
    """Dedupe and audit trail of target-mailchimp, in any SQLAlchemy database.

    Opening it opens the database (`db`: tables created or completed, the company's `scope`
    entered); its parts are `lock` (runs and the run lock), `writes` (payload hashes of
    written objects, order lines, open batches), `sources` (what Intacct said, tombstones,
    parked records) and `audit` (the audit trail). Every call runs in its own short
    transaction and is safe from several threads. Close with `close()` or use it as a context
    manager.
    """

    def __init__(
        self,
        url: str = DEFAULT_LEDGER_URL,
        *,
        full_refresh: bool = False,
        stale_after: timedelta = timedelta(minutes=10),
        heartbeat_interval: float | None = 60.0,
        clock: Callable[[], datetime] = utcnow,
        busy_timeout_ms: int = 30_000,
        scope: LedgerScope | None = None,
        create_scope: bool = True,
    ) -> None:
        self.db = LedgerDatabase(url, clock, busy_timeout_ms, scope, create_scope)
        #: The URL with its password masked.
        self.url = self.db.url
        #: The company whose rows this ledger reads and writes (None: the database's own
        #: tables; see `target_mailchimp.ledger.scope`).
        self.scope = scope
        #: The PostgreSQL schema / SQLite database holding this scope's tables.
        self.schema_name = self.db.schema_name
        self.lock = RunLock(self.db, stale_after=stale_after, heartbeat_interval=heartbeat_interval)
        current_run = self._current_run_id
        self.writes = WriteLog(self.db, current_run, full_refresh=full_refresh)
        self.sources = SourceRecords(self.db, current_run)
        self.audit = AuditTrail(self.db)

    def _current_run_id(self) -> str | None:
        return self.lock.current_run_id

    def close(self) -> None:
        """Stop the heartbeat, end the run's session and dispose of the Engine (the run lock
        is NOT released: `lock.finish_run` does that)."""
        self.lock.close()
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
