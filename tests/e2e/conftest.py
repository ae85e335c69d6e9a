"""Fixtures for end-to-end runs of `meltano run tap-intacct target-mailchimp`."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.run_support import run_captured

REPO_ROOT = Path(__file__).resolve().parents[2]
MELTANO = Path(sys.executable).with_name("meltano")


def run_in_repo(
    command: list[str], env: dict[str, str] | None = None, *, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run a command from the repository's root as a user would, its output kept as text."""
    return run_captured(command, cwd=REPO_ROOT, env=env, timeout=timeout)


def output_of_success(run: subprocess.CompletedProcess[str]) -> str:
    """A finished command's stdout and stderr; it must have exited 0 (else its tail is shown)."""
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-5000:]
    return out


def _plugins_installed() -> bool:
    return all(
        (REPO_ROOT / ".meltano" / kind / name / "venv" / "bin" / name).exists()
        for kind, name in (("extractors", "tap-intacct"), ("loaders", "target-mailchimp"))
    )


@pytest.fixture(scope="session")
def meltano_installed() -> Path:
    """`meltano install` once per machine (make test does it first; this covers a bare pytest)."""
    lock_path = REPO_ROOT / ".meltano-install.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _plugins_installed():
            subprocess.run([str(MELTANO), "install"], cwd=REPO_ROOT, check=True)
    return MELTANO


@pytest.fixture
def meltano_home(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment that gives one test its own Meltano state database and ledger."""
    env = {
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
        "TARGET_MAILCHIMP_LEDGER_URL": f"sqlite:///{tmp_path / 'ledger.sqlite'}",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "NO_COLOR": "1",
    }
    old = {k: os.environ.get(k) for k in env}
    yield env
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
