"""What Mailchimp should hold after syncing a sandbox company: an oracle for end-to-end tests.

Computed straight from the Intacct sandbox's typed records with the documented rules (README,
"Mapping"), written independently of target_mailchimp.mapping so that the pipeline is checked
against the rules rather than against itself. Defaults of the target's settings are assumed:
status_if_new subscribed, inactive_records ignore, the default financial_status_map.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tests.sandbox.intacct.data import Company

TAP_STREAMS = frozenset(
    {"customers", "vendors", "ap_bills", "ap_payments", "ar_invoices", "ar_payments"}
)
"""The streams the tap reads by default: after a full run the state has a bookmark for each."""

_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_CANCELLED = {"reversed", "reversal", "declined"}
_NO_MONEY = {"draft", "submitted", "unapproved", "partially approved", "approved", "declined"}
_REVERSED = {"voided", "reversed", "reversal"}
_SETTLING = (
    ("PAYMENTAMOUNT", "TRX_PAYMENTAMOUNT"),
    ("ADJUSTMENTAMOUNT", "TRX_ADJUSTMENTAMOUNT"),
    ("INLINEAMOUNT", "TRX_INLINEAMOUNT"),
    ("POSTEDADVANCEAMOUNT", "TRX_POSTEDADVANCEAMOUNT"),
)


def contact_email(record: dict[str, Any]) -> str | None:
    """EMAIL1 when valid, else EMAIL2 when valid; trimmed."""
    for key in ("DISPLAYCONTACT.EMAIL1", "DISPLAYCONTACT.EMAIL2"):
        value = record.get(key)
        if isinstance(value, str) and _EMAIL.match(value.strip()):
            return value.strip()
    return None


def mapped_status(state: str | None) -> str:
    if (state or "").lower() == "paid":
        return "paid"
    if (state or "").lower() in _CANCELLED:
        return "cancelled"
    return "pending"


def settled_status(
    mapped: str,
    total: Decimal,
    due: Decimal | None,
    when: Any,
    payments: list[tuple[Decimal, bool, Any]],
) -> str:
    """README "Bill state to financial_status": the newest facts decide."""
    if mapped == "cancelled":
        return mapped

    def newer(stamp: Any) -> bool:
        return stamp is None or when is None or stamp > when

    covered = total > 0 and sum(a for a, rev, _ in payments if not rev) >= total
    if mapped == "paid" or (due is not None and due == 0 and total > 0):
        taken_back = any(rev and newer(w) for _, rev, w in payments)
        return "pending" if taken_back and not covered else "paid"
    if covered and (due is None or any(a > 0 and not rev and newer(w) for a, rev, w in payments)):
        return "paid"
    return "pending"


@dataclass
class Expected:
    """The Mailchimp objects a sync of `company` must leave, keyed as Mailchimp keys them."""

    members: dict[str, set[str]] = field(default_factory=dict)  # lower email -> tags
    customers: dict[str, str] = field(default_factory=dict)  # customer id -> lower email
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # order id -> facts
    products: set[str] = field(default_factory=set)


def expected_state(company: Company) -> Expected:
    exp = Expected()
    active_vendors: dict[str, str] = {}
    for obj, prefix, id_field, tag in (
        ("CUSTOMER", "customer", "CUSTOMERID", "Intacct customer"),
        ("VENDOR", "vendor", "VENDORID", "Intacct vendor"),
    ):
        for rec in company.records(obj, typed=True):
            email = contact_email(rec)
            if email is None or rec.get("STATUS") != "active":
                continue
            key = email.lower()
            exp.members.setdefault(key, set()).add(tag)
            exp.customers[f"{prefix}-{rec[id_field]}"] = key
            if obj == "VENDOR":
                active_vendors[rec["VENDORID"]] = key

    # Per bill: (amount settled, reversed, payment WHENMODIFIED) of every payment detail.
    facts: dict[int, list[tuple[Decimal, bool, Any]]] = defaultdict(list)
    for pay in company.records("APPYMT", typed=True):
        moved, reversed_ = _payment_effect(pay)
        for detail in company.payment_details(pay["RECORDNO"]):
            amount = Decimal(0)
            for base, trx in _SETTLING:
                value = detail.get(trx)
                if value in (None, ""):
                    value = detail.get(base)
                if value not in (None, ""):
                    amount += abs(Decimal(value)) if base != "PAYMENTAMOUNT" else Decimal(value)
            facts[int(detail["RECORDKEY"])].append(
                (amount if moved else Decimal(0), reversed_, pay.get("WHENMODIFIED"))
            )

    for bill in company.records("APBILL", typed=True):
        lines = company.lines(bill["RECORDNO"])
        if not lines or bill["VENDORID"] not in active_vendors:
            continue
        accounts = {str(line["ACCOUNTNO"]) for line in lines}
        exp.orders[f"bill-{bill['RECORDNO']}"] = _expected_order(
            bill, f"vendor-{bill['VENDORID']}", lines, facts
        )
        exp.products.update(f"gl-{a}" for a in accounts)
    _expected_invoices(company, exp)
    return exp


def _payment_effect(pay: dict[str, Any]) -> tuple[bool, bool]:
    """(whether the payment moved money, whether it is reversed) by its STATE (AP and AR)."""
    state = (pay.get("STATE") or "").lower()
    reversed_ = state in _REVERSED
    moved = not reversed_ and (
        state not in _NO_MONEY or (state == "approved" and pay.get("WHENPAID") is not None)
    )
    return moved, reversed_


def _expected_order(
    record: dict[str, Any],
    customer: str,
    lines: list[dict[str, Any]],
    facts: dict[int, list[tuple[Decimal, bool, Any]]],
) -> dict[str, Any]:
    """A bill's or invoice's order: its total in the transaction currency (else the base one)
    and the status its payments settle it to."""
    total = record.get("TRX_TOTALENTERED")
    due = record.get("TRX_TOTALDUE")
    if total is None:
        total, due = record["TOTALENTERED"], record.get("TOTALDUE")
    status = settled_status(
        mapped_status(record.get("STATE")),
        total,
        due,
        record.get("WHENMODIFIED"),
        facts[record["RECORDNO"]],
    )
    return {
        "customer": customer,
        "financial_status": status,
        "order_total": Decimal(total),
        "lines": len(lines),
        "currency_code": record.get("CURRENCY"),
    }


#: ARPYMTDETAIL amounts that settle an invoice (cash, inline credit, credit memo, advance,
#: discount): an invoice is paid once these cover its total, whatever the means.
_AR_SETTLING = (
    "TRX_PAYMENTAMOUNT",
    "TRX_INLINEAMOUNT",
    "TRX_ADJUSTMENTAMOUNT",
    "TRX_POSTEDADVANCEAMOUNT",
    "TRX_DISCOUNTAMOUNT",
)


def _expected_invoices(company: Company, exp: Expected) -> None:
    """AR invoices: orders `invoice-<n>` of `customer-<CUSTOMERID>`, the bills' status rule
    (cash with its sign; credits, inline amounts, advances and discounts by their size)."""
    facts: dict[int, list[tuple[Decimal, bool, Any]]] = defaultdict(list)
    for pay in company.records("ARPYMT", typed=True):
        moved, reversed_ = _payment_effect(pay)
        for detail in company.ar_payment_details(pay["RECORDNO"], typed=True):
            amount = Decimal(0)
            for name in _AR_SETTLING:
                value = detail.get(name)
                if value is not None:
                    value = Decimal(value)
                    amount += value if name == "TRX_PAYMENTAMOUNT" else abs(value)
            facts[int(detail["RECORDKEY"])].append(
                (amount if moved else Decimal(0), reversed_, pay.get("WHENMODIFIED"))
            )
    for inv in company.records("ARINVOICE", typed=True):
        lines = company.invoice_lines(inv["RECORDNO"])
        customer = f"customer-{inv['CUSTOMERID']}"
        if not lines or customer not in exp.customers:
            continue
        exp.orders[f"invoice-{inv['RECORDNO']}"] = _expected_order(inv, customer, lines, facts)
        exp.products.update(f"gl-{line['ACCOUNTNO']}" for line in lines)
