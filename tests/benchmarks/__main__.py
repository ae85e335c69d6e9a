"""`make bench`: run the benchmarks and write the results table.

    python -m tests.benchmarks [--quick] [--out bench-results] [--only 1,2,...]
                               [--publish tests/benchmarks/RESULTS.md]

Measurements (one module each):

1. ``tap_overhead``: tap-intacct vs a bare download-and-parse loop of the same pages (0 ms).
2. ``target_requests``: Mailchimp calls per 1,000 records (synchronous and backfill).
3. ``throughput``: target rate / ceiling (10 connections) at 2 s per 500-member call and at
   300 ms per order call.
4. ``rerun``: the same input twice.
5. ``memory``: peak RSS of the tap and of the target at 100,000 / 10,000 records.
6. ``end_to_end``: `meltano run` / (tap alone + target alone).
7. ``tap_latency``: tap-intacct at 250 ms per request with an allowance of 2 vs the
   sequential bare loop; requests refused for concurrency.
8. ``backfill``: the target's run time / the sandbox's batch processing time; the lag from a
   batch finishing to its results being read.

1, 5 and 6 share one Intacct sandbox of 100,000 bills (``--quick``: 600) and reuse each
other's runs: the tap run of 1 is the tap's large memory point and the "tap alone" of 6; the
target's large memory run is the "target alone" of 6. The data are generated (seeded) at
the start of each measurement. Results go to ``<out>/results.md`` and ``results.json``;
``--publish`` also copies the markdown (full runs only) for the README.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.benchmarks import (
    backfill,
    end_to_end,
    memory,
    report,
    rerun,
    tap_latency,
    tap_overhead,
    target_requests,
    throughput,
)
from tests.benchmarks.common import REPO_ROOT, Context, Figure, Sizes

Measure = Callable[[Context], list[Figure]]
LARGE: dict[int, Measure] = {
    1: tap_overhead.measure,
    5: memory.measure,
    6: end_to_end.measure,
}
SMALL: dict[int, Measure] = {
    2: target_requests.measure,
    3: throughput.measure,
    4: rerun.measure,
    7: tap_latency.measure,
    8: backfill.measure,
}


def run(
    *,
    quick: bool,
    out: Path,
    only: set[int] | None = None,
    publish: Path | None = None,
) -> tuple[list[Figure], Path, Path]:
    """Run the measurements; return the figures and the markdown and JSON paths."""
    started = time.monotonic()
    load_at_start = report.load_average()
    sizes = Sizes.quick_sizes() if quick else Sizes.full()
    workdir = out / "work"
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    ctx = Context(sizes=sizes, out=out, workdir=workdir)
    wanted = only or set(LARGE) | set(SMALL)
    figures: list[Figure] = []
    if wanted & set(LARGE):
        with tap_overhead.large_sandbox(ctx, sizes.tap_bills) as sb:
            ctx.shared["large_sandbox"] = sb
            for number, measure in LARGE.items():
                # 5 and 6 build on 1's tap run, so 1 always runs with them.
                if number in wanted or number == 1:
                    ctx.log(f"measurement {number}")
                    results = measure(ctx)
                    if number in wanted:
                        figures += results
    for number, measure in SMALL.items():
        if number in wanted:
            ctx.log(f"measurement {number}")
            figures += measure(ctx)
    figures.sort(key=lambda f: f.measurement)
    meta = {
        "started": report.now(),
        "quick": quick,
        "seconds": time.monotonic() - started,
        "machine": report.machine(load_at_start),
        "sizes": sizes.__dict__,
    }
    md, js = report.write(figures, out, meta)
    if publish is not None and not quick and only is None:
        shutil.copyfile(md, publish)
    return figures, md, js


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts (seconds)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench-results")
    parser.add_argument("--only", help="comma-separated measurement numbers (1-8)")
    parser.add_argument(
        "--publish", type=Path, help="also copy the markdown here (full runs of all only)"
    )
    args = parser.parse_args(argv)
    only = {int(n) for n in args.only.split(",")} if args.only else None
    figures, md, js = run(quick=args.quick, out=args.out, only=only, publish=args.publish)
    print(report.console(figures))
    print(f"\nWritten: {md} and {js}" + (f"; copied to {args.publish}" if args.publish else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
