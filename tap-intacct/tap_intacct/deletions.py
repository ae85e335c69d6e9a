"""Records deleted in Intacct, read from the audit trail (AUDITHISTORY).

A WHENMODIFIED query never shows a deleted record, so after a stream's own records the tap
reads the deletions of its object and emits each one in the same stream as a record carrying
only the key and ``_sdc_deleted_at`` (the Singer SDK's convention)::

    {"RECORDNO": 208, "_sdc_deleted_at": "2024-06-26T17:28:14+00:00"}

What the tap assumes about AUDITHISTORY (from the peer taps described in the reference's
"Deleted records" note; not confirmed by Sage's documentation):

- a deletion is a row with ``ACCESSMODE`` ``D`` and ``OBJECTTYPE`` the lower-case object name
  (``customer``, ``vendor``, ``apbill``, ``appymt``, ``arinvoice``, ``arpymt``);
- ``OBJECTKEY`` holds the deleted record's RECORDNO (a row whose key is not a whole number is
  skipped with a warning);
- ``ACCESSTIME`` is company wall time, like WHENMODIFIED (the ``timezone`` setting applies);
- the object has no key of its own, so rows are paged in ``ACCESSTIME, OBJECTKEY`` order
  (OBJECTKEY compared as the gateway compares it; ``ACCESSTIME`` and ``OBJECTKEY`` together
  name one deletion, since a RECORDNO is deleted at most once);
- queries fail now and then with "There was an error processing the request": such a page is
  tried :data:`ATTEMPTS` times, then the stream's deletions are skipped for this run with a
  warning (the bookmark stays, so the next run reads them);
- a user without permission to read the audit trail gets a function failure: one warning for
  the whole run, and the run goes on without deletions. Any other function failure of the
  audit trail query that is not temporary is taken the same way (the answer to a user without
  the permission is not documented); a temporary one (try again later, rate limit) is
  retried like the intermittent error.

Bookmark, in the stream's state (apart from the stream's own keys)::

    "deletes": {"access_time": "<UTC ISO>", "object_key": "208", "upper_bound": "<UTC ISO>"}

It moves after every page, with the same lookback and resume rules as the records
(:func:`tap_intacct.keyset.plan_window`). Without one, deletions are read from where the
stream's own bookmark stood when the run began, else from ``start_date``, else from the start
of history. Rows re-read by the lookback are emitted again; a target treats a repeated
deletion as done.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tap_intacct import keyset
from tap_intacct.gateway.errors import FunctionError
from tap_intacct.gateway.filters import Filter, Order
from tap_intacct.records import (
    company_to_utc,
    format_utc,
    parse_company_timestamp,
    utc_to_company,
)

if TYPE_CHECKING:
    from tap_intacct.streams import IntacctStream

AUDIT_OBJECT = "AUDITHISTORY"
DELETED_AT = "_sdc_deleted_at"
STATE_KEY = "deletes"
ACCESS_TIME = "ACCESSTIME"
OBJECT_KEY = "OBJECTKEY"
FIELDS = ("OBJECTTYPE", OBJECT_KEY, ACCESS_TIME, "ACCESSMODE")
ORDER = (Order(ACCESS_TIME), Order(OBJECT_KEY))
#: Tries of one AUDITHISTORY page that meets the intermittent error.
ATTEMPTS = 3
_INTERMITTENT = re.compile(r"error processing the request", re.IGNORECASE)


@dataclass(frozen=True)
class Cursor:
    """A point in ``(ACCESSTIME, OBJECTKEY)`` order, company wall time."""

    when: dt.datetime
    key: str | None = None  # None: from ``when`` inclusive

    def filter(self) -> Filter:
        return keyset.at_or_after(ACCESS_TIME, OBJECT_KEY, self.when, self.key)


def is_intermittent(exc: FunctionError) -> bool:
    """The audit trail's "There was an error processing the request"."""
    return any(_INTERMITTENT.search(e.text) for e in exc.errors) or bool(
        _INTERMITTENT.search(exc.summary)
    )


