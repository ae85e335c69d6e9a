"""Whole target runs: dedupe on rerun, full refresh, dry run, rejection limit, state safety,
unreachable Mailchimp, the run lock, unknown and Mailchimp-shaped streams, batch operations."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from target_mailchimp.ledger import LedgerLockedError
from target_mailchimp.sinks import (
    MailchimpUnavailableError,
    TooManyRejectedError,
    UnknownStreamError,
)
from tests.sandbox.loopback import free_port
from tests.sandbox.mailchimp import MailchimpSandbox
from tests.target_mailchimp import test_target_kit as kit

pytestmark = pytest.mark.usefixtures("no_retry_waits")


def company_input() -> kit.Singer:
    s = kit.Singer()
    s.record(
        "customers",
        kit.customer(1, "C1", "c1@x.com", first="Cee"),
        kit.customer(2, "C2", "shared@x.com"),
    )
    s.state({"bookmarks": {"customers": {"replication_key_value": "2024-03-01T10:00:00+00:00"}}})
    s.record("vendors", kit.vendor(1, "V1", "shared@x.com"), kit.vendor(2, "V2", "v2@x.com"))
    s.record(
        "ap_bills",
        kit.bill(11, "V1", [("6000", "100.00", "Supplies"), ("6100", "5.00", "Postage")]),
        kit.bill(12, "V2", [("6000", "10.00", "Supplies")], state="Paid"),
    )
    s.record("ap_payments", kit.payment(21, [(11, "105.00")]))
    s.state({"bookmarks": {"ap_payments": {"replication_key_value": "2024-03-03"}}})
    return s


def test_rerun_with_the_same_input_makes_no_write_and_full_refresh_rewrites(
    sandbox: MailchimpSandbox, cfg: dict[str, Any], tmp_path: Path
) -> None:
    first = kit.run_target(cfg, company_input())
    before = sandbox.snapshot()["stores"]["intacct"]
    assert before["orders"]["bill-11"]["financial_status"] == "paid"
    assert first.report.rejected_records == 0
    assert first.states[-1] == {
        "bookmarks": {"ap_payments": {"replication_key_value": "2024-03-03"}}
    }

    sandbox.reset_counters()
    second = kit.run_target(cfg, company_input())
    assert sandbox.count(writes_only=True) == 0
    assert {a for kind in second.counts.values() for a in kind} == {"unchanged"}
    assert second.states == first.states

    sandbox.reset_counters()
    third = kit.run_target(kit.target_config(sandbox, tmp_path, full_refresh=True), company_input())
    assert sandbox.count("POST", f"/lists/{sandbox.list_id}") >= 1
    assert sandbox.count("PUT", "/ecommerce/stores/intacct/customers/") == 4
    assert sandbox.count("PATCH", "/ecommerce/stores/intacct/orders/") >= 2
    # Both bills rewritten; the payment's row is unchanged: the bill's write of this very
    # run already carried the payment's status.
    assert third.counts["order"] == {"updated": 2, "unchanged": 1}
    after = sandbox.snapshot()["stores"]["intacct"]
    assert {k: v["financial_status"] for k, v in after["orders"].items()} == {
        "bill-11": "paid",
        "bill-12": "paid",
    }
    # ... and a rerun after the full refresh is quiet again.
    sandbox.reset_counters()
    kit.run_target(cfg, company_input())
    assert sandbox.count(writes_only=True) == 0


def test_dry_run_writes_nothing_and_reports_what_it_would_do(
    sandbox: MailchimpSandbox, tmp_path: Path
) -> None:
    dry = kit.target_config(sandbox, tmp_path, dry_run=True)
    result = kit.run_target(dry, company_input())
    assert sandbox.count(writes_only=True) == 0
    assert sandbox.snapshot()["lists"][sandbox.list_id]["members"] == {}
    assert result.report.dry_run
    assert result.counts["member"]["created"] >= 3
    assert result.counts["order"]["created"] == 2
    assert result.counts["merge_field"] == {"created": 1}  # COMPANY
    assert result.counts["store"] == {"created": 1}
    assert not (tmp_path / "ledger.sqlite").exists()  # the real ledger was never created
    # nothing was written, so no bookmark may move: Meltano would skip these records later
    assert result.states == []

    # The dry run left no trace: a real run writes everything.
    real = kit.target_config(sandbox, tmp_path)
    kit.run_target(real, company_input())
    writes = sandbox.count(writes_only=True)
    assert writes > 0
    with kit.ledger_of(real) as ledger:
        assert len(ledger.lock.runs()) == 1

    # A dry run after it finds nothing to do, and still writes nothing.
    sandbox.reset_counters()
    again = kit.run_target(dry, company_input())
    assert sandbox.count(writes_only=True) == 0
    assert {a for kind in again.counts.values() for a in kind} == {"unchanged"}
    with kit.ledger_of(real) as ledger:
        assert len(ledger.lock.runs()) == 1


def test_max_rejected_records_fails_the_run_after_state_is_flushed(
    sandbox: MailchimpSandbox, tmp_path: Path
) -> None:
    cfg = kit.target_config(sandbox, tmp_path, max_rejected_records=1)
    s = kit.Singer().record(
        "customers",
        kit.customer(1, "C1", "ok@x.com"),
        kit.customer(2, "C2", "bad"),
        kit.customer(3, "C3", None),
    )
    s.state({"n": 3})
    result = kit.run_target(cfg, s, raise_errors=False)
    assert isinstance(result.error, TooManyRejectedError)
    assert "2 records were rejected" in str(result.error)
    assert result.states == [{"n": 3}]
    assert sandbox.member("ok@x.com") is not None
    assert result.report.status == "failed"
    with kit.ledger_of(cfg) as ledger:
        assert ledger.lock.runs()[0].status == "failed"
    # Within the limit the same input succeeds.
    ok = kit.run_target(kit.target_config(sandbox, tmp_path, max_rejected_records=2), s)
    assert ok.error is None


def test_state_is_never_ahead_of_what_mailchimp_holds(
    sandbox: MailchimpSandbox, tmp_path: Path
) -> None:
    cfg = kit.target_config(sandbox, tmp_path, max_retries=2)
    # Flaky answers that the retries absorb, and slow ones.
    sandbox.faults.add("503", times=2, path_prefix=f"/lists/{sandbox.list_id}", method="POST")
    sandbox.faults.add("slow", times=3, seconds=0.05)
    s = kit.Singer()
    for n in range(1, 7):
        s.record("customers", kit.customer(n, f"C{n}", f"c{n}@x.com"))
        s.state({"n": n})
    checked: list[int] = []

    def on_state(state: dict[str, Any]) -> None:
        n = state["n"]
        for k in range(1, n + 1):
            assert sandbox.member(f"c{k}@x.com") is not None, f"STATE {n} before c{k} was written"
            assert f"customer-C{k}" in sandbox.snapshot()["stores"]["intacct"]["customers"]
        checked.append(n)
        if n == 3:  # from now on Mailchimp keeps failing
            sandbox.faults.add("503", times=None)

    # Drain after every record so a STATE goes out as often as the SDK ever sends one.
    result = kit.run_target(cfg, s, on_state=on_state, max_record_age_minutes=0, raise_errors=False)
    assert isinstance(result.error, MailchimpUnavailableError)
    assert checked == [1, 2, 3]
    assert sandbox.member("c5@x.com") is None
    assert "Mailchimp could not be reached or kept failing" in str(result.error)
    with kit.ledger_of(cfg) as ledger:
        assert ledger.lock.runs()[0].status == "failed"
        failed = ledger.audit.rejected(result.run_id)
        assert failed and {r.action for r in failed} == {"failed"}


def test_unreachable_mailchimp_fails_the_run_without_state(
    sandbox: MailchimpSandbox, tmp_path: Path
) -> None:
    port = free_port()
    cfg = kit.target_config(
        sandbox, tmp_path, api_url=f"http://127.0.0.1:{port}/3.0", max_retries=1
    )
    s = kit.Singer().record("customers", kit.customer(1, "C1", "c1@x.com")).state({"n": 1})
    result = kit.run_target(cfg, s, raise_errors=False)
    assert isinstance(result.error, MailchimpUnavailableError)
    assert result.states == []
    assert "2 attempts" in str(result.error)
    # The lock was released: the next run starts at once.
    with kit.ledger_of(cfg) as ledger:
        assert ledger.lock.runs()[0].status == "failed"
        ledger.lock.start_run()


def test_a_second_run_against_one_ledger_stops_at_once(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    with kit.ledger_of(cfg) as holder:
        holder.lock.start_run("holder-run")
        started = time.monotonic()
        result = kit.run_target(cfg, company_input(), raise_errors=False)
        assert time.monotonic() - started < 5
    assert isinstance(result.error, LedgerLockedError)
    assert "holder-run" in str(result.error)
    assert result.states == []
    assert sandbox.count() == 0


def test_unknown_stream_is_a_clear_error(sandbox: MailchimpSandbox, cfg: dict[str, Any]) -> None:
    s = kit.Singer().schema("orders", kit.open_schema())
    with pytest.raises(UnknownStreamError) as info:
        kit.run_target(cfg, s)
    text = str(info.value)
    assert "'orders'" in text
    for stream in ("customers", "vendors", "ap_bills", "ap_payments", "list_members"):
        assert stream in text


def test_mailchimp_shaped_streams_pass_through(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    sandbox.seed_member("opted-out@x.com", status="unsubscribed")
    s = kit.Singer(
        {
            k: kit.open_schema()
            for k in (
                "list_members",
                "ecommerce_customers",
                "ecommerce_products",
                "ecommerce_orders",
            )
        }
    )
    # Orders first in the input: the target still writes customers and products before them.
    s.record(
        "ecommerce_orders",
        {
            "id": "web-1",
            "customer": {"id": "shop-1"},
            "currency_code": "USD",
            "order_total": 12.5,
            "financial_status": "paid",
            "lines": [
                {
                    "id": "l1",
                    "product_id": "p1",
                    "product_variant_id": "p1",
                    "quantity": 1,
                    "price": 12.5,
                }
            ],
        },
    )
    s.record(
        "list_members",
        {
            "email_address": "Fan@x.com",
            "status": "subscribed",
            "merge_fields": {"FNAME": "Fan"},
            "tags": ["web"],
        },
        {"email_address": "opted-out@x.com", "status": "subscribed"},
        {"email_address": "broken"},
    )
    s.record("ecommerce_customers", {"id": "shop-1", "email_address": "fan@x.com"})
    s.record(
        "ecommerce_products",
        {"id": "p1", "title": "Widget", "variants": [{"id": "p1", "title": "Widget"}]},
    )
    result = kit.run_target(cfg, s)
    fan = sandbox.member("fan@x.com")
    assert fan is not None and fan["status"] == "subscribed"
    assert {t["name"] for t in fan["tags"]} == {"web"}
    opted_out = sandbox.member("opted-out@x.com")
    assert opted_out is not None and opted_out["status"] == "unsubscribed"
    shop = sandbox.snapshot()["stores"]["intacct"]
    assert set(shop["customers"]) == {"shop-1"}
    assert set(shop["products"]) == {"p1"}
    assert shop["orders"]["web-1"]["financial_status"] == "paid"
    assert result.report.rejected_records == 1
    assert result.counts["order"] == {"created": 1}


def test_batch_operations_path_audits_every_operation(
    sandbox: MailchimpSandbox, tmp_path: Path
) -> None:
    cfg = kit.target_config(sandbox, tmp_path, batch_operations="auto", batch_threshold=2)
    s = kit.Singer()
    s.record("vendors", *(kit.vendor(n, f"V{n}", f"v{n}@x.com") for n in range(1, 6)))
    s.record(
        "ap_bills",
        *(kit.bill(10 + n, f"V{n}", [("6000", "10.00", "Supplies")]) for n in range(1, 6)),
    )
    sandbox.faults.add(
        "503", times=1, batch_ops=True, path_prefix="/ecommerce/stores/intacct/orders"
    )
    result = kit.run_target(cfg, s)
    shop = sandbox.snapshot()["stores"]["intacct"]
    assert len(shop["customers"]) == 5 and len(shop["orders"]) == 5
    assert result.counts["customer"] == {"created": 5}
    assert result.counts["order"] == {"created": 5}
    # Customers and orders went through /batches: no one-by-one PUT of a customer, and one
    # order POST only for the operation that met the fault inside its batch.
    assert sandbox.count("PUT", "/ecommerce/stores/intacct/customers/") == 0
    assert sandbox.count("POST", "/batches") == 2
    assert sandbox.count("POST", "/ecommerce/stores/intacct/orders") == 1
    assert sandbox.count("POST", "/ecommerce/stores/intacct/products") == 1  # synchronously first
    with kit.ledger_of(cfg) as ledger:
        rows = ledger.audit.rows(result.run_id, actions=["created"])
    batch_rows = [r for r in rows if r.object_kind == "customer"]
    assert all((r.request_id or "").startswith("batch ") for r in batch_rows)

    # Per-operation errors become rejected records with the problem detail.
    cfg2 = kit.target_config(sandbox, tmp_path / "two", batch_operations="always")
    orders = kit.Singer({"ecommerce_orders": kit.open_schema()})
    good = {
        "customer": {"id": "vendor-V1"},
        "currency_code": "USD",
        "order_total": 1,
        "lines": [
            {
                "id": "a",
                "product_id": "gl-6000",
                "product_variant_id": "gl-6000",
                "quantity": 1,
                "price": 1,
            }
        ],
    }
    orders.record(
        "ecommerce_orders",
        {"id": "ok-1", **good},
        {
            "id": "bad-1",
            **good,
            "lines": [
                {
                    **good["lines"][0],
                    "product_id": "nope",  # type: ignore[index]
                    "product_variant_id": "nope",
                }
            ],
        },
    )
    second = kit.run_target(cfg2, orders)
    assert "ok-1" in sandbox.snapshot()["stores"]["intacct"]["orders"]
    with kit.ledger_of(cfg2) as ledger:
        rejected = ledger.audit.rejected(second.run_id)
    assert [r.object_id for r in rejected] == ["bad-1"]
    assert rejected[0].http_status and rejected[0].http_status >= 400
    assert "nope" in (rejected[0].detail or "") or "exist" in (rejected[0].detail or "")


def test_payloads_mailchimp_refused_are_not_resent_until_they_change(
    sandbox: MailchimpSandbox, cfg: dict[str, Any], tmp_path: Path
) -> None:
    schemas = {"ecommerce_orders": kit.open_schema()}

    def data(product: str) -> kit.Singer:
        s = kit.Singer(schemas).record(
            "customers", kit.customer(1, "C1", "ok@x.com"), kit.customer(2, "C2", "fake1@x.com")
        )
        s.record(
            "ecommerce_orders",
            {
                "id": "o-1",
                "customer": {"id": "customer-C1"},
                "currency_code": "USD",
                "order_total": 3,
                "lines": [
                    {
                        "id": "l",
                        "product_id": product,
                        "product_variant_id": product,
                        "quantity": 1,
                        "price": 3,
                    }
                ],
            },
        )
        return s

    first = kit.run_target(cfg, data("missing"))
    assert first.report.rejected_records == 2  # the fake address, the order's unknown product
    sandbox.reset_counters()
    second = kit.run_target(cfg, data("missing"))
    assert sandbox.count(writes_only=True) == 0
    assert second.report.rejected_records == 2
    with kit.ledger_of(cfg) as ledger:
        details = [r.detail or "" for r in ledger.audit.rejected(second.run_id)]
    assert all("not sent again" in d and first.run_id in d for d in details)
    # A full refresh sends them again (and Mailchimp refuses them again).
    sandbox.reset_counters()
    kit.run_target(kit.target_config(sandbox, tmp_path, full_refresh=True), data("missing"))
    assert sandbox.count("POST", "/ecommerce/stores/intacct/orders") == 1
    # A changed record is sent again: the product exists now, the order is written.
    sandbox.call(
        "POST",
        "/ecommerce/stores/intacct/products",
        {"id": "p2", "title": "P2", "variants": [{"id": "p2", "title": "P2"}]},
    )
    third = kit.run_target(cfg, data("p2"))
    assert "o-1" in sandbox.snapshot()["stores"]["intacct"]["orders"]
    assert third.counts["order"] == {"created": 1}


def test_a_ledger_that_cannot_be_opened_is_a_clear_error_without_its_password(
    sandbox: MailchimpSandbox, tmp_path: Path
) -> None:
    for url in ("postgresql+nosuchdriver://u:pa55word@h/db", "not a url pa55word"):
        cfg = kit.target_config(sandbox, tmp_path, ledger_url=url)
        s = kit.Singer().record("customers", kit.customer(1, "C1", "c1@x.com"))
        result = kit.run_target(cfg, s, raise_errors=False)
        assert result.error is not None
        assert "ledger" in str(result.error)
        assert "pa55word" not in str(result.error)
    assert sandbox.count() == 0
