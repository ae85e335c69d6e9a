"""How the target reads Singer lines: msgspec when it can, Python's json when msgspec refuses.

msgspec reads lines faster and keeps decimals exact, but it refuses the bare `NaN`,
`Infinity` and `-Infinity` that Python taps write for a float with no value (Python's json
and simplejson emit them by default, and the SDK's own reader accepts them). Such a line is
read again with Python's json (numbers as Decimal, those constants as Decimal NaN/Infinity),
so one odd amount rejects one record with a reason instead of stopping the run. That path
also replaces lone surrogates (a `\\ud800` escape without its pair, which no text can hold
and neither UTF-8 nor the ledger can store) with U+FFFD, the replacement character. A
structure nested too deep for either parser has its deepest part replaced by a marker
(`validation.TOO_DEEP`), so its record is rejected with a reason naming the field. Blank lines
are skipped.

A line that is not a Singer message at all (bytes that are not UTF-8, a truncated or non-JSON
line, JSON that is not an object) stops the run with `BadInputLineError`: one line naming the
line number and its first characters (at most 80, control characters escaped), never more
of the record. Standard input is read as bytes and decoded line by line, so a byte that is
not UTF-8 is caught on its own line.

The target hooks into the messages it reads here (`MessageHooks`): each RECORD, STATE and
BATCH message goes to the target's hook with the SDK's own handling of it, so the target acts
before or after that handling (drain every sink, check a BATCH message) through the SDK's
public surface only; whatever stops the reading (a bad line, a failed write) goes to its
`on_failure` first, which records the run as failed.

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
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import IO, Any, Protocol, cast

import msgspec
from singer_sdk.contrib.msgspec import MsgSpecReader
from singer_sdk.contrib.msgspec import decoder as _decoder
from singer_sdk.exceptions import InvalidInputLine
from singer_sdk.singerlib.encoding.base import GenericSingerReader

from target_mailchimp.sinks.errors import TargetError
from target_mailchimp.sinks.validation import MAX_DEPTH, TOO_DEEP

#: Characters of a bad line shown in its error.
EXCERPT_CHARS = 80


class BadInputLineError(TargetError, InvalidInputLine):
    """A line that is not a Singer message; stops the run (the message names the line)."""


def excerpt(line: str | bytes, limit: int = EXCERPT_CHARS) -> str:
    """The first `limit` characters of a line, control characters and bad bytes escaped."""
    if isinstance(line, bytes):
        text = line[: limit * 4].decode("utf-8", "backslashreplace")
    else:
        text = line.encode("utf-8", "backslashreplace").decode("utf-8")
    text = text.rstrip("\r\n")
    short = text[:limit]
    shown = short.encode("unicode_escape").decode("ascii") if not short.isprintable() else short
    return f"'{shown}'" + (" ..." if len(text) > limit else "")


def bad_line(number: int | None, line: str | bytes, why: str) -> BadInputLineError:
    where = f"input line {number}" if number is not None else "an input line"
    return BadInputLineError(
        f"{where} is not a Singer message ({why}); it starts with {excerpt(line)}. The run "
        "stopped there: nothing after it was written and no state past it was emitted. Fix "
        "the tap's output (or the file) and run again."
    )


def numbered_lines(lines: Iterable[str | bytes]) -> Iterator[tuple[int, str]]:
    """Non-blank lines with their 1-based numbers; bytes decoded as strict UTF-8."""
    for number, raw in enumerate(lines, start=1):
        if isinstance(raw, bytes):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise bad_line(number, raw, f"byte {exc.start + 1} is not UTF-8") from None
        else:
            line = raw
        if line.strip():
            yield number, line


logger = logging.getLogger("target_mailchimp.reader")


#: The SDK's handling of one message.
Handle = Callable[[dict[Any, Any]], None]


class MessageHooks(Protocol):
    """What a target does around the SDK's handling of a message (it calls `handle`)."""

    def on_record(self, message: dict[Any, Any], handle: Handle) -> None: ...

    def on_state(self, message: dict[Any, Any], handle: Handle) -> None: ...

    def on_batch(self, message: dict[Any, Any], handle: Handle) -> None: ...

    def on_failure(self, exc: BaseException) -> None: ...


