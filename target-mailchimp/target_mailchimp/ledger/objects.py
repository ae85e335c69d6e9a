"""Dedupe of writes: the hash of the payload last written for each Mailchimp object."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from target_mailchimp.ledger import schema as t
from target_mailchimp.ledger.base import LedgerBase
from target_mailchimp.ledger.records import (
    ACTIONS,
    SUCCESS_ACTIONS,
    ObjectState,
)


class ObjectsMixin(LedgerBase):
    """Dedupe of writes: the hash of the payload last written for each Mailchimp object."""

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
        return ObjectState.from_row(row)

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
