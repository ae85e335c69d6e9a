"""Progress of long reads: a line per stream at least every few seconds.

A large stream logs "Reading CUSTOMER ..." and then, without this, nothing until it ends.
While a stream reads, its `ReadProgress` counts records and pages, and a line like

    customers: 12000 records in 12 pages so far (2400 records/s), reading up to <bound>

(the bound is the run's upper bound, in UTC) goes to the log every `interval` seconds (5 by
default): after a page when one is due, and from a background thread while a single page
takes longer (then the line also says how long the next page has been awaited).
The streams only call `begin()` when a read starts, `page()` after each page and `end()`
when the read is over; one daemon thread per process (started on first use) reports the
read under way.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

#: Seconds between two progress lines of a stream, at most.
DEFAULT_INTERVAL = 5.0


class ReadProgress:
    """Counters of one stream's read, and its progress line when one is due."""

    def __init__(
        self,
        logger: logging.Logger,
        stream: str,
        upper_bound: str,
        *,
        interval: float = DEFAULT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.stream = stream
        self.upper_bound = upper_bound
        self.interval = interval
        self.clock = clock
        self.records = 0
        self.pages = 0
        self.started = self.last_page = self.last_log = clock()
        self.finished = False
        self._lock = threading.Lock()

    def page(self, records: int) -> None:
        """One page went out; log when a line is due."""
        with self._lock:
            self.records += records
            self.pages += 1
            self.last_page = self.clock()
        self.log_if_due()

    def finish(self) -> None:
        """The read ended: no more lines for this stream."""
        self.finished = True

    def line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        text = (
            f"{self.stream}: {self.records} records in {self.pages} pages so far "
            f"({self.records / elapsed:.0f} records/s)"
        )
        waiting = now - self.last_page
        if waiting >= self.interval:
            text += f", waiting {waiting:.0f} s for page {self.pages + 1}"
        return f"{text}, reading up to {self.upper_bound}"

    def log_if_due(self) -> bool:
        """Log the progress line if `interval` passed since the last one; True if logged."""
        with self._lock:
            now = self.clock()
            if self.finished or now - self.last_log < self.interval:
                return False
            self.last_log = now
            text = self.line(now)
        self.logger.info("%s", text)
        return True


class _Reporter:
    """The background thread that logs the current read's line while a page is slow."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.current: ReadProgress | None = None
        self._thread = threading.Thread(target=self._run, name="tap-intacct-progress", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(min(1.0, self.interval))
            current = self.current
            if current is not None:
                current.log_if_due()


_reporter: _Reporter | None = None
_reporter_lock = threading.Lock()


def _the_reporter() -> _Reporter:
    global _reporter  # noqa: PLW0603 - one thread per process, started on first use
    with _reporter_lock:
        if _reporter is None:
            _reporter = _Reporter(DEFAULT_INTERVAL)
        return _reporter


def begin(stream: Any, upper_bound: str, *, interval: float | None = None) -> ReadProgress:
    """Start counting `stream`'s read; the thread now reports it (and no earlier read)."""
    end(stream)
    every = DEFAULT_INTERVAL if interval is None else interval
    progress = ReadProgress(stream.logger, stream.name, upper_bound, interval=every)
    stream._read_progress = progress
    _the_reporter().current = progress
    return progress


def page(stream: Any, records: int) -> None:
    """Count one page of `stream` (nothing when its read was not begun)."""
    progress: ReadProgress | None = getattr(stream, "_read_progress", None)
    if progress is not None:
        progress.page(records)


def end(stream: Any) -> None:
    """`stream`'s read is over: no more lines for it."""
    progress: ReadProgress | None = getattr(stream, "_read_progress", None)
    if progress is not None:
        progress.finish()
