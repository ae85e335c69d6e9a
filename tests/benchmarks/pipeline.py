"""Helpers shared by the target and end-to-end measurements.

- :func:`extract` runs tap-intacct against an Intacct sandbox into a Singer file (the
  target's input, so the target is measured alone, fed from a file);
- :func:`run_target` runs target-mailchimp as a fresh child process on such a file, with a
  fresh ledger, and returns its own costs;
- :func:`mailchimp_process` runs the Mailchimp sandbox as a separate process (for runs whose
  time or memory would otherwise share this process with a sandbox);
- :func:`calls` sorts the Mailchimp sandbox's request log into kinds (members, e-commerce
  customers, orders, products, store, batches) so a figure can count what it means.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.benchmarks.common import (
    REPO_ROOT,
    TAP,
    TARGET,
    ChildRun,
    Context,
    run_child,
    tap_catalog,
    write_json,
)
from tests.sandbox.intacct import IntacctSandbox
from tests.sandbox.launch import stop_process, wait_for_file
from tests.sandbox.mailchimp import MailchimpSandbox

#: Batch polling of every benchmark run: every second (the default 5 s suits Mailchimp,
#: whose batches take minutes; the sandbox finishes one in seconds, and a benchmark should
#: measure the pipeline, not its sleeps). `meltano run` gets it as a TARGET_MAILCHIMP_ variable.
FAST_POLLS: dict[str, Any] = {"batch_poll_interval": 1}


def extract(
    ctx: Context,
    sandbox: IntacctSandbox,
    streams: Sequence[str],
    name: str,
    **config: Any,
) -> tuple[Path, ChildRun]:
    """Run the tap on ``streams`` into ``<workdir>/<name>.singer``."""
    cfg = write_json(ctx.path(f"{name}-tap.json"), sandbox.tap_config(page_size=2000, **config))
    catalog = tap_catalog(cfg, streams, ctx.workdir)
    output = ctx.path(f"{name}.singer")
    with output.open("wb") as out:
        run = run_child(
            [TAP, "--config", str(cfg), "--catalog", str(catalog)],
            stdout=out,
            stderr_path=ctx.path(f"{name}-tap.stderr"),
        ).check(f"tap-intacct ({name})")
    return output, run


def truncate_records(source: Path, target: Path, keep: Mapping[str, int]) -> Path:
    """Copy a Singer file keeping the first ``keep[stream]`` records of each stream listed
    (other streams whole), every SCHEMA, and the last STATE."""
    seen: Counter[str] = Counter()
    last_state = b""
    with source.open("rb") as lines, target.open("wb") as out:
        for line in lines:
            if line.startswith(b'{"type":"STATE"'):
                last_state = line
                continue
            if line.startswith(b'{"type":"RECORD"'):
                stream = json.loads(line)["stream"]
                if stream in keep:
                    if seen[stream] >= keep[stream]:
                        continue
                    seen[stream] += 1
            out.write(line)
        out.write(last_state)
    return target


def run_target(
    ctx: Context,
    config: Mapping[str, Any],
    source: Path,
    name: str,
    *,
    ledger: Path | None = None,
) -> ChildRun:
    """target-mailchimp on ``source`` with ``config`` (plus a ledger file of its own)."""
    ledger = ledger or ctx.path(f"{name}-ledger-{secrets.token_hex(4)}.sqlite")
    settings = {"ledger_url": f"sqlite:///{ledger}", **config}
    cfg = write_json(ctx.path(f"{name}-target.json"), settings)
    with source.open("rb") as stdin, ctx.path(f"{name}-target.out").open("wb") as out:
        return run_child(
            [TARGET, "--config", str(cfg)],
            stdin=stdin,
            stdout=out,
            stderr_path=ctx.path(f"{name}-target.stderr"),
        ).check(f"target-mailchimp ({name})")


@contextlib.contextmanager
def mailchimp_process(
    ctx: Context, name: str, *, latency_ms: float = 0.0
) -> Iterator[dict[str, Any]]:
    """The Mailchimp sandbox as its own process; yields a target config for it."""
    url_file = ctx.path(f"{name}-mailchimp.url")
    config_file = ctx.path(f"{name}-mailchimp.json")
    for path in (url_file, config_file):
        path.unlink(missing_ok=True)
    stderr = ctx.path(f"{name}-mailchimp.stderr")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.sandbox.mailchimp",
            "--api-key",
            f"{secrets.token_hex(16)}-us6",
            "--latency-ms",
            str(latency_ms),
            "--url-file",
            str(url_file),
            "--config-file",
            str(config_file),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=stderr.open("wb"),
    )
    try:
        wait_for_file(url_file, proc, 60, "Mailchimp", stderr)
        # Consent is explicit (no default): the sandbox's made-up people are subscribed.
        yield {**json.loads(config_file.read_text("utf-8")), "status_if_new": "subscribed"}
    finally:
        stop_process(proc)


# --- counting ----------------------------------------------------------------------------------


def kind_of(method: str, api_path: str) -> str:
    """What a Mailchimp call is for: members, customers, orders, products, store, batches."""
    parts = api_path.strip("/").split("/")
    if api_path.startswith("/batch-results/") or parts[0] == "batches":
        return "batches"
    if parts[0] == "lists":
        return "members"
    if parts[0] == "ecommerce" and len(parts) >= 4:
        return {"customers": "customers", "orders": "orders", "products": "products"}.get(
            parts[3], "store"
        )
    if parts[0] == "ecommerce":
        return "store"
    return "other"


def calls(mc: MailchimpSandbox) -> Counter[str]:
    """The sandbox's recorded HTTP calls by kind (see :func:`kind_of`), plus writes."""
    counts: Counter[str] = Counter()
    for request in mc.requests:
        kind = kind_of(request.method, request.api_path)
        counts[kind] += 1
        if request.is_write:
            counts["writes"] += 1
            counts[f"{kind} writes"] += 1
    return counts


def held(mc: MailchimpSandbox, store_id: str = "intacct") -> dict[str, int]:
    """How many members, customers and orders the sandbox holds."""
    state = mc.snapshot()
    members = sum(len(lst.get("members", {})) for lst in state.get("lists", {}).values())
    store = state.get("stores", {}).get(store_id, {})
    return {
        "members": members,
        "customers": len(store.get("customers", {})),
        "orders": len(store.get("orders", {})),
        "products": len(store.get("products", {})),
    }
