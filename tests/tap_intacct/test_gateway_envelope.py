"""Every request the gateway client builds is valid against Sage's api.xsd."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from lxml import etree

from tap_intacct.gateway import (
    Filter,
    LoginCredentials,
    Order,
    SessionCredentials,
    build_request,
    create_function,
    derive_control_id,
    get_api_session_function,
    lookup_function,
    query_function,
    read_by_query_function,
    read_more_function,
    serialize,
    update_function,
)
from tests.tap_intacct.gateway_support import api_schema, schema_errors

__all__ = ["api_schema"]

LOGIN = LoginCredentials(user_id="xml_gateway", company_id="ACME", password="pw")
SESSION = SessionCredentials(session_id="abc123")


def envelope(
    function: etree._Element,
    credentials: LoginCredentials | SessionCredentials = SESSION,
    *,
    unique_id: bool = False,
) -> bytes:
    control_id = derive_control_id(function)
    return serialize(
        build_request(
            sender_id="sender",
            sender_password="senderpw",
            control_id=control_id,
            credentials=credentials,
            function=function,
            function_control_id=control_id,
            unique_id=unique_id,
        )
    )


def assert_valid(schema: Any, body: bytes) -> etree._Element:
    assert schema_errors(schema, body) == []
    return etree.fromstring(body)


def test_get_api_session_with_login_is_valid_and_ordered(api_schema: Any) -> None:
    root = assert_valid(api_schema, envelope(get_api_session_function(), LOGIN))
    assert [c.tag for c in root] == ["control", "operation"]
    assert [c.tag for c in root.find("control")] == [
        "senderid",
        "password",
        "controlid",
        "uniqueid",
        "dtdversion",
        "includewhitespace",
    ]
    assert root.findtext("control/dtdversion") == "3.0"
    assert root.findtext("control/includewhitespace") == "false"
    assert root.findtext("control/uniqueid") == "false"
    assert [c.tag for c in root.find("operation/authentication/login")] == [
        "userid",
        "companyid",
        "password",
    ]
    function = root.find("operation/content/function")
    assert function.get("controlid") == root.findtext("control/controlid")
    assert [c.tag for c in function] == ["getAPISession"]
    assert len(function[0]) == 0


def test_get_api_session_with_location_id_is_valid(api_schema: Any) -> None:
    credentials = LoginCredentials(
        user_id="xml_gateway", company_id="ACME", password="pw", location_id="E100"
    )
    root = assert_valid(api_schema, envelope(get_api_session_function("E100"), credentials))
    login = root.find("operation/authentication/login")
    assert [c.tag for c in login] == ["userid", "companyid", "password", "locationid"]
    assert root.findtext("operation/content/function/getAPISession/locationid") == "E100"


def test_session_authentication_is_valid(api_schema: Any) -> None:
    root = assert_valid(api_schema, envelope(lookup_function("APBILL")))
    assert root.findtext("operation/authentication/sessionid") == "abc123"
    assert root.find("operation/authentication/login") is None


@pytest.mark.parametrize(
    "condition",
    [
        Filter.eq("STATE", "Posted"),
        Filter.ne("STATE", "Draft"),
        Filter.lt("TOTALDUE", Decimal("10.50")),
        Filter.le("WHENMODIFIED", dt.datetime(2024, 2, 1, 0, 0, 0)),
        Filter.gt("RECORDNO", 100),
        Filter.ge("WHENCREATED", dt.date(2024, 1, 31)),
        Filter.between("RECORDNO", 1, 10),
        Filter.in_("STATE", ["Paid", "Partially Paid"]),
        Filter.notin("STATE", ["Draft"]),
        Filter.like("NAME", "Acme%"),
        Filter.notlike("NAME", "%Test%"),
        Filter.isnull("EMAIL1"),
        Filter.isnotnull("DISPLAYCONTACT.EMAIL1"),
        Filter.equalto("ONHOLD", False),
    ],
    ids=lambda c: c.operator,
)
def test_query_with_each_operator_is_valid(api_schema: Any, condition: Filter) -> None:
    function = query_function("APBILL", ["RECORDNO", "STATE"], filter=condition)
    root = assert_valid(api_schema, envelope(function))
    operator = root.find("operation/content/function/query/filter")[0]
    assert operator.tag == condition.operator
    assert operator[0].tag == "field"
    assert [v.text for v in operator.findall("value")] == list(condition.values)


def test_values_are_formatted_for_the_gateway() -> None:
    assert Filter.le("W", dt.datetime(2024, 2, 1, 7, 5, 9)).values == ("02/01/2024 07:05:09",)
    assert Filter.ge("W", dt.date(2024, 1, 31)).values == ("01/31/2024",)
    assert Filter.eq("B", True).values == ("true",)
    assert Filter.eq("N", Decimal("1000.00")).values == ("1000.00",)
    assert Filter.eq("N", 1.5).values == ("1.5",)


def test_query_with_nested_and_or_orderby_options_paging_is_valid(api_schema: Any) -> None:
    condition = Filter.and_(
        Filter.ge("WHENMODIFIED", "01/31/2024 13:00:00"),
        Filter.le("WHENMODIFIED", "02/01/2024 00:00:00"),
        Filter.or_(
            Filter.eq("STATE", "Posted"),
            Filter.and_(Filter.in_("STATE", ["Paid"]), Filter.isnotnull("WHENPAID")),
        ),
    )
    function = query_function(
        "APBILL",
        ["RECORDNO", "WHENMODIFIED", "VENDOR.NAME"],
        filter=condition,
        order_by=["WHENMODIFIED", ("RECORDNO", "desc"), Order("STATE")],
        show_private=True,
        case_insensitive=True,
        page_size=2000,
        offset=4000,
    )
    root = assert_valid(api_schema, envelope(function))
    query = root.find("operation/content/function/query")
    and_node = query.find("filter/and")
    assert [c.tag for c in and_node] == ["greaterthanorequalto", "lessthanorequalto", "or"]
    assert [c.tag for c in and_node.find("or")] == ["equalto", "and"]
    orders = query.findall("orderby/order")
    assert [(o.findtext("field"), o[1].tag) for o in orders] == [
        ("WHENMODIFIED", "ascending"),
        ("RECORDNO", "descending"),
        ("STATE", "ascending"),
    ]
    assert query.findtext("options/showprivate") == "true"
    assert query.findtext("options/caseinsensitive") == "true"
    assert query.findtext("pagesize") == "2000"
    assert query.findtext("offset") == "4000"


def test_single_condition_is_not_wrapped_in_and(api_schema: Any) -> None:
    single = Filter.and_(Filter.eq("STATE", "Posted"))
    assert single == Filter.eq("STATE", "Posted")
    assert Filter.or_(Filter.isnull("X")) == Filter.isnull("X")
    root = assert_valid(api_schema, envelope(query_function("APBILL", ["RECORDNO"], filter=single)))
    assert root.find("operation/content/function/query/filter/equalto") is not None


def test_the_schema_would_refuse_a_one_child_and(api_schema: Any) -> None:
    """Guards the test itself: the validator does catch what the builder avoids."""
    body = envelope(query_function("APBILL", ["RECORDNO"], filter=Filter.eq("A", "1")))
    root = etree.fromstring(body)
    filter_node = root.find("operation/content/function/query/filter")
    condition = filter_node[0]
    wrapper = etree.SubElement(filter_node, "and")
    wrapper.append(condition)
    assert schema_errors(api_schema, root)


def test_the_schema_would_refuse_a_misordered_control(api_schema: Any) -> None:
    root = etree.fromstring(envelope(lookup_function("VENDOR")))
    control = root.find("control")
    control.insert(0, control.find("dtdversion"))
    assert schema_errors(api_schema, root)


def test_minimal_query_is_valid(api_schema: Any) -> None:
    root = assert_valid(api_schema, envelope(query_function("VENDOR", ["RECORDNO"])))
    query = root.find("operation/content/function/query")
    assert sorted(c.tag for c in query) == ["object", "select"]


def test_read_by_query_is_valid(api_schema: Any) -> None:
    function = read_by_query_function(
        "APBILL", query="WHENMODIFIED >= '01/31/2024 13:00:00'", fields=["RECORDNO", "STATE"]
    )
    root = assert_valid(api_schema, envelope(function))
    node = root.find("operation/content/function/readByQuery")
    assert node.findtext("object") == "APBILL"
    assert node.findtext("query") == "WHENMODIFIED >= '01/31/2024 13:00:00'"
    assert node.findtext("fields") == "RECORDNO,STATE"
    assert node.findtext("returnFormat") == "xml"
    raw = envelope(read_by_query_function("APBILL", page_size=1000))
    assert_valid(api_schema, raw)
    assert b"<query></query>" in raw or b"<query/>" in raw


def test_read_more_is_valid(api_schema: Any) -> None:
    root = assert_valid(api_schema, envelope(read_more_function("7765623336W-ne68")))
    assert root.findtext("operation/content/function/readMore/resultId") == "7765623336W-ne68"


def test_lookup_is_valid(api_schema: Any) -> None:
    root = assert_valid(api_schema, envelope(lookup_function("APBILL")))
    assert root.findtext("operation/content/function/lookup/object") == "APBILL"


def test_create_and_update_go_out_with_uniqueid_true_and_are_valid(api_schema: Any) -> None:
    values = {
        "CUSTOMERID": "C-1",
        "NAME": "Erik's <Deli> & Sons",
        "DISPLAYCONTACT": {"EMAIL1": "erik@example.com", "PHONE1": None},
        "ONHOLD": False,
    }
    for function in (create_function("CUSTOMER", values), update_function("CUSTOMER", values)):
        root = assert_valid(api_schema, envelope(function, unique_id=True))
        assert root.findtext("control/uniqueid") == "true"
        customer = root.find("operation/content/function")[0].find("CUSTOMER")
        assert customer.findtext("NAME") == "Erik's <Deli> & Sons"
        assert customer.findtext("DISPLAYCONTACT/EMAIL1") == "erik@example.com"
        assert customer.find("DISPLAYCONTACT/PHONE1").text is None
        assert customer.findtext("ONHOLD") == "false"


def test_control_characters_in_values_are_stripped_and_markup_escaped(api_schema: Any) -> None:
    function = query_function(
        "CUSTOMER", ["NAME\x00"], filter=Filter.eq("NAME", "A\x01&B<\x0bC>\ud800\ufffe\"'\tD")
    )
    body = envelope(function)
    root = assert_valid(api_schema, body)
    assert root.findtext("operation/content/function/query/filter/equalto/value") == (
        "A&B<C>\"'\tD"
    )
    assert root.findtext("operation/content/function/query/select/field") == "NAME"
    assert b"&amp;B&lt;C&gt;" in body


@pytest.mark.parametrize("size", [0, 2001, -1])
def test_query_page_size_out_of_range_is_rejected(size: int) -> None:
    with pytest.raises(ValueError, match="page size"):
        query_function("APBILL", ["RECORDNO"], page_size=size)


def test_read_by_query_page_size_above_1000_is_rejected() -> None:
    with pytest.raises(ValueError, match="1 to 1000"):
        read_by_query_function("APBILL", page_size=1001)


def test_query_refuses_star_and_empty_select_and_negative_offset() -> None:
    with pytest.raises(ValueError, match=r"\*"):
        query_function("APBILL", ["*"])
    with pytest.raises(ValueError, match="at least one field"):
        query_function("APBILL", [])
    with pytest.raises(ValueError, match="offset"):
        query_function("APBILL", ["RECORDNO"], offset=-1)


def test_filter_arity_is_checked() -> None:
    with pytest.raises(ValueError, match="1 to 1000"):
        Filter.in_("RECORDNO", [])
    with pytest.raises(ValueError, match="1 to 1000"):
        Filter.in_("RECORDNO", range(1001))
    assert len(Filter.in_("RECORDNO", range(1000)).values) == 1000
    with pytest.raises(ValueError, match="at least one"):
        Filter.and_()
    with pytest.raises(TypeError):
        Filter.and_("STATE = 'Paid'")
    with pytest.raises(ValueError, match="field"):
        Filter.eq("", "x")
    with pytest.raises(ValueError):
        Filter.eq("X", None)
    with pytest.raises(ValueError, match="asc or desc"):
        Order.coerce(("X", "up"))


def test_in_with_1000_values_is_valid(api_schema: Any) -> None:
    function = query_function("APBILL", ["RECORDNO"], filter=Filter.in_("RECORDNO", range(1000)))
    assert_valid(api_schema, envelope(function))


def test_derived_control_ids_are_deterministic_per_content_and_scope() -> None:
    first = query_function("APBILL", ["RECORDNO"], filter=Filter.gt("RECORDNO", 5))
    same = query_function("APBILL", ["RECORDNO"], filter=Filter.gt("RECORDNO", 5))
    other = query_function("APBILL", ["RECORDNO"], filter=Filter.gt("RECORDNO", 6))
    assert derive_control_id(first, scope="run1") == derive_control_id(same, scope="run1")
    assert derive_control_id(first, scope="run1") != derive_control_id(other, scope="run1")
    assert derive_control_id(first, scope="run1") != derive_control_id(first, scope="run2")
    control_id = derive_control_id(first, scope="run1")
    assert control_id.startswith("query-")
    assert len(control_id) == len("query-") + 24


def test_control_ids_longer_than_256_are_rejected() -> None:
    with pytest.raises(ValueError, match="256"):
        build_request(
            sender_id="s",
            sender_password="p",
            control_id="x" * 257,
            credentials=SESSION,
            function=lookup_function("A"),
            function_control_id="f",
        )
