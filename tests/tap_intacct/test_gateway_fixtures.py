"""Each reference fixture parses into the outcome it shows."""

from __future__ import annotations

import datetime as dt

import pytest

from tap_intacct.gateway import (
    AuthenticationError,
    ControlError,
    FunctionError,
    InvalidSessionError,
    LoginError,
    MalformedResponseError,
    QueryPage,
    RequestSchemaError,
    Response,
    parse_response,
)
from tests.tap_intacct.gateway_support import FIXTURES


def load(name: str) -> Response:
    return parse_response((FIXTURES / name).read_bytes())


def test_every_fixture_file_is_covered() -> None:
    names = {p.name for p in FIXTURES.glob("*.xml")}
    assert names == {
        "execXMLError.xml",
        "execLoginInvalid.xml",
        "sessionInvalid.xml",
        "execFuncError.xml",
        "functionErrorSuccess.xml",
        "execProjectSuccess.xml",
        "vendorResponse.xml",
    }


def test_exec_xml_error_is_a_control_error_with_two_errors() -> None:
    response = load("execXMLError.xml")
    assert response.failure_level == "control"
    assert response.authentication is None
    assert response.results == ()
    error = response.error()
    assert isinstance(error, ControlError)
    assert isinstance(error, RequestSchemaError)
    assert not error.retryable
    assert len(error.errors) == 2
    assert error.errornos == ("XL03000003", "XL03000003")
    assert error.errors[0].description == ""
    assert error.errors[0].description2.startswith("XML Parse schema error: Fatal Error 76")
    assert error.errors[1].correction == ""
    assert "XL03000003" in str(error)
    with pytest.raises(RequestSchemaError):
        response.raise_for_error()


def test_exec_login_invalid_is_a_bad_login() -> None:
    response = load("execLoginInvalid.xml")
    assert response.control.status == "success"
    assert response.failure_level == "authentication"
    assert response.authentication is not None
    assert response.authentication.status == "failure"
    assert response.authentication.user_id == "xml_gateway"
    assert response.results == ()
    error = response.error()
    assert isinstance(error, AuthenticationError)
    assert isinstance(error, LoginError)
    assert not isinstance(error, InvalidSessionError)
    assert not error.retryable
    assert [(e.errorno, e.description2) for e in error.errors] == [
        ("XL03000006", "Sign-in information is incorrect")
    ]
    assert "user_password" in str(error)


def test_session_invalid_is_an_invalid_session() -> None:
    response = load("sessionInvalid.xml")
    assert response.failure_level == "authentication"
    assert response.authentication is not None
    assert response.authentication.user_id == ""
    assert response.authentication.company_id == ""
    error = response.error()
    assert isinstance(error, InvalidSessionError)
    assert error.errors[0].errorno == "XL03000006"
    assert error.errors[0].description2.startswith("Invalid session")


def test_exec_func_error_is_a_function_error_with_three_errors_and_data_ignored() -> None:
    response = load("execFuncError.xml")
    assert response.failure_level == "function"
    assert response.error() is None
    (result,) = response.results
    assert result.status == "failure"
    assert result.function == "create"
    assert result.control_id == "testFunctionId"
    error = result.error()
    assert isinstance(error, FunctionError)
    assert not error.retryable
    assert error.errornos == ("BL34000061", "BL01001973", "BL01001973")
    assert error.errors[0].correction == "Use a unique value instead."
    assert "Use a unique value instead." in str(error)
    # The <data> block of a failed function is never taken as data.
    with pytest.raises(FunctionError):
        response.raise_for_error()


def test_function_error_success_gives_per_result_outcomes() -> None:
    response = load("functionErrorSuccess.xml")
    assert response.failure_level == "function"
    assert response.authentication is not None
    assert response.authentication.session_timeout == dt.datetime(
        2019, 5, 30, 18, 29, 53, tzinfo=dt.timezone(dt.timedelta(hours=-7))
    )
    first, second, third = response.results
    assert [r.status for r in response.results] == ["failure", "success", "failure"]
    assert isinstance(first.error(), FunctionError)
    assert first.error().errornos == ("Invalid fields list x",)
    assert isinstance(third.error(), FunctionError)
    assert second.error() is None
    assert second.control_id == "abcdef"
    assert list(second.records()) == [
        {
            "RECORDNO": "16747",
            "VENDORID": "407258",
            "VENDORNAME": "FOSSE BOB",
            "RECORDID": "E18-6465",
        }
    ]
    assert response.result("abcdef") is second
    assert list(first.records()) == []


