"""What the sandboxes' command lines (``python -m tests.sandbox.intacct|mailchimp``) share."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType


def add_latency_options(parser: argparse.ArgumentParser) -> None:
    """The latency options both sandboxes take (the sandbox's `latency*` arguments)."""
    jitter = "plus a seeded random part up to this (uniform) or of this mean (exponential)"
    kinds = ("uniform", "exponential")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every answer")
    parser.add_argument("--latency-jitter-ms", type=float, default=0.0, help=jitter)
    parser.add_argument("--latency-distribution", choices=kinds, default=kinds[0])


def write_atomic(path: Path, text: str) -> None:
    """Write atomically (temp file + rename) so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT; install it before the sandbox starts."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop


def wait_for(stop: threading.Event) -> None:
    """Block until `stop` is set (polling, so signal handlers get to run)."""
    while not stop.wait(0.2):
        pass


def run_main(main: Callable[[], int], name: str) -> int:
    """Run a sandbox's `main`; a failure is one line on stderr (exit 1), not a traceback.

    ``SANDBOX_DEBUG=1`` lets the exception through with its traceback.
    """
    try:
        return main()
    except Exception as exc:
        if os.environ.get("SANDBOX_DEBUG"):
            raise
        text = " ".join(str(exc).split()) or type(exc).__name__
        print(f"{name} sandbox error: {type(exc).__name__}: {text}", file=sys.stderr, flush=True)
        return 1
