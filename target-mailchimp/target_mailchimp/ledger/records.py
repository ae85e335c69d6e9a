"""Row types the ledger returns, the audit actions, and detail redaction."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from intacct_mailchimp_common.logsafe import mask_secrets
from target_mailchimp.mapping.jsonexact import loads_exact

#: Audit actions. created/updated/archived/unchanged are successes; the rest are not.
ACTIONS: tuple[str, ...] = (
    "created",
    "updated",
    "archived",
    "unchanged",
    "rejected",
    "failed",
    "skipped",
    "parked",
    "deleted",
)
#: Actions after which the object in Mailchimp matches the payload hash given.
SUCCESS_ACTIONS = frozenset({"created", "updated", "archived", "unchanged"})
RUN_STATUSES: tuple[str, ...] = ("running", "succeeded", "failed", "abandoned")
#: What a parked record can wait for: kind -> (stream, column matched against the key).
WAITING_KINDS: dict[str, tuple[str, str]] = {
    "vendor": ("vendors", "source_id"),
    "bill": ("ap_bills", "source_key"),
    "customer": ("customers", "source_id"),
    "invoice": ("ar_invoices", "source_key"),
}
DETAIL_MAX_CHARS = 4000
#: At most this many ids of one kind are kept in an audit row's refs.
REFS_MAX_IDS = 50


class LedgerError(RuntimeError):
    """A problem with the ledger itself (not with a record)."""


class LedgerLockedError(LedgerError):
    """Another run holds the ledger; the message names the ledger and that run."""


class LedgerLockLostError(LedgerError):
    """This run's lock was taken over (it was considered stale)."""


_SECRET_PATTERNS = (
    # Mailchimp API keys: 32 hex digits, '-', data center.
    (re.compile(r"\b[0-9a-fA-F]{32}-[a-z]{2,4}[0-9]{1,3}\b"), "[redacted]"),
    # Authorization headers (Basic / Bearer / OAuth tokens).
    (re.compile(r"(?i)\b(authorization\s*[:=]\s*)(\w+\s+)?[^\s,;\"']+"), r"\1[redacted]"),
    # Passwords inside URLs (scheme://user:password@host), e.g. a database URL in an error.
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@"), r"\1[redacted]@"),
    # key=value / "key": "value" for names that hold secrets.
    (
        re.compile(
            r"(?i)\b(api[_-]?key|apikey|password|passwd|secret|token|sessionid|session_id)"
            r"(\"?\s*[:=]\s*\"?)[^\s,;\"'&<]+"
        ),
        r"\1\2[redacted]",
    ),
)


def redact(text: str | None) -> str | None:
    """`text` with anything shaped like a secret masked, cut to DETAIL_MAX_CHARS."""
    if text is None:
        return None
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    text = mask_secrets(text)  # the other forms: sslpassword=, access_token=, ...
    if len(text) > DETAIL_MAX_CHARS:
        text = text[: DETAIL_MAX_CHARS - 1] + "…"
    return text


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    host: str | None
    pid: int | None
    counts: dict[str, dict[str, int]] | None
    note: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> RunInfo:
        """The run stored in one row of the runs table (counts that do not read back as a
        mapping, or a row from before the note column, give None)."""
        try:
            counts = json.loads(row.counts) if row.counts else None
        except ValueError:
            counts = None
        return cls(
            row.run_id,
            row.started_at,
            row.finished_at,
            row.status,
            row.host,
            row.pid,
            counts if isinstance(counts, dict) else None,
            getattr(row, "note", None),
        )


@dataclass(frozen=True)
class ObjectState:
    kind: str
    object_id: str
    payload_hash: str | None
    last_action: str
    http_status: int | None
    request_id: str | None
    run_id: str | None
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> ObjectState:
        """The state stored in one row of the objects table."""
        return cls(
            kind=row.kind,
            object_id=row.object_id,
            payload_hash=row.payload_hash,
            last_action=row.last_action,
            http_status=row.http_status,
            request_id=row.request_id,
            run_id=row.run_id,
            updated_at=row.updated_at,
        )

    @property
    def exists(self) -> bool:
        """True when a write of this object has succeeded at some point."""
        return self.payload_hash is not None


@dataclass(frozen=True)
class WriteRecord:
    """One object write for `WriteLog.record_writes`: what was sent and what it did."""

    object_id: str
    payload_hash: str | None
    action: str
    http_status: int | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class PlannedOperation:
    """One operation of a submitted batch: what it writes when it succeeds."""

    kind: str
    object_id: str
    payload_hash: str
    action: str


@dataclass(frozen=True)
class AuditEntry:
    """One audit row to write (the run id is given to `AuditTrail.write`)."""

    stream: str
    action: str
    source_key: str | None = None
    source_id: str | None = None
    email: str | None = None
    object_kind: str | None = None
    object_id: str | None = None
    http_status: int | None = None
    request_id: str | None = None
    detail: str | None = None
    attempts: int = 0
    #: The ids the record refers to ({"VENDORID": "V-1", "bill RECORDNO": ["12"]}); ids only.
    refs: Mapping[str, str | Sequence[str]] | None = None


@dataclass(frozen=True)
class AuditRow:
    id: int
    run_id: str
    at: datetime
    stream: str
    source_key: str | None
    source_id: str | None
    email: str | None
    object_kind: str | None
    object_id: str | None
    action: str
    http_status: int | None
    request_id: str | None
    detail: str | None
    attempts: int
    #: The ids the record refers to, as JSON text (see `AuditEntry.refs`); None before.
    refs: str | None = None

    def referenced_ids(self) -> dict[str, list[str]]:
        """`refs` read back: {what: [ids]} (empty when none or unreadable)."""
        return parse_refs(self.refs)


def dump_refs(refs: Mapping[str, str | Sequence[str]] | None) -> str | None:
    """Referenced ids as compact JSON for the audit row (None when there are none)."""
    if not refs:
        return None
    out: dict[str, list[str]] = {}
    for what, ids in refs.items():
        values = [ids] if isinstance(ids, str) else list(ids)
        kept = [str(v) for v in values if v not in (None, "")][:REFS_MAX_IDS]
        if kept:
            out[str(what)] = kept
    return json.dumps(out, ensure_ascii=False, separators=(",", ":")) if out else None


def parse_refs(value: str | None) -> dict[str, list[str]]:
    """The JSON of `dump_refs` read back; anything else is no refs."""
    if not value:
        return {}
    try:
        data = json.loads(value)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): [str(v) for v in vs] for k, vs in data.items() if isinstance(vs, list) and vs}


@dataclass(frozen=True)
class ParkedRecord:
    stream: str
    source_key: str
    source_id: str | None
    code: str
    reason: str
    waiting_kind: str
    waiting_keys: tuple[str, ...]
    record: dict[str, Any] = field(repr=False)
    run_id: str | None
    parked_at: datetime
    attempts: int

    @classmethod
    def from_row(cls, row: Any) -> ParkedRecord:
        """The record stored in one row of the parked table."""
        return cls(
            row.stream,
            row.source_key,
            row.source_id,
            row.code,
            row.reason,
            row.waiting_kind,
            tuple(json.loads(row.waiting_keys)),
            loads_exact(row.record),
            row.run_id,
            row.parked_at,
            row.attempts,
        )
