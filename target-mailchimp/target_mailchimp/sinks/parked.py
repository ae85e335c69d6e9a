"""Retrying parked records: bills whose vendor arrived, payments whose bill arrived, invoices
whose customer arrived, AR payments whose invoice arrived.

`retry_parked(ctx)` runs at the end of every run (after the last drain, so everything of
this run's input is in the ledger): every parked bill whose vendor is now known goes
through the bills processor again, then every parked payment whose bills are now known
through the payments processor. Written (or finally rejected) records leave the parking;
the rest keep waiting, and the records of this run that still wait are audited "parked"
with their reason. Bills rejected because of their vendor are kept and retried once the
vendor arrives or changes. Records that waited longer than `max_park_days` for a record
that never came are rejected into the audit trail (`expire_parked`).
"""

from __future__ import annotations

from datetime import timedelta

from target_mailchimp.ledger import utcnow
from target_mailchimp.mapping import order_id
from target_mailchimp.mapping.common import (
    STREAM_AR_PAYMENTS,
    STREAM_BILLS,
    STREAM_INVOICES,
    STREAM_PAYMENTS,
)
from target_mailchimp.sinks.documents import keep_for_vendor, process_documents, process_payments
from target_mailchimp.sinks.recording import Outcome, SourceRef
from target_mailchimp.sinks.run import RunContext
from target_mailchimp.sinks.validation import Incoming
from target_mailchimp.sinks.writes import ORDER


def retry_parked(ctx: RunContext) -> int:
    """Retry the parked records that became ready; returns how many were retried."""
    retried = 0
    for stream, process in (
        (STREAM_BILLS, process_documents),
        (STREAM_PAYMENTS, process_payments),
        (STREAM_INVOICES, process_documents),
        (STREAM_AR_PAYMENTS, process_payments),
    ):
        ready = ctx.ledger.sources.ready_parked(stream)
        if not ready:
            continue
        ctx.logger.info(
            "%s: %d parked records can be written now that what they waited for arrived",
            stream,
            len(ready),
        )
        process(ctx, stream, [Incoming(dict(p.record)) for p in ready])
        retried += len(ready)
    expire_parked(ctx)
    ctx.audit_still_parked()
    return retried


#: Parking codes that expire after `max_park_days` (waiting for a record never seen).
EXPIRING_CODES = ("vendor_unknown", "bill_unknown")


def expire_parked(ctx: RunContext) -> int:
    """Reject the records parked longer than `max_park_days`; returns how many.

    Each is audited "rejected" with its reason. A bill stays in the ledger's parking as
    `park_expired`, written after all if its vendor arrives later; a payment leaves the parking
    (its allocations are in the ledger, so its bill's order counts it when the bill arrives).
    """
    days = ctx.settings.max_park_days
    cutoff = utcnow() - timedelta(days=days)
    expired = ctx.ledger.sources.parked_before(cutoff, EXPIRING_CODES)
    for item in expired:
        record = dict(item.record)
        ref = SourceRef.of(item.stream, record, id_field="RECORDID")
        waited = f"{item.waiting_kind} {', '.join(item.waiting_keys)}"
        reason = (
            f"{ref.label()} waited more than {days:g} days (since "
            f"{item.parked_at:%Y-%m-%d}) for {waited}, which never arrived, and is rejected "
            f"(max_park_days): {item.reason}"
        )
        bill_no = (
            item.source_key if item.stream == STREAM_BILLS else (item.waiting_keys or ("",))[0]
        )
        ctx.recorder.audit(
            [ref],
            Outcome("rejected", detail=reason),
            object_kind=ORDER,
            object_id=order_id(int(bill_no)) if bill_no.isdigit() else None,
        )
        if item.stream == STREAM_BILLS:
            keep_for_vendor(ctx, record, reason, code="park_expired")
        else:
            ctx.ledger.sources.unpark(item.stream, item.source_key)
        ctx.note_done(item.stream, item.source_key)
    if expired:
        ctx.logger.warning(
            "%d parked records waited more than max_park_days (%g) and were rejected",
            len(expired),
            days,
        )
    ctx.recorder.flush()
    return len(expired)
