"""The HTML run report: data read from a real ledger, the page, the chart, escaping."""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from sqlalchemy import event

from target_mailchimp.ledger import AuditEntry, Ledger
from target_mailchimp.report import (
    ReportError,
    counts_by_run,
    load_report,
    open_engine,
    problem_rows,
    read_tx,
    render_report,
)
from target_mailchimp.report.chart import nice_ticks
from target_mailchimp.report.templating import bdi, codes, environment, visible

HOSTILE_ID = "<script>alert(1)</script>"
HOSTILE_OBJECT = "<img src=x onerror=alert(2)>"
HOSTILE_EMAIL = "o'brien&co\"<x>@example.com"
HOSTILE_DETAIL = (
    "name 'O\"Brien & <Sons>' \U0001f389 \u05e9\u05dc\u05d5\u05dd \u0639\u0631\u0628\u064a "
    "bell\x07 nul\x00 override\u202eend"
)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now


def _entries(kind: str, action: str, n: int, stream: str, **kw: Any) -> list[AuditEntry]:
    return [
        AuditEntry(
            stream=stream,
            action=action,
            source_key=str(100 + i),
            source_id=f"{kind[:1].upper()}-{action}-{i}",
            email=f"{kind}.{action}.{i}@example.com",
            object_kind=kind,
            object_id=f"{kind}-{action}-{i}",
            **kw,
        )
        for i in range(n)
    ]


#: Three runs, oldest first: (status, audit entries).
RUNS: list[tuple[str, list[AuditEntry]]] = [
    (
        "succeeded",
        [
            *_entries("member", "created", 3, "customers"),
            *_entries("customer", "created", 2, "customers"),
            *_entries("product", "created", 1, "ap_bills"),
            *_entries("order", "created", 1, "ap_bills"),
            AuditEntry(
                stream="customers",
                action="rejected",
                source_key="9",
                source_id="C-9",
                detail="no valid email: DISPLAYCONTACT.EMAIL1 'bob@' is not an email address",
            ),
            *_entries("customer", "skipped", 1, "customers", detail="inactive record ignored"),
        ],
    ),
    (
        "succeeded",
        [
            *_entries("member", "unchanged", 3, "customers"),
            *_entries("member", "updated", 1, "vendors"),
            AuditEntry(
                stream="ap_bills",
                action="parked",
                source_key="501",
                source_id="BILL-501",
                object_kind="order",
                object_id="bill-501",
                detail="vendor unknown: waiting for vendor V-77",
            ),
            AuditEntry(
                stream="vendors",
                action="failed",
                source_key="77",
                source_id="V-FAIL",
                email="failed.vendor@example.com",
                object_kind="customer",
                object_id="vendor-V-FAIL",
                http_status=503,
                request_id="req-503-abc",
                attempts=5,
                detail="Mailchimp unreachable after 5 attempts: 503 Service Unavailable",
            ),
            AuditEntry(
                stream="customers",
                action="rejected",
                source_key="12",
                source_id="C-FAKE",
                email="x@y.example.com",
                object_kind="member",
                object_id="hash-fake",
                http_status=400,
                request_id="req-400-xyz",
                attempts=1,
                detail='Mailchimp 400 Invalid Resource: "x@y.example.com" looks fake or invalid',
            ),
        ],
    ),
    (
        "failed",
        [
            AuditEntry(
                stream="customers",
                action="rejected",
                source_key="13",
                source_id=HOSTILE_ID,
                email=HOSTILE_EMAIL,
                object_kind="member",
                object_id=HOSTILE_OBJECT,
                detail=HOSTILE_DETAIL,
            ),
            *_entries("store", "updated", 1, "stores"),
            *_entries("member", "unchanged", 2, "customers"),
        ],
    ),
]


def expected_counts(entries: Sequence[AuditEntry]) -> dict[tuple[str, str], int]:
    """(object kind or "record", action) -> rows, straight from what was written."""
    return dict(Counter((e.object_kind or "record", e.action) for e in entries))


@dataclass
class Built:
    url: str
    path: Path
    run_ids: list[str]  # oldest first


