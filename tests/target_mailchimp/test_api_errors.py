"""problem+json parsing into typed errors."""

from __future__ import annotations

import json

import pytest

from target_mailchimp.api import (
    BadRequest,
    FieldError,
    Forbidden,
    MailchimpError,
    MethodNotAllowed,
    NotFound,
    ServerError,
    TooManyRequests,
    Unauthorized,
    error_from_response,
)

TYPE = "https://mailchimp.com/developer/marketing/docs/errors/"


def _doc(status: int, title: str, detail: str = "", **extra: object) -> bytes:
    return json.dumps(
        {"type": TYPE, "title": title, "status": status, "detail": detail, **extra}
    ).encode()


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequest),
        (401, Unauthorized),
        (403, Forbidden),
        (404, NotFound),
        (405, MethodNotAllowed),
        (429, TooManyRequests),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
        (414, MailchimpError),
        (422, MailchimpError),
        (426, MailchimpError),
    ],
)
def test_status_picks_the_class(status: int, cls: type[MailchimpError]) -> None:
    err = error_from_response(status=status, body=_doc(status, "Some Title", "what happened"))
    assert type(err) is cls
    assert err.status == status
    assert err.title == "Some Title"
    assert err.detail == "what happened"
    assert err.has_problem_body


def test_full_problem_document_is_kept() -> None:
    body = _doc(
        400,
        "Invalid Resource",
        "The resource submitted could not be validated. For field-specific details, "
        "see the 'errors' array.",
        instance="995c5cb0-3280-4a6e-808b-3b096d0bb219",
        errors=[
            {"field": "email_address", "message": "Required fields were not provided"},
            {"field": "", "message": "Schema describes string, NULL found instead"},
        ],
    )
    err = error_from_response(
        status=400,
        body=body,
        headers={"X-Request-Id": "rid-1"},
        method="PUT",
        path="/lists/abc/members/0f",
        attempts=2,
        retry_reasons=("server error (502)",),
    )
    assert isinstance(err, BadRequest)
    assert err.is_invalid_resource
    assert err.type_uri == TYPE
    assert err.instance == "995c5cb0-3280-4a6e-808b-3b096d0bb219"
    assert err.errors == (
        FieldError("email_address", "Required fields were not provided"),
        FieldError("", "Schema describes string, NULL found instead"),
    )
    assert err.field_errors["email_address"] == "Required fields were not provided"
    assert err.request_id == "rid-1"
    assert err.attempts == 2
    text = str(err)
    assert text.startswith("400 Invalid Resource: The resource submitted")
    assert "email_address: Required fields were not provided" in text
    assert "PUT /lists/abc/members/0f" in text
    assert "request id rid-1" in text
    assert "2 attempts" in text
    summary = err.to_dict()
    assert summary["error_class"] == "BadRequest"
    assert summary["errors"][0] == {
        "field": "email_address",
        "message": "Required fields were not provided",
    }
    assert summary["retry_reasons"] == ["server error (502)"]
    json.dumps(summary)  # JSON-ready


def test_missing_fields_are_empty_not_crashes() -> None:
    err = error_from_response(status=400, body=b'{"status": 400}')
    assert isinstance(err, BadRequest)
    assert (err.title, err.detail, err.errors, err.instance) == ("", "", (), "")
    assert err.request_id is None
    assert str(err).startswith("400")


def test_odd_types_inside_the_document_are_tolerated() -> None:
    body = json.dumps(
        {
            "title": None,
            "detail": {"nested": True},
            "errors": [{"field": None, "message": 5}, "plain text", None],
        }
    )
    err = error_from_response(status=400, body=body)
    assert err.title == ""
    assert err.detail == '{"nested": true}'
    assert err.errors == (FieldError("", "5"), FieldError("", "plain text"))
    err2 = error_from_response(status=400, body=b'{"errors": "not a list"}')
    assert err2.errors == ()


