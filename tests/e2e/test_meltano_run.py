"""`meltano run tap-intacct target-mailchimp` against both sandboxes, as a user runs it.

The sandboxes run in this process (so the test can read their request logs and change
Intacct data between runs); Meltano, the tap and the target run as real subprocesses from
the plugin environments `meltano install` made. What Mailchimp holds is read through the
sandbox's own GET endpoints and compared with an independent oracle (tests/e2e/expected.py).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.conftest import run_in_repo
from tests.e2e.expected import TAP_STREAMS, Expected, expected_state
from tests.sandbox.intacct import IntacctSandbox, generate_company
from tests.sandbox.launch import plugin_env
from tests.sandbox.mailchimp import MailchimpSandbox

pytestmark = pytest.mark.slow

SIZES = {"customers": 40, "vendors": 30, "bills": 80, "payments": 40}
STATE_ID = "sandbox:tap-intacct-to-target-mailchimp"
PARENT_OBJECTS = ("CUSTOMER", "VENDOR", "APBILL", "APPYMT")


def _meltano(
    meltano: Path, args: list[str], env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return run_in_repo([str(meltano), "--environment", "sandbox", *args], env)


def _all(mc: MailchimpSandbox, path: str, key: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = requests.get(
            f"{mc.base_url}{path}",
            params={"count": 1000, "offset": offset},
            auth=("e2e", mc.api_key),
            timeout=30,
        )
        page.raise_for_status()
        body = page.json()
        out.extend(body[key])
        offset += len(body[key])
        if not body[key] or offset >= body["total_items"]:
            return out


def _assert_mailchimp_matches(mc: MailchimpSandbox, exp: Expected) -> None:
    members = _all(mc, f"/lists/{mc.list_id}/members", "members")
    by_email = {m["email_address"].lower(): m for m in members}
    assert set(by_email) == set(exp.members), "audience members differ from the oracle"
    for email, tags in exp.members.items():
        got = {t["name"] for t in by_email[email]["tags"]}
        assert tags <= got, f"{email}: tags {got} lack {tags}"
        assert by_email[email]["status"] == "subscribed", email

    store = "/ecommerce/stores/intacct"
    customers = {c["id"]: c for c in _all(mc, f"{store}/customers", "customers")}
    assert set(customers) == set(exp.customers)
    for cid, email in exp.customers.items():
        assert customers[cid]["email_address"].lower() == email

    products = {p["id"] for p in _all(mc, f"{store}/products", "products")}
    assert products == exp.products

    orders = {o["id"]: o for o in _all(mc, f"{store}/orders", "orders")}
    assert set(orders) == set(exp.orders), "orders differ from the oracle"
    for oid, facts in exp.orders.items():
        got = orders[oid]
        assert got["customer"]["id"] == facts["customer"], oid
        assert got["financial_status"] == facts["financial_status"], oid
        # Mailchimp keeps money as a JSON number (a double); the exact text on the wire is
        # checked by the client's tests, here the value must round to the same double.
        assert float(got["order_total"]) == float(facts["order_total"]), oid
        assert len(got["lines"]) == facts["lines"], oid
        assert got["currency_code"] == facts["currency_code"], oid


def _state(meltano: Path, env: dict[str, str]) -> dict[str, Any]:
    got = _meltano(meltano, ["state", "get", STATE_ID], env)
    assert got.returncode == 0, got.stderr[-3000:]
    return json.loads(got.stdout)


def test_meltano_run_syncs_then_runs_incrementally(
    meltano_installed: Path, meltano_home: dict[str, str], tmp_path: Path
) -> None:
    company = generate_company(seed=11, **SIZES)
    with IntacctSandbox(company) as intacct, MailchimpSandbox() as mc:
        env = {
            **dict(__import__("os").environ),
            **plugin_env("TAP_INTACCT", intacct.tap_config()),
            **plugin_env("TARGET_MAILCHIMP", mc.target_config()),
            **meltano_home,
        }

        # 1. the first run: a full backfill
        first = _meltano(meltano_installed, ["run", "tap-intacct", "target-mailchimp"], env)
        assert first.returncode == 0, first.stderr[-5000:]
        assert "Run summary" in first.stderr or "run summary" in first.stderr.lower()
        intacct.assert_all_valid()
        _assert_mailchimp_matches(mc, expected_state(company))
        state = _state(meltano_installed, env)
        bookmarks = state["singer_state"]["bookmarks"]
        assert set(bookmarks) == TAP_STREAMS

        # 2. Intacct changes: a vendor's new address, a bill paid in full, a bill reversed
        sp = company.special
        vendor_no = next(
            r["RECORDNO"]
            for r in company.records("VENDOR", typed=True)
            if r["STATUS"] == "active"
            and r["VENDORID"]
            in {
                o["customer"].removeprefix("vendor-")
                for o in expected_state(company).orders.values()
            }
        )
        company.update("VENDOR", vendor_no, {"DISPLAYCONTACT.EMAIL1": "moved.vendor@example.org"})
        company.update("APBILL", sp["bill_states"]["Reversed"], {"STATE": "Posted"})
        company.update("APBILL", sp["bill_states"]["Draft"], {"STATE": "Reversed"})
        mc.reset_counters()
        intacct.reset_log()

        second = _meltano(meltano_installed, ["run", "tap-intacct", "target-mailchimp"], env)
        assert second.returncode == 0, second.stderr[-5000:]
        exp = expected_state(company)
        # the old address of the moved vendor stays a member: the sync never deletes contacts
        _assert_mailchimp_matches_after_move(mc, exp)
        writes = mc.count(writes_only=True)
        assert 0 < writes <= 12, f"an incremental run of 3 changes made {writes} writes"
        # incremental: the tap read from its bookmarks, so its queries carry a lower bound
        parents = [
            r.body.decode()
            for r in intacct.requests_for("query")
            if any(f"<object>{o}</object>" in r.body.decode() for o in PARENT_OBJECTS)
        ]
        assert parents
        for body in parents:
            assert "<greaterthan><field>WHENMODIFIED</field>" in body, body
            assert "<isnull>" not in body, "an incremental run re-read rows without WHENMODIFIED"

        # 3. nothing changed: zero Mailchimp writes
        mc.reset_counters()
        third = _meltano(meltano_installed, ["run", "tap-intacct", "target-mailchimp"], env)
        assert third.returncode == 0, third.stderr[-5000:]
        assert mc.count(writes_only=True) == 0

    # the audit report renders the three runs
    report = tmp_path / "report.html"
    rendered = subprocess.run(
        [
            str(meltano_installed.with_name("target-mailchimp-report")),
            "--ledger-url",
            meltano_home["TARGET_MAILCHIMP_LEDGER_URL"],
            "--output",
            str(report),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert rendered.returncode == 0, rendered.stderr
    html = report.read_text(encoding="utf-8")
    assert html.count("<svg") >= 1
    assert "bill-" in html or "rejected" in html.lower()


def _assert_mailchimp_matches_after_move(mc: MailchimpSandbox, exp: Expected) -> None:
    members = _all(mc, f"/lists/{mc.list_id}/members", "members")
    emails = {m["email_address"].lower() for m in members}
    assert set(exp.members) <= emails
    assert "moved.vendor@example.org" in emails
    # only the moved vendor's old address may be extra
    assert len(emails - set(exp.members)) <= 1
    orders = {o["id"]: o for o in _all(mc, "/ecommerce/stores/intacct/orders", "orders")}
    for oid, facts in exp.orders.items():
        assert orders[oid]["financial_status"] == facts["financial_status"], oid
