"""Progress of long writes: a line at least every few seconds while the run writes.

The run summary comes at the end; until then a large backfill would be silent. While a run is
open, `WriteProgress` counts the records audited per Mailchimp object kind and action, and a
line like

    Writing: member 1200 written (30 unchanged, 3 rejected), order 400 written;
    7 requests in flight, 950 HTTP requests, 2 retries

(one line in the log) goes out every `interval` seconds (5 by default), after an audit row
when one is due and from a background thread while a request is slow, as long as something
happened since the previous line or requests are in flight (a run that waits for its input
stays quiet). "Written" is created, updated or archived; the
other actions follow in parentheses. The run starts it (`RunContext.open`) and stops it
(`close`); the recorder reports each audit row through `audited`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

#: Seconds between two progress lines, at most.
DEFAULT_INTERVAL = 5.0
WRITTEN = ("created", "updated", "archived")
OTHERS = ("unchanged", "rejected", "failed", "skipped", "parked")
#: Object kinds in the order a run writes them (others follow alphabetically).
KIND_ORDER = ("member", "customer", "product", "order")


def _in_flight(client: Any) -> int:
    gate = getattr(getattr(client, "transport", None), "gate", None)
    value = getattr(gate, "in_flight", 0)
    return int(value() if callable(value) else value)


class WriteProgress:
    """Counters of one run's writes, and its progress line when one is due."""

    def __init__(
        self,
        logger: logging.Logger,
        client: Any = None,
        *,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.client = client
        self.interval = DEFAULT_INTERVAL if interval is None else interval
        self.clock = clock
        self.counts: dict[str, Counter[str]] = {}
        self.last_log = clock()
        self._last_seen: tuple[Any, ...] = ()
        self._lock = threading.Lock()
        self._due = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- counting -----------------------------------------------------------------------

    def audited(self, object_kind: str | None, action: str, records: int = 1) -> None:
        """`records` audit rows of `object_kind` with `action` were recorded."""
        with self._lock:
            self.counts.setdefault(object_kind or "record", Counter())[action] += records
        self.log_if_due()

    # -- the line -----------------------------------------------------------------------

    def _requests(self) -> tuple[int, int, int]:
        stats = getattr(self.client, "stats", None)
        requests = int(getattr(stats, "requests", 0) or 0)
        retries = int(getattr(stats, "retries", 0) or 0)
        return _in_flight(self.client), requests, retries

    def line(self) -> str:
        with self._lock:
            counts = {kind: Counter(c) for kind, c in self.counts.items()}
        order = {kind: i for i, kind in enumerate(KIND_ORDER)}
        parts = []
        for kind in sorted(counts, key=lambda k: (order.get(k, len(order)), k)):
            c = counts[kind]
            text = f"{kind} {sum(c[a] for a in WRITTEN)} written"
            others = [f"{c[a]} {a}" for a in OTHERS if c[a]]
            parts.append(text + (f" ({', '.join(others)})" if others else ""))
        in_flight, requests, retries = self._requests()
        objects = ", ".join(parts) if parts else "nothing audited yet"
        return (
            f"Writing: {objects}; {in_flight} requests in flight, {requests} HTTP requests, "
            f"{retries} retries"
        )

    def log_if_due(self) -> bool:
        """Log the line if `interval` passed and something is going on; True if logged."""
        with self._due:  # the thread and the writers: one line per interval
            now = self.clock()
            if self._stop.is_set() or now - self.last_log < self.interval:
                return False
            with self._lock:
                seen = tuple((k, tuple(sorted(c.items()))) for k, c in sorted(self.counts.items()))
            in_flight, requests, retries = self._requests()
            state = (seen, requests, retries)
            if state == self._last_seen and not in_flight:
                return False
            self._last_seen = state
            self.last_log = now
            text = self.line()
        self.logger.info("%s", text)
        return True

    # -- the thread ---------------------------------------------------------------------

    def start(self) -> WriteProgress:
        """Log from a background thread until `stop()`."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="target-mailchimp-progress", daemon=True
            )
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(min(1.0, self.interval) or 0.05):
            try:
                self.log_if_due()
            except Exception:  # a progress line is never worth a failed run
                self.logger.debug("progress line failed", exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
