"""Measurement 2: Mailchimp HTTP calls per 1,000 records, counted by the Mailchimp sandbox.

Input: tap-intacct's Singer files of a seeded company (customers and vendors; AP bills with
their lines), so the target sees exactly what the tap sends. Two sandbox accounts, each with
a fresh ledger, each fed the contacts first and then the bills:

- synchronous (``batch_operations: never``): the contacts, then ``orders_sync`` bills;
- large backfill (``batch_operations: auto``, default threshold): the contacts, then
  ``orders_backfill`` bills; both streams of contacts are above the threshold, as in the
  first sync of a mid-sized company.

Every call the sandbox answered counts, by kind (see :func:`pipeline.kind_of`). The
denominators are the objects Mailchimp holds at the end (members, e-commerce customers,
orders), not the records sent, so records the target rejects (no email, inactive vendor)
never make a figure look better. Per 1,000:

- members: write calls under /lists (batch subscribe, merge-field set-up), per 1,000 members
  (goal at most 3; the few reads of the audience's merge fields are in the details);
- e-commerce customers: customer, store and batch calls of the contacts run, per 1,000
  customers (at most 1,005 synchronous, at most 10 on the backfill);
- orders: every call of the bills run (orders, products, store, batches), per 1,000 orders
  (at most 1,005 synchronous, at most 10 on the backfill).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.benchmarks.common import ChildRun, Context, Figure, per_thousand
from tests.benchmarks.pipeline import (
    FAST_POLLS,
    calls,
    extract,
    held,
    run_target,
    truncate_records,
)
from tests.sandbox.intacct import IntacctSandbox, generate_company
from tests.sandbox.mailchimp import MailchimpSandbox

M = "2 target requests"
KINDS = ("members", "customers", "orders", "products", "store", "batches", "other")


def inputs(ctx: Context) -> dict[str, Path]:
    """The Singer files of measurements 2 to 4 (extracted once per benchmark run)."""
    cached: dict[str, Path] | None = ctx.shared.get("inputs")
    if cached is not None:
        return cached
    sizes = ctx.sizes
    company = generate_company(
        seed=ctx.seed,
        customers=sizes.customers,
        vendors=sizes.vendors,
        bills=sizes.orders_backfill,
        payments=0,
    )
    with IntacctSandbox(company, keep_responses=False) as sb:
        contacts, _ = extract(ctx, sb, ["customers", "vendors"], "contacts")
        bills, _ = extract(ctx, sb, ["ap_bills"], "bills")
    out = {
        "contacts": contacts,
        "bills": bills,
        "bills_sync": truncate_records(
            bills, ctx.path("bills-sync.singer"), {"ap_bills": sizes.orders_sync}
        ),
    }
    ctx.shared["inputs"] = out
    return out


@dataclass
class OrdersAccount:
    """A Mailchimp sandbox account that holds the contacts, and the bills to write into it."""

    ctx: Context
    name: str
    mc: MailchimpSandbox
    bills: Path
    ledger: Path

    def run_orders(self, **settings: Any) -> ChildRun:
        """The target on the bills, with the contacts run's ledger and ``settings``."""
        config = self.mc.target_config(status_if_new="subscribed", **settings)
        return run_target(self.ctx, config, self.bills, f"{self.name}-orders", ledger=self.ledger)


@contextlib.contextmanager
def orders_account(ctx: Context, name: str, orders: int) -> Iterator[OrdersAccount]:
    """A fresh account that already holds the contacts (loaded at no latency, through batch
    operations), counters reset, for an orders run of the first ``orders`` bills of
    :func:`inputs` (measurements 3 and 8)."""
    files = inputs(ctx)
    bills = truncate_records(files["bills"], ctx.path(f"bills-{name}.singer"), {"ap_bills": orders})
    ledger = ctx.path(f"{name}-orders-ledger.sqlite")
    ledger.unlink(missing_ok=True)
    with MailchimpSandbox() as mc:
        run_target(
            ctx,
            mc.target_config(status_if_new="subscribed", batch_operations="always", **FAST_POLLS),
            files["contacts"],
            f"{name}-contacts",
            ledger=ledger,
        )
        mc.reset_counters()
        yield OrdersAccount(ctx, name, mc, bills, ledger)


