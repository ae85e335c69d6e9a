"""Nothing waits forever: a bill rejected because of its vendor is retried when the vendor
changes; a record parked longer than max_park_days is rejected into the audit trail (and a
bill still written if its vendor comes after all)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from target_mailchimp.ledger import schema as ledger_schema
from target_mailchimp.ledger import utcnow
from target_mailchimp.sinks import ConfigurationError
from target_mailchimp.sinks.run import RunSettings
from tests.sandbox.mailchimp import MailchimpSandbox
from tests.target_mailchimp import test_target_kit as kit

pytestmark = pytest.mark.usefixtures("no_retry_waits")


def orders(sb: MailchimpSandbox) -> dict[str, Any]:
    return sb.snapshot()["stores"].get("intacct", {}).get("orders", {})


def age_parking(cfg: dict[str, Any], days: float) -> None:
    with kit.ledger_of(cfg) as ledger, ledger.db.tx() as conn:
        conn.execute(update(ledger_schema.parked).values(parked_at=utcnow() - timedelta(days=days)))


def test_bill_rejected_for_its_vendor_is_written_when_the_vendor_is_fixed(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    s = kit.Singer()
    s.record("vendors", kit.vendor(1, "V1", "not-an-email", modified="2024-03-01T10:00:00+00:00"))
    s.record("ap_bills", kit.bill(11, "V1"))
    first = kit.run_target(cfg, s)
    assert "bill-11" not in orders(sandbox)
    with kit.ledger_of(cfg) as ledger:
        rows = [r for r in ledger.audit.rows(first.run_id) if r.object_id == "bill-11"]
        assert [r.action for r in rows] == ["rejected"]
        assert "retried automatically when the vendor" in (rows[0].detail or "")
        assert [(p.source_key, p.code) for p in ledger.sources.parked()] == [
            ("11", "vendor_rejected")
        ]

    # A run that does not touch the vendor does not retry the bill.
    sandbox.reset_counters()
    kit.run_target(cfg, kit.Singer().record("vendors", kit.vendor(2, "V2", "v2@example.com")))
    assert "bill-11" not in orders(sandbox)

    # The vendor gets an email: the bill is written without being sent again.
    fixed = kit.Singer().record(
        "vendors", kit.vendor(1, "V1", "v1@example.com", modified="2024-03-04T10:00:00+00:00")
    )
    kit.run_target(cfg, fixed)
    assert orders(sandbox)["bill-11"]["customer"]["id"] == "vendor-V1"
    with kit.ledger_of(cfg) as ledger:
        assert ledger.sources.parked() == []
    sandbox.reset_counters()
    kit.run_target(cfg, fixed)
    assert sandbox.count(writes_only=True) == 0


def test_inactive_vendor_becoming_active_brings_its_bill(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    s = kit.Singer().record("vendors", kit.vendor(1, "V1", "v1@example.com", status="inactive"))
    s.record("ap_bills", kit.bill(11, "V1"))
    kit.run_target(cfg, s)
    assert "bill-11" not in orders(sandbox)
    active = kit.vendor(1, "V1", "v1@example.com", modified="2024-03-05T10:00:00+00:00")
    kit.run_target(cfg, kit.Singer().record("vendors", active))
    assert "bill-11" in orders(sandbox)


def test_parked_longer_than_max_park_days_is_rejected_and_still_written_later(
    sandbox: MailchimpSandbox, tmp_path: Path
) -> None:
    cfg = kit.target_config(sandbox, tmp_path, max_park_days=7)
    s = kit.Singer().record("ap_bills", kit.bill(11, "V9"))
    s.record("ap_payments", kit.payment(21, [(12, "5.00")]))
    kit.run_target(cfg, s)
    with kit.ledger_of(cfg) as ledger:
        assert {(p.source_key, p.code) for p in ledger.sources.parked()} == {
            ("11", "vendor_unknown"),
            ("21", "bill_unknown"),
        }
    # Six days later: still waiting. Re-parking keeps the first time.
    age_parking(cfg, 6)
    kit.run_target(cfg, s)
    late = kit.run_target(
        cfg, kit.Singer().record("vendors", kit.vendor(2, "V2", "v2@example.com"))
    )
    with kit.ledger_of(cfg) as ledger:
        assert ledger.audit.rejected(late.run_id) == []
        assert {p.code for p in ledger.sources.parked()} == {"vendor_unknown", "bill_unknown"}
    age_parking(cfg, 8)
    expired = kit.run_target(
        cfg, kit.Singer().record("vendors", kit.vendor(2, "V2", "v2@example.com"))
    )
    with kit.ledger_of(cfg) as ledger:
        rejected = ledger.audit.rejected(expired.run_id)
        assert sorted((r.stream, r.object_id) for r in rejected) == [
            ("ap_bills", "bill-11"),
            ("ap_payments", "bill-12"),
        ]
        assert all("max_park_days" in (r.detail or "") for r in rejected)
        assert [(p.source_key, p.code) for p in ledger.sources.parked()] == [("11", "park_expired")]
    assert expired.report.rejected_records == 2
    # The vendor and the paid bill come after all: both are written.
    s = kit.Singer().record("vendors", kit.vendor(9, "V9", "v9@example.com"))
    s.record("ap_bills", kit.bill(12, "V9", [("6000", "5.00", "Supplies")]))
    kit.run_target(cfg, s)
    assert set(orders(sandbox)) == {"bill-11", "bill-12"}
    assert orders(sandbox)["bill-12"]["financial_status"] == "paid"
    with kit.ledger_of(cfg) as ledger:
        assert ledger.sources.parked() == []


@pytest.mark.parametrize("value", [0, -1, "7", True])
def test_max_park_days_must_be_a_positive_number(value: object) -> None:
    with pytest.raises(ConfigurationError, match="max_park_days"):
        RunSettings.from_config(
            {"list_id": "L", "status_if_new": "pending", "max_park_days": value}
        )
