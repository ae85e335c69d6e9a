"""How the target reads Singer lines: msgspec when it can, Python's json when msgspec refuses.

msgspec reads lines faster and keeps decimals exact, but it refuses the bare `NaN`,
`Infinity` and `-Infinity` that Python taps write for a float with no value (Python's json
and simplejson emit them by default, and the SDK's own reader accepts them). Such a line is
read again with Python's json (numbers as Decimal, those constants as Decimal NaN/Infinity),
so one odd amount rejects one record with a reason instead of stopping the run. That path
also replaces lone surrogates (a `\\ud800` escape without its pair, which no text can hold
and neither UTF-8 nor the ledger can store) with U+FFFD, the replacement character. A line
neither can read is refused as before (`InvalidInputLine`). Blank lines are skipped.

The reader also notes the tap's incoming state (`IncomingState`): the STATE messages that
arrive before any SCHEMA, RECORD or BATCH are the state the tap resumed from (Singer SDK taps
write it first, and only when it is not empty); a tap that started afresh sends its first
STATE after its first stream's SCHEMA. The target compares it with its ledger to detect a
ledger that was reset while the tap's bookmarks were kept.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import IO, Any, cast

import msgspec
from singer_sdk.contrib.msgspec import MsgSpecReader
from singer_sdk.contrib.msgspec import decoder as _decoder
from singer_sdk.exceptions import InvalidInputLine
from singer_sdk.singerlib.encoding.base import GenericSingerReader

logger = logging.getLogger("target_mailchimp.reader")


class LenientMsgSpecReader(MsgSpecReader):
    """MsgSpecReader that falls back to Python's json for a line msgspec refuses."""

    def __init__(self) -> None:
        super().__init__()
        self.incoming_state = IncomingState()

    def process_lines(
        self,
        file_input: IO[str] | None,
        callbacks: dict[str, Callable[[dict[Any, Any]], None]],
    ) -> Counter[str]:
        lines = file_input if file_input is not None else self.default_input
        return super().process_lines(
            cast("IO[str]", (line for line in lines if line.strip())),
            self.incoming_state.watch(callbacks),
        )

    def deserialize_json(self, line: str) -> dict[Any, Any]:
        try:
            value: dict[Any, Any] = _decoder.decode(line)
            return value
        except msgspec.DecodeError:
            return parse_leniently(line)


#: The reader the target uses.
Reader: type[GenericSingerReader[Any]] = LenientMsgSpecReader


class IncomingState:
    """The state the tap resumed from: the value of the STATE messages that came before any
    SCHEMA, RECORD or BATCH message (None when there were none)."""

    #: Messages that end the watch: the tap has started sending streams.
    _DATA = ("SCHEMA", "RECORD", "BATCH")

    def __init__(self) -> None:
        self.value: dict[str, Any] | None = None
        self.done = False

    @property
    def resumed(self) -> bool:
        """True when that state holds any bookmark value (an SDK tap that starts afresh
        sends no STATE first, or one without values)."""
        return self.value is not None and _has_value(self.value)

    def watch(
        self, callbacks: dict[str, Callable[[dict[Any, Any]], None]]
    ) -> dict[str, Callable[[dict[Any, Any]], None]]:
        """`callbacks` with the STATE and data callbacks wrapped until the first data message;
        then the originals are put back, so later lines cost nothing extra."""
        if self.done:
            return callbacks
        watched = dict(callbacks)
        originals = {k: v for k, v in callbacks.items() if k in (*self._DATA, "STATE")}

        def stop() -> None:
            self.done = True
            watched.update(originals)

        def on_state(message: dict[Any, Any]) -> None:
            value = message.get("value")
            self.value = value if isinstance(value, dict) else None
            originals["STATE"](message)

        def data(kind: str) -> Callable[[dict[Any, Any]], None]:
            def on_data(message: dict[Any, Any]) -> None:
                stop()
                originals[kind](message)

            return on_data

        for kind in originals:
            watched[kind] = on_state if kind == "STATE" else data(kind)
        return watched


def _has_value(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_value(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_value(v) for v in value)
    return value is not None and value != ""


def parse_leniently(line: str) -> dict[Any, Any]:
    """A line as Python's json reads it (numbers and NaN/Infinity as Decimal)."""
    try:
        value = json.loads(line, parse_float=Decimal, parse_constant=Decimal)
    except ValueError as exc:
        logger.error("Unable to parse a Singer line (%d characters) as JSON: %s", len(line), exc)
        raise InvalidInputLine(f"Unable to parse line as JSON: {line[:500]}") from exc
    if not isinstance(value, dict):
        raise InvalidInputLine(f"A Singer message must be a JSON object: {line[:500]}")
    if _SURROGATE_ESCAPE.search(line):
        return _without_surrogates(value)
    return value


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _without_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_surrogates(v) for v in value]
    return value
