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
    """A semaphore whose limit can be lowered while threads wait on it.

    ``configured`` is the allowance it started with, ``limit`` the requests allowed in flight
    now and ``peak`` the most that were in flight at once (read them; only the methods change
    them).
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("the allowance of simultaneous requests is at least 1")
        self.configured = limit
        self.limit = limit
        self.peak = 0
        self._in_use = 0
        self._cond = threading.Condition()

    def acquire(self) -> None:
        with self._cond:
            while self._in_use >= self.limit:
                self._cond.wait()
            self._in_use += 1
            self.peak = max(self.peak, self._in_use)

    def release(self) -> None:
        with self._cond:
            self._in_use -= 1
            self._cond.notify()

    def lower(self) -> int | None:
        """Allow one request fewer from now on (never fewer than one); the new limit, or None
        when it was already one."""
        with self._cond:
            if self.limit <= 1:
                return None
            self.limit -= 1
            return self.limit

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
