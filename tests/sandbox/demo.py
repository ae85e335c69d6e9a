"""`make demo`: both sandboxes in the background, one `meltano run`, then what Mailchimp holds.

    python -m tests.sandbox.demo [--workdir .sandbox] [--meltano .venv/bin/meltano]

The Intacct sandbox serves the same seeded company on every start (customers, vendors, AP bills
and payments, AR invoices and payments), and the Mailchimp sandbox keeps its account in the
work folder. From the second run on, the Intacct sandbox starts by deleting a few records (two
each of customers, vendors, bills, AP payments, invoices and AR payments, as a user would), so
the second run shows deletions reaching Mailchimp (members archived, orders deleted) and a
third finds everything unchanged (the same deletions again are skipped as already applied).
The sandboxes stop whatever happens.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import requests

from tests.sandbox.launch import (
    REPO_ROOT,
    RunningSandboxes,
    SandboxStartError,
    running_sandboxes,
)

#: Records of each kind the Intacct sandbox deletes before every demo run but the first.
DELETE_PER_OBJECT = 2


def _total(sb: RunningSandboxes, path: str) -> int:
    cfg = sb.target_config
    response = requests.get(
        f"{cfg['api_url']}{path}",
        params={"count": 1, "fields": "total_items"},
        auth=("demo", cfg["api_key"]),
        timeout=30,
    )
    response.raise_for_status()
    return int(response.json()["total_items"])


def describe_mailchimp(sb: RunningSandboxes) -> str:
    """A few lines on what the Mailchimp sandbox holds, read through its API."""
    list_id = sb.target_config["list_id"]
    store = "/ecommerce/stores/intacct"
    rows = [
        ("audience members", _total(sb, f"/lists/{list_id}/members")),
        ("archived members", _total(sb, f"/lists/{list_id}/members?status=archived")),
    ]
    try:
        rows += [
            ("e-commerce customers", _total(sb, f"{store}/customers")),
            ("e-commerce products", _total(sb, f"{store}/products")),
            ("e-commerce orders", _total(sb, f"{store}/orders")),
        ]
    except requests.HTTPError:
        rows.append(("e-commerce store", 0))
    width = max(len(name) for name, _ in rows)
    lines = ["The Mailchimp sandbox now holds:"]
    lines += [f"  {name:<{width}}  {count:>6}" for name, count in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.sandbox.demo", description=__doc__)
    parser.add_argument("--workdir", type=Path, default=REPO_ROOT / ".sandbox")
    parser.add_argument("--meltano", default=str(REPO_ROOT / ".venv" / "bin" / "meltano"))
    args = parser.parse_args(argv)

    runs_file = args.workdir / "demo-runs"
    runs = int(runs_file.read_text("utf-8").strip() or 0) if runs_file.exists() else 0
    intacct_args: list[str] = []
    if runs:
        intacct_args = ["--delete-on-start", str(DELETE_PER_OBJECT)]
        print(
            f"Since the last run, Intacct deleted {DELETE_PER_OBJECT} customers, vendors, bills, "
            "AP payments, invoices and AR payments each; this run takes them out of Mailchimp.",
            flush=True,
        )
    print("Starting the Intacct and Mailchimp sandboxes on loopback ...", flush=True)
    try:
        run = _run(args, intacct_args)
    except SandboxStartError as exc:
        print(f"make demo: {exc}", file=sys.stderr, flush=True)
        return 1
    print("Sandboxes stopped.", flush=True)
    if run.returncode != 0:
        print(f"meltano run failed with exit code {run.returncode}", file=sys.stderr)
        return run.returncode
    args.workdir.mkdir(parents=True, exist_ok=True)
    runs_file.write_text(f"{runs + 1}\n", "utf-8")
    print(
        "Audit report: .venv/bin/target-mailchimp-report "
        "--ledger-url sqlite:///.sandbox/ledger.sqlite --output .sandbox/report.html"
    )
    return 0


def _run(args: argparse.Namespace, intacct_args: list[str]) -> subprocess.CompletedProcess[bytes]:
    with running_sandboxes(args.workdir, intacct_args=intacct_args) as sb:
        print(f"  Intacct gateway:   {sb.tap_config['api_url']}", flush=True)
        print(f"  Mailchimp API:     {sb.target_config['api_url']}", flush=True)
        print("Running: meltano run tap-intacct target-mailchimp (sandbox)", flush=True)
        run = subprocess.run(
            [args.meltano, "--environment", "sandbox", "run", "tap-intacct", "target-mailchimp"],
            cwd=REPO_ROOT,
            env=sb.meltano_env(),
            check=False,
        )
        print(flush=True)
        print(describe_mailchimp(sb), flush=True)
    return run


if __name__ == "__main__":
    sys.exit(main())
