"""Measurement 6: `meltano run tap-intacct target-mailchimp` against the sandboxes, compared
with the tap alone plus the target alone on the same data.

The Intacct sandbox is the one of measurement 1 (100,000 bills with their lines, 200
customers, 100 vendors), and the tap alone is measurement 1's tap run (same settings: page
size 2000, UTC). The target alone is measurement 5's large run on the tap's file. The
meltano run uses the project's meltano.yml (environment ``sandbox``) with the same tap
settings passed as TAP_INTACCT_* variables, a fresh Mailchimp sandbox process, a fresh
ledger and a fresh Meltano system database (so no state: a full extraction, and `make
demo`'s state is left alone). Goal: meltano run time / (tap alone + target alone)
at most 1.2.
"""

from __future__ import annotations

import json
import os
import secrets
from typing import Any

import requests

from tests.benchmarks.common import MELTANO, REPO_ROOT, ChildRun, Context, Figure, run_child
from tests.benchmarks.memory import target_alone
from tests.benchmarks.pipeline import FAST_POLLS, mailchimp_process
from tests.sandbox.launch import plugin_env

GOAL = 1.2
M = "6 end to end"


def meltano_run(ctx: Context, tap_config: dict[str, Any], name: str) -> tuple[ChildRun, Any]:
    """One `meltano run` against the running Intacct sandbox and a fresh Mailchimp one."""
    with mailchimp_process(ctx, name) as target_config:
        ledger = ctx.path(f"{name}-ledger-{secrets.token_hex(4)}.sqlite")
        env = meltano_env(ctx, name)
        env.update(plugin_env("TAP_INTACCT", tap_config))
        env.update(
            plugin_env(
                "TARGET_MAILCHIMP",
                {**target_config, **FAST_POLLS, "ledger_url": f"sqlite:///{ledger}"},
            )
        )
        run = run_child(
            [MELTANO, "--environment", "sandbox", "run", "tap-intacct", "target-mailchimp"],
            env=env,
            stderr_path=ctx.path(f"{name}-meltano.stderr"),
        )
        run.check("meltano run")
        held = _held(target_config)
    return run, held


def meltano_env(ctx: Context, name: str) -> dict[str, str]:
    """Meltano's environment for a run of its own: a fresh system database (no state, so a
    full extraction; `make demo`'s state untouched) and a run folder of its own with the
    project's installed plugins linked in."""
    sys_dir = ctx.path(f"{name}-meltano-sys")
    sys_dir.mkdir(exist_ok=True)
    for kind in ("extractors", "loaders"):
        link = sys_dir / kind
        if not link.exists():
            link.symlink_to(REPO_ROOT / ".meltano" / kind)
    return {
        **os.environ,
        "MELTANO_DATABASE_URI": f"sqlite:///{ctx.path(f'{name}-meltano.db')}",
        "MELTANO_SYS_DIR_ROOT": str(sys_dir),
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "NO_COLOR": "1",
    }


def _held(target_config: dict[str, Any]) -> dict[str, int]:
    """Orders and customers in the Mailchimp sandbox (through its API)."""
    out = {}
    for kind in ("customers", "orders"):
        answer = requests.get(
            f"{target_config['api_url']}/ecommerce/stores/intacct/{kind}",
            params={"count": "1", "fields": "total_items"},
            auth=("bench", target_config["api_key"]),
            timeout=60,
        )
        answer.raise_for_status()
        out[kind] = int(answer.json()["total_items"])
    return out


def measure(ctx: Context) -> list[Figure]:
    large = ctx.shared["tap_large"]
    tap: ChildRun = large["tap"]
    target = ctx.shared.get("target_large")
    if target is None:
        target = target_alone(ctx, large["output"], "large")
        ctx.shared["target_large"] = target
    tap_config = json.loads(large["config"].read_text("utf-8"))
    run, held = meltano_run(ctx, tap_config, "e2e")
    ctx.log(f"e2e: meltano run {run.wall:.1f} s; Mailchimp holds {held}")
    alone = tap.wall + target.wall
    return [
        Figure(
            M,
            f"meltano run / (tap alone + target alone), {large['records']:,} records",
            run.wall / alone,
            GOAL,
            unit="x",
            detail={
                "meltano_run_s": round(run.wall, 1),
                "tap_alone_s": round(tap.wall, 1),
                "target_alone_s": round(target.wall, 1),
                "orders_in_mailchimp": held["orders"],
                "customers_in_mailchimp": held["customers"],
            },
        )
    ]
