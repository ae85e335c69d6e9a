"""Typed results of the client's calls (what the sinks and the audit trail read)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from target_mailchimp.api.errors import MailchimpError
from target_mailchimp.api.transport import ApiResponse

Action = Literal["created", "updated", "unchanged", "archived", "absent", "deleted"]


def error_call_info(err: MailchimpError) -> dict[str, Any]:
    """The audit record of a call that ended in ``err`` (same keys as a success)."""
    return {
        "method": err.method,
        "path": err.path,
        "status": err.status,
        "request_id": err.request_id,
        "attempts": err.attempts,
        "retry_reasons": list(err.retry_reasons),
        "error": f"{type(err).__name__}: {err.title or err.detail}".strip(),
    }


@dataclass(frozen=True)
class WriteResult:
    """Outcome of a write that may take several calls (create, then update...).

    ``action`` says what happened to the resource; ``recovered`` is True when
    a create was retried after a transient failure and then met "already
    exists": the earlier attempt (or someone else) had created it, and the
    update that followed made it match the body sent. ``calls`` holds one
    audit record per HTTP call, failed ones included, in order.
    """

    action: Action
    resource_id: str
    data: dict[str, Any]
    calls: tuple[dict[str, Any], ...]
    recovered: bool = False

    @property
    def request_ids(self) -> tuple[str, ...]:
        return tuple(c["request_id"] for c in self.calls if c.get("request_id"))

    @property
    def request_id(self) -> str | None:
        """The request id of the last call."""
        return self.calls[-1].get("request_id") if self.calls else None

    @property
    def attempts(self) -> int:
        """HTTP attempts across all calls, retries included."""
        return sum(int(c.get("attempts") or 0) for c in self.calls)


def write_result(
    action: Action,
    resource_id: str,
    final: ApiResponse | None,
    *,
    before: tuple[dict[str, Any], ...] = (),
    recovered: bool = False,
    data: Mapping[str, Any] | None = None,
) -> WriteResult:
    calls = before + ((final.call_info(),) if final is not None else ())
    body = dict(data) if data is not None else (final.json if final is not None else {})
    return WriteResult(
        action=action, resource_id=resource_id, data=body, calls=calls, recovered=recovered
    )


@dataclass(frozen=True)
class MemberError:
    """One entry of a batch-subscribe ``errors`` array."""

    email_address: str
    error: str
    error_code: str = ""
    field: str = ""
    field_message: str = ""

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> MemberError:
        def s(key: str) -> str:
            value = raw.get(key)
            return "" if value is None else str(value)

        return cls(
            email_address=s("email_address"),
            error=s("error"),
            error_code=s("error_code"),
            field=s("field"),
            field_message=s("field_message"),
        )

    @property
    def is_contact_exists(self) -> bool:
        return self.error_code == "ERROR_CONTACT_EXISTS"

    @property
    def is_compliance_state(self) -> bool:
        return "compliance state" in self.error.lower()

    @property
    def is_forgotten(self) -> bool:
        text = self.error.lower()
        return "permanently deleted" in text or "forgotten" in text

    @property
    def is_fake_or_invalid(self) -> bool:
        return "looks fake or invalid" in self.error.lower()

    @property
    def is_signup_throttled(self) -> bool:
        return "signed up to a lot of lists" in self.error.lower()

    @property
    def is_merge_field_error(self) -> bool:
        return bool(self.field)

    def describe(self) -> str:
        text = self.error or self.error_code or "rejected"
        if self.field:
            text += f" (field {self.field}: {self.field_message})"
        return text


@dataclass(frozen=True)
class BatchSubscribeResult:
    """Answer of ``POST /lists/{list_id}`` (HTTP 200 even when members failed)."""

    list_id: str
    new_members: list[dict[str, Any]]
    updated_members: list[dict[str, Any]]
    errors: list[MemberError]
    total_created: int
    total_updated: int
    error_count: int
    response: ApiResponse = field(repr=False)

    @property
    def request_id(self) -> str | None:
        return self.response.request_id

    @property
    def attempts(self) -> int:
        return self.response.attempts

    @property
    def retried(self) -> bool:
        """The call was sent more than once: an ``ERROR_CONTACT_EXISTS`` may come
        from an earlier attempt that was applied although its answer was lost."""
        return self.response.attempts > 1

    def errors_by_email(self) -> dict[str, MemberError]:
        """Errors keyed by the lower-cased, trimmed address."""
        return {e.email_address.strip().lower(): e for e in self.errors}
