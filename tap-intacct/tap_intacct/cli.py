"""The command line's last word: a failed run ends with one line and exit code 1.

The SDK lets an exception escape its command and prints it with its traceback (some fifty
lines of SDK frames before the message a user can act on). `OneLineErrorCommand` catches
whatever escapes the tap (bad settings, an unreachable or refusing gateway, a value that does
not fit its schema) and logs only its message, flattened to one line, so the last line of
stderr is the message README's Troubleshooting table quotes; the exit code is 1.

The traceback is still there for whoever asks: ``TAP_INTACCT_DEBUG=1`` (or the SDK's own
``TAP_INTACCT_LOGLEVEL=DEBUG`` / ``LOGLEVEL=DEBUG``) lets the exception through as before.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from typing import Any, NoReturn

from singer_sdk.plugin_base import SingerCommand

PROGRAM = "tap-intacct"
#: Set to 1 (or true/yes) for the full traceback of a failed run.
DEBUG_ENV = "TAP_INTACCT_DEBUG"
_LOGLEVEL_ENVS = ("TAP_INTACCT_LOGLEVEL", "LOGLEVEL")
_TRUE = {"1", "true", "yes", "on"}


def debug_requested() -> bool:
    """True when the user asked for debug output (then tracebacks are shown)."""
    if os.environ.get(DEBUG_ENV, "").strip().lower() in _TRUE:
        return True
    return any(os.environ.get(name, "").strip().upper() == "DEBUG" for name in _LOGLEVEL_ENVS)


def one_line(exc: BaseException) -> str:
    """The exception's message on one line (an unexpected one also names its type)."""
    text = " ".join(str(exc).split())
    if isinstance(exc, ValueError | OSError) or type(exc).__module__.startswith("tap_intacct"):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class OneLineErrorCommand(SingerCommand):
    """The SDK's command, whose failures end with one line instead of a traceback."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **kwargs)
        except Exception as exc:
            if debug_requested():
                raise
            message = one_line(exc)
        # Out of the except block the traceback is gone: the streams' generators close (and
        # log their last metrics) now, before the message, which must come last.
        gc.collect()
        return self.fail_with(message)

    def fail_with(self, message: str) -> NoReturn:
        log = self.logger if isinstance(self.logger, logging.Logger) else logging.getLogger()
        log.error("%s stopped: %s", PROGRAM, message)
        for handler in log.handlers or logging.getLogger().handlers:
            handler.flush()
        sys.exit(1)
