"""Two target processes started at the same moment against one ledger (SQLite and PostgreSQL).

Both open a new ledger at once (so both create its tables), then both start a run: exactly
one gets the run lock, the other stops at once with a clear message naming that run, and the
ledger is intact afterwards. The end-to-end version with real target runs lives with the
pipeline tests; this one drives the Ledger directly in two processes.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from target_mailchimp.ledger import Ledger

RECORDS = 100

RACER = f"""
import json, os, sys, time
from target_mailchimp.ledger import AuditEntry, Ledger, LedgerLockedError
led = Ledger(os.environ["LEDGER_URL"], heartbeat_interval=None)
print("ready", flush=True)
sys.stdin.readline()
started = time.monotonic()
try:
    run = led.lock.start_run()
except LedgerLockedError as exc:
    print(json.dumps({{"locked": str(exc), "seconds": time.monotonic() - started}}), flush=True)
    sys.exit(3)
print(json.dumps({{"run": run, "pid": os.getpid(), "seconds": time.monotonic() - started}}),
      flush=True)
for i in range({RECORDS}):
    led.writes.record_write("member", f"m{{i}}", payload_hash="h", action="created", run_id=run)
    led.audit.write(run, [AuditEntry(stream="customers", source_key=str(i),
                                     object_kind="member", object_id=f"m{{i}}",
                                     action="created")])
print("written", flush=True)
sys.stdin.readline()
led.lock.finish_run(run)
led.close()
print("finished", flush=True)
"""


def _line(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        _, err = proc.communicate(timeout=10)
        pytest.fail(f"a target process died: {err}")
    return line.strip()


def _send(proc: subprocess.Popen[str], line: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state' / 'ledger.sqlite'}"
    return str(request.getfixturevalue("pg_ledger_url"))


def test_second_of_two_simultaneous_runs_stops_at_once(ledger_url: str) -> None:
    env = {**os.environ, "LEDGER_URL": ledger_url}  # never on a command line
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    try:
        # Both opened the new ledger (and created its tables) at the same moment.
        assert [_line(p) for p in procs] == ["ready", "ready"]
        for p in procs:
            _send(p, "go")
        results: list[dict[str, Any]] = [json.loads(_line(p)) for p in procs]
        winners = [i for i, r in enumerate(results) if "run" in r]
        assert len(winners) == 1, results
        winner, loser = procs[winners[0]], procs[1 - winners[0]]
        won, lost = results[winners[0]], results[1 - winners[0]]
        # The second stops at once, with a message naming the run that holds the ledger.
        assert loser.wait(timeout=30) == 3
        assert lost["seconds"] < 5  # at once: not the 30 s busy timeout nor a wait for the lock
        assert f"is in use by run {won['run']}" in lost["locked"]
        assert f"pid {won['pid']}" in lost["locked"]
        assert "wait for that run to finish" in lost["locked"]
        assert loser.stderr is not None and "Traceback" not in loser.stderr.read()
        # The first finishes its work untouched.
        assert _line(winner) == "written"
        _send(winner, "finish")
        assert _line(winner) == "finished"
        assert winner.wait(timeout=30) == 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=10)

    # Nothing corrupted: the database checks clean and holds exactly the winner's work.
    if ledger_url.startswith("sqlite:///"):
        with sqlite3.connect(ledger_url.removeprefix("sqlite:///")) as raw:
            assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    with Ledger(ledger_url, heartbeat_interval=None) as led:
        assert [(r.run_id, r.status) for r in led.lock.runs()] == [(won["run"], "succeeded")]
        assert led.audit.summary(won["run"]) == {"member": {"created": RECORDS}}
        assert not any(
            (f"m{i}" not in led.writes.unchanged("member", {f"m{i}": "h"})) for i in range(RECORDS)
        )
        engine = create_engine(ledger_url)
        try:
            with engine.connect() as conn:
                assert conn.execute(text("SELECT count(*) FROM locks")).scalar() == 0
                assert conn.execute(text("SELECT count(*) FROM objects")).scalar() == RECORDS
        finally:
            engine.dispose()
        # The lock was released: the next run starts.
        run = led.lock.start_run()
        led.lock.finish_run(run)
