"""A clock that tests can move: `clock.advance(minutes=46)`.

The sandbox reads time only through this clock: session expiry, `sessiontimestamp` and
`sessiontimeout`, WHENMODIFIED of touched or created records. By default it runs with real
time plus an offset that `advance()` grows; `frozen=True` stops it so that only `advance()`
and `set()` move it (handy for exact assertions).

Company time is US Pacific (the gateway prints session times with -08:00/-07:00 offsets);
record timestamps such as WHENMODIFIED are naive values in that zone.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from zoneinfo import ZoneInfo

PACIFIC = ZoneInfo("America/Los_Angeles")


class SandboxClock:
    """Thread-safe movable clock.

    `start`: the initial instant (aware, or naive meaning company/Pacific time); default now.
    `frozen`: if true the clock does not follow real time.
    """

    def __init__(self, start: dt.datetime | None = None, *, frozen: bool = False) -> None:
        if start is None:
            start = dt.datetime.now(dt.UTC).replace(microsecond=0)
        elif start.tzinfo is None:
            start = start.replace(tzinfo=PACIFIC)
        self._lock = threading.Lock()
        self._base = start.astimezone(dt.UTC)
        self._mono0 = time.monotonic()
        self._offset = dt.timedelta(0)
        self.frozen = frozen

    def now(self) -> dt.datetime:
        """Current instant, aware, in UTC."""
        with self._lock:
            elapsed = (
                dt.timedelta(0)
                if self.frozen
                else dt.timedelta(seconds=time.monotonic() - self._mono0)
            )
            return self._base + elapsed + self._offset

    def now_pacific(self) -> dt.datetime:
        """Current instant in US Pacific time (aware)."""
        return self.now().astimezone(PACIFIC)

    def now_naive(self) -> dt.datetime:
        """Current company-local (Pacific) wall time, naive, whole seconds (as WHENMODIFIED)."""
        return self.now_pacific().replace(tzinfo=None, microsecond=0)

    def advance(self, delta: dt.timedelta | None = None, **kwargs: float) -> dt.datetime:
        """Move the clock forward by `delta` or timedelta(**kwargs); returns the new now()."""
        step = delta if delta is not None else dt.timedelta(**kwargs)
        with self._lock:
            self._offset += step
        return self.now()

    def set(self, when: dt.datetime) -> None:
        """Jump to `when` (aware, or naive Pacific)."""
        if when.tzinfo is None:
            when = when.replace(tzinfo=PACIFIC)
        with self._lock:
            self._base = when.astimezone(dt.UTC)
            self._mono0 = time.monotonic()
            self._offset = dt.timedelta(0)


def iso_pacific(when: dt.datetime) -> str:
    """ISO 8601 with a Pacific offset and no fraction, e.g. 2015-12-06T15:57:08-08:00."""
    return when.astimezone(PACIFIC).replace(microsecond=0).isoformat()
