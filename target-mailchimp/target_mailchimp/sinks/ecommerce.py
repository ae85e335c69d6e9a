"""Writing e-commerce customers, products and orders (one call each, or via /batches).

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
   is "always", or "auto" and there are more than `batch_threshold` of them (see
   `batchops`); operations that Mailchimp could not run there are retried one by one.

Mailchimp's 4xx answers reject the object (the audit row carries the problem document);
failures after every retry stop the run (`RunContext.call_all`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from target_mailchimp.api import NotFound, WriteResult
from target_mailchimp.ledger import ObjectState
from target_mailchimp.mapping import ObjectPayload
from target_mailchimp.sinks.batchops import write_with_batches
from target_mailchimp.sinks.recording import Outcome, SourceRef, settle_known
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

    @property
    def object_id(self) -> str:
        return self.payload.object_id


def merge_works(works: Sequence[ObjectWork]) -> list[ObjectWork]:
    """One work per object id: the last payload, every record's ref, in first-seen order."""
    merged: dict[str, ObjectWork] = {}
    for work in works:
        current = merged.get(work.object_id)
        if current is None:
            merged[work.object_id] = ObjectWork(work.payload, list(work.refs), work.patch)
        else:
            current.payload = work.payload
            current.patch = work.patch
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
    if kind in (CUSTOMER, ORDER) and ctx.settings.use_batches(len(pending)):
        done, leftovers = write_with_batches(ctx, kind, pending, known)
        for work in pending:
            if work.object_id in done:
                outcomes[work.object_id] = done[work.object_id]
                record(ctx, kind, work, done[work.object_id])
        ctx.recorder.flush()

    store_id = ctx.settings.store_id

    def send(work: ObjectWork) -> tuple[str, WriteResult]:
        exists = _exists(known, work.object_id)
        body = work.payload.body
        if kind == CUSTOMER:
            result = ctx.client.upsert_customer(store_id, body)
            return ("updated" if exists else "created"), result
        if kind == PRODUCT:
            result = ctx.client.create_or_update_product(store_id, body)
            return result.action, result
        if work.patch is not None and exists:
            try:
                result = ctx.client.update_order(store_id, work.object_id, work.patch)
                return "updated", result
            except NotFound:
                exists = False  # gone from Mailchimp: create it whole
        result = ctx.client.create_or_update_order(store_id, body, prefer_update=exists)
        return result.action, result

    def sent(work: ObjectWork, result: tuple[str, WriteResult] | Exception) -> None:
        if isinstance(result, Exception):
            outcome = Outcome.from_error(result)
        else:
            outcome = Outcome.from_result(result[0], result[1])
        outcomes[work.object_id] = outcome
        record(ctx, kind, work, outcome)

    ctx.call_all(send, leftovers, sent)
    return outcomes


def _exists(known: Mapping[str, ObjectState], object_id: str) -> bool:
    state = known.get(object_id)
    return state is not None and state.exists
