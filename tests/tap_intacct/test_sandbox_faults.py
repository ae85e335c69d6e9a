"""Fault injection of the Intacct sandbox: each fault's answer, scoping and schedules."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests
from lxml import etree

from tests.sandbox.intacct import FAULTS, Company, Faults, IntacctSandbox, generate_company
from tests.sandbox.intacct import envelope as env


@pytest.fixture(scope="module")
def company() -> Company:
    return generate_company(seed=21, customers=25, vendors=20, bills=40, payments=12)


@pytest.fixture
def sb(company: Company) -> Iterator[IntacctSandbox]:
    with IntacctSandbox(company) as box:
        yield box


def query_body(sb: IntacctSandbox, **kw: str) -> bytes:
    return env.request(sb, [("q1", env.query_xml("VENDOR", ["RECORDNO"], pagesize=3))], **kw)


def send(sb: IntacctSandbox, body: bytes, *, timeout: float = 10.0) -> requests.Response:
    return requests.post(
        sb.gateway_url, data=body, headers={"Content-Type": "application/xml"}, timeout=timeout
    )


def is_normal(resp: requests.Response) -> bool:
    if resp.status_code != 200:
        return False
    root = etree.fromstring(resp.content)
    return root.findtext("operation/result/status") == "success"


def test_fault_catalogue_is_complete() -> None:
    assert {
        "http_429",
        "http_400",
        "http_500",
        "http_502",
        "http_503",
        "http_524",
        "cdn_error",
        "cdn_error_200",
        "truncated",
        "slow",
        "timeout",
        "try_again_later",
        "service_offline",
        "rate_limit_body",
        "invalidate_session",
        "connection_reset",
    } <= set(FAULTS)
    with pytest.raises(ValueError, match="unknown fault"):
        Faults().add("http_999")


def test_http_429_with_gw_0010_then_recovers(sb: IntacctSandbox) -> None:
    rule = sb.faults.add("http_429", times=2, retry_after=3)
    for _ in range(2):
        resp = send(sb, query_body(sb))
        assert resp.status_code == 429
        assert resp.headers["Content-Type"].startswith("application/xml")
        assert resp.headers["Retry-After"] == "3"
        root = etree.fromstring(resp.content)
        assert [c.tag for c in root.find("control")] == ["status"]
        assert root.findtext("control/status") == "failure"
        assert root.findtext("errormessage/error/errorno") == "GW-0010"
        assert "[Request ID:" in root.findtext("errormessage/error/description")
    assert is_normal(send(sb, query_body(sb)))
    assert (rule.fired, rule.seen) == (2, 2)
    assert sb.faults.count("http_429") == 2
    assert [r.outcome for r in sb.requests] == ["fault:http_429", "fault:http_429", "success"]
    assert sb.executed["query"] == 1


def test_http_400_with_gw_0011(sb: IntacctSandbox) -> None:
    sb.faults.add("http_400")
    resp = send(sb, query_body(sb))
    assert resp.status_code == 400
    root = etree.fromstring(resp.content)
    assert root.findtext("errormessage/error/errorno") == "GW-0011"
    assert root.findtext("errormessage/error/description").startswith(
        "Invalid Request [Request ID:"
    )


@pytest.mark.parametrize(
    ("name", "status"), [("http_500", 500), ("http_502", 502), ("http_503", 503)]
)
def test_server_errors_do_not_run_the_request(sb: IntacctSandbox, name: str, status: int) -> None:
    sb.faults.add(name)
    resp = send(sb, query_body(sb))
    assert resp.status_code == status
    assert resp.headers["Content-Type"].startswith("text/html")
    assert sb.executed["query"] == 0
    assert is_normal(send(sb, query_body(sb)))


def test_http_524_runs_the_request_then_fails(sb: IntacctSandbox, company: Company) -> None:
    before = company.count("CUSTOMER")
    sb.faults.add("http_524")
    create = "<create><CUSTOMER><NAME>Written behind a 524</NAME></CUSTOMER></create>"
    resp = send(sb, env.request(sb, [("c524", create)], uniqueid=True))
    assert resp.status_code == 524
    assert company.count("CUSTOMER") == before + 1
    # A blind retry with uniqueid=true does not write twice.
    again = etree.fromstring(send(sb, env.request(sb, [("c524", create)], uniqueid=True)).content)
    assert again.findtext("operation/result/status") == "failure"
    assert company.count("CUSTOMER") == before + 1


@pytest.mark.parametrize(("name", "status"), [("cdn_error", 502), ("cdn_error_200", 200)])
def test_cdn_error_pages(sb: IntacctSandbox, name: str, status: int) -> None:
    sb.faults.add(name)
    resp = send(sb, query_body(sb))
    assert resp.status_code == status
    assert resp.headers["Content-Type"].startswith("text/html")
    assert b"cf-error-details" in resp.content
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(resp.content)


def test_cdn_error_status_can_be_chosen(sb: IntacctSandbox) -> None:
    sb.faults.add("cdn_error", status=520)
    assert send(sb, query_body(sb)).status_code == 520


def test_truncated_xml(sb: IntacctSandbox) -> None:
    body = query_body(sb)
    full = send(sb, body).content
    sb.faults.add("truncated", fraction=0.6)
    resp = send(sb, body)
    assert resp.status_code == 200
    assert resp.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<response>')
    assert 0 < len(resp.content) < len(full)
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(resp.content)
    assert sb.requests[-1].outcome == "fault:truncated"


def test_slow_and_latency(company: Company) -> None:
    with IntacctSandbox(company, latency_ms=150) as box:
        start = time.monotonic()
        assert is_normal(send(box, query_body(box)))
        assert time.monotonic() - start >= 0.15
        box.latency = 0
        box.faults.add("slow", seconds=0.2)
        start = time.monotonic()
        assert is_normal(send(box, query_body(box)))
        assert time.monotonic() - start >= 0.2


def test_timeout_runs_the_request_but_answers_too_late(sb: IntacctSandbox) -> None:
    sb.faults.add("timeout", seconds=1.0)
    with pytest.raises(requests.exceptions.ReadTimeout):
        send(sb, query_body(sb), timeout=0.2)
    assert sb.executed["query"] == 1
    assert is_normal(send(sb, query_body(sb)))


def test_connection_reset(sb: IntacctSandbox) -> None:
    sb.faults.add("connection_reset")
    with pytest.raises(requests.exceptions.ConnectionError):
        send(sb, query_body(sb))
    assert is_normal(send(sb, query_body(sb)))


def test_try_again_later_is_scoped_to_functions(sb: IntacctSandbox) -> None:
    sb.faults.add("try_again_later", times=None, functions={"query"})
    # getAPISession is untouched.
    sid = env.session(sb)
    body = env.request(
        sb,
        [
            ("l", "<lookup><object>VENDOR</object></lookup>"),
            ("q", env.query_xml("VENDOR", ["RECORDNO"])),
        ],
        session_id=sid,
    )
    root = etree.fromstring(requests.post(sb.session_endpoint_url, data=body, timeout=10).content)
    lookup, query = root.findall("operation/result")
    assert lookup.findtext("status") == "success"
    assert query.findtext("status") == "failure"
    assert "Please Try Again Later" in query.findtext("errormessage/error/correction")
    assert sb.executed["query"] == 0


@pytest.mark.parametrize(
    ("name", "text", "level"),
    [
        ("service_offline", "The Service is Temporarily Off-line", "control"),
        ("rate_limit_body", "API rate limit exceeded", "control"),
        ("service_offline_function", "The Service is Temporarily Off-line", "function"),
        ("rate_limit_function", "API rate limit exceeded", "function"),
    ],
)
def test_http_200_gateway_troubles(sb: IntacctSandbox, name: str, text: str, level: str) -> None:
    sb.faults.add(name)
    resp = send(sb, query_body(sb))
    assert resp.status_code == 200
    root = etree.fromstring(resp.content)
    if level == "control":
        assert root.findtext("control/status") == "failure"
        assert root.find("operation") is None
        assert root.findtext("errormessage/error/description2") == text
    else:
        assert root.findtext("operation/result/status") == "failure"
        assert root.findtext("operation/result/errormessage/error/description2") == text
    assert sb.executed["query"] == 0


def test_invalidate_session_every_k_calls(sb: IntacctSandbox) -> None:
    sid = env.session(sb)
    sb.faults.every("invalidate_session", k=3, except_functions={"getAPISession"})
    statuses = []
    for _ in range(3):
        root = etree.fromstring(
            requests.post(
                sb.session_endpoint_url, data=query_body(sb, session_id=sid), timeout=10
            ).content
        )
        statuses.append(root.findtext("operation/authentication/status"))
    assert statuses == ["success", "success", "failure"]
    # A fresh session is not counted against the schedule by getAPISession itself.
    sid = env.session(sb)
    root = etree.fromstring(
        requests.post(
            sb.session_endpoint_url, data=query_body(sb, session_id=sid), timeout=10
        ).content
    )
    assert root.findtext("operation/authentication/status") == "success"


def test_faults_after_skip_and_removal(sb: IntacctSandbox) -> None:
    rule = sb.faults.add("http_503", after=2, times=None)
    codes = [send(sb, query_body(sb)).status_code for _ in range(4)]
    assert codes == [200, 200, 503, 503]
    rule.remove()
    assert send(sb, query_body(sb)).status_code == 200
    sb.faults.add("http_502", times=None)
    sb.faults.clear()
    assert send(sb, query_body(sb)).status_code == 200


def test_random_faults_are_reproducible(company: Company) -> None:
    patterns = []
    for _ in range(2):
        with IntacctSandbox(company) as box:
            box.faults.random("http_503", p=0.3, seed=99)
            patterns.append([send(box, query_body(box)).status_code for _ in range(30)])
    assert patterns[0] == patterns[1]
    assert 200 in patterns[0] and 503 in patterns[0]


def test_first_registered_fault_decides_and_modifiers_combine(sb: IntacctSandbox) -> None:
    sid = env.session(sb)
    sb.faults.add("invalidate_session")
    sb.faults.add("http_502")
    sb.faults.add("http_429")
    resp = requests.post(sb.session_endpoint_url, data=query_body(sb, session_id=sid), timeout=10)
    assert resp.status_code == 502
    assert sb.requests[-1].faults == ["invalidate_session", "http_502"]
    root = etree.fromstring(
        requests.post(
            sb.session_endpoint_url, data=query_body(sb, session_id=sid), timeout=10
        ).content
    )
    assert root.findtext("operation/authentication/status") == "failure"


def test_call_counters(sb: IntacctSandbox) -> None:
    sb.faults.add("http_500")
    send(sb, query_body(sb))
    send(sb, query_body(sb))
    env.session(sb)
    assert sb.calls["query"] == 2 and sb.executed["query"] == 1
    assert sb.calls["getAPISession"] == 1 and sb.executed["getAPISession"] == 1
    sb.reset_log()
    assert sb.requests == [] and not sb.calls
