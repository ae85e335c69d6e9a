"""One ledger database for a fleet of companies (scopes), its run locks and shared slots.

On the embedded PostgreSQL server: each company's rows kept apart, one run per company at a
time while other companies run, a killed run's lock and Mailchimp connection slots back at
once, the account's slots never more than 10 together and shared fairly. On SQLite: one
company per file. And a ledger written before scopes existed (the SQL dump in fixtures/, made
by the code of commit 3d212cd) keeps its rows after the upgrade, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, create_engine, inspect, text

from target_mailchimp.ledger import (
    Ledger,
    LedgerError,
    LedgerLockedError,
    LedgerScope,
    list_scopes,
)
from target_mailchimp.ledger.slots import PostgresAccountSlots

REPO_ROOT = Path(__file__).resolve().parents[2]
LEGACY_DUMP = Path(__file__).with_name("fixtures") / "ledger_v1_single_company.sql"
LEGACY_RUN = "20240301T120000Z-legacy01"

ACME = LedgerScope("ACME", "", "list-a", "store-a")
BETA = LedgerScope("BETA", "", "list-b", "store-b")
GAMMA = LedgerScope("GAMMA", "EAST", "list-a", "store-g")


@pytest.fixture
def ledgers(pg_ledger_url: str) -> Iterator[Callable[..., Ledger]]:
    opened: list[Ledger] = []

    def make(scope: LedgerScope | None, url: str = pg_ledger_url, **kw: Any) -> Ledger:
        kw.setdefault("heartbeat_interval", None)
        led = Ledger(url, scope=scope, **kw)
        opened.append(led)
        return led

    yield make
    for led in opened:
        led.close()


def _write(led: Ledger, object_id: str, payload_hash: str) -> None:
    led.writes.record_write("customer", object_id, payload_hash=payload_hash, action="created")


# ----------------------------------------------------------------------------- rows apart


def test_each_company_has_its_own_rows_in_one_database(
    ledgers: Callable[..., Ledger], pg_ledger_url: str
) -> None:
    acme, beta, gamma = ledgers(ACME), ledgers(BETA), ledgers(GAMMA)
    for led, digest in ((acme, "a" * 64), (beta, "b" * 64), (gamma, "c" * 64)):
        _write(led, "C-1", digest)
    _write(beta, "C-2", "d" * 64)

    assert acme.writes.object_state("customer", "C-1").payload_hash == "a" * 64  # type: ignore[union-attr]
    assert beta.writes.object_state("customer", "C-1").payload_hash == "b" * 64  # type: ignore[union-attr]
    assert gamma.writes.object_state("customer", "C-1").payload_hash == "c" * 64  # type: ignore[union-attr]
    assert acme.writes.object_state("customer", "C-2") is None
    assert "C-1" in acme.writes.unchanged("customer", {"C-1": "a" * 64})
    assert "C-1" not in beta.writes.unchanged("customer", {"C-1": "a" * 64})

    # A second Ledger object of the same company sees that company's rows (a later run).
    again = ledgers(LedgerScope("BETA", "", "list-b", "store-b"))
    assert again.schema_name == beta.schema_name
    assert again.writes.object_state("customer", "C-2") is not None

    engine = create_engine(pg_ledger_url)
    try:
        with engine.connect() as conn:
            scopes = list_scopes(conn)
            default = conn.execute(text("SELECT current_schema()")).scalar_one()
            schemas = set(inspect(conn).get_schema_names())
    finally:
        engine.dispose()
    assert set(scopes.values()) == {ACME, BETA, GAMMA}
    # the first company keeps the database's own tables; the others have a schema each
    assert scopes[default] == ACME and acme.schema_name == default
    assert beta.schema_name in schemas and gamma.schema_name in schemas
    assert len({acme.schema_name, beta.schema_name, gamma.schema_name}) == 3


def test_a_scope_without_company_id_is_claimed_by_its_company(
    ledgers: Callable[..., Ledger],
) -> None:
    before = ledgers(LedgerScope("", "", "list-a", "store-a"))
    _write(before, "C-9", "e" * 64)
    claimed = ledgers(ACME)
    assert claimed.schema_name == before.schema_name
    assert claimed.writes.object_state("customer", "C-9") is not None
    # another company of the same audience and store does not get ACME's rows
    other = ledgers(LedgerScope("OTHER", "", "list-a", "store-a"))
    assert other.schema_name != claimed.schema_name
    assert other.writes.object_state("customer", "C-9") is None


def test_an_unknown_scope_is_not_created_when_only_reading(pg_ledger_url: str) -> None:
    with Ledger(pg_ledger_url, scope=ACME, heartbeat_interval=None):
        pass
    with pytest.raises(LedgerError, match="holds no rows of Intacct company BETA"):
        Ledger(pg_ledger_url, scope=BETA, create_scope=False)


# ----------------------------------------------------------------------------- run locks


def test_one_run_per_company_while_other_companies_run(
    ledgers: Callable[..., Ledger],
) -> None:
    first = ledgers(ACME)
    run = first.lock.start_run()
    t0 = time.monotonic()
    with pytest.raises(LedgerLockedError, match="being synced by another run") as refused:
        ledgers(ACME).lock.start_run()
    # the same company and audience with another store is the same company: refused too
    with pytest.raises(LedgerLockedError, match=f"target-mailchimp {run}"):
        ledgers(LedgerScope("ACME", "", "list-a", "store-other")).lock.start_run()
    assert time.monotonic() - t0 < 5
    assert "ACME" in str(refused.value)

    others = [ledgers(BETA), ledgers(GAMMA)]
    other_runs = [led.lock.start_run() for led in others]
    _write(others[0], "C-1", "b" * 64)
    for led, rid in zip(others, other_runs, strict=True):
        led.lock.finish_run(rid)

    first.lock.finish_run(run)
    again = ledgers(ACME)
    again.lock.finish_run(again.lock.start_run())
    assert [r.status for r in again.lock.runs()] == ["succeeded", "succeeded"]


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from target_mailchimp.ledger import Ledger, LedgerScope
    from target_mailchimp.ledger.slots import PostgresAccountSlots
    url, account = sys.argv[1], sys.argv[2]
    led = Ledger(url, scope=LedgerScope("ACME", "", "list-a", "store-a"), heartbeat_interval=None)
    run = led.lock.start_run()
    slots = PostgresAccountSlots(url)
    held = [slots.hold(account) for _ in range(10)]
    for h in held:
        h.__enter__()
    print("holding", run, flush=True)
    time.sleep(600)
    """
)


