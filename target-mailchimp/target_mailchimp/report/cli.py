"""`target-mailchimp-report`: the audit trail of the last runs as one HTML page.

    target-mailchimp-report [--config FILE] [--ledger-url URL] [--runs N]
                            [--output FILE] [--max-records N]

The ledger URL is --ledger-url, else the `ledger_url` of the target's config JSON (--config),
else the target's default (`DEFAULT_LEDGER_URL`, relative to the working directory). The
page goes to --output (default target-mailchimp-report.html; '-' writes it to stdout); where
it went is printed to stderr. Exit status: 0 written; 1 no ledger, no runs, unreadable config
or output; 2 bad arguments. Errors are one line, never a traceback, and never show the
ledger URL's password or anything else from the config.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from target_mailchimp.ledger import DEFAULT_LEDGER_URL
from target_mailchimp.report.data import ReportError, load_report
from target_mailchimp.report.page import render_report

PROG = "target-mailchimp-report"
DEFAULT_OUTPUT = "target-mailchimp-report.html"


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Render the audit trail of target-mailchimp's last runs into one self-contained "
            "HTML page: counts per run and Mailchimp object, a chart over runs, and the "
            "rejected, failed and parked records with their reasons, searchable by email or "
            "Intacct id."
        ),
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        help="the target's config JSON; its ledger_url is used unless --ledger-url is given",
    )
    parser.add_argument(
        "--ledger-url",
        metavar="URL",
        help=f"the ledger's database URL (default: the config's ledger_url, else "
        f"{DEFAULT_LEDGER_URL})",
    )
    parser.add_argument(
        "--scope",
        metavar="COMPANY/ENTITY/LIST/STORE",
        help="one company of a ledger shared by a fleet: its intacct_company_id, "
        "intacct_entity_id, list_id and store_id joined by '/' (e.g. ACME//a1b2c3d4e5/intacct)",
    )
    parser.add_argument(
        "--runs",
        metavar="N",
        type=_positive_int,
        default=10,
        help="how many of the most recent runs to show (default: 10)",
    )
    parser.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        default=DEFAULT_OUTPUT,
        help=f"where to write the page (default: {DEFAULT_OUTPUT}; '-' for stdout)",
    )
    parser.add_argument(
        "--max-records",
        metavar="N",
        type=_positive_int,
        default=5000,
        help="at most this many rejected/failed/parked records listed, newest first "
        "(default: 5000)",
    )
    return parser


def resolve_ledger_url(ledger_url: str | None, config: Path | None) -> str:
    """--ledger-url, else the config's `ledger_url`, else the target's default."""
    if ledger_url:
        return ledger_url
    if config is not None:
        try:
            settings = json.loads(config.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ReportError(f"config file {config} not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ReportError(f"cannot read config file {config}: {exc}") from None
        except ValueError as exc:
            raise ReportError(f"config file {config} is not valid JSON: {exc}") from None
        if not isinstance(settings, dict):
            raise ReportError(f"config file {config} must hold a JSON object")
        url = settings.get("ledger_url")
        if url is not None:
            if not isinstance(url, str) or not url.strip():
                raise ReportError(f"ledger_url in {config} must be a database URL string")
            return url.strip()
    return DEFAULT_LEDGER_URL


def write_output(page: str, output: str) -> str:
    """Write the page to `output` ('-': stdout) atomically; returns where it went."""
    if output == "-":
        sys.stdout.write(page)
        sys.stdout.flush()
        return "stdout"
    path = Path(output)
    folder = path.parent
    if not folder.is_dir():
        raise ReportError(f"cannot write {path}: folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(page)
            # mkstemp makes the file private; give it the permissions of a normal new file.
            umask = os.umask(0)
            os.umask(umask)
            Path(tmp).chmod(0o666 & ~umask)
            Path(tmp).replace(path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from None
    return str(path.resolve())


def main(argv: Sequence[str] | None = None) -> int:
    """The console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        url = resolve_ledger_url(args.ledger_url, args.config)
        data = load_report(url, last_n=args.runs, max_records=args.max_records, scope=args.scope)
        where = write_output(render_report(data), args.output)
    except ReportError as exc:
        sys.stderr.write(f"{PROG}: error: {exc}\n")
        return 1
    sys.stderr.write(
        f"{PROG}: wrote the report of {len(data.runs)} run(s) "
        f"({data.problems_total:,} rejected, failed or parked record(s)) "
        f"from {data.ledger_url} to {where}\n"
    )
    return 0
