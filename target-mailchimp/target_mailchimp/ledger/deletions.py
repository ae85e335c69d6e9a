"""Records deleted in Intacct: tombstones of their source rows, and deleted objects.

A deleted record's source row moves to the stream `deleted:<stream>` (its tombstone): every
query of live records (members of an address, a bill's payments, ...) leaves it out at once,
and a deletion seen again (a rerun, the tap's lookback) finds the tombstone and does nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update

from target_mailchimp.ledger import schema as t
from target_mailchimp.ledger.base import LedgerBase
from target_mailchimp.mapping.jsonexact import loads_exact

TOMBSTONE_PREFIX = "deleted:"


def tombstone_stream(stream: str) -> str:
    """The stream a deleted record's source row moves to."""
    return f"{TOMBSTONE_PREFIX}{stream}"


class DeletionsMixin(LedgerBase):
    """Tombstones of deleted source records; objects deleted from Mailchimp."""

    def bury(self, stream: str, source_key: str) -> Any | None:
        """Move a live source record to its tombstone; returns its stored data, or None when
        no live record of that key is known."""
        with self._tx() as conn:
            row = conn.execute(
                select(t.source_records.c.data).where(
                    t.source_records.c.stream == stream,
                    t.source_records.c.source_key == source_key,
                )
            ).first()
            if row is None:
                return None
            grave = tombstone_stream(stream)
            conn.execute(
                delete(t.source_records).where(
                    t.source_records.c.stream == grave,
                    t.source_records.c.source_key == source_key,
                )
            )
            conn.execute(
                update(t.source_records)
                .where(
                    t.source_records.c.stream == stream,
                    t.source_records.c.source_key == source_key,
                )
                .values(stream=grave, updated_at=self._clock())
            )
        return loads_exact(row.data)

    def buried(self, stream: str, source_key: str) -> bool:
        """True when the record of this key was deleted before (it has a tombstone)."""
        with self._tx(write=False) as conn:
            found = conn.execute(
                select(t.source_records.c.source_key).where(
                    t.source_records.c.stream == tombstone_stream(stream),
                    t.source_records.c.source_key == source_key,
                )
            ).first()
        return found is not None

    def mark_deleted(self, kind: str, object_id: str, run_id: str | None = None) -> None:
        """The object is gone from Mailchimp: no payload hash (a later write creates it
        again), last action "deleted"."""
        with self._tx() as conn:
            self._upsert(
                conn,
                t.objects,
                {"kind": kind, "object_id": object_id},
                {
                    "payload_hash": None,
                    "hash_run_id": None,
                    "last_action": "deleted",
                    "http_status": None,
                    "request_id": None,
                    "run_id": run_id or self._run_id,
                    "updated_at": self._clock(),
                },
            )
