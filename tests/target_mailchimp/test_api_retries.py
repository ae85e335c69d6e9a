"""Which answers are retried, how often, how long the waits are, and what is logged."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator

import pytest

from target_mailchimp.api import (
    BadRequest,
    Forbidden,
    MailchimpClient,
    MailchimpError,
    MethodNotAllowed,
    NotFound,
    RetryPolicy,
    ServerError,
    TooManyRequests,
    Unauthorized,
    Unreachable,
)
from tests.target_mailchimp.test_api_scripted_server import Reply, ScriptedServer, problem

KEY = "fedcba9876543210fedcba9876543210-us6"


class Waits:
    """An injectable sleep that records what it was asked to wait."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as srv:
        yield srv


@pytest.fixture
def waits() -> Waits:
    return Waits()


def client(
    srv: ScriptedServer, waits: Waits, *, max_retries: int = 5, timeout: float = 5.0, **kw: object
) -> MailchimpClient:
    policy = RetryPolicy(max_retries=max_retries, sleep=waits, **kw)  # type: ignore[arg-type]
    return MailchimpClient(KEY, api_url=srv.api_url, retry=policy, request_timeout=timeout)


HTML_502 = "<html><head><title>502 Bad Gateway</title></head><body><h1>502</h1></body></html>"


@pytest.mark.parametrize(
    ("first", "reason"),
    [
        (
            problem(429, "Too Many Requests", "You have exceeded the limit of 10 simultaneous"),
            "429",
        ),
        (Reply(403, None), "403 without a problem document"),
        (Reply(403, "<html>Forbidden</html>"), "403 without a problem document"),
        (problem(500, "Internal Server Error", "An unexpected internal error"), "500"),
        (Reply(502, HTML_502), "502"),
        (Reply(503, None), "503"),
        (Reply(504, "Gateway Timeout"), "504"),
    ],
)
def test_transient_answers_are_retried(
    server: ScriptedServer, waits: Waits, first: Reply, reason: str
) -> None:
    server.script(first, Reply(200, {"health_status": "Everything's Chimpy!"}, request_id="ok-1"))
    with client(server, waits) as mc:
        resp = mc.request("GET", "/ping")
    assert resp.status == 200
    assert resp.attempts == 2
    assert resp.request_id == "ok-1"
    assert len(resp.retry_reasons) == 1
    assert reason in resp.retry_reasons[0]
    assert len(server.requests) == 2
    assert len(waits.calls) == 1
    assert resp.call_info()["attempts"] == 2


@pytest.mark.parametrize(
    ("reply", "cls"),
    [
        (
            problem(400, "Invalid Resource", "bad", errors=[{"field": "x", "message": "y"}]),
            BadRequest,
        ),
        (problem(401, "API Key Invalid", "Your API key may be invalid"), Unauthorized),
        (problem(403, "Forbidden", "You don't have permission"), Forbidden),
        (
            problem(404, "Resource Not Found", "The requested resource could not be found."),
            NotFound,
        ),
        (problem(405, "Method Not Allowed", "not compatible"), MethodNotAllowed),
        (problem(414, "Resource Nesting Too Deep", "too deep"), MailchimpError),
        (problem(422, "Invalid Method Override", "only POST"), MailchimpError),
    ],
)
def test_permanent_answers_are_not_retried(
    server: ScriptedServer, waits: Waits, reply: Reply, cls: type[MailchimpError]
) -> None:
    reply.request_id = "rid-perm"
    server.script(reply, Reply(200, {}))
    with client(server, waits) as mc, pytest.raises(cls) as info:
        mc.request("POST", "/lists/l1", json={"members": []})
    err = info.value
    assert type(err) is cls
    assert err.status == reply.status
    assert err.attempts == 1
    assert err.request_id == "rid-perm"
    assert err.method == "POST"
    assert err.path == "/lists/l1"
    assert len(server.requests) == 1
    assert waits.calls == []


