"""Writing to Mailchimp and recording each write: the step every processor ends in.

An order's path: its sink (`sinks.sink`) hands the drained records to its processor
(`sinks.documents`), which maps them and stores the source records in the ledger, then calls
`write_objects` here: the Mailchimp calls, and each write's outcome recorded (payload hash
for the dedupe, audit row). Three parts, in this order:

**Outcomes and the recorder.** What a write did, and how it reaches the ledger and the audit trail.

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

**E-commerce objects.** Writing e-commerce customers, products and orders (one call each,
or via /batches).

`write_objects(ctx, kind, works, stream) -> {object id: Outcome}` for kind "customer",
"product" or "order":

1. The store is ensured first (once per run).
2. Works with the same id are merged (the last payload wins; every record is audited).
3. Objects whose payload hash equals the one last written are "unchanged": no call.
4. Writes: customers `PUT .../customers/{id}` (created when the ledger has never written
   it, else updated); products `create_or_update_product` (POST, PATCH if it exists);
   orders: the ledger decides, `POST` for new ones and `PATCH` for those written before
   (`create_or_update_order` falls back either way), or, for a payment (`ObjectWork.patch`),
   a status-only `PATCH` that becomes a full create when Mailchimp does not have the order.
   Calls run in the run's pool, at most `max_concurrency` at once.
5. Large writes: customers and orders go through `POST /batches` when `batch_operations`
   is "always", or "auto" and there are more than `batch_threshold` of them (see "Batch
   operations" below); operations that Mailchimp could not run there are retried one by one.

Mailchimp's 4xx answers reject the object (the audit row carries the problem document);
failures after every retry stop the run (`RunContext.call_all`).

**Batch operations.** Large writes through Mailchimp batch operations (`POST /batches`).

`write_with_batches(ctx, kind, works, known) -> (outcomes, leftovers)` for customers and
orders:

- operations: customers `PUT .../customers/{id}`; orders `POST .../orders` for orders the
  ledger has never written, `PATCH .../orders/{id}` for the others (a payment's
  status-only body when it has one). Products are never batched: Mailchimp runs a batch's
  operations in any order, so the products an order uses are written (synchronously)
  before its batch is submitted. Bodies keep exact decimals.
- every chunk of up to `MAX_OPERATIONS` is submitted first, without waiting for the ones
  before it; then all are polled together, adaptively (a quarter of a second after
  submitting, then by the progress Mailchimp reports, never more than `batch_poll_interval`
  apart, for at most `batch_timeout`), and each batch's results archive is read as soon as
  it is finished: a few calls per chunk, whatever its size, and its results read about a
  second after Mailchimp finished it.
- each operation's result decides its object: 2xx -> created / updated; an order POST
  that meets "already exists" or a PATCH that meets 404, 5xx, 429 and operations missing
  from the results -> `leftovers`, retried one by one by the caller; any other 4xx ->
  rejected with the response's problem document as the detail.
- each batch is recorded in the ledger as open, with its plan (each operation's object,
  payload hash and action), from its submission until its outcomes are handed back
  (`Ledger.record_open_batch` / `record_batch_plan` / `close_batch`); a later run recovers a
  batch a dead run left open (`RunContext.settle_open_batches`).
- a batch Mailchimp no longer knows (404 while polling) is planned again from the ledger: its
  operations become leftovers, with a warning.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from target_mailchimp.api import (
    BatchOperation,
    BatchOperationResult,
    BatchStatus,
    Forbidden,
    MailchimpConfigError,
    MailchimpError,
    NotFound,
    Unauthorized,
    WriteResult,
    chunked,
)
from target_mailchimp.api.transport import encode_path_segment
from target_mailchimp.ledger import AuditEntry, Ledger, ObjectState, WriteRecord
from target_mailchimp.mapping import ObjectPayload, clean_text, dumps_exact
from target_mailchimp.mapping.common import record_label

if TYPE_CHECKING:
    from target_mailchimp.sinks.run import RunContext

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
    same = ledger.unchanged(kind + REFUSED_SUFFIX, candidates)
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
                self.ledger.record_writes(kind, items, run_id=self.run_id)
            if audit:
                self.ledger.audit_many(self.run_id, audit)


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
    same = ledger.unchanged(kind, hashes)
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
    known = ledger.object_states(kind, [w.object_id for w in pending])
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


# ---------------------------------------------------------------- e-commerce objects

CUSTOMER = "customer"
PRODUCT = "product"
ORDER = "order"
KINDS = (CUSTOMER, PRODUCT, ORDER)


@dataclass
class ObjectWork:
    """One e-commerce object to write and the records it comes from."""

    payload: ObjectPayload
    refs: list[SourceRef] = field(default_factory=list)
    #: Orders only: a status-only PATCH body to send when the order exists (payments).
    patch: dict[str, Any] | None = None
    #: Orders only: ids of lines written before that the payload no longer has (deleted
    #: after the write, since a PATCH never removes a line); None when the ledger does not
    #: know the order's lines (they are read from Mailchimp if the order exists).
    stale_lines: tuple[str, ...] | None = ()

    @property
    def object_id(self) -> str:
        return self.payload.object_id


def merge_works(works: Sequence[ObjectWork]) -> list[ObjectWork]:
    """One work per object id: the last payload, every record's ref, in first-seen order."""
    merged: dict[str, ObjectWork] = {}
    for work in works:
        current = merged.get(work.object_id)
        if current is None:
            merged[work.object_id] = ObjectWork(
                work.payload, list(work.refs), work.patch, work.stale_lines
            )
        else:
            current.payload = work.payload
            current.patch = work.patch
            current.stale_lines = work.stale_lines
            current.refs.extend(r for r in work.refs if r not in current.refs)
    return list(merged.values())


