"""Crash and resume: SIGKILL the tap, the target or the whole `meltano run` mid-sync, run
again, and Mailchimp holds exactly what the oracle says; the audit trail agrees.

Every trial is seeded (`random.Random(seed)` picks the settings and the kill point), so a
failing trial is replayed by its id. Kill points are request counts of the sandboxes
(deterministic for a company and settings), drawn below the count of a clean run of the same
company and settings (measured once and cached), so every kill lands mid-sync. See
crash_harness.py for the design.

Kinds (KINDS): kill the tap at an Intacct request; the target at a Mailchimp request, while
an order or /batches POST it sent is carried out but unanswered, twice in a row, or while it
waits for a batch; the whole `meltano run` at a request of either sandbox; and the tap, the
target and meltano during an incremental run (after a full run and changes in Intacct: bill
states, names, new and voided payments).

A kill right after a POST /batches (`target-after-batch-submit`) also checks the resume's
cost: its Mailchimp calls are at most those of a clean run (the killed run's batches are
recovered from their results, not sent again).

`make test` runs a short version (`test_crash_resume_short`, 5 trials: one of each victim
and one right after a /batches submit, plus the stale-batch test); `make soak`
(`pytest -m soak`) runs `test_crash_resume_soak`, 3 trials of each of the 11 kinds (33), and
3 more stale-batch trials (36 in all).
"""

from __future__ import annotations

import gzip
import random
import re
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from tests.e2e.conftest import meltano_installed
from tests.e2e.expected import TAP_STREAMS
from tests.reliability.crash_harness import (
    CrashEnv,
    KillPlan,
    RunOutcome,
    check_synced,
    crash_env,
    meltano_state,
    run_meltano,
    run_piped,
    run_statuses,
)

SIZES = {"customers": 50, "vendors": 30, "bills": 100, "payments": 50}
COMPANY_SEEDS = (3, 5)

#: Trial kinds: (victim, counter, incremental, during_write, kills before the resume)
KINDS: dict[str, tuple[str, str, bool, bool, int]] = {
    "tap": ("tap", "intacct", False, False, 1),
    "target": ("target", "mailchimp", False, False, 1),
    "target-during-write": ("target", "mailchimp", False, True, 1),
    "target-twice": ("target", "mailchimp", False, False, 2),
    "tap-incremental": ("tap", "intacct", True, False, 1),
    "target-incremental": ("target", "mailchimp", True, False, 1),
    "target-batch-pending": ("target", "ledger-open-batches", False, False, 1),
    "meltano": ("meltano", "mailchimp", False, False, 1),
    "meltano-incremental": ("meltano", "mailchimp", True, False, 1),
    "meltano-intacct": ("meltano", "intacct", False, False, 1),
    "target-after-batch-submit": ("target", "mailchimp-batches-open", False, False, 1),
}


@dataclass(frozen=True)
class Settings:
    company_seed: int
    page_size: int
    batch_size_rows: int
    batch_operations: str
    drain_every: int

    @classmethod
    def draw(cls, rng: random.Random) -> Settings:
        return cls(
            company_seed=rng.choice(COMPANY_SEEDS),
            page_size=rng.choice((15, 25)),
            batch_size_rows=rng.choice((20, 40)),
            batch_operations=rng.choice(("never", "auto")),
            drain_every=rng.choice((30, 70)),
        )


_CLEAN_COUNTS: dict[tuple[Settings, bool, bool], dict[str, int]] = {}


def _env(tmp: Path, s: Settings) -> AbstractContextManager[CrashEnv]:
    return crash_env(
        tmp,
        seed=s.company_seed,
        sizes=SIZES,
        page_size=s.page_size,
        batch_size_rows=s.batch_size_rows,
        batch_operations=s.batch_operations,
        batch_threshold=10,
        drain_every=s.drain_every,
    )


