"""ap_payments: the financial status of the orders of the bills they pay.

`process_payments(ctx, stream, incoming)` for one drained batch (or parked payments that
became ready):

1. Each record becomes a `PaymentRecord` (or is rejected / skipped with its reason) and is
   stored in the ledger with its allocations to bills, so an order's status always comes
   from every payment known for its bill.
2. A payment applied to a bill the ledger has never seen is parked ("bill unknown") until
   the bill arrives; its bills that are known are updated now.
3. Each affected bill's order is rebuilt (`bill_to_order` with all its payments): when the
   order was written before, a status-only PATCH (paid once non-voided payments cover the
   total, back to pending when one is voided); when it never was (e.g. its write failed
   earlier), the whole order is written; when the bill cannot become an order (rejected,
   or still waiting for its vendor) the payment is recorded and audited as skipped with
   that reason: the order picks the payment up when it is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from target_mailchimp.mapping import (
    BillOrder,
    PaymentRecord,
    Rejected,
    Skipped,
    bill_to_order,
    clean_text,
    order_id,
    payment_from_record,
)
from target_mailchimp.mapping.settlement import older_version
from target_mailchimp.sinks.base import Incoming, MailchimpSink
from target_mailchimp.sinks.bills import leave_parking
from target_mailchimp.sinks.ecommerce import ORDER
from target_mailchimp.sinks.orders import BillWork, write_bill_orders
from target_mailchimp.sinks.recording import Outcome, SourceRef
from target_mailchimp.sinks.run import ParkedNote, RunContext


def read_payments(
    ctx: RunContext,
    stream: str,
    incoming: Sequence[Incoming],
    reader: Callable[[Mapping[str, Any]], PaymentRecord | Rejected | Skipped],
) -> tuple[dict[int, PaymentRecord], dict[int, dict[str, Any]], dict[int, list[SourceRef]]]:
    """A batch of AP or AR payments read with `reader`: the newest version of each payment,
    its record, and the source refs of every version; records refused are audited."""
    recorder = ctx.recorder
    payments: dict[int, PaymentRecord] = {}
    raw: dict[int, dict[str, Any]] = {}
    refs: dict[int, list[SourceRef]] = {}
    for item in incoming:
        ref = SourceRef.of(stream, item.record, id_field="RECORDID")
        if item.problem is not None:
            recorder.audit(
                [ref], Outcome("rejected", detail=item.problem), object_kind=ORDER, object_id=None
            )
            continue
        payment = reader(item.record)
        if isinstance(payment, Rejected | Skipped):
            recorder.audit(
                [ref],
                Outcome(payment.action, detail=payment.reason),
                object_kind=ORDER,
                object_id=None,
            )
            continue
        other = payments.get(payment.recordno)
        # A version older than one already in this batch (a voided one is newer than any
        # that is not) never replaces it.
        if other is None or not older_version(
            (payment.voided, payment.when_modified), (other.voided, other.when_modified)
        ):
            payments[payment.recordno] = payment
            raw[payment.recordno] = item.record
        refs.setdefault(payment.recordno, []).append(ref)
    return payments, raw, refs


def process_payments(ctx: RunContext, stream: str, incoming: Sequence[Incoming]) -> None:
    """Apply one batch of AP payments (see module docstring)."""
    recorder = ctx.recorder
    payments, raw, refs = read_payments(ctx, stream, incoming, payment_from_record)
    if not payments:
        recorder.flush()
        return
    ctx.ledger.sources.record_payments(list(payments.values()), run_id=ctx.run_id)
    bills = ctx.ledger.sources.bills({n for p in payments.values() for n in p.bill_recordnos})
    by_bill: dict[int, list[SourceRef]] = {}
    final: set[str] = set()
    for recordno, payment in payments.items():
        unknown = sorted(n for n in payment.bill_recordnos if n not in bills)
        if unknown:
            ref = refs[recordno][-1]
            reason = (
                f"{ref.label()} pays bill RECORDNO {', '.join(map(str, unknown))}, not seen yet; "
                "it waits in the ledger and is applied automatically when the bill arrives"
            )
            ctx.ledger.sources.park(
                stream,
                str(recordno),
                code="bill_unknown",
                reason=reason,
                waiting_kind="bill",
                waiting_keys=[str(n) for n in unknown],
                record=raw[recordno],
                source_id=payment.recordid,
                run_id=ctx.run_id,
            )
            ctx.note_parked(ParkedNote(ref, reason, ORDER, order_id(unknown[0])))
        else:
            final.add(str(recordno))
        for bill_no in payment.bill_recordnos:
            if bill_no in bills:
                by_bill.setdefault(bill_no, []).extend(refs[recordno])
    if by_bill:
        vendors = ctx.ledger.sources.vendors(
            {v for n in by_bill if (v := clean_text(bills[n].get("VENDORID")))}
        )
        allocations = ctx.ledger.sources.payments_for_bills(by_bill)
        states = ctx.ledger.writes.object_states(ORDER, [order_id(n) for n in by_bill])
        works: list[BillWork] = []
        for bill_no, bill_refs in sorted(by_bill.items()):
            bill = bills[bill_no]
            vendor = vendors.get(clean_text(bill.get("VENDORID")) or "")
            result = bill_to_order(bill, vendor, allocations.get(bill_no, []), ctx.mapping)
            if not isinstance(result, BillOrder):
                why = "waits for its vendor" if result.action == "parked" else "cannot be written"
                recorder.audit(
                    bill_refs,
                    Outcome(
                        "skipped",
                        detail=f"the payment is recorded, but order {order_id(bill_no)} {why} "
                        f"({result.reason}); its status will include this payment once it is "
                        "written",
                    ),
                    object_kind=ORDER,
                    object_id=order_id(bill_no),
                )
                continue
            state = states.get(order_id(bill_no))
            works.append(
                BillWork(result, bill_refs, status_only=state is not None and state.exists)
            )
        write_bill_orders(ctx, stream, works)
    recorder.flush()
    leave_parking(ctx, stream, final)


class PaymentsSink(MailchimpSink):
    """ap_payments (tap-intacct)."""

    rank = 3
    object_kind = ORDER

    def process_incoming(self, incoming: Sequence[Incoming]) -> None:
        process_payments(self.ctx, self.stream_name, incoming)