def test_retries_are_capped_and_the_last_error_is_raised(
    server: ScriptedServer, waits: Waits
) -> None:
    server.default = problem(503, "Service Unavailable", "try later")
    with client(server, waits, max_retries=3) as mc, pytest.raises(ServerError) as info:
        mc.request("GET", "/lists/l1")
    assert info.value.attempts == 4
    assert len(info.value.retry_reasons) == 3
    assert info.value.transient
    assert "4 attempts" in str(info.value)
    assert len(server.requests) == 4
    assert len(waits.calls) == 3
    stats = mc.stats
    assert (stats.calls, stats.requests, stats.retries, stats.failures) == (1, 4, 3, 1)
    assert stats.by_status == {503: 4}


def test_throttling_that_never_ends_raises_too_many_requests(
    server: ScriptedServer, waits: Waits
) -> None:
    server.default = Reply(403, None)
    with client(server, waits, max_retries=2) as mc, pytest.raises(TooManyRequests) as info:
        mc.request("GET", "/ping")
    assert info.value.status == 403
    assert info.value.attempts == 3


def test_max_retries_zero_means_one_attempt(server: ScriptedServer, waits: Waits) -> None:
    server.default = Reply(500, None)
    with client(server, waits, max_retries=0) as mc, pytest.raises(ServerError):
        mc.request("GET", "/ping")
    assert len(server.requests) == 1


def test_retry_false_sends_once(server: ScriptedServer, waits: Waits) -> None:
    server.default = problem(429, "Too Many Requests")
    with client(server, waits) as mc, pytest.raises(TooManyRequests):
        mc.request("GET", "/ping", retry=False)
    assert len(server.requests) == 1


def test_max_retries_setting_overrides_the_policy(server: ScriptedServer, waits: Waits) -> None:
    server.default = Reply(502, HTML_502)
    policy = RetryPolicy(max_retries=9, sleep=waits)
    with MailchimpClient(KEY, api_url=server.api_url, retry=policy, max_retries=1) as mc:
        with pytest.raises(ServerError):
            mc.ping()
        assert mc.transport.retry.sleep is waits
    assert len(server.requests) == 2


def test_waits_grow_exponentially_up_to_the_cap(server: ScriptedServer, waits: Waits) -> None:
    server.default = Reply(503, None)
    with (
        client(server, waits, max_retries=6, jitter=None, max_wait=10.0) as mc,
        pytest.raises(ServerError),
    ):
        mc.ping()
    assert waits.calls == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_full_jitter_stays_within_the_nominal_wait(server: ScriptedServer, waits: Waits) -> None:
    server.default = Reply(503, None)
    with client(server, waits, max_retries=5) as mc, pytest.raises(ServerError):
        mc.ping()
    nominal = [1.0, 2.0, 4.0, 8.0, 16.0]
    assert all(0 <= w <= n for w, n in zip(waits.calls, nominal, strict=True))


def test_retry_after_header_sets_a_floor(server: ScriptedServer, waits: Waits) -> None:
    server.script(
        Reply(429, {"title": "Too Many Requests", "status": 429}, headers={"Retry-After": "7"}),
        Reply(429, None, headers={"Retry-After": "999"}),
        Reply(200, {}),
    )
    with client(server, waits, jitter=None, max_wait=30.0) as mc:
        mc.ping()
    assert waits.calls == [7.0, 30.0]


def test_total_time_budget_stops_retrying(server: ScriptedServer) -> None:
    now = [0.0]

    def fake_sleep(seconds: float) -> None:
        now[0] += seconds

    server.default = Reply(503, None)
    policy = RetryPolicy(
        max_retries=50, max_time=20.0, jitter=None, sleep=fake_sleep, clock=lambda: now[0]
    )
    with (
        MailchimpClient(KEY, api_url=server.api_url, retry=policy) as mc,
        pytest.raises(ServerError) as info,
    ):
        mc.ping()
    # waits 1, 2, 4, 8 reach 15s; the next is cut to the 5s left, then the budget is spent.
    assert info.value.attempts == 6
    assert now[0] == pytest.approx(20.0)


