"""The Intacct sandbox's performance fidelity: no stall on kept-alive connections, the company's
allowance of simultaneous requests (HTTP 429 + GW-0010 above it), latency with seeded jitter.

These talk to the sandbox with requests + lxml, never with the tap's gateway client.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from lxml import etree

from tests.sandbox.intacct import IntacctSandbox, generate_company
from tests.sandbox.intacct import envelope as env
from tests.sandbox.latency import Latency

HEADERS = {"Content-Type": "application/xml"}


@pytest.fixture(scope="module")
def company():  # type: ignore[no-untyped-def]
    return generate_company(seed=5, customers=20, vendors=10, bills=10, payments=0)


@pytest.fixture
def sb(company) -> Iterator[IntacctSandbox]:  # type: ignore[no-untyped-def]
    with IntacctSandbox(company) as box:
        yield box


def _query_body(sb: IntacctSandbox, sid: str) -> bytes:
    fn = env.query_xml("CUSTOMER", ["RECORDNO", "CUSTOMERID", "NAME"], pagesize=20)
    return env.request(sb, [("q1", fn)], session_id=sid)


def test_a_kept_alive_connection_answers_as_fast_as_a_fresh_one(sb: IntacctSandbox) -> None:
    # Before the fix the sandbox wrote headers and body separately with Nagle's algorithm on:
    # every answer on a kept-alive connection waited for the client's delayed ACK (~40 ms).
    sid = env.session(sb)
    body = _query_body(sb, sid)
    rounds = 31
    kept: list[float] = []
    fresh: list[float] = []
    with requests.Session() as http:
        http.post(sb.gateway_url, data=body, headers=HEADERS, timeout=10).raise_for_status()
        for _ in range(rounds):
            # Interleaved, so a burst of load on the shared machine hits both alike.
            started = time.perf_counter()
            answer = http.post(sb.gateway_url, data=body, headers=HEADERS, timeout=10)
            kept.append(time.perf_counter() - started)
            assert answer.status_code == 200
            started = time.perf_counter()
            answer = requests.post(
                sb.gateway_url,
                data=body,
                headers={**HEADERS, "Connection": "close"},
                timeout=10,
            )
            fresh.append(time.perf_counter() - started)
            assert answer.status_code == 200
    kept_median, fresh_median = statistics.median(kept), statistics.median(fresh)
    # A delayed-ACK stall would add about 40 ms to every kept-alive request.
    assert kept_median <= fresh_median + 0.010, (kept_median, fresh_median)


def _post_at_once(sb: IntacctSandbox, bodies: list[bytes]) -> list[requests.Response]:
    barrier = threading.Barrier(len(bodies))
    answers: list[requests.Response | None] = [None] * len(bodies)

    def send(i: int) -> None:
        barrier.wait()
        answers[i] = requests.post(sb.gateway_url, data=bodies[i], headers=HEADERS, timeout=30)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(a is not None for a in answers)
    return [a for a in answers if a is not None]


def test_a_request_above_the_allowance_gets_429_gw_0010_and_is_not_run(
    sb: IntacctSandbox,
) -> None:
    assert sb.max_concurrent_requests == 2  # the default, as most companies are allowed
    sid = env.session(sb)
    sb.reset_log()
    # Every answer takes a second: the three requests overlap however loaded the machine is.
    sb.latency = 1.0
    answers = _post_at_once(sb, [_query_body(sb, sid)] * 3)
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 200, 429]
    refused = next(a for a in answers if a.status_code == 429)
    root = etree.fromstring(refused.content)
    assert root.findtext(".//errorno") == "GW-0010"
    assert sb.refused_for_concurrency == 1
    assert sb.max_in_flight == 2
    assert sb.executed["query"] == 2  # the refused one never ran
    assert sorted(r.outcome for r in sb.requests) == ["refused:concurrency", "success", "success"]
    assert sb.in_flight == 0  # every slot given back once the answers were out
    # Slots are free again: two at once are fine.
    sb.reset_log()
    answers = _post_at_once(sb, [_query_body(sb, sid)] * 2)
    assert [a.status_code for a in answers] == [200, 200]
    assert sb.refused_for_concurrency == 0


def test_the_allowance_is_a_setting_and_faults_give_their_slot_back(company) -> None:  # type: ignore[no-untyped-def]
    with IntacctSandbox(company, max_concurrent_requests=3, latency_ms=1000) as box:
        sid = env.session(box)
        answers = _post_at_once(box, [_query_body(box, sid)] * 3)
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert box.refused_for_concurrency == 0 and box.max_in_flight == 3
        box.latency = 0.0
        box.faults.add("http_500", times=2)
        for _ in range(2):
            assert (
                requests.post(box.gateway_url, data=_query_body(box, sid), timeout=10).status_code
                == 500
            )
        assert box.in_flight == 0
    with IntacctSandbox(company, max_concurrent_requests=None, latency_ms=500) as box:
        sid = env.session(box)
        answers = _post_at_once(box, [_query_body(box, sid)] * 4)
        assert [a.status_code for a in answers] == [200] * 4
        assert box.max_in_flight == 4
    with pytest.raises(ValueError, match="max_concurrent_requests"):
        IntacctSandbox(company, max_concurrent_requests=0)


def test_latency_has_a_fixed_part_and_seeded_jitter(company) -> None:  # type: ignore[no-untyped-def]
    a = Latency(0.25, 0.1, seed=3)
    b = Latency(0.25, 0.1, seed=3)
    draws = [a.sample() for _ in range(200)]
    assert draws == [b.sample() for _ in range(200)]  # seeded: the same sequence
    assert all(0.25 <= d <= 0.35 for d in draws)
    assert len(set(draws)) > 100  # it does vary
    expo = [Latency(0.1, 0.05, distribution="exponential", seed=1).sample() for _ in range(5)]
    assert all(0.1 <= d <= 0.1 + 0.5 for d in expo)
    assert Latency(0.2).sample() == 0.2
    with pytest.raises(ValueError):
        Latency(0.1, distribution="normal")
    # The sandbox waits at least the fixed part before answering.
    with IntacctSandbox(company, latency_ms=200, latency_jitter_ms=50, latency_seed=9) as box:
        delays = [box.delay() for _ in range(20)]
        assert all(0.2 <= d <= 0.25 for d in delays) and len(set(delays)) > 1
        started = time.perf_counter()
        env.session(box)
        assert time.perf_counter() - started >= 0.2
