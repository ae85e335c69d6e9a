"""Consent is the operator's explicit decision: no status_if_new, no run (one line, before any
write); vendors may join with their own status; an address that is also a customer's is a
customer's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.mailchimp import MailchimpSandbox
from tests.target_mailchimp import test_target_kit as kit
from tests.target_mailchimp.test_target_cli import run_cli, sample

pytestmark = pytest.mark.usefixtures("no_retry_waits")


def test_a_config_without_status_if_new_stops_before_any_write(
    sandbox: MailchimpSandbox, cfg: dict[str, Any], tmp_path: Path
) -> None:
    del cfg["status_if_new"]
    proc = run_cli(tmp_path, cfg, sample())
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "status_if_new" in line]
    assert len(lines) == 1, proc.stderr
    for meaning in ("'subscribed'", "'transactional'", "'pending'"):
        assert meaning in lines[0]
    assert sandbox.count() == 0  # not even a read
    assert not (tmp_path / "ledger.sqlite").exists()


def test_vendors_can_join_transactional_while_customers_subscribe(
    sandbox: MailchimpSandbox, tmp_path: Path
) -> None:
    cfg = kit.target_config(
        sandbox, tmp_path, status_if_new="subscribed", vendor_status_if_new="transactional"
    )
    s = kit.Singer()
    s.record(
        "customers", kit.customer(1, "C1", "buyer@example.com"), kit.customer(2, "C2", "both@x.com")
    )
    s.record(
        "vendors", kit.vendor(3, "V3", "supplier@example.com"), kit.vendor(4, "V4", "BOTH@x.com")
    )
    kit.run_target(cfg, s)
    assert sandbox.member("buyer@example.com")["status"] == "subscribed"
    assert sandbox.member("supplier@example.com")["status"] == "transactional"
    assert sandbox.member("both@x.com")["status"] == "subscribed"
    sandbox.reset_counters()
    kit.run_target(cfg, s)
    assert sandbox.count(writes_only=True) == 0


def test_vendor_status_defaults_to_status_if_new(sandbox: MailchimpSandbox, tmp_path: Path) -> None:
    cfg = kit.target_config(sandbox, tmp_path, status_if_new="pending")
    s = kit.Singer().record("vendors", kit.vendor(3, "V3", "supplier@example.com"))
    kit.run_target(cfg, s)
    assert sandbox.member("supplier@example.com")["status"] == "pending"
