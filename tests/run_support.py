"""Running a program as a test's user would: its output captured as text, its exit code left
for the test to judge."""

from __future__ import annotations

import subprocess
from pathlib import Path


def run_captured(
    command: list[str],
    *,
    cwd: Path,
    timeout: float,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """`command` in `cwd` (with `env`, or this process's environment), `stdin` as its input."""
    return subprocess.run(
        command,
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
        check=False,
    )
