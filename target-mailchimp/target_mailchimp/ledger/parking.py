"""Parked records: bills waiting for their vendor, payments for their bill."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, literal, select

from target_mailchimp.ledger import schema as t
from target_mailchimp.ledger.base import LedgerBase
from target_mailchimp.ledger.records import (
    WAITING_KINDS,
    ParkedRecord,
)
from target_mailchimp.mapping.jsonexact import dumps_exact, jsonable, loads_exact
from target_mailchimp.mapping.results import Parked

#: Codes of bills kept for their vendor after they were rejected because of it (no email,
#: inactive, no e-commerce customer, or parked longer than `max_park_days`): ready when the
#: vendor's record arrives or changes after they were kept, not merely when it exists.
VENDOR_CHANGE_CODES = frozenset({"vendor_rejected", "park_expired"})


class ParkingMixin(LedgerBase):
    """Parked records: bills waiting for their vendor, payments for their bill."""

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
        """Park a record until what it waits for is known; re-parking counts an attempt.

        `parked_at` is when the record started waiting for this reason (`code`): re-parking it
        with the same code keeps it, so `max_park_days` counts from the first time; for
        `VENDOR_CHANGE_CODES` it is the last attempt.
        """
        if waiting_kind not in WAITING_KINDS:
            raise ValueError(
                f"waiting_kind must be one of {', '.join(WAITING_KINDS)}, not {waiting_kind!r}"
            )
        keys = {"stream": stream, "source_key": source_key}
        now = literal(self._clock(), t.parked.c.parked_at.type)
        # Kept for a vendor change: the time of the last attempt (ready when the vendor changes
        # after it); otherwise the first time it waited for this reason.
        since = (
            now
            if code in VENDOR_CHANGE_CODES
            else case((t.parked.c.code == code, t.parked.c.parked_at), else_=now)
        )
        with self._tx() as conn:
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
                    "parked_at": since,
                    # Counted in the database: no lost update when two writers park at once.
                    "attempts": t.parked.c.attempts + 1,
                },
                on_insert={"attempts": 1, "parked_at": self._clock()},
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
                if item.code in VENDOR_CHANGE_CODES:
                    # Ready once the vendor's record arrived or changed after it was kept.
                    since = item.parked_at
                    found = conn.execute(
                        select(func.count(func.distinct(t.source_records.c[column]))).where(
                            t.source_records.c.stream == source_stream,
                            t.source_records.c[column].in_(item.waiting_keys),
                            t.source_records.c.updated_at > since,
                        )
                    ).scalar()
                    if found:
                        ready.append(item)
                    continue
                found = conn.execute(
                    select(func.count(func.distinct(t.source_records.c[column]))).where(
                        t.source_records.c.stream == source_stream,
                        t.source_records.c[column].in_(item.waiting_keys),
                    )
                ).scalar()
                if found == len(item.waiting_keys):
                    ready.append(item)
        return ready

    def parked_before(self, cutoff: datetime, codes: Sequence[str]) -> list[ParkedRecord]:
        """Parked records with one of `codes` waiting since before `cutoff` (aware UTC)."""
        return [p for p in self.parked() if p.code in codes and p.parked_at < cutoff]

    def unpark(self, stream: str, source_key: str) -> bool:
        """Remove a parked record (after it was retried); True if it was parked."""
        with self._tx() as conn:
            result = conn.execute(
                delete(t.parked).where(
                    t.parked.c.stream == stream, t.parked.c.source_key == source_key
                )
            )
        return bool(result.rowcount)
