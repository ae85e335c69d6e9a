"""Run the Intacct sandbox on its own (for `make demo` and manual poking).

    python -m tests.sandbox.intacct --port 0 --seed 1 --customers 200 --vendors 100 \
        --bills 500 --payments 300 --url-file .sandbox/intacct.url \
        --config-file .sandbox/tap-intacct.json

Prints the gateway URL, writes it (and a ready tap config, credentials included) to the
given files (atomically, the URL file last, so its existence means ready), and serves
until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

from tests.sandbox.cli import add_latency_options, run_main, stop_on_signals, wait_for, write_atomic
from tests.sandbox.intacct.data import delete_some, generate_company
from tests.sandbox.intacct.faults import FAULTS
from tests.sandbox.intacct.server import IntacctSandbox


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tests.sandbox.intacct", description=__doc__)
    p.add_argument("--host", default="127.0.0.1", help="loopback address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--customers", type=int, default=200)
    p.add_argument("--vendors", type=int, default=100)
    p.add_argument("--bills", type=int, default=500)
    p.add_argument("--payments", type=int, default=300)
    p.add_argument("--invoices", type=int, default=0, help="AR invoices (default 0)")
    p.add_argument("--ar-payments", type=int, default=0, help="AR payments (default 0)")
    p.add_argument(
        "--delete-on-start",
        type=int,
        default=0,
        metavar="N",
        help="once started, delete N customers, vendors, bills, AP payments, invoices and AR "
        "payments each (with their AUDITHISTORY rows, stamped now), as a user in Intacct would",
    )
    add_latency_options(p)
    p.add_argument(
        "--max-concurrent-requests",
        type=int,
        default=2,
        help="the company's allowance of simultaneous requests; above it HTTP 429 GW-0010 "
        "(default 2; 0: no limit)",
    )
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME:P",
        help=f"random fault with probability P (repeatable); names: {', '.join(sorted(FAULTS))}",
    )
    p.add_argument("--url-file", type=Path, help="write the gateway URL here")
    p.add_argument("--config-file", type=Path, help="write a tap-intacct config JSON here")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.monotonic()
    company = generate_company(
        seed=args.seed,
        customers=args.customers,
        vendors=args.vendors,
        bills=args.bills,
        payments=args.payments,
        invoices=args.invoices,
        ar_payments=args.ar_payments,
    )
    stop = stop_on_signals()
    with IntacctSandbox(
        company,
        host=args.host,
        port=args.port,
        latency_ms=args.latency_ms,
        latency_jitter_ms=args.latency_jitter_ms,
        latency_distribution=args.latency_distribution,
        latency_seed=args.seed,
        max_concurrent_requests=args.max_concurrent_requests or None,
    ) as sb:
        if args.delete_on_start:
            deleted = delete_some(company, args.delete_on_start, rng=random.Random(args.seed))
            print(
                "  deleted in Intacct: "
                + ", ".join(f"{o} {', '.join(map(str, n))}" for o, n in deleted.items() if n),
                file=sys.stderr,
                flush=True,
            )
        for spec in args.fault:
            name, _, prob = spec.partition(":")
            sb.faults.random(name, float(prob or 0.1), seed=args.seed)
        # The URL file is written last: once it exists, everything is ready.
        if args.config_file:
            write_atomic(args.config_file, json.dumps(sb.tap_config(), indent=2) + "\n")
        if args.url_file:
            write_atomic(args.url_file, sb.gateway_url + "\n")
        counts = ", ".join(f"{o}={company.count(o)}" for o in company.versions if company.count(o))
        print(f"Intacct sandbox listening on {sb.gateway_url}", flush=True)
        print(f"  data (seed {args.seed}): {counts}", file=sys.stderr, flush=True)
        print(f"  ready in {time.monotonic() - started:.1f}s", file=sys.stderr, flush=True)
        wait_for(stop)
        print(f"Intacct sandbox stopping after {len(sb.requests)} requests", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main, "Intacct"))