def test_read_timeout_is_retried_after_a_delay(server: ScriptedServer, waits: Waits) -> None:
    server.script(Reply(200, {"slow": True}, delay=0.6), Reply(200, {"fast": True}))
    with client(server, waits, timeout=0.2, timeout_min_wait=5.0) as mc:
        resp = mc.request("GET", "/lists/l1")
    assert resp.json == {"fast": True}
    assert resp.attempts == 2
    assert "read timeout" in resp.retry_reasons[0]
    assert waits.calls[0] >= 5.0  # never retried instantly after a timeout


def test_read_timeouts_that_never_end_raise_unreachable(
    server: ScriptedServer, waits: Waits
) -> None:
    server.default = Reply(200, {}, delay=0.5)
    with (
        client(server, waits, max_retries=1, timeout=0.15) as mc,
        pytest.raises(Unreachable) as info,
    ):
        mc.request("GET", "/lists/l1")
    err = info.value
    assert err.timed_out
    assert err.transient
    assert err.attempts == 2
    assert err.status is None
    assert "read timeout" in str(err)


def test_an_answer_cut_off_midway_is_retried(server: ScriptedServer, waits: Waits) -> None:
    server.script(Reply(200, {"partial": True}, truncate=True), Reply(200, {"whole": True}))
    with client(server, waits) as mc:
        resp = mc.request("GET", "/lists/l1")
    assert resp.json == {"whole": True}
    assert resp.attempts == 2
    assert "connection broken" in resp.retry_reasons[0]


def test_a_success_that_is_not_json_is_an_error(server: ScriptedServer, waits: Waits) -> None:
    server.script(Reply(200, "<html>maintenance page</html>", request_id="html-1"))
    with client(server, waits) as mc, pytest.raises(MailchimpError) as info:
        mc.request("GET", "/lists/l1")
    assert "not JSON" in str(info.value)
    assert info.value.request_id == "html-1"
    assert info.value.path == "/lists/l1"


def test_connection_refused_is_retried_then_unreachable(waits: Waits) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    policy = RetryPolicy(max_retries=2, sleep=waits)
    with (
        MailchimpClient(KEY, api_url=f"http://127.0.0.1:{port}/3.0", retry=policy) as mc,
        pytest.raises(Unreachable) as info,
    ):
        mc.ping()
    assert not info.value.timed_out
    assert info.value.attempts == 3
    assert len(waits.calls) == 2
    assert "connection error" in str(info.value)


def test_each_retry_is_logged_with_reason_and_attempt(
    server: ScriptedServer, waits: Waits, caplog: pytest.LogCaptureFixture
) -> None:
    server.script(
        Reply(429, None, request_id="rid-429"),
        Reply(502, HTML_502, request_id="rid-502"),
        Reply(200, {}),
    )
    caplog.set_level(logging.DEBUG, logger="target_mailchimp.api")
    with client(server, waits, max_retries=4) as mc:
        mc.request("PUT", "/lists/l1/members/abc", json={"status_if_new": "subscribed"})
    retries = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(retries) == 2
    first, second = (r.getMessage() for r in retries)
    assert "PUT /lists/l1/members/abc" in first
    assert "attempt 1 of 5" in first
    assert "429" in first
    assert "rid-429" in first
    assert "attempt 2 of 5" in second
    assert "server error (502)" in second


def test_a_waiting_retry_does_not_hold_a_concurrency_slot(server: ScriptedServer) -> None:
    """With one slot, a call sleeping before its retry must not block another call."""
    in_sleep = threading.Event()
    release = threading.Event()

    def blocking_sleep(_seconds: float) -> None:
        in_sleep.set()
        assert release.wait(5)

    server.script(Reply(429, None))
    policy = RetryPolicy(max_retries=1, sleep=blocking_sleep)
    with MailchimpClient(
        "slot-key-1", api_url=server.api_url, retry=policy, max_concurrency=1
    ) as mc:
        results: list[int] = []
        t = threading.Thread(target=lambda: results.append(mc.request("GET", "/a").attempts))
        t.start()
        assert in_sleep.wait(5)
        other = mc.request("GET", "/b")  # must not deadlock on the single slot
        assert other.attempts == 1
        release.set()
        t.join(5)
    assert results == [2]