@pytest.mark.parametrize(
    "body",
    [
        b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
        b"",
        None,
        b"not json {",
        b'["a", "list"]',
        b"\xff\xfe\x00garbage",
    ],
)
def test_non_problem_bodies(body: bytes | None) -> None:
    err = error_from_response(status=502, body=body)
    assert isinstance(err, ServerError)
    assert not err.has_problem_body
    assert err.transient
    assert err.title == ""
    if body and body.startswith(b"<html"):
        assert "502 Bad Gateway" in err.body_snippet
        assert "502 Bad Gateway" in str(err)


def test_long_html_body_is_cut() -> None:
    err = error_from_response(status=500, body=b"<p>" + b"x" * 5000 + b"</p>")
    assert len(err.body_snippet) <= 310
    assert err.body_snippet.endswith("...")


def test_403_without_a_body_is_throttling() -> None:
    err = error_from_response(status=403, body=b"")
    assert isinstance(err, TooManyRequests)
    assert err.status == 403
    assert err.transient
    html = error_from_response(status=403, body=b"<html>Forbidden</html>")
    assert isinstance(html, TooManyRequests)


def test_403_with_a_problem_document_is_forbidden() -> None:
    err = error_from_response(
        status=403, body=_doc(403, "User Disabled", "This account has been disabled.")
    )
    assert type(err) is Forbidden
    assert not err.transient


def test_405_keeps_the_allow_header() -> None:
    err = error_from_response(
        status=405,
        body=_doc(
            405, "Method Not Allowed", "The requested method and resource are not compatible."
        ),
        headers={"Allow": "GET, PATCH, DELETE"},
    )
    assert isinstance(err, MethodNotAllowed)
    assert err.allow == ("GET", "PATCH", "DELETE")


@pytest.mark.parametrize(
    ("title", "detail", "flag"),
    [
        (
            "Bad Request",
            "We were unable to process the request. An order with the provided ID already "
            "exists in the account.",
            "is_already_exists",
        ),
        (
            "Bad Request",
            "We were unable to process the request. A product with the provided ID already "
            "exists in the account.",
            "is_already_exists",
        ),
        (
            "Member Exists",
            "a@b.org is already a list member. Use PUT to insert or update list members.",
            "is_member_exists",
        ),
        (
            "Member In Compliance State",
            "a@b.org is in a compliance state due to unsubscribe, bounce, or compliance review "
            "and cannot be subscribed.",
            "is_compliance_state",
        ),
        (
            "Forgotten Email Not Subscribed",
            "a@b.org was permanently deleted and cannot be re-imported. The contact must "
            "re-subscribe to get back on the list.",
            "is_forgotten",
        ),
        (
            "Invalid Resource",
            "a@b.org looks fake or invalid, please enter a real email address.",
            "is_fake_or_invalid",
        ),
        (
            "Invalid Resource",
            "a@b.org has signed up to a lot of lists very recently; we're not allowing more "
            "signups for now",
            "is_signup_throttled",
        ),
        (
            "Bad Request",
            "A product with the provided variant ID does not exist in the account for this list.",
            "is_unknown_product",
        ),
    ],
)
def test_bad_request_helpers(title: str, detail: str, flag: str) -> None:
    err = error_from_response(status=400, body=_doc(400, title, detail))
    assert isinstance(err, BadRequest)
    flags = [
        "is_already_exists",
        "is_member_exists",
        "is_compliance_state",
        "is_forgotten",
        "is_fake_or_invalid",
        "is_signup_throttled",
        "is_unknown_product",
    ]
    assert [f for f in flags if getattr(err, f)] == [flag]


def test_messages_are_redacted() -> None:
    secret = "0123456789abcdef0123456789abcdef-us6"

    def redact(text: str) -> str:
        return text.replace(secret, "***")

    body = _doc(
        401,
        "API Key Invalid",
        f"Your API key {secret} may be invalid",
        errors=[{"field": secret, "message": f"bad {secret}"}],
    )
    err = error_from_response(
        status=401, body=body, redact=redact, headers={"X-Request-Id": secret}
    )
    for text in (str(err), repr(err), json.dumps(err.to_dict())):
        assert secret not in text
    html = error_from_response(status=500, body=f"<p>{secret}</p>".encode(), redact=redact)
    assert secret not in str(html)
