"""The write log: what was last written to each Mailchimp object, and open `/batches`.

`WriteLog` (`ledger.writes`) keeps, per object (kind "member" with the subscriber hash as id,
"customer", "product", "order", and the sinks' marker kinds), the hash of the payload last
written successfully: `unchanged(kind, {id: hash})` names the objects a new payload would not
change (with `full_refresh`, only writes of the current run count), `record_writes` stores
what a write did (a success stores its hash; a failure keeps the old one, so the next run
retries), `object_states` tells e.g. whether an order was ever created (PATCH, not POST).
`mark_deleted` / `forget_object` record an object gone from Mailchimp; `order_lines` keeps
the line ids last written to each order (so a line that disappeared is deleted).

Open batches: a run records each `POST /batches` it submits before it waits for it, and
closes it once its results are in the ledger. A batch still open when a run starts was left by
a run that died (or gave up waiting): Mailchimp may still run it later, over newer writes, so
the next run cancels or waits for it before writing anything (`target_mailchimp.sinks.run`).
Kept in `ledger_meta` under `open_batch:<batch id>` (value: the run id). The plan of a batch
(each operation's kind, object id, payload hash and the action it means when it succeeds) is
kept beside it, as rows of `objects` whose kind is the object's kind plus `_inbatch` and whose
request_id is the batch id, until it is closed: a run that finds a batch a dead run left
reads its results and records the operations that succeeded with their planned hashes
(`batch_plan`), so it never sends them again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from target_mailchimp.ledger import schema as t
from target_mailchimp.ledger.database import LedgerDatabase, chunks, update_many
from target_mailchimp.ledger.records import (
    ACTIONS,
    SUCCESS_ACTIONS,
    ObjectState,
    PlannedOperation,
    WriteRecord,
)

_BATCH_PREFIX = "open_batch:"
#: Kind suffix of the rows of `objects` holding a batch's plan.
PLAN_SUFFIX = "_inbatch"
#: ledger_meta keys are at most 64 characters.
_MAX_BATCH_ID = 64 - len(_BATCH_PREFIX)


class WriteLog:
    """Payload hashes of written objects, order lines and open batches (see module
    docstring)."""

    def __init__(
        self, db: LedgerDatabase, run_id: Callable[[], str | None], *, full_refresh: bool = False
    ) -> None:
        self._db = db
        self._current_run = run_id
        self.full_refresh = full_refresh

    # ------------------------------------------------------------------ objects

    def object_states(self, kind: str, object_ids: Iterable[str]) -> dict[str, ObjectState]:
        """What the ledger knows of these objects of one kind: {object id: state}, known only."""
        ids = sorted(set(object_ids))
        out: dict[str, ObjectState] = {}
        with self._db.tx(write=False) as conn:
            for part in chunks(ids):
                rows = conn.execute(
                    select(t.objects).where(
                        t.objects.c.kind == kind, t.objects.c.object_id.in_(part)
                    )
                ).all()
                for row in rows:
                    out[row.object_id] = ObjectState.from_row(row)
        return out

    def object_state(self, kind: str, object_id: str) -> ObjectState | None:
        """What the ledger knows of one object (e.g. a run-wide marker), or None."""
        return self.object_states(kind, [object_id]).get(object_id)

    def unchanged(self, kind: str, hashes: Mapping[str, str]) -> set[str]:
        """The ids whose payload hash equals the one last written successfully: no need to
        write them. With `full_refresh`, hashes written by earlier runs are ignored (all is
        written once again); hashes written in the current run still prevent a second write.
        """
        ids = sorted(hashes)
        run_id = self._current_run()
        same: set[str] = set()
        with self._db.tx(write=False) as conn:
            for part in chunks(ids):
                rows = conn.execute(
                    select(
                        t.objects.c.object_id, t.objects.c.payload_hash, t.objects.c.hash_run_id
                    ).where(t.objects.c.kind == kind, t.objects.c.object_id.in_(part))
                ).all()
                for row in rows:
                    if row.payload_hash is None or row.payload_hash != hashes[row.object_id]:
                        continue
                    if self.full_refresh and (run_id is None or row.hash_run_id != run_id):
                        continue
                    same.add(row.object_id)
        return same

    def record_writes(
        self, kind: str, writes: Sequence[WriteRecord], run_id: str | None = None
    ) -> None:
        """Record what writes of objects of one kind did, in one transaction.

        On success (created, updated, archived, unchanged) the payload hash becomes the
        object's hash; on anything else the last successful hash is kept, so the next run
        retries. When an object appears more than once, the last write counts.
        """
        if not writes:
            return
        run_id = run_id or self._current_run()
        now = self._db.clock()
        latest: dict[str, WriteRecord] = {}
        for w in writes:
            if w.action not in ACTIONS:
                raise ValueError(f"unknown action {w.action!r}; use one of {', '.join(ACTIONS)}")
            latest[w.object_id] = w

        def values(w: WriteRecord) -> dict[str, Any]:
            v: dict[str, Any] = {
                "last_action": w.action,
                "http_status": w.http_status,
                "request_id": w.request_id,
                "run_id": run_id,
                "updated_at": now,
            }
            if w.action in SUCCESS_ACTIONS:
                v["payload_hash"] = w.payload_hash
                v["hash_run_id"] = run_id
            return v

        with self._db.tx() as conn:
            self._put(conn, kind, {oid: values(w) for oid, w in latest.items()})

    def _put(self, conn: Connection, kind: str, rows: Mapping[str, dict[str, Any]]) -> None:
        """Set the given columns of the `objects` rows of `kind` (object id -> columns):
        one lookup of which exist, one executemany UPDATE for those and one INSERT for the
        rest (a new row's payload hash and hash run, unless given, are empty)."""
        ids = sorted(rows)
        existing: set[str] = set()
        for part in chunks(ids):
            existing.update(
                conn.execute(
                    select(t.objects.c.object_id).where(
                        t.objects.c.kind == kind, t.objects.c.object_id.in_(part)
                    )
                ).scalars()
            )
        update_many(
            conn,
            t.objects,
            ("kind", "object_id"),
            [{"kind": kind, "object_id": oid, **rows[oid]} for oid in ids if oid in existing],
        )
        new_rows = [
            {"payload_hash": None, "hash_run_id": None, "kind": kind, "object_id": oid, **rows[oid]}
            for oid in ids
            if oid not in existing
        ]
        self._db.insert_new(conn, t.objects, ("kind", "object_id"), new_rows)

    def record_write(
        self,
        kind: str,
        object_id: str,
        *,
        payload_hash: str | None,
        action: str,
        run_id: str | None = None,
    ) -> None:
        """`record_writes` for one object (e.g. a run-wide marker)."""
        self.record_writes(kind, [WriteRecord(object_id, payload_hash, action)], run_id)

    def forget_object(self, kind: str, object_id: str) -> None:
        """Drop what is known of an object (e.g. a marker that no longer holds)."""
        with self._db.tx() as conn:
            conn.execute(
                delete(t.objects).where(
                    t.objects.c.kind == kind, t.objects.c.object_id == object_id
                )
            )

    def mark_deleted(self, kind: str, object_id: str, run_id: str | None = None) -> None:
        """The object is gone from Mailchimp: no payload hash (a later write creates it
        again), last action "deleted"."""
        with self._db.tx() as conn:
            self._db.upsert(
                conn,
                t.objects,
                {"kind": kind, "object_id": object_id},
                {
                    "payload_hash": None,
                    "hash_run_id": None,
                    "last_action": "deleted",
                    "http_status": None,
                    "request_id": None,
                    "run_id": run_id or self._current_run(),
                    "updated_at": self._db.clock(),
                },
            )

    # ------------------------------------------------------------------ order lines

    def order_lines(self, order_ids: Iterable[str]) -> dict[str, set[str]]:
        """{order id: line ids last written} for the orders whose lines are recorded."""
        keys = sorted(set(order_ids))
        out: dict[str, set[str]] = {}
        with self._db.tx(write=False) as conn:
            for part in chunks(keys):
                for row in conn.execute(
                    select(t.order_lines.c.order_id, t.order_lines.c.line_id).where(
                        t.order_lines.c.order_id.in_(part)
                    )
                ).all():
                    out.setdefault(row.order_id, set()).add(row.line_id)
        return out

    def record_order_lines(
        self, lines: Mapping[str, Iterable[str]], run_id: str | None = None
    ) -> None:
        """Replace the recorded line ids of each order in `lines`."""
        if not lines:
            return
        run_id = run_id or self._current_run()
        keys = sorted(lines)
        rows = [
            {"order_id": oid, "line_id": lid, "run_id": run_id}
            for oid in keys
            for lid in sorted(set(lines[oid]))
        ]
        with self._db.tx() as conn:
            for part in chunks(keys):
                conn.execute(t.order_lines.delete().where(t.order_lines.c.order_id.in_(part)))
            if rows:
                conn.execute(insert(t.order_lines), rows)

    # ------------------------------------------------------------------ open batches

    def record_open_batch(
        self,
        batch_id: str,
        run_id: str | None = None,
        *,
        kind: str = "",
        plan: Mapping[str, tuple[str, str]] | None = None,
    ) -> None:
        """Note a submitted batch whose results are not recorded yet, with its plan: what it
        writes, {object id: (payload hash, action on success)}.

        The open mark and the plan are one transaction. As two, a run killed between them
        left a batch open with no plan, so the next run recovered none of its operations and
        sent them all again (each meeting "already exists")."""
        if not batch_id or len(batch_id) > _MAX_BATCH_ID:
            raise ValueError(f"batch id {batch_id!r} is empty or longer than {_MAX_BATCH_ID}")
        current = self._current_run()
        now = self._db.clock()
        with self._db.tx() as conn:
            self._db.upsert(
                conn,
                t.ledger_meta,
                {"key": _BATCH_PREFIX + batch_id},
                {"value": run_id or current or ""},
            )
            # Bulk, not a statement per operation: a batch plans up to thousands of them.
            self._put(
                conn,
                kind + PLAN_SUFFIX,
                {
                    object_id: {
                        "payload_hash": payload_hash,
                        "last_action": action,
                        "request_id": batch_id,
                        "run_id": current,
                        "updated_at": now,
                    }
                    for object_id, (payload_hash, action) in (plan or {}).items()
                },
            )

    def batch_plan(self, batch_id: str) -> list[PlannedOperation]:
        """The plan kept for a batch (empty when none was kept)."""
        with self._db.tx(write=False) as conn:
            rows = conn.execute(
                select(
                    t.objects.c.kind,
                    t.objects.c.object_id,
                    t.objects.c.payload_hash,
                    t.objects.c.last_action,
                ).where(
                    t.objects.c.request_id == batch_id,
                    t.objects.c.kind.endswith(PLAN_SUFFIX, autoescape=True),
                )
            ).all()
        return [
            PlannedOperation(kind.removesuffix(PLAN_SUFFIX), oid, h or "", action)
            for kind, oid, h, action in rows
        ]

    def close_batch(self, batch_id: str) -> None:
        """The batch's results are recorded (or it is cancelled or gone)."""
        with self._db.tx() as conn:
            conn.execute(
                delete(t.ledger_meta).where(t.ledger_meta.c.key == _BATCH_PREFIX + batch_id)
            )
            conn.execute(
                delete(t.objects).where(
                    t.objects.c.request_id == batch_id,
                    t.objects.c.kind.endswith(PLAN_SUFFIX, autoescape=True),
                )
            )

    def open_batches(self) -> dict[str, str]:
        """Open batches: batch id -> the run that submitted it."""
        with self._db.tx(write=False) as conn:
            rows = conn.execute(
                select(t.ledger_meta.c.key, t.ledger_meta.c.value).where(
                    t.ledger_meta.c.key.startswith(_BATCH_PREFIX, autoescape=True)
                )
            ).all()
        return {key.removeprefix(_BATCH_PREFIX): value for key, value in rows}
