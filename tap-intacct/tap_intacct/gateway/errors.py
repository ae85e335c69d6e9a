"""Errors of the Intacct XML gateway, as a hierarchy of exceptions.

::

    IntacctError                         .retryable says whether a retry may succeed
    ├── TransportError                   the HTTP exchange itself failed
    │   ├── GatewayConnectionError       connection refused/reset (retryable)
    │   ├── GatewayTimeoutError          no answer within request_timeout (retryable for reads)
    │   ├── GatewayHTTPError             non-2xx answer; 5xx retryable (524 reads only), 4xx not
    │   ├── RateLimitError               HTTP 429 or GW-0010 (retryable)
    │   └── MalformedResponseError       truncated/non-XML body, e.g. a CDN HTML page (retryable)
    ├── ControlError                     <control><status>failure: nothing ran
    │   ├── SenderCredentialsError       wrong sender_id / sender_password
    │   └── RequestSchemaError           XL03000003: the request broke the schema (never retried)
    ├── AuthenticationError              <authentication><status>failure
    │   ├── InvalidSessionError          session expired or unknown (client logs in again)
    │   ├── LoginError                   wrong user_id / user_password / company_id
    │   └── SenderNotAuthorizedError     sender not listed under Web Services authorizations
    └── FunctionError                    <result><status>failure for one function
        └── AlreadyAppliedError          uniqueid=true and the control id already ran

Messages say what failed and what to do. They never contain a password or a session id: the
client scrubs every known secret from the gateway's texts before an exception or log line is made.

Duplicate writes. The gateway's answer to a repeated function control id under ``uniqueid=true``
is not documented. This project assumes (and its sandbox implements) a function-level failure whose
``errorno`` is :data:`DUPLICATE_CONTROLID_ERRORNO`, or whose description/description2 says that the
control id was already executed (see :func:`is_duplicate_controlid_error`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

__all__ = [
    "DUPLICATE_CONTROLID_DESCRIPTION2",
    "DUPLICATE_CONTROLID_ERRORNO",
    "PARSE_ERRORNO",
    "RATE_LIMIT_ERRORNO",
    "AlreadyAppliedError",
    "AuthenticationError",
    "ControlError",
    "ErrorDetail",
    "FunctionError",
    "GatewayConnectionError",
    "GatewayHTTPError",
    "GatewayTimeoutError",
    "IntacctError",
    "InvalidSessionError",
    "LoginError",
    "MalformedResponseError",
    "RateLimitError",
    "RequestSchemaError",
    "SenderCredentialsError",
    "SenderNotAuthorizedError",
    "TransportError",
    "classify_authentication_failure",
    "classify_control_failure",
    "classify_function_failure",
    "is_duplicate_controlid_error",
    "is_transient_text",
]

#: ASSUMPTION (undocumented by Sage): errorno of the function failure the gateway returns when a
#: function arrives again with a control id that already ran under ``uniqueid=true``.
DUPLICATE_CONTROLID_ERRORNO = "XL03000013"
#: ASSUMPTION: description2 of that failure; ``{control_id}`` is the repeated function control id.
#: Any description2 matching :data:`_DUPLICATE_TEXT` is recognised as well.
DUPLICATE_CONTROLID_DESCRIPTION2 = (
    "A function with control ID {control_id} was already executed; uniqueid=true forbids a repeat."
)
#: Control-level code for a request that is not well-formed or breaks the schema.
PARSE_ERRORNO = "XL03000003"
#: Gateway code sent with HTTP 429 when the company sends too many requests.
RATE_LIMIT_ERRORNO = "GW-0010"
_SENDER_OR_LOGIN_ERRORNO = "XL03000006"
_INVALID_REQUEST_ERRORNO = "GW-0011"

_TRANSIENT_TEXT = re.compile(
    r"try again later|temporarily off-?line|temporarily unavailable|rate limit exceeded",
    re.IGNORECASE,
)
_DUPLICATE_TEXT = re.compile(
    r"control ?id\b.*\balready (?:been )?(?:executed|processed|run)", re.IGNORECASE | re.DOTALL
)
_INVALID_SESSION_TEXT = re.compile(r"invalid session", re.IGNORECASE)
_NOT_AUTHORIZED_TEXT = re.compile(
    r"web services authorization|not authorized to make web services", re.IGNORECASE
)
_SENDER_CREDENTIALS_TEXT = re.compile(
    r"partner id or password|sender id or password", re.IGNORECASE
)
_BAD_LOGIN_TEXT = re.compile(
    r"sign-in information is incorrect|invalid user|password", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    """One ``<error>`` of an ``<errormessage>``; empty elements become ``""``."""

    errorno: str
    description: str = ""
    description2: str = ""
    correction: str = ""

    def __str__(self) -> str:
        parts = [self.errorno, self.description, self.description2, self.correction]
        return " ".join(p.strip() for p in parts if p and p.strip())

    @property
    def text(self) -> str:
        """Description, description2 and correction joined (for text matching)."""
        return " ".join((self.description, self.description2, self.correction))

    def scrubbed(self, scrub: Callable[[str], str]) -> ErrorDetail:
        return replace(
            self,
            errorno=scrub(self.errorno),
            description=scrub(self.description),
            description2=scrub(self.description2),
            correction=scrub(self.correction),
        )


class IntacctError(Exception):
    """Base of every error raised by the gateway client."""

    level = "gateway"
    hint = ""
    default_retryable = False

    def __init__(
        self,
        summary: str = "",
        *,
        errors: Sequence[ErrorDetail] = (),
        function: str | None = None,
        control_id: str | None = None,
        http_status: int | None = None,
        retryable: bool | None = None,
        hint: str | None = None,
    ) -> None:
        self.summary = summary
        self.errors: tuple[ErrorDetail, ...] = tuple(errors)
        self.function = function
        self.control_id = control_id
        self.http_status = http_status
        self.retryable = self.default_retryable if retryable is None else retryable
        if hint is not None:
            self.hint = hint
        self.attempts = 1
        #: Seconds the server asked us to wait (Retry-After), if it said.
        self.retry_after: float | None = None
        super().__init__(self._message())

    def _message(self) -> str:
        where = f"Intacct {self.level} failure"
        if self.function:
            where += f" in {self.function}"
        if self.control_id:
            where += f" (control id {self.control_id})"
        if self.http_status is not None:
            where += f" [HTTP {self.http_status}]"
        message = where
        if self.summary:
            message += f": {self.summary}"
        if self.errors:
            message += " (" + "; ".join(str(e) for e in self.errors) + ")"
        if self.attempts > 1:
            message += f" [gave up after {self.attempts} attempts]"
        if self.hint:
            message += f". {self.hint}"
        if not message.endswith((".", "!", "?")):
            message += "."
        return message

    def __str__(self) -> str:
        return self._message()

    @property
    def reason(self) -> str:
        """A short reason for logs: summary, HTTP status and error numbers."""
        parts = [self.summary or self.level]
        if self.http_status is not None:
            parts.append(f"HTTP {self.http_status}")
        numbers = [n for n in self.errornos if n]
        if numbers:
            parts.append(", ".join(numbers))
        return " / ".join(parts)

    @property
    def errornos(self) -> tuple[str, ...]:
        return tuple(e.errorno for e in self.errors)

    def scrub(self, scrub: Callable[[str], str]) -> None:
        """Remove secrets from every text this exception carries (in place)."""
        self.summary = scrub(self.summary)
        self.errors = tuple(e.scrubbed(scrub) for e in self.errors)
        self.hint = scrub(self.hint)
        self.args = (self._message(),)

    def gave_up_after(self, attempts: int) -> None:
        self.attempts = attempts
        self.args = (self._message(),)


# --- transport -----------------------------------------------------------------------------------


class TransportError(IntacctError):
    """The HTTP exchange failed before a gateway answer could be read."""

    level = "transport"
    default_retryable = True
    hint = "This is usually temporary; the client retried with backoff up to max_retries"


class GatewayConnectionError(TransportError):
    """Could not connect, or the connection broke."""

    hint = (
        "Check network access to the gateway URL (api_url); the client retried with backoff up to "
        "max_retries"
    )


class GatewayTimeoutError(TransportError):
    """No response within request_timeout."""

    hint = "Raise request_timeout or lower the page size; reads were retried up to max_retries"


class GatewayHTTPError(TransportError):
    """A non-2xx answer without a gateway error that explains it."""

    hint = "Check api_url; server errors (5xx) were retried up to max_retries"


class RateLimitError(TransportError):
    """HTTP 429 / GW-0010: too many requests in a short period."""

    hint = (
        "Intacct throttled the company (GW-0010); the client backed off and retried up to "
        "max_retries. Run fewer syncs at once against this company, or raise max_retries"
    )


class MalformedResponseError(TransportError):
    """The body is not a gateway XML response (truncated, or an HTML page from the CDN)."""

    hint = (
        "The gateway or its CDN returned a broken or non-XML page; retried up to max_retries. "
        "If it persists, check api_url and Intacct's status page"
    )


# --- control level -------------------------------------------------------------------------------


class ControlError(IntacctError):
    """``<control><status>failure</status>``: the request was refused before anything ran."""

    level = "control"
    hint = "Nothing ran; see the gateway's errors above"


class SenderCredentialsError(ControlError):
    """Wrong Web Services sender ID or password."""

    hint = (
        "Check sender_id and sender_password: they are the Web Services sender credentials Sage "
        "issued (not the user login) and both are case-sensitive"
    )


class RequestSchemaError(ControlError):
    """XL03000003: the request was not well-formed or broke Intacct's schema. Never retried."""

    hint = (
        "The gateway rejected the request XML (XL03000003). This is a bug in tap-intacct: please "
        "report it with the errors above"
    )


