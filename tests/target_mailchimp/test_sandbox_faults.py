"""The Mailchimp sandbox's connection limit, fault injection, latency and counters."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from tests.sandbox.mailchimp import FAULT_KINDS, MailchimpSandbox


@pytest.fixture
def mc() -> Iterator[MailchimpSandbox]:
    with MailchimpSandbox() as sandbox:
        yield sandbox


def ping(mc: MailchimpSandbox, timeout: float = 5.0) -> requests.Response:
    return requests.get(mc.base_url + "/ping", auth=("u", mc.api_key), timeout=timeout)


def wait_until(predicate: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.005)
    raise AssertionError("condition not reached")


def test_eleventh_simultaneous_request_gets_429(mc: MailchimpSandbox) -> None:
    hold = mc.faults.add("slow", times=10, seconds=30)
    statuses: list[int] = []
    threads = [
        threading.Thread(target=lambda: statuses.append(ping(mc).status_code)) for _ in range(10)
    ]
    for t in threads:
        t.start()
    wait_until(lambda: mc.stats.in_flight == 10)
    extra = ping(mc)
    hold.release()
    for t in threads:
        t.join()
    assert extra.status_code == 429
    body = extra.json()
    assert body["title"] == "Too Many Requests"
    assert extra.headers["Content-Type"].startswith("application/problem+json")
    assert statuses == [200] * 10
    assert mc.stats.max_in_flight == 11
    assert mc.stats.rejected_concurrency == 1
    assert mc.count(status=429) == 1
    mc.reset_counters()
    assert mc.stats.max_in_flight == 0
    assert ping(mc).status_code == 200
    assert mc.stats.max_in_flight == 1


def test_connection_limit_is_configurable() -> None:
    with MailchimpSandbox(max_connections=1) as mc:
        hold = mc.faults.add("slow", seconds=30)
        t = threading.Thread(target=lambda: ping(mc))
        t.start()
        wait_until(lambda: mc.stats.in_flight == 1)
        assert ping(mc).status_code == 429
        hold.release()
        t.join()
        assert ping(mc).status_code == 200


def test_latency_is_added_per_request() -> None:
    with MailchimpSandbox(latency=0.05) as mc:
        started = time.monotonic()
        for _ in range(3):
            assert ping(mc).status_code == 200
        assert time.monotonic() - started >= 0.15
        assert all(r.duration >= 0.05 for r in mc.requests)


def test_429_fault_fires_n_times(mc: MailchimpSandbox) -> None:
    mc.faults.add("429", times=3)
    assert [ping(mc).status_code for _ in range(4)] == [429, 429, 429, 200]
    assert mc.faults.count("429") == 3
    assert [r.fault for r in mc.requests] == ["429", "429", "429", None]


def test_fault_path_prefix_and_method(mc: MailchimpSandbox) -> None:
    mc.faults.add("503", times=1, path_prefix="/ecommerce")
    assert ping(mc).status_code == 200
    s = requests.Session()
    s.auth = ("u", mc.api_key)
    resp = s.get(mc.base_url + "/ecommerce/stores")
    assert resp.status_code == 503
    assert resp.json()["status"] == 503
    assert s.get(mc.base_url + "/ecommerce/stores").status_code == 200
    mc.faults.add("500", times=1, method="POST")
    assert s.get(mc.base_url + "/lists").status_code == 200
    body = {"id": "s", "list_id": mc.list_id, "name": "n", "currency_code": "USD"}
    assert s.post(mc.base_url + "/ecommerce/stores", json=body).status_code == 500
    assert s.get(mc.base_url + "/ecommerce/stores").json()["total_items"] == 0


@pytest.mark.parametrize("kind", ["403_no_body", "429_no_body"])
def test_faults_without_body(mc: MailchimpSandbox, kind: str) -> None:
    mc.faults.add(kind)
    resp = ping(mc)
    assert resp.status_code == int(kind[:3])
    assert resp.content == b""
    assert resp.headers["X-Request-Id"]


@pytest.mark.parametrize("kind", ["502_html", "504"])
def test_html_gateway_faults(mc: MailchimpSandbox, kind: str) -> None:
    mc.faults.add(kind)
    resp = ping(mc)
    assert resp.status_code == int(kind[:3])
    assert resp.headers["Content-Type"].startswith("text/html")
    assert resp.text.startswith("<html>")


def test_500_and_502_problem_faults(mc: MailchimpSandbox) -> None:
    mc.faults.add("500")
    mc.faults.add("502")
    assert ping(mc).json()["title"] == "Internal Server Error"
    assert ping(mc).json()["status"] == 502


def test_execute_true_runs_the_write_before_the_error(mc: MailchimpSandbox) -> None:
    mc.faults.add("502_html", execute=True)
    h = hashlib.md5(b"ex@example.org").hexdigest()
    resp = requests.put(
        f"{mc.base_url}/lists/{mc.list_id}/members/{h}",
        json={"email_address": "ex@example.org", "status_if_new": "subscribed"},
        auth=("u", mc.api_key),
        timeout=5,
    )
    assert resp.status_code == 502
    member = mc.member("ex@example.org")
    assert member is not None
    assert member["status"] == "subscribed"


def test_slow_fault_delays_then_answers(mc: MailchimpSandbox) -> None:
    mc.faults.add("slow", seconds=0.2)
    started = time.monotonic()
    assert ping(mc).status_code == 200
    assert time.monotonic() - started >= 0.2


def test_timeout_fault_runs_the_request_but_client_times_out(mc: MailchimpSandbox) -> None:
    mc.faults.add("timeout", seconds=0.5)
    body = {"id": "s1", "list_id": mc.list_id, "name": "n", "currency_code": "USD"}
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(
            mc.base_url + "/ecommerce/stores", json=body, auth=("u", mc.api_key), timeout=0.15
        )
    retry = requests.post(
        mc.base_url + "/ecommerce/stores", json=body, auth=("u", mc.api_key), timeout=5
    )
    assert retry.status_code == 400
    assert "already exists" in retry.json()["detail"]


def test_disconnect_fault_drops_the_connection(mc: MailchimpSandbox) -> None:
    mc.faults.add("disconnect")
    with pytest.raises(requests.exceptions.ConnectionError):
        ping(mc)
    assert ping(mc).status_code == 200
    assert mc.requests[0].status == 0


def test_unlimited_fault_until_cleared(mc: MailchimpSandbox) -> None:
    mc.faults.add("503", times=None)
    assert [ping(mc).status_code for _ in range(3)] == [503, 503, 503]
    assert len(mc.faults.armed) == 1
    mc.faults.clear()
    assert ping(mc).status_code == 200


def test_unknown_fault_kind_is_refused(mc: MailchimpSandbox) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        mc.faults.add("418")
    assert "timeout" in FAULT_KINDS


def _storm_statuses(seed: int) -> list[int]:
    with MailchimpSandbox() as mc:
        mc.faults.storm(rate_5xx=0.3, rate_429=0.2, seed=seed)
        with requests.Session() as s:
            s.auth = ("u", mc.api_key)
            return [s.get(mc.base_url + "/ping").status_code for _ in range(40)]


def test_storm_is_seeded_and_mixes_faults() -> None:
    first = _storm_statuses(1)
    assert first == _storm_statuses(1)
    assert first != _storm_statuses(2)
    assert 200 in first
    assert 429 in first
    assert any(code >= 500 for code in first)
    assert set(first) <= {200, 429, 500, 502, 503, 504}


def test_storm_calm_and_rate_check(mc: MailchimpSandbox) -> None:
    mc.faults.storm(rate_5xx=1.0, seed=3)
    assert ping(mc).status_code >= 500
    mc.faults.calm()
    assert ping(mc).status_code == 200
    with pytest.raises(ValueError, match="more than 1"):
        mc.faults.storm(rate_5xx=0.8, rate_429=0.5)


def test_counters(mc: MailchimpSandbox) -> None:
    s = requests.Session()
    s.auth = ("u", mc.api_key)
    h = hashlib.md5(b"c@example.org").hexdigest()
    s.get(mc.base_url + "/ping")
    s.put(
        f"{mc.base_url}/lists/{mc.list_id}/members/{h}",
        json={"email_address": "c@example.org", "status_if_new": "subscribed"},
    )
    s.get(f"{mc.base_url}/lists/{mc.list_id}/members")
    assert mc.count() == 3
    assert mc.count("GET") == 2
    assert mc.count(path_prefix="/lists") == 2
    assert mc.count(writes_only=True) == 1
    assert mc.count(status=200) == 3
    rec = mc.requests[1]
    assert (rec.method, rec.api_path, rec.status) == (
        "PUT",
        f"/lists/{mc.list_id}/members/{h}",
        200,
    )
    assert rec.ended >= rec.started
    assert rec.is_write
    mc.reset_counters()
    assert mc.requests == []
    assert mc.count() == 0
