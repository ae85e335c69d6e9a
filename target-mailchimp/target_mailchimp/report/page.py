"""The report page: one self-contained HTML document (inline CSS, SVG and a little JS),
rendered from the Jinja2 templates in `templates/` with autoescaping.

`render_report(data) -> str`. Nothing is loaded from elsewhere: no stylesheet, script, font
or image links, and a Content-Security-Policy that forbids them (and any script but the
page's own, pinned by its hash) as a second line of defence behind the escaping.

Escaping: autoescaping escapes every value the templates print. On top of it, characters
that would be invisible or reorder the line (C0/C1 controls, bidi embeddings, overrides and
isolates, BOM, lone surrogates) are shown as visible `\\uXXXX` codes: in every printed value
(the environment's `finalize`), and styled as such by the `visible` filter; `bdi` also wraps
a value in <bdi> so right-to-left text does not reorder the cells around it. Without
JavaScript the page is complete (groups open as <details>); the script adds the search box
and action filters.

Sections: the latest run that changed something (saying so when the newest changed
nothing), the chart (records per object kind over runs), the runs table (one row per run and
object kind, a column per audit action), and the rejected, failed and parked records grouped
by reason, each record once with its runs, searchable by its ids and the ids it refers to.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence

from target_mailchimp.ledger import ACTIONS
from target_mailchimp.report.chart import chart_model, kind_colors
from target_mailchimp.report.data import (
    PROBLEM_ACTIONS,
    WRITTEN_ACTIONS,
    ReportData,
    RunCounts,
)
from target_mailchimp.report.templating import environment

#: The run-table columns: every audit action, in the ledger's order ("archived" only when a
#: run has some).
TABLE_ACTIONS: tuple[str, ...] = ACTIONS
_OPTIONAL_ACTIONS = frozenset({"archived"})

#: What the source id is called in each Intacct stream.
SOURCE_ID_LABELS: dict[str, str] = {
    "customers": "CUSTOMERID",
    "vendors": "VENDORID",
    "ap_bills": "RECORDID",
    "ap_payments": "RECORDID",
}


def _script_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def card_values(rc: RunCounts) -> list[tuple[str, int, str]]:
    """The cards of a run: (label, count, tone)."""
    return [
        ("written", rc.count_actions(WRITTEN_ACTIONS), ""),
        ("unchanged", rc.count(action="unchanged"), ""),
        ("rejected", rc.count(action="rejected"), "bad"),
        ("failed", rc.count(action="failed"), "bad"),
        ("parked", rc.count(action="parked"), "warn"),
        ("skipped", rc.count(action="skipped"), ""),
    ]


def action_summary(rc: RunCounts) -> str:
    """A run's non-zero counts per action ("110 unchanged, 14 rejected"), or that no record
    arrived."""
    parts = [f"{n:,} {a}" for a in ACTIONS if (n := rc.count(action=a))]
    return ", ".join(parts) if parts else "no records arrived"


def _table_actions(data: ReportData) -> list[str]:
    return [
        a
        for a in TABLE_ACTIONS
        if a not in _OPTIONAL_ACTIONS or any(rc.count(action=a) for rc in data.runs)
    ]


def _run_kinds(kinds: Sequence[str]) -> object:
    def run_kinds_of(rc: RunCounts) -> list[str | None]:
        return [k for k in kinds if k in rc.counts] or [None]

    return run_kinds_of


def render_report(data: ReportData) -> str:
    """The whole page as text (see the module docstring)."""
    if not data.runs:
        raise ValueError("a report needs at least one run")
    env = environment()
    script = env.get_template("report.js").render()
    csp = (
        "default-src 'none'; style-src 'unsafe-inline'; "
        f"script-src '{_script_hash(script)}'; img-src data:; base-uri 'none'; "
        "form-action 'none'"
    )
    shown = len(data.runs)
    runs_note = (
        f"the {shown} most recent of {data.runs_total} runs"
        if data.runs_total > shown
        else f"all {shown} run{'s' if shown != 1 else ''}"
    )
    groups = data.groups if data.problems else []
    skipped_runs = next((i for i, rc in enumerate(data.runs) if rc.did_something), len(data.runs))
    counts = {a: sum(1 for r in data.problems if r.action == a) for a in PROBLEM_ACTIONS}
    return (
        environment()
        .get_template("report.html.j2")
        .render(
            data=data,
            csp=csp,
            runs_note=runs_note,
            chart=chart_model(list(reversed(data.runs)), data.kinds),
            table_actions=_table_actions(data),
            colors=kind_colors(data.kinds),
            run_kinds_of=_run_kinds(data.kinds),
            card_values=card_values,
            action_summary=action_summary,
            source_id_labels=SOURCE_ID_LABELS,
            groups=groups,
            record_total=sum(len(g.records) for g in groups),
            skipped_runs=skipped_runs,
            action_counts=[(a, n) for a, n in counts.items() if n],
        )
    )
