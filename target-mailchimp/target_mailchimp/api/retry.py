"""When and how long to wait before a request is tried again.

Waits follow ``backoff.expo`` (1, 2, 4 ... seconds, capped at ``max_wait``)
with ``backoff.full_jitter`` so parallel workers do not retry in step. A
``Retry-After`` header, when Mailchimp sends one, sets a floor. After a read
timeout the request may still be running on Mailchimp's side and holding a
connection, so the wait there is never shorter than ``timeout_min_wait``.

Tests pass ``sleep=lambda s: None`` (or a recorder) so no real time passes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import backoff

#: Statuses retried as transient (plus a 403 without a problem document).
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def _default_jitter(value: float) -> float:
    return float(backoff.full_jitter(value))


@dataclass(frozen=True)
class RetryPolicy:
    """Retry settings of one client.

    ``max_retries`` counts retries after the first attempt (so a call makes at
    most ``max_retries + 1`` attempts); ``max_time`` caps the seconds spent on
    one call across attempts and waits (no new attempt starts after it).
    """

    max_retries: int = 5
    max_time: float = 600.0
    base: float = 2.0
    factor: float = 1.0
    max_wait: float = 60.0
    timeout_min_wait: float = 5.0
    jitter: Callable[[float], float] | None = _default_jitter
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        if self.max_time <= 0:
            raise ValueError("max_time must be positive")

    @classmethod
    def no_wait(cls, max_retries: int = 5, **kwargs: object) -> RetryPolicy:
        """A policy that retries without sleeping (for tests)."""
        return cls(max_retries=max_retries, sleep=lambda _s: None, **kwargs)  # type: ignore[arg-type]

    def waits(self) -> Iterator[float]:
        """The un-jittered exponential waits, from ``backoff.expo``."""
        gen = backoff.expo(base=self.base, factor=self.factor, max_value=self.max_wait)
        next(gen)  # the generator's priming value
        return gen

    def wait_for(self, nominal: float, *, reason_timeout: bool, retry_after: float | None) -> float:
        """The seconds to sleep before the next attempt."""
        seconds = self.jitter(nominal) if self.jitter is not None else nominal
        if reason_timeout:
            seconds = max(seconds, min(self.timeout_min_wait, self.max_wait))
        if retry_after is not None:
            seconds = max(seconds, min(retry_after, self.max_wait))
        return max(0.0, seconds)


def retry_reason(status: int, has_problem_body: bool) -> str | None:
    """Why an answer with ``status`` should be retried, or None if it must not be."""
    if status == 429:
        return "throttled (429 Too Many Requests)"
    if status == 403 and not has_problem_body:
        return "throttled (403 without a problem document)"
    if status in RETRY_STATUSES:
        return f"server error ({status})"
    return None


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a numeric ``Retry-After`` header (HTTP dates are ignored)."""
    raw = headers.get("Retry-After")
    if not raw:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if value >= 0 else None
