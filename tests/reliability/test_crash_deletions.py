"""Crash and resume with deletions: after a full run, Intacct deletes records of every kind;
the run that carries the deletions is SIGKILLed (the target at a Mailchimp request, or the tap
at an Intacct request), and the resumed run leaves Mailchimp exactly as the oracle says: the
members of the deleted customers and vendors archived, the deleted documents' orders gone,
the orders of deleted payments re-evaluated, nothing else touched; every deletion audited.
Seeded: a failing trial replays by its id."""

from __future__ import annotations

import contextlib
import random
from pathlib import Path

import pytest

from tests.e2e.expected import expected_state
from tests.reliability.crash_harness import (
    CrashEnv,
    KillPlan,
    _ledger,
    crash_env,
    run_piped,
    run_statuses,
)
from tests.sandbox.intacct.data import delete_some

SIZES = {
    "customers": 40,
    "vendors": 30,
    "bills": 60,
    "payments": 25,
    "invoices": 40,
    "ar_payments": 25,
}
OBJECT_STREAMS = {
    "CUSTOMER": "customers",
    "VENDOR": "vendors",
    "APBILL": "ap_bills",
    "APPYMT": "ap_payments",
    "ARINVOICE": "ar_invoices",
    "ARPYMT": "ar_payments",
}


def _members(env: CrashEnv) -> dict[str, dict]:
    members = env.mc.snapshot()["lists"][env.mc.list_id]["members"]
    return {m["email_address"].lower(): m for m in members.values()}


def check_after_deletions(
    env: CrashEnv, before: dict[str, dict], before_customers: set[str], deleted: dict
) -> None:
    exp = expected_state(env.company)
    members = _members(env)
    live = {e: m for e, m in members.items() if m["status"] != "archived"}
    archived = {e for e, m in members.items() if m["status"] == "archived"}
    assert set(live) == set(exp.members), (
        f"live members differ: missing {sorted(set(exp.members) - set(live))[:3]}, "
        f"extra {sorted(set(live) - set(exp.members))[:3]}"
    )
    for email, tags in exp.members.items():
        got = {t["name"] for t in live[email]["tags"]}
        assert tags <= got, email
        assert live[email]["status"] == "subscribed", email
    # Exactly the members of the deleted records that no live record keeps were archived.
    assert archived == set(before) - set(exp.members)
    assert archived, "the trial deleted no member: a vacuous check"
    store = env.mc.snapshot()["stores"]["intacct"]
    # E-commerce customers of deleted records stay (their orders refer to them).
    assert set(store["customers"]) == set(exp.customers) | (before_customers - set(exp.customers))
    orders = store["orders"]
    assert set(orders) == set(exp.orders)
    for oid, facts in exp.orders.items():
        assert orders[oid]["financial_status"] == facts["financial_status"], oid
        assert len(orders[oid]["lines"]) == facts["lines"], oid
    with contextlib.closing(_ledger(env)) as conn:
        assert conn.execute("SELECT count(*) FROM locks").fetchone()[0] == 0
        for obj, nos in deleted.items():
            stream = OBJECT_STREAMS[obj]
            for no in nos:
                actions = {
                    r[0]
                    for r in conn.execute(
                        "SELECT action FROM audit WHERE stream = ? AND source_key = ? "
                        "AND detail LIKE 'deleted in Intacct%'",
                        (stream, str(no)),
                    )
                }
                assert actions & {"deleted", "skipped"}, (stream, no, actions)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("victim", "seed"), [("target", 21), ("tap", 22)], ids=["target-21", "tap-22"]
)
def test_crash_resume_with_deletions(tmp_path: Path, victim: str, seed: int) -> None:
    rng = random.Random(seed)
    with crash_env(tmp_path, seed=3, sizes=SIZES, page_size=15, drain_every=20) as env:
        first = run_piped(env)
        assert all(rc == 0 for rc in first.returncodes.values()), first.tail()
        before = {e for e, m in _members(env).items() if m["status"] == "subscribed"}
        before_members = {e: _members(env)[e] for e in before}
        before_customers = set(env.mc.snapshot()["stores"]["intacct"]["customers"])
        deleted = delete_some(env.company, 2, rng=random.Random(seed))
        assert sum(len(v) for v in deleted.values()) >= 10
        counter = "mailchimp" if victim == "target" else "intacct"
        base = env.counter(counter)()
        plan = KillPlan(victim, counter, base + rng.randint(2, 6))
        killed = run_piped(env, plan)
        assert killed.killed, f"{plan.describe()}: the run ended before the kill\n{killed.tail()}"
        resumed = run_piped(env)
        assert all(rc == 0 for rc in resumed.returncodes.values()), resumed.tail()
        check_after_deletions(env, before_members, before_customers, deleted)
        assert run_statuses(env)[-1] == "succeeded"
        # And a further run writes nothing to Mailchimp.
        env.mc.reset_counters()
        again = run_piped(env)
        assert all(rc == 0 for rc in again.returncodes.values()), again.tail()
        assert env.mc.count(writes_only=True) == 0
