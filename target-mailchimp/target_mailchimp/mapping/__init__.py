# ruff: noqa: E501  (markdown table rows in the docstring)
"""The mapping from Intacct records to Mailchimp payloads: pure functions, no I/O.

Nothing here talks to Mailchimp or to the ledger; every fact a function needs comes in as an
argument (for example the vendor of a bill, or the payments known for it), so the same
inputs always give the same payload. Bad data never raises: functions return a payload or a
`Rejected` / `Skipped` / `Parked` outcome (`results`) whose reason names the record and the fix.

How a sink uses it (the ledger supplies what other records say):

    settings = MappingSettings.from_config(config)
    # customers / vendors
    contact = contact_from_record(stream, record, settings)     # ContactRecord or Rejected
    previous_key = ledger.record_contact(contact)               # store it even if inactive/invalid
    outcome = contact_outcome(contact, settings)                # Skipped / Rejected / None
    for key in {contact.email_key, previous_key} - {None}:      # rebuild every affected member
        member = member_payload(ledger.contacts_for_email(key), settings)  # or Skipped
    customer = customer_payload(contact, settings)              # ObjectPayload / Rejected / Skipped
    # ap_bills
    ledger.record_bill(bill)
    result = bill_to_order(bill, ledger.vendor(vendorid), ledger.payments_for_bill(no), settings)
    # -> BillOrder (order + products) / Rejected / Parked (ledger.park_outcome(...))
    # ap_payments
    payment = payment_from_record(record); ledger.record_payment(payment)
    for no in payment.bill_recordnos:                           # bill unknown: park the payment
        rebuilt = bill_to_order(ledger.bill(no), vendor, ledger.payments_for_bill(no), settings)
        # order exists (ledger.object_state): PATCH rebuilt.patch_body(); else POST the order

`payload.payload_hash()` with `ledger.should_write(kind, object_id, hash)` skips unchanged
objects (an order's hash covers its financial status, so a payment that changes nothing writes
nothing), and `dumps_exact(body)` writes request bodies with exact decimals.

## Mapping

| Mailchimp | field | from Intacct |
|---|---|---|
| audience member (`list_id`) | identity | lower-cased email; subscriber hash = MD5 of it; one member per address, merged from every customer and vendor record with that address |
| | email_address | DISPLAYCONTACT.EMAIL1 when valid, else DISPLAYCONTACT.EMAIL2 (trimmed, case kept, IDN domain in punycode); no valid email: record rejected |
| | status_if_new | setting `status_if_new` (required, no default); addresses only vendors have: `vendor_status_if_new`; `status` is never sent |
| | merge_fields.FNAME / LNAME | DISPLAYCONTACT.FIRSTNAME / LASTNAME |
| | merge_fields.COMPANY | DISPLAYCONTACT.COMPANYNAME, else NAME |
| | merge_fields.PHONE | DISPLAYCONTACT.PHONE1 |
| | merge_fields.ADDRESS | DISPLAYCONTACT.MAILADDRESS: ADDRESS1 -> addr1, ADDRESS2 -> addr2, CITY -> city, STATE -> state, ZIP -> zip, COUNTRYCODE (else COUNTRY) -> country; only when addr1, city, state and zip are all present |
| | merge_fields.&lt;TAG&gt; | setting `merge_fields` {"TAG": "DOTTED.INTACCT.PATH"}, as text |
| | merge order | customers before vendors, lowest RECORDNO first; each field takes the first non-empty value; empty values are not sent |
| | tags | "Intacct customer" (`customer_tag`) for customers, "Intacct vendor" (`vendor_tag`) for vendors; the union over the address's records |
| | inactive (STATUS inactive) | `inactive_records`: "ignore" (default; contributes nothing, record skipped), "tag" (written; tag "Intacct inactive" added while every record of the address is inactive, removed otherwise), "archive" (member archived when every record of the address is inactive, else written normally) |
| e-commerce customer (`store_id`, default "intacct") | id | `customer-<CUSTOMERID>` / `vendor-<VENDORID>` (ids with '/' are rejected) |
| | email_address, opt_in_status | the contact's email; `false` |
| | company, first_name, last_name | COMPANYNAME (else NAME), FIRSTNAME, LASTNAME |
| | address | ADDRESS1, ADDRESS2, CITY, STATE -> province, ZIP -> postal_code, COUNTRY, COUNTRYCODE -> country_code |
| e-commerce order | id, customer | `bill-<RECORDNO>`; `{"id": "vendor-<VENDORID>"}` (vendor unknown: parked; vendor without email: rejected) |
| | currency_code | CURRENCY (ISO 4217, else rejected); BASECURR when only base amounts are present |
| | order_total | TRX_TOTALENTERED, else TOTALENTERED (exact decimal; zero and negative totals sent as they are) |
| | financial_status | the rule of `settlement.settlement_status`: cancelled when STATE maps to cancelled (Reversed, Reversal, Declined); paid when Intacct says the bill is settled (TOTALDUE 0 with a positive total, or STATE Paid) unless a newer voided payment took it back, or when payments that moved money (cash, credits, inline, advances) cover the total and are newer than the bill; else pending |
| | processed_at_foreign | WHENCREATED (bill date) at 00:00:00+00:00 |
| | updated_at_foreign | latest WHENMODIFIED of the bill and its payments |
| | lines[] | one per GL allocation line: id = line RECORDNO, product_id = product_variant_id = `gl-<ACCOUNTNO>`, quantity 1, price TRX_AMOUNT (else AMOUNT); a bill without lines is rejected |
| e-commerce product | id, title, variants | `gl-<ACCOUNTNO>`, ACCOUNTTITLE (else "GL <ACCOUNTNO>"), one variant with the same id and title |
| order PATCH from ap_payments | financial_status, updated_at_foreign | for each bill in details.RECORDKEY: the same status rule over every payment known for that bill (payment, adjustment, inline and advance amounts; draft, submitted, approved-but-unpaid and declined payments settle nothing; Voided/Reversed take back) |
| Mailchimp-shaped streams | list_members, ecommerce_customers, ecommerce_products, ecommerce_orders | passed through after validation (required keys, email, currency, ids); a member's `status` becomes `status_if_new` |

Text values are trimmed and truncated to 255 UTF-8 bytes without splitting a character.
Money stays `Decimal` end to end; `dumps_exact` writes it as exact JSON numbers.
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
