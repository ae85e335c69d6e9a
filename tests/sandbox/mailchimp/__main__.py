"""Run the Mailchimp sandbox until SIGTERM/SIGINT: ``python -m tests.sandbox.mailchimp``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tests.sandbox.cli import add_latency_options, run_main, stop_on_signals, wait_for, write_atomic

from .server import DEFAULT_DC, DEFAULT_LIST_ID, MailchimpSandbox


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.sandbox.mailchimp",
        description="A local Mailchimp Marketing API v3 sandbox on loopback.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=0, help="port (0 = a free one)")
    add_latency_options(parser)
    parser.add_argument("--list-id", default=DEFAULT_LIST_ID, help="id of the pre-made audience")
    parser.add_argument("--api-key", default=None, help="API key to accept (default: random)")
    parser.add_argument("--dc", default=DEFAULT_DC, help="data center suffix of the key")
    parser.add_argument("--max-connections", type=int, default=10)
    parser.add_argument("--batch-order", choices=("shuffled", "fifo"), default="shuffled")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--state-file",
        type=Path,
        help="keep the account's data here across restarts (loaded at start, saved at stop)",
    )
    parser.add_argument("--url-file", type=Path, help="write the base URL here once serving")
    parser.add_argument(
        "--config-file", type=Path, help="write a target config JSON here once serving"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop = stop_on_signals()
    sandbox = MailchimpSandbox(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        dc=args.dc,
        list_id=args.list_id,
        latency=args.latency_ms / 1000.0,
        latency_jitter=args.latency_jitter_ms / 1000.0,
        latency_distribution=args.latency_distribution,
        max_connections=args.max_connections,
        batch_order=args.batch_order,
        seed=args.seed,
        state_file=args.state_file,
    )
    with sandbox:
        if args.config_file:
            write_atomic(args.config_file, json.dumps(sandbox.target_config(), indent=2) + "\n")
        if args.url_file:
            write_atomic(args.url_file, sandbox.base_url + "\n")
        print(sandbox.base_url, flush=True)
        wait_for(stop)
    print("mailchimp sandbox stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main, "Mailchimp"))
