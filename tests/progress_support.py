"""What the progress tests of the tap and of the target share: a clock they move by hand and
a handler that keeps the lines logged."""

from __future__ import annotations

import logging


class FakeClock:
    """A monotonic clock for `time.monotonic`'s place: it moves only when a test sets `now`."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


class Lines(logging.Handler):
    """Keeps each INFO (or higher) message logged through it, as the user would read it."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
