"""ap_bills: e-commerce orders (with their GL products), parked while the vendor is unknown.

`process_bills(ctx, stream, incoming)` for one drained batch (or for parked bills that
became ready):

1. Records that do not match the schema or lack the facts of a bill are rejected.
2. Every bill is stored in the ledger (payments rebuild the order from it later).
3. `bill_to_order` with the vendor and payments the ledger knows: rejected (reason in the
   audit trail; a bill rejected because of its vendor, no email or inactive, is also kept in
   the parking and retried when the vendor arrives or changes), parked when no vendors
   record with its VENDORID was seen yet (stored in the ledger at once, so a STATE emitted
   later never outruns it; retried at the end of this run and of every later run, audited
   "parked" if still waiting at the end, rejected after `max_park_days`), or an order.
4. Orders are written by `orders.write_bill_orders` (vendor customer check, products, orders).
5. Bills that reached a final outcome leave the parking.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from target_mailchimp.mapping import (
    BillOrder,
    Parked,
    Rejected,
    bill_summary,
    bill_to_order,
    bill_version,
    clean_text,
    order_id,
)
from target_mailchimp.mapping.common import as_recordno
from target_mailchimp.mapping.settlement import older_version
from target_mailchimp.sinks.base import Incoming, MailchimpSink
from target_mailchimp.sinks.ecommerce import ORDER
from target_mailchimp.sinks.orders import (
    VENDOR_REJECTION_CODES,
    VENDOR_RETRY_NOTE,
    BillWork,
    keep_for_vendor,
    write_bill_orders,
)
from target_mailchimp.sinks.recording import Outcome, SourceRef
from target_mailchimp.sinks.run import ParkedNote, RunContext


def process_bills(ctx: RunContext, stream: str, incoming: Sequence[Incoming]) -> None:
    """Write one batch of AP bills (see module docstring)."""
    recorder = ctx.recorder
    bills: dict[int, dict[str, Any]] = {}
    refs: dict[int, list[SourceRef]] = {}
    for item in incoming:
        record = item.record
        ref = SourceRef.of(stream, record, id_field="RECORDID")
        recordno = as_recordno(record.get("RECORDNO"))
        oid = order_id(recordno) if recordno is not None else None
        if item.problem is not None:
            recorder.audit(
                [ref], Outcome("rejected", detail=item.problem), object_kind=ORDER, object_id=oid
            )
            continue
        summary = bill_summary(record)
        if isinstance(summary, Rejected):
            recorder.audit(
                [ref], Outcome("rejected", detail=summary.reason), object_kind=ORDER, object_id=oid
            )
            continue
        other = bills.get(summary.recordno)
        # A version older than one already in this batch never replaces it.
        if other is None or not older_version(bill_version(record), bill_version(other)):
            bills[summary.recordno] = record
        refs.setdefault(summary.recordno, []).append(ref)
    if not bills:
        recorder.flush()
        return
    ctx.ledger.sources.record_bills(list(bills.values()), run_id=ctx.run_id)
    # The ledger keeps the newest version of each bill: an older one arriving late (another
    # run, a replay) is written from the newest facts, so nothing goes back in time.
    for recordno, stored in ctx.ledger.sources.bills(bills).items():
        if older_version(bill_version(bills[recordno]), bill_version(stored)):
            bills[recordno] = stored
    vendor_ids = {v for b in bills.values() if (v := clean_text(b.get("VENDORID")))}
    vendors = ctx.ledger.sources.vendors(vendor_ids)
    payments = ctx.ledger.sources.payments_for_bills(bills)
    works: list[BillWork] = []
    final: set[int] = set()
    for recordno, record in bills.items():
        vendor = vendors.get(clean_text(record.get("VENDORID")) or "")
        result = bill_to_order(record, vendor, payments.get(recordno, []), ctx.mapping)
        if isinstance(result, Rejected):
            vendor_caused = result.code in VENDOR_REJECTION_CODES
            reason = result.reason + (VENDOR_RETRY_NOTE if vendor_caused else "")
            recorder.audit(
                refs[recordno],
                Outcome("rejected", detail=reason),
                object_kind=ORDER,
                object_id=order_id(recordno),
            )
            if vendor_caused:
                keep_for_vendor(ctx, record, reason)
            else:
                final.add(recordno)
        elif isinstance(result, Parked):
            ref = refs[recordno][-1]
            ctx.ledger.sources.park_outcome(
                stream, str(recordno), result, record, source_id=ref.source_id, run_id=ctx.run_id
            )
            ctx.note_parked(ParkedNote(ref, result.reason, ORDER, order_id(recordno)))
        else:
            assert isinstance(result, BillOrder)
            works.append(BillWork(result, refs[recordno]))
            final.add(recordno)
    kept: set[str] = set()
    write_bill_orders(ctx, stream, works, kept)
    recorder.flush()
    leave_parking(ctx, stream, {str(n) for n in final} - kept)


def leave_parking(ctx: RunContext, stream: str, keys: set[str]) -> None:
    """Unpark the records of `stream` that reached a final outcome."""
    if not keys:
        return
    parked = ctx.ledger.sources.parked_keys(stream) & keys
    if parked:
        ctx.ledger.sources.unpark_many(stream, parked)
        ctx.logger.info(
            "%s: %d parked records were written and left the parking", stream, len(parked)
        )
    for key in keys:
        ctx.note_done(stream, key)


class BillsSink(MailchimpSink):
    """ap_bills (tap-intacct)."""

    rank = 2
    object_kind = ORDER

    def process_incoming(self, incoming: Sequence[Incoming]) -> None:
        process_bills(self.ctx, self.stream_name, incoming)
