"""`target-mailchimp-report`: the ledger's audit trail of the last runs as one HTML page.

The page is self-contained (inline CSS, inline SVG chart, a little inline JS; no network, no
external file; a Content-Security-Policy forbids loading any) and shows:
- the latest run at a glance (written, unchanged, rejected, failed, parked, skipped);
- a stacked-bar chart of records per Mailchimp object kind over runs;
- a table per run (id, started, finished, duration, status) and object kind with the count of
  each audit action (created, updated, [archived,] unchanged, rejected, failed, skipped,
  parked);
- the rejected, failed and parked records with their reasons, HTTP status, X-Request-Id and
  attempts, with a search box (email, CUSTOMERID / VENDORID / RECORDNO, object id) and action
  filters; without JavaScript it is a plain table.
Every ledger value is HTML-escaped, control and bidi-override characters are shown as codes,
and the ledger URL is shown with its password masked.

API
- `main(argv=None) -> int`: the console script (see `cli` for its options).
- `load_report(url, *, last_n=10, max_records=5000) -> ReportData`: read-only queries over
  an existing ledger; `ReportError` (a one-line message saying what to do) when there is no
  ledger, it is not a ledger, or it has no runs.
- `render_report(data) -> str`: the HTML page.
- `counts_by_run(conn, run_ids)`, `problem_rows(conn, run_ids, actions=, limit=)`,
  `open_engine(url)`, `read_tx(engine)`: the read-only queries, over the ledger's tables.
- `records_chart(runs_oldest_first, kinds) -> str`: the SVG alone.
"""

from target_mailchimp.report.chart import records_chart
from target_mailchimp.report.cli import main, resolve_ledger_url, write_output
from target_mailchimp.report.data import (
    PROBLEM_ACTIONS,
    ReportData,
    ReportError,
    RunCounts,
    counts_by_run,
    load_report,
    open_engine,
    problem_rows,
    read_tx,
)
from target_mailchimp.report.page import render_report

__all__ = [
    "PROBLEM_ACTIONS",
    "ReportData",
    "ReportError",
    "RunCounts",
    "counts_by_run",
    "load_report",
    "main",
    "open_engine",
    "problem_rows",
    "read_tx",
    "records_chart",
    "render_report",
    "resolve_ledger_url",
    "write_output",
]
