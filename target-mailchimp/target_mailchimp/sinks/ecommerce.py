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
