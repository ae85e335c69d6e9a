"""Retrying parked records: bills whose vendor arrived, payments whose bill arrived, invoices
whose customer arrived, AR payments whose invoice arrived.

`retry_parked(ctx)` runs at the end of every run (after the last drain, so everything of
this run's input is in the ledger): every parked bill whose vendor is now known goes
through the bills processor again, then every parked payment whose bills are now known
through the payments processor. Written (or finally rejected) records leave the parking;
the rest keep waiting, and the records of this run that still wait are audited "parked"
with their reason.
"""

from __future__ import annotations

from target_mailchimp.mapping.common import (
    STREAM_AR_PAYMENTS,
    STREAM_BILLS,
    STREAM_INVOICES,
    STREAM_PAYMENTS,
)
from target_mailchimp.sinks.base import Incoming
from target_mailchimp.sinks.bills import process_bills
from target_mailchimp.sinks.invoices import process_ar_payments, process_invoices
from target_mailchimp.sinks.payments import process_payments
from target_mailchimp.sinks.run import RunContext


def retry_parked(ctx: RunContext) -> int:
    """Retry the parked records that became ready; returns how many were retried."""
    retried = 0
    for stream, process in (
        (STREAM_BILLS, process_bills),
        (STREAM_PAYMENTS, process_payments),
        (STREAM_INVOICES, process_invoices),
        (STREAM_AR_PAYMENTS, process_ar_payments),
    ):
        ready = ctx.ledger.ready_parked(stream)
        if not ready:
            continue
        ctx.logger.info(
            "%s: %d parked records can be written now that what they waited for arrived",
            stream,
            len(ready),
        )
        process(ctx, stream, [Incoming(dict(p.record)) for p in ready])
        retried += len(ready)
    ctx.audit_still_parked()
    return retried
