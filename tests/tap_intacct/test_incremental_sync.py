"""Incremental sync against the sandbox: resumes, ties, lookback, start_date, changes mid-run,
empty WHENMODIFIED, and the state written after every page."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tap_intacct import keyset
from tests.sandbox.intacct import IntacctSandbox, generate_company
from tests.tap_intacct.tap_support import (
    PACIFIC,
    PACIFIC_NAME,
    STREAM_OBJECTS,
    TapRun,
    company_utc,
    query_bodies,
    run_tap,
)

PAGE = 6
#: The tap's clock in these tests: three days after the generated data ends.
NOW = dt.datetime(2024, 7, 1, 12, 0, tzinfo=dt.UTC)


def _company() -> Any:
    return generate_company(
        seed=31,
        customers=14,
        vendors=40,
        bills=24,
        payments=8,
        same_timestamp_run=30,
        window_days=60,
        invoices=12,
        ar_payments=6,
    )


@pytest.fixture(scope="module")
def sandbox() -> Iterator[IntacctSandbox]:
    with IntacctSandbox(_company()) as sb:
        yield sb


@pytest.fixture
def fresh() -> Iterator[IntacctSandbox]:
    """A sandbox of its own, for tests that change data."""
    with IntacctSandbox(_company()) as sb:
        yield sb


def _config(sb: IntacctSandbox, **overrides: Any) -> dict[str, Any]:
    config = sb.tap_config(**{"timezone": PACIFIC_NAME, "page_size": PAGE, **overrides})
    if "start_date" not in overrides:
        config.pop("start_date", None)
    return config


@pytest.fixture(scope="module")
def baseline(sandbox: IntacctSandbox) -> TapRun:
    return run_tap(_config(sandbox), now=NOW)


def _dataset(sb: IntacctSandbox) -> dict[str, list[int]]:
    return {s: sorted(sb.company.recordnos(o)) for s, o in STREAM_OBJECTS.items()}


def test_a_full_run_reads_every_record_once(sandbox: IntacctSandbox, baseline: TapRun) -> None:
    for stream, keys in _dataset(sandbox).items():
        assert sorted(baseline.keys(stream)) == keys
        assert len(set(baseline.keys(stream))) == len(keys)
    final = baseline.last_state["bookmarks"]
    for stream in STREAM_OBJECTS:
        bookmark = final[stream]
        assert bookmark["replication_key"] == "WHENMODIFIED"
        assert bookmark[keyset.UPPER_BOUND_STATE_KEY] == "2024-07-01T12:00:00+00:00"
        assert keyset.NULL_PASS_STATE_KEY not in bookmark
        last = baseline.records(stream)[-1]
        assert bookmark["replication_key_value"] == last["WHENMODIFIED"]
        assert bookmark[keyset.RECORDNO_STATE_KEY] == last["RECORDNO"]


def test_ties_across_page_boundaries_are_neither_lost_nor_repeated(
    sandbox: IntacctSandbox, baseline: TapRun
) -> None:
    tie = sandbox.company.special["same_timestamp"]["VENDOR"]
    assert len(tie["recordnos"]) > 3 * PAGE  # the run spans several page boundaries
    when = company_utc(tie["when"])
    tied = [r["RECORDNO"] for r in baseline.records("vendors") if r["WHENMODIFIED"] == when]
    assert tied == sorted(tie["recordnos"])  # once each, in RECORDNO order


def test_state_goes_out_after_every_page(baseline: TapRun) -> None:
    # Between two STATE messages there is never more than one page of records, and the
    # STATE after a page already names its last record (bookmark and tie-breaker).
    since: list[dict[str, Any]] = []
    for message in baseline.messages:
        if message["type"] == "RECORD":
            since.append(message)
            assert len(since) <= PAGE
        elif message["type"] == "STATE" and since:
            last = since[-1]
            bookmark = message["value"]["bookmarks"][last["stream"]]
            if last["record"]["WHENMODIFIED"] is None:
                assert bookmark[keyset.NULL_PASS_STATE_KEY] == last["record"]["RECORDNO"]
            else:
                assert bookmark["replication_key_value"] == last["record"]["WHENMODIFIED"]
                assert bookmark[keyset.RECORDNO_STATE_KEY] == last["record"]["RECORDNO"]
            since = []
    assert since == []


@pytest.mark.parametrize("stop_after", [1, 3, 7, 10, 15, 20])
def test_a_run_interrupted_after_n_pages_resumes_to_exactly_the_dataset(
    sandbox: IntacctSandbox, baseline: TapRun, stop_after: int
) -> None:
    assert stop_after < len(baseline.states)
    first = run_tap(_config(sandbox), now=NOW, stop_after_states=stop_after)
    assert first.interrupted
    state = first.last_state
    second = run_tap(_config(sandbox), now=NOW, state=state)
    assert not second.interrupted
    for stream, keys in _dataset(sandbox).items():
        both = first.keys(stream) + second.keys(stream)
        duplicates = [k for k, n in Counter(both).items() if n > 1]
        assert duplicates == [], f"{stream}: re-read after resuming"
        assert sorted(both) == keys, f"{stream}: lost after resuming"
    # Children come with their parents on either side of the interruption.
    lines = {
        r["RECORDNO"]: [line["RECORDNO"] for line in r["lines"]]
        for r in first.records("ap_bills") + second.records("ap_bills")
    }
    assert lines == {
        r["RECORDNO"]: [line["RECORDNO"] for line in r["lines"]]
        for r in baseline.records("ap_bills")
    }


def test_interrupted_inside_the_null_pass_resumes_it(sandbox: IntacctSandbox) -> None:
    config = _config(sandbox, page_size=1)
    first = run_tap(config, now=NOW, stop_after_states=1)
    bookmark = first.last_state["bookmarks"]["customers"]
    empty = sandbox.company.special["empty_whenmodified"]["CUSTOMER"]
    assert first.keys("customers") == [empty[0]]
    assert bookmark[keyset.NULL_PASS_STATE_KEY] == empty[0]
    assert "replication_key_value" not in bookmark
    second = run_tap(config, now=NOW, state=first.last_state, stop_after_states=2)
    assert second.keys("customers")[0] == empty[1]
    assert empty[0] not in second.keys("customers")


def test_empty_whenmodified_comes_on_a_first_run_or_full_refresh_only(
    sandbox: IntacctSandbox, baseline: TapRun
) -> None:
    for stream, obj in STREAM_OBJECTS.items():
        empty = sandbox.company.special["empty_whenmodified"].get(obj, [])
        records = {r["RECORDNO"]: r for r in baseline.records(stream)}
        for recordno in empty:
            assert records[recordno]["WHENMODIFIED"] is None
        # They come first, before the keyset pass, and do not move the bookmark.
        assert baseline.keys(stream)[: len(empty)] == sorted(empty)
    sandbox.reset_log()
    later = run_tap(_config(sandbox), now=NOW + dt.timedelta(days=1), state=baseline.last_state)
    for stream in STREAM_OBJECTS:
        assert later.keys(stream) == []
    assert all(q.find(".//isnull") is None for q in query_bodies(sandbox))


def test_lookback_rereads_the_window_before_the_previous_bound(fresh: IntacctSandbox) -> None:
    company = fresh.company
    latest = max(
        r["WHENMODIFIED"] for r in company.records("VENDOR", typed=True) if r["WHENMODIFIED"]
    )
    now = latest.replace(tzinfo=PACIFIC).astimezone(dt.UTC) + dt.timedelta(minutes=2)
    first = run_tap(_config(fresh), now=now)
    assert first.last_state["bookmarks"]["vendors"]["replication_key_value"] == company_utc(latest)
    # A row that commits late, with a WHENMODIFIED before the bookmark (eventual consistency).
    late = company.add(
        "VENDOR",
        {"VENDORID": "V-LATE", "NAME": "Late Vendor"},
        when=latest - dt.timedelta(minutes=3),
    )
    without = run_tap(
        _config(fresh, lookback_minutes=0), now=now + dt.timedelta(hours=1), state=first.last_state
    )
    assert late not in without.keys("vendors")
    again = run_tap(_config(fresh), now=now + dt.timedelta(hours=1), state=first.last_state)
    window_start = now - dt.timedelta(minutes=10)
    expected = sorted(
        r["RECORDNO"]
        for r in company.records("VENDOR", typed=True)
        if r["WHENMODIFIED"]
        and r["WHENMODIFIED"].replace(tzinfo=PACIFIC) >= window_start.astimezone(PACIFIC)
    )
    assert late in expected
    assert sorted(again.keys("vendors")) == expected


def test_start_date_limits_the_first_run(sandbox: IntacctSandbox, baseline: TapRun) -> None:
    bills = baseline.records("ap_bills")
    stamps = sorted(r["WHENMODIFIED"] for r in bills if r["WHENMODIFIED"])
    start = stamps[len(stamps) // 2]
    run = run_tap(_config(sandbox, start_date=start), now=NOW)
    empty = sandbox.company.special["empty_whenmodified"]["APBILL"]
    expected = sorted(
        [r["RECORDNO"] for r in bills if r["WHENMODIFIED"] and r["WHENMODIFIED"] >= start] + empty
    )
    assert sorted(run.keys("ap_bills")) == expected
    assert 0 < len(expected) < len(bills)
    # Transactions only: every customer and vendor a bill may refer to is read.
    for contacts in ("customers", "vendors"):
        assert sorted(run.keys(contacts)) == sorted(baseline.keys(contacts))
    payments = baseline.records("ap_payments")
    assert sorted(run.keys("ap_payments")) == sorted(
        r["RECORDNO"] for r in payments if r["WHENMODIFIED"] is None or r["WHENMODIFIED"] >= start
    )
    # With a bookmark, a later start_date still wins; an earlier one does not rewind.
    ordered = [r for r in bills if r["WHENMODIFIED"]]
    mark = ordered[3]
    state = {
        "bookmarks": {
            "ap_bills": {
                "replication_key": "WHENMODIFIED",
                "replication_key_value": mark["WHENMODIFIED"],
                keyset.RECORDNO_STATE_KEY: mark["RECORDNO"],
                keyset.UPPER_BOUND_STATE_KEY: NOW.isoformat(),
            }
        }
    }
    resumed = run_tap(_config(sandbox, start_date=start), now=NOW, state=state)
    assert sorted(resumed.keys("ap_bills")) == sorted(
        r["RECORDNO"] for r in ordered if r["WHENMODIFIED"] >= start
    )
    earlier = run_tap(_config(sandbox, start_date="2000-01-01T00:00:00Z"), now=NOW, state=state)
    assert earlier.keys("ap_bills") == [r["RECORDNO"] for r in ordered[4:]]


def test_records_changed_during_a_run_come_in_the_next_run(fresh: IntacctSandbox) -> None:
    company = fresh.company
    clock = fresh.clock
    start = clock.now()
    vendors = sorted(
        company.records("VENDOR", typed=True),
        key=lambda r: (
            r["WHENMODIFIED"] is not None,
            r["WHENMODIFIED"] or dt.datetime.min,
            r["RECORDNO"],
        ),
    )
    read_early, read_late = vendors[2]["RECORDNO"], vendors[-1]["RECORDNO"]
    changes: dict[str, int] = {}

    def change(n: int, message: dict[str, Any]) -> None:
        bookmarks = message["value"].get("bookmarks", {})
        if (
            changes
            or "vendors" not in bookmarks
            or "replication_key_value" not in bookmarks["vendors"]
        ):
            return
        clock.advance(minutes=1)  # strictly after the run's upper bound
        company.update("VENDOR", read_early, {"NAME": "Renamed during the run"})
        company.update("VENDOR", read_late, {"NAME": "Also renamed"})
        changes["new"] = company.add("VENDOR", {"VENDORID": "V-NEW", "NAME": "New during the run"})

    first = run_tap(_config(fresh), now=start, on_state=change)
    assert changes
    keys = first.keys("vendors")
    assert read_early in keys  # read before it changed: the old version
    assert read_late not in keys  # moved past the upper bound before it was read
    assert changes["new"] not in keys
    old = next(r for r in first.records("vendors") if r["RECORDNO"] == read_early)
    assert old["NAME"] != "Renamed during the run"
    second = run_tap(
        _config(fresh), now=clock.now() + dt.timedelta(minutes=5), state=first.last_state
    )
    assert sorted(second.keys("vendors")) == sorted([read_early, read_late, changes["new"]])
    assert {r["NAME"] for r in second.records("vendors")} >= {
        "Renamed during the run",
        "Also renamed",
    }
    assert sorted(set(keys) | set(second.keys("vendors"))) == sorted(company.recordnos("VENDOR"))


def test_full_table_replication_ignores_bookmarks(
    sandbox: IntacctSandbox, baseline: TapRun
) -> None:
    from tests.tap_intacct.tap_support import catalog_with

    config = _config(sandbox)
    catalog = catalog_with(config, streams=["customers"])
    for entry in catalog["streams"]:
        entry["replication_method"] = "FULL_TABLE"
        for meta in entry["metadata"]:
            if not meta["breadcrumb"]:
                meta["metadata"]["forced-replication-method"] = "FULL_TABLE"
    run = run_tap(config, now=NOW, catalog=catalog, state=baseline.last_state)
    assert sorted(run.keys("customers")) == sorted(sandbox.company.recordnos("CUSTOMER"))
