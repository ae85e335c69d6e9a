"""Mailchimp-shaped streams from other taps, through the same writers, ledger and audit.

- `list_members`: members (`member_from_mailchimp`: `status` never sent, it only becomes
  `status_if_new`), one per lower-cased email per batch, written by batch subscribe. Merge
  fields are the source's business: none are created.
- `ecommerce_customers`, `ecommerce_products`, `ecommerce_orders`: objects validated by
  the mapping, written like Intacct's (PUT customers; POST/PATCH products and orders, with
  /batches for large customer and order writes).

Ranks keep Mailchimp's dependencies: members drain before customers and products, which
drain before orders.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from target_mailchimp.mapping import (
    MemberPayload,
    ObjectPayload,
    Rejected,
    Skipped,
    clean_text,
    customer_from_mailchimp,
    member_from_mailchimp,
    order_from_mailchimp,
    product_from_mailchimp,
)
from target_mailchimp.sinks.members import MEMBER, MemberWork, write_members
from target_mailchimp.sinks.recording import Outcome, SourceRef
from target_mailchimp.sinks.run import RunContext
from target_mailchimp.sinks.validation import Incoming
from target_mailchimp.sinks.writes import CUSTOMER, ORDER, PRODUCT, ObjectWork, write_objects


def _ref(stream: str, record: dict[str, Any]) -> SourceRef:
    email = clean_text(record.get("email_address"))
    key = clean_text(record.get("id")) or email
    return SourceRef(stream, key, clean_text(record.get("id")), email)


def process_list_members(ctx: RunContext, stream: str, incoming: Sequence[Incoming]) -> None:
    """Write Mailchimp-shaped audience members."""
    works: dict[str, MemberWork] = {}
    for item in incoming:
        ref = _ref(stream, item.record)
        if item.problem is not None:
            ctx.recorder.audit(
                [ref], Outcome("rejected", detail=item.problem), object_kind=MEMBER, object_id=None
            )
            continue
        payload = member_from_mailchimp(item.record, ctx.mapping)
        if isinstance(payload, Rejected | Skipped):
            ctx.recorder.audit(
                [ref],
                Outcome(payload.action, detail=payload.reason),
                object_kind=MEMBER,
                object_id=None,
            )
            continue
        assert isinstance(payload, MemberPayload)
        work = works.setdefault(payload.email_key, MemberWork(payload))
        work.payload = payload  # the last version of an address wins
        work.refs.append(ref)
    write_members(ctx, list(works.values()), stream, ensure_fields=False)
    ctx.recorder.flush()


def _objects(
    kind: str, build: Callable[[dict[str, Any]], ObjectPayload | Rejected]
) -> Callable[[RunContext, str, Sequence[Incoming]], None]:
    def process(ctx: RunContext, stream: str, incoming: Sequence[Incoming]) -> None:
        works: list[ObjectWork] = []
        for item in incoming:
            ref = _ref(stream, item.record)
            if item.problem is not None:
                ctx.recorder.audit(
                    [ref],
                    Outcome("rejected", detail=item.problem),
                    object_kind=kind,
                    object_id=ref.source_id,
                )
                continue
            payload = build(item.record)
            if isinstance(payload, Rejected):
                ctx.recorder.audit(
                    [ref],
                    Outcome("rejected", detail=payload.reason),
                    object_kind=kind,
                    object_id=ref.source_id,
                )
                continue
            works.append(ObjectWork(payload, [ref]))
        write_objects(ctx, kind, works, stream)
        ctx.recorder.flush()

    process.__name__ = f"process_{kind}s"
    return process


process_ecommerce_customers = _objects(CUSTOMER, customer_from_mailchimp)
process_ecommerce_products = _objects(PRODUCT, product_from_mailchimp)
process_ecommerce_orders = _objects(ORDER, order_from_mailchimp)
