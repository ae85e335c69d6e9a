"""ar_invoices and ar_payments through the target: orders of the customers' e-commerce
customers, the same status rule as bills (settled by any means -> paid), parking of invoices
without their customer and payments without their invoice."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from target_mailchimp.mapping import MappingSettings, order_financial_status
from target_mailchimp.mapping.invoices import (
    ar_payment_from_record,
    invoice_summary,
    invoice_to_order,
)
from target_mailchimp.mapping.payments import PaymentRecord
from target_mailchimp.mapping.results import Rejected, Skipped
from tests.sandbox.mailchimp import MailchimpSandbox
from tests.target_mailchimp import test_target_kit as kit

pytestmark = pytest.mark.usefixtures("no_retry_waits")


def invoice(recordno: int, customerid: str, *args: Any, **kw: Any) -> dict[str, Any]:
    """An ar_invoices record (shaped as a bill, with the customer's id)."""
    record = kit.bill(recordno, customerid, *args, **kw)
    record["CUSTOMERID"] = record.pop("VENDORID")
    record["RECORDID"] = f"AR-{recordno}"
    return record


def receipt(
    recordno: int, applied: list[tuple[int, str]], *, state: str = "Complete", **amounts: str
) -> dict[str, Any]:
    """An ar_payments record; `amounts` adds settling amounts (e.g. TRX_DISCOUNTAMOUNT) to
    each detail."""
    record = kit.payment(recordno, applied, state=state)
    for detail in record["details"]:
        for key, value in amounts.items():
            detail[key] = float(value)
            detail[key.removeprefix("TRX_")] = float(value)
    return record


def orders(sb: MailchimpSandbox) -> dict[str, Any]:
    found: dict[str, Any] = sb.snapshot()["stores"].get("intacct", {}).get("orders", {})
    return found


def customer_with(*invoices: dict[str, Any]) -> kit.Singer:
    """Customer C1 (c1@x.com) and then its invoices."""
    return (
        kit.Singer()
        .record("customers", kit.customer(1, "C1", "c1@x.com"))
        .record("ar_invoices", *invoices)
    )


def test_invoices_become_orders_of_their_customers(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    s = customer_with(
        invoice(
            501,
            "C1",
            [("4000", "300.00", "Product Revenue"), ("4100", "20.50", "Service Revenue")],
        ),
        invoice(502, "C1", [("4000", "10.00", "Product Revenue")], state="Paid"),
        invoice(503, "C1", [("4000", "10.00", "Product Revenue")], state="Reversed"),
    )
    result = kit.run_target(cfg, s)
    got = orders(sandbox)
    o = got["invoice-501"]
    assert o["customer"]["id"] == "customer-C1"
    assert Decimal(str(o["order_total"])) == Decimal("320.50")
    assert o["financial_status"] == "pending"
    assert o["processed_at_foreign"].startswith("2024-03-02T00:00:00")
    assert {line["product_id"] for line in o["lines"]} == {"gl-4000", "gl-4100"}
    assert [Decimal(str(line["price"])) for line in o["lines"]] == [
        Decimal("300.00"),
        Decimal("20.50"),
    ]
    assert got["invoice-502"]["financial_status"] == "paid"
    assert got["invoice-503"]["financial_status"] == "cancelled"
    assert result.counts["order"] == {"created": 3}


def test_ar_payments_settle_by_any_means_and_voids_bring_orders_back(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    s = customer_with(
        invoice(601, "C1", [("4000", "100.00", "Product Revenue")]),
        invoice(602, "C1", [("4000", "100.00", "Product Revenue")]),
        invoice(603, "C1", [("4000", "100.00", "Product Revenue")]),
    )
    # 90 cash + 10 discount settles 601; 60 cash + 40 inline credit settles 602;
    # 50 cash leaves 603 pending.
    s.record("ar_payments", receipt(701, [(601, "90.00")], TRX_DISCOUNTAMOUNT="10.00"))
    s.record("ar_payments", receipt(702, [(602, "60.00")], TRX_INLINEAMOUNT="40.00"))
    s.record("ar_payments", receipt(703, [(603, "50.00")]))
    kit.run_target(cfg, s)
    got = orders(sandbox)
    assert {k: v["financial_status"] for k, v in got.items()} == {
        "invoice-601": "paid",
        "invoice-602": "paid",
        "invoice-603": "pending",
    }
    sandbox.reset_counters()
    second = kit.run_target(
        cfg,
        kit.Singer().record(
            "ar_payments", receipt(702, [(602, "60.00")], state="Voided", TRX_INLINEAMOUNT="40.00")
        ),
    )
    assert orders(sandbox)["invoice-602"]["financial_status"] == "pending"
    assert sandbox.count("PATCH", "/ecommerce/stores/intacct/orders/invoice-602") == 1
    assert sandbox.count(writes_only=True) == 1
    assert second.counts["order"] == {"updated": 1}


def test_an_older_invoice_version_later_in_the_batch_is_not_written(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    # The newer version (200.00) comes first, an older one (100.00, a lookback re-read) after
    # it: the order is written from the newest version, as for bills.
    newer = invoice(612, "C1", [("4000", "200.00", "Product Revenue")])
    newer["WHENMODIFIED"] = "2024-03-05T10:00:00+00:00"
    older = invoice(612, "C1", [("4000", "100.00", "Product Revenue")])
    s = customer_with(newer, older)
    kit.run_target(cfg, s)
    assert Decimal(str(orders(sandbox)["invoice-612"]["order_total"])) == Decimal("200.00")


def test_an_older_ar_payment_later_in_the_batch_changes_nothing(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    # The voided (newer) version comes first, the complete one it replaced after it: the
    # batch keeps the newest version, as for AP payments, so the invoice stays pending.
    s = customer_with(invoice(611, "C1", [("4000", "100.00", "Product Revenue")]))
    voided = receipt(711, [(611, "100.00")], state="Voided")
    voided["WHENMODIFIED"] = "2024-03-04T10:00:00+00:00"
    s.record("ar_payments", voided, receipt(711, [(611, "100.00")]))
    kit.run_target(cfg, s)
    assert orders(sandbox)["invoice-611"]["financial_status"] == "pending"


def test_invoice_waits_for_its_customer_and_payment_for_its_invoice(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    s = kit.Singer().record("ar_payments", receipt(801, [(901, "100.00")]))
    s.record("ar_invoices", invoice(901, "C9", [("4000", "100.00", "Product Revenue")]))
    first = kit.run_target(cfg, s)
    assert orders(sandbox) == {}
    with kit.ledger_of(cfg) as ledger:
        parked = {(p.stream, p.source_key, p.waiting_kind) for p in ledger.sources.parked()}
    assert parked == {("ar_invoices", "901", "customer")}
    assert "parked" in first.counts["order"]
    kit.run_target(cfg, kit.Singer().record("customers", kit.customer(9, "C9", "c9@x.com")))
    o = orders(sandbox)["invoice-901"]
    assert o["customer"]["id"] == "customer-C9"
    assert o["financial_status"] == "paid"  # the payment recorded earlier counts
    with kit.ledger_of(cfg) as ledger:
        assert ledger.sources.parked() == []


def test_bill_and_invoice_of_the_same_number_stay_apart(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    s = kit.Singer().record("customers", kit.customer(1, "C1", "c1@x.com"))
    s.record("vendors", kit.vendor(1, "V1", "v1@x.com"))
    s.record("ap_bills", kit.bill(40, "V1", [("6000", "10.00", "Supplies")]))
    s.record("ar_invoices", invoice(40, "C1", [("4000", "10.00", "Product Revenue")]))
    s.record("ar_payments", receipt(50, [(40, "10.00")]))
    kit.run_target(cfg, s)
    got = orders(sandbox)
    assert got["bill-40"]["financial_status"] == "pending"
    assert got["invoice-40"]["financial_status"] == "paid"


def test_the_status_is_the_bills_rule() -> None:
    settings = MappingSettings()
    record = invoice(5, "C1", [("4000", "100.00", "Revenue")], state="Partially Paid")
    paid = ar_payment_from_record(receipt(6, [(5, "95.00")], TRX_POSTEDADVANCEAMOUNT="5.00"))
    assert isinstance(paid, PaymentRecord)
    summary = invoice_summary(record)
    assert not isinstance(summary, Rejected)
    assert order_financial_status(summary, paid.allocations, settings) == "paid"
    result = invoice_to_order(record, None, paid.allocations, settings)
    assert result.action == "parked"  # type: ignore[union-attr]


def due(record: dict[str, Any], amount: str) -> dict[str, Any]:
    """`record` (an ap_bills or ar_invoices record) with TOTALDUE and TRX_TOTALDUE `amount`."""
    return {**record, "TOTALDUE": float(amount), "TRX_TOTALDUE": float(amount)}


def invoice_status(record: dict[str, Any], payments: Any = ()) -> str:
    """The status of an ar_invoices record, read as an invoice (`invoice_summary`)."""
    summary = invoice_summary(record)
    assert not isinstance(summary, Rejected), summary
    return order_financial_status(summary, payments, MappingSettings())


def bill_status(record: dict[str, Any], payments: Any = ()) -> str:
    """The status of an ap_bills record with the same facts."""
    return order_financial_status(record, payments, MappingSettings())


@pytest.mark.parametrize("state", ["Posted", "Partially Paid"])
def test_an_invoice_intacct_says_is_settled_is_paid(state: str) -> None:
    # TOTALDUE 0 with a positive total: settled (e.g. by a credit memo or adjustment applied
    # outside any AR payment the target saw), whatever STATE says, as for a bill.
    lines = [("4000", "100.00", "Revenue")]
    settled = due(invoice(5, "C1", lines, state=state), "0")
    assert invoice_status(settled) == bill_status(due(kit.bill(5, "V1", lines, state=state), "0"))
    assert invoice_status(settled) == "paid"
    # Something still due: pending, for both.
    owing = due(invoice(5, "C1", lines, state=state), "40.00")
    assert invoice_status(owing) == bill_status(due(kit.bill(5, "V1", lines, state=state), "40"))
    assert invoice_status(owing) == "pending"


def test_an_invoice_settled_in_intacct_is_written_paid(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    s = customer_with(
        due(invoice(621, "C1", [("4000", "100.00", "Product Revenue")]), "0"),
        due(invoice(622, "C1", [("4000", "100.00", "Product Revenue")]), "100.00"),
    )
    kit.run_target(cfg, s)
    got = orders(sandbox)
    assert got["invoice-621"]["financial_status"] == "paid"
    assert got["invoice-622"]["financial_status"] == "pending"


def test_payments_older_than_the_invoice_do_not_settle_what_it_says_is_due() -> None:
    # The invoice changed after its payment (2024-03-03) and still says 100.00 is due: its
    # newest facts win, pending, as for a bill with the same facts (settlement rule 3).
    lines = [("4000", "100.00", "Revenue")]
    later = "2024-03-04T10:00:00+00:00"
    record = due(invoice(5, "C1", lines, modified=later), "100.00")
    bill = due(kit.bill(5, "V1", lines, modified=later), "100.00")
    older = ar_payment_from_record(receipt(6, [(5, "100.00")]))
    assert isinstance(older, PaymentRecord)
    assert bill_status(bill, older.allocations) == "pending"
    assert invoice_status(record, older.allocations) == "pending"
    # A payment newer than the invoice does settle it, as it settles the bill.
    newer = receipt(7, [(5, "100.00")])
    newer["WHENMODIFIED"] = "2024-03-05T10:00:00+00:00"
    fresh = ar_payment_from_record(newer)
    assert isinstance(fresh, PaymentRecord)
    assert bill_status(bill, fresh.allocations) == "paid"
    assert invoice_status(record, fresh.allocations) == "paid"


def test_bad_ar_payments_name_their_stream() -> None:
    empty = ar_payment_from_record({"RECORDNO": 7, "RECORDID": "R-7", "details": []})
    assert isinstance(empty, Skipped)
    assert empty.reason.startswith("ar_payments RECORDNO 7") and "invoice" in empty.reason
    bad = ar_payment_from_record(
        {"RECORDNO": 8, "details": [{"RECORDKEY": 1, "TRX_DISCOUNTAMOUNT": "abc"}]}
    )
    assert isinstance(bad, Rejected) and "ar_payments RECORDNO 8" in bad.reason
