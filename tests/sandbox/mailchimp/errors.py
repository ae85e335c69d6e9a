"""Mailchimp problem documents: the error exception, the glossary and X-Trigger-Error names."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

ERROR_TYPE = "https://mailchimp.com/developer/marketing/docs/errors/"
PROBLEM_CONTENT_TYPE = "application/problem+json; charset=utf-8"
PROBLEM_LINK = (
    '<https://api.mailchimp.com/schema/3.0/ProblemDetailDocument.json>; rel="describedBy"'
)

VALIDATION_DETAIL = (
    "The resource submitted could not be validated. "
    "For field-specific details, see the 'errors' array."
)
NOT_FOUND_DETAIL = "The requested resource could not be found."
METHOD_NOT_ALLOWED_DETAIL = (
    "The requested method and resource are not compatible. "
    "See the Allow header for this resource's available methods."
)
WRONG_DC_DETAIL = "Your API key may be invalid, or you've attempted to access the wrong datacenter."


@dataclass
class ApiError(Exception):
    """An HTTP error answered as an application/problem+json document."""

    status: int
    title: str
    detail: str
    errors: list[dict[str, str]] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.title}: {self.detail}"

    def document(self) -> dict[str, Any]:
        """The problem+json body (a fresh `instance` id each time)."""
        doc: dict[str, Any] = {
            "type": ERROR_TYPE,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": str(uuid.uuid4()),
        }
        if self.errors is not None:
            doc["errors"] = self.errors
        return doc


def bad_request(detail: str) -> ApiError:
    return ApiError(400, "Bad Request", detail)


def invalid_resource(detail: str, errors: list[dict[str, str]] | None = None) -> ApiError:
    return ApiError(400, "Invalid Resource", detail, errors)


def validation_error(errors: list[dict[str, str]]) -> ApiError:
    return ApiError(400, "Invalid Resource", VALIDATION_DETAIL, errors)


def not_found(detail: str = NOT_FOUND_DETAIL) -> ApiError:
    return ApiError(404, "Resource Not Found", detail)


def method_not_allowed(allowed: list[str]) -> ApiError:
    return ApiError(
        405,
        "Method Not Allowed",
        METHOD_NOT_ALLOWED_DETAIL,
        headers={"Allow": ", ".join(allowed)},
    )


def json_parse_error() -> ApiError:
    return ApiError(
        400, "JSON Parse Exception", "We encountered an unspecified JSON parsing error."
    )


def api_key_invalid() -> ApiError:
    return ApiError(401, "API Key Invalid", WRONG_DC_DETAIL)


def api_key_missing() -> ApiError:
    return ApiError(
        401,
        "API Key Missing",
        "Your request did not include an API key.",
    )


def too_many_requests(limit: int) -> ApiError:
    return ApiError(
        429,
        "Too Many Requests",
        f"You have exceeded the limit of {limit} simultaneous connections.",
    )


# Names accepted by the X-Trigger-Error request header -> (status, title, detail).
TRIGGER_ERRORS: dict[str, tuple[int, str, str]] = {
    "BadRequest": (400, "Bad Request", "Your request could not be processed."),
    "InvalidAction": (
        400,
        "Invalid Action",
        "The action requested was not valid for this resource.",
    ),
    "InvalidResource": (400, "Invalid Resource", VALIDATION_DETAIL),
    "JSONParseError": (
        400,
        "JSON Parse Exception",
        "We encountered an unspecified JSON parsing error.",
    ),
    "APIKeyMissing": (401, "API Key Missing", "Your request did not include an API key."),
    "APIKeyInvalid": (401, "API Key Invalid", WRONG_DC_DETAIL),
    "Forbidden": (403, "Forbidden", "You don't have permission to access this resource."),
    "UserDisabled": (403, "User Disabled", "This account has been disabled."),
    "WrongDatacenter": (403, "Wrong Datacenter", WRONG_DC_DETAIL),
    "ResourceNotFound": (404, "Resource Not Found", NOT_FOUND_DETAIL),
    "MethodNotAllowed": (405, "Method Not Allowed", METHOD_NOT_ALLOWED_DETAIL),
    "ResourceNestingTooDeep": (
        414,
        "Resource Nesting Too Deep",
        "The requested resource is nested too deeply.",
    ),
    "InvalidMethodOverride": (
        422,
        "Invalid Method Override",
        "You can only use the X-HTTP-Method-Override header with the POST method.",
    ),
    "RequestedFieldsInvalid": (
        422,
        "Requested Fields Invalid",
        "The fields requested from this resource are invalid.",
    ),
    "TooManyRequests": (
        429,
        "Too Many Requests",
        "You have exceeded the limit of 10 simultaneous connections.",
    ),
    "InternalServerError": (
        500,
        "Internal Server Error",
        "An unexpected internal error has occurred. Please contact Support for more information.",
    ),
    "ComplianceRelated": (
        403,
        "Compliance Related",
        "This account is currently under compliance review.",
    ),
}


def triggered(name: str) -> ApiError:
    """The error an X-Trigger-Error header asks for; an unknown name is itself a 400."""
    if name not in TRIGGER_ERRORS:
        return bad_request(
            f"Unknown X-Trigger-Error value {name!r}; known: {', '.join(sorted(TRIGGER_ERRORS))}."
        )
    status, title, detail = TRIGGER_ERRORS[name]
    err = ApiError(status, title, detail)
    if status == 405:
        err.headers["Allow"] = "GET"
    return err
