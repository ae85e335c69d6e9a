"""What a write did, and how it reaches the ledger and the audit trail.

- `SourceRef`: the input record an audit row is about (stream, RECORDNO, source id, email).
- `Outcome`: the result of one object write (action, HTTP status, X-Request-Id, attempts,
  detail); built from a `WriteResult`, a `MailchimpError`, a batch operation result or a
  mapping outcome.
- Refused payloads: when Mailchimp refuses a payload (4xx), its hash is kept under the
  marker kind `<kind>_rejected`; `refused_before` finds objects whose payload is exactly
  the one refused last time, so a rerun does not send it again (it is audited "rejected"
  once more, pointing at the earlier answer) until the record changes or `full_refresh`.
- `Recorder`: buffers audit rows and object writes and flushes them to the ledger in one
  transaction per kind (`flush()`; also every `FLUSH_EVERY` entries). Writers call it from
  the thread that collects results; it is locked anyway.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from target_mailchimp.api import (
    BatchOperationResult,
    Forbidden,
    MailchimpConfigError,
    MailchimpError,
    Unauthorized,
    WriteResult,
)
from target_mailchimp.ledger import AuditEntry, Ledger, ObjectState, WriteRecord
from target_mailchimp.mapping import clean_text
from target_mailchimp.mapping.common import record_label

FLUSH_EVERY = 1000
#: Ledger marker kind suffix: the hash of a payload Mailchimp refused.
REFUSED_SUFFIX = "_rejected"

#: Actions after which the object matches the payload (the ledger keeps its hash).
WRITTEN = frozenset({"created", "updated", "archived", "unchanged"})


@dataclass(frozen=True)
class SourceRef:
    """The input record an audit row describes."""

    stream: str
    source_key: str | None
    source_id: str | None = None
    email: str | None = None
    #: Ids of other records this one refers to (see `referenced_ids`); ids only.
    refs: Mapping[str, tuple[str, ...]] | None = field(default=None, hash=False)

    @classmethod
    def of(
        cls, stream: str, record: Mapping[str, Any], *, id_field: str | None = None
    ) -> SourceRef:
        """A ref for an Intacct record (RECORDNO and CUSTOMERID/VENDORID/RECORDID), with the
        ids it refers to."""
        key = record.get("RECORDNO")
        source_id = None
        own = None
        for name in (id_field, "CUSTOMERID", "VENDORID", "RECORDID"):
            if name and record.get(name) not in (None, ""):
                source_id = clean_text(record.get(name))
                own = name
                break
        return cls(
            stream,
            None if key is None else str(key),
            source_id,
            refs=referenced_ids(stream, record, own) or None,
        )

    def label(self) -> str:
        return record_label(self.stream, {"RECORDNO": self.source_key, "RECORDID": self.source_id})


#: What the RECORDKEY of a payment's details points at, per stream.
_PAID_RECORDS = {"ap_payments": "bill RECORDNO", "ar_payments": "invoice RECORDNO"}


def referenced_ids(
    stream: str, record: Mapping[str, Any], own_field: str | None = None
) -> dict[str, tuple[str, ...]]:
    """The ids an Intacct record refers to, so the audit trail of a bill is found by its
    vendor and that of a payment by the bills it pays: VENDORID and CUSTOMERID (unless it
    is the record's own id) and the RECORDKEY of each of its `details`. Ids only: never an
    email or a name."""
    out: dict[str, tuple[str, ...]] = {}
    for name in ("VENDORID", "CUSTOMERID"):
        if name == own_field:
            continue
        text = _id_text(record.get(name))
        if text:
            out[name] = (text,)
    details = record.get("details")
    if isinstance(details, list):
        keys: list[str] = []
        for detail in details:
            if not isinstance(detail, Mapping):
                continue
            key = _id_text(detail.get("RECORDKEY"))
            if key and key not in keys:
                keys.append(key)
        if keys:
            out[_PAID_RECORDS.get(stream, "RECORDKEY")] = tuple(keys)
    return out


def _id_text(value: object) -> str | None:
    """An id as text (a string or a whole number), else None."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return clean_text(value)


@dataclass(frozen=True)
class Outcome:
    """The result of writing one object (or of deciding not to)."""

    action: str
    http_status: int | None = None
    request_id: str | None = None
    attempts: int = 0
    detail: str | None = None
    #: A rejection that may pass later unchanged (e.g. Mailchimp's sign-up throttle).
    retry_later: bool = False

    @property
    def written(self) -> bool:
        return self.action in WRITTEN

    @property
    def refused_by_mailchimp(self) -> bool:
        """Mailchimp itself refused this payload (a 4xx, or an error entry in a 200 batch
        answer): sending the same payload again would be refused again."""
        status = self.http_status
        return (
            self.action == "rejected"
            and status is not None
            and (status == 200 or 400 <= status < 500)
            and status != 429
            and not self.retry_later
        )

    @classmethod
    def from_result(cls, action: str, result: WriteResult, detail: str | None = None) -> Outcome:
        status = result.calls[-1].get("status") if result.calls else None
        if result.recovered:
            extra = "recovered: an earlier attempt had been applied; updated to match"
            detail = f"{detail}; {extra}" if detail else extra
        return cls(action, status, result.request_id, result.attempts, detail)

    @classmethod
    def from_error(cls, err: Exception, action: str | None = None) -> Outcome:
        if not isinstance(err, MailchimpError):
            return cls(action or "rejected", detail=f"{type(err).__name__}: {err}")
        return cls(
            action or ("failed" if is_fatal(err) else "rejected"),
            err.status,
            err.request_id,
            err.attempts,
            describe_error(err),
        )

    @classmethod
    def from_operation(cls, op: BatchOperationResult, batch_id: str) -> Outcome:
        if op.ok:
            return cls("updated", op.status_code, f"batch {batch_id}", 1)
        return cls(
            "failed" if op.status_code >= 500 or op.status_code in (0, 429) else "rejected",
            op.status_code or None,
            f"batch {batch_id}",
            1,
            describe_operation(op),
        )


def refused_before(
    ledger: Ledger,
    kind: str,
    hashes: Mapping[str, str],
    states: Mapping[str, ObjectState],
) -> dict[str, Outcome]:
    """Objects whose last write was refused by Mailchimp with exactly this payload, with the
    outcome to audit instead of sending it again."""
    candidates = {
        oid: h
        for oid, h in hashes.items()
        if (state := states.get(oid)) is not None and state.last_action == "rejected"
    }
    if not candidates:
        return {}
    same = ledger.writes.unchanged(kind + REFUSED_SUFFIX, candidates)
    out: dict[str, Outcome] = {}
    for oid in same:
        state = states[oid]
        out[oid] = Outcome(
            "rejected",
            state.http_status,
            state.request_id,
            0,
            f"not sent again: Mailchimp refused this same payload in run {state.run_id} "
            "(the reason is in that run's audit rows); it is sent again once the record "
            "changes, or with full_refresh",
        )
    return out


def is_fatal(err: BaseException) -> bool:
    """True when an error must stop the run: Mailchimp unreachable or throttling after every
    retry, or the key/account refused (no other record can succeed either)."""
    if isinstance(err, Unauthorized | Forbidden | MailchimpConfigError):
        return True
    return isinstance(err, MailchimpError) and err.transient


def describe_error(err: MailchimpError) -> str:
    """A one-line reason from a problem document: title, detail and field errors."""
    parts = [f"HTTP {err.status}" if err.status else type(err).__name__]
    head = ": ".join(p for p in (err.title, err.detail) if p)
    if head:
        parts.append(head)
    if err.errors:
        parts.append("(" + "; ".join(str(e) for e in err.errors) + ")")
    if not head and not err.errors:
        parts.append(str(err))
    return " ".join(parts)


def describe_operation(op: BatchOperationResult) -> str:
    response = op.response if isinstance(op.response, Mapping) else {}
    text = ": ".join(p for p in (op.title, op.detail) if p) or (op.raw_response[:300] or "error")
    errors = response.get("errors")
    if isinstance(errors, list) and errors:
        fields = "; ".join(
            f"{e.get('field')}: {e.get('message')}" if isinstance(e, Mapping) else str(e)
            for e in errors
        )
        text += f" ({fields})"
    return f"HTTP {op.status_code} {text}"


@dataclass
class Recorder:
    """Buffers ledger writes of one run (see module docstring)."""

    ledger: Ledger
    run_id: str
    _audit: list[AuditEntry] = field(default_factory=list)
    _writes: dict[str, list[WriteRecord]] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    #: Told (object kind, action, rows) of every audit (the run's progress lines).
    on_audit: Callable[[str | None, str, int], None] | None = None

    def audit(
        self,
        refs: Iterable[SourceRef],
        outcome: Outcome,
        *,
        object_kind: str | None,
        object_id: str | None,
    ) -> None:
        """One audit row per ref for this object."""
        with self._lock:
            before = len(self._audit)
            for ref in refs:
                self._audit.append(
                    AuditEntry(
                        stream=ref.stream,
                        action=outcome.action,
                        source_key=ref.source_key,
                        source_id=ref.source_id,
                        email=ref.email,
                        object_kind=object_kind,
                        object_id=object_id,
                        http_status=outcome.http_status,
                        request_id=outcome.request_id,
                        detail=outcome.detail,
                        attempts=outcome.attempts,
                        refs=ref.refs,
                    )
                )
            rows = len(self._audit) - before
            self._maybe_flush()
        if self.on_audit is not None and rows:
            self.on_audit(object_kind, outcome.action, rows)

    def write(self, kind: str, object_id: str, payload_hash: str | None, outcome: Outcome) -> None:
        """Remember an object write for the dedupe (failures keep the last good hash)."""
        with self._lock:
            self._writes.setdefault(kind, []).append(
                WriteRecord(
                    object_id=object_id,
                    payload_hash=payload_hash if outcome.written else None,
                    action=outcome.action,
                    http_status=outcome.http_status,
                    request_id=outcome.request_id,
                )
            )
            if payload_hash is not None and outcome.refused_by_mailchimp:
                self._writes.setdefault(kind + REFUSED_SUFFIX, []).append(
                    WriteRecord(object_id, payload_hash, "updated", outcome.http_status)
                )
            self._maybe_flush()

    def _maybe_flush(self) -> None:
        pending = len(self._audit) + sum(len(v) for v in self._writes.values())
        if pending >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        """Write everything buffered to the ledger."""
        with self._lock:
            writes, self._writes = self._writes, {}
            audit, self._audit = self._audit, []
            for kind, items in writes.items():
                self.ledger.writes.record_writes(kind, items, run_id=self.run_id)
            if audit:
                self.ledger.audit.write(self.run_id, audit)


class _Hashable(Protocol):
    def payload_hash(self) -> str: ...


class _Work(Protocol):
    @property
    def object_id(self) -> str: ...

    @property
    def refs(self) -> list[SourceRef]: ...

    @property
    def payload(self) -> _Hashable: ...


W = TypeVar("W", bound=_Work)


def settle_known(
    ledger: Ledger,
    recorder: Recorder,
    kind: str,
    works: Sequence[W],
    *,
    hashes: Mapping[str, str],
    outcomes: dict[str, Outcome],
    key: Callable[[W], str],
    audit_unchanged: bool = True,
) -> tuple[list[W], dict[str, ObjectState]]:
    """Settle the works that need no request and return the rest with the ledger's states.

    A work is settled as "unchanged" when its payload hash is the one last written
    successfully (audited unless `audit_unchanged` is false), or as "rejected" when Mailchimp
    refused this same payload before (`refused_before`). Its outcome goes into `outcomes`
    under `key(work)`. When every work is unchanged the states are not read (empty).
    """
    same = ledger.writes.unchanged(kind, hashes)
    pending: list[W] = []
    for work in works:
        if work.object_id in same:
            outcome = Outcome("unchanged")
            outcomes[key(work)] = outcome
            if audit_unchanged:
                recorder.audit(work.refs, outcome, object_kind=kind, object_id=work.object_id)
        else:
            pending.append(work)
    if not pending:
        return [], {}
    known = ledger.writes.object_states(kind, [w.object_id for w in pending])
    refused = refused_before(
        ledger, kind, {w.object_id: hashes[w.object_id] for w in pending}, known
    )
    for work in pending:
        if work.object_id in refused:
            outcomes[key(work)] = refused[work.object_id]
            recorder.audit(
                work.refs, refused[work.object_id], object_kind=kind, object_id=work.object_id
            )
    return [w for w in pending if w.object_id not in refused], known
