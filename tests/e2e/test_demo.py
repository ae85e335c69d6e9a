"""`make demo`'s harness: both sandboxes in the background, meltano run, then stopped.

Runs tests/sandbox/demo.py three times in a temporary work folder, as `make demo` would: the
second run shows the records the Intacct sandbox deleted leaving Mailchimp, the third writes
nothing, and no sandbox process outlives a run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import output_of_success, run_in_repo

pytestmark = pytest.mark.slow


def _demo(workdir: Path, meltano: Path, env: dict[str, str]) -> str:
    run = run_in_repo(
        [
            sys.executable,
            "-m",
            "tests.sandbox.demo",
            "--workdir",
            str(workdir),
            "--meltano",
            str(meltano),
        ],
        env,
    )
    return output_of_success(run)


def _holdings(out: str) -> dict[str, int]:
    block = out.split("The Mailchimp sandbox now holds:", 1)[1]
    return {m[0].strip(): int(m[1]) for m in re.findall(r"^\s+([a-z -]+?)\s+(\d+)$", block, re.M)}


def _sandbox_processes(workdir: Path) -> list[str]:
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    return [
        line for line in ps.stdout.splitlines() if "tests.sandbox." in line and str(workdir) in line
    ]


def test_demo_three_times(
    meltano_installed: Path, meltano_home: dict[str, str], tmp_path: Path
) -> None:
    workdir = tmp_path / "sandbox"
    env = {**os.environ, **meltano_home}

    first = _demo(workdir, meltano_installed, env)
    held = _holdings(first)
    assert held["audience members"] > 100
    assert held["e-commerce orders"] > 300
    assert "Sandboxes stopped." in first
    assert not _sandbox_processes(workdir)

    # The second run starts with Intacct deleting a few records: they leave Mailchimp.
    second = _demo(workdir, meltano_installed, env)
    assert "Intacct deleted" in second
    after = _holdings(second)
    assert 1 <= held["e-commerce orders"] - after["e-commerce orders"] <= 4
    assert 1 <= after["archived members"] - held["archived members"] <= 4
    assert re.search(r"^order\s.*", second, re.M), second[-3000:]
    assert "deleted" in second
    assert not _sandbox_processes(workdir)

    # The third run: the same deletions again are already applied; nothing is written.
    third = _demo(workdir, meltano_installed, env)
    assert _holdings(third) == after, "the restarted Mailchimp sandbox lost or gained objects"
    assert re.search(r"Mailchimp: 0 calls", third), third[-3000:]
    assert not _sandbox_processes(workdir)
