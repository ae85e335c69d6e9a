"""Keyset windows for incremental reads: where a run starts, where it stops, how it pages.

A stream is read in the order ``WHENMODIFIED, RECORDNO`` under an upper bound fixed when the
run starts. Each page continues strictly after the last record of the previous one::

    WHENMODIFIED > t OR (WHENMODIFIED = t AND RECORDNO > r)

so rows sharing one WHENMODIFIED across a page boundary are neither skipped nor repeated, and
nothing depends on offsets over a table that changes while it is read.

Stream state (one dict per stream, kept by the SDK; the extra keys are ours)::

    {
      "replication_key": "WHENMODIFIED",
      "replication_key_value": "2024-01-31T21:05:09+00:00",   # last record emitted (UTC)
      "replication_key_recordno": 208,                         # its RECORDNO: the tie-breaker
      "replication_key_upper_bound": "2024-02-01T08:00:00+00:00",  # bound of the run that wrote it
      "null_replication_key_recordno": 17                      # progress of the null pass
    }

Where the next run starts (:func:`plan_window`):

- no bookmark: everything since ``start_date`` (or all history), after a pass over the records
  whose WHENMODIFIED is empty (ordered by RECORDNO, resumable through
  ``null_replication_key_recordno``);
- a bookmark older than ``upper_bound - lookback`` (an interrupted run): exactly after
  ``(replication_key_value, replication_key_recordno)``, so the resumed run neither loses nor
  repeats a record;
- a bookmark within ``lookback`` of the bound of the run that wrote it (a finished run): from
  ``upper_bound - lookback``, inclusive, to pick up rows that became visible late (Intacct is
  eventually consistent); those re-reads are the only duplicates, and targets upsert on the key;
- ``start_date`` later than the bookmark wins, and a lookback never reaches before it.

All times here are either aware UTC datetimes (state, settings) or naive wall times in the
company's timezone (what the gateway compares); :mod:`tap_intacct.records` converts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tap_intacct.gateway.filters import Filter, Order
from tap_intacct.records import format_utc, utc_to_company

REPLICATION_KEY = "WHENMODIFIED"
KEY = "RECORDNO"

RECORDNO_STATE_KEY = "replication_key_recordno"
UPPER_BOUND_STATE_KEY = "replication_key_upper_bound"
NULL_PASS_STATE_KEY = "null_replication_key_recordno"  # noqa: S105 (a state key)

KEYSET_ORDER = (Order(REPLICATION_KEY), Order(KEY))
NULL_PASS_ORDER = (Order(KEY),)


def parse_utc(value: Any) -> dt.datetime | None:
    """A state or setting value (ISO 8601 text or datetime) -> aware UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        text = str(value).strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def _int_or_none(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return int(value)


@dataclass(frozen=True)
class Bookmark:
    """What a stream's state says about where the last run got to."""

    when: dt.datetime | None = None
    recordno: int | None = None
    upper_bound: dt.datetime | None = None
    null_recordno: int | None = None

    @classmethod
    def from_state(cls, state: Mapping[str, Any] | None) -> Bookmark:
        """Read a stream's state dict (a bookmark on another key is ignored)."""
        if not state:
            return cls()
        matches = state.get("replication_key") in (None, REPLICATION_KEY)
        when = parse_utc(state.get("replication_key_value")) if matches else None
        return cls(
            when=when,
            recordno=_int_or_none(state.get(RECORDNO_STATE_KEY)) if when else None,
            upper_bound=parse_utc(state.get(UPPER_BOUND_STATE_KEY)),
            null_recordno=_int_or_none(state.get(NULL_PASS_STATE_KEY)),
        )


@dataclass(frozen=True)
class Position:
    """A point in ``(WHENMODIFIED, RECORDNO)`` order, in company wall time."""

    when: dt.datetime
    recordno: int | None = None  # None: from ``when`` inclusive

    def filter(self) -> Filter:
        """Rows at or after this position (strictly after when ``recordno`` is set)."""
        return at_or_after(REPLICATION_KEY, KEY, self.when, self.recordno)


def at_or_after(time_field: str, key_field: str, when: dt.datetime, key: object) -> Filter:
    """Rows at or after ``when`` in ``(time_field, key_field)`` order: from ``when`` inclusive
    when ``key`` is None, else strictly after ``(when, key)`` (the condition above)."""
    if key is None:
        return Filter.ge(time_field, when)
    return Filter.or_(
        Filter.gt(time_field, when),
        Filter.and_(Filter.eq(time_field, when), Filter.gt(key_field, key)),
    )


@dataclass(frozen=True)
class Window:
    """What one run of one stream reads."""

    upper: dt.datetime  # company wall time, inclusive
    upper_utc: dt.datetime
    start: Position | None  # None: all history
    null_pass: bool  # also read rows whose WHENMODIFIED is empty
    null_after: int | None = None  # continue the null pass after this RECORDNO
    start_utc: dt.datetime | None = None  # ``start`` as an instant

    def __str__(self) -> str:
        if self.start is None:
            start = "from the beginning"
        elif self.start.recordno is None:
            start = f"from {self.start.when}"
        else:
            start = f"after {self.start.when} RECORDNO {self.start.recordno}"
        nulls = ", after the rows without WHENMODIFIED" if self.null_pass else ""
        return f"{start} up to {self.upper}{nulls}"

    def keyset_filter(self, position: Position | None) -> Filter:
        """The filter of a page that starts at ``position`` (the window start if None)."""
        position = position or self.start
        upper = Filter.le(REPLICATION_KEY, self.upper)
        if position is None:
            return upper
        return Filter.and_(position.filter(), upper)

    def null_filter(self, after: int | None) -> Filter:
        """The filter of a null-pass page continuing after RECORDNO ``after``."""
        isnull = Filter.isnull(REPLICATION_KEY)
        if after is None:
            return isnull
        return Filter.and_(isnull, Filter.gt(KEY, after))


def plan_window(
    bookmark: Bookmark,
    *,
    now: dt.datetime,
    tz: dt.tzinfo,
    start_date: dt.datetime | None = None,
    lookback: dt.timedelta = dt.timedelta(0),
    incremental: bool = True,
) -> Window:
    """Decide what a run reads (see the module docstring for the rules).

    Args:
        bookmark: the stream's state at the start of the run.
        now: the run's start (aware); the upper bound is this instant, to the second.
        tz: the company timezone that the gateway compares WHENMODIFIED in.
        start_date: the ``start_date`` setting (aware), if any.
        lookback: the ``lookback_minutes`` window.
        incremental: False for a full-table read (state is then ignored).
    """
    upper_utc = now.astimezone(dt.UTC).replace(microsecond=0)
    upper = utc_to_company(upper_utc, tz)

    def window(start: dt.datetime | None, recordno: int | None = None) -> Window:
        position = None if start is None else Position(utc_to_company(start, tz), recordno)
        return Window(upper, upper_utc, position, null_pass=False, start_utc=start)

    if not incremental:
        return Window(upper, upper_utc, None, null_pass=True)
    if bookmark.when is None:
        first = window(start_date)
        return Window(
            upper,
            upper_utc,
            first.start,
            null_pass=True,
            null_after=bookmark.null_recordno,
            start_utc=start_date,
        )
    when = bookmark.when
    if start_date is not None and start_date > when:
        return window(start_date)
    if lookback > dt.timedelta(0) and (
        bookmark.upper_bound is None or when >= bookmark.upper_bound - lookback
    ):
        from_ = min((bookmark.upper_bound or when) - lookback, when)
        if start_date is not None:
            from_ = max(from_, start_date)
        return window(from_)
    return window(when, bookmark.recordno)


def state_upper_bound(window: Window) -> str:
    """The upper bound as stored in state."""
    return format_utc(window.upper_utc)


__all__ = [
    "KEY",
    "KEYSET_ORDER",
    "NULL_PASS_ORDER",
    "NULL_PASS_STATE_KEY",
    "RECORDNO_STATE_KEY",
    "REPLICATION_KEY",
    "UPPER_BOUND_STATE_KEY",
    "Bookmark",
    "Position",
    "Window",
    "at_or_after",
    "parse_utc",
    "plan_window",
    "state_upper_bound",
]
