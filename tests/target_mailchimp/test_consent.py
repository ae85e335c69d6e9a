# ruff: noqa: F811  (pytest fixtures imported from test_target_kit)
"""Consent is the operator's explicit decision: no status_if_new, no run (one line, before any
write); vendors may join with their own status; an address that is also a customer's is a
customer's."""

from __future__ import annotations

from pathlib import Path

from tests.sandbox.mailchimp import MailchimpSandbox
from tests.target_mailchimp.test_target_cli import run_cli, sample
from tests.target_mailchimp.test_target_kit import (  # noqa: F401 - fixtures
    Singer,
    _no_retry_waits,
    customer,
    run_target,
    sandbox,
    target_config,
    vendor,
)


def test_a_config_without_status_if_new_stops_before_any_write(
    sandbox: MailchimpSandbox, tmp_path: Path
) -> None:
    cfg = target_config(sandbox, tmp_path)
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
    cfg = target_config(
        sandbox, tmp_path, status_if_new="subscribed", vendor_status_if_new="transactional"
    )
    s = Singer()
    s.record("customers", customer(1, "C1", "buyer@example.com"), customer(2, "C2", "both@x.com"))
    s.record("vendors", vendor(3, "V3", "supplier@example.com"), vendor(4, "V4", "BOTH@x.com"))
    run_target(cfg, s)
    assert sandbox.member("buyer@example.com")["status"] == "subscribed"
    assert sandbox.member("supplier@example.com")["status"] == "transactional"
    assert sandbox.member("both@x.com")["status"] == "subscribed"
    sandbox.reset_counters()
    run_target(cfg, s)
    assert sandbox.count(writes_only=True) == 0


def test_vendor_status_defaults_to_status_if_new(sandbox: MailchimpSandbox, tmp_path: Path) -> None:
    cfg = target_config(sandbox, tmp_path, status_if_new="pending")
    s = Singer().record("vendors", vendor(3, "V3", "supplier@example.com"))
    run_target(cfg, s)
    assert sandbox.member("supplier@example.com")["status"] == "pending"