def test_a_killed_run_gives_back_its_lock_and_slots_at_once(pg_ledger_url: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, pg_ledger_url, "key-fleettest"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.startswith("holding"), line
        with (
            Ledger(pg_ledger_url, scope=ACME, heartbeat_interval=None) as led,
            pytest.raises(LedgerLockedError),
        ):
            led.lock.start_run()
        probe = PostgresAccountSlots(pg_ledger_url, poll_interval=0.01)
        got: list[int] = []
        waiter = threading.Thread(target=lambda: got.append(probe._acquire("key-fleettest")))
        waiter.daemon = True
        waiter.start()
        waiter.join(0.5)
        assert got == [], "a slot was free while the live run held all ten"
        proc.kill()
        proc.wait(timeout=30)
        t0 = time.monotonic()
        waiter.join(10)
        assert len(got) == 1, "the killed run's slots did not come back"
        # the other nine are free too: another run gets them beside the probe's one
        other = PostgresAccountSlots(pg_ledger_url, share_refresh=0.0)
        contexts = [other.hold("key-fleettest") for _ in range(5)]
        for c in contexts:
            c.__enter__()  # two runs on the account now: five slots each
        assert other.held("key-fleettest") == 5
        for c in contexts:
            c.__exit__(None, None, None)
        other.close()
        probe.close()
        with Ledger(pg_ledger_url, scope=ACME, heartbeat_interval=None) as led:
            run = led.lock.start_run()  # the dead run's lock was taken over
            led.lock.finish_run(run)
            statuses = {r.run_id: r.status for r in led.lock.runs()}
        assert sorted(statuses.values()) == ["abandoned", "succeeded"]
        assert time.monotonic() - t0 < 15
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# ----------------------------------------------------------------------------- slots


def test_runs_on_one_account_never_hold_more_than_ten_slots_and_share_them(
    pg_ledger_url: str,
) -> None:
    providers = [PostgresAccountSlots(pg_ledger_url, share_refresh=0.05) for _ in range(3)]
    account = "key-shared"
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}
    done = [0, 0, 0]
    stop = time.monotonic() + 3.0
    # every provider joins before the race starts, so shares are even from the beginning
    for p in providers:
        with p.hold(account):
            pass
    time.sleep(0.1)  # past every provider's share cache: each now sees three runs

    def worker(index: int) -> None:
        provider = providers[index]
        while time.monotonic() < stop:
            with provider.hold(account):
                with lock:
                    state["now"] += 1
                    state["peak"] = max(state["peak"], state["now"])
                time.sleep(0.01)
                with lock:
                    state["now"] -= 1
                    done[index] += 1

    threads = [threading.Thread(target=worker, args=(i // 8,)) for i in range(24)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    try:
        assert state["peak"] <= 10
        assert state["peak"] >= 8  # the budget is used, not starved
        for p in providers:
            assert p.peak[account] <= 10 // 3  # an even share each
        # no run starves: each did a fair part of the work
        assert min(done) > 0.5 * max(done), done
    finally:
        for p in providers:
            p.close()

    alone = PostgresAccountSlots(pg_ledger_url)
    try:
        held = [alone.hold(account) for _ in range(10)]
        for h in held:
            h.__enter__()
        assert alone.held(account) == 10  # a run alone gets the whole budget
        for h in held:
            h.__exit__(None, None, None)
    finally:
        alone.close()


# ----------------------------------------------------------------------------- SQLite


def test_sqlite_serves_one_company(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    with Ledger(url, scope=ACME, heartbeat_interval=None) as led:
        led.lock.finish_run(led.lock.start_run())
        _write(led, "C-1", "a" * 64)
    with pytest.raises(LedgerError, match="a SQLite ledger serves one company"):
        Ledger(url, scope=BETA)
    # the same company moving to another store keeps its file and rows
    moved = LedgerScope("ACME", "", "list-a", "store-new")
    with Ledger(url, scope=moved, heartbeat_interval=None) as led:
        assert led.writes.object_state("customer", "C-1") is not None
        assert len(led.lock.runs()) == 1


# ----------------------------------------------------------------------------- upgrades


def _legacy_sqlite(path: Path) -> None:
    con = sqlite3.connect(path)
    try:
        con.executescript(LEGACY_DUMP.read_text(encoding="utf-8"))
    finally:
        con.close()


def _assert_legacy_rows(led: Ledger) -> None:
    member = led.writes.object_state("member", "0f3b1c2d")
    assert member is not None and member.payload_hash == "a" * 64
    assert led.writes.object_state("order", "bill-77") is not None
    assert [r.run_id for r in led.lock.runs()] == [LEGACY_RUN]
    assert led.sources.bill("77") is not None
    assert [
        c.source_id for c in led.sources.contacts_for_emails(["ann@example.com"])["ann@example.com"]
    ] == ["C-1"]
    assert [p.source_key for p in led.sources.parked()] == ["6"]
    assert len(led.audit.rows(LEGACY_RUN)) == 2
    assert "0f3b1c2d" in led.writes.unchanged("member", {"0f3b1c2d": "a" * 64})


def test_a_single_company_sqlite_ledger_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    _legacy_sqlite(path)
    url = f"sqlite:///{path}"
    with Ledger(url, scope=ACME, heartbeat_interval=None) as led:
        _assert_legacy_rows(led)
        run = led.lock.start_run()
        led.lock.finish_run(run)
    with Ledger(url, heartbeat_interval=None) as led:  # no scope: the same rows
        assert led.writes.object_state("member", "0f3b1c2d") is not None
        assert len(led.lock.runs()) == 2


def test_a_single_company_postgres_ledger_keeps_its_rows(
    tmp_path: Path, pg_ledger_url: str
) -> None:
    # The old tables as the old code made them (reflected from its dump), with its rows.
    path = tmp_path / "legacy.sqlite"
    _legacy_sqlite(path)
    source = create_engine(f"sqlite:///{path}")
    target = create_engine(pg_ledger_url)
    try:
        old = MetaData()
        old.reflect(source)
        for table in old.tables.values():
            for column in table.columns:
                column.type = column.type.as_generic()
        old.create_all(target)
        with source.connect() as src, target.begin() as dst:
            for table in old.sorted_tables:
                rows = [dict(r._mapping) for r in src.execute(table.select())]
                if rows:
                    dst.execute(table.insert(), rows)
    finally:
        source.dispose()
        target.dispose()

    with Ledger(pg_ledger_url, scope=ACME, heartbeat_interval=None) as led:
        _assert_legacy_rows(led)
        led.lock.finish_run(led.lock.start_run())
    with Ledger(pg_ledger_url, scope=BETA, heartbeat_interval=None) as led:
        assert led.writes.object_state("member", "0f3b1c2d") is None
        assert led.lock.runs() == []
    with Ledger(pg_ledger_url, scope=ACME, heartbeat_interval=None) as led:
        assert len(led.lock.runs()) == 2
        assert led.writes.object_state("member", "0f3b1c2d") is not None