def _mutate(env: CrashEnv, rng: random.Random) -> None:
    """Changes in Intacct between two runs: bill states, names, new and voided payments."""
    company = env.company
    bills = company.recordnos("APBILL")
    for no in rng.sample(bills, 12):
        company.update("APBILL", no, {"STATE": rng.choice(("Posted", "Reversed", "Draft"))})
    for no in rng.sample(company.recordnos("CUSTOMER"), 8):
        company.update("CUSTOMER", no, {"NAME": f"Renamed {no} & Co <{rng.randint(1, 99)}>"})
    for no in rng.sample(company.recordnos("VENDOR"), 4):
        company.update("VENDOR", no, {"NAME": f"Vendor {no} \u00e9t\u00e9"})
    # new payments that pay unpaid bills in full (their orders become paid) ...
    unpaid = [
        b
        for b in company.records("APBILL", typed=True)
        if b["STATE"] == "Posted"
        and b.get("CURRENCY") == "USD"
        and b["TOTALENTERED"] > 0
        and not company.details_for_bill(b["RECORDNO"])
        and company.lines(b["RECORDNO"])
    ]
    for bill in rng.sample(unpaid, min(5, len(unpaid))):
        amount = bill["TOTALENTERED"]
        pay = company.add(
            "APPYMT",
            {
                "STATE": "Complete",
                "VENDORID": bill["VENDORID"],
                "PAYMENTMETHOD": "ACH",
                "FINANCIALENTITY": "AMEX-CARD",
                "TOTALENTERED": amount,
                "TOTALPAID": amount,
                "TRX_TOTALENTERED": amount,
                "TRX_TOTALPAID": amount,
                "CURRENCY": "USD",
                "BASECURR": "USD",
            },
        )
        company.add(
            "APPYMTDETAIL",
            {
                "PAYMENTKEY": pay,
                "RECORDKEY": bill["RECORDNO"],
                "ENTRYKEY": company.lines(bill["RECORDNO"])[0]["RECORDNO"],
                "PAYMENTAMOUNT": amount,
                "TRX_PAYMENTAMOUNT": amount,
                "CURRENCY": "USD",
            },
        )
    # ... and voided ones (their bills go back to pending)
    complete = [
        p["RECORDNO"] for p in company.records("APPYMT", typed=True) if p["STATE"] == "Complete"
    ]
    for no in rng.sample(complete, 3):
        company.update("APPYMT", no, {"STATE": "Voided"})


def _clean_counts(tmp: Path, s: Settings, incremental: bool, meltano: bool) -> dict[str, int]:
    """Requests a clean (unkilled) run of the killed phase makes, per sandbox."""
    key = (s, incremental, meltano)
    run = run_meltano if meltano else run_piped
    if key not in _CLEAN_COUNTS:
        with _env(tmp, s) as env:
            if incremental:
                assert _ok(run(env))
                _mutate(env, random.Random(s.company_seed))
                env.intacct.reset_log()
                env.mc.reset_counters()
            assert _ok(run(env))
            check_synced(env)
            _CLEAN_COUNTS[key] = {
                "intacct": len(env.intacct.requests),
                "mailchimp": len(env.mc.requests),
                "mailchimp-batches": env.counter("mailchimp-batches")(),
            }
    return _CLEAN_COUNTS[key]


def _ok(run: RunOutcome) -> bool:
    assert all(rc == 0 for rc in run.returncodes.values()), run.tail()
    return True


