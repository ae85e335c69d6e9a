"""How the target reads Singer lines: msgspec when it can, Python's json when msgspec refuses.

msgspec reads lines faster and keeps decimals exact, but it refuses the bare `NaN`,
`Infinity` and `-Infinity` that Python taps write for a float with no value (Python's json
and simplejson emit them by default, and the SDK's own reader accepts them). Such a line is
read again with Python's json (numbers as Decimal, those constants as Decimal NaN/Infinity),
so one odd amount rejects one record with a reason instead of stopping the run. That path
also replaces lone surrogates (a `\\ud800` escape without its pair, which no text can hold
and neither UTF-8 nor the ledger can store) with U+FFFD, the replacement character. A line
neither can read is refused as before (`InvalidInputLine`). Blank lines are skipped.
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

    def process_lines(
        self,
        file_input: IO[str] | None,
        callbacks: dict[str, Callable[[dict[Any, Any]], None]],
    ) -> Counter[str]:
        lines = file_input if file_input is not None else self.default_input
        return super().process_lines(
            cast("IO[str]", (line for line in lines if line.strip())), callbacks
        )

    def deserialize_json(self, line: str) -> dict[Any, Any]:
        try:
            value: dict[Any, Any] = _decoder.decode(line)
            return value
        except msgspec.DecodeError:
            return parse_leniently(line)


#: The reader the target uses.
Reader: type[GenericSingerReader[Any]] = LenientMsgSpecReader


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
