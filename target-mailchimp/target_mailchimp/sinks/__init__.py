"""The target's sinks: one per stream, all writing through one run's ledger and client.

| stream | sink | writes |
|---|---|---|
| customers, vendors (tap-intacct) | `ContactsSink` | audience members, then e-commerce customers |
| ap_bills | `BillsSink` | GL products, then orders (parked while the vendor is unknown) |
| ap_payments | `PaymentsSink` | the financial status of the orders of the bills paid |
| ar_invoices | `InvoicesSink` | products, then customer orders (parked while customer unknown) |
| ar_payments | `ARPaymentsSink` | the financial status of the orders of the invoices paid |
| list_members | `ListMembersSink` | audience members (Mailchimp-shaped) |
| ecommerce_customers / _products / _orders | `Ecommerce*Sink` | the objects as given |

Modules: `base` (sink base class, drain ranks), `validation` (schema checks), `run` (one
run's ledger, client, pool and run-wide steps), `settings`, `recording` (outcomes, audit
rows, ledger writes, refused payloads), `members` and `ecommerce` / `batchops` / `orders`
(the writers), `contacts`, `bills`, `payments`, `passthrough` (the processors), `parked`
(retrying parked records), `dryrun`, `errors`.

Dry run (decided): no "would_*" audit actions; the whole run happens against a scratch
copy of the ledger (so the real one is untouched) with a client that refuses writes, and
the summary's first line says DRY RUN: its counts (created, updated, ...) are what a real
run would do.
"""

from __future__ import annotations

from target_mailchimp.sinks.base import Incoming, MailchimpSink
from target_mailchimp.sinks.bills import BillsSink, process_bills
from target_mailchimp.sinks.contacts import ContactsSink, process_contacts
from target_mailchimp.sinks.errors import (
    BatchMessageError,
    ConfigurationError,
    DryRunWriteError,
    MailchimpUnavailableError,
    TargetError,
    TooManyRejectedError,
    UnknownStreamError,
)
from target_mailchimp.sinks.invoices import (
    ARPaymentsSink,
    InvoicesSink,
    process_ar_payments,
    process_invoices,
)
from target_mailchimp.sinks.parked import retry_parked
from target_mailchimp.sinks.passthrough import (
    EcommerceCustomersSink,
    EcommerceOrdersSink,
    EcommerceProductsSink,
    ListMembersSink,
)
from target_mailchimp.sinks.payments import PaymentsSink, process_payments
from target_mailchimp.sinks.run import RunContext
from target_mailchimp.sinks.settings import RunSettings

#: Intacct streams (tap-intacct) and the sink of each.
INTACCT_SINKS: dict[str, type[MailchimpSink]] = {
    "customers": ContactsSink,
    "vendors": ContactsSink,
    "ap_bills": BillsSink,
    "ap_payments": PaymentsSink,
    "ar_invoices": InvoicesSink,
    "ar_payments": ARPaymentsSink,
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
    "ARPaymentsSink",
    "BatchMessageError",
    "BillsSink",
    "ConfigurationError",
    "ContactsSink",
    "DryRunWriteError",
    "EcommerceCustomersSink",
    "EcommerceOrdersSink",
    "EcommerceProductsSink",
    "Incoming",
    "InvoicesSink",
    "ListMembersSink",
    "MailchimpSink",
    "MailchimpUnavailableError",
    "PaymentsSink",
    "RunContext",
    "RunSettings",
    "TargetError",
    "TooManyRejectedError",
    "UnknownStreamError",
    "process_ar_payments",
    "process_bills",
    "process_contacts",
    "process_invoices",
    "process_payments",
    "retry_parked",
    "sink_class_for",
]