def record(
    ctx: RunContext, kind: str, work: ObjectWork, outcome: Outcome, *, audit: bool = True
) -> None:
    ctx.recorder.write(kind, work.object_id, work.payload.payload_hash(), outcome)
    if audit:
        ctx.recorder.audit(work.refs, outcome, object_kind=kind, object_id=work.object_id)


def write_objects(
    ctx: RunContext,
    kind: str,
    works: Sequence[ObjectWork],
    stream: str,
    *,
    audit_unchanged: bool = True,
) -> dict[str, Outcome]:
    """Write e-commerce objects of one kind (see module docstring)."""
    if kind not in KINDS:
        raise ValueError(f"unknown e-commerce kind {kind!r}")
    outcomes: dict[str, Outcome] = {}
    works = merge_works(works)
    if not works:
        return outcomes
    ctx.ensure_store(stream)
    hashes = {w.object_id: w.payload.payload_hash() for w in works}
    pending, known = settle_known(
        ctx.ledger,
        ctx.recorder,
        kind,
        works,
        hashes=hashes,
        outcomes=outcomes,
        key=lambda w: w.object_id,
        audit_unchanged=audit_unchanged,
    )
    if not pending:
        ctx.recorder.flush()
        return outcomes

    if ctx.dry_run:
        for work in pending:
            action = "updated" if _exists(known, work.object_id) else "created"
            outcomes[work.object_id] = outcome = Outcome(action, detail="dry run")
            record(ctx, kind, work, outcome)
        ctx.recorder.flush()
        return outcomes

    leftovers = pending
    lines_written: dict[str, list[str]] = {}
    if kind in (CUSTOMER, ORDER) and ctx.settings.use_batches(len(pending)):
        # Orders that lose lines need their line deletes after the write: one by one.
        batchable = [w for w in pending if not _needs_line_deletes(w, known)]
        done, leftovers = write_with_batches(ctx, kind, batchable, known)
        leftovers = leftovers + [w for w in pending if _needs_line_deletes(w, known)]
        for work in pending:
            if work.object_id in done:
                outcomes[work.object_id] = done[work.object_id]
                record(ctx, kind, work, done[work.object_id])
                if kind == ORDER and work.patch is None and done[work.object_id].written:
                    lines_written[work.object_id] = _line_ids(work)
        ctx.recorder.flush()

    store_id = ctx.settings.store_id

    def send(work: ObjectWork) -> tuple[str, WriteResult, str | None, bool]:
        exists = _exists(known, work.object_id)
        body = work.payload.body
        if kind == CUSTOMER:
            result = ctx.client.upsert_customer(store_id, body)
            return ("updated" if exists else "created"), result, None, False
        if kind == PRODUCT:
            result = ctx.client.create_or_update_product(store_id, body)
            return result.action, result, None, False
        if work.patch is not None and exists:
            try:
                result = ctx.client.update_order(store_id, work.object_id, work.patch)
                return "updated", result, None, False
            except NotFound:
                exists = False  # gone from Mailchimp: create it whole
        result = ctx.client.create_or_update_order(store_id, body, prefer_update=exists)
        removed = _remove_stale_lines(ctx, store_id, work, existed=result.action != "created")
        detail = f"removed lines no longer on the source: {', '.join(removed)}" if removed else None
        return result.action, result, detail, True

    def sent(
        work: ObjectWork, result: tuple[str, WriteResult, str | None, bool] | Exception
    ) -> None:
        if isinstance(result, Exception):
            outcome = Outcome.from_error(result)
        else:
            outcome = Outcome.from_result(result[0], result[1], detail=result[2])
            if result[3]:  # the whole order (with its lines) was written
                lines_written[work.object_id] = _line_ids(work)
        outcomes[work.object_id] = outcome
        record(ctx, kind, work, outcome)

    ctx.call_all(send, leftovers, sent)
    if lines_written:
        ctx.ledger.record_order_lines(lines_written, run_id=ctx.run_id)
    return outcomes