# --- authentication level ------------------------------------------------------------------------


class AuthenticationError(IntacctError):
    """``<authentication><status>failure</status>``: the login or session was refused."""

    level = "authentication"
    hint = (
        "Check user_id, user_password, company_id and entity_id, and that the company subscribes "
        "to Web Services (Company > Subscriptions)"
    )


class InvalidSessionError(AuthenticationError):
    """The API session expired or is unknown."""

    hint = (
        "The API session expired or was ended; the client logs in again and replays the "
        "request (it gives up when a fresh session is refused at once, or after "
        "MAX_RELOGINS new sessions in one call). If this repeats, check that nothing else "
        "logs this user out and that session_refresh_minutes is below the company's session "
        "timeout"
    )


class LoginError(AuthenticationError):
    """Wrong user ID, user password or company ID."""

    hint = (
        "Check user_id, user_password and company_id (and entity_id if set); use a Web Services "
        "user that may sign in to this company"
    )


class SenderNotAuthorizedError(AuthenticationError):
    """The sender ID is not authorized for this company."""

    hint = (
        "In Intacct, add the sender ID under Company > Company Info > Security > "
        "Web Services authorizations (Configuration > Company), then run again"
    )


# --- function level ------------------------------------------------------------------------------


class FunctionError(IntacctError):
    """``<result><status>failure</status>``: one function failed."""

    level = "function"
    hint = "Follow the gateway's correction above, or check the object and field names"


