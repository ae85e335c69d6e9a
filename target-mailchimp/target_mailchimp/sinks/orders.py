"""Writing the orders of AP bills: vendor customer check, GL products first, then orders.

`write_bill_orders(ctx, stream, works) -> {order id: Outcome}` is shared by the bills and
payments processors:

1. A bill's order needs its vendor's e-commerce customer in Mailchimp: if the ledger has
   never written `vendor-<VENDORID>` successfully (its write was rejected, or its records
   were skipped), the bill is rejected with that reason instead of being sent, and kept in
   the ledger's parking (`keep_for_vendor`) so it is retried when the vendor arrives or
   changes.
2. The GL products (`gl-<ACCOUNTNO>`) the orders use are written before any of them
   (synchronously; each product once, deduped by the ledger). An order whose product could
   not be written is rejected with the product's reason.
3. The orders: POST for new ones, PATCH for those written before; a payment's work
   (`BillWork.status_only`) sends only financial_status and updated_at_foreign when the
   order exists. The ledger hash always covers the whole order, so a bill re-sent with
   nothing new writes nothing.
4. Lines mirror the bill's GL lines: a PATCH with `lines` updates and adds lines by id but
   never removes one, so the lines written before (ledger `order_lines`; read from
   Mailchimp for an order the ledger has no lines for) that the bill no longer has are
   deleted after the write (`DELETE .../orders/{id}/lines/{line_id}`), keeping the order
   visible throughout; the audit row of the write names the removed lines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from target_mailchimp.mapping import BillOrder, clean_text
from target_mailchimp.mapping.common import STREAM_BILLS, as_recordno
from target_mailchimp.sinks.ecommerce import (
    CUSTOMER,
    ORDER,
    PRODUCT,
    ObjectWork,
    write_objects,
)
from target_mailchimp.sinks.recording import Outcome, SourceRef
from target_mailchimp.sinks.run import RunContext


@dataclass
class BillWork:
    """A bill's order to write and the records (bill or payments) behind it."""

    order: BillOrder
    refs: list[SourceRef] = field(default_factory=list)
    status_only: bool = False

    @property
    def order_id(self) -> str:
        return self.order.order.object_id

    @property
    def customer_id(self) -> str:
        return str(self.order.order.body["customer"]["id"])


def _party(work: BillWork) -> str:
    return "customer" if work.customer_id.startswith("customer-") else "vendor"


def _reject(ctx: RunContext, work: BillWork, detail: str) -> Outcome:
    outcome = Outcome("rejected", detail=detail)
    ctx.recorder.audit(work.refs, outcome, object_kind=ORDER, object_id=work.order_id)
    return outcome


#: Appended to the reason of a bill rejected because of its vendor.
VENDOR_RETRY_NOTE = "; it is retried automatically when the vendor arrives or changes"

#: Mapping codes of bills rejected because of their vendor (kept for a retry).
VENDOR_REJECTION_CODES = frozenset({"vendor_no_email", "vendor_inactive"})


def keep_for_vendor(
    ctx: RunContext,
    bill: Mapping[str, Any],
    reason: str,
    *,
    code: str = "vendor_rejected",
) -> str | None:
    """Keep a bill rejected because of its vendor in the parking, ready again when the vendor
    arrives or changes (`ledger.sources.VENDOR_CHANGE_CODES`); returns its key."""
    recordno = as_recordno(bill.get("RECORDNO"))
    vendorid = clean_text(bill.get("VENDORID"))
    if recordno is None or vendorid is None:
        return None
    ctx.ledger.sources.park(
        STREAM_BILLS,
        str(recordno),
        code=code,
        reason=reason,
        waiting_kind="vendor",
        waiting_keys=[vendorid],
        record=bill,
        source_id=clean_text(bill.get("RECORDID")),
        run_id=ctx.run_id,
    )
    return str(recordno)


def write_bill_orders(
    ctx: RunContext,
    stream: str,
    works: Sequence[BillWork],
    kept: set[str] | None = None,
) -> dict[str, Outcome]:
    """Write bill orders (see module docstring); the keys of bills kept for their vendor
    (rejected because its e-commerce customer is missing) are added to `kept`."""
    outcomes: dict[str, Outcome] = {}
    if not works:
        return outcomes
    customers = ctx.ledger.writes.object_states(CUSTOMER, {w.customer_id for w in works})
    ready: list[BillWork] = []
    for work in works:
        state = customers.get(work.customer_id)
        if state is None or not state.exists:
            last = f" (its last write was {state.last_action})" if state is not None else ""
            if _party(work) == "vendor":
                reason = (
                    f"the vendor's e-commerce customer {work.customer_id} is not in Mailchimp"
                    f"{last}, so order {work.order_id} cannot be linked to it; fix the vendor's "
                    "record in Intacct (see its audit row)" + VENDOR_RETRY_NOTE
                )
                outcomes[work.order_id] = _reject(ctx, work, reason)
                record = ctx.ledger.sources.bill(work.order.bill.recordno)
                key = keep_for_vendor(ctx, record, reason) if record is not None else None
                if key is not None and kept is not None:
                    kept.add(key)
            else:
                outcomes[work.order_id] = _reject(
                    ctx,
                    work,
                    f"the customer's e-commerce customer {work.customer_id} is not in Mailchimp"
                    f"{last}, so order {work.order_id} cannot be linked to it; fix the "
                    "customer's record in Intacct (see its audit row) and the document is "
                    "written on its next change or with full_refresh",
                )
        else:
            ready.append(work)

    products: dict[str, ObjectWork] = {}
    for work in ready:
        for product in work.order.products:
            if product.object_id not in products:
                products[product.object_id] = ObjectWork(product, work.refs[:1])
    product_outcomes = write_objects(
        ctx, PRODUCT, list(products.values()), stream, audit_unchanged=False
    )

    previous_lines = ctx.ledger.writes.order_lines(w.order_id for w in ready if not w.status_only)
    order_works: list[ObjectWork] = []
    for work in ready:
        failed = [
            (pid, o)
            for p in work.order.products
            if not (o := product_outcomes.get(pid := p.object_id, Outcome("unchanged"))).written
        ]
        if failed:
            pid, outcome = failed[0]
            outcomes[work.order_id] = _reject(
                ctx,
                work,
                f"product {pid} used by its lines could not be written ({outcome.action}: "
                f"{outcome.detail})",
            )
            continue
        stale: tuple[str, ...] | None = ()
        if not work.status_only:
            before = previous_lines.get(work.order_id)
            current = {str(line["id"]) for line in work.order.order.body["lines"]}
            stale = None if before is None else tuple(sorted(before - current))
        order_works.append(
            ObjectWork(
                work.order.order,
                list(work.refs),
                patch=work.order.patch_body() if work.status_only else None,
                stale_lines=stale,
            )
        )
    outcomes.update(write_objects(ctx, ORDER, order_works, stream))
    return outcomes
