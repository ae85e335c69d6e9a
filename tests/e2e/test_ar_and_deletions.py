"""End to end against both sandboxes (tap and target in this process): AR invoices become
orders of their customers; after Intacct deletes a customer, a vendor whose address a live
customer shares, a bill and an invoice, the next run archives exactly the right member, keeps
the shared one subscribed, deletes exactly those two orders and changes nothing else; a third
run writes nothing; once the deleted customer is entered again, its member comes back as it
was."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from target_mailchimp.api import subscriber_hash
from tests.e2e.expected import expected_state
from tests.e2e.test_meltano_run import _all, _assert_mailchimp_matches
from tests.reliability.test_faults_kit import PACIFIC, tap_singer_text
from tests.sandbox.intacct import IntacctSandbox, generate_company
from tests.sandbox.mailchimp import MailchimpSandbox
from tests.target_mailchimp.test_target_kit import run_target

SIZES = {"customers": 30, "vendors": 24, "bills": 48, "payments": 16}
AR = {"invoices": 30, "ar_payments": 20}
#: In seed 9 the vendor sharing an address with two live customers has no bills, so Intacct
#: would let it be deleted.
SEED = 9


class Pipeline:
    """tap-intacct | target-mailchimp, run after run, with the tap's state carried over."""

    def __init__(self, intacct: IntacctSandbox, mc: MailchimpSandbox, tmp_path: Path) -> None:
        self.tap_config = intacct.tap_config(timezone=PACIFIC, page_size=50)
        self.target_config = mc.target_config(
            status_if_new="subscribed",
            ledger_url=f"sqlite:///{tmp_path / 'ledger.sqlite'}",
            request_timeout=5,
            batch_poll_interval=0.01,
            batch_timeout=30,
        )
        self.state: dict[str, Any] | None = None

    def run(self) -> Any:
        text = tap_singer_text(self.tap_config, [], state=self.state)
        messages = [json.loads(line) for line in text.splitlines() if line.strip()]
        states = [m["value"] for m in messages if m.get("type") == "STATE"]
        result = run_target(self.target_config, text)
        self.state = states[-1]
        return result


def snapshot(mc: MailchimpSandbox) -> dict[str, dict[str, Any]]:
    store = "/ecommerce/stores/intacct"
    return {
        "members": {m["id"]: m for m in _all(mc, f"/lists/{mc.list_id}/members", "members")},
        "customers": {c["id"]: c for c in _all(mc, f"{store}/customers", "customers")},
        "products": {p["id"]: p for p in _all(mc, f"{store}/products", "products")},
        "orders": {o["id"]: o for o in _all(mc, f"{store}/orders", "orders")},
    }


#: What Mailchimp derives itself (an e-commerce customer's totals move when an order of it is
#: deleted; that is Mailchimp's bookkeeping, not a write of ours).
DERIVED = frozenset({"total_spent", "orders_count", "stats", "last_changed", "updated_at"})


def comparable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: comparable(v) for k, v in obj.items() if k not in DERIVED}
    if isinstance(obj, list):
        return [comparable(v) for v in obj]
    return obj


def tags(member: dict[str, Any]) -> set[str]:
    return {t["name"] for t in member["tags"]}


