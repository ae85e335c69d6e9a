"""Order lines mirror the bill's GL lines: lines that left the bill are deleted from the order
(a PATCH never removes one), the order stays visible, the ledger and audit trail record it, and
a rerun writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete

from target_mailchimp.ledger import schema as ledger_schema
from tests.sandbox.mailchimp import MailchimpSandbox
from tests.target_mailchimp import test_target_kit as kit

pytestmark = pytest.mark.usefixtures("no_retry_waits")

LINES = "/ecommerce/stores/intacct/orders/bill-11/lines/"


def two_runs(modified: str, lines: list[tuple[str, str, str]], **extra: object) -> kit.Singer:
    s = kit.Singer()
    s.record("vendors", kit.vendor(1, "V1", "v1@example.com"))
    s.record("ap_bills", kit.bill(11, "V1", lines, modified=modified, **extra))
    return s


def order_lines(sb: MailchimpSandbox) -> dict[str, float]:
    order = sb.snapshot()["stores"]["intacct"]["orders"]["bill-11"]
    return {line["id"]: float(line["price"]) for line in order["lines"]}


def test_removed_line_leaves_the_order(sandbox: MailchimpSandbox, tmp_path: Path) -> None:
    cfg = kit.target_config(sandbox, tmp_path, status_if_new="subscribed")
    kit.run_target(
        cfg, two_runs("2024-03-02T10:00:00+00:00", [("6000", "30", "A"), ("6100", "30", "B")])
    )
    assert order_lines(sandbox) == {"1101": 30.0, "1102": 30.0}

    sandbox.reset_counters()
    second = kit.run_target(cfg, two_runs("2024-03-05T10:00:00+00:00", [("6000", "30", "A")]))
    order = sandbox.snapshot()["stores"]["intacct"]["orders"]["bill-11"]
    assert order_lines(sandbox) == {"1101": 30.0}
    assert float(order["order_total"]) == sum(order_lines(sandbox).values()) == 30.0
    # One PATCH (never a delete of the order: it stays visible) and one line DELETE.
    assert sandbox.count("PATCH", "/ecommerce/stores/intacct/orders/bill-11") == 1
    assert sandbox.count("DELETE", LINES + "1102") == 1
    assert sandbox.count("DELETE", "/ecommerce/stores/intacct/orders/bill-11") == 1
    assert sandbox.count("POST", "/ecommerce/stores/intacct/orders") == 0
    with kit.ledger_of(cfg) as ledger:
        assert ledger.writes.order_lines(["bill-11"]) == {"bill-11": {"1101"}}
        rows = [r for r in ledger.audit.rows(second.run_id) if r.object_id == "bill-11"]
    assert [r.action for r in rows] == ["updated"]
    assert rows[0].detail is not None and "1102" in rows[0].detail

    sandbox.reset_counters()
    kit.run_target(cfg, two_runs("2024-03-05T10:00:00+00:00", [("6000", "30", "A")]))
    assert sandbox.count(writes_only=True) == 0


def test_renumbered_and_reaccounted_lines(sandbox: MailchimpSandbox, tmp_path: Path) -> None:
    cfg = kit.target_config(sandbox, tmp_path, status_if_new="subscribed")
    kit.run_target(
        cfg, two_runs("2024-03-02T10:00:00+00:00", [("6000", "10", "A"), ("6100", "20", "B")])
    )
    renumbered = kit.bill(11, "V1", [("6200", "30", "C")], modified="2024-03-06T10:00:00+00:00")
    renumbered["lines"][0]["RECORDNO"] = 1199
    s = kit.Singer()
    s.record("vendors", kit.vendor(1, "V1", "v1@example.com"))
    s.record("ap_bills", renumbered)
    sandbox.reset_counters()
    kit.run_target(cfg, s)
    order = sandbox.snapshot()["stores"]["intacct"]["orders"]["bill-11"]
    assert [(line["id"], line["product_id"]) for line in order["lines"]] == [("1199", "gl-6200")]
    assert sandbox.count("DELETE", LINES) == 2
    sandbox.reset_counters()
    kit.run_target(cfg, s)
    assert sandbox.count(writes_only=True) == 0


def test_lines_unknown_to_the_ledger_are_read_from_mailchimp(
    sandbox: MailchimpSandbox, tmp_path: Path
) -> None:
    """An order written before the ledger kept its lines: the lines are listed once."""
    cfg = kit.target_config(sandbox, tmp_path, status_if_new="subscribed")
    kit.run_target(
        cfg, two_runs("2024-03-02T10:00:00+00:00", [("6000", "30", "A"), ("6100", "30", "B")])
    )
    with kit.ledger_of(cfg) as ledger, ledger.db.tx() as conn:
        conn.execute(delete(ledger_schema.order_lines))
    sandbox.reset_counters()
    kit.run_target(cfg, two_runs("2024-03-05T10:00:00+00:00", [("6000", "30", "A")]))
    assert order_lines(sandbox) == {"1101": 30.0}
    assert sandbox.count("GET", "/ecommerce/stores/intacct/orders/bill-11/lines") == 1
    assert sandbox.count("DELETE", LINES + "1102") == 1