def run_trial(tmp: Path, kind: str, seed: int, settings: Settings | None = None) -> str:
    """One seeded trial: (prior run, changes,) killed run(s), resume; checks; a summary."""
    victim, counter, incremental, during_write, kills = KINDS[kind]
    rng = random.Random(seed)
    drawn = Settings.draw(rng)
    s = settings or drawn
    meltano = victim == "meltano"
    if counter in ("ledger-open-batches", "mailchimp-batches-open"):
        # killed while it waits for a batch: the target must send some through /batches
        s = replace(s, batch_operations="auto")
    if meltano:
        # Meltano passes only the settings meltano.yml declares: no batch_size_rows or
        # batch_poll_interval, so no /batches (their polls would wait 5 s)
        s = replace(s, batch_operations="never")
    clean = _clean_counts(tmp / "clean", s, incremental, meltano)
    run = run_meltano if meltano else run_piped
    notes: list[str] = [f"{kind} seed={seed} {s}"]
    with _env(tmp / "trial", s) as env:
        if incremental:
            assert _ok(run(env))
            check_synced(env)
            _mutate(env, random.Random(s.company_seed))
            env.intacct.reset_log()
            env.mc.reset_counters()
        remaining = clean.get(counter, 1)
        for i in range(kills):
            # The kill must land before the end: the first in the first 90% of a clean run's
            # requests (60% when a second kill follows); a resumed run has only what the
            # killed one left, so the next kill is drawn in the first half of that.
            share = 0.9 if kills == 1 else (0.6 if i == 0 else 0.5)
            after = rng.randint(1, max(1, int(remaining * share)))
            remaining = max(2, remaining - after)
            if counter == "ledger-open-batches":  # batches open now, not a running count
                before, after = 0, 1
            elif counter == "mailchimp-batches-open":  # right after the k-th POST /batches
                before, after = 0, rng.randint(1, max(1, clean.get("mailchimp-batches", 1)))
            else:
                before = env.counter(counter)()
            plan = KillPlan(victim, counter, before + after, during_write=during_write)
            killed = run(env, plan)
            assert killed.killed, f"{plan.describe()}: the run ended before the kill\n" + (
                killed.tail()
            )
            notes.append(
                f"{plan.describe()} (clean run: {clean.get(counter, '-')}), state emitted: "
                f"{killed.state_emitted}, exit {killed.returncodes}"
            )
            if victim == "tap":
                # the target saw the end of its input: it drains, emits STATE, ends cleanly
                assert killed.returncodes["target"] == 0, killed.tail()
        calls_before = len(env.mc.requests)
        left_open = env.counter("ledger-open-batches")()
        resumed = run(env)
        assert _ok(resumed)
        calls = len(env.mc.requests) - calls_before
        notes.append(f"resume {resumed.seconds:.1f}s, {calls} Mailchimp calls")
        if counter in ("mailchimp-batches-open", "ledger-open-batches"):
            # The killed run's batches are read, not sent again: the resume costs about what
            # the rest of a clean run costs (drains group records differently, so a little
            # more is allowed), never the many-fold of sending a batch's operations again one
            # by one after "already exists".
            made = Counter(
                f"{r.method} {'/'.join(r.api_path.split('/')[:5])}"
                for r in env.mc.requests[calls_before:]
            )
            bound = clean["mailchimp"] * 5 // 4 + 2 * left_open + 2
            assert calls <= bound, (calls, clean["mailchimp"], dict(made), resumed.tail())
            notes.append(f"{left_open} batches left open, resume calls {dict(made)}")
            if left_open:
                target_log = resumed.stderr["target"]
                assert "recorded from its results" in target_log or "cancelled" in target_log
        check_synced(env)
        statuses = run_statuses(env)
        assert statuses[-1] == "succeeded", statuses
        if victim in ("target", "meltano"):
            # the killed run's lock was taken over at once (its process is gone) and the run
            # marked abandoned; a run killed before it opened the ledger left no row
            assert "running" not in statuses
            assert statuses.count("abandoned") <= kills
            if "abandoned" in statuses:
                # taken over at once (the holder's process is dead), not after stale_after
                later = " ".join(t for r in env.runs[1:] for t in r.stderr.values())
                assert "took over the stale lock of run" in later, resumed.tail()
        if meltano:
            state = meltano_state(env)
            assert state is not None, "meltano kept no state after the resumed run"
            bookmarks = state["singer_state"]["bookmarks"]
            assert set(bookmarks) == TAP_STREAMS
        notes.append(f"runs {statuses}")
    return "; ".join(notes)


SHORT = [
    ("target", 11),
    ("tap", 12),
    ("target-during-write", 13),
    ("meltano", 14),
    ("target-after-batch-submit", 21),
]
#: One set of settings for the short trials, so one clean run calibrates the piped ones.
SHORT_SETTINGS = Settings(
    company_seed=3, page_size=25, batch_size_rows=20, batch_operations="auto", drain_every=30
)


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "seed"), SHORT, ids=[f"{k}-{s}" for k, s in SHORT])
def test_crash_resume_short(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, kind: str, seed: int
) -> None:
    if kind.startswith("meltano"):
        request.getfixturevalue("meltano_installed")
    tmp = tmp_path_factory.mktemp(f"crash-{kind}")
    print(run_trial(tmp, kind, seed, SHORT_SETTINGS))


SOAK = [(kind, 100 + i) for i, kind in enumerate(list(KINDS) * 3)]


@pytest.mark.soak
@pytest.mark.parametrize(("kind", "seed"), SOAK, ids=[f"{k}-{s}" for k, s in SOAK])
def test_crash_resume_soak(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str, seed: int
) -> None:
    if kind.startswith("meltano"):
        request.getfixturevalue("meltano_installed")
    print(run_trial(tmp_path, kind, seed))