def test_ar_orders_then_deletions_leave_mailchimp_exactly(tmp_path: Path) -> None:
    company = generate_company(seed=SEED, **SIZES, **AR)
    with IntacctSandbox(company) as intacct, MailchimpSandbox() as mc:
        pipe = Pipeline(intacct, mc, tmp_path)

        # 1. First run: AR invoices are orders of their customers (lines, totals, statuses as
        # the independent oracle computes them, settled-by-any-means included).
        first = pipe.run()
        exp = expected_state(company)
        invoices = {k for k in exp.orders if k.startswith("invoice-")}
        assert len(invoices) >= 15
        assert {exp.orders[k]["financial_status"] for k in invoices} >= {"paid", "pending"}
        _assert_mailchimp_matches(mc, exp)
        assert first.counts["order"]["created"] == len(exp.orders)
        intacct.assert_all_valid()

        # 2. Intacct deletes a customer alone on its address, the vendor sharing an address
        # with two live customers, a bill and an invoice.
        sp = company.special
        shared_vendor = sp["shared_email"]["VENDOR"][0]
        vendor = company.get("VENDOR", shared_vendor, typed=True)
        assert vendor is not None and not company.find("APBILL", VENDORID=vendor["VENDORID"])
        emails = {
            e: n
            for e, n in (
                (r["DISPLAYCONTACT.EMAIL1"], r["RECORDNO"])
                for r in company.records("CUSTOMER", typed=True)
            )
            if e
        }
        invoiced = {r["CUSTOMERID"] for r in company.records("ARINVOICE", typed=True)}
        lonely = next(
            r
            for r in company.records("CUSTOMER", typed=True)
            if f"customer-{r['CUSTOMERID']}" in exp.customers
            and r["CUSTOMERID"] not in invoiced
            and list(emails).count(r["DISPLAYCONTACT.EMAIL1"]) == 1
            and r["DISPLAYCONTACT.EMAIL1"]
            not in {v["DISPLAYCONTACT.EMAIL1"] for v in company.records("VENDOR", typed=True)}
        )
        bill_order = next(k for k in exp.orders if k.startswith("bill-"))
        invoice_order = next(iter(sorted(invoices)))
        before = snapshot(mc)
        company.delete("CUSTOMER", lonely["RECORDNO"])
        company.delete("VENDOR", shared_vendor)
        company.delete("APBILL", int(bill_order.removeprefix("bill-")))
        company.delete("ARINVOICE", int(invoice_order.removeprefix("invoice-")))
        mc.reset_counters()

        second = pipe.run()
        after = snapshot(mc)
        lonely_id = subscriber_hash(lonely["DISPLAYCONTACT.EMAIL1"])
        shared_id = subscriber_hash(sp["shared_email"]["email"])
        assert after["members"][lonely_id]["status"] == "archived"
        shared = after["members"][shared_id]
        assert shared["status"] == "subscribed"
        assert tags(shared) == {"Intacct customer"}
        assert "Intacct vendor" in tags(before["members"][shared_id])
        assert set(before["orders"]) - set(after["orders"]) == {bill_order, invoice_order}
        # Nothing else changed: every other member, customer, product and order is as it was.
        for kind in ("members", "customers", "products", "orders"):
            for oid, obj in after[kind].items():
                if kind == "members" and oid in (lonely_id, shared_id):
                    continue
                assert comparable(obj) == comparable(before[kind][oid]), (kind, oid)
            assert set(after[kind]) <= set(before[kind]), kind
        writes = sorted((r.method, r.path) for r in mc.requests if r.method != "GET")
        assert writes == sorted(
            [
                ("DELETE", f"/3.0/lists/{mc.list_id}/members/{lonely_id}"),
                ("POST", f"/3.0/lists/{mc.list_id}/members/{shared_id}/tags"),
                ("DELETE", f"/3.0/ecommerce/stores/intacct/orders/{bill_order}"),
                ("DELETE", f"/3.0/ecommerce/stores/intacct/orders/{invoice_order}"),
            ]
        )
        assert second.counts["member"] == {"deleted": 2}
        assert second.counts["order"] == {"deleted": 2}

        # 3. Nothing changed in Intacct: nothing is written, nothing deleted twice.
        mc.reset_counters()
        third = pipe.run()
        assert mc.count(writes_only=True) == 0
        assert "deleted" not in {a for c in third.counts.values() for a in c}

        # 4. Someone enters the deleted customer again (a new RECORDNO, the same CUSTOMERID
        # and address): its archived member comes back as it was, with one PATCH.
        kept = {"RECORDNO", "WHENMODIFIED", "WHENCREATED"}
        again = company.add("CUSTOMER", {k: v for k, v in lonely.items() if k not in kept})
        assert again != lonely["RECORDNO"]
        mc.reset_counters()
        fourth = pipe.run()
        member = snapshot(mc)["members"][lonely_id]
        assert member["status"] == "subscribed"
        assert tags(member) == {"Intacct customer"}
        # (The tap's lookback sends the two deletions again: skipped, already applied.)
        assert fourth.counts["member"] == {"updated": 1, "skipped": 2}
        assert fourth.counts["member"] == {**third.counts["member"], "updated": 1}
        member_path = f"/3.0/lists/{mc.list_id}/members/{lonely_id}"
        assert ("PATCH", member_path) in {(r.method, r.path) for r in mc.requests}
        intacct.assert_all_valid()
