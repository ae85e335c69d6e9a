"""The command line's last word: a failed run ends with one line and exit code 1.

The target already ends the failures it knows (Mailchimp, the ledger, its settings) with one
line (`TargetMailchimp.invoke`). `OneLineErrorCommand` does the same for whatever else
escapes the SDK's command (an input line that is not JSON, an unexpected error), which the
SDK would print with its traceback: one line, flattened, last on stderr, and exit code 1.

The traceback is still there for whoever asks: ``TARGET_MAILCHIMP_DEBUG=1`` (or the SDK's own
``TARGET_MAILCHIMP_LOGLEVEL=DEBUG`` / ``LOGLEVEL=DEBUG``) lets the exception through as before.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from typing import Any, NoReturn

from singer_sdk.plugin_base import SingerCommand

PROGRAM = "target-mailchimp"
#: Set to 1 (or true/yes) for the full traceback of a failed run.
DEBUG_ENV = "TARGET_MAILCHIMP_DEBUG"
_LOGLEVEL_ENVS = ("TARGET_MAILCHIMP_LOGLEVEL", "LOGLEVEL")
_TRUE = {"1", "true", "yes", "on"}


def debug_requested() -> bool:
    """True when the user asked for debug output (then tracebacks are shown)."""
    if os.environ.get(DEBUG_ENV, "").strip().lower() in _TRUE:
        return True
    return any(os.environ.get(name, "").strip().upper() == "DEBUG" for name in _LOGLEVEL_ENVS)


def one_line(exc: BaseException) -> str:
    """The exception's message on one line (an unexpected one also names its type)."""
    text = " ".join(str(exc).split())
    if isinstance(exc, ValueError | OSError) or type(exc).__module__.startswith("target_mailchimp"):
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
        # Out of the except block the traceback is gone: what the failed frames held is
        # released (and logs its last lines) now, before the message, which must come last.
        gc.collect()
        return self.fail_with(message)

    def fail_with(self, message: str) -> NoReturn:
        log = self.logger if isinstance(self.logger, logging.Logger) else logging.getLogger()
        log.error("%s stopped: %s", PROGRAM, message)
        for handler in log.handlers or logging.getLogger().handlers:
            handler.flush()
        sys.exit(1)
