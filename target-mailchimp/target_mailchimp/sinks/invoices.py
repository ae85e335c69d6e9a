"""ar_invoices and ar_payments: orders of the customers' e-commerce customers.

`process_invoices(ctx, stream, incoming)` works as `process_bills` does for bills: records
that do not match the schema or lack the facts of an invoice are rejected; every invoice is
stored in the ledger; `invoice_to_order` with the customer and the AR payments the ledger
knows gives an order (written by `write_bill_orders`: products first, then the order), a
rejection, or parking while no customers record with its CUSTOMERID was seen (retried at the
end of this run and of every later run).

`process_ar_payments(ctx, stream, incoming)` works as `process_payments` does for AP
payments: each payment is stored with its allocations to invoices (everything that settles
them: cash, credits, advances, discounts); a payment of an invoice not seen yet is parked;
each affected invoice's order is rebuilt and, when it exists in Mailchimp, gets a
status-only PATCH.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from target_mailchimp.mapping import (
    BillOrder,
    Parked,
    Rejected,
    clean_text,
)
from target_mailchimp.mapping.common import as_recordno
from target_mailchimp.mapping.invoices import (
    ar_payment_from_record,
    invoice_order_id,
    invoice_summary,
    invoice_to_order,
)
from target_mailchimp.sinks.base import Incoming, MailchimpSink
from target_mailchimp.sinks.bills import leave_parking
from target_mailchimp.sinks.ecommerce import ORDER
from target_mailchimp.sinks.orders import BillWork, write_bill_orders
from target_mailchimp.sinks.payments import read_payments
from target_mailchimp.sinks.recording import Outcome, SourceRef
from target_mailchimp.sinks.run import ParkedNote, RunContext


def process_invoices(ctx: RunContext, stream: str, incoming: Sequence[Incoming]) -> None:
    """Write one batch of AR invoices (see module docstring)."""
    recorder = ctx.recorder
    invoices: dict[int, dict[str, Any]] = {}
    refs: dict[int, list[SourceRef]] = {}
    for item in incoming:
        record = item.record
        ref = SourceRef.of(stream, record, id_field="RECORDID")
        recordno = as_recordno(record.get("RECORDNO"))
        oid = invoice_order_id(recordno) if recordno is not None else None
        if item.problem is not None:
            recorder.audit(
                [ref], Outcome("rejected", detail=item.problem), object_kind=ORDER, object_id=oid
            )
            continue
        summary = invoice_summary(record)
        if isinstance(summary, Rejected):
            recorder.audit(
                [ref], Outcome("rejected", detail=summary.reason), object_kind=ORDER, object_id=oid
            )
            continue
        invoices[summary.recordno] = record
        refs.setdefault(summary.recordno, []).append(ref)
    if not invoices:
        recorder.flush()
        return
    ctx.ledger.sources.record_invoices(list(invoices.values()), run_id=ctx.run_id)
    customers = ctx.ledger.sources.customers(
        {c for inv in invoices.values() if (c := clean_text(inv.get("CUSTOMERID")))}
    )
    payments = ctx.ledger.sources.payments_for_invoices(invoices)
    works: list[BillWork] = []
    final: set[int] = set()
    for recordno, record in invoices.items():
        customer = customers.get(clean_text(record.get("CUSTOMERID")) or "")
        result = invoice_to_order(record, customer, payments.get(recordno, []), ctx.mapping)
        if isinstance(result, Rejected):
            recorder.audit(
                refs[recordno],
                Outcome("rejected", detail=result.reason),
                object_kind=ORDER,
                object_id=invoice_order_id(recordno),
            )
            final.add(recordno)
        elif isinstance(result, Parked):
            ref = refs[recordno][-1]
            ctx.ledger.sources.park_outcome(
                stream, str(recordno), result, record, source_id=ref.source_id, run_id=ctx.run_id
            )
            ctx.note_parked(ParkedNote(ref, result.reason, ORDER, invoice_order_id(recordno)))
        else:
            works.append(BillWork(result, refs[recordno]))
            final.add(recordno)
    write_bill_orders(ctx, stream, works)
    recorder.flush()
    leave_parking(ctx, stream, {str(n) for n in final})


def process_ar_payments(ctx: RunContext, stream: str, incoming: Sequence[Incoming]) -> None:
    """Apply one batch of AR payments (see module docstring)."""
    recorder = ctx.recorder
    payments, raw, refs = read_payments(ctx, stream, incoming, ar_payment_from_record)
    if not payments:
        recorder.flush()
        return
    ctx.ledger.sources.record_ar_payments(list(payments.values()), run_id=ctx.run_id)
    invoices = ctx.ledger.sources.invoices({n for p in payments.values() for n in p.bill_recordnos})
    by_invoice: dict[int, list[SourceRef]] = {}
    final: set[str] = set()
    for recordno, payment in payments.items():
        unknown = sorted(n for n in payment.bill_recordnos if n not in invoices)
        if unknown:
            ref = refs[recordno][-1]
            reason = (
                f"{ref.label()} pays invoice RECORDNO {', '.join(map(str, unknown))}, not seen "
                "yet; it waits in the ledger and is applied automatically when the invoice "
                "arrives"
            )
            ctx.ledger.sources.park(
                stream,
                str(recordno),
                code="invoice_unknown",
                reason=reason,
                waiting_kind="invoice",
                waiting_keys=[str(n) for n in unknown],
                record=raw[recordno],
                source_id=payment.recordid,
                run_id=ctx.run_id,
            )
            ctx.note_parked(ParkedNote(ref, reason, ORDER, invoice_order_id(unknown[0])))
        else:
            final.add(str(recordno))
        for invoice_no in payment.bill_recordnos:
            if invoice_no in invoices:
                by_invoice.setdefault(invoice_no, []).extend(refs[recordno])
    if by_invoice:
        refresh_invoice_orders(ctx, stream, by_invoice, invoices)
    recorder.flush()
    leave_parking(ctx, stream, final)


def refresh_invoice_orders(
    ctx: RunContext,
    stream: str,
    by_invoice: dict[int, list[SourceRef]],
    invoices: dict[int, dict[str, Any]],
) -> None:
    """Rebuild the orders of `invoices` from every AR payment known for them; PATCH the status
    of those already in Mailchimp, write the others whole (skipped with the reason when an
    invoice cannot become an order)."""
    recorder = ctx.recorder
    customers = ctx.ledger.sources.customers(
        {c for n in by_invoice if (c := clean_text(invoices[n].get("CUSTOMERID")))}
    )
    allocations = ctx.ledger.sources.payments_for_invoices(by_invoice)
    states = ctx.ledger.writes.object_states(ORDER, [invoice_order_id(n) for n in by_invoice])
    works: list[BillWork] = []
    for invoice_no, invoice_refs in sorted(by_invoice.items()):
        invoice = invoices[invoice_no]
        customer = customers.get(clean_text(invoice.get("CUSTOMERID")) or "")
        result = invoice_to_order(invoice, customer, allocations.get(invoice_no, []), ctx.mapping)
        oid = invoice_order_id(invoice_no)
        if not isinstance(result, BillOrder):
            why = "waits for its customer" if result.action == "parked" else "cannot be written"
            recorder.audit(
                invoice_refs,
                Outcome(
                    "skipped",
                    detail=f"the payment is recorded, but order {oid} {why} ({result.reason}); "
                    "its status will include this payment once it is written",
                ),
                object_kind=ORDER,
                object_id=oid,
            )
            continue
        state = states.get(oid)
        works.append(BillWork(result, invoice_refs, status_only=state is not None and state.exists))
    write_bill_orders(ctx, stream, works)


class InvoicesSink(MailchimpSink):
    """ar_invoices (tap-intacct)."""

    rank = 2
    object_kind = ORDER

    def process_incoming(self, incoming: Sequence[Incoming]) -> None:
        process_invoices(self.ctx, self.stream_name, incoming)


class ARPaymentsSink(MailchimpSink):
    """ar_payments (tap-intacct)."""

    rank = 3
    object_kind = ORDER

    def process_incoming(self, incoming: Sequence[Incoming]) -> None:
        process_ar_payments(self.ctx, self.stream_name, incoming)
