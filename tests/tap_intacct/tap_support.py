"""Shared helpers of the tap's sandbox tests (no tests here).

``run_tap`` runs the tap in-process against a sandbox and returns its Singer messages parsed
with exact Decimals; it can stop the run right after the Nth STATE message (as if the process
died there) or call a hook at that point (to change the sandbox's data mid-run).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree

from tap_intacct.gateway.session import SessionCache
from tap_intacct.tap import TapIntacct

PACIFIC_NAME = "America/Los_Angeles"
PACIFIC = ZoneInfo(PACIFIC_NAME)
STREAM_OBJECTS = {
    "customers": "CUSTOMER",
    "vendors": "VENDOR",
    "ap_bills": "APBILL",
    "ap_payments": "APPYMT",
    "ar_invoices": "ARINVOICE",
    "ar_payments": "ARPYMT",
}


class Interrupted(BaseException):
    """Raised from stdout to end a run right after a STATE message."""


class _BytesInto:
    """The ``buffer`` of a captured stdout: bytes written there land in its text."""

    def __init__(self, text: io.StringIO) -> None:
        self._text = text

    def write(self, data: bytes | bytearray) -> int:
        self._text.write(bytes(data).decode("utf-8"))
        return len(data)

    def flush(self) -> None:
        self._text.flush()


class SingerStdout(io.StringIO):
    """stdout captured as text, with the ``buffer`` a Singer writer writes its bytes to
    (the SDK's msgspec writer writes to ``sys.stdout.buffer``)."""

    def __init__(self) -> None:
        super().__init__()
        self.buffer = _BytesInto(self)


class _Stdout(SingerStdout):
    def __init__(self, on_state: Callable[[int, dict[str, Any]], None] | None) -> None:
        super().__init__()
        self.states = 0
        self.on_state = on_state

    def write(self, text: str) -> int:
        written = super().write(text)
        if self.on_state is not None and text.startswith('{"type":"STATE"'):
            self.states += 1
            self.on_state(self.states, json.loads(text))
        return written


@dataclass
class TapRun:
    """What one tap run wrote."""

    messages: list[dict[str, Any]]
    interrupted: bool = False
    tap: TapIntacct | None = field(default=None, repr=False)

    def records(self, stream: str) -> list[dict[str, Any]]:
        return [
            m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    def keys(self, stream: str) -> list[int]:
        return [r["RECORDNO"] for r in self.records(stream)]

    @property
    def states(self) -> list[dict[str, Any]]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def last_state(self) -> dict[str, Any]:
        return self.states[-1]

    def schema(self, stream: str) -> dict[str, Any]:
        return next(
            m["schema"] for m in self.messages if m["type"] == "SCHEMA" and m["stream"] == stream
        )


def tap_class(
    now: dt.datetime | Callable[[], dt.datetime] | None = None,
    *,
    session_cache: SessionCache | None = None,
) -> type[TapIntacct]:
    """TapIntacct with a fixed (or given) clock, no retry sleeps and its own session cache."""
    options: dict[str, Any] = {
        "sleep": lambda _seconds: None,
        "session_cache": session_cache if session_cache is not None else SessionCache(),
    }

    class SandboxTap(TapIntacct):
        gateway_options = options

        def clock(self) -> dt.datetime:
            if now is None:
                return super().clock()
            return now() if callable(now) else now

    return SandboxTap


def run_tap(
    config: Mapping[str, Any],
    *,
    state: dict[str, Any] | None = None,
    catalog: dict[str, Any] | None = None,
    now: dt.datetime | Callable[[], dt.datetime] | None = None,
    stop_after_states: int | None = None,
    on_state: Callable[[int, dict[str, Any]], None] | None = None,
    session_cache: SessionCache | None = None,
) -> TapRun:
    """Run the tap in-process; return its messages (numbers as Decimal).

    ``stop_after_states``: end the run right after the Nth STATE message, as if killed there.
    ``on_state(n, message)``: called after each STATE message is written.
    """

    def hook(n: int, message: dict[str, Any]) -> None:
        if on_state is not None:
            on_state(n, message)
        if stop_after_states is not None and n >= stop_after_states:
            raise Interrupted

    cls = tap_class(now, session_cache=session_cache)
    tap = cls(config=dict(config), state=state, catalog=catalog)
    out = _Stdout(hook)
    interrupted = False
    with contextlib.redirect_stdout(out):
        try:
            tap.sync_all()
        except Interrupted:
            interrupted = True
    messages = [json.loads(line, parse_float=Decimal) for line in out.getvalue().splitlines()]
    return TapRun(messages, interrupted, tap)


def catalog_with(
    config: Mapping[str, Any],
    *,
    streams: Iterable[str] | None = None,
    deselect: Mapping[str, Iterable[tuple[str, ...]]] | None = None,
) -> dict[str, Any]:
    """The discovered catalog with only ``streams`` selected and property paths deselected."""
    catalog: dict[str, Any] = TapIntacct(config=dict(config)).catalog_dict
    wanted = set(streams) if streams is not None else None
    deselect = deselect or {}
    for entry in catalog["streams"]:
        name = entry["tap_stream_id"]
        drop = {
            tuple(part for p in path for part in ("properties", p))
            for path in deselect.get(name, ())
        }
        for meta in entry["metadata"]:
            crumb = tuple(meta["breadcrumb"])
            if not crumb:
                meta["metadata"]["selected"] = wanted is None or name in wanted
            elif crumb in drop:
                meta["metadata"]["selected"] = False
            elif meta["metadata"].get("inclusion") != "unsupported":
                meta["metadata"].setdefault("selected", True)
    return catalog


def company_utc(naive: dt.datetime) -> str:
    """A sandbox WHENMODIFIED (naive Pacific) as the tap writes it."""
    return naive.replace(tzinfo=PACIFIC).astimezone(dt.UTC).isoformat()


def query_bodies(source: Any, obj: str | None = None) -> list[etree._Element]:
    """The <query> elements of every recorded request (of one object when ``obj`` is set).

    ``source``: a sandbox, or a list of its request records.
    """
    found = []
    for rec in getattr(source, "requests", source):
        if "query" not in rec.functions:
            continue
        root = etree.fromstring(rec.body)
        for query in root.iter("query"):
            if obj is None or query.findtext("object") == obj:
                found.append(query)
    return found


def selected_fields(query: etree._Element) -> list[str]:
    return [f.text or "" for f in query.findall("select/field")]
