"""The report for operators: the ids a record refers to (kept in the audit trail), records
grouped by reason and shown once across runs, the latest run that changed something, and
chart labels that stay readable for large counts and many runs on one day."""

from __future__ import annotations

import itertools
import json
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from target_mailchimp.ledger import AuditEntry, AuditRow, Ledger
from target_mailchimp.report import load_report, reason_pattern, render_report
from target_mailchimp.report.chart import chart_model, text_width
from target_mailchimp.report.data import RunCounts
from target_mailchimp.sinks.recording import SourceRef
from tests.sandbox.mailchimp import MailchimpSandbox
from tests.target_mailchimp import test_target_kit as kit
from tests.target_mailchimp.test_report import Clock, _entries, build_ledger

pytestmark = pytest.mark.usefixtures("no_retry_waits")


def doc(page: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(page)


def record_rows(page: str) -> list[lxml.html.HtmlElement]:
    return doc(page).xpath("//div[@id='problems']/details//tbody/tr[@data-action]")


# --------------------------------------------------------------------------- refs


def test_source_refs_keep_the_ids_a_record_refers_to_and_no_personal_data() -> None:
    bill_ref = SourceRef.of("ap_bills", kit.bill(11, "V-9"), id_field="RECORDID")
    assert bill_ref.source_id == "B-11"
    assert bill_ref.refs == {"VENDORID": ("V-9",)}
    pay = kit.payment(21, [(11, "5.00"), (12, "6.00"), (11, "1.00")])
    pay["VENDORID"] = "V-9"
    assert SourceRef.of("ap_payments", pay, id_field="RECORDID").refs == {
        "VENDORID": ("V-9",),
        "bill RECORDNO": ("11", "12"),
    }
    # A customer's own CUSTOMERID is its id, not a reference; emails and names never are.
    cust = kit.customer(1, "C-1", "c1@x.com", first="Ann", last="Lee")
    ref = SourceRef.of("customers", cust, id_field="CUSTOMERID")
    assert ref.source_id == "C-1"
    assert ref.refs is None
    assert (
        SourceRef.of("vendors", kit.vendor(2, "V-2", "v@x.com"), id_field="VENDORID").refs is None
    )


def test_an_old_ledger_gets_the_refs_column_and_the_report_reads_it_before(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite"
    url = f"sqlite:///{path}"
    with Ledger(url, heartbeat_interval=None) as ledger:
        run_id = ledger.lock.start_run()
        ledger.audit.write(run_id, _entries("member", "rejected", 1, "customers", detail="bad"))
        ledger.lock.finish_run(run_id)
    with sqlite3.connect(path) as conn:  # as a ledger written before the column existed
        conn.execute("ALTER TABLE audit DROP COLUMN refs")
        conn.execute("ALTER TABLE runs DROP COLUMN note")
    data = load_report(url)  # read-only: the report never adds the columns
    assert [r.refs for r in data.problems] == [None]
    assert [rc.run.note for rc in data.runs] == [None]
    render_report(data)
    with sqlite3.connect(path) as conn:
        assert "refs" not in {row[1] for row in conn.execute("PRAGMA table_info(audit)")}
        assert "note" not in {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
    with Ledger(url, heartbeat_interval=None) as ledger:  # the target adds it on open
        run_id = ledger.lock.start_run()
        ledger.audit.write(
            run_id,
            [
                AuditEntry(
                    stream="ap_bills",
                    action="rejected",
                    source_key="7",
                    refs={"VENDORID": "V-1", "bill RECORDNO": ["1", "2"], "none": []},
                )
            ],
        )
        ledger.lock.finish_run(run_id)
        ledger.lock.note_run(run_id, "a note")
        (row,) = ledger.audit.rows(run_id)
        assert ledger.lock.runs()[0].note == "a note"
    assert json.loads(row.refs or "") == {"VENDORID": ["V-1"], "bill RECORDNO": ["1", "2"]}
    assert row.referenced_ids() == {"VENDORID": ["V-1"], "bill RECORDNO": ["1", "2"]}
    assert {r.source_key: r.refs is None for r in load_report(url).problems} == {
        "100": True,
        "7": False,
    }


def test_the_target_keeps_the_vendor_and_bills_a_record_refers_to(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    s = kit.Singer()
    s.record("vendors", kit.vendor(1, "V-NOMAIL", None), kit.vendor(2, "V-OK", "ok@x.com"))
    s.record("ap_bills", kit.bill(11, "V-NOMAIL"), kit.bill(12, "V-OK"))
    s.record("ap_payments", kit.payment(21, [(11, "100.00"), (12, "100.00")]))
    kit.run_target(cfg, s)
    with kit.ledger_of(cfg) as ledger:
        (run,) = ledger.lock.runs()
        rows = ledger.audit.rows(run.run_id)
    by_record = {(r.stream, r.source_key, r.object_id): r for r in rows}
    rejected_bill = by_record[("ap_bills", "11", "bill-11")]
    assert rejected_bill.action == "rejected"
    assert "vendor V-NOMAIL has no valid email" in (rejected_bill.detail or "")
    assert rejected_bill.referenced_ids() == {"VENDORID": ["V-NOMAIL"]}
    assert by_record[("ap_bills", "12", "bill-12")].referenced_ids() == {"VENDORID": ["V-OK"]}
    pay = [r for r in rows if r.stream == "ap_payments"]
    assert pay
    assert {json.dumps(r.referenced_ids()) for r in pay} == {
        json.dumps({"bill RECORDNO": ["11", "12"]})
    }
    # Ids only: no email or name in any refs.
    for row in rows:
        assert "@" not in (row.refs or "")
        assert "name" not in (row.refs or "")

    # The report finds the bill rejected because of the vendor by the vendor's id.
    page = render_report(load_report(cfg["ledger_url"]))
    found = [tr for tr in record_rows(page) if "v-nomail" in tr.get("data-search").split()]
    assert {tr.xpath("td[@class='source']/code")[0].text for tr in found} == {
        "vendors",
        "ap_bills",
    }
    (bill_row,) = [tr for tr in found if "ap_bills" in tr.text_content()]
    assert "referstoVENDORIDV-NOMAIL" in bill_row.text_content().replace(" ", "")


# --------------------------------------------------------------------------- grouping


def repeated_runs() -> list[tuple[str, list[AuditEntry]]]:
    """Three runs refusing the same two records again, and one more in the last run."""
    same = [
        AuditEntry(
            stream="customers",
            action="rejected",
            source_key=str(n),
            source_id=f"C-{n}",
            email=f"c{n}@example.com",
            object_kind="member",
            object_id=f"m{n}",
            detail=f"customers RECORDNO {n} (CUSTOMERID C-{n}): no valid email: "
            f"DISPLAYCONTACT.EMAIL1 'c{n}@' is not an email address",
        )
        for n in (1, 2)
    ]
    other = AuditEntry(
        stream="ap_bills",
        action="rejected",
        source_key="30",
        source_id="B-30",
        object_kind="order",
        object_id="bill-30",
        detail="ap_bills RECORDNO 30 (RECORDID B-30): vendor V-5 has no valid email",
        refs={"VENDORID": "V-5"},
    )
    return [
        ("succeeded", [*same, *_entries("member", "created", 2, "customers")]),
        ("succeeded", list(same)),
        ("succeeded", [*same, other]),
    ]


def test_a_record_refused_in_several_runs_is_listed_once_with_its_runs(tmp_path: Path) -> None:
    built = build_ledger(tmp_path / "l.sqlite", repeated_runs())
    data = load_report(built.url)
    assert data.problems_total == 7  # audit rows
    page = render_report(data)
    rows = record_rows(page)
    assert len(rows) == 3  # records
    groups = doc(page).xpath("//div[@id='problems']/details[@class='group']")
    assert len(groups) == 2
    first = groups[0]
    assert first.xpath("summary/span[@class='count']")[0].text_content() == "2"
    why = first.xpath("summary/span[@class='why']")[0].text_content()
    assert why == "no valid email: DISPLAYCONTACT.EMAIL1 '…' is not an email address"
    assert "6 audit rows" in first.xpath("summary")[0].text_content()
    for tr in first.xpath(".//tbody/tr"):
        assert tr.get("data-runs") == "3"
        runs = tr.xpath("td[@class='runs']")[0].text_content()
        assert runs == "3 runsfirst2024-03-01 10:00:00last2024-03-01 12:04:10"
        assert tr.get("data-run") == built.run_ids[-1]  # the latest row is shown
    second = groups[1]
    assert second.xpath("summary/span[@class='count']")[0].text_content() == "1"
    # The vendor's id is one of the record's refs, so it is left out of the reason.
    assert "vendor … has no valid email" in second.xpath("summary")[0].text_content()
    (bill_row,) = second.xpath(".//tbody/tr")
    assert "v-5" in bill_row.get("data-search").split()
    assert "1 run" in bill_row.xpath("td[@class='runs']")[0].text_content()
    # The search box says what it finds, and the checkbox counts are audit rows.
    assert "VENDORID" in doc(page).xpath("//input[@id='q']/@placeholder")[0]


def _row(detail: str | None, **kw: str) -> AuditRow:
    base = {
        "id": 1,
        "run_id": "r",
        "at": None,
        "stream": "customers",
        "source_key": None,
        "source_id": None,
        "email": None,
        "object_kind": None,
        "object_id": None,
        "action": "rejected",
        "http_status": None,
        "request_id": None,
        "detail": detail,
        "attempts": 0,
    }
    base.update(kw)
    return AuditRow(**base)  # type: ignore[arg-type]


def test_reason_pattern_leaves_out_what_is_particular_to_a_record() -> None:
    a = _row(
        "customers RECORDNO 9 (CUSTOMERID C-9): no valid email: DISPLAYCONTACT.EMAIL1 'bob@' "
        "is not an email address",
        source_key="9",
        source_id="C-9",
    )
    b = _row(
        "customers RECORDNO 12 (CUSTOMERID ACME 1): no valid email: DISPLAYCONTACT.EMAIL1 "
        "'x' is not an email address",
        source_key="12",
        source_id="ACME 1",
    )
    assert reason_pattern(a) == reason_pattern(b)
    assert reason_pattern(a) == "no valid email: DISPLAYCONTACT.EMAIL1 '…' is not an email address"
    http = _row('HTTP 400 Invalid Resource: "x@y.com" looks fake', email="x@y.com")
    assert reason_pattern(http) == "HTTP 400 Invalid Resource: '…' looks fake"
    assert reason_pattern(
        _row("Mailchimp unreachable after 5 attempts: 503 Service Unavailable")
    ) == ("Mailchimp unreachable after … attempts: 503 Service Unavailable")
    assert reason_pattern(_row(None)) == reason_pattern(_row("  ")) == "no reason recorded"
    # Lower-case keywords (a setting's values) say what to do: kept.
    inactive = _row(
        "ap_bills RECORDNO 3 (RECORDID B-3): vendor V-1 is inactive and inactive_records is "
        "'ignore', so its Mailchimp customer is not written; set inactive_records to 'tag' or "
        "'archive' to keep bills of inactive vendors",
        stream="ap_bills",
        source_key="3",
        source_id="B-3",
    )
    assert reason_pattern(inactive) == (
        "vendor V-… is inactive and inactive_records is 'ignore', so its Mailchimp customer "
        "is not written; set inactive_records to 'tag' or 'archive' to keep bills of inactive "
        "vendors"
    )
    # A reason that merely starts like a stream name keeps its words.
    assert reason_pattern(_row("name 'O'Brien'", stream="name")) == "'…'Brien'"
    assert reason_pattern(_row("named 'x'")) == "named '…'"


# --------------------------------------------------------------------------- latest run


def cards(page: str) -> tuple[str | None, dict[str, int]]:
    box = doc(page).xpath("//section[@id='latest']//div[@class='cards']")[0]
    values = {
        c.get("data-card"): int(c.xpath("div[@class='v']")[0].text_content().replace(",", ""))
        for c in box.xpath("div[@data-card]")
    }
    return box.get("data-run"), values


def test_cards_show_the_latest_run_that_changed_something(tmp_path: Path) -> None:
    runs = [
        ("succeeded", _entries("member", "created", 3, "customers")),
        ("succeeded", _entries("member", "unchanged", 3, "customers")),
        ("succeeded", []),
    ]
    built = build_ledger(tmp_path / "l.sqlite", runs)
    page = render_report(load_report(built.url))
    run_id, values = cards(page)
    assert run_id == built.run_ids[0]
    assert values["written"] == 3
    latest = doc(page).xpath("//section[@id='latest']")[0]
    assert latest.xpath("h2")[0].text_content() == "Latest run that changed something"
    notice = latest.xpath(".//p[@id='nothing-changed']")[0].text_content()
    assert f"The newest run, {built.run_ids[-1]}" in notice
    assert notice.endswith(
        "changed nothing in Mailchimp: no records arrived. Nor did the 1 run(s) before it."
    )


def test_when_no_run_changed_anything_the_page_says_so(tmp_path: Path) -> None:
    runs = [("succeeded", _entries("member", "unchanged", 2, "customers"))]
    built = build_ledger(tmp_path / "l.sqlite", runs)
    page = render_report(load_report(built.url))
    assert cards(page) == (
        built.run_ids[0],
        {"written": 0, "unchanged": 2, "rejected": 0, "failed": 0, "parked": 0, "skipped": 0},
    )
    notice = doc(page).xpath("//p[@id='nothing-changed']")[0].text_content()
    assert notice == (
        "This run changed nothing in Mailchimp: no object was created, updated or archived "
        "(2 unchanged)."
    )


def test_a_run_that_only_refused_records_again_changed_nothing(tmp_path: Path) -> None:
    runs = [
        ("succeeded", _entries("member", "updated", 2, "customers")),
        (
            "succeeded",
            [
                *_entries("member", "unchanged", 1, "customers"),
                *_entries("member", "rejected", 3, "customers", detail="bad email"),
                *_entries("order", "parked", 1, "ap_bills", detail="vendor unknown"),
            ],
        ),
    ]
    built = build_ledger(tmp_path / "l.sqlite", runs)
    page = render_report(load_report(built.url))
    assert cards(page) == (
        built.run_ids[0],
        {"written": 2, "unchanged": 0, "rejected": 0, "failed": 0, "parked": 0, "skipped": 0},
    )
    notice = doc(page).xpath("//p[@id='nothing-changed']")[0].text_content()
    assert notice.endswith("changed nothing in Mailchimp: 1 unchanged, 3 rejected, 1 parked.")
    assert built.run_ids[-1] in notice


def test_the_newest_run_is_shown_without_a_notice_when_it_changed_something(
    tmp_path: Path,
) -> None:
    built = build_ledger(tmp_path / "l.sqlite")
    page = render_report(load_report(built.url))
    assert cards(page)[0] == built.run_ids[-1]
    assert not doc(page).xpath("//p[@id='nothing-changed']")


# --------------------------------------------------------------------------- chart labels


def _boxes_overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def test_chart_labels_do_not_overlap_for_large_counts_and_many_runs_a_day(
    tmp_path: Path,
) -> None:
    clock = Clock()
    url = f"sqlite:///{tmp_path / 'big.sqlite'}"
    with Ledger(url, clock=clock, heartbeat_interval=None) as ledger:
        for i in range(30):
            run_id = ledger.lock.start_run()
            ledger.lock.finish_run(run_id, counts={"member": {"unchanged": 48_000 + i * 77}})
            # Runs 20 seconds apart: several start in the same minute, all on one day.
            clock.now += timedelta(seconds=20)
    data = load_report(url, last_n=30)
    runs: list[RunCounts] = list(reversed(data.runs))
    chart = chart_model(runs, data.kinds)
    totals = [(float(x), text) for x, _y, text in chart.totals]
    assert [t for _x, t in totals] == [f"{48_000 + i * 77:,}" for i in range(30)]
    boxes = [(x - text_width(t) / 2, x + text_width(t) / 2) for x, t in totals]
    for left, right in itertools.pairwise(boxes):
        assert not _boxes_overlap(left, right)
    assert chart.wide  # grown wider than the page (it scrolls) instead of shrinking text
    # Run labels: seconds because minutes repeat, the date once, no overlap.
    labels = chart.x_labels
    assert labels[0].date == "Mar 01"
    assert all(label.date is None for label in labels[1:])
    assert labels[-1].time == f"{runs[-1].run.started_at:%H:%M:%S}"
    xs = [float(label.x) for label in labels]
    widths = [text_width(label.time) for label in labels]
    spans = [(x - w / 2, x + w / 2) for x, w in zip(xs, widths, strict=True)]
    for left, right in itertools.pairwise(spans):
        assert not _boxes_overlap(left, right)
    # The y axis makes room for its widest tick label.
    widest = max(text_width(label) for label, _a, _b in chart.ticks)
    assert chart.left - 8 - widest >= 20
    page = render_report(data)
    svg = doc(page).xpath("//svg")[0]
    assert "wide" in svg.get("class")
    assert svg.get("width") == str(chart.width)
