"""Shared pieces of the benchmarks: measured child processes, figures, catalogs, sizes.

Every figure is a ratio or a count taken within one run (the machines are shared and noisy),
and every process whose cost is measured runs as a fresh child so its wall time, CPU time and
peak RSS are its own (``os.wait4`` gives the rusage of exactly that child).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TAP = str(BIN / "tap-intacct")
TARGET = str(BIN / "target-mailchimp")
MELTANO = str(BIN / "meltano")


# --- child processes -------------------------------------------------------------------------


@dataclass(frozen=True)
class ChildRun:
    """What one finished child process cost."""

    wall: float  # seconds, from spawn to exit
    cpu: float  # user + system seconds of the child itself
    max_rss_mb: float  # peak resident set size of the child
    returncode: int
    stderr_tail: str = ""

    def check(self, what: str) -> ChildRun:
        if self.returncode != 0:
            raise RuntimeError(f"{what} exited with {self.returncode}:\n{self.stderr_tail}")
        return self


def run_child(
    cmd: Sequence[str],
    *,
    stdin: IO[bytes] | int | None = subprocess.DEVNULL,
    stdout: IO[bytes] | int | None = subprocess.DEVNULL,
    env: Mapping[str, str] | None = None,
    cwd: Path = REPO_ROOT,
    stderr_path: Path | None = None,
) -> ChildRun:
    """Run ``cmd`` to completion and return its own wall time, CPU time and peak RSS.

    The command is started by :mod:`tests.benchmarks.spawn` (importable as ``cwd`` is the
    repository), which waits for it with
    ``os.wait4`` (the rusage of that one child) and, being small, leaves none of this
    process's memory in the command's peak RSS. stderr goes to ``stderr_path`` (or nowhere);
    its tail is kept for error messages.
    """
    log_path = stderr_path or Path(os.devnull)
    fd, name = tempfile.mkstemp(prefix="bench-", suffix=".json")
    os.close(fd)
    report = Path(name)
    try:
        with log_path.open("wb") as err:
            proc = subprocess.run(
                [sys.executable, "-m", "tests.benchmarks.spawn", str(report), "--", *cmd],
                stdin=stdin,
                stdout=stdout,
                stderr=err,
                cwd=cwd,
                env=dict(env) if env is not None else None,
                check=False,
            )
        try:
            usage = json.loads(report.read_text("utf-8"))
        except ValueError:
            usage = {"wall": 0.0, "cpu": 0.0, "max_rss_kb": 0, "returncode": proc.returncode}
    finally:
        report.unlink(missing_ok=True)
    tail = ""
    if stderr_path is not None and proc.returncode != 0:
        tail = stderr_path.read_text("utf-8", errors="replace")[-4000:]
    return ChildRun(
        wall=usage["wall"],
        cpu=usage["cpu"],
        max_rss_mb=usage["max_rss_kb"] / 1024,  # Linux reports KiB
        returncode=proc.returncode,
        stderr_tail=tail,
    )


# --- figures ---------------------------------------------------------------------------------


@dataclass
class Figure:
    """One measured figure next to its goal.

    ``op`` is ``"<="`` or ``">="``; ``goal`` None means the figure is informative only.
    """

    measurement: str  # "1 tap overhead", ...
    name: str
    value: float
    goal: float | None
    op: str = "<="
    unit: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.goal is None:
            return None
        if self.op == "<=":
            return self.value <= self.goal
        return self.value >= self.goal

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["met"] = self.met
        return out


def per_thousand(calls: int, records: int) -> float:
    return 1000.0 * calls / records if records else float("inf")


# --- sizes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    """Record counts of one benchmark run (full or quick)."""

    quick: bool
    tap_bills: int  # measurements 1, 5 (large point) and 6
    memory_small_bills: int  # measurement 5, small point
    customers: int  # measurement 2: contacts (both above the batch threshold when full)
    vendors: int
    orders_sync: int  # measurement 2: synchronous orders
    orders_backfill: int  # measurement 2: the large backfill through batch operations
    throughput_members: int  # measurement 3
    throughput_orders: int
    rerun_bills: int  # measurement 4 (with rerun_bills // 4 customers and // 10 vendors)
    latency_bills: int = 12_000  # measurement 7
    backfill_orders: int = 5_000  # measurement 8

    @classmethod
    def full(cls) -> Sizes:
        return cls(
            quick=False,
            tap_bills=100_000,
            memory_small_bills=10_000,
            customers=5_000,
            vendors=2_500,
            orders_sync=2_000,
            orders_backfill=20_000,
            throughput_members=20_000,
            throughput_orders=1_000,
            rerun_bills=2_000,
            latency_bills=12_000,
            backfill_orders=5_000,
        )

    @classmethod
    def quick_sizes(cls) -> Sizes:
        return cls(
            quick=True,
            tap_bills=600,
            memory_small_bills=100,
            customers=1_500,
            vendors=500,
            orders_sync=100,
            orders_backfill=2_500,
            throughput_members=1_000,
            throughput_orders=100,
            rerun_bills=200,
            latency_bills=2_500,
            backfill_orders=400,
        )


# --- tap helpers -----------------------------------------------------------------------------


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    return path


def tap_catalog(config_path: Path, streams: Sequence[str], workdir: Path) -> Path:
    """Discover the tap's catalog and select only ``streams`` (every property of each)."""
    out = subprocess.run(
        [TAP, "--config", str(config_path), "--discover"],
        capture_output=True,
        check=True,
        cwd=REPO_ROOT,
    )
    catalog = json.loads(out.stdout)
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return write_json(workdir / f"catalog-{'-'.join(streams)}.json", catalog)


def count_records(path: Path) -> dict[str, int]:
    """RECORD messages per stream in a Singer output file."""
    counts: dict[str, int] = {}
    with path.open("rb") as lines:
        for line in lines:
            if line.startswith(b'{"type":"RECORD"'):
                start = line.index(b'"stream":"') + 10
                stream = line[start : line.index(b'"', start)].decode()
                counts[stream] = counts.get(stream, 0) + 1
    return counts


# --- run context -----------------------------------------------------------------------------


@dataclass
class Context:
    """What every measurement gets: sizes, folders, and results others may reuse."""

    sizes: Sizes
    out: Path  # where the tables go
    workdir: Path  # scratch files (catalogs, Singer files, logs)
    shared: dict[str, Any] = field(default_factory=dict)
    seed: int = 7

    def log(self, message: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    def path(self, name: str) -> Path:
        return self.workdir / name
