"""The report page: one self-contained HTML document (inline CSS, SVG and a little JS).

`render_report(data) -> str`. Nothing is loaded from elsewhere: no stylesheet, script, font
or image links, and a Content-Security-Policy that forbids them (and any script but the
page's own, pinned by its hash) as a second line of defence behind the escaping. Every value
from the ledger goes through `escape.text`/`escape.attr`. Without JavaScript the page is
complete; the script only adds the search box and action filters over the records table.

Sections: the latest run at a glance, the chart (records per object kind over runs), the runs
table (one row per run and object kind, a column per audit action), and the rejected, failed
and parked records with their reasons, searchable by email or Intacct id.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta

from target_mailchimp.ledger import ACTIONS, AuditRow
from target_mailchimp.report.chart import kind_colors, kind_label, records_chart
from target_mailchimp.report.data import (
    PROBLEM_ACTIONS,
    WRITTEN_ACTIONS,
    ReportData,
    RunCounts,
)
from target_mailchimp.report.escape import attr, bdi, text

#: The run-table columns: every audit action, in the ledger's order ("archived" only when a
#: run has some).
TABLE_ACTIONS: tuple[str, ...] = ACTIONS
_OPTIONAL_ACTIONS = frozenset({"archived"})

_CSS = """
:root { --fg:#1d1d1f; --muted:#6b6b70; --line:#e2e2e6; --bg:#fff; --soft:#f6f6f8;
  --bad:#b3261e; --bad-bg:#fde7e4; --warn:#8a5a00; --warn-bg:#fff1d6; --ok:#1b6e35;
  --ok-bg:#e3f4e8; --info:#0b57a4; --info-bg:#e3eefb; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); background: var(--bg); }
main { max-width: 1200px; margin: 0 auto; padding: 24px 24px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 32px 0 10px; }
h2 .n { color: var(--muted); font-weight: normal; }
p { margin: 6px 0; }
.meta, .hint, footer { color: var(--muted); }
footer { margin-top: 32px; font-size: 12px; }
code { font: 12.5px/1.3 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  overflow-wrap: anywhere; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 8px 14px; min-width: 110px;
  background: var(--soft); }
.card .v { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .l { color: var(--muted); font-size: 12px; }
.card.bad { background: var(--bad-bg); border-color: #f3b9b2; }
.card.warn { background: var(--warn-bg); border-color: #f0d08f; }
.chart-box { border: 1px solid var(--line); border-radius: 8px; padding: 8px; overflow-x: auto; }
svg.chart { display: block; max-width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 5px 8px; text-align: left; vertical-align: top; border-bottom: 1px solid
  var(--line); }
thead th { position: sticky; top: 0; background: #fafafb; font-size: 12px; font-weight: 600;
  color: #3a3a3f; border-bottom: 2px solid #cfcfd5; white-space: nowrap; }
table.runs tbody:nth-of-type(even) { background: var(--soft); }
table.runs tbody { border-top: 2px solid #d5d5da; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.zero { color: #b5b5ba; }
td.num.bad { color: var(--bad); font-weight: 600; }
td.num.warn { color: var(--warn); font-weight: 600; }
td.total { font-weight: 600; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px;
  margin-right: 6px; vertical-align: baseline; }
.badge { display: inline-block; padding: 1px 7px; border-radius: 10px; font-size: 12px;
  font-weight: 600; white-space: nowrap; }
.s-succeeded { color: var(--ok); background: var(--ok-bg); }
.s-failed, .a-rejected, .a-failed { color: var(--bad); background: var(--bad-bg); }
.s-running { color: var(--info); background: var(--info-bg); }
.s-abandoned, .a-parked { color: var(--warn); background: var(--warn-bg); }
.nowrap { white-space: nowrap; }
td.run-id code { overflow-wrap: normal; word-break: normal; }
.table-box { overflow-x: auto; }
td.when { white-space: nowrap; font-variant-numeric: tabular-nums; }
td.when .k { font-size: 12.5px; }
.k { color: var(--muted); font-size: 11.5px; margin-right: 3px; }
.ctl { color: var(--bad); background: var(--bad-bg); font: 11px ui-monospace, monospace;
  border-radius: 3px; padding: 0 2px; }
table.problems td { font-size: 13px; }
table.problems td.reason { white-space: pre-wrap; overflow-wrap: anywhere; min-width: 260px; }
table.problems td.email { overflow-wrap: anywhere; min-width: 170px; max-width: 260px; }
table.problems td.object { min-width: 180px; }
table.problems td.source { min-width: 150px; }
table.problems .k { white-space: nowrap; }
table.problems tr.run-head th { position: static; background: #eef0f4; font-weight: normal;
  font-size: 13px; border-top: 2px solid #cfcfd5; white-space: normal; }
.filters { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 16px;
  margin: 8px 0 10px; padding: 8px 10px; background: var(--soft); border: 1px solid var(--line);
  border-radius: 8px; }
.filters input[type=search] { font: inherit; padding: 5px 8px; width: 380px; max-width: 100%;
  border: 1px solid #bdbdc4; border-radius: 6px; }
#shown { color: var(--muted); }
.empty { padding: 14px; color: var(--muted); border: 1px dashed var(--line); border-radius: 8px; }
@media print { thead th { position: static; } .filters { display: none !important; } }
"""

_JS = """
(function () {
  var box = document.getElementById("filters");
  var table = document.getElementById("problems");
  if (!box || !table) { return; }
  box.hidden = false;
  var q = document.getElementById("q");
  var shown = document.getElementById("shown");
  var none = document.getElementById("no-match");
  var rows = Array.prototype.slice.call(table.tBodies[0].querySelectorAll("tr[data-action]"));
  var heads = Array.prototype.slice.call(table.tBodies[0].querySelectorAll("tr[data-run-head]"));
  var boxes = Array.prototype.slice.call(box.querySelectorAll("input[type=checkbox]"));
  function apply() {
    var needle = q.value.trim().toLowerCase();
    var on = {};
    boxes.forEach(function (b) { on[b.value] = b.checked; });
    var n = 0;
    var seen = {};
    rows.forEach(function (row) {
      var hay = row.getAttribute("data-search") || "";
      var ok = on[row.getAttribute("data-action")] !== false &&
        (needle === "" || hay.indexOf(needle) !== -1);
      row.hidden = !ok;
      if (ok) { n += 1; seen[row.getAttribute("data-run")] = true; }
    });
    heads.forEach(function (head) {
      head.hidden = !seen[head.getAttribute("data-run-head")];
    });
    shown.textContent = n + " of " + rows.length + " shown";
    none.hidden = n > 0;
  }
  q.addEventListener("input", apply);
  boxes.forEach(function (b) { b.addEventListener("change", apply); });
  apply();
})();
"""


def _script_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def _when(value: datetime | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d %H:%M:%S}"


def _when_2(value: datetime | None) -> str:
    """A time on two lines (date, then time) for narrow table columns."""
    if value is None:
        return '<span class="k">not finished</span>'
    return f'{value:%Y-%m-%d}<br><span class="k">{value:%H:%M:%S}</span>'


def _duration(start: datetime, end: datetime | None) -> str:
    if end is None:
        return ""
    seconds = max(int((end - start) / timedelta(seconds=1)), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def _badge(kind: str, value: str) -> str:
    return f'<span class="badge {kind}-{attr(value)}">{text(value)}</span>'


# --------------------------------------------------------------------------- sections


def _latest(data: ReportData) -> str:
    rc = data.runs[0]
    run = rc.run
    cards = [
        ("written", rc.count_actions(WRITTEN_ACTIONS), ""),
        ("unchanged", rc.count(action="unchanged"), ""),
        ("rejected", rc.count(action="rejected"), "bad"),
        ("failed", rc.count(action="failed"), "bad"),
        ("parked", rc.count(action="parked"), "warn"),
        ("skipped", rc.count(action="skipped"), ""),
    ]
    html_cards = "".join(
        f'<div class="card{" " + tone if tone and n else ""}" data-card="{label}">'
        f'<div class="v">{n:,}</div><div class="l">{label}</div></div>'
        for label, n, tone in cards
    )
    finished = (
        f", finished {_when(run.finished_at)} UTC ({_duration(run.started_at, run.finished_at)})"
        if run.finished_at
        else ""
    )
    return (
        '<section id="latest"><h2>Latest run</h2>'
        f"<p><code>{text(run.run_id)}</code> {_badge('s', run.status)} "
        f"started {_when(run.started_at)} UTC{finished}</p>"
        f'<div class="cards">{html_cards}</div></section>'
    )


def _chart(data: ReportData) -> str:
    oldest_first = list(reversed(data.runs))
    return (
        '<section id="chart"><h2>Records per Mailchimp object over runs</h2>'
        '<p class="hint">Every audit row counts (created, updated, unchanged, rejected, '
        "failed, skipped, parked); hover a bar for its counts per action.</p>"
        f'<div class="chart-box">{records_chart(oldest_first, data.kinds)}</div></section>'
    )


def _table_actions(data: ReportData) -> list[str]:
    return [
        a
        for a in TABLE_ACTIONS
        if a not in _OPTIONAL_ACTIONS or any(rc.count(action=a) for rc in data.runs)
    ]


def _run_rows(rc: RunCounts, kinds: Sequence[str], actions: Sequence[str]) -> str:
    colors = kind_colors(kinds)
    run = rc.run
    run_kinds: list[str | None] = [k for k in kinds if k in rc.counts] or [None]
    span = len(run_kinds)
    rows = []
    for i, kind in enumerate(run_kinds):
        cells = []
        if i == 0:
            took = ""
            if run.finished_at is not None:
                took = (
                    f'<br><span class="k">took {_duration(run.started_at, run.finished_at)}</span>'
                )
            rs = f' rowspan="{span}"' if span > 1 else ""
            cells += [
                f'<td{rs} class="run-id"><code>{text(run.run_id)}</code></td>',
                f'<td{rs} class="when">{_when_2(run.started_at)}</td>',
                f'<td{rs} class="when">{_when_2(run.finished_at)}{took}</td>',
                f"<td{rs}>{_badge('s', run.status)}</td>",
            ]
        if kind is None:
            cells.append('<td class="kind"><span class="k">no audit rows</span></td>')
        else:
            cells.append(
                f'<td class="kind nowrap"><span class="swatch" style="background:'
                f'{colors[kind]}"></span>{text(kind_label(kind))}</td>'
            )
        for action in actions:
            n = rc.count(kind, action) if kind is not None else 0
            tone = ""
            if n and action in ("rejected", "failed"):
                tone = " bad"
            elif n and action == "parked":
                tone = " warn"
            cls = "num" + (" zero" if not n else tone)
            cells.append(f'<td class="{cls}" data-action="{action}">{n:,}</td>')
        total = rc.count(kind) if kind is not None else 0
        cells.append(f'<td class="num total" data-action="total">{total:,}</td>')
        rows.append(
            f'<tr data-run="{attr(run.run_id)}" data-kind="{attr(kind or "")}">'
            + "".join(cells)
            + "</tr>"
        )
    return f'<tbody data-run="{attr(run.run_id)}">' + "".join(rows) + "</tbody>"


def _runs(data: ReportData) -> str:
    actions = _table_actions(data)
    head = (
        "<tr><th>Run</th><th>Started (UTC)</th><th>Finished (UTC)</th>"
        "<th>Status</th><th>Object</th>"
        + "".join(f'<th class="num">{a}</th>' for a in actions)
        + '<th class="num">total</th></tr>'
    )
    body = "".join(_run_rows(rc, data.kinds, actions) for rc in data.runs)
    return (
        '<section id="runs"><h2>Runs <span class="n">(newest first)</span></h2>'
        '<p class="hint">Audit rows per run, Mailchimp object kind and action: one row per '
        "record and object it touched.</p>"
        f'<div class="table-box"><table class="runs"><thead>{head}</thead>{body}</table>'
        "</div></section>"
    )


#: What the source id is called in each Intacct stream.
SOURCE_ID_LABELS: dict[str, str] = {
    "customers": "CUSTOMERID",
    "vendors": "VENDORID",
    "ap_bills": "RECORDID",
    "ap_payments": "RECORDID",
}


def _problem_row(row: AuditRow) -> str:
    search = " ".join(
        str(v).lower()
        for v in (row.email, row.source_id, row.source_key, row.object_id)
        if v not in (None, "")
    )
    source = [f"<code>{text(row.stream)}</code>"]
    if row.source_key:
        source.append(f'<br><span class="k">RECORDNO</span>{bdi(row.source_key)}')
    if row.source_id:
        label = SOURCE_ID_LABELS.get(row.stream, "id")
        source.append(f'<br><span class="k">{label}</span>{bdi(row.source_id)}')
    target = []
    if row.object_kind:
        target.append(f"{text(row.object_kind)} ")
    if row.object_id:
        target.append(f"<code>{text(row.object_id)}</code>")
    if row.http_status is not None:
        target.append(f'<br><span class="k">HTTP</span>{row.http_status}')
    if row.request_id:
        target.append(f'<br><span class="k">X-Request-Id</span><code>{text(row.request_id)}</code>')
    if row.attempts:
        target.append(f'<br><span class="k">attempts</span>{row.attempts}')
    reason = bdi(row.detail) or '<span class="k">no reason recorded</span>'
    return (
        f'<tr data-action="{attr(row.action)}" data-run="{attr(row.run_id)}" '
        f'data-search="{attr(search)}">'
        f"<td>{_badge('a', row.action)}<br>"
        f'<span class="k nowrap">{row.at:%H:%M:%S}</span></td>'
        f'<td class="source">{"".join(source)}</td>'
        f'<td class="email">{bdi(row.email)}</td>'
        f'<td class="object">{"".join(target)}</td>'
        f'<td class="reason">{reason}</td>'
        "</tr>"
    )


def _run_head(rc: RunCounts, rows: Sequence[AuditRow]) -> str:
    run = rc.run
    return (
        f'<tr class="run-head" data-run-head="{attr(run.run_id)}"><th colspan="5">'
        f"Run <code>{text(run.run_id)}</code> {_badge('s', run.status)} "
        f'<span class="k">started</span>{_when(run.started_at)} UTC '
        f'<span class="k">\u00b7</span>{len(rows):,} record{"s" if len(rows) != 1 else ""}'
        "</th></tr>"
    )


def _problems(data: ReportData) -> str:
    title = (
        f'<h2>Rejected, failed and parked records <span class="n">({data.problems_total:,})'
        "</span></h2>"
    )
    if not data.problems:
        return (
            f'<section id="records">{title}<p class="empty">No rejected, failed or parked '
            "records in these runs.</p></section>"
        )
    counts = {a: sum(1 for r in data.problems if r.action == a) for a in PROBLEM_ACTIONS}
    boxes = "".join(
        f'<label><input type="checkbox" value="{a}" checked> {a} ({counts[a]:,})</label>'
        for a in PROBLEM_ACTIONS
        if counts[a]
    )
    cut = ""
    if data.problems_total > len(data.problems):
        cut = (
            f'<p class="hint">Showing the newest {len(data.problems):,} of '
            f"{data.problems_total:,}; pass --max-records to show more.</p>"
        )
    filters = (
        '<div class="filters" id="filters" hidden>'
        '<label>Search <input type="search" id="q" autocomplete="off" spellcheck="false" '
        'placeholder="email, CUSTOMERID, VENDORID or RECORDNO" '
        'aria-label="Search by email or Intacct id"></label>'
        f'{boxes}<span id="shown" aria-live="polite"></span></div>'
    )
    head = (
        "<tr><th>Action</th><th>Intacct record</th><th>Email</th>"
        "<th>Mailchimp object</th><th>Reason</th></tr>"
    )
    by_run: dict[str, list[AuditRow]] = {}
    for row in data.problems:
        by_run.setdefault(row.run_id, []).append(row)
    body = "".join(
        _run_head(rc, by_run[rc.run.run_id])
        + "".join(_problem_row(r) for r in by_run[rc.run.run_id])
        for rc in data.runs
        if rc.run.run_id in by_run
    )
    return (
        f'<section id="records">{title}'
        '<p class="hint">What was not written to Mailchimp and why. Parked records wait for '
        "their vendor or bill and are written by a later run once it arrives.</p>"
        f"{cut}{filters}"
        f'<table class="problems" id="problems"><thead>{head}</thead><tbody>{body}</tbody>'
        '</table><p class="empty" id="no-match" hidden>No record matches the search.</p>'
        "</section>"
    )


def render_report(data: ReportData) -> str:
    """The whole page as text (see the module docstring)."""
    if not data.runs:
        raise ValueError("a report needs at least one run")
    csp = (
        "default-src 'none'; style-src 'unsafe-inline'; "
        f"script-src '{_script_hash(_JS)}'; img-src data:; base-uri 'none'; form-action 'none'"
    )
    shown = len(data.runs)
    runs_note = (
        f"the {shown} most recent of {data.runs_total} runs"
        if data.runs_total > shown
        else f"all {shown} run{'s' if shown != 1 else ''}"
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{attr(csp)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        "<title>target-mailchimp report</title>"
        f"<style>{_CSS}</style></head>\n<body><main>"
        "<header><h1>target-mailchimp report</h1>"
        f'<p class="meta">Ledger <code>{text(data.ledger_url)}</code> \u00b7 {runs_note} '
        f"\u00b7 generated {_when(data.generated_at)} UTC</p></header>\n"
        f"{_latest(data)}\n{_chart(data)}\n{_runs(data)}\n{_problems(data)}\n"
        "<footer>Made by target-mailchimp-report from the ledger's audit trail. Counts are "
        "audit rows: one per record and Mailchimp object per run. Times are UTC.</footer>"
        f"</main><script>{_JS}</script></body></html>\n"
    )
