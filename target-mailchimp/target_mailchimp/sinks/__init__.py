"""The target's sinks: one per stream, all writing through one run's ledger and client.

| stream | processor | writes |
|---|---|---|
| customers, vendors (tap-intacct) | `contacts` | audience members, then e-commerce customers |
| ap_bills | `documents` | GL products, then orders (parked while the vendor is unknown) |
| ap_payments | `documents` | the financial status of the orders of the bills paid |
| ar_invoices | `documents` | products, then customer orders (parked while customer unknown) |
| ar_payments | `documents` | the financial status of the orders of the invoices paid |
| list_members | `passthrough` | audience members (Mailchimp-shaped) |
| ecommerce_customers / _products / _orders | `passthrough` | the objects as given |

Modules, in the order a record meets them:

- `sink`: the SDK sink class (thin: buffer, check, hand a drained batch to its stream's
  processor; drain ranks);
- `validation`: the checks before mapping (values no record may carry, the stream's schema);
- the processors, which map a batch and store its source records in the ledger: `contacts`
  (customers, vendors), `documents` (bills and invoices, AP and AR payments, and the
  writing of their orders), `passthrough` (Mailchimp-shaped streams), `deletions` (records
  deleted in Intacct), `parked` (retrying parked records at the end of a run);
- the writers, which call Mailchimp and record each write (dedupe hash, audit row):
  `members` (audience members) and `writes` (e-commerce objects, batch operations), both
  through `recording` (outcomes, audit rows, the recorder that buffers the ledger writes);
- `run` (one run's settings, ledger, client, pool and run-wide steps), `dryrun`, `errors`.

An ap_bills record's path: `sink.MailchimpSink` -> `documents.process_documents` ->
`writes.write_objects`.

Dry run (decided): no "would_*" audit actions; the whole run happens against a scratch
copy of the ledger (so the real one is untouched) with a client that refuses writes, and
the summary's first line says DRY RUN: its counts (created, updated, ...) are what a real
run would do.
"""

from __future__ import annotations

from target_mailchimp.sinks.contacts import process_contacts
from target_mailchimp.sinks.documents import process_documents, process_payments
from target_mailchimp.sinks.errors import (
    BatchMessageError,
    ConfigurationError,
    DryRunWriteError,
    MailchimpUnavailableError,
    TargetError,
    TooManyRejectedError,
    UnknownStreamError,
)
from target_mailchimp.sinks.parked import retry_parked
from target_mailchimp.sinks.run import RunContext, RunSettings
from target_mailchimp.sinks.sink import INTACCT_ROUTES, MAILCHIMP_ROUTES, ROUTES, MailchimpSink
from target_mailchimp.sinks.validation import Incoming

ACCEPTED_STREAMS: tuple[str, ...] = tuple(ROUTES)


def sink_class_for(stream: str) -> type[MailchimpSink]:
    """The sink class of a stream, or `UnknownStreamError` naming the accepted streams."""
    if stream not in ROUTES:
        raise UnknownStreamError(
            f"target-mailchimp does not accept the stream {stream!r}. It accepts "
            f"{', '.join(INTACCT_ROUTES)} (from tap-intacct) and "
            f"{', '.join(MAILCHIMP_ROUTES)} (Mailchimp-shaped records). Deselect the stream "
            "in the tap's catalog, or rename it with a stream map (__alias__) if it already "
            "has one of these shapes."
        )
    return MailchimpSink


__all__ = [
    "ACCEPTED_STREAMS",
    "BatchMessageError",
    "ConfigurationError",
    "DryRunWriteError",
    "Incoming",
    "MailchimpSink",
    "MailchimpUnavailableError",
    "RunContext",
    "RunSettings",
    "TargetError",
    "TooManyRejectedError",
    "UnknownStreamError",
    "process_contacts",
    "process_documents",
    "process_payments",
    "retry_parked",
    "sink_class_for",
]
