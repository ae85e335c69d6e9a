"""The audit trail: one row per record and object per run.

`AuditTrail` (`ledger.audit`): `write(run_id, entries)` stores `AuditEntry` rows in one
transaction (details redacted of anything shaped like a secret, text cut to fit its column);
`summary(run_id)` counts a run's rows per object kind and action; `rejected(run_id)` lists the
records a run did not write; `rows(run_id, actions=)` reads a run's rows back. Actions:
created, updated, archived, unchanged, rejected, failed, skipped, parked, deleted (a record
deleted in Intacct whose deletion reached Mailchimp). An entry's `refs` keeps the ids the
record refers to (its VENDORID / CUSTOMERID, the bill RECORDNOs a payment pays);
`AuditRow.referenced_ids()` reads them back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, func, insert, select

from target_mailchimp.ledger import schema as t
from target_mailchimp.ledger.database import LedgerDatabase
from target_mailchimp.ledger.records import (
    ACTIONS,
    AuditEntry,
    AuditRow,
    dump_refs,
    redact,
)


class AuditTrail:
    """The audit trail of every run (see module docstring)."""

    def __init__(self, db: LedgerDatabase) -> None:
        self._db = db

    def write(self, run_id: str, entries: Iterable[AuditEntry]) -> None:
        """Write audit rows of a run in one transaction."""
        now = self._db.clock()
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
                    "stream": _fit("stream", entry.stream),
                    "source_key": _fit("source_key", entry.source_key),
                    "source_id": _fit("source_id", entry.source_id),
                    "email": _fit("email", entry.email),
                    "object_kind": _fit("object_kind", entry.object_kind),
                    "object_id": _fit("object_id", entry.object_id),
                    "action": entry.action,
                    "http_status": entry.http_status,
                    "request_id": _fit("request_id", entry.request_id),
                    "detail": redact(_fit("detail", entry.detail)),
                    "attempts": entry.attempts,
                    "refs": dump_refs(entry.refs),
                }
            )
        if not rows:
            return
        with self._db.tx() as conn:
            conn.execute(insert(t.audit), rows)

    def summary(self, run_id: str) -> dict[str, dict[str, int]]:
        """Counts of a run's audit rows: {object kind ("record" if none): {action: n}}."""
        with self._db.tx(write=False) as conn:
            return audit_summary(conn, run_id)

    def rows(
        self, run_id: str, *, actions: Sequence[str] | None = None, limit: int | None = None
    ) -> list[AuditRow]:
        """A run's audit rows in the order written (optionally only some actions)."""
        query = select(t.audit).where(t.audit.c.run_id == run_id).order_by(t.audit.c.id)
        if actions is not None:
            query = query.where(t.audit.c.action.in_(tuple(actions)))
        if limit is not None:
            query = query.limit(limit)
        with self._db.tx(write=False) as conn:
            rows = conn.execute(query).all()
        return [AuditRow(**r._asdict()) for r in rows]

    def rejected(self, run_id: str, *, include_failed: bool = True) -> list[AuditRow]:
        """The records a run did not write: rejected (and by default failed) rows."""
        actions = ("rejected", "failed") if include_failed else ("rejected",)
        return self.rows(run_id, actions=actions)


def audit_summary(conn: Connection, run_id: str) -> dict[str, dict[str, int]]:
    """Counts of a run's audit rows per object kind ("record" if none) and action."""
    rows = conn.execute(
        select(t.audit.c.object_kind, t.audit.c.action, func.count())
        .where(t.audit.c.run_id == run_id)
        .group_by(t.audit.c.object_kind, t.audit.c.action)
    ).all()
    out: dict[str, dict[str, int]] = {}
    for kind, action, count in rows:
        out.setdefault(str(kind or "record"), {})[str(action)] = int(str(count))
    return {k: dict(sorted(v.items())) for k, v in sorted(out.items())}


def _fit(column: str, value: object) -> str | None:
    """A value as the audit column can hold it on every database: NUL characters (which
    PostgreSQL refuses) are written as the visible escape \\u0000 and text longer than the
    column is cut with "…". The audit row of a bad record is its only trace, so it must
    never fail to be written."""
    if value is None:
        return None
    text = str(value).replace("\x00", "\\u0000")
    length = getattr(t.audit.c[column].type, "length", None)
    if length is not None and len(text) > length:
        text = text[: length - 1] + "…"
    return text
