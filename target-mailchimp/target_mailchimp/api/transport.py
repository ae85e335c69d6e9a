"""HTTP transport: pooled session, per-account gate, retries, typed errors.

One :class:`Transport` is safe to share between threads. Each call holds one
slot of the account's :class:`~target_mailchimp.api.gate.AccountGate` only
while the request is on the wire, never while waiting to retry.

Nothing here logs headers or bodies: logs name the method, the path (which
holds ids and subscriber hashes, no addresses), the status, the
``X-Request-Id`` and the attempt.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter

from target_mailchimp import jsoncodec
from target_mailchimp.api.credentials import ApiKey, ScopedBasicAuth, resolve_base_url
from target_mailchimp.api.errors import (
    MailchimpConfigError,
    MailchimpError,
    Unreachable,
    error_from_response,
    parse_problem,
)
from target_mailchimp.api.gate import (
    ACCOUNT_CONNECTION_LIMIT,
    AccountGate,
    SharedSlots,
    gate_for,
)
from target_mailchimp.api.retry import RetryPolicy, parse_retry_after, retry_reason

logger = logging.getLogger("target_mailchimp.api")

DEFAULT_MAX_CONCURRENCY = 10
DEFAULT_REQUEST_TIMEOUT = 120.0
USER_AGENT = "target-mailchimp-intacct/0.1 (+python-requests)"


@dataclass(frozen=True)
class ApiResponse:
    """A successful answer plus what the audit trail needs about the call."""

    method: str
    path: str
    status: int
    data: Any
    request_id: str | None
    attempts: int
    elapsed: float
    retry_reasons: tuple[str, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def json(self) -> dict[str, Any]:
        """The body as a dict ({} for 204 or a non-object body)."""
        return self.data if isinstance(self.data, dict) else {}

    def call_info(self) -> dict[str, Any]:
        """A JSON-ready record of the call for the audit trail."""
        return {
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "request_id": self.request_id,
            "attempts": self.attempts,
            "retry_reasons": list(self.retry_reasons),
            "elapsed": round(self.elapsed, 3),
        }


@dataclass
class TransportStats:
    """Counters for the run report (thread-safe through the transport's lock)."""

    requests: int = 0
    calls: int = 0
    retries: int = 0
    failures: int = 0
    by_status: dict[int, int] = field(default_factory=dict)


#: Failures with no usable HTTP answer; the request may or may not have run.
NETWORK_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


def encode_json_body(body: Any) -> bytes:
    """A request body as compact UTF-8 JSON, in the target's one JSON encoding
    (:mod:`target_mailchimp.jsoncodec`): ``Decimal`` money as an exact JSON number, NaN and
    infinities refused with ValueError."""
    return jsoncodec.encode(body)


def encode_path_segment(value: str) -> str:
    """One path segment, percent-encoded (ids are client-chosen strings)."""
    if not isinstance(value, str) or not value:
        raise ValueError("a path id must be a non-empty string")
    if value in (".", ".."):
        raise ValueError(f"{value!r} cannot be used as an id in a URL path")
    return quote(value, safe="")


class Transport:
    """Sends requests to one Mailchimp account with retries and a concurrency cap."""

    def __init__(
        self,
        api_key: str | ApiKey,
        *,
        api_url: str | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        connect_timeout: float | None = None,
        retry: RetryPolicy | None = None,
        max_retries: int | None = None,
        shared_slots: SharedSlots | None = None,
    ) -> None:
        self._key = api_key if isinstance(api_key, ApiKey) else ApiKey(api_key)
        self.shared_slots = shared_slots
        self.base_url = resolve_base_url(self._key, api_url)
        self.max_concurrency = self._check_concurrency(max_concurrency)
        if not request_timeout or request_timeout <= 0:
            raise MailchimpConfigError("`request_timeout` must be a positive number of seconds.")
        self.request_timeout = float(request_timeout)
        self.connect_timeout = float(connect_timeout or min(10.0, self.request_timeout))
        policy = retry or RetryPolicy()
        if max_retries is not None:
            policy = dataclasses.replace(policy, max_retries=max_retries)
        self.retry = policy
        self.account = self._key.fingerprint
        self.gate: AccountGate = gate_for(self.account)
        self.gate.register(id(self), self.max_concurrency)
        self._finalizer = weakref.finalize(self, self.gate.unregister, id(self))
        self.stats = TransportStats()
        self._stats_lock = threading.Lock()
        self.session = self._build_session()

    @staticmethod
    def _check_concurrency(value: int) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise MailchimpConfigError("`max_concurrency` must be a whole number from 1 to 10.")
        if value > ACCOUNT_CONNECTION_LIMIT:
            logger.warning(
                "max_concurrency=%d is above Mailchimp's limit of %d simultaneous connections "
                "per account; using %d.",
                value,
                ACCOUNT_CONNECTION_LIMIT,
                ACCOUNT_CONNECTION_LIMIT,
            )
            return ACCOUNT_CONNECTION_LIMIT
        return value

    def _build_session(self) -> requests.Session:
        session = requests.Session()
        adapter = HTTPAdapter(
            pool_connections=2,
            pool_maxsize=max(self.max_concurrency, ACCOUNT_CONNECTION_LIMIT),
            max_retries=0,
        )
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.auth = ScopedBasicAuth(self._key, self.base_url)
        session.verify = True
        session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        return session

    def close(self) -> None:
        """Release the pooled connections and leave the account gate."""
        self._finalizer()
        self.session.close()

    @contextmanager
    def _slot(self) -> Iterator[None]:
        """This process's gate, then (when given) one of the account's shared slots."""
        with self.gate.slot():
            if self.shared_slots is None:
                yield
            else:
                with self.shared_slots.hold(self.account):
                    yield

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, account={self.account!r}, "
            f"max_concurrency={self.max_concurrency})"
        )

    def redact(self, text: str) -> str:
        return self._key.redact(text)

    # -- requests ---------------------------------------------------------------------------

    def url_for(self, path: str) -> str:
        if not path.startswith("/") or "://" in path or path.startswith("//"):
            raise ValueError(f"API path must start with '/' and be relative to /3.0: {path!r}")
        return self.base_url + path

    def _count(self, *, status: int | None = None, retry: bool = False) -> None:
        with self._stats_lock:
            self.stats.requests += 1
            if retry:
                self.stats.retries += 1
            if status is not None:
                self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        retry: bool = True,
    ) -> ApiResponse:
        """Send one API call, retrying transient failures; return the parsed answer.

        Raises a :class:`~target_mailchimp.api.errors.MailchimpError` subclass
        when the call fails for good.
        """
        method = method.upper()
        url = self.url_for(path)
        data = None
        headers = {}
        if json_body is not None:
            data = encode_json_body(json_body)
            headers["Content-Type"] = "application/json"
        policy = self.retry
        max_attempts = policy.max_retries + 1 if retry else 1
        waits = policy.waits()
        started = policy.clock()
        reasons: list[str] = []
        attempt = 0
        with self._stats_lock:
            self.stats.calls += 1
        while True:
            attempt += 1
            t0 = time.monotonic()
            try:
                with self._slot():
                    resp = self.session.request(
                        method,
                        url,
                        params=params,
                        data=data,
                        headers=headers,
                        timeout=(self.connect_timeout, self.request_timeout),
                    )
                    body = resp.content
            except NETWORK_ERRORS as exc:
                self._count(retry=attempt > 1)
                timed_out = isinstance(exc, requests.Timeout)
                reason = self._network_reason(exc)
                if not self._may_retry(attempt, max_attempts, started):
                    with self._stats_lock:
                        self.stats.failures += 1
                    raise Unreachable(
                        f"Mailchimp did not answer {method} {path}: {reason} "
                        f"[{attempt} attempt{'s' if attempt != 1 else ''}]",
                        timed_out=timed_out,
                        method=method,
                        path=path,
                        attempts=attempt,
                        retry_reasons=tuple(reasons),
                    ) from None
                reasons.append(reason)
                wait = policy.wait_for(next(waits), reason_timeout=timed_out, retry_after=None)
                self._sleep_before_retry(
                    method,
                    path,
                    attempt=attempt,
                    max_attempts=max_attempts,
                    wait=wait,
                    reason=reason,
                    request_id=None,
                    started=started,
                )
                continue
            except requests.RequestException as exc:
                raise MailchimpConfigError(
                    self.redact(f"Cannot send {method} {path}: {type(exc).__name__}: {exc}")
                ) from None

            elapsed = time.monotonic() - t0
            status = resp.status_code
            request_id = resp.headers.get("X-Request-Id")
            self._count(status=status, retry=attempt > 1)
            logger.debug(
                "%s %s -> %d in %.3fs (request id %s, attempt %d)",
                method,
                path,
                status,
                elapsed,
                request_id,
                attempt,
            )
            if 200 <= status < 300:
                return ApiResponse(
                    method=method,
                    path=path,
                    status=status,
                    data=self._decode(
                        body,
                        resp.headers,
                        method=method,
                        path=path,
                        request_id=request_id,
                        attempts=attempt,
                    ),
                    request_id=request_id,
                    attempts=attempt,
                    elapsed=policy.clock() - started,
                    retry_reasons=tuple(reasons),
                    headers=dict(resp.headers),
                )
            has_problem = parse_problem(body) is not None
            reason_text = retry_reason(status, has_problem)
            if reason_text and self._may_retry(attempt, max_attempts, started):
                reasons.append(reason_text)
                wait = policy.wait_for(
                    next(waits),
                    reason_timeout=False,
                    retry_after=parse_retry_after(resp.headers),
                )
                self._sleep_before_retry(
                    method,
                    path,
                    attempt=attempt,
                    max_attempts=max_attempts,
                    wait=wait,
                    reason=reason_text,
                    request_id=request_id,
                    started=started,
                )
                continue
            with self._stats_lock:
                self.stats.failures += 1
            raise error_from_response(
                status=status,
                body=body,
                headers=resp.headers,
                method=method,
                path=path,
                attempts=attempt,
                retry_reasons=tuple(reasons),
                redact=self.redact,
            )

    def _may_retry(self, attempt: int, max_attempts: int, started: float) -> bool:
        return attempt < max_attempts and (self.retry.clock() - started) < self.retry.max_time

    def _sleep_before_retry(
        self,
        method: str,
        path: str,
        *,
        attempt: int,
        max_attempts: int,
        wait: float,
        reason: str,
        request_id: str | None,
        started: float,
    ) -> None:
        remaining = self.retry.max_time - (self.retry.clock() - started)
        wait = max(0.0, min(wait, remaining))
        logger.warning(
            "Retrying %s %s (attempt %d of %d failed: %s%s); next attempt in %.2fs",
            method,
            path,
            attempt,
            max_attempts,
            reason,
            f", request id {request_id}" if request_id else "",
            wait,
        )
        self.retry.sleep(wait)

    def _network_reason(self, exc: Exception) -> str:
        if isinstance(exc, requests.ConnectTimeout):
            return "connect timeout"
        if isinstance(exc, requests.ReadTimeout):
            return f"read timeout after {self.request_timeout:g}s"
        if isinstance(exc, requests.Timeout):
            return "timeout"
        if isinstance(exc, requests.exceptions.ChunkedEncodingError):
            return "connection broken while reading the answer"
        # The exception text names host and port only; the key is never in a URL.
        return self.redact(f"connection error ({type(exc).__name__})")

    @staticmethod
    def _decode(
        body: bytes,
        headers: Mapping[str, str],
        *,
        method: str,
        path: str,
        request_id: str | None,
        attempts: int,
    ) -> Any:
        if not body:
            return None
        try:
            return json.loads(body)
        except ValueError:
            ctype = headers.get("Content-Type", "")
            raise MailchimpError(
                f"Mailchimp answered {method} {path} with a success whose body is not JSON "
                f"(Content-Type {ctype!r}, request id {request_id})",
                method=method,
                path=path,
                request_id=request_id,
                attempts=attempts,
            ) from None

    # -- raw downloads ----------------------------------------------------------------------

    def download(self, url: str, sink: IO[bytes], *, chunk_size: int = 1 << 16) -> int:
        """Stream ``url`` into ``sink`` (retrying transient failures); return the byte count.

        The key is sent only if ``url`` is on the API's own origin.
        """
        policy = self.retry
        max_attempts = policy.max_retries + 1
        waits = policy.waits()
        started = policy.clock()
        attempt = 0
        shown = self.redact(url.split("?", 1)[0])
        while True:
            attempt += 1
            sink.seek(0)
            sink.truncate()
            try:
                with self._slot():
                    resp = self.session.get(
                        url, stream=True, timeout=(self.connect_timeout, self.request_timeout)
                    )
                    with resp:
                        status = resp.status_code
                        if status == 200:
                            size = 0
                            for chunk in resp.iter_content(chunk_size):
                                sink.write(chunk)
                                size += len(chunk)
                            body = b""
                        else:
                            body = resp.content[:4096]
                        headers = dict(resp.headers)
            except NETWORK_ERRORS as exc:
                self._count(retry=attempt > 1)
                reason = self._network_reason(exc)
                if not self._may_retry(attempt, max_attempts, started):
                    raise Unreachable(
                        f"Could not download {shown}: {reason} [{attempt} attempts]",
                        timed_out=isinstance(exc, requests.Timeout),
                        method="GET",
                        path=shown,
                        attempts=attempt,
                    ) from None
                wait = policy.wait_for(
                    next(waits), reason_timeout=isinstance(exc, requests.Timeout), retry_after=None
                )
                self._sleep_before_retry(
                    "GET",
                    shown,
                    attempt=attempt,
                    max_attempts=max_attempts,
                    wait=wait,
                    reason=reason,
                    request_id=None,
                    started=started,
                )
                continue
            self._count(status=status, retry=attempt > 1)
            if status == 200:
                sink.seek(0)
                return size
            reason_text = retry_reason(status, parse_problem(body) is not None)
            if status != 403 and reason_text and self._may_retry(attempt, max_attempts, started):
                wait = policy.wait_for(
                    next(waits), reason_timeout=False, retry_after=parse_retry_after(headers)
                )
                self._sleep_before_retry(
                    "GET",
                    shown,
                    attempt=attempt,
                    max_attempts=max_attempts,
                    wait=wait,
                    reason=reason_text,
                    request_id=None,
                    started=started,
                )
                continue
            raise error_from_response(
                status=status,
                body=body,
                headers=headers,
                method="GET",
                path=shown,
                attempts=attempt,
                redact=self.redact,
            )
