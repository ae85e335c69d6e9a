"""The gateway client used from several threads: at most `max_concurrent_requests` in flight,
one session for all, several reads in one request (`query_many`), and the slots a 429 lowers."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tap_intacct.gateway import Filter, GatewayConfig, IntacctGateway
from tap_intacct.gateway.errors import IntacctError
from tap_intacct.gateway.session import SessionCache
from tap_intacct.gateway.slots import RequestSlots
from tests.sandbox.intacct import IntacctSandbox, generate_company


@pytest.fixture(scope="module")
def sb() -> Iterator[IntacctSandbox]:
    company = generate_company(seed=2, customers=40, vendors=10, bills=5, payments=0)
    with IntacctSandbox(company, latency_ms=30) as box:
        yield box


def _client(sb: IntacctSandbox, **overrides: object) -> IntacctGateway:
    config = GatewayConfig.from_mapping(sb.tap_config(**overrides))
    return IntacctGateway(config, session_cache=SessionCache(), sleep=lambda _s: None)


def test_threads_share_one_session_and_keep_to_the_allowance(sb: IntacctSandbox) -> None:
    sb.reset_log()
    errors: list[BaseException] = []
    counts: list[int] = []
    lock = threading.Lock()
    with _client(sb) as client:

        def work(start: int) -> None:
            try:
                for offset in range(start, 40, 8):
                    page = client.query(
                        "CUSTOMER",
                        ["RECORDNO"],
                        filter=Filter.gt("RECORDNO", offset),
                        order_by=["RECORDNO"],
                        page_size=3,
                    )
                    with lock:
                        counts.append(page.count)
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert client.slots.peak == 2
    assert errors == []
    assert len(counts) == 25 and all(0 < c <= 3 for c in counts)
    assert sb.refused_for_concurrency == 0
    assert sb.max_in_flight == 2
    assert [r.functions for r in sb.requests].count(["getAPISession"]) == 1


def test_query_many_sends_several_reads_in_one_request(sb: IntacctSandbox) -> None:
    sb.reset_log()
    with _client(sb) as client:
        first, second = client.query_many(
            [
                {"object_name": "CUSTOMER", "fields": ["RECORDNO"], "page_size": 2},
                {"object_name": "VENDOR", "fields": ["RECORDNO"], "page_size": 3},
            ]
        )
        assert (first.count, second.count) == (2, 3)
        assert next(iter(first.records())).keys() == {"RECORDNO"}
        queries = sb.requests_for("query")
        assert len(queries) == 1 and queries[0].functions == ["query", "query"]
        with pytest.raises(IntacctError):
            client.query_many(
                [
                    {"object_name": "CUSTOMER", "fields": ["RECORDNO"]},
                    {"object_name": "NOSUCHOBJECT", "fields": ["RECORDNO"]},
                ]
            )
        with pytest.raises(ValueError, match="must differ"):
            client.query_many([{"object_name": "CUSTOMER", "fields": ["RECORDNO"]}] * 2)


def test_slots_block_above_the_limit_and_a_lowering_stops_at_one() -> None:
    slots = RequestSlots(2)
    slots.acquire()
    slots.acquire()
    entered = threading.Event()

    def third() -> None:
        with slots:
            entered.set()

    t = threading.Thread(target=third)
    t.start()
    assert not entered.wait(0.1)  # two in use: the third waits
    assert slots.lower() == 1
    slots.release()
    assert not entered.wait(0.1)  # one still in use and the limit is now one
    slots.release()
    assert entered.wait(5)
    t.join()
    assert slots.lower() is None and slots.limit == 1 and slots.peak == 2
    with pytest.raises(ValueError):
        RequestSlots(0)
    with pytest.raises(ValueError, match="max_concurrent_requests"):
        GatewayConfig(
            sender_id="s",
            sender_password="p",
            user_id="u",
            user_password="p",
            company_id="c",
            max_concurrent_requests=0,
        )
