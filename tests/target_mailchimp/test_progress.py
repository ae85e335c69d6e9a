"""Progress lines of long writes: records written per object, requests in flight, retries.

The interval is a parameter: a fake clock (or an interval of 0) drives it, and the tests
assert what the lines say, never how long anything took.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from target_mailchimp import progress
from target_mailchimp.progress import WriteProgress
from tests.progress_support import FakeClock, Lines
from tests.sandbox.mailchimp import MailchimpSandbox
from tests.target_mailchimp import test_target_kit as kit

pytestmark = pytest.mark.usefixtures("no_retry_waits")


def _logger(handler: Lines) -> logging.Logger:
    logger = logging.getLogger("test-target-progress")
    logger.setLevel(logging.INFO)
    logger.handlers = [handler]
    logger.propagate = False
    return logger


class FakeGate:
    in_flight = 0


def _client(requests: int = 0, retries: int = 0) -> SimpleNamespace:
    return SimpleNamespace(
        stats=SimpleNamespace(requests=requests, retries=retries),
        transport=SimpleNamespace(gate=FakeGate()),
    )


def test_the_line_counts_records_per_object_requests_and_retries() -> None:
    handler = Lines()
    clock = FakeClock(50.0)
    client = _client()
    p = WriteProgress(_logger(handler), client, interval=5, clock=clock)
    p.audited("member", "created", 1000)
    p.audited("member", "updated", 200)
    p.audited("member", "unchanged", 30)
    p.audited("member", "rejected", 3)
    p.audited("order", "created", 400)
    client.stats.requests, client.stats.retries = 950, 2
    client.transport.gate.in_flight = 7
    assert handler.lines == []  # not due yet
    clock.now += 5
    assert p.log_if_due()
    assert handler.lines == [
        "Writing: member 1200 written (30 unchanged, 3 rejected), order 400 written; "
        "7 requests in flight, 950 HTTP requests, 2 retries"
    ]


def test_quiet_while_nothing_happens_and_nothing_is_in_flight() -> None:
    handler = Lines()
    clock = FakeClock(50.0)
    client = _client()
    p = WriteProgress(_logger(handler), client, interval=5, clock=clock)
    clock.now += 5
    p.audited("customer", "created", 10)  # a write when a line is due logs it
    assert handler.lines[-1].startswith("Writing: customer 10 written;")
    clock.now += 5
    assert not p.log_if_due()  # the run waits for its input: no repeated line
    client.transport.gate.in_flight = 3  # a slow request: say so
    clock.now += 5
    assert p.log_if_due()
    assert "customer 10 written; 3 requests in flight" in handler.lines[-1]
    p.audited("customer", "created", 5)
    clock.now += 1
    count = len(handler.lines)
    assert not p.log_if_due()  # at most one line per interval
    assert len(handler.lines) == count
    clock.now += 4
    assert p.log_if_due()
    assert "customer 15 written" in handler.lines[-1]


def test_the_thread_logs_while_requests_run_and_nothing_after_stop() -> None:
    handler = Lines()
    client = _client()
    p = WriteProgress(_logger(handler), client, interval=0).start()
    try:
        client.stats.requests = 3  # requests go on, no audit row yet: the thread reports it
        deadline = time.monotonic() + 10
        while not handler.lines:
            assert time.monotonic() < deadline, "the progress thread said nothing"
            time.sleep(0.02)
        assert handler.lines[0] == (
            "Writing: nothing audited yet; 0 requests in flight, 3 HTTP requests, 0 retries"
        )
    finally:
        p.stop()
    count = len(handler.lines)
    p.audited("product", "created", 1)
    client.stats.requests = 4
    time.sleep(0.2)
    assert len(handler.lines) == count  # stopped (the summary follows): nothing more


def test_a_target_run_logs_progress_before_its_summary(
    sandbox: MailchimpSandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(progress, "DEFAULT_INTERVAL", 0.0)
    singer = kit.Singer().record(
        "customers", *(kit.customer(n, f"C{n}", f"c{n}@example.com") for n in range(1, 41))
    )
    singer.record("vendors", kit.vendor(100, "V100", "v100@example.com"))
    singer.record("ap_bills", kit.bill(200, "V100"))
    with caplog.at_level(logging.INFO):
        result = kit.run_target(kit.target_config(sandbox, tmp_path), singer)
    assert result.counts["member"]["created"] == 41
    messages = [r.getMessage() for r in caplog.records]
    lines = [m for m in messages if m.startswith("Writing: ")]
    assert lines, "no progress line"
    members = [int(m[1]) for line in lines if (m := re.search(r"member (\d+) written", line))]
    assert members and members == sorted(members) and members[-1] <= 41
    assert all(
        re.search(r"; \d+ requests in flight, \d+ HTTP requests, \d+ retries$", x) for x in lines
    )
    summary_at = next(i for i, m in enumerate(messages) if m.startswith("Run summary"))
    assert all(messages.index(line) < summary_at for line in lines)
