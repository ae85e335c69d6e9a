"""The target's command line: the run summary on stderr, STATE on stdout, exit codes and
one clear message (no traceback) when a run cannot go on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from singer_sdk.exceptions import InvalidJSONSchema

from target_mailchimp.ledger import Ledger
from tests.sandbox.loopback import free_port
from tests.sandbox.mailchimp import MailchimpSandbox
from tests.target_mailchimp import test_target_kit as kit

pytestmark = pytest.mark.usefixtures("no_retry_waits")


def run_cli(
    tmp_path: Path, config: dict[str, Any], singer: kit.Singer | None, *args: str
) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(config))
    cmd = [sys.executable, "-m", "target_mailchimp", "--config", str(cfg), *args]
    if singer is not None:
        data = tmp_path / "input.singer"
        data.write_text(singer.text())
        cmd += ["--input", str(data)]
    return subprocess.run(
        cmd, check=False, capture_output=True, text=True, cwd=tmp_path, timeout=120
    )


def sample() -> kit.Singer:
    s = kit.Singer().record(
        "customers", kit.customer(1, "C1", "c1@x.com"), kit.customer(2, "C2", "nope")
    )
    s.record("vendors", kit.vendor(3, "V3", "v3@x.com"))
    s.record("ap_bills", kit.bill(4, "V3"))
    s.state({"bookmarks": {"ap_bills": {"replication_key_value": "2024-03-02"}}})
    return s


def test_cli_run_prints_state_and_the_summary(sandbox: MailchimpSandbox, tmp_path: Path) -> None:
    proc = run_cli(tmp_path, kit.target_config(sandbox, tmp_path), sample())
    assert proc.returncode == 0, proc.stderr
    states = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert states == [{"bookmarks": {"ap_bills": {"replication_key_value": "2024-03-02"}}}]
    err = proc.stderr
    assert "Run summary" in err and ": succeeded" in err
    table = err[err.index("Run summary") :]
    header = next(line for line in table.splitlines() if line.startswith("object"))
    for action in ("created", "updated", "unchanged", "rejected", "failed", "skipped", "parked"):
        assert action in header
    member_row = next(line for line in table.splitlines() if line.startswith("member "))
    assert member_row.split()[1:3] == ["2", "0"]  # created, updated
    order_row = next(line for line in table.splitlines() if line.startswith("order "))
    assert order_row.split()[1] == "1"
    assert "Rejected records: 1" in table
    assert "customers RECORDNO 2 (C2)" in table and "has no '@'" in table
    assert "Mailchimp:" in table and "HTTP requests" in table
    assert sandbox.api_key not in proc.stdout + proc.stderr
    assert "Traceback" not in err


def test_cli_unreachable_mailchimp_exits_non_zero_with_one_clear_message(
    sandbox: MailchimpSandbox, tmp_path: Path
) -> None:
    port = free_port()
    cfg = kit.target_config(
        sandbox, tmp_path, api_url=f"http://127.0.0.1:{port}/3.0", max_retries=0
    )
    proc = run_cli(tmp_path, cfg, sample())
    assert proc.returncode == 1
    assert proc.stdout.strip() == ""  # no STATE: nothing was written
    assert "target-mailchimp stopped: Mailchimp could not be reached" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert ": failed" in proc.stderr  # the summary of the failed run


def test_cli_locked_ledger_and_bad_settings_exit_non_zero(
    sandbox: MailchimpSandbox, cfg: dict[str, Any], tmp_path: Path
) -> None:
    with Ledger(cfg["ledger_url"], heartbeat_interval=None) as holder:
        holder.lock.start_run("busy-run")
        proc = run_cli(tmp_path, cfg, sample())
    assert proc.returncode == 1
    assert "busy-run" in proc.stderr and "Traceback" not in proc.stderr
    assert sandbox.count() == 0

    bad = run_cli(tmp_path, kit.target_config(sandbox, tmp_path, store_currency="ZZZ"), sample())
    assert bad.returncode == 1
    assert "store_currency" in bad.stderr and "Traceback" not in bad.stderr


def test_cli_about_lists_the_settings_and_marks_secrets(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "target_mailchimp", "--about", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=True,
    )
    about = json.loads(proc.stdout)
    props = about["settings"]["properties"]
    for name in (
        "list_id",
        "store_id",
        "store_name",
        "store_currency",
        "status_if_new",
        "merge_fields",
        "customer_tag",
        "vendor_tag",
        "inactive_records",
        "financial_status_map",
        "ledger_url",
        "full_refresh",
        "dry_run",
        "max_rejected_records",
        "batch_operations",
        "batch_threshold",
    ):
        assert name in props, name
        assert props[name].get("description"), name
    assert props["ledger_url"].get("secret") is True
    assert props["api_key"].get("secret") is True
    assert props["inactive_records"]["enum"] == ["ignore", "tag", "archive"]
    assert props["batch_operations"]["enum"] == ["auto", "always", "never"]


def test_a_schema_that_is_not_json_schema_stops_the_run(
    sandbox: MailchimpSandbox, tmp_path: Path
) -> None:
    s = kit.Singer().schema(
        "customers", {"type": "object", "properties": {"RECORDNO": {"type": 5}}}
    )
    with pytest.raises(InvalidJSONSchema, match="customers"):
        kit.run_target(kit.target_config(sandbox, tmp_path), s)
