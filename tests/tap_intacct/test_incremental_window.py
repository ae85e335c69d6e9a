"""Where a run starts and stops (keyset.plan_window) and the filters it sends, as pure logic."""

from __future__ import annotations

import datetime as dt

from lxml import etree

from tap_intacct import keyset
from tap_intacct.records import resolve_timezone

UTC = dt.UTC
LA = resolve_timezone("America/Los_Angeles")
NOW = dt.datetime(2024, 7, 1, 12, 0, 0, 500000, tzinfo=UTC)
TEN = dt.timedelta(minutes=10)


def _xml(node: keyset.Filter) -> str:
    return etree.tostring(node.to_element()).decode()


def test_first_run_reads_all_history_and_the_null_pass() -> None:
    window = keyset.plan_window(keyset.Bookmark(), now=NOW, tz=UTC, lookback=TEN)
    assert window.start is None
    assert window.null_pass
    assert window.upper == dt.datetime(2024, 7, 1, 12, 0, 0)  # whole seconds
    assert _xml(window.keyset_filter(None)) == (
        "<lessthanorequalto><field>WHENMODIFIED</field>"
        "<value>07/01/2024 12:00:00</value></lessthanorequalto>"
    )


def test_upper_bound_and_start_date_are_in_company_time() -> None:
    start = dt.datetime(2024, 1, 1, tzinfo=UTC)
    window = keyset.plan_window(keyset.Bookmark(), now=NOW, tz=LA, start_date=start)
    assert window.upper == dt.datetime(2024, 7, 1, 5, 0, 0)  # PDT
    assert window.start == keyset.Position(dt.datetime(2023, 12, 31, 16, 0, 0))
    assert window.null_pass
    assert _xml(window.keyset_filter(None)) == (
        "<and><greaterthanorequalto><field>WHENMODIFIED</field>"
        "<value>12/31/2023 16:00:00</value></greaterthanorequalto>"
        "<lessthanorequalto><field>WHENMODIFIED</field>"
        "<value>07/01/2024 05:00:00</value></lessthanorequalto></and>"
    )


def test_page_continuation_is_a_keyset_condition() -> None:
    window = keyset.plan_window(keyset.Bookmark(), now=NOW, tz=UTC)
    position = keyset.Position(dt.datetime(2024, 2, 3, 4, 5, 6), 77)
    assert _xml(window.keyset_filter(position)) == (
        "<and><or><greaterthan><field>WHENMODIFIED</field><value>02/03/2024 04:05:06</value>"
        "</greaterthan><and><equalto><field>WHENMODIFIED</field>"
        "<value>02/03/2024 04:05:06</value></equalto><greaterthan><field>RECORDNO</field>"
        "<value>77</value></greaterthan></and></or>"
        "<lessthanorequalto><field>WHENMODIFIED</field><value>07/01/2024 12:00:00</value>"
        "</lessthanorequalto></and>"
    )


def test_interrupted_run_resumes_exactly_after_the_tie_breaker() -> None:
    state = {
        "replication_key": "WHENMODIFIED",
        "replication_key_value": "2024-03-01T10:00:00+00:00",
        keyset.RECORDNO_STATE_KEY: 512,
        keyset.UPPER_BOUND_STATE_KEY: "2024-06-30T00:00:00+00:00",
    }
    window = keyset.plan_window(keyset.Bookmark.from_state(state), now=NOW, tz=UTC, lookback=TEN)
    assert window.start == keyset.Position(dt.datetime(2024, 3, 1, 10, 0, 0), 512)
    assert not window.null_pass


def test_finished_run_rereads_the_lookback_window_before_its_bound() -> None:
    state = {
        "replication_key": "WHENMODIFIED",
        "replication_key_value": "2024-06-29T23:58:00+00:00",
        keyset.RECORDNO_STATE_KEY: 9,
        keyset.UPPER_BOUND_STATE_KEY: "2024-06-30T00:00:00+00:00",
    }
    window = keyset.plan_window(keyset.Bookmark.from_state(state), now=NOW, tz=UTC, lookback=TEN)
    assert window.start == keyset.Position(dt.datetime(2024, 6, 29, 23, 50, 0))
    assert window.start_utc == dt.datetime(2024, 6, 29, 23, 50, tzinfo=UTC)
    # Without a bound in state (a foreign or older state) the window is before the bookmark.
    del state[keyset.UPPER_BOUND_STATE_KEY]
    window = keyset.plan_window(keyset.Bookmark.from_state(state), now=NOW, tz=UTC, lookback=TEN)
    assert window.start == keyset.Position(dt.datetime(2024, 6, 29, 23, 48, 0))
    # lookback 0: exact, even right at the bound.
    window = keyset.plan_window(keyset.Bookmark.from_state(state), now=NOW, tz=UTC)
    assert window.start == keyset.Position(dt.datetime(2024, 6, 29, 23, 58, 0), 9)


def test_start_date_later_than_the_bookmark_wins_and_bounds_the_lookback() -> None:
    bookmark = keyset.Bookmark(
        when=dt.datetime(2024, 6, 29, 23, 58, tzinfo=UTC),
        recordno=3,
        upper_bound=dt.datetime(2024, 6, 30, tzinfo=UTC),
    )
    later = dt.datetime(2024, 6, 30, 1, tzinfo=UTC)
    window = keyset.plan_window(bookmark, now=NOW, tz=UTC, start_date=later, lookback=TEN)
    assert window.start == keyset.Position(dt.datetime(2024, 6, 30, 1, 0, 0))
    close = dt.datetime(2024, 6, 29, 23, 55, tzinfo=UTC)
    window = keyset.plan_window(bookmark, now=NOW, tz=UTC, start_date=close, lookback=TEN)
    assert window.start == keyset.Position(dt.datetime(2024, 6, 29, 23, 55, 0))


def test_null_pass_resumes_after_its_recordno_and_a_bookmark_on_another_key_is_ignored() -> None:
    bookmark = keyset.Bookmark.from_state(
        {
            "replication_key": "WHENCREATED",
            "replication_key_value": "2024-01-01T00:00:00+00:00",
            keyset.NULL_PASS_STATE_KEY: 40,
        }
    )
    assert bookmark.when is None
    window = keyset.plan_window(bookmark, now=NOW, tz=UTC)
    assert window.null_pass
    assert window.null_after == 40
    assert _xml(window.null_filter(40)) == (
        "<and><isnull><field>WHENMODIFIED</field></isnull>"
        "<greaterthan><field>RECORDNO</field><value>40</value></greaterthan></and>"
    )


def test_full_table_ignores_state() -> None:
    bookmark = keyset.Bookmark(when=dt.datetime(2024, 1, 1, tzinfo=UTC), recordno=1)
    window = keyset.plan_window(bookmark, now=NOW, tz=UTC, incremental=False)
    assert window.start is None
    assert window.null_pass


def test_state_values_parse_with_z_or_offsets() -> None:
    assert keyset.parse_utc("2024-01-01T00:00:00Z") == dt.datetime(2024, 1, 1, tzinfo=UTC)
    assert keyset.parse_utc("2024-01-01T01:00:00+01:00") == dt.datetime(2024, 1, 1, tzinfo=UTC)
    assert keyset.parse_utc("2024-01-01") == dt.datetime(2024, 1, 1, tzinfo=UTC)
    assert keyset.parse_utc(None) is None
