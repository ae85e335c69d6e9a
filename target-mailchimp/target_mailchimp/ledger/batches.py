"""Open Mailchimp batches: submitted by a run whose results the ledger has not recorded yet.

A run records each `POST /batches` it submits before it waits for it, and closes it once its
results are in the ledger. A batch still open when a run starts was left by a run that died
(or gave up waiting): Mailchimp may still run it later, over newer writes, so the next run
cancels or waits for it before writing anything (`target_mailchimp.sinks.run`). Kept in
`ledger_meta` under `open_batch:<batch id>` (value: the run id), so no schema change.

The plan of a batch (what each operation writes: its kind, object id, payload hash and the
action it means when it succeeds) is kept beside it, as rows of `objects` whose kind is the
object's kind plus `_inbatch` and whose request_id is the batch id, from its submission until
it is closed. A run that finds a batch a dead run left behind reads its results and records
the operations that succeeded with their planned hashes (`batch_plan`), so it never sends them
again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import delete, select

from target_mailchimp.ledger import schema as t
from target_mailchimp.ledger.base import LedgerBase

_PREFIX = "open_batch:"
#: Kind suffix of the rows of `objects` holding a batch's plan.
PLAN_SUFFIX = "_inbatch"


@dataclass(frozen=True)
class PlannedOperation:
    """One operation of a submitted batch: what it writes when it succeeds."""

    kind: str
    object_id: str
    payload_hash: str
    action: str


#: ledger_meta keys are at most 64 characters.
_MAX_ID = 64 - len(_PREFIX)


class BatchesMixin(LedgerBase):
    """Open Mailchimp batches (see module docstring)."""

    def record_open_batch(self, batch_id: str, run_id: str | None = None) -> None:
        """Note a submitted batch whose results are not recorded yet."""
        if not batch_id or len(batch_id) > _MAX_ID:
            raise ValueError(f"batch id {batch_id!r} is empty or longer than {_MAX_ID}")
        run = run_id or self._run_id or ""
        with self._tx() as conn:
            self._upsert(conn, t.ledger_meta, {"key": _PREFIX + batch_id}, {"value": run})

    def record_batch_plan(
        self, batch_id: str, kind: str, plan: Mapping[str, tuple[str, str]]
    ) -> None:
        """Keep what a batch writes: {object id: (payload hash, action on success)}."""
        now = self._clock()
        with self._tx() as conn:
            for object_id, (payload_hash, action) in plan.items():
                self._upsert(
                    conn,
                    t.objects,
                    {"kind": kind + PLAN_SUFFIX, "object_id": object_id},
                    {
                        "payload_hash": payload_hash,
                        "last_action": action,
                        "request_id": batch_id,
                        "run_id": self._run_id,
                        "updated_at": now,
                    },
                )

    def batch_plan(self, batch_id: str) -> list[PlannedOperation]:
        """The plan kept for a batch (empty when none was kept)."""
        with self._tx(write=False) as conn:
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
        with self._tx() as conn:
            conn.execute(delete(t.ledger_meta).where(t.ledger_meta.c.key == _PREFIX + batch_id))
            conn.execute(
                delete(t.objects).where(
                    t.objects.c.request_id == batch_id,
                    t.objects.c.kind.endswith(PLAN_SUFFIX, autoescape=True),
                )
            )

    def open_batches(self) -> dict[str, str]:
        """Open batches: batch id -> the run that submitted it."""
        with self._tx(write=False) as conn:
            rows = conn.execute(
                select(t.ledger_meta.c.key, t.ledger_meta.c.value).where(
                    t.ledger_meta.c.key.startswith(_PREFIX, autoescape=True)
                )
            ).all()
        return {key.removeprefix(_PREFIX): value for key, value in rows}
