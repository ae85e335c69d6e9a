"""Open Mailchimp batches: submitted by a run whose results the ledger has not recorded yet.

A run records each `POST /batches` it submits before it waits for it, and closes it once its
results are in the ledger. A batch still open when a run starts was left by a run that died
(or gave up waiting): Mailchimp may still run it later, over newer writes, so the next run
cancels or waits for it before writing anything (`target_mailchimp.sinks.run`). Kept in
`ledger_meta` under `open_batch:<batch id>` (value: the run id), so no schema change.
"""

from __future__ import annotations

from sqlalchemy import delete, select

from target_mailchimp.ledger import schema as t
from target_mailchimp.ledger.base import LedgerBase

_PREFIX = "open_batch:"
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

    def close_batch(self, batch_id: str) -> None:
        """The batch's results are recorded (or it is cancelled or gone)."""
        with self._tx() as conn:
            conn.execute(delete(t.ledger_meta).where(t.ledger_meta.c.key == _PREFIX + batch_id))

    def open_batches(self) -> dict[str, str]:
        """Open batches: batch id -> the run that submitted it."""
        with self._tx(write=False) as conn:
            rows = conn.execute(
                select(t.ledger_meta.c.key, t.ledger_meta.c.value).where(
                    t.ledger_meta.c.key.startswith(_PREFIX, autoescape=True)
                )
            ).all()
        return {key.removeprefix(_PREFIX): value for key, value in rows}
