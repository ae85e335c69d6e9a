"""A fleet: three companies' target processes at once on one PostgreSQL ledger database and
one Mailchimp account.

Each company has its own Intacct sandbox, audience and store; all three write to one
Mailchimp sandbox account (latency on every request) with `max_concurrency` 8. Together they
must never have more than the account's 10 connections in flight, all succeed, and each
audience and store must hold exactly its company's records. While ACME's run is held in
progress, the other two finish and a second run of ACME is refused at once.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from target_mailchimp.ledger import Ledger, LedgerError, LedgerScope
from tests.e2e.expected import Expected, expected_state
from tests.reliability.test_faults_kit import PACIFIC, tap_singer_text
from tests.sandbox.intacct import Company, IntacctSandbox, generate_company
from tests.sandbox.mailchimp import MailchimpSandbox

TARGET = Path(sys.executable).with_name("target-mailchimp")
COMPANIES = ("ACME", "BETA", "GAMMA")
SIZES = {"customers": 14, "vendors": 12, "bills": 24, "payments": 10}


def _all(mc: MailchimpSandbox, path: str, key: str) -> list[dict[str, Any]]:
    import requests

    out: list[dict[str, Any]] = []
    offset = 0
    while True:
        got = requests.get(
            mc.base_url + path,
            params={"count": 1000, "offset": offset},
            auth=("t", mc.api_key),
            timeout=30,
        )
        got.raise_for_status()
        page = got.json()[key]
        out += page
        if len(page) < 1000:
            return out
        offset += len(page)


def assert_company_state(mc: MailchimpSandbox, list_id: str, store_id: str, exp: Expected) -> None:
    """The audience and store hold exactly the company's expected objects."""
    members = {
        m["email_address"].lower(): m for m in _all(mc, f"/lists/{list_id}/members", "members")
    }
    assert set(members) == set(exp.members), f"{list_id}: members differ from the oracle"
    for email, tags in exp.members.items():
        assert tags <= {t["name"] for t in members[email]["tags"]}, email
    store = f"/ecommerce/stores/{store_id}"
    customers = {c["id"]: c for c in _all(mc, f"{store}/customers", "customers")}
    assert set(customers) == set(exp.customers), f"{store_id}: customers differ"
    for cid, email in exp.customers.items():
        assert customers[cid]["email_address"].lower() == email
    assert {p["id"] for p in _all(mc, f"{store}/products", "products")} == exp.products
    orders = {o["id"]: o for o in _all(mc, f"{store}/orders", "orders")}
    assert set(orders) == set(exp.orders), f"{store_id}: orders differ"
    for oid, facts in exp.orders.items():
        assert orders[oid]["customer"]["id"] == facts["customer"], oid
        assert orders[oid]["financial_status"] == facts["financial_status"], oid
        assert float(orders[oid]["order_total"]) == float(facts["order_total"]), oid


@pytest.fixture
def fleet() -> Iterator[tuple[list[Company], list[IntacctSandbox], MailchimpSandbox]]:
    companies = [generate_company(seed=71 + i, **SIZES) for i in range(len(COMPANIES))]
    with ExitStack() as stack:
        intaccts = [stack.enter_context(IntacctSandbox(c)) for c in companies]
        mc = stack.enter_context(MailchimpSandbox(batch_start_delay=0.0))
        yield companies, intaccts, mc


def _config(mc: MailchimpSandbox, ledger_url: str, name: str, list_id: str, tmp_path: Path) -> Path:
    config = mc.target_config(
        status_if_new="subscribed",
        list_id=list_id,
        store_id=f"store-{name.lower()}",
        intacct_company_id=name,
        ledger_url=ledger_url,
        max_concurrency=8,
        max_retries=2,
        batch_operations="never",
    )
    path = tmp_path / f"target-{name}.json"
    path.write_text(json.dumps(config))
    return path


def _wait_running(url: str, scope: LedgerScope, timeout: float = 120) -> None:
    """Until the company's run holds its lock (its first stream started)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with Ledger(url, scope=scope, create_scope=False, heartbeat_interval=None) as led:
                if any(r.status == "running" for r in led.lock.runs()):
                    return
        except LedgerError:
            pass  # the scope is not registered yet
        time.sleep(0.05)
    raise AssertionError(f"{scope.describe()} never started")


def _start(config: Path, singer_file: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(TARGET), "--config", str(config)],
        stdin=singer_file.open(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.timeout(900)
def test_three_companies_share_one_ledger_and_one_account(
    fleet: tuple[list[Company], list[IntacctSandbox], MailchimpSandbox],
    pg_ledger_url: str,
    tmp_path: Path,
) -> None:
    companies, intaccts, mc = fleet
    lists = [mc.list_id, mc.add_list(name="Beta Audience"), mc.add_list(name="Gamma Audience")]
    singer_files = []
    for name, intacct in zip(COMPANIES, intaccts, strict=True):
        cfg = intacct.tap_config(timezone=PACIFIC, page_size=25)
        path = tmp_path / f"{name}.singer"
        path.write_text(tap_singer_text(cfg, []))
        singer_files.append(path)
    configs = [
        _config(mc, pg_ledger_url, name, list_id, tmp_path)
        for name, list_id in zip(COMPANIES, lists, strict=True)
    ]
    mc.latency = 0.08
    mc.reset_counters()

    # ACME's first call to its audience waits until released: its run stays in progress.
    hold = mc.faults.add("slow", times=1, seconds=120, path_prefix=f"/lists/{lists[0]}")
    procs = [_start(cfg, singer) for cfg, singer in zip(configs, singer_files, strict=True)]
    try:
        _wait_running(pg_ledger_url, LedgerScope("ACME", "", lists[0], "store-acme"))
        # The other companies are not held up by ACME: they finish while it runs.
        for name, p in zip(COMPANIES[1:], procs[1:], strict=True):
            _out, err = p.communicate(timeout=600)
            assert p.returncode == 0, f"{name}: {err[-4000:]}"
        assert procs[0].poll() is None, "ACME's run ended before the check"
        # A second run of ACME while its first runs is refused at once.
        t0 = time.monotonic()
        second = subprocess.run(
            [str(TARGET), "--config", str(configs[0])],
            stdin=singer_files[0].open(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        refused_after = time.monotonic() - t0
        assert second.returncode != 0
        assert "being synced by another run" in second.stderr, second.stderr[-3000:]
        assert refused_after < 30
        assert procs[0].poll() is None
        hold.release()
        _out, err = procs[0].communicate(timeout=600)
        assert procs[0].returncode == 0, f"ACME: {err[-4000:]}"
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    stats = mc.stats
    assert stats.rejected_concurrency == 0
    assert stats.max_in_flight <= 10
    assert stats.max_in_flight >= 6, "the runs did not use the account's connections"
    assert mc.count(status=429) == 0

    for name, company, list_id in zip(COMPANIES, companies, lists, strict=True):
        assert_company_state(mc, list_id, f"store-{name.lower()}", expected_state(company))
        scope = LedgerScope(name, "", list_id, f"store-{name.lower()}")
        with Ledger(pg_ledger_url, scope=scope, create_scope=False) as led:
            runs = led.lock.runs()
        assert [r.status for r in runs] == ["succeeded"], name
