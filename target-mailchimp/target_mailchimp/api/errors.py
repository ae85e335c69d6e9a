"""Typed errors of the Mailchimp Marketing API client.

Mailchimp answers failures with an RFC 7807 problem document
(``application/problem+json``): ``type``, ``title``, ``status``, ``detail``,
``instance`` and, for validation failures, ``errors: [{field, message}]``.
:func:`error_from_response` turns such an answer (or a body that is not JSON at
all, e.g. an HTML 502 page from the CDN) into one of the classes below.

Every message is passed through the client's redactor before it is stored, so
neither ``str()`` nor ``repr()`` of an error can contain the API key.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

#: How much of a body that is not a problem document is kept on the error.
BODY_SNIPPET_CHARS = 300


@dataclass(frozen=True, slots=True)
class FieldError:
    """One entry of a problem document's ``errors`` array."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class MailchimpConfigError(ValueError):
    """The client cannot be built from the given settings (key, URL, limits)."""


class MailchimpError(Exception):
    """A Mailchimp call failed.

    Attributes hold the parsed problem document (``status``, ``title``,
    ``detail``, ``type``, ``instance``, ``errors``), the call (``method``,
    ``path``), the ``X-Request-Id`` of the last answer (``request_id``), how
    many attempts the call took (``attempts``) and why earlier attempts were
    retried (``retry_reasons``).
    """

    #: True when the same call may succeed later (throttling, 5xx, network).
    transient: bool = False

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        title: str = "",
        detail: str = "",
        type_uri: str = "",
        instance: str = "",
        errors: tuple[FieldError, ...] = (),
        request_id: str | None = None,
        method: str = "",
        path: str = "",
        attempts: int = 1,
        retry_reasons: tuple[str, ...] = (),
        body_snippet: str = "",
        has_problem_body: bool = False,
    ) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.type_uri = type_uri
        self.instance = instance
        self.errors = errors
        self.request_id = request_id
        self.method = method
        self.path = path
        self.attempts = attempts
        self.retry_reasons = retry_reasons
        self.body_snippet = body_snippet
        self.has_problem_body = has_problem_body
        self.message = message or self._default_message()
        super().__init__(self.message)

    def _default_message(self) -> str:
        head = " ".join(p for p in (str(self.status or ""), self.title) if p) or "Mailchimp error"
        text = f"{head}: {self.detail}" if self.detail else head
        if self.errors:
            text += " (" + "; ".join(str(e) for e in self.errors) + ")"
        if not self.detail and not self.errors and self.body_snippet:
            text += f": {self.body_snippet}"
        call = f"{self.method} {self.path}".strip()
        tail = []
        if call:
            tail.append(call)
        if self.request_id:
            tail.append(f"request id {self.request_id}")
        tail.append(f"{self.attempts} attempt{'s' if self.attempts != 1 else ''}")
        return f"{text} [{', '.join(tail)}]"

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, message={self.message!r})"

    @property
    def field_errors(self) -> dict[str, str]:
        """The ``errors`` array as ``{field: message}`` (last message wins)."""
        return {e.field: e.message for e in self.errors}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary for the audit trail (already redacted)."""
        return {
            "error_class": type(self).__name__,
            "status": self.status,
            "title": self.title,
            "detail": self.detail,
            "errors": [{"field": e.field, "message": e.message} for e in self.errors],
            "request_id": self.request_id,
            "method": self.method,
            "path": self.path,
            "attempts": self.attempts,
            "retry_reasons": list(self.retry_reasons),
            "message": self.message,
        }


class BadRequest(MailchimpError):  # noqa: N818 - named after the HTTP status
    """HTTP 400: the request or the data in it is wrong; retrying will not help."""

    def _text(self) -> str:
        return f"{self.title} {self.detail}".lower()

    @property
    def is_already_exists(self) -> bool:
        """A create met an existing resource (order, product, store, customer, merge field)."""
        return "already exist" in self._text() and not self.is_member_exists

    @property
    def is_member_exists(self) -> bool:
        """``Member Exists``: POST /members for an address already on the list."""
        return self.title.lower() == "member exists" or "is already a list member" in self._text()

    @property
    def is_compliance_state(self) -> bool:
        """``Member In Compliance State``: unsubscribed, bounced or under review."""
        return "compliance state" in self._text()

    @property
    def is_forgotten(self) -> bool:
        """``Forgotten Email Not Subscribed``: permanently deleted, cannot be re-imported."""
        text = self._text()
        return "forgotten email" in text or "permanently deleted" in text

    @property
    def is_fake_or_invalid(self) -> bool:
        """The address ``looks fake or invalid``."""
        return "looks fake or invalid" in self._text()

    @property
    def is_signup_throttled(self) -> bool:
        """The address ``has signed up to a lot of lists very recently``."""
        return "signed up to a lot of lists" in self._text()

    @property
    def is_invalid_resource(self) -> bool:
        """``Invalid Resource``: the body failed validation (see :attr:`errors`)."""
        return self.title.lower() == "invalid resource"

    @property
    def is_unknown_product(self) -> bool:
        """An order line names a product or variant the store does not have."""
        return "does not exist in the account" in self._text()


class Unauthorized(MailchimpError):  # noqa: N818 - named after the HTTP status
    """HTTP 401: the key is invalid, missing, or meant for another data center."""


class Forbidden(MailchimpError):  # noqa: N818 - named after the HTTP status
    """HTTP 403 with a problem document: the user or plan may not do this."""


class NotFound(MailchimpError):  # noqa: N818 - named after the HTTP status
    """HTTP 404: the resource (list, store, member, order...) does not exist."""


class MethodNotAllowed(MailchimpError):  # noqa: N818 - named after the HTTP status
    """HTTP 405; ``allow`` lists the methods the path accepts."""

    def __init__(self, message: str = "", *, allow: tuple[str, ...] = (), **kwargs: Any) -> None:
        self.allow = allow
        super().__init__(message, **kwargs)


class TooManyRequests(MailchimpError):  # noqa: N818 - named after the HTTP status
    """Throttled: HTTP 429, or a 403 without a problem document, after all retries."""

    transient = True


class ServerError(MailchimpError):
    """HTTP 5xx after all retries (the request may or may not have been applied)."""

    transient = True


class Unreachable(MailchimpError):  # noqa: N818 - named after the HTTP status
    """No HTTP answer after all retries: connection refused/reset or timed out."""

    transient = True

    def __init__(self, message: str = "", *, timed_out: bool = False, **kwargs: Any) -> None:
        self.timed_out = timed_out
        super().__init__(message, **kwargs)


class BatchTimeout(MailchimpError):  # noqa: N818 - named after the HTTP status
    """A batch operation did not finish before the polling deadline."""

    transient = True

    def __init__(self, message: str = "", *, batch_id: str = "", **kwargs: Any) -> None:
        self.batch_id = batch_id
        super().__init__(message, **kwargs)


class BatchResultsError(MailchimpError):
    """The results archive of a batch could not be downloaded or read."""


_BY_STATUS: dict[int, type[MailchimpError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    429: TooManyRequests,
}


def parse_problem(body: bytes | str | None) -> dict[str, Any] | None:
    """The problem document in ``body``, or None when the body is not a JSON object."""
    if not body:
        return None
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return doc if isinstance(doc, dict) else None


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _field_errors(raw: Any, redact: Callable[[str], str]) -> tuple[FieldError, ...]:
    if not isinstance(raw, list):
        return ()
    out = []
    for item in raw:
        if isinstance(item, Mapping):
            out.append(
                FieldError(
                    field=redact(_as_text(item.get("field"))),
                    message=redact(_as_text(item.get("message"))),
                )
            )
        elif item is not None:
            out.append(FieldError(field="", message=redact(_as_text(item))))
    return tuple(out)


def _snippet(body: bytes | str | None) -> str:
    if not body:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = " ".join(text.split())
    if len(text) > BODY_SNIPPET_CHARS:
        text = text[:BODY_SNIPPET_CHARS] + "..."
    return text


def error_from_response(
    *,
    status: int,
    body: bytes | str | None,
    headers: Mapping[str, str] | None = None,
    method: str = "",
    path: str = "",
    attempts: int = 1,
    retry_reasons: tuple[str, ...] = (),
    redact: Callable[[str], str] = lambda s: s,
) -> MailchimpError:
    """Build the typed error for an HTTP answer that is not a success.

    The HTTP status decides the class; the problem document (when the body is
    one) fills title, detail and errors. A 403 without a problem document is
    Mailchimp throttling at high volume and becomes :class:`TooManyRequests`.
    """
    headers = headers or {}
    doc = parse_problem(body)
    request_id = headers.get("X-Request-Id") or headers.get("x-request-id")
    common: dict[str, Any] = {
        "status": status,
        "request_id": redact(request_id) if request_id else None,
        "method": method,
        "path": redact(path),
        "attempts": attempts,
        "retry_reasons": retry_reasons,
        "has_problem_body": doc is not None,
    }
    if doc is not None:
        common.update(
            title=redact(_as_text(doc.get("title"))),
            detail=redact(_as_text(doc.get("detail"))),
            type_uri=redact(_as_text(doc.get("type"))),
            instance=redact(_as_text(doc.get("instance"))),
            errors=_field_errors(doc.get("errors"), redact),
        )
    else:
        common["body_snippet"] = redact(_snippet(body))
    if doc is None and status == 403:
        common.setdefault("title", "Forbidden without a body (throttling)")
        return TooManyRequests(**common)
    if status >= 500:
        return ServerError(**common)
    cls = _BY_STATUS.get(status, MailchimpError)
    if cls is MethodNotAllowed:
        allow = tuple(
            m.strip().upper() for m in (headers.get("Allow") or "").split(",") if m.strip()
        )
        return MethodNotAllowed(allow=allow, **common)
    return cls(**common)
