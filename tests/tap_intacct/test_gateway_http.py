"""The client over real HTTP against a scripted loopback gateway: sessions, retries, writes."""

from __future__ import annotations

import datetime as dt
import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tap_intacct.gateway import (
    AlreadyAppliedError,
    FieldDef,
    Filter,
    FunctionError,
    GatewayConfig,
    GatewayConnectionError,
    GatewayHTTPError,
    GatewayTimeoutError,
    IntacctError,
    IntacctGateway,
    InvalidSessionError,
    LoginError,
    MalformedResponseError,
    RateLimitError,
    RequestSchemaError,
    SenderCredentialsError,
    SenderNotAuthorizedError,
    SessionCache,
    create_function,
)
from tests.tap_intacct.gateway_support import (
    COMPANY_ID,
    PACIFIC,
    SENDER_ID,
    SENDER_PASSWORD,
    USER_ID,
    USER_PASSWORD,
    FakeClock,
    FakeGateway,
    Recorded,
    Reply,
    ResultSpec,
    api_schema,
    auth_failure,
    control_failure,
    gateway_error,
    passthrough,
    serve,
    success_response,
)

__all__ = ["api_schema"]

VENDORS = [
    {"RECORDNO": str(i), "VENDORID": f"V{i:04d}", "NAME": f"Vendor {i}", "EMAIL": None}
    for i in range(1, 2501)
]
FIELDS = ["RECORDNO", "VENDORID", "NAME", "EMAIL"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(api_schema: Any, clock: FakeClock) -> Iterator[FakeGateway]:
    gateway = FakeGateway(api_schema)
    gateway.clock = lambda: clock().astimezone(PACIFIC)
    gateway.records["VENDOR"] = VENDORS
    with serve(gateway):
        yield gateway
    assert gateway.schema_errors == [], "the client sent a request api.xsd refuses"


class Harness:
    def __init__(self, fake: FakeGateway, clock: FakeClock) -> None:
        self.fake = fake
        self.clock = clock
        self.cache = SessionCache()
        self.sleeps: list[float] = []
        self.clients: list[IntacctGateway] = []

    def client(self, **overrides: Any) -> IntacctGateway:
        values: dict[str, Any] = {
            "sender_id": SENDER_ID,
            "sender_password": SENDER_PASSWORD,
            "user_id": USER_ID,
            "user_password": USER_PASSWORD,
            "company_id": COMPANY_ID,
            "api_url": self.fake.url,
            "request_timeout": 5,
            "max_retries": 3,
        }
        values.update(overrides)
        client = IntacctGateway(
            GatewayConfig(**values),
            clock=self.clock,
            sleep=self.sleeps.append,
            session_cache=self.cache,
            run_id="test-run",
        )
        self.clients.append(client)
        return client


@pytest.fixture
def harness(fake: FakeGateway, clock: FakeClock) -> Iterator[Harness]:
    h = Harness(fake, clock)
    yield h
    for client in h.clients:
        client.close()


def query_page(client: IntacctGateway) -> list[dict[str, str | None]]:
    return list(client.query("VENDOR", FIELDS, page_size=3))


# --- sessions -------------------------------------------------------------------------------------


def test_login_once_then_use_the_session_endpoint(harness: Harness, fake: FakeGateway) -> None:
    client = harness.client()
    records = query_page(client)
    assert records[0] == {"RECORDNO": "1", "VENDORID": "V0001", "NAME": "Vendor 1", "EMAIL": None}
    query_page(client)
    login, first, second = fake.requests
    assert login.path == FakeGateway.LOGIN_PATH
    assert login.function == "getAPISession"
    assert login.login == {"userid": USER_ID, "companyid": COMPANY_ID, "password": USER_PASSWORD}
    assert login.session_id is None
    for request in (first, second):
        assert request.path == FakeGateway.SESSION_PATH
        assert request.function == "query"
        assert request.session_id == fake.issued_sessions[0]
        assert request.login is None


def test_requests_carry_xml_content_type_and_project_user_agent(
    harness: Harness, fake: FakeGateway
) -> None:
    query_page(harness.client())
    for request in fake.requests:
        headers = {k.lower(): v for k, v in request.headers.items()}
        assert headers["content-type"].startswith("application/xml")
        assert "tap-intacct" in headers["user-agent"]


def test_every_request_has_a_timeout(fake: FakeGateway, clock: FakeClock) -> None:
    seen: list[Any] = []

    class Recording(requests.Session):
        def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
            seen.append(kwargs.get("timeout"))
            return super().request(method, url, *args, **kwargs)

    http = Recording()
    config = GatewayConfig(
        sender_id=SENDER_ID,
        sender_password=SENDER_PASSWORD,
        user_id=USER_ID,
        user_password=USER_PASSWORD,
        company_id=COMPANY_ID,
        api_url=fake.url,
        request_timeout=42,
    )
    client = IntacctGateway(config, session=http, clock=clock, session_cache=SessionCache())
    client.lookup("VENDOR")
    assert seen == [42, 42]
    client.close()
    http.close()


def test_tls_verification_cannot_be_disabled() -> None:
    http = requests.Session()
    http.verify = False
    config = GatewayConfig(
        sender_id="s", sender_password="p", user_id="u", user_password="q", company_id="c"
    )
    with pytest.raises(ValueError, match="TLS"):
        IntacctGateway(config, session=http)
    http.close()


def test_clients_of_one_identity_share_one_login(harness: Harness, fake: FakeGateway) -> None:
    query_page(harness.client())
    query_page(harness.client())
    assert len(fake.calls("getAPISession")) == 1
    assert len(harness.cache) == 1


def test_two_companies_never_share_a_session(harness: Harness, fake: FakeGateway) -> None:
    fake.users[("BETA", USER_ID)] = USER_PASSWORD
    acme = harness.client()
    beta = harness.client(company_id="BETA")
    query_page(acme)
    query_page(beta)
    query_page(acme)
    logins = fake.calls("getAPISession")
    assert [r.login["companyid"] for r in logins] == [COMPANY_ID, "BETA"]  # type: ignore[index]
    queries = fake.calls("query")
    assert queries[0].session_id == queries[2].session_id != queries[1].session_id
    assert fake.sessions[queries[1].session_id][0] == "BETA"  # type: ignore[index]
    assert len(harness.cache) == 2


def test_entity_sessions_are_separate_and_carry_the_location(
    harness: Harness, fake: FakeGateway
) -> None:
    top = harness.client()
    entity = harness.client(entity_id="E100")
    query_page(top)
    query_page(entity)
    top_login, entity_login = fake.calls("getAPISession")
    assert "locationid" not in top_login.login  # type: ignore[operator]
    assert entity_login.login["locationid"] == "E100"  # type: ignore[index]
    assert entity_login._text("operation/content/function/getAPISession/locationid/text()") == (
        "E100"
    )
    assert len(harness.cache) == 2


def test_session_renewed_after_45_minutes(
    harness: Harness, fake: FakeGateway, clock: FakeClock
) -> None:
    client = harness.client()
    query_page(client)
    clock.advance(minutes=44, seconds=59)
    query_page(client)
    assert len(fake.calls("getAPISession")) == 1
    clock.advance(seconds=2)
    query_page(client)
    assert len(fake.calls("getAPISession")) == 2
    queries = fake.calls("query")
    assert queries[2].session_id == fake.issued_sessions[1] != queries[1].session_id


def test_refresh_minutes_is_configurable(
    harness: Harness, fake: FakeGateway, clock: FakeClock
) -> None:
    client = harness.client(session_refresh_minutes=10)
    query_page(client)
    clock.advance(minutes=10)
    query_page(client)
    assert len(fake.calls("getAPISession")) == 2


def test_session_renewed_before_the_announced_sessiontimeout(
    harness: Harness, fake: FakeGateway, clock: FakeClock
) -> None:
    fake.session_timeout = dt.timedelta(minutes=20)  # an idle timeout shorter than 45 minutes
    client = harness.client()
    query_page(client)
    clock.advance(minutes=17)
    query_page(client)  # the timeout slides to now + 20 minutes with every answer
    clock.advance(minutes=17)
    query_page(client)
    assert len(fake.calls("getAPISession")) == 1
    clock.advance(minutes=18, seconds=30)  # within the 2-minute margin of the timeout
    query_page(client)
    assert len(fake.calls("getAPISession")) == 2


def test_invalid_session_logs_in_again_once_and_replays(
    harness: Harness, fake: FakeGateway
) -> None:
    client = harness.client()
    query_page(client)
    fake.expire_all_sessions()
    records = query_page(client)
    assert len(records) == 3
    functions = [r.function for r in fake.requests]
    assert functions == ["getAPISession", "query", "query", "getAPISession", "query"]
    refused, replay = fake.requests[2], fake.requests[4]
    assert refused.function_control_id == replay.function_control_id
    assert refused.control_id == replay.control_id
    assert replay.session_id == fake.issued_sessions[1]
    assert harness.sleeps == []


def test_invalid_session_twice_raises(harness: Harness, fake: FakeGateway) -> None:
    client = harness.client()
    query_page(client)

    def invalid(req: Recorded) -> Reply:
        return Reply(
            body=auth_failure(
                req.control_id or "",
                [("XL03000006", "", f"Invalid session {req.session_id}", "")],
                user_id="",
                company_id="",
            )
        )

    fake.fail_next(invalid, passthrough, invalid)
    with pytest.raises(InvalidSessionError) as caught:
        query_page(client)
    assert [r.function for r in fake.requests[2:]] == ["query", "getAPISession", "query"]
    assert "gives up when a fresh session is refused at once" in str(caught.value)
    assert harness.sleeps == []


def test_bad_login_is_not_retried(harness: Harness, fake: FakeGateway) -> None:
    client = harness.client(user_password="wrong")
    with pytest.raises(LoginError) as caught:
        query_page(client)
    assert len(fake.requests) == 1
    assert harness.sleeps == []
    assert "user_password" in str(caught.value)
    assert len(harness.cache) == 0


def test_bad_sender_credentials_are_not_retried(harness: Harness, fake: FakeGateway) -> None:
    client = harness.client(sender_password="wrong")
    with pytest.raises(SenderCredentialsError) as caught:
        query_page(client)
    assert len(fake.requests) == 1
    assert harness.sleeps == []
    assert "sender_password" in str(caught.value)


def test_unauthorized_sender_says_where_to_authorize_it(
    harness: Harness, fake: FakeGateway
) -> None:
    fake.authorized_companies = {"OTHER"}
    with pytest.raises(SenderNotAuthorizedError) as caught:
        query_page(harness.client())
    message = str(caught.value)
    assert "Company > Company Info > Security > Web Services authorizations" in message
    assert len(fake.requests) == 1
    assert harness.sleeps == []


# --- retries --------------------------------------------------------------------------------------

CDN_PAGE = (
    b"<!DOCTYPE html><html><head><title>api.intacct.com | 502: Bad gateway</title></head>"
    b"<body><div id='cf-error-details'>Bad gateway</div></body></html>"
)


def function_failure(errors: list[tuple[str, str, str, str]]) -> Any:
    def reply(req: Recorded) -> Reply:
        return Reply(
            body=success_response(
                req.control_id or "",
                [
                    ResultSpec(
                        "failure", req.function or "", req.function_control_id or "", None, errors
                    )
                ],
            )
        )

    return reply


RETRIED = {
    "http-429-gw-0010": Reply(
        status=429, body=gateway_error("GW-0010", "Invalid Request [Request ID: 1]")
    ),
    "gw-0010-in-200": Reply(body=gateway_error("GW-0010", "Too many requests")),
    "http-500": Reply(
        status=500, body=b"Internal Server Error", headers={"Content-Type": "text/plain"}
    ),
    "http-502": Reply(status=502, body=CDN_PAGE, headers={"Content-Type": "text/html"}),
    "http-503": Reply(status=503, body=b""),
    "http-524-read": Reply(status=524, body=CDN_PAGE, headers={"Content-Type": "text/html"}),
    "connection-dropped": Reply(drop=True),
    "truncated-xml": Reply(body=b"<?xml version='1.0'?><response><control><status>succ"),
    "cdn-html-200": Reply(body=CDN_PAGE, headers={"Content-Type": "text/html"}),
    "cdn-html-200-xml-type": Reply(body=CDN_PAGE),
    "try-again-later": function_failure(
        [("BL01001973", "", "Could not process the request", "Please Try Again Later")]
    ),
    "temporarily-offline": function_failure(
        [("XL03000000", "", "The Service is Temporarily Off-line", "")]
    ),
    "rate-limit-text": function_failure([("XL03000000", "API rate limit exceeded", "", "")]),
}


@pytest.mark.parametrize("fault", list(RETRIED.values()), ids=list(RETRIED))
def test_transient_faults_are_retried_with_the_same_ids(
    harness: Harness, fake: FakeGateway, fault: Any
) -> None:
    client = harness.client()
    fake.fail_next(passthrough, fault)
    records = query_page(client)
    assert len(records) == 3
    first, retry = fake.calls("query")
    assert first.body == retry.body
    assert first.control_id == retry.control_id
    assert first.function_control_id == retry.function_control_id
    assert first.unique_id == retry.unique_id == "false"
    assert len(harness.sleeps) == 1


def test_transient_fault_during_login_is_retried(harness: Harness, fake: FakeGateway) -> None:
    fake.fail_next(Reply(status=503))
    query_page(harness.client())
    first, retry = fake.calls("getAPISession")
    assert first.body == retry.body
    assert len(harness.sleeps) == 1


NOT_RETRIED: dict[str, tuple[Any, type[IntacctError]]] = {
    "xl03000003": (
        lambda req: Reply(
            body=control_failure(
                req.control_id, [("XL03000003", "", "XML Parse schema error: Fatal Error 76", "")]
            )
        ),
        RequestSchemaError,
    ),
    "gw-0011-400": (
        Reply(status=400, body=gateway_error("GW-0011", "Invalid Request [Request ID: 2]")),
        SenderCredentialsError,
    ),
    "http-404": (Reply(status=404, body=b"<html>Not found</html>"), GatewayHTTPError),
    "invalid-field": (function_failure([("Invalid fields list x", "", "", "")]), FunctionError),
}


@pytest.mark.parametrize(("fault", "expected"), list(NOT_RETRIED.values()), ids=list(NOT_RETRIED))
def test_permanent_faults_fail_fast(
    harness: Harness, fake: FakeGateway, fault: Any, expected: type[IntacctError]
) -> None:
    client = harness.client()
    fake.fail_next(passthrough, fault)
    with pytest.raises(expected) as caught:
        query_page(client)
    assert not caught.value.retryable
    assert len(fake.calls("query")) == 1
    assert harness.sleeps == []


def test_unknown_object_fails_fast(harness: Harness, fake: FakeGateway) -> None:
    client = harness.client()
    with pytest.raises(FunctionError) as caught:
        client.query("NOSUCHOBJECT", ["RECORDNO"])
    assert "Object definition NOSUCHOBJECT not found" in str(caught.value)
    assert len(fake.calls("query")) == 1
    assert harness.sleeps == []


def test_connection_refused_is_retried_then_raised(harness: Harness) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = harness.client(api_url=f"http://127.0.0.1:{port}/ia/xml/xmlgw.phtml", max_retries=2)
    with pytest.raises(GatewayConnectionError) as caught:
        client.lookup("VENDOR")
    assert caught.value.retryable
    assert caught.value.attempts == 3
    assert "gave up after 3 attempts" in str(caught.value)
    assert len(harness.sleeps) == 2


def test_read_timeout_is_retried_for_reads(harness: Harness, fake: FakeGateway) -> None:
    client = harness.client(request_timeout=0.3)
    fake.fail_next(passthrough, Reply(delay=0.8, body=b""))
    assert len(query_page(client)) == 3
    assert len(fake.calls("query")) == 2
    assert len(harness.sleeps) == 1


def test_read_timeout_is_not_retried_for_writes(harness: Harness, fake: FakeGateway) -> None:
    client = harness.client(request_timeout=0.3)
    client.lookup("VENDOR")
    fake.fail_next(Reply(delay=0.8, body=b""))
    with pytest.raises(GatewayTimeoutError) as caught:
        client.execute(create_function("CUSTOMER", {"CUSTOMERID": "C1"}), write=True)
    assert not caught.value.retryable
    assert "uniqueid=true" in str(caught.value)
    assert len(fake.calls("create")) == 1
    assert harness.sleeps == []


def test_524_is_not_retried_for_writes(harness: Harness, fake: FakeGateway) -> None:
    client = harness.client()
    client.lookup("VENDOR")
    fake.fail_next(Reply(status=524, body=CDN_PAGE, headers={"Content-Type": "text/html"}))
    with pytest.raises(GatewayHTTPError) as caught:
        client.execute(create_function("CUSTOMER", {"CUSTOMERID": "C1"}), write=True)
    assert caught.value.http_status == 524
    assert not caught.value.retryable
    assert len(fake.calls("create")) == 1
    assert harness.sleeps == []


def test_retries_are_capped_by_max_retries_with_growing_waits(
    harness: Harness, fake: FakeGateway
) -> None:
    client = harness.client(max_retries=4)
    fake.fail_next(passthrough, *[Reply(status=503)] * 5)
    with pytest.raises(GatewayHTTPError) as caught:
        query_page(client)
    assert caught.value.http_status == 503
    assert caught.value.attempts == 5
    assert len(fake.calls("query")) == 5
    assert len(harness.sleeps) == 4
    for attempt, wait in enumerate(harness.sleeps):
        assert 0 <= wait <= 2**attempt  # full jitter under the exponential cap


def test_max_retries_zero_means_one_attempt(harness: Harness, fake: FakeGateway) -> None:
    client = harness.client(max_retries=0)
    fake.fail_next(passthrough, Reply(status=503))
    with pytest.raises(GatewayHTTPError):
        query_page(client)
    assert harness.sleeps == []


def test_retry_after_is_honoured(harness: Harness, fake: FakeGateway) -> None:
    client = harness.client()
    fake.fail_next(
        passthrough,
        Reply(status=429, body=gateway_error("GW-0010", "slow down"), headers={"Retry-After": "7"}),
    )
    query_page(client)
    assert harness.sleeps[0] >= 7


def test_rate_limit_error_after_retries(harness: Harness, fake: FakeGateway) -> None:
    client = harness.client(max_retries=1)
    fake.fail_next(passthrough, *[Reply(status=429, body=gateway_error("GW-0010", "x"))] * 2)
    with pytest.raises(RateLimitError) as caught:
        query_page(client)
    assert "GW-0010" in str(caught.value)


def test_each_retry_is_logged_with_reason_and_attempt(
    harness: Harness, fake: FakeGateway, caplog: pytest.LogCaptureFixture
) -> None:
    client = harness.client()
    fake.fail_next(
        passthrough, Reply(status=503), Reply(status=429, body=gateway_error("GW-0010", "x"))
    )
    with caplog.at_level(logging.DEBUG, logger="tap_intacct.gateway"):
        query_page(client)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    retries = [r for r in warnings if "; retry " in r.getMessage()]
    assert len(retries) == 2
    # The 429 also lowers the concurrency for the rest of the run, said once.
    assert (
        next(r for r in warnings if r not in retries)
        .getMessage()
        .startswith("Intacct refused a request for company")
    )
    assert len(warnings) == 3
    assert "HTTP 503" in retries[0].getMessage()
    assert "retry 1 of 3" in retries[0].getMessage()
    assert "GW-0010" in retries[1].getMessage()
    assert "retry 2 of 3" in retries[1].getMessage()
    control_id = fake.calls("query")[0].function_control_id
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any("same control ids" in m and control_id in m for m in debug)  # type: ignore[operator]


# --- writes ---------------------------------------------------------------------------------------


def test_uniqueid_is_true_for_writes_and_false_for_reads(
    harness: Harness, fake: FakeGateway
) -> None:
    client = harness.client()
    client.lookup("VENDOR")
    result = client.execute(create_function("CUSTOMER", {"CUSTOMERID": "C1"}), write=True)
    assert list(result.records()) == [{"RECORDNO": "1"}]
    login, lookup, create = fake.requests
    assert (login.unique_id, lookup.unique_id, create.unique_id) == ("false", "false", "true")


def test_a_repeated_write_is_reported_as_already_applied(
    harness: Harness, fake: FakeGateway
) -> None:
    client = harness.client()
    function = create_function("CUSTOMER", {"CUSTOMERID": "C1", "NAME": "Acme"})
    client.execute(function, write=True)
    with pytest.raises(AlreadyAppliedError) as caught:
        client.execute(function, write=True)
    assert not caught.value.retryable
    assert "already" in str(caught.value)
    assert fake.created == [fake.calls("create")[0].function_control_id]


def test_a_write_retried_after_it_ran_is_already_applied_and_ran_once(
    harness: Harness, fake: FakeGateway
) -> None:
    client = harness.client()
    client.lookup("VENDOR")

    def applied_then_502(req: Recorded) -> Reply:
        fake.answer(req)  # the gateway runs the create, then the CDN loses the answer
        return Reply(status=502, body=CDN_PAGE, headers={"Content-Type": "text/html"})

    fake.fail_next(applied_then_502)
    with pytest.raises(AlreadyAppliedError) as caught:
        client.execute(create_function("CUSTOMER", {"CUSTOMERID": "C9"}), write=True)
    first, retry = fake.calls("create")
    assert first.body == retry.body
    assert len(fake.created) == 1
    assert caught.value.control_id == first.function_control_id


def test_an_explicit_control_id_is_used(harness: Harness, fake: FakeGateway) -> None:
    client = harness.client()
    client.execute(create_function("CUSTOMER", {"CUSTOMERID": "C1"}), write=True, control_id="w-1")
    (create,) = fake.calls("create")
    assert create.function_control_id == "w-1"
    assert create.control_id == "w-1"


# --- reads ----------------------------------------------------------------------------------------


def test_iter_query_pages_by_offset_to_the_end(harness: Harness, fake: FakeGateway) -> None:
    client = harness.client()
    pages = list(
        client.iter_query(
            "VENDOR",
            FIELDS,
            filter=Filter.ge("RECORDNO", 1),
            order_by=["RECORDNO"],
            show_private=True,
            page_size=1000,
        )
    )
    assert [(p.offset, p.count, p.num_remaining) for p in pages] == [
        (0, 1000, 1500),
        (1000, 1000, 500),
        (2000, 500, 0),
    ]
    assert all(p.total_count == 2500 for p in pages)
    records = [r for p in pages for r in p]
    assert [r["RECORDNO"] for r in records] == [str(i) for i in range(1, 2501)]
    offsets = [
        r._text("operation/content/function/query/offset/text()") for r in fake.calls("query")
    ]
    assert offsets == ["0", "1000", "2000"]


def test_iter_records_yields_every_record(harness: Harness) -> None:
    records = list(harness.client().iter_records("VENDOR", FIELDS, page_size=2000))
    assert len(records) == 2500
    assert records[-1]["VENDORID"] == "V2500"


def test_read_by_query_and_read_more(harness: Harness, fake: FakeGateway) -> None:
    client = harness.client()
    pages = list(client.iter_read_by_query("VENDOR", page_size=1000))
    assert [p.count for p in pages] == [1000, 1000, 500]
    assert [p.num_remaining for p in pages] == [1500, 500, 0]
    assert {p.result_id for p in pages} == {"rid-VENDOR"}
    assert sum(1 for p in pages for _ in p) == 2500
    assert [r.function for r in fake.requests[1:]] == ["readByQuery", "readMore", "readMore"]
    more = client.read_more("rid-VENDOR")
    assert more.count == 0


def test_lookup_returns_field_definitions(harness: Harness) -> None:
    client = harness.client()
    fields = client.lookup("APBILL")
    assert [f.id for f in fields] == ["RECORDNO", "STATE", "WHENMODIFIED"]
    assert fields[0] == FieldDef(
        id="RECORDNO",
        label="Record number",
        description="Record number of the apbill",
        datatype="INTEGER",
        required=True,
        readonly=True,
    )
    assert fields[1].valid_values == ("Draft", "Posted", "Paid")
    definition = client.describe("APBILL")
    assert definition.name == "APBILL"
    assert definition.relationships[0].object_path == "VENDOR"


def test_a_response_for_another_control_id_is_refused(harness: Harness, fake: FakeGateway) -> None:
    client = harness.client()
    fake.fail_next(
        passthrough,
        lambda req: Reply(
            body=success_response(req.control_id or "", [ResultSpec("success", "query", "other")])
        ),
    )
    with pytest.raises(MalformedResponseError, match="no result for function control id"):
        query_page(client)
