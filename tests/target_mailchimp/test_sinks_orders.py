"""ap_bills and ap_payments through the target: products, orders, financial status,
parking of bills without their vendor and payments without their bill."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.mailchimp import MailchimpSandbox
from tests.target_mailchimp import test_target_kit as kit

pytestmark = pytest.mark.usefixtures("no_retry_waits")


def store(sb: MailchimpSandbox) -> dict[str, Any]:
    empty: dict[str, Any] = {"orders": {}, "products": {}, "customers": {}}
    data: dict[str, Any] = sb.snapshot()["stores"].get("intacct", empty)
    return data


def order(sb: MailchimpSandbox, recordno: int) -> dict[str, Any] | None:
    found: dict[str, Any] | None = store(sb)["orders"].get(f"bill-{recordno}")
    return found


def test_orders_with_lines_products_and_status_by_state(
    sandbox: MailchimpSandbox, tmp_path: Path
) -> None:
    cfg = kit.target_config(sandbox, tmp_path, financial_status_map={"Selected": "refunded"})
    s = kit.Singer().record("vendors", kit.vendor(1, "V1", "v1@x.com", company="Paper Co"))
    s.record(
        "ap_bills",
        kit.bill(
            11,
            "V1",
            [("6000", "100.50", "Office supplies"), ("6100", "20.25", "Postage")],
            state="Posted",
        ),
        kit.bill(12, "V1", [("6000", "5.00", "Office supplies")], state="Paid"),
        kit.bill(13, "V1", [("6200", "7.00", "Travel")], state="Declined"),
        kit.bill(14, "V1", [("6200", "8.00", "Travel")], state="Selected"),
        kit.bill(15, "V1", [("6200", "9.00", "Travel")], state="Draft", currency="EUR"),
    )
    result = kit.run_target(cfg, s)
    o11 = order(sandbox, 11)
    assert o11 is not None
    assert o11["customer"]["id"] == "vendor-V1"
    assert Decimal(str(o11["order_total"])) == Decimal("120.75")
    assert o11["currency_code"] == "USD"
    assert o11["financial_status"] == "pending"
    assert o11["processed_at_foreign"].startswith("2024-03-02T00:00:00")
    lines = {line["id"]: line for line in o11["lines"]}
    assert set(lines) == {"1101", "1102"}
    assert lines["1101"]["product_id"] == lines["1101"]["product_variant_id"] == "gl-6000"
    assert Decimal(str(lines["1102"]["price"])) == Decimal("20.25")
    assert lines["1101"]["quantity"] == 1
    statuses = {n: order(sandbox, n)["financial_status"] for n in (12, 13, 14, 15)}  # type: ignore[index]
    assert statuses == {12: "paid", 13: "cancelled", 14: "refunded", 15: "pending"}
    assert order(sandbox, 15)["currency_code"] == "EUR"  # type: ignore[index]
    products = store(sandbox)["products"]
    assert set(products) == {"gl-6000", "gl-6100", "gl-6200"}
    assert products["gl-6100"]["title"] == "Postage"
    assert [v["id"] for v in products["gl-6100"]["variants"]] == ["gl-6100"]
    # Each product was created once, before the first order that uses it.
    product_posts = [r for r in sandbox.requests if r.method == "POST" and "/products" in r.path]
    order_posts = [r for r in sandbox.requests if r.method == "POST" and "/orders" in r.path]
    assert len(product_posts) == 3 and len(order_posts) == 5
    assert max(r.ended for r in product_posts) <= min(r.started for r in order_posts)
    assert result.counts["order"] == {"created": 5}
    assert result.counts["product"] == {"created": 3}


def test_payments_make_orders_paid_and_voids_bring_them_back(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    s = kit.Singer().record("vendors", kit.vendor(1, "V1", "v1@x.com"))
    s.record("ap_bills", kit.bill(21, "V1", [("6000", "100.00", "Supplies")]))
    s.record("ap_bills", kit.bill(22, "V1", [("6000", "50.00", "Supplies")]))
    s.record("ap_payments", kit.payment(31, [(21, "60.00"), (22, "50.00")]))
    kit.run_target(cfg, s)
    assert order(sandbox, 21)["financial_status"] == "pending"  # type: ignore[index]
    assert order(sandbox, 22)["financial_status"] == "paid"  # type: ignore[index]

    # A later payment covers the rest of bill 21: one PATCH, only the status.
    sandbox.reset_counters()
    second = kit.run_target(
        cfg, kit.Singer().record("ap_payments", kit.payment(32, [(21, "40.00")]))
    )
    assert order(sandbox, 21)["financial_status"] == "paid"  # type: ignore[index]
    assert sandbox.count(writes_only=True) == 1
    assert sandbox.count("PATCH", "/ecommerce/stores/intacct/orders/bill-21") == 1
    assert second.counts["order"] == {"updated": 1}

    # Payment 32 is voided: bill 21 is back to pending.
    kit.run_target(
        cfg, kit.Singer().record("ap_payments", kit.payment(32, [(21, "40.00")], state="Voided"))
    )
    assert order(sandbox, 21)["financial_status"] == "pending"  # type: ignore[index]
    assert order(sandbox, 22)["financial_status"] == "paid"  # type: ignore[index]


def test_payment_for_an_order_missing_in_mailchimp_writes_it_whole(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    s = kit.Singer().record("vendors", kit.vendor(1, "V1", "v1@x.com"))
    s.record("ap_bills", kit.bill(25, "V1", [("6000", "40.00", "Supplies")]))
    kit.run_target(cfg, s)
    sandbox.call("DELETE", "/ecommerce/stores/intacct/orders/bill-25")
    assert order(sandbox, 25) is None
    result = kit.run_target(
        cfg, kit.Singer().record("ap_payments", kit.payment(35, [(25, "40.00")]))
    )
    again = order(sandbox, 25)
    assert again is not None and again["financial_status"] == "paid"
    assert len(again["lines"]) == 1
    assert result.counts["order"] == {"created": 1}


def test_bill_before_its_vendor_waits_for_the_end_of_input(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    s = kit.Singer().record("ap_bills", kit.bill(41, "V4", [("6000", "10.00", "Supplies")]))
    s.state({"bookmarks": {"ap_bills": {"replication_key_value": "2024-03-02"}}})
    s.record("vendors", kit.vendor(4, "V4", "v4@x.com"))
    result = kit.run_target(cfg, s)
    placed = order(sandbox, 41)
    assert placed is not None and placed["customer"]["id"] == "vendor-V4"
    assert result.states == [{"bookmarks": {"ap_bills": {"replication_key_value": "2024-03-02"}}}]
    assert result.counts["order"] == {"created": 1}
    with kit.ledger_of(cfg) as ledger:
        assert ledger.sources.parked() == []


def test_bill_whose_vendor_never_comes_is_parked_then_written_by_a_later_run(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    first = kit.run_target(
        cfg, kit.Singer().record("ap_bills", kit.bill(51, "V5", [("6000", "10.00", "Supplies")]))
    )
    assert order(sandbox, 51) is None
    assert first.counts["order"] == {"parked": 1}
    assert first.report.parked == {("ap_bills", "vendor_unknown"): 1}
    with kit.ledger_of(cfg) as ledger:
        rows = ledger.audit.rows(first.run_id, actions=["parked"])
        assert len(rows) == 1 and rows[0].source_key == "51"
        assert "V5" in (rows[0].detail or "")
        assert [p.source_key for p in ledger.sources.parked("ap_bills")] == ["51"]

    # A later run brings only the vendor: the parked bill is written automatically.
    second = kit.run_target(cfg, kit.Singer().record("vendors", kit.vendor(5, "V5", "v5@x.com")))
    placed = order(sandbox, 51)
    assert placed is not None and placed["customer"]["id"] == "vendor-V5"
    assert second.counts["order"] == {"created": 1}
    assert second.report.parked == {}
    with kit.ledger_of(cfg) as ledger:
        assert ledger.sources.parked() == []


def test_payment_for_an_unknown_bill_is_parked_until_the_bill_arrives(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    s = kit.Singer().record("vendors", kit.vendor(6, "V6", "v6@x.com"))
    s.record("ap_payments", kit.payment(61, [(60, "30.00")]))
    first = kit.run_target(cfg, s)
    assert first.report.parked == {("ap_payments", "bill_unknown"): 1}
    assert first.counts["order"] == {"parked": 1}
    # The bill arrives: its order is written paid (the payment counts), and the payment
    # leaves the parking.
    second = kit.run_target(
        cfg, kit.Singer().record("ap_bills", kit.bill(60, "V6", [("6000", "30.00", "Supplies")]))
    )
    assert order(sandbox, 60)["financial_status"] == "paid"  # type: ignore[index]
    assert second.report.parked == {}
    assert second.counts["order"]["created"] == 1


def test_bills_that_cannot_be_orders_are_rejected_with_reasons(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    s = kit.Singer().record("vendors", kit.vendor(7, "V7", None), kit.vendor(8, "V8", "v8@x.com"))
    s.record(
        "ap_bills",
        kit.bill(71, "V7"),  # vendor without email
        kit.bill(72, "V8", currency="XXX"),  # no such currency
        {**kit.bill(73, "V8"), "lines": []},  # no lines
        kit.bill(74, "V8"),
    )
    result = kit.run_target(cfg, s)
    assert set(store(sandbox)["orders"]) == {"bill-74"}
    with kit.ledger_of(cfg) as ledger:
        rejected = {
            r.source_key: r.detail or ""
            for r in ledger.audit.rejected(result.run_id)
            if r.stream == "ap_bills"
        }
    assert set(rejected) == {"71", "72", "73"}
    assert "email" in rejected["71"]
    assert "XXX" in rejected["72"]
    assert "lines" in rejected["73"]


def test_a_full_bills_sink_drains_the_vendors_first(
    sandbox: MailchimpSandbox, tmp_path: Path
) -> None:
    cfg = kit.target_config(sandbox, tmp_path, batch_size_rows=2)
    s = kit.Singer().record("vendors", kit.vendor(1, "V1", "v1@x.com"))
    s.record("ap_bills", kit.bill(81, "V1"), kit.bill(82, "V1"))  # the bills sink is full here
    s.record("vendors", kit.vendor(2, "V2", "v2@x.com"))
    result = kit.run_target(cfg, s)
    writes = [
        (r.method, r.api_path)
        for r in sorted(sandbox.requests, key=lambda r: r.started)
        if r.is_write and not r.api_path.endswith("/merge-fields")
    ]
    lists = ("POST", f"/lists/{sandbox.list_id}")
    orders = ("POST", "/ecommerce/stores/intacct/orders")
    # vendor 1 (member, customer), then the two bills, and only then vendor 2.
    assert writes.index(lists) < writes.index(
        ("PUT", "/ecommerce/stores/intacct/customers/vendor-V1")
    )
    first_order = writes.index(orders)
    assert writes.index(("PUT", "/ecommerce/stores/intacct/customers/vendor-V1")) < first_order
    assert writes[first_order + 1] == orders
    assert lists in writes[first_order + 2 :]
    assert result.counts["order"] == {"created": 2}
    assert "parked" not in result.counts["order"]
