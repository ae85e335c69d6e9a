"""Two runs against one ledger at the same time, end to end with real processes.

The first run (tap | target, or `meltano run`) syncs a sandbox company with some Mailchimp
latency, so it is still writing when the second one starts on the same SQLite ledger. The
second must stop at once (non-zero exit within seconds) with a message naming the ledger and
the run holding it; the first completes, Mailchimp equals the oracle, the audit trail agrees
and SQLite's integrity_check is ok.
"""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import meltano_installed
from tests.reliability.crash_harness import (
    BIN,
    REPO_ROOT,
    CrashEnv,
    check_synced,
    crash_env,
    run_statuses,
    start_piped,
)
from tests.sandbox.mailchimp import Fault

pytestmark = pytest.mark.slow

SIZES = {"customers": 40, "vendors": 25, "bills": 60, "payments": 30}
#: The second run must be gone this soon after it started (a loaded 2-core machine).
STOP_WITHIN = 15.0


def _holder(env: CrashEnv, timeout: float = 60.0) -> str:
    """Wait until a run holds the ledger's lock; its run id."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if env.ledger_path.exists():
            with contextlib.suppress(sqlite3.OperationalError):
                conn = sqlite3.connect(f"file:{env.ledger_path}?mode=ro", uri=True, timeout=5)
                with contextlib.closing(conn):
                    row = conn.execute("SELECT run_id FROM locks").fetchone()
                if row is not None:
                    return str(row[0])
        time.sleep(0.02)
    raise AssertionError("the first run never took the ledger's lock")


def _hold_first_write(env: CrashEnv) -> Fault:
    """Keep the first run busy: the sandbox holds its first e-commerce call until released."""
    return env.mc.faults.add("slow", times=1, path_prefix="/ecommerce", seconds=120)


def _env(tmp_path: Path) -> contextlib.AbstractContextManager[CrashEnv]:
    return crash_env(tmp_path, seed=7, sizes=SIZES, page_size=25, batch_size_rows=20, drain_every=0)


def test_second_target_on_one_ledger_stops_at_once(tmp_path: Path) -> None:
    with _env(tmp_path) as env:
        hold = _hold_first_write(env)
        first = start_piped(env, frequent_state=False)
        try:
            holder = _holder(env)
            started = time.monotonic()
            second = start_piped(env, frequent_state=False)
            second_out = second.finish(timeout=60, save_state=False)
            took = time.monotonic() - started
            assert first.target.poll() is None, "the first run ended before the second stopped"
        finally:
            hold.release()
        first_out = first.finish(timeout=300)

        assert second_out.returncodes["target"] != 0
        assert took < STOP_WITHIN, f"the second run took {took:.1f} s to stop"
        message = second_out.stderr["target"]
        assert "target-mailchimp stopped" in message, message[-2000:]
        assert f"is in use by run {holder}" in message, message[-2000:]
        assert str(env.ledger_path) in message, message[-2000:]
        assert "Traceback" not in message, message[-3000:]
        # the second run wrote nothing: no run row, no state
        assert not second_out.state_emitted

        assert first_out.returncodes == {"tap": 0, "target": 0}, first_out.tail()
        assert run_statuses(env) == ["succeeded"]
        check_synced(env)  # includes PRAGMA integrity_check


def test_second_meltano_run_forced_past_meltano_is_stopped_by_the_ledger(
    meltano_installed: Path, tmp_path: Path
) -> None:
    """`meltano run --force` skips Meltano's own check; the ledger still stops the second."""
    with _env(tmp_path) as env:
        hold = _hold_first_write(env)
        cmd = [
            str(BIN / "meltano"),
            "--environment",
            "sandbox",
            "run",
            "--force",
            "tap-intacct",
            "target-mailchimp",
        ]
        with (tmp_path / "first.err").open("wb") as first_err:
            first = subprocess.Popen(
                cmd,
                cwd=REPO_ROOT,
                env=env.meltano_env(),
                stdout=subprocess.DEVNULL,
                stderr=first_err,
                start_new_session=True,
            )
        try:
            holder = _holder(env)
            started = time.monotonic()
            second = subprocess.run(
                cmd,
                cwd=REPO_ROOT,
                env=env.meltano_env(),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            took = time.monotonic() - started
            assert first.poll() is None, "the first run ended before the second stopped"
            hold.release()
            assert first.wait(timeout=300) == 0, (tmp_path / "first.err").read_text()[-3000:]
        finally:
            hold.release()
            if first.poll() is None:
                first.kill()
                first.wait()

    assert second.returncode != 0
    # Meltano itself takes a few seconds to start the plugins
    assert took < STOP_WITHIN + 20, f"the second run took {took:.1f} s to stop"
    assert f"is in use by run {holder}" in second.stderr, second.stderr[-3000:]
    assert str(env.ledger_path) in second.stderr, second.stderr[-3000:]
    assert run_statuses(env) == ["succeeded"]
    check_synced(env)


__all__ = ["meltano_installed"]  # the fixture: `meltano install` once
