"""Bills and invoices become orders, and their payments set the orders' financial status.

AP (ap_bills paid by ap_payments, owed to vendors) and AR (ar_invoices paid by ar_payments,
owed by customers) run through the same steps; a `Books` says which side: its documents
(`mapping.orders.OwedDocument`: stream, reader, order builder), its payments and its ledger
calls.

`process_documents(ctx, stream, incoming)`, one drained batch of bills or invoices (or parked
ones that became ready):

1. Records that do not match the schema or lack the facts of a document are rejected.
2. Every document is stored in the ledger (payments rebuild the order from it later); the
   newest version of each wins, in the batch and against the ledger, so an older version
   arriving late (another run, a replay) is written from the newest facts.
3. The mapping (`bill_to_order` / `invoice_to_order`) with the party and payments the ledger
   knows: rejected (reason in the audit trail; a bill rejected because of its vendor, no
   email or inactive, is also kept in the parking and retried when the vendor arrives or
   changes), parked when no vendors / customers record with its id was seen yet (stored in
   the ledger at once, so a STATE emitted later never outruns it; retried at the end of this
   run and of every later run, audited "parked" if still waiting at the end, rejected after
   `max_park_days`), or an order.
4. Orders are written by `write_document_orders` (below).
5. Documents that reached a final outcome leave the parking.

`process_payments(ctx, stream, incoming)`, one drained batch of AP or AR payments:

1. Each record becomes a `PaymentRecord` (or is rejected / skipped with its reason) and is
   stored in the ledger with its allocations to documents (everything that settles them:
   cash, credits, advances, discounts), so an order's status always comes from every payment
   known for its document.
2. A payment applied to a document the ledger has never seen is parked ("bill unknown" /
   "invoice unknown") until it arrives; its documents that are known are updated now.
3. Each affected document's order is rebuilt with all its payments: when the order was
   written before, a status-only PATCH (paid once non-voided payments cover the total, back
   to pending when one is voided); when it never was (e.g. its write failed earlier), the
   whole order is written; when the document cannot become an order (rejected, or still
   waiting for its party) the payment is recorded and audited as skipped with that reason:
   the order picks the payment up when it is written.

`write_document_orders(ctx, stream, works) -> {order id: Outcome}`:

1. An order needs its party's e-commerce customer in Mailchimp: if the ledger has never
   written `vendor-<VENDORID>` / `customer-<CUSTOMERID>` successfully (its write was
   rejected, or its records were skipped), the order is rejected with that reason instead
   of being sent; a bill is also kept in the ledger's parking (`keep_for_vendor`) so it is
   retried when the vendor arrives or changes.
2. The GL products (`gl-<ACCOUNTNO>`) the orders use are written before any of them
   (synchronously; each product once, deduped by the ledger). An order whose product could
   not be written is rejected with the product's reason.
3. The orders (`writes.write_objects`): POST for new ones, PATCH for those written before; a
   payment's work (`OrderWork.status_only`) sends only financial_status and
   updated_at_foreign when the order exists. The ledger hash always covers the whole order,
   so a document re-sent with nothing new writes nothing.
4. Lines mirror the document's GL lines: a PATCH with `lines` updates and adds lines by id
   but never removes one, so the lines written before (ledger `order_lines`; read from
   Mailchimp for an order the ledger has no lines for) that the document no longer has are
   deleted after the write (`DELETE .../orders/{id}/lines/{line_id}`), keeping the order
   visible throughout; the audit row of the write names the removed lines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from target_mailchimp.ledger import Ledger
from target_mailchimp.mapping import (
    BillOrder,
    ContactRecord,
    Parked,
    PaymentRecord,
    Rejected,
    Skipped,
    bill_version,
    clean_text,
    payment_from_record,
)
from target_mailchimp.mapping.common import (
    STREAM_AR_PAYMENTS,
    STREAM_BILLS,
    STREAM_PAYMENTS,
    as_recordno,
)
from target_mailchimp.mapping.invoices import ar_payment_from_record
from target_mailchimp.mapping.orders import BILL, INVOICE, OwedDocument
from target_mailchimp.mapping.payments import PaymentForBill
from target_mailchimp.mapping.settlement import older_version
from target_mailchimp.sinks import writes
from target_mailchimp.sinks.recording import Outcome, SourceRef
from target_mailchimp.sinks.run import ParkedNote, RunContext
from target_mailchimp.sinks.validation import Incoming
from target_mailchimp.sinks.writes import CUSTOMER, ORDER, PRODUCT


@dataclass(frozen=True)
class Books:
    """One side of the books: its streams, mapping and ledger calls (see module docstring)."""

    #: The documents: their stream, names, reader and order builder (`mapping.orders`).
    kind: OwedDocument
    payments: str
    read_payment: Callable[[Mapping[str, Any]], PaymentRecord | Rejected | Skipped]
    #: Mapping codes of documents rejected because of their party (kept for a retry).
    party_rejection_codes: frozenset[str]
    #: The end of the reason of a payment parked until its document arrives.
    waiting_note: str
    # The ledger's calls for this side.
    record_documents: Callable[[Ledger, list[dict[str, Any]], str], None]
    stored: Callable[[Ledger, Iterable[int]], dict[int, dict[str, Any]]]
    parties: Callable[[Ledger, Iterable[str]], dict[str, ContactRecord]]
    payments_for: Callable[[Ledger, Iterable[int]], dict[int, list[PaymentForBill]]]
    record_payments: Callable[[Ledger, list[PaymentRecord], str], None]


#: Appended to the reason of a bill rejected because of its vendor.
VENDOR_RETRY_NOTE = "; it is retried automatically when the vendor arrives or changes"

#: The two sides, as a table: each part of `Books` for (AP, AR).
_SIDES: dict[str, tuple[Any, Any]] = {
    "kind": (BILL, INVOICE),
    "payments": (STREAM_PAYMENTS, STREAM_AR_PAYMENTS),
    "read_payment": (payment_from_record, ar_payment_from_record),
    "party_rejection_codes": (frozenset({"vendor_no_email", "vendor_inactive"}), frozenset()),
    "waiting_note": (
        "it waits in the ledger and is applied automatically when the bill arrives",
        "it waits in the ledger and is applied automatically when the invoice arrives",
    ),
    "record_documents": (
        lambda ledger, docs, run_id: ledger.sources.record_bills(docs, run_id=run_id),
        lambda ledger, docs, run_id: ledger.sources.record_invoices(docs, run_id=run_id),
    ),
    "stored": (
        lambda ledger, keys: ledger.sources.bills(keys),
        lambda ledger, keys: ledger.sources.invoices(keys),
    ),
    "parties": (
        lambda ledger, ids: ledger.sources.vendors(ids),
        lambda ledger, ids: ledger.sources.customers(ids),
    ),
    "payments_for": (
        lambda ledger, keys: ledger.sources.payments_for_bills(keys),
        lambda ledger, keys: ledger.sources.payments_for_invoices(keys),
    ),
    "record_payments": (
        lambda ledger, payments, run_id: ledger.sources.record_payments(payments, run_id=run_id),
        lambda ledger, payments, run_id: ledger.sources.record_ar_payments(payments, run_id=run_id),
    ),
}
AP = Books(**{part: sides[0] for part, sides in _SIDES.items()})
AR = Books(**{part: sides[1] for part, sides in _SIDES.items()})
#: The books of each document and payment stream.
BOOKS: dict[str, Books] = {
    AP.kind.stream: AP,
    AP.payments: AP,
    AR.kind.stream: AR,
    AR.payments: AR,
}


def process_documents(ctx: RunContext, stream: str, incoming: Sequence[Incoming]) -> None:
    """Write one batch of bills or invoices (see module docstring)."""
    books = BOOKS[stream]
    recorder = ctx.recorder
    documents: dict[int, dict[str, Any]] = {}
    refs: dict[int, list[SourceRef]] = {}
    for item in incoming:
        record = item.record
        ref = SourceRef.of(stream, record, id_field="RECORDID")
        recordno = as_recordno(record.get("RECORDNO"))
        oid = books.kind.order_id(recordno) if recordno is not None else None
        summary = books.kind.summary(record) if item.problem is None else None
        if summary is None or isinstance(summary, Rejected):
            reason = item.problem if summary is None else summary.reason
            recorder.audit(
                [ref], Outcome("rejected", detail=reason), object_kind=ORDER, object_id=oid
            )
            continue
        other = documents.get(summary.recordno)
        # A version older than one already in this batch never replaces it.
        if other is None or not older_version(bill_version(record), bill_version(other)):
            documents[summary.recordno] = record
        refs.setdefault(summary.recordno, []).append(ref)
    if not documents:
        recorder.flush()
        return
    books.record_documents(ctx.ledger, list(documents.values()), ctx.run_id)
    # The ledger keeps the newest version of each document: an older one arriving late
    # (another run, a replay) is written from the newest facts, so nothing goes back in time.
    for recordno, stored in books.stored(ctx.ledger, documents).items():
        if older_version(bill_version(documents[recordno]), bill_version(stored)):
            documents[recordno] = stored
    parties = books.parties(
        ctx.ledger,
        {p for d in documents.values() if (p := clean_text(d.get(books.kind.party_field)))},
    )
    payments = books.payments_for(ctx.ledger, documents)
    works: list[OrderWork] = []
    final: set[int] = set()
    for recordno, record in documents.items():
        party = parties.get(clean_text(record.get(books.kind.party_field)) or "")
        result = books.kind.to_order(record, party, payments.get(recordno, []), ctx.mapping)
        if isinstance(result, Rejected):
            party_caused = result.code in books.party_rejection_codes
            reason = result.reason + (VENDOR_RETRY_NOTE if party_caused else "")
            recorder.audit(
                refs[recordno],
                Outcome("rejected", detail=reason),
                object_kind=ORDER,
                object_id=books.kind.order_id(recordno),
            )
            if party_caused:
                keep_for_vendor(ctx, record, reason)
            else:
                final.add(recordno)
        elif isinstance(result, Parked):
            ref = refs[recordno][-1]
            ctx.ledger.sources.park_outcome(
                stream, str(recordno), result, record, source_id=ref.source_id, run_id=ctx.run_id
            )
            ctx.note_parked(ParkedNote(ref, result.reason, ORDER, books.kind.order_id(recordno)))
        else:
            works.append(OrderWork(result, refs[recordno]))
            final.add(recordno)
    kept: set[str] = set()
    write_document_orders(ctx, stream, works, kept)
    recorder.flush()
    leave_parking(ctx, stream, {str(n) for n in final} - kept)


def read_payments(
    ctx: RunContext, stream: str, incoming: Sequence[Incoming]
) -> tuple[dict[int, PaymentRecord], dict[int, dict[str, Any]], dict[int, list[SourceRef]]]:
    """A batch of AP or AR payments: the newest version of each payment, its record, and the
    source refs of every version; records refused are audited."""
    books = BOOKS[stream]
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
        payment = books.read_payment(item.record)
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
    """Apply one batch of AP or AR payments (see module docstring)."""
    books = BOOKS[stream]
    noun = books.kind.noun
    payments, raw, refs = read_payments(ctx, stream, incoming)
    if not payments:
        ctx.recorder.flush()
        return
    books.record_payments(ctx.ledger, list(payments.values()), ctx.run_id)
    documents = books.stored(ctx.ledger, {n for p in payments.values() for n in p.bill_recordnos})
    by_document: dict[int, list[SourceRef]] = {}
    final: set[str] = set()
    for recordno, payment in payments.items():
        unknown = sorted(n for n in payment.bill_recordnos if n not in documents)
        if unknown:
            ref = refs[recordno][-1]
            reason = (
                f"{ref.label()} pays {noun} RECORDNO {', '.join(map(str, unknown))}, not seen "
                f"yet; {books.waiting_note}"
            )
            ctx.ledger.sources.park(
                stream,
                str(recordno),
                code=f"{noun}_unknown",
                reason=reason,
                waiting_kind=noun,
                waiting_keys=[str(n) for n in unknown],
                record=raw[recordno],
                source_id=payment.recordid,
                run_id=ctx.run_id,
            )
            ctx.note_parked(ParkedNote(ref, reason, ORDER, books.kind.order_id(unknown[0])))
        else:
            final.add(str(recordno))
        for document_no in payment.bill_recordnos:
            if document_no in documents:
                by_document.setdefault(document_no, []).extend(refs[recordno])
    if by_document:
        refresh_orders(ctx, books, stream, by_document, documents)
    ctx.recorder.flush()
    leave_parking(ctx, stream, final)


def refresh_orders(
    ctx: RunContext,
    books: Books,
    stream: str,
    by_document: dict[int, list[SourceRef]],
    documents: dict[int, dict[str, Any]],
) -> None:
    """Rebuild the orders of `documents` from every payment known for them; PATCH the status
    of those already in Mailchimp, write the others whole (skipped with the reason when a
    document cannot become an order)."""
    parties = books.parties(
        ctx.ledger,
        {p for n in by_document if (p := clean_text(documents[n].get(books.kind.party_field)))},
    )
    allocations = books.payments_for(ctx.ledger, by_document)
    states = ctx.ledger.writes.object_states(ORDER, [books.kind.order_id(n) for n in by_document])
    works: list[OrderWork] = []
    for document_no, document_refs in sorted(by_document.items()):
        document = documents[document_no]
        party = parties.get(clean_text(document.get(books.kind.party_field)) or "")
        result = books.kind.to_order(document, party, allocations.get(document_no, []), ctx.mapping)
        oid = books.kind.order_id(document_no)
        if not isinstance(result, BillOrder):
            why = (
                f"waits for its {books.kind.party}"
                if result.action == "parked"
                else "cannot be written"
            )
            ctx.recorder.audit(
                document_refs,
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
        works.append(
            OrderWork(result, document_refs, status_only=state is not None and state.exists)
        )
    write_document_orders(ctx, stream, works)


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


@dataclass
class OrderWork:
    """A document's order to write and the records (document or payments) behind it."""

    order: BillOrder
    refs: list[SourceRef] = field(default_factory=list)
    status_only: bool = False

    @property
    def order_id(self) -> str:
        return self.order.order.object_id

    @property
    def customer_id(self) -> str:
        return str(self.order.order.body["customer"]["id"])