def _total(counts: Counter[str]) -> int:
    return sum(counts[k] for k in KINDS)


def account_runs(
    ctx: Context, name: str, settings: dict[str, Any], contacts: Path, bills: Path
) -> dict[str, Any]:
    """Contacts then bills into one fresh account and ledger; calls and holdings of each."""
    ledger = ctx.path(f"{name}-ledger.sqlite")
    ledger.unlink(missing_ok=True)
    with MailchimpSandbox() as mc:
        config = mc.target_config(status_if_new="subscribed", **FAST_POLLS, **settings)
        first = run_target(ctx, config, contacts, f"{name}-contacts", ledger=ledger)
        contact_calls, after_contacts = calls(mc), held(mc)
        contact_stats = mc.stats
        mc.reset_counters()
        second = run_target(ctx, config, bills, f"{name}-bills", ledger=ledger)
        bill_calls, after_bills = calls(mc), held(mc)
        bill_stats = mc.stats
    return {
        "contacts": (first, contact_calls, after_contacts, contact_stats),
        "bills": (second, bill_calls, after_bills, bill_stats),
    }


def figures_of(label: str, runs: dict[str, Any], goals: dict[str, float]) -> list[Figure]:
    _, ccalls, cheld, cstats = runs["contacts"]
    _, bcalls, bheld, bstats = runs["bills"]
    customer_calls = ccalls["customers"] + ccalls["store"] + ccalls["batches"]
    orders = bheld["orders"] - cheld["orders"]
    out = []
    if "members" in goals:
        out.append(
            Figure(
                M,
                f"member writes (calls under /lists) per 1,000 members, {label}",
                per_thousand(ccalls["members writes"], cheld["members"]),
                goals["members"],
                detail={
                    "member_write_calls": ccalls["members writes"],
                    "member_calls_all": ccalls["members"],
                    "members": cheld["members"],
                },
            )
        )
    out.append(
        Figure(
            M,
            f"e-commerce customer calls per 1,000 customers, {label}",
            per_thousand(customer_calls, cheld["customers"]),
            goals["customers"],
            detail={
                "customer_calls": ccalls["customers"],
                "store_calls": ccalls["store"],
                "batch_calls": ccalls["batches"],
                "customers": cheld["customers"],
                "max_in_flight": cstats.max_in_flight,
                "refused_for_concurrency": cstats.rejected_concurrency,
            },
        )
    )
    out.append(
        Figure(
            M,
            f"order calls per 1,000 orders, {label}",
            per_thousand(_total(bcalls), orders),
            goals["orders"],
            detail={
                **{f"{k}_calls": bcalls[k] for k in KINDS if bcalls[k]},
                "orders": orders,
                "batch_operations": bstats.batch_operations,
                "max_in_flight": bstats.max_in_flight,
                "refused_for_concurrency": bstats.rejected_concurrency,
            },
        )
    )
    return out


def measure(ctx: Context) -> list[Figure]:
    files = inputs(ctx)
    sync = account_runs(
        ctx, "requests-sync", {"batch_operations": "never"}, files["contacts"], files["bills_sync"]
    )
    ctx.log(f"requests: synchronous runs done ({held_summary(sync)})")
    backfill_settings: dict[str, Any] = {"batch_operations": "auto"}
    if ctx.sizes.quick:
        backfill_settings["batch_threshold"] = 100
    backfill = account_runs(
        ctx, "requests-backfill", backfill_settings, files["contacts"], files["bills"]
    )
    ctx.log(f"requests: backfill runs done ({held_summary(backfill)})")
    figures = figures_of("synchronous", sync, {"members": 3, "customers": 1005, "orders": 1005})
    figures += figures_of(
        "large backfill (batch operations)", backfill, {"customers": 10, "orders": 10}
    )
    if ctx.sizes.quick:
        for figure in figures[3:]:
            figure.note = "quick run: batch_threshold 100 so the small input takes the batch path"
    return figures


def held_summary(runs: dict[str, Any]) -> str:
    _, _, after, _ = runs["bills"]
    return ", ".join(f"{k} {v}" for k, v in after.items())
