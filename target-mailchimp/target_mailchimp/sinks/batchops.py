"""Large writes through Mailchimp batch operations (`POST /batches`).

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
  (`Ledger.writes.record_open_batch` / `record_batch_plan` / `close_batch`); a later run recovers a
  batch a dead run left open (`RunContext.settle_open_batches`).
- a batch Mailchimp no longer knows (404 while polling) is planned again from the ledger: its
  operations become leftovers, with a warning.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from target_mailchimp.api import (
    BatchOperation,
    BatchOperationResult,
    BatchStatus,
    NotFound,
    chunked,
)
from target_mailchimp.api.transport import encode_path_segment
from target_mailchimp.ledger import ObjectState
from target_mailchimp.mapping import dumps_exact
from target_mailchimp.sinks.recording import Outcome
from target_mailchimp.sinks.run import RunContext

if TYPE_CHECKING:
    from target_mailchimp.sinks.ecommerce import ObjectWork

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
        ctx.ledger.writes.record_open_batch(status.id, ctx.run_id)
        # Its plan too: a run that finds it left open reads its results and records what
        # succeeded, instead of sending it all again (`RunContext.settle_open_batches`).
        ctx.ledger.writes.record_batch_plan(
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
