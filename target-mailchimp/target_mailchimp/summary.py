"""The run summary printed at the end of every target run, read from the ledger.

`build_report(ledger, run_id, status=..., dry_run=..., stats=...) -> RunReport` and
`render(report) -> str`. The text holds:

- a table per Mailchimp object kind (member, customer, product, order, merge field, store;
  "record" for rows about no object) with the audit actions of this run: created,
  updated, archived, unchanged, rejected, failed, skipped, parked (counts of audit rows:
  one per record and object);
- the HTTP calls made to Mailchimp (and retries);
- the records still parked in the ledger, per stream and reason;
- the rejected and failed records with their ids and reasons (the first `max_listed`; the
  audit trail has them all: `Ledger.audit.rejected(run_id)`); no email, and every value with its
  control characters escaped, so no input can forge a line of the summary.

A dry run says so in its first line: the counts are what a real run would do.

A ledger reset (a new or emptied ledger, with no earlier run) while the tap resumed from a
state (its bookmarks kept) is said plainly (`LEDGER_RESET_MESSAGE`), and never reported as
"unchanged": the tap sends only what changed since its bookmarks, so Mailchimp may lack
everything before them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from intacct_mailchimp_common.logsafe import LogText, escape_controls
from target_mailchimp.api import TransportStats
from target_mailchimp.ledger import ACTIONS, AuditRow, Ledger
from target_mailchimp.ledger.sources import VENDOR_CHANGE_CODES

KINDS = ("member", "customer", "product", "order", "merge_field", "store", "record")
MAX_LISTED = 50
LEDGER_RESET_MESSAGE = (
    "the ledger has no record of earlier runs but the tap resumed from a state: "
    "run with --full-refresh to rewrite Mailchimp"
)


@dataclass(frozen=True)
class RunReport:
    """What one run did (see module docstring)."""

    run_id: str
    status: str
    dry_run: bool
    counts: Mapping[str, Mapping[str, int]]
    problems: list[AuditRow]
    rejected_records: int
    failed_records: int
    parked: Mapping[tuple[str, str], int] = field(default_factory=dict)
    stats: TransportStats | None = None
    max_listed: int = MAX_LISTED
    #: The ledger knew no earlier run while the tap resumed from a state.
    ledger_reset: bool = False

    def total(self, action: str) -> int:
        return sum(v.get(action, 0) for v in self.counts.values())


def distinct_records(rows: list[AuditRow], action: str) -> int:
    """How many input records have a row with `action` (rows about no record count once)."""
    keys = set()
    loose = 0
    for row in rows:
        if row.action != action:
            continue
        if row.source_key is None:
            loose += 1
        else:
            keys.add((row.stream, row.source_key))
    return len(keys) + loose


def build_report(
    ledger: Ledger,
    run_id: str,
    *,
    status: str,
    dry_run: bool = False,
    stats: TransportStats | None = None,
    max_listed: int = MAX_LISTED,
    ledger_reset: bool = False,
) -> RunReport:
    """Collect a run's report from the ledger."""
    problems = ledger.audit.rejected(run_id)
    # Bills kept for a vendor change were rejected (counted there), not waiting.
    parked: Counter[tuple[str, str]] = Counter(
        (p.stream, p.code) for p in ledger.sources.parked() if p.code not in VENDOR_CHANGE_CODES
    )
    return RunReport(
        run_id=run_id,
        status=status,
        dry_run=dry_run,
        counts=ledger.audit.summary(run_id),
        problems=problems,
        rejected_records=distinct_records(problems, "rejected"),
        failed_records=distinct_records(problems, "failed"),
        parked=dict(parked),
        stats=stats,
        max_listed=max_listed,
        ledger_reset=ledger_reset,
    )


def _row_text(row: AuditRow) -> str:
    """One problem row: ids, action and reason (no email: the log holds ids only)."""
    who = [row.stream]
    if row.source_key is not None:
        who.append(f"RECORDNO {row.source_key}" if row.stream in _INTACCT else row.source_key)
    if row.source_id and row.source_id != row.source_key:
        who.append(f"({row.source_id})")
    target = row.object_kind or "record"
    if row.object_id:
        target += f" {row.object_id}"
    status = f" HTTP {row.http_status}" if row.http_status else ""
    request = f" [request {row.request_id}]" if row.request_id else ""
    # Every value is escaped: a newline in an Intacct id cannot start a line of its own.
    return escape_controls(
        f"{' '.join(who)} -> {target}: {row.action}{status}{request}: {row.detail or ''}"
    )


_INTACCT = frozenset({"customers", "vendors", "ap_bills", "ap_payments"})


def render(report: RunReport) -> LogText:
    """The summary as text (see module docstring); its values are escaped for a log."""
    lines = [f"target-mailchimp run {report.run_id}: {report.status}"]
    if report.dry_run:
        lines.append(
            "DRY RUN: nothing was written to Mailchimp; the counts are what a real run would do"
        )
    if report.ledger_reset:
        lines.append(f"LEDGER RESET: {LEDGER_RESET_MESSAGE}")
    kinds = [k for k in KINDS if k in report.counts] + sorted(
        k for k in report.counts if k not in KINDS
    )
    if kinds:
        width = max(len(k) for k in (*kinds, "object")) + 2
        header = "object".ljust(width) + "".join(a.rjust(11) for a in ACTIONS)
        lines.append(header)
        for kind in kinds:
            counts = report.counts[kind]
            lines.append(
                kind.ljust(width) + "".join(str(counts.get(a, 0)).rjust(11) for a in ACTIONS)
            )
    elif report.status == "failed":
        lines.append("nothing was written to Mailchimp or recorded in the ledger before it failed")
    elif report.ledger_reset:
        lines.append(
            "no records arrived: the tap sent only what changed after its bookmarks, and the "
            "ledger knows of nothing written before; Mailchimp may lack those records"
        )
    else:
        lines.append(
            "no records arrived: nothing changed in Intacct since the last run, "
            "so everything in Mailchimp is unchanged"
        )
    if report.status == "failed" and kinds:
        lines.append(
            "The run FAILED: the counts above are what it wrote and recorded before the "
            "failure; the next run continues from the last state emitted"
        )
    if report.stats is not None:
        s = report.stats
        lines.append(f"Mailchimp: {s.calls} calls, {s.requests} HTTP requests, {s.retries} retries")
    if report.parked:
        waiting = ", ".join(
            f"{n} {stream} ({code.replace('_', ' ')})"
            for (stream, code), n in sorted(report.parked.items())
        )
        lines.append(f"Waiting in the ledger (written once what they wait for arrives): {waiting}")
    if report.problems:
        lines.append(
            f"Rejected records: {report.rejected_records}; failed: {report.failed_records}"
            + (
                f" (the first {report.max_listed} are listed; the audit trail has all)"
                if len(report.problems) > report.max_listed
                else ""
            )
        )
        lines.extend(f"  - {_row_text(row)}" for row in report.problems[: report.max_listed])
    else:
        lines.append("Rejected records: 0")
    return LogText("\n".join(lines))
