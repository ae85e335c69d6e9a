"""Writing to Mailchimp and recording each write: the step every processor ends in.

An order's path: its sink (`sinks.sink`) hands the drained records to its processor
(`sinks.documents`), which maps them and stores the source records in the ledger, then calls
`write_objects` here: the Mailchimp calls, and each write's outcome recorded (payload hash
for the dedupe, audit row: `record`, through the run's `recording.Recorder`). Two parts:

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
  payload hash and action), in one transaction, from its submission until its outcomes are
  handed back (`Ledger.writes.record_open_batch` / `close_batch`); a later run recovers a
  batch a dead run left open (`RunContext.settle_open_batches`).
- a batch Mailchimp no longer knows (404 while polling) is planned again from the ledger: its
  operations become leftovers, with a warning.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from target_mailchimp.api import (
    BatchOperation,
    BatchOperationResult,
    BatchStatus,
    NotFound,
    WriteResult,
    chunked,
)
from target_mailchimp.api.transport import encode_path_segment
from target_mailchimp.ledger import ObjectState
from target_mailchimp.mapping import ObjectPayload, dumps_exact
from target_mailchimp.sinks.recording import Outcome, SourceRef, W, settle_known

if TYPE_CHECKING:
    from target_mailchimp.sinks.run import RunContext


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


def settle(
    ctx: RunContext,
    kind: str,
    works: Sequence[W],
    outcomes: dict[str, Outcome],
    *,
    key: Callable[[W], str],
    audit_unchanged: bool = True,
) -> tuple[list[W], dict[str, ObjectState], dict[str, str]]:
    """The works that still need a request, the ledger's states of their objects, and every
    work's payload hash; the others are settled with their outcome in `outcomes`
    (`recording.settle_known`: unchanged, or refused before), and recorded at once when no
    work is left."""
    hashes = {w.object_id: w.payload.payload_hash() for w in works}
    pending, known = settle_known(
        ctx.ledger,
        ctx.recorder,
        kind,
        works,
        hashes=hashes,
        outcomes=outcomes,
        key=key,
        audit_unchanged=audit_unchanged,
    )
    if not pending:
        ctx.recorder.flush()
    return pending, known, hashes


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
    pending, known, _ = settle(
        ctx, kind, works, outcomes, key=lambda w: w.object_id, audit_unchanged=audit_unchanged
    )
    if not pending:
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
        ctx.ledger.writes.record_order_lines(lines_written, run_id=ctx.run_id)
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
        # it (or waits for it) before writing, so it never runs over newer writes. Its plan
        # goes in the same transaction: a run that finds it left open reads its results and
        # records what succeeded, instead of sending it all again
        # (`RunContext.settle_open_batches`).
        ctx.ledger.writes.record_open_batch(
            status.id,
            ctx.run_id,
            kind=kind,
            plan={oid: (planned[oid][0].payload.payload_hash(), planned[oid][2]) for oid in chunk},
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
                    ctx.ledger.writes.close_batch(batch_id)
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
        ctx.ledger.writes.close_batch(finished.id)
    if leftovers:
        ctx.logger.info(
            "%s: %d operations are retried one by one (missing, transient or conflicting "
            "results in the batch)",
            kind,
            len(leftovers),
        )
    return outcomes, leftovers
