"""The mapping from Intacct records to Mailchimp payloads: pure functions, no I/O.

Nothing here talks to Mailchimp or to the ledger; every fact a function needs comes in as an
argument (for example the vendor of a bill, or the payments known for it), so the same
inputs always give the same payload. Bad data never raises: functions return a payload or a
`Rejected` / `Skipped` / `Parked` outcome (`results`) whose reason names the record and the fix.

How a sink uses it (the ledger supplies what other records say):

    settings = MappingSettings.from_config(config)
    # customers / vendors (a batch of them; `ledger.sources` stores and reads them)
    contacts = [contact_from_record(stream, r, settings) for r in records]  # or Rejected
    previous = ledger.sources.record_contacts(contacts)        # stored even if inactive/invalid
    outcome = contact_outcome(contact, settings)                # Skipped / Rejected / None
    known = ledger.sources.contacts_for_emails(affected_keys)   # every affected address
    member = member_payload(known[key], settings)               # or Skipped
    customer = customer_payload(contact, settings)              # ObjectPayload / Rejected / Skipped
    # ap_bills
    ledger.sources.record_bills(bills)
    vendors, paid = ledger.sources.vendors(ids), ledger.sources.payments_for_bills(nos)
    result = bill_to_order(bill, vendors.get(vendorid), paid[no], settings)
    # -> BillOrder (order + products) / Rejected / Parked (ledger.sources.park_outcome(...))
    # ap_payments
    payments = [payment_from_record(r) for r in records]; ledger.sources.record_payments(payments)
    for no in payment.bill_recordnos:                           # bill unknown: park the payment
        rebuilt = bill_to_order(bills[no], vendor, paid[no], settings)
        # order exists (ledger.writes.object_states): PATCH rebuilt.patch_body(); else POST

`payload.payload_hash()` with `ledger.writes.unchanged(kind, {object_id: hash})` skips
unchanged objects (an order's hash covers its financial status, so a payment that changes
nothing writes nothing), and `dumps_exact(body)` writes request bodies with exact decimals.

The mapping itself, field by field, is documented once, in docs/mapping.md at the root of the
repository (with the rule for an order's financial_status).
"""

from target_mailchimp.mapping.common import (
    check_email,
    check_object_id,
    clean_text,
    email_key,
    get_path,
    subscriber_hash,
    truncate_utf8,
)
from target_mailchimp.mapping.contacts import (
    Address,
    ContactRecord,
    contact_from_record,
    contact_outcome,
    contributes,
)
from target_mailchimp.mapping.currencies import check_currency
from target_mailchimp.mapping.customers import customer_payload
from target_mailchimp.mapping.jsonexact import dumps_exact, jsonable, loads_exact, payload_hash
from target_mailchimp.mapping.members import (
    BUILTIN_MERGE_FIELDS,
    MemberPayload,
    member_payload,
    required_merge_fields,
)
from target_mailchimp.mapping.orders import (
    BillOrder,
    BillSummary,
    bill_summary,
    bill_to_order,
    bill_version,
    order_financial_status,
    order_id,
    payment_order_patch,
    product_id,
)
from target_mailchimp.mapping.passthrough import (
    customer_from_mailchimp,
    member_from_mailchimp,
    order_from_mailchimp,
    product_from_mailchimp,
)
from target_mailchimp.mapping.payloads import ObjectPayload
from target_mailchimp.mapping.payments import PaymentForBill, PaymentRecord, payment_from_record
from target_mailchimp.mapping.results import Outcome, Parked, Rejected, Skipped
from target_mailchimp.mapping.settings import DEFAULT_FINANCIAL_STATUS_MAP, MappingSettings
from target_mailchimp.mapping.settlement import (
    DocumentFacts,
    Settlement,
    settlement_status,
)

__all__ = [
    "BUILTIN_MERGE_FIELDS",
    "DEFAULT_FINANCIAL_STATUS_MAP",
    "Address",
    "BillOrder",
    "BillSummary",
    "ContactRecord",
    "DocumentFacts",
    "MappingSettings",
    "MemberPayload",
    "ObjectPayload",
    "Outcome",
    "Parked",
    "PaymentForBill",
    "PaymentRecord",
    "Rejected",
    "Settlement",
    "Skipped",
    "bill_summary",
    "bill_to_order",
    "bill_version",
    "check_currency",
    "check_email",
    "check_object_id",
    "clean_text",
    "contact_from_record",
    "contact_outcome",
    "contributes",
    "customer_from_mailchimp",
    "customer_payload",
    "dumps_exact",
    "email_key",
    "get_path",
    "jsonable",
    "loads_exact",
    "member_from_mailchimp",
    "member_payload",
    "order_financial_status",
    "order_from_mailchimp",
    "order_id",
    "payload_hash",
    "payment_from_record",
    "payment_order_patch",
    "product_from_mailchimp",
    "product_id",
    "required_merge_fields",
    "settlement_status",
    "subscriber_hash",
    "truncate_utf8",
]
