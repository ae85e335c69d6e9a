"""Run one command and report what it alone cost: wall time, CPU time, peak RSS.

    python -m tests.benchmarks.spawn REPORT.json -- command args...

Why a launcher: a child forked straight from the benchmark runner (which holds a sandbox of
100,000 bills) is born with the runner's memory mapped, and Linux counts that in the child's
peak RSS. Forked from this small process instead, the command's peak RSS is its own. stdin,
stdout and stderr pass through; the exit code is the command's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    report = Path(argv[0])
    started = time.perf_counter()
    proc = subprocess.Popen(argv[2:])
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    report.write_text(
        json.dumps(
            {
                "wall": wall,
                "cpu": usage.ru_utime + usage.ru_stime,
                "max_rss_kb": usage.ru_maxrss,
                "returncode": code,
            }
        ),
        encoding="utf-8",
    )
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
