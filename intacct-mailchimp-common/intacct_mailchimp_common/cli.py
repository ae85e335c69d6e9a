"""The command line's last word: a failed run ends with one line and exit code 1.

The SDK lets an exception escape its command and prints it with its traceback (some fifty
lines of SDK frames before the message a user can act on). A plugin describes its command
line once, as a `Program` (its name, package and debug variables), and gives its SDK command
the class ``CLI.command`` (a `OneLineErrorCommand`). Whatever then escapes the command (bad
settings, an unreachable or refusing API, a value that does not fit its schema, an input line
that is not JSON, an unexpected error) is logged as its message only, flattened to one line
and prefixed with ``<program> stopped:``, so the last line of stderr is the message
docs/troubleshooting.md quotes; the exit code is 1. An exception of the plugin's own package,
a `ValueError` or an `OSError` speaks for itself; any other also names its type.

The traceback is still there for whoever asks: the program's debug variable set to 1
(``TAP_INTACCT_DEBUG=1``), or the SDK's own log level variables set to DEBUG
(``TAP_INTACCT_LOGLEVEL=DEBUG`` / ``LOGLEVEL=DEBUG``), lets the exception through as before.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from typing import Any, ClassVar, NoReturn, cast

from singer_sdk.plugin_base import SingerCommand

_TRUE = {"1", "true", "yes", "on"}


class Program:
    """One plugin's command line: its name, its package and the debug switches they imply."""

    def __init__(self, name: str, package: str, *, debug_env: str, loglevel_env: str) -> None:
        self.name = name
        self.package = package
        #: Set to 1 (or true/yes/on) for the full traceback of a failed run.
        self.debug_env = debug_env
        #: The SDK's log level variables: DEBUG there shows the traceback too.
        self.loglevel_envs = (loglevel_env, "LOGLEVEL")
        #: The SDK command class whose failures end with one line (see module docstring).
        self.command = cast(
            "type[OneLineErrorCommand]",
            type("OneLineErrorCommand", (OneLineErrorCommand,), {"program": self}),
        )

    def debug_requested(self) -> bool:
        """True when the user asked for debug output (then tracebacks are shown)."""
        if os.environ.get(self.debug_env, "").strip().lower() in _TRUE:
            return True
        return any(
            os.environ.get(name, "").strip().upper() == "DEBUG" for name in self.loglevel_envs
        )

    def one_line(self, exc: BaseException) -> str:
        """The exception's message on one line (an unexpected one also names its type)."""
        text = " ".join(str(exc).split())
        own = type(exc).__module__.split(".")[0] == self.package
        if own or isinstance(exc, ValueError | OSError):
            return text or type(exc).__name__
        return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class OneLineErrorCommand(SingerCommand):
    """The SDK's command, whose failures end with one line instead of a traceback.

    Used through `Program.command`, which sets `program`.
    """

    program: ClassVar[Program]

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **kwargs)
        except Exception as exc:
            if self.program.debug_requested():
                raise
            message = self.program.one_line(exc)
        # Out of the except block the traceback is gone: what the failed frames held (the
        # tap's stream generators, the target's sinks) is released, and logs its last lines
        # and metrics, now, before the message, which must come last.
        gc.collect()
        return self.fail_with(message)

    def fail_with(self, message: str) -> NoReturn:
        log = self.logger if isinstance(self.logger, logging.Logger) else logging.getLogger()
        log.error("%s stopped: %s", self.program.name, message)
        for handler in log.handlers or logging.getLogger().handlers:
            handler.flush()
        sys.exit(1)
