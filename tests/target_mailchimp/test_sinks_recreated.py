"""Records deleted in Intacct and created again, through the target.

Intacct never reuses a RECORDNO, so a record that comes back is a new record: a customer
re-entered under its old CUSTOMERID and address after someone deleted it, a bill that
Purchasing deletes and recreates with a new RECORDNO when its source transaction is edited.
Mailchimp must end up as if the deleted record had never existed and the new one had always
been there, and nobody who unsubscribed may be subscribed again on the way. A member archived
because its record was deleted comes back with the status it had then (Mailchimp keeps an
archived member archived when it is written with status_if_new: see the sandbox's notes).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from target_mailchimp.api import subscriber_hash
from tests.sandbox.mailchimp import MailchimpSandbox
from tests.target_mailchimp import test_target_kit as kit
from tests.target_mailchimp.test_sinks_contacts import tag_names
from tests.target_mailchimp.test_sinks_deletions import audit_rows, gone
from tests.target_mailchimp.test_sinks_invoices import invoice, orders

pytestmark = pytest.mark.usefixtures("no_retry_waits")

LATER = "2024-04-01T10:00:00+00:00"


def customers(sandbox: MailchimpSandbox) -> dict[str, Any]:
    found: dict[str, Any] = sandbox.snapshot()["stores"].get("intacct", {}).get("customers", {})
    return found


def unsubscribe(sandbox: MailchimpSandbox, email: str) -> None:
    """The person clicks "unsubscribe" in a campaign."""
    answer = sandbox.call(
        "PATCH",
        f"/lists/{sandbox.list_id}/members/{subscriber_hash(email)}",
        {"status": "unsubscribed"},
    )
    assert answer.status == 200, answer


def comes_back(cfg: dict[str, Any]) -> kit.RunResult:
    """Customer C1 entered again under a new RECORDNO, with an invoice."""
    back = kit.Singer().record(
        "customers", kit.customer(2, "C1", "c1@x.com", modified="2024-04-01T10:00:00+00:00")
    )
    back.record("ar_invoices", invoice(51, "C1", [("4000", "12.00", "Revenue")]))
    return kit.run_target(cfg, back)


def test_a_customer_deleted_and_entered_again_in_one_run_keeps_its_member(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    first = kit.Singer().record("customers", kit.customer(1, "C1", "c1@x.com"))
    first.record("ar_invoices", invoice(50, "C1", [("4000", "30.00", "Revenue")]))
    kit.run_target(cfg, first)

    # The tap sends the live records of a stream first, then its deletions.
    again = kit.Singer().record(
        "customers", kit.customer(2, "C1", "c1@x.com", modified="2024-04-01T10:00:00+00:00")
    )
    again.record("customers", gone(1))
    again.record("ar_invoices", invoice(51, "C1", [("4000", "12.00", "Revenue")]))
    second = kit.run_target(cfg, again)

    member = sandbox.member("c1@x.com")
    assert member is not None and member["status"] == "subscribed"
    assert tag_names(member) == {"Intacct customer"}
    assert set(customers(sandbox)) == {"customer-C1"}
    got = orders(sandbox)
    assert set(got) == {"invoice-50", "invoice-51"}
    assert {o["customer"]["id"] for o in got.values()} == {"customer-C1"}
    # Not archived and not re-added: the member was never out of the audience.
    member_path = f"/3.0/lists/{sandbox.list_id}/members/{subscriber_hash('c1@x.com')}"
    assert not [r for r in sandbox.requests if r.method == "DELETE" and r.path == member_path]
    deleted = [r for r in audit_rows(cfg, second.run_id) if r.action == "deleted"]
    assert len(deleted) == 1
    assert "the member stays" in (deleted[0].detail or "")
    assert "keeps the tag 'Intacct customer'" in (deleted[0].detail or "")


def test_a_customer_entered_again_after_its_deletion_came_through_is_brought_back(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    kit.run_target(cfg, kit.Singer().record("customers", kit.customer(1, "C1", "c1@x.com")))
    sandbox.reset_counters()
    kit.run_target(cfg, kit.Singer().record("customers", gone(1)))
    assert sandbox.member("c1@x.com")["status"] == "archived"  # type: ignore[index]
    member_path = f"/3.0/lists/{sandbox.list_id}/members/{subscriber_hash('c1@x.com')}"
    # Its status is read before the archive: Mailchimp shows an archived member only as such.
    assert [(r.method, r.path) for r in sandbox.requests if r.path == member_path] == [
        ("GET", member_path),
        ("DELETE", member_path),
    ]

    third = comes_back(cfg)

    member = sandbox.member("c1@x.com")
    assert member is not None and member["status"] == "subscribed"
    assert tag_names(member) == {"Intacct customer"}
    assert orders(sandbox)["invoice-51"]["customer"]["id"] == "customer-C1"
    assert third.counts["member"] == {"updated": 1}
    (row,) = [r for r in audit_rows(cfg, third.run_id) if r.object_kind == "member"]
    assert "brought back from the archive as 'subscribed'" in (row.detail or "")
    # Brought back once: the next change of the record is an ordinary update.
    sandbox.reset_counters()
    renamed = kit.customer(2, "C1", "c1@x.com", first="Cy", modified="2024-05-01T10:00:00Z")
    fourth = kit.run_target(cfg, kit.Singer().record("customers", renamed))
    assert fourth.counts["member"] == {"updated": 1}
    assert sandbox.count("PATCH", member_path.removeprefix("/3.0")) == 0


def test_someone_who_unsubscribed_stays_archived_when_their_record_comes_back(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    kit.run_target(cfg, kit.Singer().record("customers", kit.customer(1, "C1", "c1@x.com")))
    unsubscribe(sandbox, "c1@x.com")
    kit.run_target(cfg, kit.Singer().record("customers", gone(1)))
    assert sandbox.member("c1@x.com")["status"] == "archived"  # type: ignore[index]

    third = comes_back(cfg)

    member = sandbox.member("c1@x.com")
    assert member is not None and member["status"] == "archived"
    assert third.counts["member"] == {"skipped": 1}
    (row,) = [r for r in audit_rows(cfg, third.run_id) if r.object_kind == "member"]
    assert "it was unsubscribed when this target archived it" in (row.detail or "")
    # The customer's orders still arrive (e-commerce customers never change consent).
    assert orders(sandbox)["invoice-51"]["customer"]["id"] == "customer-C1"


def test_a_bill_recreated_with_a_new_recordno_moves_its_order(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    vendor, bill = kit.vendor(8, "V8", "v8@x.com"), kit.bill(40, "V8", [("6000", "10.00", "X")])
    kit.run_target(cfg, kit.Singer().record("vendors", vendor).record("ap_bills", bill))
    assert set(orders(sandbox)) == {"bill-40"}

    # Purchasing edited the source transaction: bill 40 is gone, bill 42 holds its new lines,
    # and a payment settles the new bill in full.
    lines = [("6000", "10.00", "Supplies"), ("6100", "5.50", "Freight")]
    edited = kit.Singer().record("ap_bills", kit.bill(42, "V8", lines, modified=LATER))
    edited.record("ap_bills", gone(40))
    edited.record("ap_payments", kit.payment(70, [(42, "15.50")]))
    second = kit.run_target(cfg, edited)

    got = orders(sandbox)
    assert set(got) == {"bill-42"}
    order = got["bill-42"]
    assert Decimal(str(order["order_total"])) == Decimal("15.50")
    assert [line["product_id"] for line in order["lines"]] == ["gl-6000", "gl-6100"]
    assert order["financial_status"] == "paid"
    assert second.counts["order"]["deleted"] == 1
    # A rerun of the same input (the tap's lookback) writes nothing.
    sandbox.reset_counters()
    kit.run_target(cfg, edited)
    assert sandbox.count(writes_only=True) == 0
