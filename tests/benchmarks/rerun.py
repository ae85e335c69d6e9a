"""Measurement 4: the same input twice; the second run writes nothing and is cheap.

Input: tap-intacct's Singer file of a seeded company with every stream (customers, vendors,
``rerun_bills`` AP bills with lines, payments). The target runs twice on it with the same
ledger and the same Mailchimp account. Goals: the second run makes zero write calls (POST,
PUT, PATCH, DELETE) and takes at most 0.3 of the first run's wall time.

The time ratio depends on what a Mailchimp call costs. It is measured with the sandbox
answering after 50 ms (as in measurement 3; real Mailchimp calls take longer), which is the
goal's figure, and again with no latency at all, shown for information: there the first run
costs only the CPU of the target and the sandbox, so the ratio shows how much of a run is
the target's own reading, mapping and ledger work.
"""

from __future__ import annotations

from tests.benchmarks.common import TARGET, Context, Figure, run_child
from tests.benchmarks.pipeline import FAST_POLLS, extract, run_target
from tests.sandbox.intacct import IntacctSandbox, generate_company
from tests.sandbox.mailchimp import MailchimpSandbox

M = "4 rerun"


def measure(ctx: Context) -> list[Figure]:
    bills = ctx.sizes.rerun_bills
    company = generate_company(
        seed=ctx.seed + 1,
        customers=bills // 4,
        vendors=bills // 10,
        bills=bills,
        payments=bills // 2,
    )
    with IntacctSandbox(company, keep_responses=False) as sb:
        source, _ = extract(ctx, sb, ["customers", "vendors", "ap_bills", "ap_payments"], "rerun")
    records = sum(1 for line in source.open("rb") if line.startswith(b'{"type":"RECORD"'))
    figures = []
    for latency in (0.05,) if ctx.sizes.quick else (0.05, 0.0):
        tag = f"rerun-{int(latency * 1000)}ms"
        ledger = ctx.path(f"{tag}-ledger.sqlite")
        ledger.unlink(missing_ok=True)
        with MailchimpSandbox(latency=latency) as mc:
            config = mc.target_config(status_if_new="subscribed", **FAST_POLLS)
            first = run_target(ctx, config, source, f"{tag}-1", ledger=ledger)
            first_writes = mc.count(writes_only=True)
            mc.reset_counters()
            second = run_target(ctx, config, source, f"{tag}-2", ledger=ledger)
            second_writes = mc.count(writes_only=True)
            second_calls = mc.count()
        ctx.log(f"{tag}: first {first.wall:.1f} s, second {second.wall:.1f} s")
        detail = {
            "records": records,
            "latency_ms": int(latency * 1000),
            "first_run_s": round(first.wall, 2),
            "second_run_s": round(second.wall, 2),
            "first_run_writes": first_writes,
            "second_run_calls": second_calls,
        }
        if latency:
            figures.append(
                Figure(
                    M,
                    f"write calls of the second run ({records:,} records, 50 ms calls)",
                    second_writes,
                    0,
                    detail=detail,
                )
            )
        note = ""
        if not latency:
            startup = run_child([TARGET, "--about"]).wall
            note = (
                "Without latency the first run costs only CPU (the target's and the "
                f"sandbox's). Of the second run's {second.wall:.1f} s, {startup:.1f} s is the "
                "target starting (imports, as `--about` takes); the rest is reading, mapping "
                f"and checking {records:,} records against the ledger."
            )
        figures.append(
            Figure(
                M,
                f"second run time / first run time, {int(latency * 1000)} ms calls",
                second.wall / first.wall,
                0.3 if latency else None,
                unit="x",
                detail=detail,
                note=note,
            )
        )
    return figures
