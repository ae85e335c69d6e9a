"""Records deleted in Intacct ({RECORDNO, _sdc_deleted_at} in their own stream) through the
target: members archived or tagged (on_delete), a shared address kept, orders deleted,
deleted payments handled as voids, every deletion audited once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from target_mailchimp.mapping import MappingSettings
from tests.sandbox.mailchimp import MailchimpSandbox
from tests.target_mailchimp import test_target_kit as kit
from tests.target_mailchimp.test_sinks_contacts import tag_names
from tests.target_mailchimp.test_sinks_invoices import invoice, orders, receipt

pytestmark = pytest.mark.usefixtures("no_retry_waits")

WHEN = "2024-06-26T17:28:14+00:00"


def gone(recordno: int) -> dict[str, Any]:
    return {"RECORDNO": recordno, "_sdc_deleted_at": WHEN}


def audit_rows(cfg: dict[str, Any], run_id: str) -> list[Any]:
    with kit.ledger_of(cfg) as ledger:
        return list(ledger.audit.rows(run_id=run_id))


def first_run(sandbox: MailchimpSandbox, cfg: dict[str, Any]) -> None:
    s = kit.Singer().record(
        "customers",
        kit.customer(1, "C1", "c1@x.com"),
        kit.customer(2, "C2", "shared@x.com"),
    )
    s.record("vendors", kit.vendor(7, "V7", "shared@x.com"), kit.vendor(8, "V8", "v8@x.com"))
    s.record(
        "ap_bills",
        kit.bill(40, "V8", [("6000", "10.00", "Supplies")]),
        kit.bill(41, "V8", [("6000", "20.00", "Supplies")]),
    )
    s.record("ar_invoices", invoice(50, "C1", [("4000", "30.00", "Revenue")]))
    s.record("ar_payments", receipt(60, [(50, "30.00")]))
    kit.run_target(cfg, s)
    assert set(orders(sandbox)) == {"bill-40", "bill-41", "invoice-50"}


def test_deletions_leave_mailchimp_exactly_once(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    first_run(sandbox, cfg)
    sandbox.reset_counters()
    s = kit.Singer().record("customers", gone(1)).record("vendors", gone(7))
    s.record("ap_bills", gone(40)).record("ar_invoices", gone(50))
    second = kit.run_target(cfg, s)
    # The customer alone on its address: archived. The vendor sharing an address with a live
    # customer: the member stays subscribed and only loses the vendor tag.
    assert sandbox.member("c1@x.com")["status"] == "archived"  # type: ignore[index]
    shared = sandbox.member("shared@x.com")
    assert shared is not None and shared["status"] == "subscribed"
    assert tag_names(shared) == {"Intacct customer"}
    assert tag_names(sandbox.member("v8@x.com")) == {"Intacct vendor"}
    assert set(orders(sandbox)) == {"bill-41"}
    assert second.counts["member"] == {"deleted": 2}
    assert second.counts["order"] == {"deleted": 2}
    writes = [(r.method, r.path) for r in sandbox.requests if r.method != "GET"]
    assert sorted(writes) == sorted(
        [
            ("DELETE", f"/3.0/lists/{sandbox.list_id}/members/{_hash('c1@x.com')}"),
            ("POST", f"/3.0/lists/{sandbox.list_id}/members/{_hash('shared@x.com')}/tags"),
            ("DELETE", "/3.0/ecommerce/stores/intacct/orders/bill-40"),
            ("DELETE", "/3.0/ecommerce/stores/intacct/orders/invoice-50"),
        ]
    )
    # The same deletions again (a rerun, the tap's lookback): nothing is written.
    sandbox.reset_counters()
    third = kit.run_target(cfg, s)
    assert sandbox.count(writes_only=True) == 0
    assert third.counts["member"] == {"skipped": 2}
    rows = audit_rows(cfg, third.run_id)
    assert rows and all("already applied" in (r.detail or "") for r in rows)


def _hash(email: str) -> str:
    from target_mailchimp.api import subscriber_hash

    return subscriber_hash(email)


def test_a_deletion_the_ledger_never_saw_is_skipped_with_its_reason(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    result = kit.run_target(
        cfg, kit.Singer().record("customers", gone(99)).record("ap_bills", gone(98))
    )
    assert sandbox.count(writes_only=True) == 0
    assert result.counts == {"member": {"skipped": 1}, "order": {"skipped": 1}}
    rows = audit_rows(cfg, result.run_id)
    assert all("never saw" in (r.detail or "") for r in rows)


@pytest.mark.parametrize("mode", ["tag", "ignore"])
def test_on_delete_tag_and_ignore(sandbox: MailchimpSandbox, tmp_path: Path, mode: str) -> None:
    cfg = kit.target_config(sandbox, tmp_path, on_delete=mode)
    kit.run_target(cfg, kit.Singer().record("customers", kit.customer(1, "C1", "c1@x.com")))
    result = kit.run_target(cfg, kit.Singer().record("customers", gone(1)))
    member = sandbox.member("c1@x.com")
    assert member is not None and member["status"] == "subscribed"
    if mode == "tag":
        assert tag_names(member) == {"Intacct deleted"}
        assert result.counts["member"] == {"deleted": 1}
    else:
        assert tag_names(member) == {"Intacct customer"}
        assert result.counts["member"] == {"skipped": 1}


def test_a_deleted_payment_counts_as_a_void(sandbox: MailchimpSandbox, cfg: dict[str, Any]) -> None:
    s = kit.Singer().record("vendors", kit.vendor(8, "V8", "v8@x.com"))
    s.record("customers", kit.customer(1, "C1", "c1@x.com"))
    s.record("ap_bills", kit.bill(40, "V8", [("6000", "10.00", "Supplies")]))
    s.record("ap_payments", kit.payment(45, [(40, "10.00")]))
    s.record("ar_invoices", invoice(50, "C1", [("4000", "30.00", "Revenue")]))
    s.record("ar_payments", receipt(60, [(50, "30.00")]))
    kit.run_target(cfg, s)
    assert {k: v["financial_status"] for k, v in orders(sandbox).items()} == {
        "bill-40": "paid",
        "invoice-50": "paid",
    }
    result = kit.run_target(
        cfg, kit.Singer().record("ap_payments", gone(45)).record("ar_payments", gone(60))
    )
    assert {k: v["financial_status"] for k, v in orders(sandbox).items()} == {
        "bill-40": "pending",
        "invoice-50": "pending",
    }
    assert result.counts["order"] == {"updated": 2}
    assert result.counts["record"] == {"deleted": 2}
    sandbox.reset_counters()
    kit.run_target(
        cfg, kit.Singer().record("ap_payments", gone(45)).record("ar_payments", gone(60))
    )
    assert sandbox.count(writes_only=True) == 0


def test_on_delete_is_checked() -> None:
    with pytest.raises(ValueError, match="on_delete"):
        MappingSettings(on_delete="purge")  # type: ignore[arg-type]


def test_the_list_resource_carries_contact_defaults_and_stats(sandbox: MailchimpSandbox) -> None:
    data = sandbox.call("GET", f"/lists/{sandbox.list_id}").body
    assert {"company", "address1", "city", "country"} <= set(data["contact"])
    assert {"from_name", "from_email", "subject", "language"} <= set(data["campaign_defaults"])
    assert {
        "member_count",
        "total_contacts",
        "unsubscribe_count",
        "cleaned_count",
        "campaign_count",
        "merge_field_count",
        "avg_sub_rate",
        "open_rate",
        "click_rate",
        "last_sub_date",
    } <= set(data["stats"])


def test_a_dry_run_says_what_it_would_delete_and_deletes_nothing(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    s = kit.Singer().record("customers", kit.customer(1, "C1", "c1@x.com"))
    s.record("vendors", kit.vendor(8, "V8", "v8@x.com"))
    s.record("ap_bills", kit.bill(40, "V8", [("6000", "10.00", "Supplies")]))
    kit.run_target(cfg, s)
    deletions = kit.Singer().record("customers", gone(1)).record("ap_bills", gone(40))
    sandbox.reset_counters()
    dry = kit.run_target({**cfg, "dry_run": True}, deletions)
    assert sandbox.count(writes_only=True) == 0
    assert dry.counts["member"] == {"deleted": 1}
    assert dry.counts["order"] == {"deleted": 1}
    # The real ledger is untouched: a real run still deletes both.
    real = kit.run_target(cfg, deletions)
    assert real.counts["member"] == {"deleted": 1}
    assert real.counts["order"] == {"deleted": 1}
    assert sandbox.member("c1@x.com")["status"] == "archived"  # type: ignore[index]
    assert "bill-40" not in orders(sandbox)


def test_the_report_and_the_summary_show_deletions(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    import lxml.html

    from target_mailchimp.report import load_report, render_report
    from target_mailchimp.summary import render

    kit.run_target(cfg, kit.Singer().record("customers", kit.customer(1, "C1", "c1@x.com")))
    result = kit.run_target(cfg, kit.Singer().record("customers", gone(1)))
    summary = render(result.report)
    header = next(line for line in summary.splitlines() if line.startswith("object"))
    assert header.split()[-1] == "deleted"
    member_row = next(line for line in summary.splitlines() if line.startswith("member"))
    assert member_row.split()[-1] == "1"
    page = lxml.html.fromstring(render_report(load_report(cfg["ledger_url"])))
    headers = [th.text_content().strip() for th in page.iter("th")]
    assert "deleted" in headers  # the runs table has a column of its own for deletions