def _party(work: OrderWork) -> str:
    return "customer" if work.customer_id.startswith("customer-") else "vendor"


def _reject(ctx: RunContext, work: OrderWork, detail: str) -> Outcome:
    outcome = Outcome("rejected", detail=detail)
    ctx.recorder.audit(work.refs, outcome, object_kind=ORDER, object_id=work.order_id)
    return outcome


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


def write_document_orders(
    ctx: RunContext,
    stream: str,
    works: Sequence[OrderWork],
    kept: set[str] | None = None,
) -> dict[str, Outcome]:
    """Write the orders of documents (see module docstring); the keys of bills kept for their
    vendor (rejected because its e-commerce customer is missing) are added to `kept`."""
    outcomes: dict[str, Outcome] = {}
    if not works:
        return outcomes
    customers = ctx.ledger.writes.object_states(CUSTOMER, {w.customer_id for w in works})
    ready: list[OrderWork] = []
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

    products: dict[str, writes.ObjectWork] = {}
    for work in ready:
        for product in work.order.products:
            if product.object_id not in products:
                products[product.object_id] = writes.ObjectWork(product, work.refs[:1])
    product_outcomes = writes.write_objects(
        ctx, PRODUCT, list(products.values()), stream, audit_unchanged=False
    )

    previous_lines = ctx.ledger.writes.order_lines(w.order_id for w in ready if not w.status_only)
    order_works: list[writes.ObjectWork] = []
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
            writes.ObjectWork(
                work.order.order,
                list(work.refs),
                patch=work.order.patch_body() if work.status_only else None,
                stale_lines=stale,
            )
        )
    outcomes.update(writes.write_objects(ctx, ORDER, order_works, stream))
    return outcomes
