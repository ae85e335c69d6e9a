"""Typed conversion of flat gateway rows into nested Singer records.

The gateway returns every value as element text, with dotted names for related fields
(``DISPLAYCONTACT.MAILADDRESS.CITY``). A stream's JSON schema says what each property is, so
this module compiles, once per stream and selection, a converter that turns a flat row into
the nested record the schema describes:

- integer -> ``int``; number -> ``decimal.Decimal`` (never a float); boolean -> ``bool``;
- ``format: date`` -> ``YYYY-MM-DD``;
- ``format: date-time`` -> ISO 8601 in UTC with ``+00:00``; Intacct timestamps carry no zone,
  so they are read in the company's timezone (the ``timezone`` setting);
- empty text -> ``None``; every selected field is present.

No schema walking happens per record: :func:`compile_converter` returns a closure over a
precomputed plan (plain Python, no generated code).
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

UTC = dt.UTC

Row = Mapping[str, str | None]
Converter = Callable[[str], Any]

_DATE_RE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})$")
_TIMESTAMP_RE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_ISO_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})$")
_TRUE = frozenset({"true", "t", "1", "yes", "y"})
_FALSE = frozenset({"false", "f", "0", "no", "n"})


class RecordConversionError(ValueError):
    """A gateway value does not fit the type its stream's schema declares."""

    def __init__(self, *, field: str, value: str, expected: str, hint: str = "") -> None:
        self.field = field
        self.value = value
        self.expected = expected
        self.context = ""
        self.hint = hint
        super().__init__(self._message())

    def _message(self) -> str:
        where = f"{self.context}: " if self.context else ""
        msg = f"{where}field {self.field} has {self.value!r}, expected {self.expected}."
        if self.hint:
            msg = f"{msg} {self.hint}"
        if self.context and self.field:
            msg = f"{msg} If the field is not needed, deselect it in the catalog."
        return msg

    def with_context(self, context: str) -> RecordConversionError:
        """Name the record (stream and key) the bad value belongs to."""
        self.context = context
        self.args = (self._message(),)
        return self


# --- scalar converters ---------------------------------------------------------------


def to_string(text: str) -> str:
    """Text is kept as it came."""
    return text


def to_integer(text: str) -> int:
    """Integers (RECORDNO and other keys)."""
    try:
        return int(text)
    except ValueError:
        # Some integer fields come back as "12.0"; accept them only when integral.
        try:
            number = decimal.Decimal(text)
        except decimal.InvalidOperation:
            number = None
        if number is not None and number.is_finite() and number == number.to_integral_value():
            return int(number)
        raise RecordConversionError(field="", value=text, expected="an integer") from None


def to_number(text: str) -> decimal.Decimal:
    """Money and other decimals, exact: the text goes straight into a Decimal."""
    try:
        number = decimal.Decimal(text)
    except decimal.InvalidOperation:
        number = None
    if number is None or not number.is_finite() or "_" in text or text != text.strip():
        raise RecordConversionError(
            field="",
            value=text,
            expected="a plain decimal number",
            hint="Intacct sends numbers without thousands separators, like 1000.00.",
        )
    return number


def to_boolean(text: str) -> bool:
    """Intacct booleans are ``true``/``false``."""
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise RecordConversionError(field="", value=text, expected="true or false")


@functools.lru_cache(maxsize=8192)
def to_date(text: str) -> str:
    """``MM/DD/YYYY`` (a timestamp's date part is accepted too) -> ``YYYY-MM-DD``."""
    match = _TIMESTAMP_RE.match(text)
    if match is not None:
        month, day, year = int(match[1]), int(match[2]), int(match[3])
    elif (iso := _ISO_DATE_RE.match(text)) is not None:
        year, month, day = int(iso[1]), int(iso[2]), int(iso[3])
    else:
        raise RecordConversionError(field="", value=text, expected="a date MM/DD/YYYY")
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        raise RecordConversionError(field="", value=text, expected="a valid date") from None


def parse_company_timestamp(text: str) -> dt.datetime:
    """``MM/DD/YYYY HH:MM:SS`` (or a bare date, read as midnight) -> naive datetime."""
    match = _TIMESTAMP_RE.match(text)
    if match is None:
        raise RecordConversionError(
            field="", value=text, expected="a timestamp MM/DD/YYYY HH:MM:SS"
        )
    try:
        return dt.datetime(
            int(match[3]),
            int(match[1]),
            int(match[2]),
            int(match[4] or 0),
            int(match[5] or 0),
            int(match[6] or 0),
        )
    except ValueError:
        raise RecordConversionError(field="", value=text, expected="a valid timestamp") from None