def _line_ids(work: ObjectWork) -> list[str]:
    lines = work.payload.body.get("lines") or []
    return [str(line["id"]) for line in lines if isinstance(line, Mapping) and "id" in line]


def _needs_line_deletes(work: ObjectWork, known: Mapping[str, ObjectState]) -> bool:
    if work.payload.kind != ORDER:
        return False
    if work.stale_lines is None:
        return _exists(known, work.object_id)
    return bool(work.stale_lines)


def _remove_stale_lines(
    ctx: RunContext, store_id: str, work: ObjectWork, *, existed: bool
) -> list[str]:
    """Delete the order's lines that its payload no longer has; the ids deleted."""
    current = set(_line_ids(work))
    stale = work.stale_lines
    if stale is None:
        if not existed:
            return []
        stale = tuple(ctx.client.order_line_ids(store_id, work.object_id) or ())
    removed = []
    for line_id in stale:
        if line_id not in current and ctx.client.delete_order_line(
            store_id, work.object_id, line_id
        ):
            removed.append(line_id)
    return removed


def _exists(known: Mapping[str, ObjectState], object_id: str) -> bool:
    state = known.get(object_id)
    return state is not None and state.exists


# ---------------------------------------------------------------- batch operations

#: Operations per batch.
MAX_OPERATIONS = 5000


def _operation(
    ctx: RunContext, kind: str, work: ObjectWork, exists: bool
) -> tuple[BatchOperation, str]:
    """The operation for one object and the action it means when it succeeds."""
    store = f"/ecommerce/stores/{encode_path_segment(ctx.settings.store_id)}"
    oid = encode_path_segment(work.object_id)
    if kind == "customer":
        op = BatchOperation(
            "PUT", f"{store}/customers/{oid}", work.object_id, work.payload.to_json()
        )
        return op, ("updated" if exists else "created")
    if not exists:
        return BatchOperation("POST", f"{store}/orders", work.object_id, work.payload.to_json()), (
            "created"
        )
    if work.patch is not None:
        body = dict(work.patch)
    else:
        body = {k: v for k, v in work.payload.body.items() if k != "id"}
        customer = body.get("customer")
        if isinstance(customer, Mapping) and customer.get("id") is not None:
            body["customer"] = {"id": customer["id"]}
    return BatchOperation("PATCH", f"{store}/orders/{oid}", work.object_id, dumps_exact(body)), (
        "updated"
    )


def _retry_one_by_one(op: BatchOperation, result: BatchOperationResult) -> bool:
    code = result.status_code
    if code in {0, 429} or code >= 500:
        return True
    if (
        op.method == "POST"
        and code == 400
        and "already exist" in (f"{result.title} {result.detail}".lower())
    ):
        return True
    return op.method == "PATCH" and code == 404


