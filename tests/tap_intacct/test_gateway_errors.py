"""Error classification, hierarchy and messages; configuration parsing."""

from __future__ import annotations

import dataclasses

import pytest

from tap_intacct.gateway import (
    DUPLICATE_CONTROLID_DESCRIPTION2,
    DUPLICATE_CONTROLID_ERRORNO,
    AlreadyAppliedError,
    AuthenticationError,
    ControlError,
    ErrorDetail,
    FunctionError,
    GatewayConfig,
    GatewayConnectionError,
    GatewayHTTPError,
    GatewayTimeoutError,
    IntacctError,
    InvalidSessionError,
    LoginError,
    MalformedResponseError,
    RateLimitError,
    RequestSchemaError,
    SenderCredentialsError,
    SenderNotAuthorizedError,
    TransportError,
)
from tap_intacct.gateway.errors import (
    classify_authentication_failure,
    classify_control_failure,
    classify_function_failure,
)


def err(
    errorno: str, description: str = "", description2: str = "", correction: str = ""
) -> ErrorDetail:
    return ErrorDetail(errorno, description, description2, correction)


def test_hierarchy() -> None:
    for cls in (ControlError, AuthenticationError, FunctionError, TransportError):
        assert issubclass(cls, IntacctError)
    assert issubclass(SenderCredentialsError, ControlError)
    assert issubclass(RequestSchemaError, ControlError)
    for cls in (InvalidSessionError, LoginError, SenderNotAuthorizedError):
        assert issubclass(cls, AuthenticationError)
    assert issubclass(AlreadyAppliedError, FunctionError)
    for cls in (
        GatewayConnectionError,
        GatewayTimeoutError,
        GatewayHTTPError,
        RateLimitError,
        MalformedResponseError,
    ):
        assert issubclass(cls, TransportError)
        assert cls("x").retryable


def test_control_level_classification() -> None:
    sender = classify_control_failure(
        [err("XL03000006", description2="Incorrect Intacct XML Partner ID or password.")]
    )
    assert type(sender) is SenderCredentialsError
    assert not sender.retryable
    assert "sender_id and sender_password" in str(sender)
    parse = classify_control_failure([err("XL03000003", description2="XML Parse schema error")])
    assert type(parse) is RequestSchemaError
    assert not parse.retryable
    rate = classify_control_failure([err("GW-0010", "Invalid Request [Request ID: 1]")])
    assert type(rate) is RateLimitError
    assert rate.retryable
    assert type(classify_control_failure([err("GW-0011", "Invalid Request")])) is (
        SenderCredentialsError
    )
    expired = classify_control_failure(
        [err("PL04000055", description2="This company is a demo company and has expired.")]
    )
    assert type(expired) is ControlError
    assert not expired.retryable
    offline = classify_control_failure(
        [err("XL", description2="The Service is Temporarily Off-line")]
    )
    assert offline.retryable


def test_authentication_level_classification() -> None:
    unauthorized = classify_authentication_failure(
        [
            err(
                "XL03000006",
                "Invalid Web Services Authorization",
                "The sender ID 'x' is not authorized to make Web Services requests to "
                "company ID 'y'.",
                "Contact the company administrator to grant Web Services authorization to this "
                "sender ID.",
            )
        ]
    )
    assert type(unauthorized) is SenderNotAuthorizedError
    assert "Web Services authorizations" in str(unauthorized)
    assert "Company >" in str(unauthorized)
    bad = classify_authentication_failure(
        [err("XL03000006", description2="Sign-in information is incorrect")]
    )
    assert type(bad) is LoginError
    assert not bad.retryable
    invalid = classify_authentication_failure(
        [err("XL03000006", description2="Invalid session q....")], used_session=True
    )
    assert type(invalid) is InvalidSessionError
    blank = classify_authentication_failure([err("XL03000006")], used_session=True)
    assert type(blank) is InvalidSessionError
    other = classify_authentication_failure(
        [
            err(
                "XL03000006",
                description2="This company is not authorized for XML transactions. Please "
                "subscribe to the XML Gateway.",
            )
        ]
    )
    assert type(other) is AuthenticationError
    assert "Subscriptions" in str(other)


