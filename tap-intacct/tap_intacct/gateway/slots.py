"""The company's allowance of simultaneous requests, shared by every thread of a client.

Intacct allows a company a few simultaneous requests (most companies 2, more on higher service
levels); a request above the allowance is answered with HTTP 429 and ``GW-0010``. The client
holds one :class:`RequestSlots` and takes a slot around every HTTP request, so however many
threads read at once, no more than ``limit`` requests are in flight. When the gateway refuses
one anyway (another client of the same company holds slots, or the company's allowance is lower
than configured) :meth:`RequestSlots.lower` takes one slot away for the rest of the run.
"""

from __future__ import annotations

import threading
from types import TracebackType


class RequestSlots:
    """A semaphore whose limit can be lowered while threads wait on it."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("the allowance of simultaneous requests is at least 1")
        self._configured = limit
        self._limit = limit
        self._in_use = 0
        self._peak = 0
        self._lowered = 0
        self._cond = threading.Condition()

    @property
    def limit(self) -> int:
        """Requests allowed in flight now."""
        return self._limit

    @property
    def configured(self) -> int:
        return self._configured

    @property
    def peak(self) -> int:
        """Most requests that were in flight at once."""
        return self._peak

    @property
    def times_lowered(self) -> int:
        return self._lowered

    def acquire(self) -> None:
        with self._cond:
            while self._in_use >= self._limit:
                self._cond.wait()
            self._in_use += 1
            self._peak = max(self._peak, self._in_use)

    def release(self) -> None:
        with self._cond:
            self._in_use -= 1
            self._cond.notify()

    def lower(self) -> int | None:
        """Allow one request fewer from now on (never fewer than one); the new limit, or None
        when it was already one."""
        with self._cond:
            if self._limit <= 1:
                return None
            self._limit -= 1
            self._lowered += 1
            return self._limit

    def __enter__(self) -> RequestSlots:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
