"""E-commerce orders from AR invoices, of the customers' e-commerce customers.

- `invoice_to_order(invoice, customer, payments_for_invoice, settings)
  -> BillOrder | Rejected | Parked`: the order `invoice-<RECORDNO>` of the e-commerce customer
  `customer-<CUSTOMERID>` (written from the customers stream; `customer` is its
  `ContactRecord` from the ledger, None when no customers record with that CUSTOMERID was
  seen: the invoice is parked until it arrives). Lines, products, currency, totals and dates
  follow the rules of bills (`orders` module docstring): one line per GL line (`gl-<ACCOUNTNO>`
  products), `order_total` the invoice total, `processed_at_foreign` the invoice date
  (WHENCREATED). `financial_status` comes from THE status rule, `order_financial_status`, the
  one bills use, on the same facts (STATE, totals and totals due, WHENMODIFIED).
- `ar_payment_from_record(record) -> PaymentRecord | Rejected | Skipped`: an ar_payments
  record as allocations to invoices. What settles an invoice is everything its ARPYMTDETAIL
  rows apply: cash (TRX_PAYMENTAMOUNT), inline credits (TRX_INLINEAMOUNT), credit memos
  (TRX_ADJUSTMENTAMOUNT), advances (TRX_POSTEDADVANCEAMOUNT) and discounts
  (TRX_DISCOUNTAMOUNT), each with its base-currency twin; so an invoice settled by any means
  is paid, and one with anything still due is pending.
- `invoice_order_id(recordno)`.

`orders.INVOICE` is the invoices' row of `orders.OwedDocument`: invoices are read and built by the
same code as bills. The result type is the bills' `BillOrder` (its `bill` summary describes
the invoice; its `vendorid` holds the CUSTOMERID), so the order writer serves both.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from target_mailchimp.mapping.common import (
    STREAM_AR_PAYMENTS,
    STREAM_PAYMENTS,
    record_label,
    to_decimal,
)
from target_mailchimp.mapping.orders import INVOICE
from target_mailchimp.mapping.payments import PaymentRecord, payment_from_record
from target_mailchimp.mapping.results import Rejected, Skipped

#: ARPYMTDETAIL amounts that settle an invoice: (transaction currency, base currency).
SETTLING_AMOUNTS = (
    ("TRX_PAYMENTAMOUNT", "PAYMENTAMOUNT"),
    ("TRX_INLINEAMOUNT", "INLINEAMOUNT"),
    ("TRX_ADJUSTMENTAMOUNT", "ADJUSTMENTAMOUNT"),
    ("TRX_POSTEDADVANCEAMOUNT", "POSTEDADVANCEAMOUNT"),
    ("TRX_DISCOUNTAMOUNT", "DISCOUNTAMOUNT"),
)


#: The order id of an AR invoice.
invoice_order_id = INVOICE.order_id
#: The status facts of an ar_invoices record (as `bill_summary` reads a bill).
invoice_summary = INVOICE.summary
#: The order and products of an ar_invoices record (see module docstring).
invoice_to_order = INVOICE.to_order


def _settled(detail: Mapping[str, Any], pair_index: int) -> Decimal | None:
    """The sum of the settling amounts of one side (0: transaction, 1: base); None if none set.

    Cash counts with its sign; credits, inline amounts, advances and discounts count by their
    size, as for AP payments (the reference does not say which sign Intacct gives them)."""
    total: Decimal | None = None
    for pair in SETTLING_AMOUNTS:
        value = to_decimal(detail.get(pair[pair_index]))
        if value is None:
            continue
        if pair is not SETTLING_AMOUNTS[0]:
            value = abs(value)
        total = value if total is None else total + value
    return total


#: The settling amounts other than cash: folded into the cash amount for the AP reader, which
#: would otherwise count them a second time.
_FOLDED = frozenset(name for pair in SETTLING_AMOUNTS[1:] for name in pair)


def ar_payment_from_record(record: Mapping[str, Any]) -> PaymentRecord | Rejected | Skipped:
    """Read an ar_payments record (see module docstring). Its allocations name invoices."""
    details = record.get("details")
    label = record_label(STREAM_AR_PAYMENTS, record)
    if isinstance(details, list):
        folded: list[Any] = []
        for index, detail in enumerate(details, start=1):
            if not isinstance(detail, Mapping):
                folded.append(detail)
                continue
            try:
                trx = _settled(detail, 0)
                base = _settled(detail, 1)
            except ValueError as exc:
                return Rejected("amount_invalid", f"{label} detail {index}: {exc}")
            kept = {k: v for k, v in detail.items() if k not in _FOLDED}
            folded.append({**kept, "TRX_PAYMENTAMOUNT": trx, "PAYMENTAMOUNT": base})
        record = {**record, "details": folded}
    result = payment_from_record(record)
    if isinstance(result, Rejected | Skipped):
        # The AP reader names its own stream; say which record this is.
        reason = (
            result.reason.replace(record_label(STREAM_PAYMENTS, record), label, 1)
            .replace("applies to no bill", "applies to no invoice")
            .replace("the bill paid", "the invoice paid")
        )
        return type(result)(result.code, reason)
    return result
