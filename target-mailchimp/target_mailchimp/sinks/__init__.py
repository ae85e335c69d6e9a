"""The target's sinks: one per stream, all writing through one run's ledger and client.

| stream | sink | writes |
|---|---|---|
| customers, vendors (tap-intacct) | `ContactsSink` | audience members, then e-commerce customers |
| ap_bills | `DocumentsSink` | GL products, then orders (parked while the vendor is unknown) |
| ap_payments | `PaymentsSink` | the financial status of the orders of the bills paid |
| ar_invoices | `DocumentsSink` | products, then customer orders (parked while customer unknown) |
| ar_payments | `PaymentsSink` | the financial status of the orders of the invoices paid |
| list_members | `ListMembersSink` | audience members (Mailchimp-shaped) |
| ecommerce_customers / _products / _orders | `Ecommerce*Sink` | the objects as given |

Modules, in the order a record meets them:

- `classes`: the SDK sink classes (thin: buffer, check, hand a drained batch on; drain ranks);
- `validation`: the checks before mapping (values no record may carry, the stream's schema);
- the processors, which map a batch and store its source records in the ledger: `contacts`
  (customers, vendors), `documents` (bills and invoices, AP and AR payments, and the
  writing of their orders), `passthrough` (Mailchimp-shaped streams), `deletions` (records
  deleted in Intacct), `parked` (retrying parked records at the end of a run);
- the writers, which call Mailchimp and record each write (dedupe hash, audit row):
  `members` (audience members) and `writes` (outcomes, the recorder, e-commerce objects,
  batch operations);
- `run` (one run's settings, ledger, client, pool and run-wide steps), `dryrun`, `errors`.

An ap_bills record's path: `classes.DocumentsSink` -> `documents.process_documents` ->
`writes.write_objects`.

Dry run (decided): no "would_*" audit actions; the whole run happens against a scratch
copy of the ledger (so the real one is untouched) with a client that refuses writes, and
the summary's first line says DRY RUN: its counts (created, updated, ...) are what a real
run would do.
"""

from __future__ import annotations

from target_mailchimp.sinks.classes import (
    ContactsSink,
    DocumentsSink,
    EcommerceCustomersSink,
    EcommerceOrdersSink,
    EcommerceProductsSink,
    ListMembersSink,
    MailchimpSink,
    PaymentsSink,
)
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
from target_mailchimp.sinks.validation import Incoming

#: Intacct streams (tap-intacct) and the sink of each.
INTACCT_SINKS: dict[str, type[MailchimpSink]] = {
    "customers": ContactsSink,
    "vendors": ContactsSink,
    "ap_bills": DocumentsSink,
    "ap_payments": PaymentsSink,
    "ar_invoices": DocumentsSink,
    "ar_payments": PaymentsSink,
}
#: Mailchimp-shaped streams other taps may send.
MAILCHIMP_SINKS: dict[str, type[MailchimpSink]] = {
    "list_members": ListMembersSink,
    "ecommerce_customers": EcommerceCustomersSink,
    "ecommerce_products": EcommerceProductsSink,
    "ecommerce_orders": EcommerceOrdersSink,
}
SINK_CLASSES: dict[str, type[MailchimpSink]] = {**INTACCT_SINKS, **MAILCHIMP_SINKS}
ACCEPTED_STREAMS: tuple[str, ...] = tuple(SINK_CLASSES)


def sink_class_for(stream: str) -> type[MailchimpSink]:
    """The sink of a stream, or `UnknownStreamError` naming the accepted streams."""
    try:
        return SINK_CLASSES[stream]
    except KeyError:
        raise UnknownStreamError(
            f"target-mailchimp does not accept the stream {stream!r}. It accepts "
            f"{', '.join(INTACCT_SINKS)} (from tap-intacct) and "
            f"{', '.join(MAILCHIMP_SINKS)} (Mailchimp-shaped records). Deselect the stream "
            "in the tap's catalog, or rename it with a stream map (__alias__) if it already "
            "has one of these shapes."
        ) from None


__all__ = [
    "ACCEPTED_STREAMS",
    "SINK_CLASSES",
    "BatchMessageError",
    "ConfigurationError",
    "ContactsSink",
    "DocumentsSink",
    "DryRunWriteError",
    "EcommerceCustomersSink",
    "EcommerceOrdersSink",
    "EcommerceProductsSink",
    "Incoming",
    "ListMembersSink",
    "MailchimpSink",
    "MailchimpUnavailableError",
    "PaymentsSink",
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