def write_with_batches(
    ctx: RunContext,
    kind: str,
    works: Sequence[ObjectWork],
    known: Mapping[str, ObjectState],
) -> tuple[dict[str, Outcome], list[ObjectWork]]:
    """Write through /batches (see module docstring)."""
    planned: dict[str, tuple[ObjectWork, BatchOperation, str]] = {}
    for work in works:
        state = known.get(work.object_id)
        op, action = _operation(ctx, kind, work, state is not None and state.exists)
        planned[work.object_id] = (work, op, action)
    settings = ctx.settings
    submitted: list[tuple[BatchStatus, list[str]]] = []
    for chunk in chunked(list(planned), MAX_OPERATIONS):
        ops = [planned[oid][1] for oid in chunk]
        status = ctx.call(ctx.client.submit_batch, ops)
        # Open until its results are recorded: if this run dies first, the next one cancels
        # it (or waits for it) before writing, so it never runs over newer writes.
        ctx.ledger.record_open_batch(status.id, ctx.run_id)
        # Its plan too: a run that finds it left open reads its results and records what
        # succeeded, instead of sending it all again (`RunContext.settle_open_batches`).
        ctx.ledger.record_batch_plan(
            status.id,
            kind,
            {oid: (planned[oid][0].payload.payload_hash(), planned[oid][2]) for oid in chunk},
        )
        ctx.logger.info("%s: submitted batch %s with %d operations", kind, status.id, len(ops))
        submitted.append((status, chunk))
    outcomes: dict[str, Outcome] = {}
    leftovers: list[ObjectWork] = []
    chunks = {status.id: chunk for status, chunk in submitted}

    def wait(ids: list[str]) -> Iterator[BatchStatus]:
        return ctx.client.wait_for_batches(
            ids,
            timeout=settings.batch_timeout,
            max_interval=settings.batch_poll_interval,
            # Real waits between polls, whatever the retry policy's sleep (tests make retry
            # waits zero; polling must still leave Mailchimp time to work).
            sleep=time.sleep,
            clock=time.monotonic,
        )

    waiting = wait(list(chunks))
    while chunks:
        try:
            finished = ctx.call(next, waiting, None)
            if finished is None:
                break
            chunk = chunks.pop(finished.id)
            results = {
                r.operation_id: r for r in ctx.call(ctx.client.fetch_batch_results, finished)
            }
        except NotFound:
            # Mailchimp lost a batch (e.g. after a restart): find which, plan its operations
            # again from the ledger, and keep waiting for the others.
            for batch_id in list(chunks):
                try:
                    ctx.call(ctx.client.get_batch, batch_id)
                except NotFound:
                    lost = chunks.pop(batch_id)
                    ctx.logger.warning(
                        "%s: batch %s is no longer known to Mailchimp (404: it lost the batch, "
                        "e.g. after a restart); its %d operations are planned again from the "
                        "ledger and written one by one",
                        kind,
                        batch_id,
                        len(lost),
                    )
                    leftovers.extend(planned[oid][0] for oid in lost)
                    ctx.ledger.close_batch(batch_id)
            waiting = wait(list(chunks))
            continue
        ctx.logger.info(
            "%s: batch %s finished: %d operations, %d errored",
            kind,
            finished.id,
            finished.total_operations,
            finished.errored_operations,
        )
        for oid in chunk:
            work, op, action = planned[oid]
            result = results.get(oid)
            if result is None or _retry_one_by_one(op, result):
                leftovers.append(work)
                continue
            outcome = Outcome.from_operation(result, finished.id)
            if outcome.written:
                outcome = Outcome(action, outcome.http_status, outcome.request_id, 1)
            outcomes[oid] = outcome
        ctx.ledger.close_batch(finished.id)
    if leftovers:
        ctx.logger.info(
            "%s: %d operations are retried one by one (missing, transient or conflicting "
            "results in the batch)",
            kind,
            len(leftovers),
        )
    return outcomes, leftovers
