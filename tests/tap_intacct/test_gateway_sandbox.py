"""The gateway client against the Intacct sandbox over real HTTP, faults included.

Also a parity check: the sandbox's answers parse to the same outcomes as the reference fixtures.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from lxml import etree

from tap_intacct.gateway import (
    AlreadyAppliedError,
    FunctionError,
    GatewayConfig,
    GatewayHTTPError,
    IntacctGateway,
    InvalidSessionError,
    LoginError,
    RequestSchemaError,
    Response,
    SenderCredentialsError,
    SenderNotAuthorizedError,
    SessionCache,
    create_function,
    parse_response,
)
from tests.sandbox.intacct import IntacctSandbox, SandboxClock, generate_company
from tests.sandbox.intacct.xsd import validation_errors
from tests.tap_intacct.gateway_support import FIXTURES, FakeClock

VENDOR_FIELDS = ["RECORDNO", "VENDORID", "NAME", "DISPLAYCONTACT.EMAIL1", "WHENMODIFIED"]
_run_ids = itertools.count()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[IntacctSandbox]:
    clock = SandboxClock(dt.datetime(2024, 6, 3, 9, 0, tzinfo=dt.UTC), frozen=True)
    with IntacctSandbox(generate_company(seed=1), clock=clock) as sb:
        yield sb


@pytest.fixture
def sb(sandbox: IntacctSandbox) -> Iterator[IntacctSandbox]:
    sandbox.faults.clear()
    sandbox.invalidate_sessions()
    sandbox.reset_log()
    yield sandbox
    sandbox.faults.clear()
    sandbox.authorized_senders = set(sandbox.senders)
    assert_requests_valid(sandbox)


def assert_requests_valid(sb: IntacctSandbox) -> None:
    """Every request the client sent parsed and passed api.xsd (requests answered by an
    injected HTTP fault skip the sandbox's check, but their retries carry the same bytes)."""
    bodies = {r.body for r in sb.requests if r.valid}
    for r in sb.requests:
        assert r.parsed, f"request #{r.index} was not XML"
        assert not r.errors, f"request #{r.index} {r.functions}: {r.errors}"
        assert r.valid or r.outcome.startswith("fault:"), f"request #{r.index} not checked"
        if not r.valid and r.body not in bodies:
            for error in validation_errors(etree.fromstring(r.body)):
                raise AssertionError(f"request #{r.index} {r.functions}: {error}")
    assert not sb.errors, sb.errors


class Clients:
    def __init__(self, sb: IntacctSandbox) -> None:
        self.sb = sb
        self.sleeps: list[float] = []
        self.cache = SessionCache()
        self.made: list[IntacctGateway] = []

    def __call__(
        self, clock: Any = None, run_id: str | None = None, **overrides: Any
    ) -> IntacctGateway:
        settings = {"max_retries": 3, "request_timeout": 5, **overrides}
        client = IntacctGateway(
            GatewayConfig.from_mapping(self.sb.tap_config(**settings)),
            clock=clock or self.sb.clock.now,
            sleep=self.sleeps.append,
            session_cache=self.cache,
            run_id=run_id or f"sandbox-{next(_run_ids)}",
        )
        self.made.append(client)
        return client


@pytest.fixture
def clients(sb: IntacctSandbox) -> Iterator[Clients]:
    made = Clients(sb)
    yield made
    for client in made.made:
        client.close()


def all_vendors(client: IntacctGateway, page_size: int = 20) -> list[dict[str, str | None]]:
    return list(
        client.iter_records("VENDOR", VENDOR_FIELDS, order_by=["RECORDNO"], page_size=page_size)
    )


# --- reads ----------------------------------------------------------------------------------------


def test_login_then_session_endpoint_and_full_paging(sb: IntacctSandbox, clients: Clients) -> None:
    client = clients()
    first = client.query("VENDOR", VENDOR_FIELDS, order_by=["RECORDNO"], page_size=20)
    vendors = all_vendors(client)
    assert len(vendors) == first.total_count
    assert len({v["RECORDNO"] for v in vendors}) == len(vendors)
    assert set(vendors[0]) == set(VENDOR_FIELDS)
    login = sb.requests[0]
    assert login.functions == ["getAPISession"]
    assert login.auth == "login"
    assert not login.used_session_endpoint
    assert all(r.used_session_endpoint and r.auth == "session" for r in sb.requests[1:])
    assert sb.calls["getAPISession"] == 1
    assert {r.uniqueid for r in sb.requests} == {"false"}


def test_read_by_query_read_more_and_lookup(sb: IntacctSandbox, clients: Clients) -> None:
    client = clients()
    pages = list(client.iter_read_by_query("VENDOR", fields=["RECORDNO", "VENDORID"], page_size=25))
    assert len(pages) > 1
    assert pages[-1].num_remaining == 0
    assert sum(p.count for p in pages) == pages[0].total_count
    assert sb.calls["readMore"] == len(pages) - 1
    fields = {f.id: f for f in client.lookup("VENDOR")}
    assert fields["RECORDNO"].datatype
    assert "DISPLAYCONTACT.EMAIL1" in fields


def test_entity_session(sb: IntacctSandbox, clients: Clients) -> None:
    entity = sorted(sb.company.entities)[0]
    client = clients(entity_id=entity)
    client.query("VENDOR", ["RECORDNO"], page_size=1)
    login = sb.requests_for("getAPISession")[0]
    assert login.location_id == entity
    assert sb.requests_for("query")[0].location_id == entity


# --- faults ---------------------------------------------------------------------------------------

RETRIED_FAULTS = [
    "http_429",
    "http_500",
    "http_502",
    "http_503",
    "http_524",
    "cdn_error",
    "cdn_error_200",
    "connection_reset",
    "truncated",
    "try_again_later",
    "service_offline",
    "service_offline_function",
    "rate_limit_body",
    "rate_limit_function",
]


@pytest.mark.parametrize("fault", RETRIED_FAULTS)
def test_transient_fault_is_retried_with_same_ids(
    sb: IntacctSandbox, clients: Clients, fault: str
) -> None:
    client = clients()
    expected = client.query("VENDOR", VENDOR_FIELDS, order_by=["RECORDNO"], page_size=10)
    sb.faults.add(fault, functions={"query"})
    page = client.query("VENDOR", VENDOR_FIELDS, order_by=["RECORDNO"], page_size=10)
    assert list(page) == list(expected)
    assert sb.faults.count(fault) == 1
    assert len(clients.sleeps) == 1
    failed, retried = sb.requests_for("query")[1:]
    assert failed.body == retried.body
    assert failed.function_controlids == retried.function_controlids
    assert failed.control_id == retried.control_id or failed.control_id is None


def test_read_timeout_is_retried(sb: IntacctSandbox, clients: Clients) -> None:
    client = clients(request_timeout=0.3)
    client.lookup("VENDOR")
    sb.faults.add("timeout", functions={"query"}, seconds=0.8)
    assert client.query("VENDOR", ["RECORDNO"], page_size=5).count == 5
    assert len(sb.requests_for("query")) == 2
    assert len(clients.sleeps) == 1


def test_retry_storm_gives_up_after_max_retries(sb: IntacctSandbox, clients: Clients) -> None:
    client = clients(max_retries=2)
    client.lookup("VENDOR")
    sb.faults.add("http_503", times=None, functions={"query"})
    with pytest.raises(GatewayHTTPError) as caught:
        client.query("VENDOR", ["RECORDNO"])
    assert caught.value.attempts == 3
    assert len(sb.requests_for("query")) == 3


def test_gw_0011_is_not_retried(sb: IntacctSandbox, clients: Clients) -> None:
    sb.faults.add("http_400")
    with pytest.raises(SenderCredentialsError):
        clients().lookup("VENDOR")
    assert len(sb.requests) == 1
    assert clients.sleeps == []


def test_session_invalidated_mid_run_relogs_once_per_request(
    sb: IntacctSandbox, clients: Clients
) -> None:
    client = clients()
    expected = all_vendors(client)
    sb.reset_log()
    pages = client.iter_query("VENDOR", VENDOR_FIELDS, order_by=["RECORDNO"], page_size=20)
    got = list(next(pages))
    sb.invalidate_sessions()
    for page in pages:
        got.extend(page)
    assert got == expected
    outcomes = [(r.functions[0], r.outcome) for r in sb.requests]
    assert outcomes[1:4] == [
        ("query", "auth_failure"),
        ("getAPISession", "success"),
        ("query", "success"),
    ]
    refused, replay = sb.requests[1], sb.requests[3]
    assert refused.function_controlids == replay.function_controlids
    assert refused.session_id != replay.session_id
    assert clients.sleeps == []


def test_sessions_invalidated_every_few_requests(sb: IntacctSandbox, clients: Clients) -> None:
    client = clients()
    expected = all_vendors(client, page_size=10)
    sb.faults.every("invalidate_session", k=3, except_functions={"getAPISession"})
    assert all_vendors(client, page_size=10) == expected
    assert sb.faults.count("invalidate_session") >= 2


def test_session_renewed_before_expiry_on_the_shared_clock(
    sb: IntacctSandbox, clients: Clients
) -> None:
    client = clients()
    client.lookup("VENDOR")
    sb.clock.advance(minutes=44)
    client.lookup("VENDOR")
    assert sb.calls["getAPISession"] == 1
    sb.clock.advance(minutes=2)  # 46 minutes after login
    client.lookup("VENDOR")
    sb.clock.advance(minutes=46)  # the first session is long dead by now
    client.lookup("VENDOR")
    assert sb.calls["getAPISession"] == 3
    assert all(r.outcome == "success" for r in sb.requests)


def test_session_expired_by_the_sandbox_clock_is_recovered(
    sb: IntacctSandbox, clients: Clients
) -> None:
    client = clients(clock=FakeClock())  # this client does not see the sandbox's time move
    client.lookup("VENDOR")
    sb.clock.advance(minutes=51)
    client.lookup("VENDOR")
    assert [(r.functions[0], r.outcome) for r in sb.requests] == [
        ("getAPISession", "success"),
        ("lookup", "success"),
        ("lookup", "auth_failure"),
        ("getAPISession", "success"),
        ("lookup", "success"),
    ]


def test_bad_credentials_are_not_retried(sb: IntacctSandbox, clients: Clients) -> None:
    with pytest.raises(LoginError):
        clients(user_password="wrong").lookup("VENDOR")
    with pytest.raises(SenderCredentialsError):
        clients(sender_password="wrong").lookup("VENDOR")
    sb.authorized_senders = set()
    with pytest.raises(SenderNotAuthorizedError) as caught:
        clients().lookup("VENDOR")
    assert "Web Services authorizations" in str(caught.value)
    assert len(sb.requests) == 3
    assert clients.sleeps == []


# --- writes ---------------------------------------------------------------------------------------


def test_writes_use_uniqueid_and_a_repeat_is_already_applied(
    sb: IntacctSandbox, clients: Clients
) -> None:
    client = clients()
    function = create_function("CUSTOMER", {"CUSTOMERID": "GW-DUP-1", "NAME": "Dup Test"})
    client.execute(function, write=True)
    with pytest.raises(AlreadyAppliedError):
        client.execute(function, write=True)
    creates = sb.requests_for("create")
    assert [r.uniqueid for r in creates] == ["true", "true"]
    assert sb.executed["create"] == 1


@pytest.mark.parametrize(
    ("errorno", "text", "recognised"),
    [
        # The sandbox's own assumption (protocol.py), as it answers by default.
        (None, None, True),
        # Either half is enough for the client: the number alone, the text alone.
        (None, "Duplicate request.", True),
        ("XL03999999", None, True),
        # Neither: the client cannot know the write already ran and must not say so.
        ("XL03999999", "Duplicate request.", False),
    ],
)
def test_a_repeated_control_id_is_recognised_by_number_or_text(
    *,
    sb: IntacctSandbox,
    clients: Clients,
    monkeypatch: pytest.MonkeyPatch,
    errorno: str | None,
    text: str | None,
    recognised: bool,
) -> None:
    # The client's recognition of the sandbox's (independently stated) answer: this test fails
    # if the client's assumed number and text both stop matching what the sandbox sends.
    from tests.sandbox.intacct import protocol

    if errorno is not None:
        monkeypatch.setattr(protocol, "DUPLICATE_CONTROLID_ERRORNO", errorno)
    if text is not None:
        monkeypatch.setattr(protocol, "DUPLICATE_CONTROLID_TEXT", text)
    client = clients()
    customer_id = f"GW-DUP-R{next(_run_ids)}"
    function = create_function("CUSTOMER", {"CUSTOMERID": customer_id, "NAME": "Dup Again"})
    before = sb.executed["create"]
    client.execute(function, write=True)
    with pytest.raises(FunctionError) as caught:
        client.execute(function, write=True)
    assert isinstance(caught.value, AlreadyAppliedError) is recognised
    assert sb.executed["create"] == before + 1


def test_write_cut_off_by_524_is_not_resent_and_the_rerun_is_already_applied(
    sb: IntacctSandbox, clients: Clients
) -> None:
    client = clients(run_id="write-524")
    function = create_function("CUSTOMER", {"CUSTOMERID": "GW-524-1", "NAME": "Cut Off"})
    sb.faults.add("http_524", functions={"create"})
    with pytest.raises(GatewayHTTPError) as caught:
        client.execute(function, write=True)
    assert caught.value.http_status == 524
    assert len(sb.requests_for("create")) == 1
    rerun = clients(run_id="write-524")  # a later run of the same write, same control id
    with pytest.raises(AlreadyAppliedError):
        rerun.execute(function, write=True)
    assert sb.executed["create"] == 1


def test_write_retried_after_a_5xx_that_followed_execution(
    sb: IntacctSandbox, clients: Clients
) -> None:
    client = clients()
    client.lookup("CUSTOMER")
    sb.faults.add("http_502", functions={"create"}, execute=True)
    with pytest.raises(AlreadyAppliedError):
        client.execute(
            create_function("CUSTOMER", {"CUSTOMERID": "GW-502-1", "NAME": "Ran Once"}), write=True
        )
    assert sb.executed["create"] == 1
    first, retry = sb.requests_for("create")
    assert first.body == retry.body


# --- parity with the reference fixtures -----------------------------------------------------------


def fixture(name: str) -> Response:
    return parse_response((FIXTURES / name).read_bytes())


def last_answer(sb: IntacctSandbox) -> Response:
    body = sb.requests[-1].response
    assert body is not None
    return parse_response(body)


def outcome(response: Response) -> tuple[str | None, type | None, tuple[type | None, ...]]:
    error = response.error()
    return (
        response.failure_level,
        type(error) if error is not None else None,
        tuple(type(r.error()) if r.error() is not None else None for r in response.results),
    )


def test_parity_control_error(sb: IntacctSandbox) -> None:
    broken = b"<?xml version='1.0'?><request><control><senderid>x</senderid></contro></request>"
    answer = requests.post(sb.gateway_url, data=broken, timeout=5)
    assert answer.status_code == 200
    sandbox = parse_response(answer.content)
    expected = fixture("execXMLError.xml")
    assert outcome(sandbox) == outcome(expected) == ("control", RequestSchemaError, ())
    sb.reset_log()  # the deliberately broken request is not the client's


def test_parity_bad_login(sb: IntacctSandbox, clients: Clients) -> None:
    with pytest.raises(LoginError):
        clients(user_password="wrong").lookup("VENDOR")
    assert outcome(last_answer(sb)) == outcome(fixture("execLoginInvalid.xml"))
    assert outcome(last_answer(sb))[:2] == ("authentication", LoginError)


def test_parity_invalid_session(sb: IntacctSandbox, clients: Clients) -> None:
    client = clients()
    client.lookup("VENDOR")
    sb.invalidate_sessions()
    client.lookup("VENDOR")  # refused, then recovered by one re-login
    (refused,) = [r for r in sb.requests if r.outcome == "auth_failure"]
    assert refused.response is not None
    sandbox = parse_response(refused.response)
    assert outcome(sandbox) == outcome(fixture("sessionInvalid.xml"))
    assert outcome(sandbox)[:2] == ("authentication", InvalidSessionError)


def test_parity_function_error(sb: IntacctSandbox, clients: Clients) -> None:
    client = clients()
    existing = client.query("CUSTOMER", ["CUSTOMERID"], page_size=1)
    (record,) = existing
    with pytest.raises(FunctionError) as caught:
        client.execute(
            create_function("CUSTOMER", {"CUSTOMERID": record["CUSTOMERID"], "NAME": "Again"}),
            write=True,
        )
    assert "BL34000061" in caught.value.errornos
    sandbox = last_answer(sb)
    expected = fixture("execFuncError.xml")
    assert outcome(sandbox) == outcome(expected) == ("function", None, (FunctionError,))
    assert sandbox.failure_level == expected.failure_level == "function"


def test_parity_records(sb: IntacctSandbox, clients: Clients) -> None:
    client = clients()
    fields = [f.id for f in client.lookup("VENDOR")]
    page = client.read_by_query("VENDOR", fields=fields, page_size=50)
    sandbox = last_answer(sb)
    expected = fixture("vendorResponse.xml")
    assert outcome(sandbox) == (None, None, (None,))
    assert outcome(expected) == (None, None, (None, None))
    records = list(page)
    assert len(records) == 50
    assert all(set(r) == set(fields) for r in records)
    values = [v for r in records for v in r.values()]
    assert None in values  # empty elements come back as None, as in the fixture
    assert "" not in values
    assert page.result_id
