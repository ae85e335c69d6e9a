"""Fewest round trips, overlapped within the company's allowance (checked on the sandbox's log):

- child rows come in `in` queries of as many parent keys as a page of children holds;
- the pass over rows without WHENMODIFIED rides in the first keyset request (no request of its
  own);
- up to `max_concurrent_requests` requests are in flight at once, never more, with records and
  STATE exactly as a one-at-a-time read gives;
- an HTTP 429 / GW-0010 lowers the concurrency for the rest of the run, logged once.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterator
from typing import Any

import pytest

from tests.sandbox.intacct import IntacctSandbox, generate_company
from tests.tap_intacct.tap_support import catalog_with, query_bodies, run_tap

NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def _in_sizes(sb: IntacctSandbox, obj: str) -> list[int]:
    return [len(q.findall(".//in/value")) for q in query_bodies(sb, obj)]


def _pages_of_lines(run: Any, page_size: int) -> list[int]:
    """Lines per page of bills, in the order the tap read them (null pass first)."""
    bills = run.records("ap_bills")
    null = [b for b in bills if b["WHENMODIFIED"] is None]
    dated = [b for b in bills if b["WHENMODIFIED"] is not None]
    pages = ([null] if null else []) + [
        dated[i : i + page_size] for i in range(0, len(dated), page_size)
    ]
    return [sum(len(b["lines"]) for b in page) for page in pages]


def test_child_queries_take_as_many_keys_as_a_page_of_children_holds() -> None:
    company = generate_company(
        seed=4, customers=5, vendors=5, bills=3000, payments=0, lines_per_bill=(3, 3)
    )
    with IntacctSandbox(company, keep_responses=False) as sb:
        config = sb.tap_config(page_size=1000)
        run = run_tap(config, catalog=catalog_with(config, streams=["ap_bills"]))
        lines = _pages_of_lines(run, 1000)
        assert sum(lines) == company.count("APBILLITEM")
        queries = query_bodies(sb, "APBILLITEM")
        # Once a page has shown three lines per bill, each page of 1,000 bills (about 3,000
        # lines) goes in two queries of 500 keys, each answered in one page of 2,000: as few
        # queries as a page's lines need, and none continues another.
        assert len(queries) == sum(math.ceil(n / 2000) for n in lines)
        assert [q for q in queries if q.find("filter/and/greaterthan") is not None] == []
        assert max(_in_sizes(sb, "APBILLITEM")) == 500
        sb.assert_all_valid()


def test_a_first_page_asks_for_all_its_keys_at_once() -> None:
    # No null pass (a bookmark exists) and no lines seen yet: the first page's 1,000 keys go in
    # one `in` (the gateway's most), its 3,000 lines in two pages; the second page's 500 bills
    # then in one query.
    company = generate_company(
        seed=3, customers=5, vendors=5, bills=1500, payments=0, lines_per_bill=(3, 3)
    )
    state = {
        "bookmarks": {
            "ap_bills": {
                "replication_key": "WHENMODIFIED",
                "replication_key_value": "2000-01-01T00:00:00+00:00",
            }
        }
    }
    with IntacctSandbox(company, keep_responses=False) as sb:
        config = sb.tap_config(page_size=1000)
        run = run_tap(config, catalog=catalog_with(config, streams=["ap_bills"]), state=state)
        assert len(run.records("ap_bills")) == company.count("APBILL") - 2  # dated ones
        # (The second page's query may reach the gateway before the first one's continuation.)
        assert sorted(_in_sizes(sb, "APBILLITEM")) == [498, 1000, 1000]
        continued = [
            q
            for q in query_bodies(sb, "APBILLITEM")
            if q.find("filter/and/greaterthan") is not None
        ]
        assert len(continued) == 1
        assert continued[0].findtext("filter/and/greaterthan/field") == "RECORDNO"


@pytest.fixture(scope="module")
def company() -> Any:
    return generate_company(seed=8, customers=30, vendors=20, bills=60, payments=25)


def test_the_null_pass_rides_in_the_first_keyset_request(company: Any) -> None:
    with IntacctSandbox(company) as sb:
        run = run_tap(sb.tap_config(page_size=10))
        for obj in ("CUSTOMER", "VENDOR", "APBILL", "APPYMT"):
            with_null = [
                r
                for r in sb.requests
                if any(
                    q.findtext("object") == obj and q.find(".//isnull") is not None
                    for q in query_bodies([r], obj)
                )
            ]
            assert len(with_null) == 1, obj
            request = with_null[0]
            assert request.functions == ["query", "query"]
            kinds = [q.find(".//isnull") is not None for q in query_bodies([request])]
            assert kinds == [False, True]  # the keyset page and the null page together
        empty = company.special["empty_whenmodified"]["CUSTOMER"]
        assert empty and run.keys("customers")[: len(empty)] == sorted(empty)


@pytest.fixture
def slow(company: Any) -> Iterator[IntacctSandbox]:
    with IntacctSandbox(company, latency_ms=60, max_concurrent_requests=2) as sb:
        yield sb


def _baseline(company: Any) -> Any:
    with IntacctSandbox(company) as sb:
        return run_tap(sb.tap_config(page_size=7, max_concurrent_requests=1), now=NOW)


def _output(run: Any) -> list[dict[str, Any]]:
    """RECORD and STATE messages, without the extraction time."""
    return [
        {k: v for k, v in m.items() if k != "time_extracted"}
        for m in run.messages
        if m["type"] in ("RECORD", "STATE")
    ]


def test_requests_overlap_up_to_the_allowance_with_the_same_output(
    company: Any, slow: IntacctSandbox
) -> None:
    baseline = _baseline(company)
    # max_concurrent_requests: 2 by default
    run = run_tap(slow.tap_config(page_size=7), now=NOW)
    assert slow.max_in_flight == 2
    assert slow.refused_for_concurrency == 0
    # Records, their order, and every STATE message are those of a one-at-a-time read.
    assert _output(run) == _output(baseline)
    slow.reset_log()
    run_tap(slow.tap_config(page_size=7, max_concurrent_requests=1))
    assert slow.max_in_flight == 1


def test_state_never_runs_ahead_of_the_records_emitted(slow: IntacctSandbox) -> None:
    run = run_tap(slow.tap_config(page_size=7), stop_after_states=9)
    assert run.interrupted
    emitted: dict[str, set[int]] = {}
    for message in run.messages:
        if message["type"] == "RECORD":
            emitted.setdefault(message["stream"], set()).add(message["record"]["RECORDNO"])
        if message["type"] == "STATE":
            for stream, bookmark in message["value"].get("bookmarks", {}).items():
                recordno = bookmark.get("replication_key_recordno")
                if recordno is not None:
                    assert recordno in emitted.get(stream, set())


def test_a_429_lowers_the_concurrency_for_the_rest_of_the_run_logged_once(
    company: Any, caplog: pytest.LogCaptureFixture
) -> None:
    baseline = _baseline(company)
    with IntacctSandbox(company, latency_ms=40, max_concurrent_requests=1) as sb:
        with caplog.at_level(logging.INFO, logger="tap_intacct.gateway"):
            run = run_tap(sb.tap_config(page_size=7, max_concurrent_requests=2))
        assert 1 <= sb.refused_for_concurrency <= 2
        refused_at = max(r.index for r in sb.requests if r.outcome == "refused:concurrency")
        # After the lowering, nothing more was refused and the run went on one at a time.
        assert len(sb.requests) > refused_at + 10
    warnings = [r for r in caplog.records if "too many at once" in r.getMessage()]
    assert len(warnings) == 1
    assert "at most 1 at a time" in warnings[0].getMessage()
    assert run.keys("ap_bills") == baseline.keys("ap_bills")
    assert run.records("ap_payments") == baseline.records("ap_payments")
