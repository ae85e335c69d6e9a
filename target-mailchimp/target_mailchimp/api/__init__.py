"""Mailchimp Marketing API v3 client (no Singer SDK imports; usable and testable alone).

Public surface:

- :class:`MailchimpClient`: typed calls (members, merge fields, stores,
  customers, products, orders, batches) over one pooled session, with
  retries and a per-account concurrency cap.
- Errors: :class:`MailchimpError` and its subclasses, parsed from problem+json.
- Results: :class:`WriteResult`, :class:`BatchSubscribeResult`,
  :class:`MemberError`, :class:`BatchStatus`, :class:`BatchOperationResult`,
  :class:`BatchRun`, :class:`ApiResponse`.
- Helpers: :func:`subscriber_hash`, :func:`chunked`, :func:`resolve_base_url`,
  :class:`RetryPolicy`.
"""

from target_mailchimp.api.batches import (
    BatchOperation,
    BatchOperationResult,
    BatchRun,
    BatchStatus,
    parse_batch_archive,
)
from target_mailchimp.api.client import MAX_BATCH_SUBSCRIBE, MailchimpClient, chunked
from target_mailchimp.api.credentials import ApiKey, resolve_base_url
from target_mailchimp.api.errors import (
    BadRequest,
    BatchResultsError,
    BatchTimeout,
    FieldError,
    Forbidden,
    MailchimpConfigError,
    MailchimpError,
    MethodNotAllowed,
    NotFound,
    ServerError,
    TooManyRequests,
    Unauthorized,
    Unreachable,
    error_from_response,
)
from target_mailchimp.api.gate import (
    ACCOUNT_CONNECTION_LIMIT,
    AccountGate,
    SharedSlots,
    gate_for,
)
from target_mailchimp.api.hashing import normalize_email, subscriber_hash
from target_mailchimp.api.results import BatchSubscribeResult, MemberError, WriteResult
from target_mailchimp.api.retry import RetryPolicy
from target_mailchimp.api.transport import ApiResponse, Transport, TransportStats

__all__ = [
    "ACCOUNT_CONNECTION_LIMIT",
    "MAX_BATCH_SUBSCRIBE",
    "AccountGate",
    "ApiKey",
    "ApiResponse",
    "BadRequest",
    "BatchOperation",
    "BatchOperationResult",
    "BatchResultsError",
    "BatchRun",
    "BatchStatus",
    "BatchSubscribeResult",
    "BatchTimeout",
    "FieldError",
    "Forbidden",
    "MailchimpClient",
    "MailchimpConfigError",
    "MailchimpError",
    "MemberError",
    "MethodNotAllowed",
    "NotFound",
    "RetryPolicy",
    "ServerError",
    "SharedSlots",
    "TooManyRequests",
    "Transport",
    "TransportStats",
    "Unauthorized",
    "Unreachable",
    "WriteResult",
    "chunked",
    "error_from_response",
    "gate_for",
    "normalize_email",
    "parse_batch_archive",
    "resolve_base_url",
    "subscriber_hash",
]
