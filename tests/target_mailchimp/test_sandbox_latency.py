"""The Mailchimp sandbox's latency (a fixed part plus seeded jitter, optionally counting its own
work) and its batch timings, which the benchmarks read."""

from __future__ import annotations

import time

import requests

from tests.sandbox.mailchimp import MailchimpSandbox


def _ping(mc: MailchimpSandbox) -> float:
    started = time.perf_counter()
    answer = requests.get(mc.base_url + "/ping", auth=("any", mc.api_key), timeout=10)
    assert answer.status_code == 200
    return time.perf_counter() - started


def test_latency_with_seeded_jitter() -> None:
    with MailchimpSandbox(latency=0.2, latency_jitter=0.05, seed=3) as a:
        assert _ping(a) >= 0.2
        draws = [a.jitter.sample() for _ in range(50)]
    with MailchimpSandbox(latency=0.2, latency_jitter=0.05, seed=3) as b:
        b.jitter.sample()  # the ping above drew one
        assert [b.jitter.sample() for _ in range(50)] == draws
    assert all(0 <= d <= 0.05 for d in draws) and len(set(draws)) > 10


def test_latency_that_includes_the_work_still_waits_at_least_the_latency() -> None:
    with MailchimpSandbox(latency=0.15, latency_includes_work=True) as mc:
        assert _ping(mc) >= 0.15
        mc.latency = 0.0
        assert _ping(mc) < 5


def test_batch_timings_and_operation_delay() -> None:
    with MailchimpSandbox(batch_start_delay=0.0) as mc:
        mc.batch_op_delay = 0.05
        ops = [{"method": "GET", "path": "/ping"} for _ in range(4)]
        answer = requests.post(
            mc.base_url + "/batches", json={"operations": ops}, auth=("any", mc.api_key), timeout=10
        )
        batch_id = answer.json()["id"]
        assert mc.wait_for_batches(10)
        timing = mc.batch_timings[batch_id]
        assert timing["submitted"] <= timing["started"] <= timing["finished"]
        assert timing["finished"] - timing["started"] >= 4 * 0.05
