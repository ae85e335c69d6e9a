"""Measurement 5: peak memory of the tap and of the target at 100,000 and at 10,000 records.

Each process runs alone as a fresh child, and its peak RSS is its own (``os.wait4``). The
tap's large point is the tap run of measurement 1 (100,000 bills with their lines, 200
customers, 100 vendors); its small point extracts the same shape with 10,000 bills. The
target is fed each of the tap's Singer files (the Mailchimp sandbox runs as its own process;
a fresh ledger each; batches polled every second, as in every benchmark). Goal for
each: peak RSS at 100,000 / peak RSS at 10,000 at most 1.25, i.e. nothing holds a whole
stream.
"""

from __future__ import annotations

from typing import Any

from tests.benchmarks.common import ChildRun, Context, Figure, count_records
from tests.benchmarks.pipeline import FAST_POLLS, extract, mailchimp_process, run_target
from tests.benchmarks.tap_overhead import STREAMS, bills_company
from tests.sandbox.intacct import IntacctSandbox

GOAL = 1.25
M = "5 memory"


def target_alone(ctx: Context, source: Any, name: str) -> ChildRun:
    """target-mailchimp alone on a tap file, against a Mailchimp sandbox process."""
    with mailchimp_process(ctx, name) as config:
        return run_target(ctx, {**config, **FAST_POLLS}, source, name)


def measure(ctx: Context) -> list[Figure]:
    large = ctx.shared["tap_large"]
    small_bills = ctx.sizes.memory_small_bills
    company = bills_company(ctx.seed, small_bills)
    with IntacctSandbox(company, keep_responses=False) as sb:
        small_file, small_tap = extract(ctx, sb, STREAMS, "small")
    ctx.log(f"small: tap {small_tap.wall:.1f} s, {small_tap.max_rss_mb:.0f} MB")
    small_target = target_alone(ctx, small_file, "small")
    ctx.log(f"small: target {small_target.wall:.1f} s, {small_target.max_rss_mb:.0f} MB")
    large_target = ctx.shared.get("target_large")
    if large_target is None:
        large_target = target_alone(ctx, large["output"], "large")
        ctx.shared["target_large"] = large_target
    ctx.log(f"large: target {large_target.wall:.1f} s, {large_target.max_rss_mb:.0f} MB")
    large_tap: ChildRun = large["tap"]
    records_large = large["records"]
    records_small = sum(count_records(small_file).values())
    figures = []
    for who, big, little in (
        ("tap", large_tap, small_tap),
        ("target", large_target, small_target),
    ):
        figures.append(
            Figure(
                M,
                f"{who} peak RSS at {records_large:,} / at {records_small:,} records",
                big.max_rss_mb / little.max_rss_mb,
                GOAL,
                unit="x",
                detail={
                    f"{who}_large_mb": round(big.max_rss_mb, 1),
                    f"{who}_small_mb": round(little.max_rss_mb, 1),
                    f"{who}_large_wall_s": round(big.wall, 1),
                    f"{who}_small_wall_s": round(little.wall, 1),
                },
            )
        )
    return figures
