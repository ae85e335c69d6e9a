"""Singer output: JSON lines encoded with msgspec, flushed at STATE messages.

Why not the SDK's default writer: it serializes with simplejson and flushes stdout after every
record, which made JSON encoding the largest per-record cost of the tap. msgspec encodes the
same messages several times faster, and ``decimal_format="number"`` writes a ``Decimal`` as
its exact digits (``0.10``, ``12345678901234567.89``), never through a float.

Records are gathered (up to :data:`RECORD_BUFFER_BYTES`) and written together; every other
message (SCHEMA, STATE, ACTIVATE_VERSION) writes them and flushes stdout, so a target sees each
page's records before that page's STATE. A record still in
the buffer when the process dies has no STATE after it, so a resumed run reads it again:
nothing is lost.
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

import msgspec
from singer_sdk.singerlib.encoding.simple import Message, RecordMessage, SimpleSingerWriter

_LINE_SEPARATORS = ((b"\xe2\x80\xa8", b"\\u2028"), (b"\xe2\x80\xa9", b"\\u2029"))


def _fallback(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat(sep="T")
    return str(value)


_encoder = msgspec.json.Encoder(enc_hook=_fallback, decimal_format="number")


def encode_message(payload: dict[str, Any]) -> bytes:
    """One message as a UTF-8 JSON line (with its newline).

    U+2028 and U+2029 are escaped: they are legal in JSON strings, but some line readers
    split on them.
    """
    data = _encoder.encode(payload)
    if b"\xe2\x80" in data:
        for raw, escaped in _LINE_SEPARATORS:
            data = data.replace(raw, escaped)
    return data + b"\n"


#: Records are gathered up to this many bytes before one write to stdout (a RECORD of a bill
#: with its lines is several KiB, larger than the stdout buffer, so one write each was a system
#: call per record).
RECORD_BUFFER_BYTES = 1 << 20


class FastSingerWriter(SimpleSingerWriter):
    """Write Singer messages to stdout with msgspec; flush on everything but RECORD."""

    def __init__(self) -> None:
        super().__init__()
        self._pending: list[bytes] = []
        self._pending_bytes = 0

    def serialize_message(self, message: Message) -> str:
        """The message as a JSON string (without newline), for callers wanting text."""
        return encode_message(message.to_dict())[:-1].decode("utf-8")

    def write_message(self, message: Message) -> None:
        """Write one message (flushing unless it is a RECORD)."""
        self._write(encode_message(message.to_dict()), flush=not isinstance(message, RecordMessage))

    def write_record(
        self,
        stream: str,
        record: dict[str, Any],
        version: int | None,
        time_extracted: dt.datetime | None,
    ) -> None:
        """Write one RECORD message without building a ``RecordMessage`` first.

        ``time_extracted`` must be an aware UTC datetime.
        """
        payload: dict[str, Any] = {"type": "RECORD", "stream": stream, "record": record}
        if version is not None:
            payload["version"] = version
        if time_extracted is not None:
            payload["time_extracted"] = time_extracted
        self._write(encode_message(payload), flush=False)

    def _write(self, data: bytes, *, flush: bool) -> None:
        out = sys.stdout
        buffer = getattr(out, "buffer", None)
        if buffer is None:  # a text stream without bytes underneath (tests capture to StringIO)
            out.write(data.decode("utf-8"))
            if flush:
                out.flush()
            return
        self._pending.append(data)
        self._pending_bytes += len(data)
        if flush or self._pending_bytes >= RECORD_BUFFER_BYTES:
            # Anything written to the text layer is flushed first, so lines keep their order.
            out.flush()
            buffer.write(b"".join(self._pending))
            self._pending.clear()
            self._pending_bytes = 0
            if flush:
                out.flush()
