"""The run lock and the runs: one run at a time per ledger (and per company).

`RunLock` (`ledger.lock`): `start_run` takes the lock (a row of `locks` with a unique key,
inserted in a transaction) and records the run; a second run stops at once with
`LedgerLockedError` naming the ledger and the run holding it. A lock whose heartbeat is older
than `stale_after`, or whose process is gone (same machine), is taken over by exactly one run
and the old run marked "abandoned". A daemon thread refreshes the heartbeat every
`heartbeat_interval` seconds (None: call `heartbeat(run_id)` yourself); `assert_lock_held`
raises `LedgerLockLostError` once another run took the lock over. On PostgreSQL with a scope,
the run also holds the company's advisory lock on its own session, so two runs of one company
exclude each other even when they write to different stores. `finish_run` stores the run's
counts and releases the lock; `runs(last_n)` lists the newest runs; `note_run` keeps what the
operator must know about one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import threading
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from target_mailchimp.ledger import schema as t
from target_mailchimp.ledger.audit import audit_summary
from target_mailchimp.ledger.database import LedgerDatabase, logger
from target_mailchimp.ledger.records import (
    RUN_STATUSES,
    LedgerError,
    LedgerLockedError,
    LedgerLockLostError,
    RunInfo,
)

LOCK_NAME = "run"


def machine_identity() -> str:
    """The host name, plus (on Linux) a tag of the kernel boot and PID namespace.

    The run lock trusts a pid check only for a lock taken on the same machine. Containers on
    one host (host networking) or machines cloned from one image can share a host name while
    their pids live in separate namespaces; the tag keeps them apart, so a live run on
    another machine is never taken for a dead process here.
    """
    name = socket.gethostname()
    parts = []
    with contextlib.suppress(OSError):
        parts.append(Path("/proc/sys/kernel/random/boot_id").read_text().strip())
    with contextlib.suppress(OSError):
        parts.append(str(Path("/proc/self/ns/pid").stat().st_ino))
    if not parts:
        return name
    tag = hashlib.sha256("|".join(parts).encode()).hexdigest()[:8]
    return f"{name[:240]}#{tag}"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    return True


class RunLock:
    """The run lock and the runs of one ledger (see module docstring)."""

    def __init__(
        self,
        db: LedgerDatabase,
        *,
        stale_after: timedelta = timedelta(minutes=10),
        heartbeat_interval: float | None = 60.0,
    ) -> None:
        self._db = db
        self.url = db.url
        self.stale_after = stale_after
        self.heartbeat_interval = heartbeat_interval
        #: Who takes the lock: this machine (see `machine_identity`) and process.
        self.host = machine_identity()
        self.pid = os.getpid()
        self._run_id: str | None = None
        self._lock_lost = False
        self._heartbeat_stop: threading.Event | None = None
        self._heartbeat_thread: threading.Thread | None = None
        self._session_conn: Connection | None = None

    @property
    def current_run_id(self) -> str | None:
        """The run started by this Ledger object, if any."""
        return self._run_id

    def start_run(self, run_id: str | None = None) -> str:
        """Take the ledger's run lock and record a new run; returns the run id.

        Raises LedgerLockedError at once, naming the ledger and the run that holds it, when
        another run holds a fresh lock. A lock whose heartbeat is older than `stale_after`,
        or whose process is gone on this host, is taken over and its run marked abandoned.
        """
        now = self._db.clock()
        run_id = run_id or f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
        self._take_company_lock(run_id)
        try:
            self._take_run_lock(run_id, now)
        except BaseException:
            self._release_session()
            raise
        self._run_id = run_id
        self._lock_lost = False
        self._start_heartbeat(run_id)
        return run_id

    def _take_company_lock(self, run_id: str) -> None:
        """PostgreSQL, with a scope: hold the company's advisory lock on the run's session.

        Two runs of one Intacct company + entity + audience exclude each other even when
        they write to different stores (different scopes); other companies are not held up.
        The lock lives as long as the session: a killed run's lock is gone with its process.
        """
        scope = self._db.scope
        if not self._db.postgresql or scope is None:
            return
        key = scope.company_lock_key
        conn = self._db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            if not conn.execute(select(func.pg_try_advisory_lock(key))).scalar_one():
                holder = self._company_lock_holder(conn, key)
                raise LedgerLockedError(
                    f"ledger {self.url}: {scope.describe()} is being synced by another "
                    f"run ({holder}). Two runs of one company must not run at the same time: "
                    "wait for that run to finish (a dead run's lock is released with its "
                    "database connection)."
                )
            conn.execute(
                text("SELECT set_config('application_name', :name, false)"),
                {"name": f"target-mailchimp {run_id}"[:63]},
            )
        except BaseException:
            conn.close()
            raise
        self._session_conn = conn

    @staticmethod
    def _company_lock_holder(conn: Any, key: int) -> str:
        unsigned = key & 0xFFFFFFFFFFFFFFFF
        row = conn.execute(
            text(
                "SELECT a.application_name, a.backend_start FROM pg_locks l "
                "JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
                "AND l.classid::text::bigint = :hi AND l.objid::text::bigint = :lo"
            ),
            {"hi": unsigned >> 32, "lo": unsigned & 0xFFFFFFFF},
        ).first()
        if row is None or not row.application_name:
            return "its run id is not visible"
        since = f", connected {row.backend_start:%Y-%m-%d %H:%M:%S}" if row.backend_start else ""
        return f"{row.application_name}{since}"

    def _take_run_lock(self, run_id: str, now: datetime) -> None:
        stale: Row[Any] | None = None
        try:
            with self._db.tx() as conn:
                holder = conn.execute(select(t.locks).where(t.locks.c.name == LOCK_NAME)).first()
                if holder is not None:
                    if not self._is_stale(holder, now):
                        raise self._locked_error(holder)
                    # Delete exactly the lock judged stale: on PostgreSQL another run may have
                    # taken it over since it was read, and its fresh lock must stay.
                    taken = conn.execute(
                        delete(t.locks).where(
                            t.locks.c.name == LOCK_NAME,
                            t.locks.c.run_id == holder.run_id,
                            t.locks.c.heartbeat_at == holder.heartbeat_at,
                        )
                    ).rowcount
                    if not taken:
                        current = conn.execute(
                            select(t.locks).where(t.locks.c.name == LOCK_NAME)
                        ).first()
                        if current is not None:
                            raise self._locked_error(current)
                    else:
                        stale = holder
                    conn.execute(
                        update(t.runs)
                        .where(t.runs.c.run_id == holder.run_id, t.runs.c.status == "running")
                        .values(status="abandoned", finished_at=now)
                    )
                conn.execute(
                    insert(t.locks).values(
                        name=LOCK_NAME,
                        run_id=run_id,
                        host=self.host,
                        pid=self.pid,
                        acquired_at=now,
                        heartbeat_at=now,
                    )
                )
                conn.execute(
                    insert(t.runs).values(
                        run_id=run_id,
                        started_at=now,
                        status="running",
                        host=self.host,
                        pid=self.pid,
                    )
                )
        except IntegrityError as exc:
            # Lost a race for the lock row (or the run id exists): report who holds it.
            with self._db.tx(write=False) as conn:
                holder = conn.execute(select(t.locks).where(t.locks.c.name == LOCK_NAME)).first()
            if holder is not None:
                raise self._locked_error(holder) from exc
            raise LedgerError(f"ledger {self.url}: run id {run_id!r} already exists") from exc
        if stale is not None:
            # Logged once the takeover committed: of several runs racing for it, only one.
            logger.warning(
                "ledger %s: took over the stale lock of run %s (last heartbeat %s); that run "
                "is marked abandoned",
                self.url,
                stale.run_id,
                stale.heartbeat_at.isoformat(),
            )

    def _is_stale(self, holder: Row[Any], now: datetime) -> bool:
        if now - holder.heartbeat_at > self.stale_after:
            return True
        if holder.host == self.host and holder.pid != self.pid:
            return not _process_alive(int(holder.pid))
        return False

    def _locked_error(self, holder: Row[Any]) -> LedgerLockedError:
        return LedgerLockedError(
            f"ledger {self.url} is in use by run {holder.run_id} (host {holder.host}, pid "
            f"{holder.pid}, started {holder.acquired_at.isoformat()}, last heartbeat "
            f"{holder.heartbeat_at.isoformat()}). Two runs must not write to one ledger at "
            "the same time: wait for that run to finish. If it died, its lock is taken over "
            f"automatically {self.stale_after} after its last heartbeat."
        )

    def heartbeat(self, run_id: str) -> bool:
        """Refresh the lock's heartbeat; False (and `lock_lost`) when the lock is not ours."""
        with self._db.tx() as conn:
            result = conn.execute(
                update(t.locks)
                .where(t.locks.c.name == LOCK_NAME, t.locks.c.run_id == run_id)
                .values(heartbeat_at=self._db.clock())
            )
        if result.rowcount == 0:
            if not self._lock_lost:
                logger.error("ledger %s: run %s no longer holds the run lock", self.url, run_id)
            self._lock_lost = True
            return False
        return True

    @property
    def lock_lost(self) -> bool:
        return self._lock_lost

    def assert_lock_held(self, run_id: str) -> None:
        """Raise LedgerLockLostError when another run took this run's lock over."""
        with self._db.tx(write=False) as conn:
            holder = conn.execute(select(t.locks).where(t.locks.c.name == LOCK_NAME)).first()
        if holder is None or holder.run_id != run_id:
            self._lock_lost = True
            taker = f"run {holder.run_id}" if holder is not None else "nobody"
            raise LedgerLockLostError(
                f"ledger {self.url}: run {run_id} lost its lock (now held by {taker}); "
                "it was considered stale. Stop this run."
            )

    def _start_heartbeat(self, run_id: str) -> None:
        self._stop_heartbeat()
        if not self.heartbeat_interval:
            return
        stop = threading.Event()
        interval = self.heartbeat_interval

        def beat() -> None:
            while not stop.wait(interval):
                try:
                    self.heartbeat(run_id)
                except Exception:
                    logger.warning("ledger %s: heartbeat failed", self.url, exc_info=True)

        thread = threading.Thread(target=beat, name=f"ledger-heartbeat-{run_id}", daemon=True)
        self._heartbeat_stop = stop
        self._heartbeat_thread = thread
        thread.start()

    def close(self) -> None:
        """Stop the heartbeat and end the run's own session (the lock row is NOT released:
        a run that did not finish leaves it, to be taken over once stale)."""
        self._stop_heartbeat()
        self._release_session()

    def _release_session(self) -> None:
        """Close the run's own database session (PostgreSQL: its advisory locks go too)."""
        conn, self._session_conn = self._session_conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                # Invalidated, not returned to the pool: the session (and its locks) ends.
                conn.invalidate()
                conn.close()

    def _stop_heartbeat(self) -> None:
        if self._heartbeat_stop is not None:
            self._heartbeat_stop.set()
        if self._heartbeat_thread is not None:
            self._heartbeat_thread.join(timeout=5)
        self._heartbeat_stop = None
        self._heartbeat_thread = None

    def finish_run(
        self,
        run_id: str,
        status: str = "succeeded",
        counts: Mapping[str, Mapping[str, int]] | None = None,
    ) -> None:
        """Record the run's end (counts default to the audit trail's summary) and release
        the lock."""
        if status not in RUN_STATUSES or status == "running":
            raise ValueError(f"run status must be succeeded, failed or abandoned, not {status!r}")
        self._stop_heartbeat()
        if counts is None:
            with self._db.tx(write=False) as conn:
                final = audit_summary(conn, run_id)
        else:
            final = {k: dict(v) for k, v in counts.items()}
        with self._db.tx() as conn:
            conn.execute(
                update(t.runs)
                .where(t.runs.c.run_id == run_id)
                .values(finished_at=self._db.clock(), status=status, counts=json.dumps(final))
            )
            conn.execute(
                delete(t.locks).where(t.locks.c.name == LOCK_NAME, t.locks.c.run_id == run_id)
            )
        if self._run_id == run_id:
            self._run_id = None
            self._release_session()

    def runs(self, last_n: int = 10) -> list[RunInfo]:
        """The last `last_n` runs, newest first."""
        with self._db.tx(write=False) as conn:
            rows = conn.execute(
                select(t.runs)
                .order_by(t.runs.c.started_at.desc(), t.runs.c.run_id.desc())
                .limit(last_n)
            ).all()
        return [RunInfo.from_row(r) for r in rows]

    def note_run(self, run_id: str, note: str) -> None:
        """Keep what the operator must know about a run (its summary says it too), e.g. a
        ledger reset; the report shows it."""
        with self._db.tx() as conn:
            conn.execute(update(t.runs).where(t.runs.c.run_id == run_id).values(note=note))
