"""Measurement 1: what tap-intacct costs on top of downloading and parsing the same pages.

The Intacct sandbox serves a seeded company of ``sizes.tap_bills`` AP bills (one to four
lines each; 200 customers, 100 vendors, no payments) from this process. tap-intacct extracts
every stream, so mostly the bills with their lines (page size 2000), into a Singer file.
The bare loop (:mod:`tests.benchmarks.bare_loop`) then sends the very query requests the
sandbox recorded from the tap, parses each answer with lxml into dicts, and nothing more.
Both run as fresh child processes.

The sandbox renders every page anew for both (its cache of rendered records is off), so
both runs ask the same work of it. The tap's Singer file is then the target's input in
measurements 5 and 6, and this tap run is the "tap alone" of measurement 6.

Figures: tap wall time / bare loop wall time (the goal, at most 1.2), and the ratio of the two
clients' own CPU time (the sandbox's share taken out), goal at most 1.5. The
full run makes two rounds (tap, bare loop, tap, bare loop) and keeps the least time of each:
other work on a shared machine only ever adds time.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.benchmarks.common import (
    TAP,
    ChildRun,
    Context,
    Figure,
    count_records,
    run_child,
    tap_catalog,
    write_json,
)
from tests.sandbox.intacct import IntacctSandbox, generate_company

GOAL = 1.2
CPU_GOAL = 1.5
PAGE_SIZE = 2000
M = "1 tap overhead"


#: What the tap extracts here (and in the end-to-end run): every stream; the company has
#: few customers and vendors and no payments, so bills with their lines are nearly all of it.
STREAMS = ("customers", "vendors", "ap_bills", "ap_payments")


def bills_company(seed: int, bills: int) -> Any:
    """A company of ``bills`` AP bills with their lines (few customers and vendors)."""
    company = generate_company(seed=seed, customers=200, vendors=100, bills=bills, payments=0)
    company.cache_fragments = False  # every run renders its pages: the same sandbox work
    return company


@contextlib.contextmanager
def large_sandbox(ctx: Context, bills: int) -> Iterator[IntacctSandbox]:
    """The Intacct sandbox with ``bills`` bills, shared by measurements 1, 5 and 6."""
    company = bills_company(ctx.seed, bills)
    ctx.log(f"company: {company.count('APBILL')} bills, {company.count('APBILLITEM')} lines")
    with IntacctSandbox(company, keep_responses=False) as sb:
        yield sb


def run_tap(ctx: Context, config: Path, catalog: Path, output: Path, tag: str) -> ChildRun:
    with output.open("wb") as out:
        return run_child(
            [TAP, "--config", str(config), "--catalog", str(catalog)],
            stdout=out,
            stderr_path=ctx.path(f"{tag}.stderr"),
        ).check(f"tap-intacct ({tag})")


def timeline(sb: IntacctSandbox, spawned: float, exited: float) -> dict[str, float]:
    """Where a run's time went, from the sandbox's log: seconds from spawning the client to
    its first request (start-up), from the last answer to its exit, and of the time between
    with fewer than two requests in flight."""
    spans = sorted((r.started, r.answered) for r in sb.requests if r.answered)
    if not spans:
        return {}
    events = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
    below_two, level, last = 0.0, 0, spans[0][0]
    for at, step in events:
        if level < 2:
            below_two += at - last
        level += step
        last = at
    return {
        "startup_s": round(spans[0][0] - spawned, 2),
        "after_last_answer_s": round(exited - max(b for _, b in spans), 2),
        "under_two_in_flight_s": round(below_two, 2),
    }


def query_requests(sb: IntacctSandbox) -> list[Any]:
    """The recorded requests made only of queries (one or two per request)."""
    return [r for r in sb.requests if r.functions and set(r.functions) == {"query"}]


def extract_and_compare(
    ctx: Context,
    sb: IntacctSandbox,
    tag: str,
    *,
    repeats: int = 1,
    page_size: int = PAGE_SIZE,
    streams: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """The tap, then the bare loop on the pages the tap downloaded (see module doc);
    ``repeats`` rounds of both, the least time of each kept (the machine is shared)."""
    company = sb.company
    bills = company.count("APBILL")
    lines = company.count("APBILLITEM")
    config = write_json(ctx.path(f"{tag}-tap.json"), sb.tap_config(page_size=page_size))
    catalog = tap_catalog(config, streams or STREAMS, ctx.workdir)
    output = ctx.path(f"{tag}.singer")

    taps: list[ChildRun] = []
    bares: list[ChildRun] = []
    stats_path = ctx.path(f"{tag}-bare.json")
    bodies_path = ctx.path(f"{tag}-bodies.json")
    refused = 0
    max_in_flight = 0
    timelines: list[dict[str, float]] = []
    for round_ in range(repeats):
        sb.reset_log()
        spawned = time.monotonic()
        taps.append(run_tap(ctx, config, catalog, output, f"{tag}-tap"))
        timelines.append(timeline(sb, spawned, time.monotonic()))
        refused += sb.refused_for_concurrency
        max_in_flight = max(max_in_flight, sb.max_in_flight)
        if round_ == 0:
            queries = query_requests(sb)
            bodies = [r.body.decode() for r in queries]
            query_functions = sum(len(r.functions) for r in queries)
            sb.assert_all_valid()
            write_json(bodies_path, bodies)
        ctx.log(f"{tag}: tap {taps[-1].wall:.1f} s, {len(bodies)} query requests")
        sb.reset_log()
        bares.append(
            run_child(
                [
                    sys.executable,
                    "-m",
                    "tests.benchmarks.bare_loop",
                    "--config",
                    str(config),
                    "--bodies",
                    str(bodies_path),
                    "--out",
                    str(stats_path),
                ],
                stderr_path=ctx.path(f"{tag}-bare.stderr"),
            ).check("bare loop")
        )
        ctx.log(f"{tag}: bare loop {bares[-1].wall:.1f} s")
    stats = json.loads(stats_path.read_text("utf-8"))
    tap = min(taps, key=lambda r: r.wall)
    tap_timeline = timelines[taps.index(tap)]
    bare = min(bares, key=lambda r: r.wall)
    tap_cpu = min(r.cpu for r in taps)
    bare_cpu = min(r.cpu for r in bares)
    emitted = count_records(output)
    if emitted.get("ap_bills") != bills or stats["records"].get("APBILL") != bills:
        raise RuntimeError(f"expected {bills} bills from both: tap {emitted}, bare {stats}")
    if stats["records"].get("APBILLITEM") != lines or sb.calls["query"] != query_functions:
        raise RuntimeError(f"the bare loop read other pages than the tap: {stats}")
    return {
        "tap": tap,
        "bare": bare,
        "tap_cpu": tap_cpu,
        "bare_cpu": bare_cpu,
        "rounds": repeats,
        "bills": bills,
        "lines": lines,
        "records": sum(emitted.values()),
        "requests": len(bodies),
        "query_functions": query_functions,
        "refused": refused,
        "max_in_flight": max_in_flight,
        "timeline": tap_timeline,
        "answer_mb": round(stats["answer_bytes"] / 2**20, 1),
        "output": output,
        "config": config,
    }


def measure(ctx: Context) -> list[Figure]:
    sb: IntacctSandbox = ctx.shared["large_sandbox"]
    run = extract_and_compare(ctx, sb, "large", repeats=1 if ctx.sizes.quick else 2)
    ctx.shared["tap_large"] = run
    bills = run["bills"]
    tap: ChildRun = run["tap"]
    bare: ChildRun = run["bare"]
    detail = {
        "bills": bills,
        "lines": run["lines"],
        "query_requests": run["requests"],
        "answers_mb": run["answer_mb"],
        "page_size": PAGE_SIZE,
        "tap_wall_s": round(tap.wall, 2),
        "bare_wall_s": round(bare.wall, 2),
        "tap_cpu_s": round(run["tap_cpu"], 2),
        "bare_cpu_s": round(run["bare_cpu"], 2),
        "rounds": run["rounds"],
        "records": run["records"],
    }
    tap_start = run_child([TAP, "--about"]).cpu
    bare_start = run_child([sys.executable, "-c", "import requests, lxml.etree"]).cpu
    detail["tap_startup_cpu_s"] = round(tap_start, 2)
    detail["bare_startup_cpu_s"] = round(bare_start, 2)
    waiting = 1 - run["bare_cpu"] / bare.wall
    extra = (run["tap_cpu"] - tap_start) - (run["bare_cpu"] - bare_start)
    cpu_note = (
        f"Both clients wait on the same sandbox ({waiting:.0%} of the bare loop's wall time), so "
        "the wall ratio stays near 1; this ratio compares only the clients' own work. Start-up "
        f"(imports) takes {tap_start:.2f} s of the tap's CPU and {bare_start:.2f} s of the bare "
        f"loop's; the other {extra:.2f} s the tap spends beyond the bare loop go to what a tap "
        "is for: typing every value (exact decimals, dates, UTC timestamps), nesting the lines "
        "in their bill, JSON encoding and the SDK's record and state path."
    )
    return [
        Figure(
            M,
            f"tap / bare loop, wall time, 0 ms per request ({bills:,} bills with "
            f"{run['lines']:,} lines)",
            tap.wall / bare.wall,
            GOAL,
            unit="x",
            detail=detail,
        ),
        Figure(
            M,
            "tap / bare loop, the clients' own CPU time (sandbox excluded)",
            run["tap_cpu"] / run["bare_cpu"],
            CPU_GOAL,
            unit="x",
            detail=detail,
            note=cpu_note,
        ),
    ]