class AlreadyAppliedError(FunctionError):
    """The gateway refused a repeat of a write function that already ran (uniqueid=true)."""

    hint = (
        "The gateway already executed a function with this control id, so this write was applied "
        "by an earlier attempt; treat it as done and do not resend it with a new control id"
    )


# --- classification ------------------------------------------------------------------------------


def is_transient_text(errors: Iterable[ErrorDetail]) -> bool:
    """True when an error says to try again later, the service is off-line, or a rate limit hit."""
    return any(_TRANSIENT_TEXT.search(e.text) for e in errors)


def is_duplicate_controlid_error(errors: Iterable[ErrorDetail]) -> bool:
    """True for the (assumed) answer to a repeated control id under uniqueid=true."""
    return any(
        e.errorno == DUPLICATE_CONTROLID_ERRORNO or _DUPLICATE_TEXT.search(e.text) for e in errors
    )


def classify_control_failure(
    errors: Sequence[ErrorDetail], *, control_id: str | None = None, http_status: int | None = None
) -> ControlError | RateLimitError:
    """Turn a control-level ``errormessage`` into the matching exception."""
    numbers = {e.errorno for e in errors}
    if RATE_LIMIT_ERRORNO in numbers or http_status == 429:
        return RateLimitError(
            "too many requests", errors=errors, control_id=control_id, http_status=http_status
        )
    if PARSE_ERRORNO in numbers:
        return RequestSchemaError(
            "request XML rejected", errors=errors, control_id=control_id, http_status=http_status
        )
    if any(_SENDER_CREDENTIALS_TEXT.search(e.text) for e in errors):
        return SenderCredentialsError(
            "sender credentials refused",
            errors=errors,
            control_id=control_id,
            http_status=http_status,
        )
    if _INVALID_REQUEST_ERRORNO in numbers:
        return SenderCredentialsError(
            "the gateway refused the request (GW-0011)",
            errors=errors,
            control_id=control_id,
            http_status=http_status,
        )
    if is_transient_text(errors):
        return ControlError(
            "temporary gateway failure",
            errors=errors,
            control_id=control_id,
            http_status=http_status,
            retryable=True,
            hint="Intacct reported a temporary problem; retried up to max_retries",
        )
    return ControlError(
        "request refused", errors=errors, control_id=control_id, http_status=http_status
    )


