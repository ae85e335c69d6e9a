"""Progress lines of long reads: records, pages, rate and the bound, every few seconds.

The interval is a parameter, so the tests drive it with a fake clock (or an interval of 0)
and assert what the lines say, never how long anything took.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tap_intacct import progress
from tap_intacct.progress import ReadProgress
from tests.progress_support import FakeClock, Lines
from tests.sandbox.intacct import IntacctSandbox
from tests.sandbox.intacct.data import generate_company
from tests.tap_intacct.tap_support import PACIFIC_NAME, run_tap


@pytest.fixture
def lines() -> Iterator[Lines]:
    handler = Lines()
    logger = logging.getLogger("test-progress")
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def test_a_line_is_due_every_interval_with_counts_rate_and_bound(lines: Lines) -> None:
    clock = FakeClock(100.0)
    p = ReadProgress(
        logging.getLogger("test-progress"),
        "customers",
        "2024-02-01T08:00:00+00:00",
        interval=5,
        clock=clock,
    )
    p.page(1000)
    assert lines.lines == []  # nothing due yet
    clock.now += 5
    p.page(1000)
    assert lines.lines == [
        "customers: 2000 records in 2 pages so far (400 records/s), "
        "reading up to 2024-02-01T08:00:00+00:00"
    ]
    clock.now += 3
    p.page(500)
    assert len(lines.lines) == 1  # the last line is 3 s old
    clock.now += 2
    assert p.log_if_due()
    assert lines.lines[-1].startswith("customers: 2500 records in 3 pages so far")


def test_a_slow_page_is_reported_while_it_is_awaited(lines: Lines) -> None:
    clock = FakeClock(100.0)
    p = ReadProgress(logging.getLogger("test-progress"), "vendors", "B", interval=5, clock=clock)
    p.page(200)
    clock.now += 12  # the next page takes long: the thread's call logs meanwhile
    assert p.log_if_due()
    assert "vendors: 200 records in 1 pages so far" in lines.lines[-1]
    assert "waiting 12 s for page 2, reading up to B" in lines.lines[-1]
    clock.now += 1
    assert not p.log_if_due()  # once per interval
    p.finish()
    clock.now += 60
    assert not p.log_if_due()  # a finished read says nothing more


def test_the_background_thread_reports_the_read_under_way(lines: Lines) -> None:
    class Stream:
        name = "ap_bills"
        logger = logging.getLogger("test-progress")

    stream = Stream()
    p = progress.begin(stream, "BOUND", interval=0)
    progress.page(stream, 7)
    assert lines.lines[-1].startswith("ap_bills: 7 records in 1 pages so far")
    count = len(lines.lines)
    deadline = time.monotonic() + 10
    while len(lines.lines) == count:  # the reporter thread logs within its 1 s tick
        assert time.monotonic() < deadline, "the reporter thread said nothing"
        time.sleep(0.05)
    assert lines.lines[-1].startswith("ap_bills: 7 records in 1 pages so far")
    progress.end(stream)
    assert p.finished


@pytest.fixture(scope="module")
def sandbox() -> Iterator[IntacctSandbox]:
    company = generate_company(seed=5, customers=120, vendors=30, bills=20, payments=10)
    with IntacctSandbox(company) as sb:
        yield sb


def test_a_tap_run_logs_a_line_per_page_with_interval_zero(
    sandbox: IntacctSandbox, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(progress, "DEFAULT_INTERVAL", 0.0)
    config: dict[str, Any] = sandbox.tap_config(timezone=PACIFIC_NAME, page_size=50)
    with caplog.at_level(logging.INFO):
        run = run_tap(config, now=None)
    customers = len(run.records("customers"))
    assert customers == 120
    found = [
        m
        for r in caplog.records
        if (m := re.match(r"customers: (\d+) records in (\d+) pages so far", r.getMessage()))
    ]
    counts = sorted({(int(m[1]), int(m[2])) for m in found})
    # Interval 0: a line after every page (the thread may repeat one), so the page numbers
    # run 1, 2, 3, ... and each page adds at most page_size records, up to all of them.
    assert [pages for _, pages in counts] == list(range(1, len(counts) + 1))
    assert len(counts) >= 3
    steps = [b[0] - a[0] for a, b in zip([(0, 0), *counts], counts, strict=False)]
    assert all(0 < step <= 50 for step in steps)
    assert counts[-1][0] == customers
    bound = run.last_state["bookmarks"]["customers"]["replication_key_upper_bound"]
    assert any(f"reading up to {bound}" in r.getMessage() for r in caplog.records)
