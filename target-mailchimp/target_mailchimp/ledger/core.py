"""The `Ledger`: dedupe of writes, what Intacct records said, parked records, audit trail."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, Table, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from target_mailchimp.ledger import schema as t
from target_mailchimp.ledger.engine import (
    WRITE_OPTION,
    create_ledger_engine,
    display_url,
    is_sqlite,
)
from target_mailchimp.ledger.records import (
    ACTIONS,
    RUN_STATUSES,
    SUCCESS_ACTIONS,
    WAITING_KINDS,
    AuditEntry,
    AuditRow,
    LedgerError,
    LedgerLockedError,
    LedgerLockLostError,
    ObjectState,
    ParkedRecord,
    RunInfo,
    redact,
)
from target_mailchimp.mapping.common import (
    STREAM_BILLS,
    STREAM_CUSTOMERS,
    STREAM_PAYMENTS,
    STREAM_VENDORS,
    as_recordno,
)
from target_mailchimp.mapping.contacts import ContactRecord
from target_mailchimp.mapping.jsonexact import dumps_exact, jsonable, loads_exact
from target_mailchimp.mapping.payments import PaymentForBill, PaymentRecord
from target_mailchimp.mapping.results import Parked

logger = logging.getLogger(__name__)

DEFAULT_LEDGER_URL = "sqlite:///.target-mailchimp/ledger.sqlite"
LOCK_NAME = "run"


def utcnow() -> datetime:
    return datetime.now(UTC)


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


class Ledger:
    """Dedupe and audit trail of target-mailchimp, in any SQLAlchemy database.

    `Ledger(url, full_refresh=False, stale_after=timedelta(minutes=10),
    heartbeat_interval=60.0, clock=utcnow)`. One Engine per Ledger; every method runs in its
    own short transaction and is safe to call from several threads. Close with `close()` or
    use it as a context manager.
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
    ) -> None:
        self.url = display_url(url)
        self.full_refresh = full_refresh
        self.stale_after = stale_after
        self.heartbeat_interval = heartbeat_interval
        self._clock = clock
        self._sqlite = is_sqlite(url)
        self._engine = create_ledger_engine(url, busy_timeout_ms=busy_timeout_ms)
        # SQLite allows one writer; serialising this process's transactions avoids busy
        # retries between our own threads (other processes still wait on busy_timeout).
        self._mutex: threading.RLock | None = threading.RLock() if self._sqlite else None
        self._run_id: str | None = None
        self._lock_lost = False
        self._heartbeat_stop: threading.Event | None = None
        self._heartbeat_thread: threading.Thread | None = None
        self._host = socket.gethostname()
        self._pid = os.getpid()
        self._create_schema()

    # ------------------------------------------------------------------ plumbing

    def _create_schema(self) -> None:
        with self._tx() as conn:
            t.metadata.create_all(conn)
            row = conn.execute(
                select(t.ledger_meta.c.value).where(t.ledger_meta.c.key == "schema_version")
            ).first()
            if row is None:
                conn.execute(
                    insert(t.ledger_meta).values(key="schema_version", value=str(t.SCHEMA_VERSION))
                )
            elif int(row.value) > t.SCHEMA_VERSION:
                raise LedgerError(
                    f"ledger {self.url} has schema version {row.value}, newer than this "
                    f"target-mailchimp understands ({t.SCHEMA_VERSION}); upgrade the target"
                )

    @contextlib.contextmanager
    def _tx(self, *, write: bool = True) -> Iterator[Connection]:
        mutex = self._mutex if self._mutex is not None else contextlib.nullcontext()
        with mutex, self._engine.connect() as conn:
            if self._sqlite:
                conn.execution_options(**{WRITE_OPTION: write})
            with conn.begin():
                yield conn

    @staticmethod
    def _upsert(
        conn: Connection, table: Table, keys: Mapping[str, Any], values: Mapping[str, Any]
    ) -> None:
        """Update the row with `keys`, or insert it: portable (no dialect-specific SQL)."""
        where = [table.c[k] == v for k, v in keys.items()]
        if conn.execute(update(table).where(*where).values(**values)).rowcount:
            return
        try:
            with conn.begin_nested():
                conn.execute(insert(table).values(**keys, **values))
        except IntegrityError:
            # Another writer inserted it first (PostgreSQL): update that row.
            conn.execute(update(table).where(*where).values(**values))

    def close(self) -> None:
        """Stop the heartbeat and dispose of the engine (the lock is NOT released)."""
        self._stop_heartbeat()
        self._engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ runs and the lock

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
        now = self._clock()
        run_id = run_id or f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
        try:
            with self._tx() as conn:
                holder = conn.execute(select(t.locks).where(t.locks.c.name == LOCK_NAME)).first()
                if holder is not None:
                    if not self._is_stale(holder, now):
                        raise self._locked_error(holder)
                    logger.warning(
                        "ledger %s: taking over the stale lock of run %s (last heartbeat %s)",
                        self.url,
                        holder.run_id,
                        holder.heartbeat_at.isoformat(),
                    )
                    conn.execute(delete(t.locks).where(t.locks.c.name == LOCK_NAME))
                    conn.execute(
                        update(t.runs)
                        .where(t.runs.c.run_id == holder.run_id, t.runs.c.status == "running")
                        .values(status="abandoned", finished_at=now)
                    )
                conn.execute(
                    insert(t.locks).values(
                        name=LOCK_NAME,
                        run_id=run_id,
                        host=self._host,
                        pid=self._pid,
                        acquired_at=now,
                        heartbeat_at=now,
                    )
                )
                conn.execute(
                    insert(t.runs).values(
                        run_id=run_id,
                        started_at=now,
                        status="running",
                        host=self._host,
                        pid=self._pid,
                    )
                )
        except IntegrityError as exc:
            # Lost a race for the lock row (or the run id exists): report who holds it.
            with self._tx(write=False) as conn:
                holder = conn.execute(select(t.locks).where(t.locks.c.name == LOCK_NAME)).first()
            if holder is not None:
                raise self._locked_error(holder) from exc
            raise LedgerError(f"ledger {self.url}: run id {run_id!r} already exists") from exc
        self._run_id = run_id
        self._lock_lost = False
        self._start_heartbeat(run_id)
        return run_id

    def _is_stale(self, holder: Row[Any], now: datetime) -> bool:
        if now - holder.heartbeat_at > self.stale_after:
            return True
        if holder.host == self._host and holder.pid != self._pid:
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
        with self._tx() as conn:
            result = conn.execute(
                update(t.locks)
                .where(t.locks.c.name == LOCK_NAME, t.locks.c.run_id == run_id)
                .values(heartbeat_at=self._clock())
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
        with self._tx(write=False) as conn:
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
        """Record the run's end (counts default to `summary(run_id)`) and release the lock."""
        if status not in RUN_STATUSES or status == "running":
            raise ValueError(f"run status must be succeeded, failed or abandoned, not {status!r}")
        self._stop_heartbeat()
        final = counts if counts is not None else self.summary(run_id)
        with self._tx() as conn:
            conn.execute(
                update(t.runs)
                .where(t.runs.c.run_id == run_id)
                .values(finished_at=self._clock(), status=status, counts=json.dumps(final))
            )
            conn.execute(
                delete(t.locks).where(t.locks.c.name == LOCK_NAME, t.locks.c.run_id == run_id)
            )
        if self._run_id == run_id:
            self._run_id = None

    def runs(self, last_n: int = 10) -> list[RunInfo]:
        """The last `last_n` runs, newest first."""
        with self._tx(write=False) as conn:
            rows = conn.execute(
                select(t.runs)
                .order_by(t.runs.c.started_at.desc(), t.runs.c.run_id.desc())
                .limit(last_n)
            ).all()
        return [
            RunInfo(
                run_id=r.run_id,
                started_at=r.started_at,
                finished_at=r.finished_at,
                status=r.status,
                host=r.host,
                pid=r.pid,
                counts=json.loads(r.counts) if r.counts else None,
            )
            for r in rows
        ]

    # ------------------------------------------------------------------ objects (dedupe)

    def object_state(self, kind: str, object_id: str) -> ObjectState | None:
        """What the ledger knows of a Mailchimp object, or None."""
        with self._tx(write=False) as conn:
            row = conn.execute(
                select(t.objects).where(
                    t.objects.c.kind == kind, t.objects.c.object_id == object_id
                )
            ).first()
        if row is None:
            return None
        return ObjectState(
            kind=row.kind,
            object_id=row.object_id,
            payload_hash=row.payload_hash,
            last_action=row.last_action,
            http_status=row.http_status,
            request_id=row.request_id,
            run_id=row.run_id,
            updated_at=row.updated_at,
        )

    def should_write(self, kind: str, object_id: str, payload_hash: str) -> bool:
        """False when `payload_hash` is what was last written successfully for the object.

        With `full_refresh`, hashes written by earlier runs are ignored (everything is written
        once again); hashes written in the current run still prevent duplicate writes.
        """
        state = self.object_state(kind, object_id)
        if state is None or state.payload_hash != payload_hash:
            return True
        if self.full_refresh:
            with self._tx(write=False) as conn:
                hash_run = conn.execute(
                    select(t.objects.c.hash_run_id).where(
                        t.objects.c.kind == kind, t.objects.c.object_id == object_id
                    )
                ).scalar()
            return self._run_id is None or hash_run != self._run_id
        return False

    def record_write(
        self,
        kind: str,
        object_id: str,
        *,
        payload_hash: str | None,
        action: str,
        http_status: int | None = None,
        request_id: str | None = None,
        run_id: str | None = None,
    ) -> None:
        """Record the result of writing an object.

        On success (created, updated, archived, unchanged) `payload_hash` becomes the object's
        hash; on anything else the last successful hash is kept, so the next run retries.
        """
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")
        run_id = run_id or self._run_id
        values: dict[str, Any] = {
            "last_action": action,
            "http_status": http_status,
            "request_id": request_id,
            "run_id": run_id,
            "updated_at": self._clock(),
        }
        if action in SUCCESS_ACTIONS:
            values["payload_hash"] = payload_hash
            values["hash_run_id"] = run_id
        with self._tx() as conn:
            self._upsert(conn, t.objects, {"kind": kind, "object_id": object_id}, values)

    def forget_object(self, kind: str, object_id: str) -> None:
        """Drop what is known of an object (e.g. it was deleted in Mailchimp)."""
        with self._tx() as conn:
            conn.execute(
                delete(t.objects).where(
                    t.objects.c.kind == kind, t.objects.c.object_id == object_id
                )
            )

    # ------------------------------------------------------------------ source records

    def record_source(
        self,
        stream: str,
        source_key: str,
        *,
        data: Any,
        source_id: str | None = None,
        email_key: str | None = None,
        status: str | None = None,
        run_id: str | None = None,
    ) -> str | None:
        """Store (or replace) a source record; returns its previous email key if it changed."""
        with self._tx() as conn:
            previous = conn.execute(
                select(t.source_records.c.email_key).where(
                    t.source_records.c.stream == stream,
                    t.source_records.c.source_key == source_key,
                )
            ).first()
            self._upsert(
                conn,
                t.source_records,
                {"stream": stream, "source_key": source_key},
                {
                    "source_id": source_id,
                    "email_key": email_key,
                    "status": status,
                    "data": dumps_exact(jsonable(data), sort_keys=True),
                    "run_id": run_id or self._run_id,
                    "updated_at": self._clock(),
                },
            )
        if previous is not None and previous.email_key and previous.email_key != email_key:
            return str(previous.email_key)
        return None

    def source(self, stream: str, source_key: str) -> Any | None:
        """The stored data of a source record, or None."""
        with self._tx(write=False) as conn:
            value = conn.execute(
                select(t.source_records.c.data).where(
                    t.source_records.c.stream == stream,
                    t.source_records.c.source_key == source_key,
                )
            ).scalar()
        return loads_exact(value) if value is not None else None

    def record_contact(self, contact: ContactRecord, run_id: str | None = None) -> str | None:
        """Store a customer/vendor; returns the email key it had before if that changed
        (the sink then rebuilds the member of the old address too)."""
        return self.record_source(
            contact.stream,
            str(contact.recordno),
            data=contact.to_json(),
            source_id=contact.source_id,
            email_key=contact.email_key,
            status=contact.status,
            run_id=run_id,
        )

    def contacts_for_email(self, email_key: str) -> list[ContactRecord]:
        """Every customer and vendor record known with this (lower-cased) email."""
        with self._tx(write=False) as conn:
            rows: list[str] = list(
                conn.execute(
                    select(t.source_records.c.data).where(
                        t.source_records.c.email_key == email_key.strip().lower(),
                        t.source_records.c.stream.in_((STREAM_CUSTOMERS, STREAM_VENDORS)),
                    )
                ).scalars()
            )
            contacts = [ContactRecord.from_json(loads_exact(r)) for r in rows]
        return sorted(contacts, key=lambda c: c.merge_order)

    def _contact_by_id(self, stream: str, source_id: str) -> ContactRecord | None:
        with self._tx(write=False) as conn:
            rows: list[str] = list(
                conn.execute(
                    select(t.source_records.c.data).where(
                        t.source_records.c.stream == stream,
                        t.source_records.c.source_id == source_id,
                    )
                ).scalars()
            )
            contacts = [ContactRecord.from_json(loads_exact(r)) for r in rows]
        if not contacts:
            return None
        return max(contacts, key=lambda c: c.recordno)

    def vendor(self, vendorid: str) -> ContactRecord | None:
        """The vendor with this VENDORID (highest RECORDNO if several), or None if unseen."""
        return self._contact_by_id(STREAM_VENDORS, vendorid)

    def customer(self, customerid: str) -> ContactRecord | None:
        """The customer with this CUSTOMERID, or None if unseen."""
        return self._contact_by_id(STREAM_CUSTOMERS, customerid)

    def vendor_known(self, vendorid: str) -> str | None:
        """The vendor's email when its record was seen with a valid email, else None.

        Use `vendor()` to tell "never seen" (park the bill) from "seen without a valid email"
        (reject the bill).
        """
        vendor = self.vendor(vendorid)
        return vendor.email if vendor is not None else None

    def record_bill(self, bill: Mapping[str, Any], run_id: str | None = None) -> None:
        """Store an ap_bills record (all of it: the order is rebuilt from it on payments)."""
        recordno = as_recordno(bill.get("RECORDNO"))
        if recordno is None:
            raise ValueError(
                f"an ap_bills record needs an integer RECORDNO, got {bill.get('RECORDNO')!r}"
            )
        self.record_source(
            STREAM_BILLS,
            str(recordno),
            data=bill,
            source_id=_text_or_none(bill.get("RECORDID")),
            status=_text_or_none(bill.get("STATE")),
            run_id=run_id,
        )

    def bill(self, recordno: int) -> dict[str, Any] | None:
        """The stored ap_bills record (dates as ISO strings, amounts Decimal), or None."""
        value = self.source(STREAM_BILLS, str(recordno))
        return dict(value) if value is not None else None

    def record_payment(self, payment: PaymentRecord, run_id: str | None = None) -> None:
        """Store an ap_payments record and replace its allocations to bills."""
        key = str(payment.recordno)
        with self._tx() as conn:
            self._upsert(
                conn,
                t.source_records,
                {"stream": STREAM_PAYMENTS, "source_key": key},
                {
                    "source_id": payment.recordid,
                    "email_key": None,
                    "status": payment.state,
                    "data": dumps_exact(
                        {
                            "recordno": payment.recordno,
                            "recordid": payment.recordid,
                            "state": payment.state,
                            "voided": payment.voided,
                            "when_modified": payment.when_modified,
                            "allocations": [a.to_json() for a in payment.allocations],
                        },
                        sort_keys=True,
                    ),
                    "run_id": run_id or self._run_id,
                    "updated_at": self._clock(),
                },
            )
            conn.execute(
                delete(t.payment_allocations).where(t.payment_allocations.c.payment_key == key)
            )
            if payment.allocations:
                conn.execute(
                    insert(t.payment_allocations),
                    [
                        {
                            "payment_key": key,
                            "bill_key": str(a.bill_recordno),
                            "trx_amount": str(a.trx_amount),
                            "base_amount": str(a.base_amount),
                            "voided": a.voided,
                            "when_modified": a.when_modified,
                        }
                        for a in payment.allocations
                    ],
                )

    def payments_for_bill(self, bill_recordno: int) -> list[PaymentForBill]:
        """Every payment allocation known for a bill (voided ones included), by payment."""
        with self._tx(write=False) as conn:
            rows = conn.execute(
                select(t.payment_allocations).where(
                    t.payment_allocations.c.bill_key == str(bill_recordno)
                )
            ).all()
        payments = [
            PaymentForBill(
                payment_recordno=int(r.payment_key),
                bill_recordno=int(r.bill_key),
                trx_amount=Decimal(r.trx_amount),
                base_amount=Decimal(r.base_amount),
                voided=bool(r.voided),
                when_modified=r.when_modified,
            )
            for r in rows
        ]
        return sorted(payments, key=lambda p: p.payment_recordno)

    # ------------------------------------------------------------------ parked records

    def park(
        self,
        stream: str,
        source_key: str,
        *,
        code: str,
        reason: str,
        waiting_kind: str,
        waiting_keys: Sequence[str],
        record: Mapping[str, Any],
        source_id: str | None = None,
        run_id: str | None = None,
    ) -> None:
        """Park a record until what it waits for is known; re-parking counts an attempt."""
        if waiting_kind not in WAITING_KINDS:
            raise ValueError(
                f"waiting_kind must be one of {', '.join(WAITING_KINDS)}, not {waiting_kind!r}"
            )
        keys = {"stream": stream, "source_key": source_key}
        with self._tx() as conn:
            attempts = conn.execute(
                select(t.parked.c.attempts).where(
                    t.parked.c.stream == stream, t.parked.c.source_key == source_key
                )
            ).scalar()
            self._upsert(
                conn,
                t.parked,
                keys,
                {
                    "source_id": source_id,
                    "code": code,
                    "reason": reason,
                    "waiting_kind": waiting_kind,
                    "waiting_keys": json.dumps(sorted({str(k) for k in waiting_keys})),
                    "record": dumps_exact(jsonable(record), sort_keys=True),
                    "run_id": run_id or self._run_id,
                    "parked_at": self._clock(),
                    "attempts": (attempts or 0) + 1,
                },
            )

    def park_outcome(
        self,
        stream: str,
        source_key: str,
        outcome: Parked,
        record: Mapping[str, Any],
        *,
        source_id: str | None = None,
        run_id: str | None = None,
    ) -> None:
        """Park a record with the mapping's `Parked` outcome."""
        self.park(
            stream,
            source_key,
            code=outcome.code,
            reason=outcome.reason,
            waiting_kind=outcome.waiting_kind,
            waiting_keys=outcome.waiting_keys,
            record=record,
            source_id=source_id,
            run_id=run_id,
        )

    def parked(self, stream: str | None = None) -> list[ParkedRecord]:
        """Every parked record (of one stream), oldest first."""
        query = select(t.parked).order_by(t.parked.c.parked_at, t.parked.c.source_key)
        if stream is not None:
            query = query.where(t.parked.c.stream == stream)
        with self._tx(write=False) as conn:
            rows = conn.execute(query).all()
        return [
            ParkedRecord(
                stream=r.stream,
                source_key=r.source_key,
                source_id=r.source_id,
                code=r.code,
                reason=r.reason,
                waiting_kind=r.waiting_kind,
                waiting_keys=tuple(json.loads(r.waiting_keys)),
                record=loads_exact(r.record),
                run_id=r.run_id,
                parked_at=r.parked_at,
                attempts=r.attempts,
            )
            for r in rows
        ]

    def ready_parked(self, stream: str | None = None) -> list[ParkedRecord]:
        """Parked records whose every awaited vendor / bill is now known: retry these."""
        ready = []
        waiting = self.parked(stream)
        if not waiting:
            return []
        with self._tx(write=False) as conn:
            for item in waiting:
                kind = WAITING_KINDS.get(item.waiting_kind)
                if kind is None:
                    continue
                source_stream, column = kind
                found = conn.execute(
                    select(func.count(func.distinct(t.source_records.c[column]))).where(
                        t.source_records.c.stream == source_stream,
                        t.source_records.c[column].in_(item.waiting_keys),
                    )
                ).scalar()
                if found == len(item.waiting_keys):
                    ready.append(item)
        return ready

    def unpark(self, stream: str, source_key: str) -> bool:
        """Remove a parked record (after it was retried); True if it was parked."""
        with self._tx() as conn:
            result = conn.execute(
                delete(t.parked).where(
                    t.parked.c.stream == stream, t.parked.c.source_key == source_key
                )
            )
        return bool(result.rowcount)

    # ------------------------------------------------------------------ audit trail

    def audit(
        self,
        run_id: str,
        *,
        stream: str,
        action: str,
        source_key: str | None = None,
        source_id: str | None = None,
        email: str | None = None,
        object_kind: str | None = None,
        object_id: str | None = None,
        http_status: int | None = None,
        request_id: str | None = None,
        detail: str | None = None,
        attempts: int = 0,
    ) -> None:
        """Write one audit row (the detail is redacted of anything shaped like a secret)."""
        self.audit_many(
            run_id,
            [
                AuditEntry(
                    stream=stream,
                    action=action,
                    source_key=source_key,
                    source_id=source_id,
                    email=email,
                    object_kind=object_kind,
                    object_id=object_id,
                    http_status=http_status,
                    request_id=request_id,
                    detail=detail,
                    attempts=attempts,
                )
            ],
        )

    def audit_many(self, run_id: str, entries: Iterable[AuditEntry]) -> None:
        """Write several audit rows in one transaction."""
        now = self._clock()
        rows = []
        for entry in entries:
            if entry.action not in ACTIONS:
                raise ValueError(
                    f"unknown audit action {entry.action!r}; use one of {', '.join(ACTIONS)}"
                )
            rows.append(
                {
                    "run_id": run_id,
                    "at": now,
                    "stream": entry.stream,
                    "source_key": None if entry.source_key is None else str(entry.source_key),
                    "source_id": entry.source_id,
                    "email": entry.email,
                    "object_kind": entry.object_kind,
                    "object_id": entry.object_id,
                    "action": entry.action,
                    "http_status": entry.http_status,
                    "request_id": entry.request_id,
                    "detail": redact(entry.detail),
                    "attempts": entry.attempts,
                }
            )
        if not rows:
            return
        with self._tx() as conn:
            conn.execute(insert(t.audit), rows)

    def summary(self, run_id: str) -> dict[str, dict[str, int]]:
        """Counts of a run's audit rows: {object kind ("record" if none): {action: n}}."""
        with self._tx(write=False) as conn:
            rows = conn.execute(
                select(t.audit.c.object_kind, t.audit.c.action, func.count())
                .where(t.audit.c.run_id == run_id)
                .group_by(t.audit.c.object_kind, t.audit.c.action)
            ).all()
        out: dict[str, dict[str, int]] = {}
        for kind, action, count in rows:
            out.setdefault(str(kind or "record"), {})[str(action)] = int(str(count))
        return {k: dict(sorted(v.items())) for k, v in sorted(out.items())}

    def audit_rows(
        self, run_id: str, *, actions: Sequence[str] | None = None, limit: int | None = None
    ) -> list[AuditRow]:
        """A run's audit rows in the order written (optionally only some actions)."""
        query = select(t.audit).where(t.audit.c.run_id == run_id).order_by(t.audit.c.id)
        if actions is not None:
            query = query.where(t.audit.c.action.in_(tuple(actions)))
        if limit is not None:
            query = query.limit(limit)
        with self._tx(write=False) as conn:
            rows = conn.execute(query).all()
        return [AuditRow(**r._asdict()) for r in rows]

    def rejected(self, run_id: str, *, include_failed: bool = True) -> list[AuditRow]:
        """The records a run did not write: rejected (and by default failed) rows."""
        actions = ("rejected", "failed") if include_failed else ("rejected",)
        return self.audit_rows(run_id, actions=actions)


def _text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