def test_function_level_classification() -> None:
    assert (
        classify_function_failure(
            [err("Query Failed", "", "Object definition X not found")]
        ).retryable
        is False
    )
    for text in (
        err("BL01", correction="Please Try Again Later"),
        err("XL", description2="The Service is Temporarily Off-line"),
        err("XL", description="API rate limit exceeded"),
    ):
        assert classify_function_failure([text]).retryable
    duplicate = classify_function_failure([err(DUPLICATE_CONTROLID_ERRORNO)], control_id="c1")
    assert type(duplicate) is AlreadyAppliedError
    worded = classify_function_failure(
        [err("XL0", description2=DUPLICATE_CONTROLID_DESCRIPTION2.format(control_id="c1"))]
    )
    assert type(worded) is AlreadyAppliedError
    assert (
        type(
            classify_function_failure(
                [
                    err(
                        "BL34000061",
                        description2="Another Project with the given value(s) X already exists",
                    )
                ]
            )
        )
        is FunctionError
    )


def test_messages_name_the_function_control_id_errors_and_fix() -> None:
    error = FunctionError(
        "function failed",
        errors=[err("BL1", "desc", "desc2", "Use a unique value instead.")],
        function="create",
        control_id="create-abc",
    )
    message = str(error)
    assert message.startswith("Intacct function failure in create (control id create-abc)")
    assert "BL1 desc desc2 Use a unique value instead." in message
    error.gave_up_after(4)
    assert "gave up after 4 attempts" in str(error)
    assert error.reason == "function failed / BL1"


def test_scrub_removes_secrets_everywhere() -> None:
    error = LoginError(
        "login refused pw1",
        errors=[err("XL pw1", "pw1", "x pw1 y", "pw1")],
    )
    error.scrub(lambda text: text.replace("pw1", "[redacted]"))
    assert "pw1" not in str(error)
    assert "pw1" not in repr(error)
    assert all("pw1" not in str(e) for e in error.errors)


def test_config_from_mapping() -> None:
    config = GatewayConfig.from_mapping(
        {
            "sender_id": "s",
            "sender_password": "sp",
            "user_id": "u",
            "user_password": "up",
            "company_id": "c",
            "entity_id": "",
            "api_url": None,
            "session_refresh_minutes": "30",
            "request_timeout": 60,
            "max_retries": "2",
            "start_date": "2024-01-01",
        }
    )
    assert config.entity_id is None
    assert config.api_url == "https://api.intacct.com/ia/xml/xmlgw.phtml"
    assert config.session_refresh_minutes == 30.0
    assert config.request_timeout == 60.0
    assert config.max_retries == 2
    defaults = GatewayConfig.from_mapping(
        {
            "sender_id": "s",
            "sender_password": "sp",
            "user_id": "u",
            "user_password": "up",
            "company_id": "c",
        }
    )
    assert (defaults.session_refresh_minutes, defaults.request_timeout, defaults.max_retries) == (
        45,
        300,
        5,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        defaults.max_retries = 1


def test_config_errors_name_the_setting() -> None:
    with pytest.raises(ValueError, match="user_password, company_id"):
        GatewayConfig.from_mapping({"sender_id": "s", "sender_password": "sp", "user_id": "u"})
    base = {
        "sender_id": "s",
        "sender_password": "sp",
        "user_id": "u",
        "user_password": "up",
        "company_id": "c",
    }
    with pytest.raises(ValueError, match="api_url"):
        GatewayConfig.from_mapping({**base, "api_url": "ftp://x"})
    with pytest.raises(ValueError, match="max_retries"):
        GatewayConfig.from_mapping({**base, "max_retries": -1})
    with pytest.raises(ValueError, match="request_timeout"):
        GatewayConfig.from_mapping({**base, "request_timeout": 0})