def test_exec_project_success_has_records_and_read_by_query_metadata() -> None:
    response = load("execProjectSuccess.xml")
    assert response.failure_level is None
    response.raise_for_error()
    by_query, read = response.results
    page = QueryPage(by_query)
    assert page.list_type == "project"
    assert (page.count, page.total_count, page.num_remaining) == (5, 35, 30)
    assert page.result_id == "7765623336W-ne68CoA4gAAEEhD7EAAAAP4"
    assert page.has_more
    records = list(page)
    assert len(records) == 5
    assert records[0] == {"RECORDNO": "989", "PROJECTID": "A17-ADVC", "NAME": "Advisory Council"}
    assert [r["RECORDNO"] for r in records] == ["989", "1002", "4", "5", "990"]
    assert list(read.records()) == [
        {"RECORDNO": "1423", "PROJECTID": "Fellow PD1", "NAME": "Program Development1"}
    ]
    assert read.result_id is None
    assert response.authentication is not None
    assert response.authentication.session_timestamp == dt.datetime(
        2018, 11, 24, 15, 29, 48, tzinfo=dt.timezone(dt.timedelta(hours=-8))
    )
    assert response.authentication.session_timeout is None


def test_vendor_response_gives_none_for_empty_elements() -> None:
    response = load("vendorResponse.xml")
    assert response.failure_level is None
    read, by_query = response.results
    vendors = list(read.records())
    assert vendors[0] == {
        "RECORDNO": "29181",
        "VENDORID": "100001TEST",
        "NAME": "TEST VENDOR 1099",
        "NAME1099": "VENDOR TEST",
    }
    assert vendors[1]["PARENTKEY"] is None
    assert vendors[1]["PARENTID"] is None
    assert vendors[1]["PARENTNAME"] is None
    (record,) = by_query.records()
    assert record["PARENTKEY"] == "1234"
    assert record["PARENTID"] is None
    page = QueryPage(by_query)
    assert (page.count, page.total_count, page.num_remaining, page.result_id) == (1, 1, 5, "aaaaa")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<response><control><status>success</status></control><operation>",
        b"<!DOCTYPE html><html><body><div class='cf-error-details'>502</div></body></html>",
        b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
        b"Service Unavailable",
        b"<?xml version='1.0'?><error>not a response</error>",
    ],
    ids=["empty", "truncated", "cdn-html", "html", "text", "other-root"],
)
def test_non_gateway_bodies_are_malformed_and_retryable(body: bytes) -> None:
    with pytest.raises(MalformedResponseError) as caught:
        parse_response(body)
    assert caught.value.retryable


def test_entities_are_not_expanded() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE response [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<response><control><status>success</status></control><operation><authentication>"
        b"<status>success</status></authentication><result><status>success</status>"
        b"<function>query</function><controlid>c</controlid><data><A><F>&x;</F></A></data>"
        b"</result></operation></response>"
    )
    try:
        response = parse_response(body)
    except MalformedResponseError:
        return
    (record,) = response.results[0].records()
    assert not any("root:" in (value or "") for value in record.values())


def test_nested_record_elements_are_flattened_to_dotted_names() -> None:
    body = (
        b"<response><control><status>success</status></control><operation><authentication>"
        b"<status>success</status></authentication><result><status>success</status>"
        b"<function>readByQuery</function><controlid>c</controlid><data count='1'><vendor>"
        b"<VENDORID>V1</VENDORID><DISPLAYCONTACT><EMAIL1>a@b.c</EMAIL1><MAILADDRESS>"
        b"<CITY>Paris</CITY><ZIP/></MAILADDRESS></DISPLAYCONTACT><NAME> </NAME></vendor></data>"
        b"</result></operation></response>"
    )
    (record,) = parse_response(body).results[0].records()
    assert record == {
        "VENDORID": "V1",
        "DISPLAYCONTACT.EMAIL1": "a@b.c",
        "DISPLAYCONTACT.MAILADDRESS.CITY": "Paris",
        "DISPLAYCONTACT.MAILADDRESS.ZIP": None,
        "NAME": " ",
    }