def read_deletions(
    stream: IntacctStream, *, stream_bookmark: str | None
) -> Iterator[dict[str, Any]]:
    """Yield the deletion records of ``stream``'s object, emitting STATE after each page.

    ``stream_bookmark``: the stream's replication_key_value when the run began (where
    deletions start when they have no bookmark of their own).
    """
    tap = stream.tap
    if tap.deletions_unavailable:
        return
    state = stream.stream_state
    saved: dict[str, Any] = dict(state.get(STATE_KEY) or {})
    tz = stream.timezone
    lookback = dt.timedelta(minutes=float(stream.config.get("lookback_minutes", 10) or 0))
    window = keyset.plan_window(keyset.Bookmark(), now=tap.run_started_at, tz=tz)
    bound = format_utc(window.upper_utc)
    when = keyset.parse_utc(saved.get("access_time"))
    start_date = keyset.parse_utc(stream.config.get("start_date"))
    cursor: Cursor | None
    if when is None:
        # First read of deletions: from where the stream's records stood, else start_date.
        first = keyset.parse_utc(stream_bookmark) or start_date
        cursor = None if first is None else Cursor(utc_to_company(first, tz))
    elif saved.get("object_key") is not None:
        # An interrupted read resumes exactly after its last row.
        cursor = Cursor(utc_to_company(when, tz), str(saved["object_key"]))
    else:
        # A finished read: everything up to its bound was read; re-read the lookback.
        start = when - lookback
        if start_date is not None:
            start = max(start, start_date)
        cursor = Cursor(utc_to_company(start, tz))
    base = Filter.and_(
        Filter.eq("OBJECTTYPE", stream.intacct_object.lower()),
        Filter.eq("ACCESSMODE", "D"),
        Filter.le(ACCESS_TIME, window.upper),
    )
    page_size = int(stream.config.get("page_size") or 1000)
    count = 0
    while True:
        answer = _page(
            stream, base if cursor is None else Filter.and_(cursor.filter(), base), page_size
        )
        if answer is None:
            return  # skipped with a warning; the bookmark stays where the last page left it
        rows, more = answer
        for row in rows:
            key = (row.get(OBJECT_KEY) or "").strip()
            stamp = row.get(ACCESS_TIME) or ""
            if not stamp:
                continue
            local = parse_company_timestamp(stamp)
            cursor = Cursor(local, key)
            if not key.isdigit():
                stream.logger.warning(
                    "Skipping an AUDITHISTORY deletion of %s whose OBJECTKEY %r is not a RECORDNO",
                    stream.intacct_object,
                    key,
                )
                continue
            count += 1
            yield {keyset.KEY: int(key), DELETED_AT: format_utc(company_to_utc(local, tz))}
        if not more:
            break
        if cursor is not None and rows:
            state[STATE_KEY] = {
                "access_time": format_utc(company_to_utc(cursor.when, tz)),
                "object_key": cursor.key,
                "upper_bound": bound,
            }
            stream.emit_state()
    state[STATE_KEY] = {"access_time": bound, "object_key": None, "upper_bound": bound}
    stream.emit_state()
    if count:
        stream.logger.info("%s: %d deleted records from AUDITHISTORY", stream.name, count)


def _page(stream: IntacctStream, flt: Filter, page_size: int) -> tuple[list[Any], bool] | None:
    """One page of deletion rows and whether more follow, or None when this stream's
    deletions are skipped (a warning says why)."""
    tap = stream.tap
    gateway = tap.gateway
    for attempt in range(1, ATTEMPTS + 1):
        try:
            page = gateway.query(
                AUDIT_OBJECT,
                list(FIELDS),
                filter=flt,
                order_by=ORDER,
                show_private=not stream.config.get("entity_id"),
                page_size=page_size,
            )
            rows = list(page.records())
            return rows, bool(rows) and page.has_more
        except FunctionError as exc:
            if not (is_intermittent(exc) or exc.retryable):
                detail = "; ".join(t for e in exc.errors if (t := " ".join(e.text.split()))) or (
                    exc.reason
                )
                tap.deletions_unavailable = detail
                stream.logger.warning(
                    "Deleted records are not read: the Intacct user cannot read the audit trail "
                    "(AUDITHISTORY: %s). Give the Web Services user permission to view the "
                    "audit trail, or set deletes to false to stop this warning. The run goes on "
                    "without deletions.",
                    detail,
                )
                return None
            if attempt < ATTEMPTS:
                stream.logger.info(
                    "%s: AUDITHISTORY answered 'There was an error processing the request'; "
                    "retry %d of %d",
                    stream.name,
                    attempt,
                    ATTEMPTS - 1,
                )
                gateway.pause(attempt)
    stream.logger.warning(
        "%s: AUDITHISTORY kept answering 'There was an error processing the request' (%d "
        "attempts); this run skips the deletions of %s and the next run reads them again",
        stream.name,
        ATTEMPTS,
        stream.intacct_object,
    )
    return None