GROUP_ACTIONS = ["rejected", "rejected", "rejected", "failed", "parked"]
"""The report's groups of RUNS' problems in order: rejected first, each reason its own group."""


def build_ledger(path: Path, runs: Sequence[tuple[str, list[AuditEntry]]] = RUNS) -> Built:
    """A ledger file at `path` holding `runs` (oldest first), an hour apart."""
    clock = Clock()
    url = f"sqlite:///{path}"
    run_ids = []
    with Ledger(url, clock=clock, heartbeat_interval=None) as ledger:
        for status, entries in runs:
            run_id = ledger.lock.start_run()
            ledger.audit.write(run_id, entries)
            clock.now += timedelta(minutes=2, seconds=5)
            ledger.lock.finish_run(run_id, status=status)
            clock.now += timedelta(hours=1)
            run_ids.append(run_id)
    return Built(url=url, path=path, run_ids=run_ids)


@pytest.fixture
def built(tmp_path: Path) -> Built:
    return build_ledger(tmp_path / "ledger" / "ledger.sqlite")


@pytest.fixture
def page(built: Built) -> str:
    return render_report(load_report(built.url))


def doc(page: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(page)


def run_table_counts(page: str) -> dict[str, dict[tuple[str, str], int]]:
    """{run id: {(kind, action): n}} from the runs table's cells (zeros left out)."""
    out: dict[str, dict[tuple[str, str], int]] = {}
    for tr in doc(page).xpath("//table[@class='runs']//tr[@data-run]"):
        counts = out.setdefault(tr.get("data-run"), {})
        for td in tr.xpath("td[@data-action]"):
            action = td.get("data-action")
            n = int(td.text_content().replace(",", ""))
            if action != "total" and n:
                counts[(tr.get("data-kind"), action)] = n
    return out


# --------------------------------------------------------------------------- data


def test_counts_by_run_matches_what_was_written_in_one_query(built: Built) -> None:
    engine = open_engine(built.url)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    try:
        with read_tx(engine) as conn:
            statements.clear()
            counts = counts_by_run(conn, built.run_ids)
    finally:
        engine.dispose()
    assert len(statements) == 1
    for run_id, (_status, entries) in zip(built.run_ids, RUNS, strict=True):
        got = {(k, a): n for k, actions in counts[run_id].items() for a, n in actions.items()}
        assert got == expected_counts(entries)


def test_problem_rows_are_rejected_failed_and_parked_only(built: Built) -> None:
    engine = open_engine(built.url)
    try:
        with read_tx(engine) as conn:
            rows, total = problem_rows(conn, built.run_ids)
            limited, total_again = problem_rows(conn, built.run_ids, limit=2)
    finally:
        engine.dispose()
    assert total == total_again == 5
    assert sorted(r.action for r in rows) == [
        "failed",
        "parked",
        "rejected",
        "rejected",
        "rejected",
    ]
    # Newest rows first, so a limit keeps the latest problems.
    assert [r.source_id for r in limited] == [HOSTILE_ID, "C-FAKE"]


def test_load_report_orders_runs_newest_first_and_kinds_in_write_order(built: Built) -> None:
    data = load_report(built.url)
    assert [rc.run.run_id for rc in data.runs] == list(reversed(built.run_ids))
    assert data.kinds == ["member", "customer", "product", "order", "store", "record"]
    assert data.runs_total == 3
    assert data.problems_total == 5
    # Problems: newest run first, written order within a run.
    assert [r.source_id for r in data.problems] == [
        HOSTILE_ID,
        "BILL-501",
        "V-FAIL",
        "C-FAKE",
        "C-9",
    ]


def test_the_report_never_creates_or_changes_a_ledger(tmp_path: Path, built: Built) -> None:
    missing = tmp_path / "nowhere" / "ledger.sqlite"
    with pytest.raises(ReportError, match="no ledger at"):
        load_report(f"sqlite:///{missing}")
    assert not missing.exists()
    assert not missing.parent.exists()
    before = built.path.read_bytes()
    load_report(built.url)
    assert built.path.read_bytes() == before


def test_a_ledger_without_runs_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite"
    Ledger(f"sqlite:///{path}").close()
    with pytest.raises(ReportError, match="has no runs yet; run target-mailchimp first"):
        load_report(f"sqlite:///{path}")


def test_a_database_that_is_not_a_ledger_is_a_clear_error(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE runs (x INTEGER)")
    with pytest.raises(ReportError, match=r"not a target-mailchimp ledger \(no audit table\)"):
        load_report(f"sqlite:///{path}")


def test_unreachable_database_error_masks_the_password() -> None:
    url = "postgresql+psycopg://reporter:pa55-secret@127.0.0.1:1/ledger"
    pytest.importorskip("psycopg")
    with pytest.raises(ReportError) as info:
        load_report(url)
    message = str(info.value)
    assert "pa55-secret" not in message
    assert "reporter:***@127.0.0.1:1/ledger" in message


def test_a_run_without_audit_rows_shows_the_counts_stored_at_its_end(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.sqlite'}"
    with Ledger(url, heartbeat_interval=None) as ledger:
        run_id = ledger.lock.start_run()
        ledger.lock.finish_run(run_id, counts={"member": {"created": 4, "rejected": 1}})
    page = render_report(load_report(url))
    assert run_table_counts(page) == {run_id: {("member", "created"): 4, ("member", "rejected"): 1}}


def test_a_running_run_is_shown_with_its_live_counts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.sqlite'}"
    with Ledger(url, heartbeat_interval=None) as ledger:
        run_id = ledger.lock.start_run()
        ledger.audit.write(run_id, _entries("member", "created", 2, "customers"))
        page = render_report(load_report(url))
        ledger.lock.finish_run(run_id)
    assert run_table_counts(page) == {run_id: {("member", "created"): 2}}
    row = doc(page).xpath("//table[@class='runs']//tbody")[0]
    assert "running" in row.text_content()
    assert "not finished" in row.text_content()


# --------------------------------------------------------------------------- page


def test_counts_per_run_are_right(built: Built, page: str) -> None:
    table = run_table_counts(page)
    assert set(table) == set(built.run_ids)
    for run_id, (_status, entries) in zip(built.run_ids, RUNS, strict=True):
        assert table[run_id] == expected_counts(entries)
    # Totals per (run, kind) row add up.
    for tr in doc(page).xpath("//table[@class='runs']//tr[@data-run]"):
        cells = {
            td.get("data-action"): int(td.text_content()) for td in tr.xpath("td[@data-action]")
        }
        total = cells.pop("total")
        assert total == sum(cells.values())


def test_runs_table_has_run_id_times_status_and_every_action(built: Built, page: str) -> None:
    tree = doc(page)
    headers = [th.text_content() for th in tree.xpath("//table[@class='runs']/thead//th")]
    assert headers[:4] == ["Run", "Started (UTC)", "Finished (UTC)", "Status"]
    for action in ("created", "updated", "unchanged", "rejected", "failed", "skipped", "parked"):
        assert action in headers
    assert "archived" not in headers  # shown only when a run archived something
    bodies = tree.xpath("//table[@class='runs']/tbody")
    assert [b.get("data-run") for b in bodies] == list(reversed(built.run_ids))
    newest = bodies[0].text_content()
    assert built.run_ids[-1] in newest
    assert "failed" in newest
    compact = newest.replace(" ", "")
    # Started, then finished (date and time); runs are an hour apart and take 2m05s.
    assert "2024-03-0112:04:102024-03-0112:06:15" in compact
    assert "took 2m 05s" in newest


def test_archived_column_appears_when_a_run_archived_members(tmp_path: Path) -> None:
    built = build_ledger(
        tmp_path / "l.sqlite",
        [("succeeded", _entries("member", "archived", 2, "customers"))],
    )
    page = render_report(load_report(built.url))
    assert run_table_counts(page) == {built.run_ids[0]: {("member", "archived"): 2}}


def test_chart_is_inline_svg_with_one_series_per_kind(built: Built, page: str) -> None:
    tree = doc(page)
    svgs = tree.xpath("//svg")
    assert len(svgs) == 1
    svg = svgs[0]
    series = svg.xpath(".//g[@class='series']")
    assert [g.get("data-kind") for g in series] == [
        "member",
        "customer",
        "product",
        "order",
        "store",
        "record",
    ]
    # Each series has one bar segment per run where the kind has records.
    runs_with = Counter(
        kind for _status, entries in RUNS for kind in {e.object_kind or "record" for e in entries}
    )
    for g in series:
        assert len(g.xpath("rect")) == runs_with[g.get("data-kind")], g.get("data-kind")
    # The legend names every kind; axes are labelled.
    legend = [t.text_content() for t in svg.xpath(".//g[@class='legend']//text")]
    assert legend == ["member", "customer", "product", "order", "store", "no object"]
    labels = [t.text_content() for t in svg.xpath(".//text[@class='axis-label']")]
    assert labels == ["records (audit rows)", "run start (UTC), oldest to newest"]
    # Totals above bars, oldest run first.
    totals = [int(t.text_content()) for t in svg.xpath(".//text[@class='total']")]
    assert totals == [len(entries) for _s, entries in RUNS]


def test_chart_bar_heights_are_proportional_to_counts(built: Built, page: str) -> None:
    svg = doc(page).xpath("//svg")[0]
    per_record = []
    for g in svg.xpath(".//g[@class='series']"):
        for rect in g.xpath("rect"):
            title = rect.xpath("title")[0].text_content()
            n = int(re.search(r": (\d+) in run", title).group(1))  # type: ignore[union-attr]
            per_record.append(float(rect.get("height")) / n)
    assert max(per_record) - min(per_record) < 0.2  # same scale for every segment


def test_failed_runs_are_marked_on_the_chart(built: Built, page: str) -> None:
    labels = doc(page).xpath("//svg//text[contains(@class, 'run-label')]")
    assert len(labels) == 3
    assert [("bad" in t.get("class")) for t in labels] == [False, False, True]


def test_nice_ticks() -> None:
    assert nice_ticks(0) == [0, 1]
    assert nice_ticks(7) == [0, 2, 4, 6, 8]
    assert nice_ticks(38) == [0, 10, 20, 30, 40]
    assert nice_ticks(1234)[-1] >= 1234
    assert len(nice_ticks(987_654)) <= 7


def problem_rows_of(page: str) -> list[Any]:
    """The record rows of the records section (inside their groups)."""
    return doc(page).xpath("//div[@id='problems']/details//table/tbody/tr[@data-action]")


def test_rejected_failed_and_parked_records_are_listed_with_reasons(
    built: Built, page: str
) -> None:
    rows = problem_rows_of(page)
    assert Counter(tr.get("data-action") for tr in rows) == {
        "rejected": 3,
        "failed": 1,
        "parked": 1,
    }
    by_action: dict[str, list[str]] = {}
    for tr in rows:
        by_action.setdefault(tr.get("data-action"), []).append(tr.text_content())
    (failed,) = by_action["failed"]
    assert "vendorsRECORDNO77VENDORIDV-FAIL" in failed.replace(" ", "")
    assert "failed.vendor@example.com" in failed
    assert "Mailchimp unreachable after 5 attempts: 503 Service Unavailable" in failed
    assert "req-503-abc" in failed
    assert "HTTP503" in failed.replace(" ", "")
    assert "attempts5" in failed.replace(" ", "")
    (parked,) = by_action["parked"]
    assert "vendor unknown: waiting for vendor V-77" in parked
    assert "ap_billsRECORDNO501RECORDIDBILL-501" in parked.replace(" ", "")
    rejected = " ".join(by_action["rejected"])
    assert "no valid email: DISPLAYCONTACT.EMAIL1 'bob@' is not an email address" in rejected
    assert '"x@y.example.com" looks fake or invalid' in rejected
    assert "req-400-xyz" in rejected
    assert "CUSTOMERIDC-FAKE" in rejected.replace(" ", "")
    # Skipped records are counted, not listed as problems.
    assert "inactive record ignored" not in page
    # Each record names the run it was refused in.
    by_source = {tr.xpath("td[@class='source']")[0].text_content(): tr for tr in rows}
    (hostile,) = [tr for src, tr in by_source.items() if HOSTILE_ID in src]
    assert hostile.get("data-run") == built.run_ids[-1]
    assert "1 run" in hostile.xpath("td[@class='runs']")[0].text_content()
    assert "2024-03-01 12:04:10" in hostile.xpath("td[@class='runs']")[0].text_content()
    # Records sit in groups by action and reason, rejected first, each with its count.
    groups = doc(page).xpath("//div[@id='problems']/details[@class='group']")
    assert [g.get("data-action") for g in groups] == GROUP_ACTIONS
    for g in groups:
        n = len(g.xpath(".//tbody/tr[@data-action]"))
        assert g.xpath("summary/span[@class='count']")[0].text_content() == str(n)
        assert g.get("open") is None  # closed until opened (or found by a search)


def test_search_box_filters_by_email_and_intacct_id(built: Built, page: str) -> None:
    tree = doc(page)
    box = tree.xpath("//input[@type='search']")
    assert len(box) == 1
    # Without JavaScript the search box stays hidden and the table is complete.
    assert tree.xpath("//div[@id='filters']")[0].get("hidden") is not None
    assert tree.xpath("//div[@id='filters']//input[@type='checkbox']/@value") == [
        "rejected",
        "failed",
        "parked",
    ]
    searches = {tr.get("data-search") for tr in tree.xpath("//tr[@data-search]")}
    assert "failed.vendor@example.com v-fail 77 vendor-v-fail" in searches
    assert "bill-501 501 bill-501" in searches
    # The script filters on those attributes and is the page's only script.
    scripts = tree.xpath("//script")
    assert len(scripts) == 1
    assert "data-search" in scripts[0].text
    assert 'getElementById("q")' in scripts[0].text


def test_script_is_pinned_by_the_content_security_policy(page: str) -> None:
    import base64
    import hashlib

    tree = doc(page)
    csp = tree.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")[0]
    script = tree.xpath("//script")[0].text
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp
    assert "default-src 'none'" in csp


def test_hostile_text_is_escaped(page: str) -> None:
    assert HOSTILE_ID not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert HOSTILE_OBJECT not in page
    assert "<img" not in page
    assert page.count("<script") == 1  # the page's own
    assert "\x07" not in page
    assert "\x00" not in page
    assert "\u202e" not in page
    (row,) = [
        tr
        for tr in problem_rows_of(page)
        if (tr.get("data-search") or "").startswith(HOSTILE_EMAIL.lower())
    ]
    # The parsed page shows the original text (hidden characters as visible codes).
    assert HOSTILE_ID in row.xpath("td[@class='source']")[0].text_content()
    assert row.xpath("td[@class='email']")[0].text_content() == HOSTILE_EMAIL
    assert HOSTILE_OBJECT in row.xpath("td[@class='object']")[0].text_content()
    reason = row.xpath("td[@class='reason']")[0].text_content()
    assert reason == (
        HOSTILE_DETAIL.replace("\x07", "\\u0007")
        .replace("\x00", "\\u0000")
        .replace("\u202e", "\\u202e")
    )
    assert "\U0001f389" in reason
    assert "\u05e9\u05dc\u05d5\u05dd" in reason
    # Right-to-left text is isolated in its cell.
    assert row.xpath("td[@class='reason']/bdi")
    # Attributes hold the text too, escaped and intact.
    assert row.get("data-search").startswith(HOSTILE_EMAIL.lower())
    assert HOSTILE_ID in row.get("data-search")


def test_escape_filters() -> None:
    assert visible("a & <b> \"c\" 'd'") == "a &amp; &lt;b&gt; &#34;c&#34; &#39;d&#39;"
    assert visible(None) == ""
    assert visible("\x1b[31m") == '<span class="ctl" title="hidden character">\\u001b</span>[31m'
    assert visible("<\x1b>") == '&lt;<span class="ctl" title="hidden character">\\u001b</span>&gt;'
    assert visible("line\nbreak\ttab") == "line\nbreak\ttab"
    assert bdi("<x>") == "<bdi>&lt;x&gt;</bdi>"
    assert bdi("") == ""
    # Every printed value goes through autoescaping and `codes`, in attributes too.
    env = environment()
    assert env.autoescape is True
    template = env.from_string('<p title="{{ v }}">{{ v }}</p>')
    assert template.render(v='"><script>') == (
        '<p title="&#34;&gt;&lt;script&gt;">&#34;&gt;&lt;script&gt;</p>'
    )
    assert template.render(v="x\u2066y\ud800") == '<p title="x\\u2066y\\ud800">x\\u2066y\\ud800</p>'
    assert codes(None) == ""
    assert codes(5) == 5
    # Lone surrogates never reach the output (they cannot be encoded).
    visible("\udcff").encode("utf-8")
    template.render(v="\udcff").encode("utf-8")


def test_no_external_resources(page: str) -> None:
    assert "http://" not in page
    assert "https://" not in page
    assert "<link" not in page.lower()
    assert "@import" not in page
    assert "url(" not in page
    # No tag carries a resource attribute. Escaped values never hold a raw quote, so
    # `src="` can only be a real attribute (the hostile "<img src=x" is text).
    assert not re.search(r"""\s(src|href|xlink:href|action)\s*=\s*["']""", page, re.I)
    tree = doc(page)
    assert not tree.xpath("//*[@src or @href]")
    assert not tree.xpath("//iframe|//object|//embed|//img|//link")


def test_runs_limits_the_runs_shown(built: Built) -> None:
    data = load_report(built.url, last_n=2)
    page = render_report(data)
    table = run_table_counts(page)
    assert list(table) == list(reversed(built.run_ids[1:]))
    assert built.run_ids[0] not in page
    assert "the 2 most recent of 3 runs" in page
    svg = doc(page).xpath("//svg")[0]
    assert len(svg.xpath(".//text[@class='total']")) == 2
    # Problems of the run left out are not listed.
    assert "bob@" not in page
    assert data.problems_total == 4


def test_max_records_keeps_the_newest_and_says_so(built: Built) -> None:
    page = render_report(load_report(built.url, max_records=2))
    rows = problem_rows_of(page)
    assert len(rows) == 2
    assert "Showing the newest 2 of 5" in page
    assert "(5)" in doc(page).xpath("//section[@id='records']/h2")[0].text_content()


def test_no_problems_says_so(tmp_path: Path) -> None:
    built = build_ledger(
        tmp_path / "l.sqlite", [("succeeded", _entries("member", "created", 2, "customers"))]
    )
    page = render_report(load_report(built.url))
    assert "No rejected, failed or parked records in these runs." in page
    assert 'type="search"' not in page


def test_latest_run_cards(page: str) -> None:
    cards = {
        c.get("data-card"): int(c.xpath("div[@class='v']")[0].text_content())
        for c in doc(page).xpath("//section[@id='latest']//div[@data-card]")
    }
    # The newest run: 1 rejected, 1 store updated, 2 members unchanged.
    assert cards == {
        "written": 1,
        "unchanged": 2,
        "rejected": 1,
        "failed": 0,
        "parked": 0,
        "skipped": 0,
    }


@pytest.fixture
def many_runs(tmp_path: Path) -> Iterator[Built]:
    runs = [("succeeded", _entries("member", "created", i + 1, "customers")) for i in range(40)]
    yield build_ledger(tmp_path / "many.sqlite", runs)


def test_many_runs_thin_the_axis_labels(many_runs: Built) -> None:
    page = render_report(load_report(many_runs.url, last_n=40))
    svg = doc(page).xpath("//svg")[0]
    assert len(svg.xpath(".//g[@class='series']/rect")) == 40
    labels = svg.xpath(".//text[contains(@class, 'run-label')]")
    assert 5 <= len(labels) < 40
    # The newest run is always labelled.
    assert many_runs.run_ids[-1] in labels[-1].xpath("title")[0].text_content()