def stale_batch_trial(tmp_path: Path, seed: int) -> None:
    """A killed run's POST /batches that Mailchimp runs late, after the next run wrote newer
    data, must not leave the old data in Mailchimp."""
    s = Settings(
        company_seed=COMPANY_SEEDS[seed % 2],
        page_size=25,
        batch_size_rows=40,
        batch_operations="auto",
        drain_every=0,
    )
    with _env(tmp_path, s) as env:
        assert _ok(run_piped(env))
        company = env.company
        before = {
            obj: {r["RECORDNO"]: r["STATE"] for r in company.records(obj, typed=True)}
            for obj in ("APBILL", "APPYMT")
        }
        _mutate(env, random.Random(seed))
        # the incremental run submits its order changes as a batch, which Mailchimp queues
        env.target_config["batch_threshold"] = 2
        env.mc.pause_batches()
        # killed while it waits for its batch (Mailchimp may take minutes to run one)
        killed = run_piped(env, KillPlan("target", "ledger-open-batches", 1))
        assert killed.killed, killed.tail()
        # Intacct changes back before the next run: the queued batch is now out of date
        for obj, states in before.items():
            for rec in company.records(obj, typed=True):
                old = states.get(rec["RECORDNO"], "Voided")
                if rec["STATE"] != old:
                    company.update(obj, rec["RECORDNO"], {"STATE": old})
        env.target_config["batch_operations"] = "never"
        resumed = run_piped(env)
        assert _ok(resumed)
        env.mc.resume_batches()  # Mailchimp gets round to the killed run's batch
        assert env.mc.wait_for_batches(timeout=30)
        check_synced(env)


@pytest.mark.slow
def test_batch_of_a_killed_run_never_overwrites_a_newer_write(tmp_path: Path) -> None:
    stale_batch_trial(tmp_path, 1)


@pytest.mark.soak
@pytest.mark.parametrize("seed", [2, 3, 4])
def test_batch_of_a_killed_run_never_overwrites_a_newer_write_soak(
    tmp_path: Path, seed: int
) -> None:
    stale_batch_trial(tmp_path, seed)


__all__ = ["meltano_installed"]  # the fixture (`meltano install` once), for the meltano kinds


# ------------------------------------------------------------------ periodic state


def _records_read(env: CrashEnv) -> int:
    """Input records the last run read: those with an audit row of that run."""
    import contextlib
    import sqlite3

    with contextlib.closing(sqlite3.connect(f"file:{env.ledger_path}?mode=ro", uri=True)) as conn:
        (run_id,) = conn.execute(
            "SELECT run_id FROM runs ORDER BY started_at DESC, run_id DESC LIMIT 1"
        ).fetchone()
        rows = conn.execute(
            "SELECT DISTINCT stream, source_key FROM audit WHERE run_id = ? AND source_key "
            "IS NOT NULL AND stream IN ('customers', 'vendors', 'ap_bills', 'ap_payments')",
            (run_id,),
        ).fetchall()
    return len(rows)


def _timed_env(tmp: Path) -> AbstractContextManager[CrashEnv]:
    # Buffers large enough never to fill: only state_interval_seconds makes STATE move.
    return crash_env(
        tmp, seed=3, sizes=SIZES, page_size=10, batch_size_rows=5000, batch_operations="never"
    )


_DATA = re.compile(rb'<data listtype="(CUSTOMER|VENDOR|APBILL|APPYMT)"[^>]*? count="(\d+)"')


def _records_served(env: CrashEnv) -> Callable[[], int]:
    """A counter of the customers, vendors, bills and payments Intacct has answered so far."""
    seen: dict[int, int] = {}

    def count() -> int:
        for record in list(env.intacct.requests):
            if record.index in seen or record.response is None:
                continue
            body = record.response
            if body[:2] == b"\x1f\x8b":
                body = gzip.decompress(body)
            seen[record.index] = sum(int(m.group(2)) for m in _DATA.finditer(body))
        return sum(seen.values())

    return count


@pytest.mark.slow
def test_a_run_killed_after_two_thirds_rereads_at_most_half_on_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real target (no test-only drains), its state every 0.1 s: killed once Intacct has
    answered two thirds of the records, the resumed run reads at most half of them (the
    third it never got, and little more)."""
    total = sum(SIZES.values())
    with _timed_env(tmp_path) as env:
        env.intacct.latency = 0.2  # Intacct is the slow side, as in real runs
        env.intacct.keep_responses = True  # the kill counts the records answered
        env.target_config["state_interval_seconds"] = 0.1
        served = _records_served(env)
        monkeypatch.setattr(env, "counter", lambda _name: served)
        plan = KillPlan("target", "intacct-records", after=total * 2 // 3)
        killed = run_piped(env, plan, frequent_state=False)
        assert killed.killed and killed.state_emitted, killed.tail()
        assert served() < total, "the kill came after the extraction"
        resumed = run_piped(env, frequent_state=False)
        assert _ok(resumed)
        check_synced(env)
        again = _records_read(env)
        assert again <= total // 2, f"the resumed run read {again} of {total} records again"