def classify_authentication_failure(
    errors: Sequence[ErrorDetail], *, control_id: str | None = None, used_session: bool = False
) -> AuthenticationError:
    """Turn an authentication-level ``errormessage`` into the matching exception.

    ``XL03000006`` alone is ambiguous; the texts tell an unauthorized sender, a bad login and an
    invalid session apart.
    """
    if any(_NOT_AUTHORIZED_TEXT.search(e.text) for e in errors):
        return SenderNotAuthorizedError(
            "sender not authorized for this company", errors=errors, control_id=control_id
        )
    if any(_INVALID_SESSION_TEXT.search(e.text) for e in errors):
        return InvalidSessionError("invalid session", errors=errors, control_id=control_id)
    if any(_BAD_LOGIN_TEXT.search(e.text) for e in errors):
        return LoginError("login refused", errors=errors, control_id=control_id)
    if used_session and not any(e.text.strip() for e in errors):
        return InvalidSessionError("session refused", errors=errors, control_id=control_id)
    if is_transient_text(errors):
        return AuthenticationError(
            "temporary authentication failure",
            errors=errors,
            control_id=control_id,
            retryable=True,
            hint="Intacct reported a temporary problem; retried up to max_retries",
        )
    return AuthenticationError("authentication refused", errors=errors, control_id=control_id)


def classify_function_failure(
    errors: Sequence[ErrorDetail], *, function: str | None = None, control_id: str | None = None
) -> FunctionError:
    """Turn a function-level ``errormessage`` into the matching exception."""
    if is_duplicate_controlid_error(errors):
        return AlreadyAppliedError(
            "write already applied", errors=errors, function=function, control_id=control_id
        )
    if is_transient_text(errors):
        return FunctionError(
            "temporary failure",
            errors=errors,
            function=function,
            control_id=control_id,
            retryable=True,
            hint="Intacct asked to try again later; retried with backoff up to max_retries",
        )
    return FunctionError(
        "function failed",
        errors=errors,
        function=function,
        control_id=control_id,
    )
