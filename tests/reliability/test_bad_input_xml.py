"""Bad input at the XML layer, as properties (hypothesis).

- Any field value and any filter value builds an envelope that passes Sage's api.xsd and
  carries the value back exactly, minus the characters XML 1.0 forbids.
- Any text a record holds in Intacct, served by the gateway sandbox, is read back by the
  client exactly (minus forbidden characters), markup and all.
- `parse_response` on arbitrary bytes, and on real gateway answers cut at any point, returns a
  Response or raises MalformedResponseError; nothing else. The typed outcome of whatever it
  returns (`failure_level`, `error()`) raises only IntacctError subclasses.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from lxml import etree

from tap_intacct.gateway import (
    Filter,
    GatewayConfig,
    IntacctError,
    IntacctGateway,
    LoginCredentials,
    MalformedResponseError,
    QueryPage,
    SessionCache,
    SessionCredentials,
    build_request,
    create_function,
    derive_control_id,
    parse_response,
    query_function,
    read_by_query_function,
    sanitize_text,
    serialize,
    update_function,
)
from tests.sandbox.intacct import IntacctSandbox, generate_company
from tests.tap_intacct.gateway_support import FIXTURES, load_api_schema, schema_errors

# Anything Python can hold, lone surrogates and control characters included.
any_text = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=60)
nasty = st.sampled_from(
    [
        "&<>\"'",
        "]]>",
        "<![CDATA[x]]>",
        "<NAME>injected</NAME>",
        "&amp; &#0; &#x1F; &bogus;",
        "\x00\x01\x08\x0b\x0c\x1f\ud800\udfff\ufffe\uffff",
        "Tab\there\r\nCRLF\rCR",
        "\u202eevil\u202c \u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627",
        "\U0001f600\U0001f468\u200d\U0001f469\u200d\U0001f467 \ufe0f",
        "x" * 300,
    ]
)
values = st.one_of(any_text, nasty, st.tuples(nasty, any_text).map("".join))
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _envelope(function: etree._Element, credentials: Any) -> bytes:
    control_id = derive_control_id(function)
    return serialize(
        build_request(
            sender_id="sender&<>\"'",
            sender_password="pw&<>\"'\x00",
            control_id=control_id,
            credentials=credentials,
            function=function,
            function_control_id=control_id,
            unique_id=False,
        )
    )


def _assert_valid(body: bytes) -> etree._Element:
    assert schema_errors(load_api_schema(), body) == []
    return etree.fromstring(body)


@SETTINGS
@given(name=values, city=values, email=values)
@example(name='Ben & Jerry\'s <Deli> "Q"', city="\x00", email="A@B.C")
def test_any_field_values_build_a_valid_create_and_update(name: str, city: str, email: str) -> None:
    record = {
        "CUSTOMERID": "C-1",
        "NAME": name,
        "DISPLAYCONTACT": {"MAILADDRESS": {"CITY": city}, "EMAIL1": email},
    }
    for build in (create_function, update_function):
        body = _envelope(build("CUSTOMER", record), SessionCredentials("s&<id>"))
        root = _assert_valid(body)
        customer = root.find(f"operation/content/function/{build.__name__[:6]}/CUSTOMER")
        assert customer is not None
        assert (customer.findtext("NAME") or "") == sanitize_text(name)
        assert (customer.findtext("DISPLAYCONTACT/MAILADDRESS/CITY") or "") == sanitize_text(city)
        assert (customer.findtext("DISPLAYCONTACT/EMAIL1") or "") == sanitize_text(email)


@SETTINGS
@given(value=values, others=st.lists(values, min_size=1, max_size=3))
def test_any_filter_values_build_a_valid_query(value: str, others: list[str]) -> None:
    flt = Filter.and_(
        Filter.eq("NAME", value),
        Filter.or_(Filter.like("NAME", value + "%"), Filter.in_("CUSTOMERID", others)),
    )
    body = _envelope(
        query_function("CUSTOMER", ["RECORDNO", "NAME"], filter=flt, page_size=10),
        LoginCredentials(user_id="u<&>", company_id="C\x01O", password="p'\"&"),
    )
    root = _assert_valid(body)
    query = root.find("operation/content/function/query")
    assert query is not None
    assert (query.findtext("filter/and/equalto/value") or "") == sanitize_text(value)
    assert (query.findtext("filter/and/or/like/value") or "") == sanitize_text(value + "%")
    sent = [v.text or "" for v in query.iterfind("filter/and/or/in/value")]
    assert sent == [sanitize_text(o) for o in others]


@SETTINGS
@given(value=values)
def test_any_read_by_query_text_builds_a_valid_request(value: str) -> None:
    query = f"NAME = '{value}'"
    body = _envelope(read_by_query_function("VENDOR", query=query), SessionCredentials("sid"))
    root = _assert_valid(body)
    assert root.findtext("operation/content/function/readByQuery/query") == sanitize_text(query)


# ------------------------------------------------------------------ served texts read back


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[IntacctSandbox, IntacctGateway]]:
    company = generate_company(seed=3, customers=2, vendors=1, bills=1, payments=0)
    with IntacctSandbox(company) as sb:
        config = GatewayConfig.from_mapping(sb.tap_config())
        with IntacctGateway(config, sleep=lambda _s: None, session_cache=SessionCache()) as gw:
            yield sb, gw


_ids = itertools.count(1)


@SETTINGS
@given(name=values, email=values)
@example(name="  padded  ", email="\n")
@example(name="a\r\nb\rc", email="<EMAIL1>x</EMAIL1>")
def test_any_text_intacct_serves_is_read_back_exactly(
    served: tuple[IntacctSandbox, IntacctGateway], name: str, email: str
) -> None:
    sb, gw = served
    cid = f"PROP{next(_ids)}"
    recordno = sb.company.add(
        "CUSTOMER",
        {"CUSTOMERID": cid, "NAME": name, "STATUS": "active", "DISPLAYCONTACT.EMAIL1": email},
    )
    rows = list(
        gw.iter_records(
            "CUSTOMER",
            ["RECORDNO", "CUSTOMERID", "NAME", "DISPLAYCONTACT.EMAIL1"],
            filter=Filter.eq("CUSTOMERID", cid),
        )
    )
    assert [r["RECORDNO"] for r in rows] == [str(recordno)]
    assert (rows[0]["NAME"] or "") == sanitize_text(name)
    assert (rows[0]["DISPLAYCONTACT.EMAIL1"] or "") == sanitize_text(email)


# ------------------------------------------------------------------ parse_response is total

FIXTURE_BODIES = sorted(p for p in Path(FIXTURES).glob("*.xml"))


def _outcome(body: bytes) -> None:
    """parse_response and the typed outcome: only the documented errors."""
    try:
        response = parse_response(body)
    except MalformedResponseError:
        return
    try:
        _ = response.failure_level
        err = response.error()
        if err is not None:
            assert isinstance(err, IntacctError)
        for result in response.results:
            result_err = result.error()
            if result_err is not None:
                assert isinstance(result_err, IntacctError)
            page = QueryPage(result)
            _ = (page.count, page.total_count, page.has_more, page.next_offset, page.result_id)
            for record in page:
                assert all(isinstance(v, str | None) for v in record.values())
    except IntacctError:
        return


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
@example(b"")
@example(b"<html><body>502</body></html>")
@example(b"\xef\xbb\xbf<?xml version='1.0'?><response/>")
@example(b"<?xml version='1.0' encoding='UTF-16'?><response/>")
@example(
    b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><response>&b;</response>'
)
@example(b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><response>&x;</response>')
@example(b"<response><control><status>success</status></control><operation><result><data>")
@example(
    b"<response><control><status>success</status></control><operation><authentication>"
    b"<status>success</status><sessiontimeout>not a date</sessiontimeout></authentication>"
    b"<result><status>success</status><function>query</function><data count='x' "
    b"totalcount='-1' numremaining='1e9' offset=''><!-- c --><?pi x?><CUSTOMER><NAME>a"
    b"</NAME><!-- c --><X><Y>1</Y></X></CUSTOMER>text</data></result></operation></response>"
)
@example(
    b"<response><control><status>failure</status></control><errormessage><error>"
    b"</error></errormessage></response>"
)
@example(
    b"<response><control><status>success</status></control><operation><authentication>"
    b"<status>failure</status></authentication><result><status>failure</status>"
    b"</result></operation></response>"
)
def test_parse_response_on_arbitrary_bytes_raises_only_documented_errors(body: bytes) -> None:
    _outcome(body)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(FIXTURE_BODIES),
    st.floats(min_value=0.0, max_value=1.0),
    st.binary(max_size=20),
)
def test_parse_response_on_truncated_or_damaged_gateway_answers(
    path: Path, cut: float, tail: bytes
) -> None:
    body = path.read_bytes()
    _outcome(body[: int(len(body) * cut)])
    _outcome(body[: int(len(body) * cut)] + tail)


def test_every_fixture_parses_whole() -> None:
    assert FIXTURE_BODIES
    for path in FIXTURE_BODIES:
        parse_response(path.read_bytes())


def test_an_external_entity_is_never_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    body = (
        f'<!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>'
        "<response><control><status>success</status><senderid>&x;</senderid>"
        "</control></response>"
    ).encode()
    try:
        response = parse_response(body)
    except MalformedResponseError:
        return
    assert "TOP-SECRET" not in repr(response)


legal = st.text(
    alphabet=st.one_of(
        st.sampled_from("\t\n"),
        st.characters(min_codepoint=0x20, max_codepoint=0xD7FF),
        st.characters(min_codepoint=0xE000, max_codepoint=0xFFFD),
        st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF),
    ),
    min_size=1,
    max_size=60,
)


def _encode(value: str, how: str) -> str:
    if how == "cdata" and "]]>" not in value:
        return f"<![CDATA[{value}]]>"
    if how == "charrefs":
        return "".join(f"&#x{ord(c):x};" for c in value)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@settings(max_examples=150, deadline=None)
@given(value=legal, how=st.sampled_from(["escaped", "cdata", "charrefs"]), pretty=st.booleans())
@example(value="a]]>b & <c> \U0001f600", how="escaped", pretty=True)
def test_any_legal_text_in_a_gateway_answer_parses_back_exactly(
    value: str, how: str, pretty: bool
) -> None:
    sep = "\n    " if pretty else ""
    body = (
        "<?xml version='1.0' encoding='UTF-8'?>"
        f"<response>{sep}<control><status>success</status></control>{sep}<operation>"
        f"<authentication><status>success</status></authentication>{sep}<result>"
        "<status>success</status><function>query</function><controlid>q</controlid>"
        f"<data listtype='CUSTOMER' count='1' totalcount='1' numremaining='0'>{sep}"
        f"<CUSTOMER>{sep}<NAME>{_encode(value, how)}</NAME>{sep}<DISPLAYCONTACT>{sep}"
        f"<EMAIL1>{_encode(value, how)}</EMAIL1></DISPLAYCONTACT></CUSTOMER>"
        "</data></result></operation></response>"
    ).encode()
    response = parse_response(body)
    records = list(QueryPage(response.results[0]))
    assert len(records) == 1
    assert records[0]["NAME"] == value
    assert records[0]["DISPLAYCONTACT.EMAIL1"] == value