class LenientMsgSpecReader(MsgSpecReader):
    """MsgSpecReader that falls back to Python's json for a line msgspec refuses."""

    line_number: int | None = None

    def __init__(self) -> None:
        super().__init__()
        self.incoming_state = IncomingState()
        #: The target's hooks (see module docstring); None: the SDK's handling alone.
        self.hooks: MessageHooks | None = None

    def hooked(self, callbacks: dict[str, Handle]) -> dict[str, Handle]:
        """`callbacks` with RECORD, STATE and BATCH going through the target's hooks."""
        hooks = self.hooks
        if hooks is None:
            return callbacks
        out = dict(callbacks)
        for kind, hook in (
            ("RECORD", hooks.on_record),
            ("STATE", hooks.on_state),
            ("BATCH", hooks.on_batch),
        ):
            if kind in callbacks:
                out[kind] = _through(hook, callbacks[kind])
        return out

    @property
    def default_input(self) -> IO[str]:  # type: ignore[override]
        return cast("IO[str]", getattr(sys.stdin, "buffer", sys.stdin))

    def process_lines(
        self,
        file_input: IO[str] | None,
        callbacks: dict[str, Callable[[dict[Any, Any]], None]],
    ) -> Counter[str]:
        lines = file_input if file_input is not None else self.default_input
        # The watch swaps its callbacks back in place after the first data message.
        watched = self.incoming_state.watch(self.hooked(callbacks))
        stats: Counter[str] = Counter()
        try:
            for number, line in numbered_lines(lines):
                self.line_number = number
                message = self.deserialize_json(line)
                if "type" not in message:
                    raise bad_line(number, line, "it has no 'type'")
                kind = message["type"]
                callback = watched.get(kind)
                if callback is None:
                    raise ValueError(f"Unknown message type '{kind}' in message.")
                callback(message)
                stats[str(kind)] += 1
        except BaseException as exc:
            if self.hooks is not None:
                self.hooks.on_failure(exc)
            raise
        return stats

    def deserialize_json(self, line: str) -> dict[Any, Any]:
        try:
            value = _decoder.decode(line)
        except msgspec.DecodeError:
            return parse_leniently(line, self.line_number)
        except UnicodeError:
            raise bad_line(self.line_number, line, "it is not valid UTF-8") from None
        except RecursionError:
            return parse_leniently(_cut_too_deep(line), self.line_number)
        if not isinstance(value, dict):
            raise bad_line(self.line_number, line, "a Singer message is a JSON object")
        return value


def _through(hook: Callable[[dict[Any, Any], Handle], None], handle: Handle) -> Handle:
    def hooked(message: dict[Any, Any]) -> None:
        hook(message, handle)

    return hooked


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


def parse_leniently(line: str, number: int | None = None) -> dict[Any, Any]:
    """A line as Python's json reads it (numbers and NaN/Infinity as Decimal)."""
    try:
        value = json.loads(line, parse_float=Decimal, parse_constant=Decimal)
    except RecursionError:
        return parse_leniently(_cut_too_deep(line), number)
    except ValueError as exc:
        why = (
            f"not JSON: {exc.msg} at character {exc.pos + 1}"
            if isinstance(exc, json.JSONDecodeError)
            else "not JSON"
        )
        raise bad_line(number, line, why) from None
    if not isinstance(value, dict):
        raise bad_line(number, line, "a Singer message is a JSON object")
    if _SURROGATE_ESCAPE.search(line):
        return cast("dict[Any, Any]", _without_surrogates(value))
    return value


def _cut_too_deep(line: str) -> str:
    """`line` with every array or object nested beyond MAX_DEPTH replaced by TOO_DEEP."""
    marker = json.dumps(TOO_DEEP)
    out: list[str] = []
    depth = 0
    in_string = False
    escaped = False
    cut_from: int | None = None
    kept_from = 0
    for index, char in enumerate(line):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth == MAX_DEPTH + 2 and cut_from is None:
                cut_from = index
        elif char in "]}":
            if depth == MAX_DEPTH + 2 and cut_from is not None:
                out.append(line[kept_from:cut_from])
                out.append(marker)
                kept_from = index + 1
                cut_from = None
            depth -= 1
    out.append(line[kept_from:] if cut_from is None else line[kept_from:cut_from] + marker)
    return "".join(out)


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