def format_company_timestamp(value: dt.datetime) -> str:
    """Naive company-time datetime -> Intacct's ``MM/DD/YYYY HH:MM:SS`` (for filters)."""
    return value.strftime("%m/%d/%Y %H:%M:%S")


def company_to_utc(naive: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """Read a naive company-time datetime in ``tz``, as an aware UTC datetime.

    Wall times repeated when clocks go back resolve to their first occurrence; wall times
    skipped when clocks go forward resolve to the instant of the change. The mapping stays
    monotonic, so records sorted by Intacct stay sorted after conversion.
    """
    if tz is UTC:
        return naive.replace(tzinfo=UTC)
    converted = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if converted.astimezone(tz).replace(tzinfo=None) == naive:
        return converted
    # Inside a spring-forward gap: the change lies between the two readings; find the
    # first second that has the later offset.
    low = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = converted
    after = high.astimezone(tz).utcoffset()
    while (high - low).total_seconds() > 1:
        mid = low + (high - low) / 2
        if mid.astimezone(tz).utcoffset() == after:
            high = mid
        else:
            low = mid
    return high.replace(microsecond=0)


def utc_to_company(value: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """Aware datetime -> naive wall time in the company's timezone (for filters)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz).replace(tzinfo=None)


def format_utc(value: dt.datetime) -> str:
    """Aware datetime -> ``YYYY-MM-DDTHH:MM:SS+00:00``."""
    return value.astimezone(UTC).isoformat(timespec="seconds")


@functools.lru_cache(maxsize=4096)
def _iso_date(text: str) -> str | None:
    """``MM/DD/YYYY`` -> ``YYYY-MM-DD``, None if it is not a valid date in that form."""
    digits = text.replace("/", "")
    if len(text) != 10 or text[2] != "/" or text[5] != "/" or len(digits) != 8:
        return None
    if not (digits.isascii() and digits.isdigit()):
        return None
    try:
        return dt.date(int(text[6:10]), int(text[0:2]), int(text[3:5])).isoformat()
    except ValueError:
        return None


_CLOCK_TIME = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]").fullmatch


def _utc_timestamp(text: str) -> str:
    # Fast path for the canonical MM/DD/YYYY HH:MM:SS (dates repeat, so their check is
    # cached); anything else takes the full parser.
    if len(text) == 19 and text[10] == " ":
        date = _iso_date(text[:10])
        clock = text[11:]
        if date is not None and _CLOCK_TIME(clock):
            return f"{date}T{clock}+00:00"
    return parse_company_timestamp(text).isoformat(timespec="seconds") + "+00:00"


def timestamp_converter(tz: dt.tzinfo) -> Converter:
    """A converter of company-time timestamps in ``tz`` to UTC ISO 8601 strings."""
    if tz is UTC:
        return _utc_timestamp

    @functools.lru_cache(maxsize=65536)
    def convert(text: str) -> str:
        return format_utc(company_to_utc(parse_company_timestamp(text), tz))

    return convert


def resolve_timezone(name: str | None) -> dt.tzinfo:
    """An IANA timezone name -> tzinfo (``UTC`` itself for UTC, which takes a fast path)."""
    if not name or name.upper() in {"UTC", "ETC/UTC", "Z", "GMT"}:
        return UTC
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError) as exc:
        msg = f"Unknown timezone {name!r}: set `timezone` to an IANA name such as America/New_York."
        raise ValueError(msg) from exc


# --- schema -> plan ------------------------------------------------------------------


def _types(prop: Mapping[str, Any]) -> set[str]:
    raw = prop.get("type", [])
    types = {raw} if isinstance(raw, str) else set(raw)
    for alt in prop.get("anyOf", []) or []:
        types |= _types(alt)
    return types


def scalar_converter(prop: Mapping[str, Any], tz: dt.tzinfo) -> Converter:
    """The converter for one scalar schema property."""
    types = _types(prop) - {"null"}
    fmt = prop.get("format")
    if "integer" in types:
        return to_integer
    if "number" in types:
        return to_number
    if "boolean" in types:
        return to_boolean
    if fmt == "date-time":
        return timestamp_converter(tz)
    if fmt == "date":
        return to_date
    return to_string


def is_object(prop: Mapping[str, Any]) -> bool:
    """True for a nested object property (a dotted Intacct path)."""
    return "object" in _types(prop) and "properties" in prop


def is_array(prop: Mapping[str, Any]) -> bool:
    """True for an array property (``lines``, ``details``)."""
    return "array" in _types(prop)


def leaf_fields(
    schema: Mapping[str, Any], prefix: tuple[str, ...] = ()
) -> Iterable[tuple[str, ...]]:
    """Every scalar leaf of ``schema`` as a property path (arrays are not descended)."""
    for name, prop in schema.get("properties", {}).items():
        path = (*prefix, name)
        if is_object(prop):
            yield from leaf_fields(prop, path)
        elif not is_array(prop):
            yield path


def dotted(path: Sequence[str]) -> str:
    """Property path -> Intacct field name (``("DISPLAYCONTACT", "EMAIL1")`` ->
    ``DISPLAYCONTACT.EMAIL1``)."""
    return ".".join(path)


@dataclass(frozen=True)
class _Leaf:
    key: str
    field: str
    convert: Converter


@dataclass(frozen=True)
class _Branch:
    key: str
    children: tuple[_Leaf | _Branch, ...]


def _plan(
    schema: Mapping[str, Any],
    selected: set[tuple[str, ...]],
    tz: dt.tzinfo,
    prefix: tuple[str, ...] = (),
) -> tuple[_Leaf | _Branch, ...]:
    nodes: list[_Leaf | _Branch] = []
    for name, prop in schema.get("properties", {}).items():
        path = (*prefix, name)
        if is_object(prop):
            children = _plan(prop, selected, tz, path)
            if children:
                nodes.append(_Branch(name, children))
        elif not is_array(prop) and path in selected:
            nodes.append(_Leaf(name, dotted(path), scalar_converter(prop, tz)))
    return tuple(nodes)


#: One step of a converter: (key, Intacct field, converter) for a leaf, where a converter of
#: None keeps the text as it came; (key, None, nested converter) for a nested object.
_Step = tuple[str, str | None, Callable[[Any], Any] | None]


def _converter(nodes: tuple[_Leaf | _Branch, ...]) -> Callable[[Row], dict[str, Any]]:
    """A converter over the plan: one loop over precomputed steps per row, nothing looked up
    in the schema; a bad value raises RecordConversionError naming its field."""
    steps: tuple[_Step, ...] = tuple(
        (node.key, None, _converter(node.children))
        if isinstance(node, _Branch)
        else (node.key, node.field, None if node.convert is to_string else node.convert)
        for node in nodes
    )

    def convert(row: Row) -> dict[str, Any]:
        out: dict[str, Any] = {}
        get = row.get
        for key, field, step in steps:
            if field is None:
                assert step is not None
                out[key] = step(row)
            elif not (text := get(field)):
                out[key] = None  # missing or empty text
            elif step is None:
                out[key] = text
            else:
                try:
                    out[key] = step(text)
                except RecordConversionError as exc:
                    exc.field = field
                    raise exc.with_context(exc.context) from None
        return out

    return convert


def compile_converter(
    schema: Mapping[str, Any],
    selected: Iterable[tuple[str, ...]],
    tz: dt.tzinfo,
) -> RecordConverter:
    """Compile a row converter for the selected scalar paths of ``schema``.

    Args:
        schema: the stream's (or a child array's ``items``) JSON schema.
        selected: property paths to fill; unselected ones are left out of the record.
        tz: the company timezone that timestamps are read in.

    Returns:
        A converter from a flat gateway row (Intacct field name -> text or None) to a nested
        record (properties keep the schema's order); its ``many`` converts a whole page.
    """
    return RecordConverter(_converter(_plan(schema, set(selected), tz)))


class RecordConverter:
    """A compiled converter: call it on one row, or :meth:`many` on a page of rows."""

    __slots__ = ("_convert",)

    def __init__(self, convert: Callable[[Row], dict[str, Any]]) -> None:
        self._convert = convert

    def __call__(self, row: Row) -> dict[str, Any]:
        """Convert one row; RecordConversionError names the field of a bad value."""
        return self._convert(row)

    def many(self, rows: Iterable[Row]) -> list[dict[str, Any]]:
        """Convert a page of rows; RecordConversionError as :meth:`__call__` on a bad one."""
        convert = self._convert
        return [convert(row) for row in rows]
