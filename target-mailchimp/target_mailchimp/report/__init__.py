"""`target-mailchimp-report`: the ledger's audit trail of the last runs as one HTML page.

The page is self-contained (inline CSS, inline SVG chart, a little inline JS; no network, no
external file; a Content-Security-Policy forbids loading any) and shows:
- the latest run that changed something at a glance (written, unchanged, rejected, failed,
  parked, skipped), saying so when the newest run changed nothing;
- a stacked-bar chart of records per Mailchimp object kind over runs;
- a table per run (id, started, finished, duration, status) and object kind with the count of
  each audit action (created, updated, [archived,] unchanged, rejected, failed, skipped,
  parked);
- the rejected, failed and parked records grouped by reason with counts, each group a
  <details> that opens to its records; a record refused in several runs is listed once with
  its run count and first and last run, its reason, HTTP status, X-Request-Id and attempts;
  a search box finds a record by its email, its own ids (CUSTOMERID / VENDORID / RECORDID,
  RECORDNO, object id) and the ids it refers to (its VENDORID or CUSTOMERID, the bill
  RECORDNOs a payment pays), and action filters; without JavaScript the groups still open.
The page is rendered from Jinja2 templates (`templates/`) with autoescaping: every ledger
value is HTML-escaped, control and bidi-override characters are shown as codes, and the
ledger URL is shown with its password masked.

API
- `main(argv=None) -> int`: the console script (see `cli` for its options).
- `load_report(url, *, last_n=10, max_records=5000) -> ReportData`: read-only queries over
  an existing ledger; `ReportError` (a one-line message saying what to do) when there is no
  ledger, it is not a ledger, or it has no runs.
- `render_report(data) -> str`: the HTML page.
- `counts_by_run(conn, run_ids)`, `problem_rows(conn, run_ids, actions=, limit=)`,
  `open_engine(url)`, `read_tx(engine)`: the read-only queries, over the ledger's tables.
- `records_chart(runs_oldest_first, kinds) -> str`: the SVG alone.
- `group_problems(rows, runs) -> [ProblemGroup]`, `reason_pattern(row) -> str`: the
  grouping of the records section.
"""

from target_mailchimp.report.chart import records_chart
from target_mailchimp.report.cli import main, resolve_ledger_url, write_output
from target_mailchimp.report.data import (
    PROBLEM_ACTIONS,
    ProblemGroup,
    ProblemRecord,
    ReportData,
    ReportError,
    RunCounts,
    counts_by_run,
    group_problems,
    load_report,
    open_engine,
    problem_rows,
    read_tx,
    reason_pattern,
)
from target_mailchimp.report.page import render_report

__all__ = [
    "PROBLEM_ACTIONS",
    "ProblemGroup",
    "ProblemRecord",
    "ReportData",
    "ReportError",
    "RunCounts",
    "counts_by_run",
    "group_problems",
    "load_report",
    "main",
    "open_engine",
    "problem_rows",
    "read_tx",
    "reason_pattern",
    "records_chart",
    "render_report",
    "resolve_ledger_url",
    "write_output",
]
