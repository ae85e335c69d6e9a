"""The tap's streams: customers, vendors, AP bills (with lines), AP payments (with details), AR
invoices (with lines) and AR payments (with details); each also carries its deleted records
(see :mod:`tap_intacct.deletions`).

Every stream reads one Intacct object with ``query``, in keyset pages ordered by
``WHENMODIFIED, RECORDNO`` under the run's upper bound (see :mod:`tap_intacct.keyset`), and
turns each flat row into a nested, typed record with a converter compiled once per run (see
:mod:`tap_intacct.records`). Bills and payments attach their child rows in bulk: ``in``
queries of as many parent keys as a page of children holds (at most the gateway's 1000 values),
never one request per parent.

Round trips are few and overlapped (see :mod:`tap_intacct.pipeline`): while a page's children
are fetched the next page is already on its way, up to ``max_concurrent_requests`` requests at
once; the first keyset page and the first page of the pass over rows without WHENMODIFIED go
in one request, so that pass costs no round trip when there is nothing to find. Records still
go out strictly in keyset order, each page's STATE after its records.

State is emitted after every page; the bookmark is the SDK's (sorted stream, on WHENMODIFIED)
plus the RECORDNO tie-breaker and the run's upper bound (keys named in
:mod:`tap_intacct.keyset`).
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk import Stream
from singer_sdk.exceptions import InvalidStreamSortException
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.singerlib.catalog import REPLICATION_INCREMENTAL
from typing_extensions import override

from tap_intacct import keyset, progress
from tap_intacct.deletions import read_deletions
from tap_intacct.gateway.filters import MAX_IN_VALUES, Filter, Order
from tap_intacct.pipeline import Fetched, PageChain, limit_malloc_arenas
from tap_intacct.records import (
    RecordConversionError,
    RecordConverter,
    compile_converter,
    dotted,
    format_utc,
    leaf_fields,
    parse_company_timestamp,
    resolve_timezone,
    scalar_converter,
    to_integer,
)

if TYPE_CHECKING:
    from singer_sdk.helpers import types

    from tap_intacct.gateway.client import IntacctGateway
    from tap_intacct.gateway.response import Record as Row
    from tap_intacct.tap import TapIntacct

#: Most parent keys per ``in`` filter of a child query (the gateway takes up to 1000 values).
#: Fewer go in one query when the children seen so far say they would not fit in one page.
CHILD_KEYS_PER_QUERY = MAX_IN_VALUES
#: Page size of child queries (the gateway's maximum).
CHILD_PAGE_SIZE = 2000
#: Fields asked of Intacct whatever the catalog selects.
ALWAYS_REQUESTED = (keyset.KEY, keyset.REPLICATION_KEY, "MEGAENTITYID")


@dataclass(frozen=True)
class ChildSpec:
    """Child rows attached to each parent record as an array property."""

    prop: str  # the array property of the parent (``lines``)
    intacct_object: str  # APBILLITEM
    parent_key: str  # the child's field holding the parent's RECORDNO (RECORDKEY)
    sort_key: str | None = None  # order within a parent, after RECORDNO


class IntacctStream(Stream):
    """One Intacct object read incrementally with keyset pagination."""

    intacct_object: ClassVar[str]
    child: ClassVar[ChildSpec | None] = None
    #: False for the customers and vendors that transactions refer to: ``start_date`` limits
    #: transactions only, so their first run reads every customer and vendor.
    limited_by_start_date: ClassVar[bool] = True

    stream_name: ClassVar[str]
    primary_keys = (keyset.KEY,)
    replication_key = keyset.REPLICATION_KEY
    is_sorted = True
    # State goes out after every page (see _end_page), not every N records.
    STATE_MSG_FREQUENCY = 10**12
    # Records are typed by our own converter; the SDK's per-record conformance is redundant.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, tap: TapIntacct, schema: dict[str, Any]) -> None:
        super().__init__(tap, schema=schema, name=self.stream_name)
        #: The tap this stream belongs to (its gateway, run start and settings).
        self.tap = tap

    # --- SDK hooks ---------------------------------------------------------------------

    @property
    def metadata(self) -> Any:
        """Standard metadata, with MEGAENTITYID always included (every record carries it);
        a stream given in the input catalog keeps the catalog's metadata as it is."""
        mapping = super().metadata
        catalog = self.tap.input_catalog
        if not (catalog and catalog.get_stream(self.name)):
            entry = mapping.get(("properties", "MEGAENTITYID"))
            if entry is not None:
                entry.inclusion = type(entry).InclusionType.AUTOMATIC
        return mapping

    def generate_child_contexts(
        self, record: types.Record, context: types.Context | None
    ) -> Iterable[types.Context | None]:
        # The SDK asks this for every record and copies what it yields; these streams have no
        # SDK child streams (lines and details are fetched in bulk), so nothing is yielded.
        if self.child_streams:
            yield from super().generate_child_contexts(record, context)

    def get_replication_key_signpost(self, context: types.Context | None = None) -> None:
        """No signpost: the upper bound is enforced by the query itself."""
        del context

    @override
    def _increment_stream_state(
        self, latest_record: types.Record, *, context: types.Context | None = None
    ) -> None:
        """Nothing per record: the bookmark moves once per page, in :meth:`_end_page`.

        The tap's one override of a private SDK method, because no public hook serves: the
        SDK calls this after every record it writes, and moving ``replication_key_value``
        there would let a STATE message the SDK writes mid-page (an interrupted run) pair a
        record's WHENMODIFIED with the previous page's RECORDNO tie-breaker, and would move
        the bookmark for rows without WHENMODIFIED and for deletions. The page's bookmark
        (WHENMODIFIED with its RECORDNO) is set in one step after the page's last record
        went out. tests/tap_intacct/test_sdk_surface.py fails if the SDK changes this
        method's signature.
        """
        del latest_record, context

    def _end_page(self, page: PageMark, incremental: bool) -> None:
        """Move the bookmark to the page's last record and emit STATE (after the page's
        records went out).

        Records whose WHENMODIFIED is empty (the null pass) do not move the bookmark; their
        progress is kept under keyset.NULL_PASS_STATE_KEY instead.
        """
        progress.page(self, page.count)
        if incremental and page.count:
            if page.last_modified is None:
                self.stream_state[keyset.NULL_PASS_STATE_KEY] = page.last_key
                self.state_manager.is_flushed = False
            else:
                _check_sorted(page.modified, self.stream_state.get("replication_key_value"))
                # The pair in state always names the same record.
                self.stream_state[keyset.RECORDNO_STATE_KEY] = page.last_key
                self.state_manager.increment_state(
                    {keyset.REPLICATION_KEY: page.last_modified},
                    replication_key=keyset.REPLICATION_KEY,
                )
        self._emit_page_state()

    # --- selection ---------------------------------------------------------------------

    def selected_paths(self) -> list[tuple[str, ...]]:
        """Scalar property paths the records carry: those selected in the catalog, plus the
        key and the replication key whatever the catalog says (the bookmark needs them)."""
        mask = self.mask
        always = {(keyset.KEY,), (keyset.REPLICATION_KEY,)}
        paths = []
        for path in leaf_fields(self.schema):
            if path[0].startswith("_sdc_"):
                continue  # set by the tap (deletions), never asked of Intacct
            breadcrumb: tuple[str, ...] = ()
            for part in path:
                breadcrumb = (*breadcrumb, "properties", part)
            if path in always or mask[breadcrumb]:
                paths.append(path)
        return paths

    def requested_fields(self, paths: Iterable[tuple[str, ...]]) -> list[str]:
        """Intacct field names to select: the records' paths, dotted, plus MEGAENTITYID."""
        fields = [dotted(p) for p in paths]
        fields.extend(f for f in ALWAYS_REQUESTED if f not in fields)
        return fields

    def child_selected(self) -> bool:
        return self.child is not None and bool(self.mask[("properties", self.child.prop)])

    # --- reading -----------------------------------------------------------------------

    def get_records(self, context: types.Context | None) -> Iterator[dict[str, Any]]:
        """Yield the window's records in (WHENMODIFIED, RECORDNO) order, page by page, then
        (incremental runs) the records deleted since the bookmark (see tap_intacct.deletions)."""
        began_at = self.stream_state.get("replication_key_value")
        # Twice as many threads as requests allowed in flight: a thread parsing an answer holds
        # no slot (the gateway client's slots bound the requests), so another can be sending.
        workers = 2 * int(self.config.get("max_concurrent_requests") or 2)
        limit_malloc_arenas()  # memory flat however long the run (see its docstring)
        executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"{self.name}-read")
        try:
            yield from self._read_records(executor)
        finally:
            # Requests still in flight (the run stopped early) end before the stream does.
            executor.shutdown(wait=True, cancel_futures=True)
        if self.reads_deletions():
            yield from read_deletions(self, stream_bookmark=began_at)

    # --- deletions (see tap_intacct.deletions) -----------------------------------------

    def reads_deletions(self) -> bool:
        """Deleted records are read for incremental runs unless the `deletes` setting is off."""
        return bool(self.config.get("deletes", True)) and (
            self.replication_method == REPLICATION_INCREMENTAL
        )

    @property
    def timezone(self) -> dt.tzinfo:
        """The company timezone (the `timezone` setting)."""
        return resolve_timezone(self.config.get("timezone"))

    def emit_state(self) -> None:
        """A STATE message now (after a page of deletions)."""
        self.state_manager.is_flushed = False
        self._emit_page_state()

    def _read_records(self, executor: Executor) -> Iterator[dict[str, Any]]:
        tap = self.tap
        gateway = tap.gateway
        tz = resolve_timezone(self.config.get("timezone"))
        page_size = int(self.config.get("page_size") or 1000)
        show_private = not self.config.get("entity_id")
        incremental = self.replication_method == REPLICATION_INCREMENTAL
        state = self.stream_state
        window = keyset.plan_window(
            keyset.Bookmark.from_state(state) if incremental else keyset.Bookmark(),
            now=tap.run_started_at,
            tz=tz,
            start_date=(
                keyset.parse_utc(self.config.get("start_date"))
                if self.limited_by_start_date
                else None
            ),
            lookback=dt.timedelta(minutes=float(self.config.get("lookback_minutes", 10) or 0)),
            incremental=incremental,
        )
        if incremental and window.start is not None and keyset.Bookmark.from_state(state).when:
            # The run may start before the old bookmark (lookback): restart the bookmark at the
            # window start so the sorted-stream check and a resume both see a consistent point.
            state["replication_key"] = keyset.REPLICATION_KEY
            assert window.start_utc is not None
            state["replication_key_value"] = format_utc(window.start_utc)
            if window.start.recordno is None:
                state.pop(keyset.RECORDNO_STATE_KEY, None)
            else:
                state[keyset.RECORDNO_STATE_KEY] = window.start.recordno
        self.logger.info("Reading %s %s (company time, %s)", self.intacct_object, window, tz)
        progress.begin(self, format_utc(window.upper_utc))  # a line every few seconds
        paths = self.selected_paths()
        fields = self.requested_fields(paths)
        convert = compile_converter(self.schema, paths, tz)
        children = self._child_reader(gateway, tz, executor) if self.child_selected() else None

        def query_args(filter_: Filter, order: Sequence[Order]) -> dict[str, Any]:
            return {
                "object_name": self.intacct_object,
                "fields": fields,
                "filter": filter_,
                "order_by": order,
                "show_private": show_private,
                "page_size": page_size,
            }

        def fetcher(
            make_filter: Callable[[Row | None], Filter], order: Sequence[Order]
        ) -> Callable[[Row | None], Fetched]:
            def fetch(last: Row | None) -> Fetched:
                page = gateway.query(**query_args(make_filter(last), order))
                rows = list(page.records())
                return rows, bool(rows) and page.has_more

            return fetch

        def prepare(rows: list[Row]) -> Any:
            return children.submit(rows) if children is not None else None

        def null_filter(last: Row | None) -> Filter:
            return window.null_filter(_recordno(last) if last else window.null_after)

        def keyset_filter(last: Row | None) -> Filter:
            if last is None:
                return window.keyset_filter(None)
            when = last.get(keyset.REPLICATION_KEY)
            assert when, "keyset pages only hold rows with a WHENMODIFIED"
            return window.keyset_filter(
                keyset.Position(parse_company_timestamp(when), _recordno(last))
            )

        def emit(chain: PageChain[Any], *, keyset_pass: bool) -> Iterator[dict[str, Any]]:
            for rows, kids in chain:
                records = self._convert_page(rows, convert, None)
                del rows  # not kept while the next page downloads
                if children is not None:
                    children.attach(records, kids)
                # Read before the records go out: the SDK prunes what the catalog deselects.
                page = PageMark.of(records, incremental)
                yield from records
                del records, kids  # not kept while the next page is emitted
                if incremental and keyset_pass:
                    state[keyset.UPPER_BOUND_STATE_KEY] = bound
                self._end_page(page, incremental)

        bound = format_utc(window.upper_utc)
        first_keyset: Fetched | None = None
        if window.null_pass:
            # The first keyset page and the first null-pass page in one request: the pass over
            # rows without WHENMODIFIED (usually none) costs no round trip of its own.
            keyset_page, null_page = gateway.query_many(
                [
                    query_args(keyset_filter(None), keyset.KEYSET_ORDER),
                    query_args(null_filter(None), keyset.NULL_PASS_ORDER),
                ]
            )
            null_rows = list(null_page.records())
            null_first: Fetched = (null_rows, bool(null_rows) and null_page.has_more)
            keyset_rows = list(keyset_page.records())
            first_keyset = (keyset_rows, bool(keyset_rows) and keyset_page.has_more)
            del keyset_page, null_page, null_rows, keyset_rows
            yield from emit(
                PageChain(
                    executor,
                    fetcher(null_filter, keyset.NULL_PASS_ORDER),
                    prepare,
                    first=null_first,
                ),
                keyset_pass=False,
            )
        yield from emit(
            PageChain(
                executor,
                fetcher(keyset_filter, keyset.KEYSET_ORDER),
                prepare,
                first=first_keyset,
            ),
            keyset_pass=True,
        )
        if incremental:
            state[keyset.UPPER_BOUND_STATE_KEY] = bound
            state.pop(keyset.NULL_PASS_STATE_KEY, None)
        progress.end(self)

    def _emit_page_state(self) -> None:
        """A STATE message after each page, so an interrupted run resumes from here (none
        when nothing changed since the last one)."""
        manager = self.state_manager
        if not manager.is_flushed:
            _ = self.stream_state  # the stream's entry exists in the STATE, as the SDK's has it
            self.tap.state_writer.write_state(self.tap_state)
            manager.is_flushed = True

    def _convert_page(
        self,
        rows: list[Row],
        convert: RecordConverter,
        attach: Any,
    ) -> list[dict[str, Any]]:
        records = _convert_rows(
            convert,
            rows,
            lambda row: f"stream {self.name}, {self.intacct_object} RECORDNO {row.get(keyset.KEY)}",
        )
        if attach is not None:
            attach(records)
        return records

    def _child_reader(
        self, gateway: IntacctGateway, tz: dt.tzinfo, executor: Executor
    ) -> ChildReader:
        spec = self.child
        assert spec is not None
        items = self.schema["properties"][spec.prop]["items"]
        paths = list(leaf_fields(items))
        names = [dotted(p) for p in paths]
        for required in (keyset.KEY, spec.parent_key):
            if required not in names:
                names.append(required)
        parent_key = spec.parent_key
        # The converted child carries the parent key as an int when the schema has it; else
        # it is read from the raw row.
        typed_parent = (parent_key,) in paths and (
            scalar_converter(items["properties"][parent_key], tz) is to_integer
        )

        def fetch(keys: Sequence[int]) -> list[Row]:
            rows: list[Row] = []
            show_private = not self.config.get("entity_id")
            for page in self._child_pages(gateway, spec, names, keys, show_private):
                rows.extend(page)
            return rows

        return ChildReader(
            self,
            spec,
            executor,
            fetch,
            compile_converter(items, paths, tz),
            typed_parent=typed_parent,
        )

    def _child_pages(
        self,
        gateway: IntacctGateway,
        spec: ChildSpec,
        names: list[str],
        parent_keys: Sequence[int],
        show_private: bool,
    ) -> Iterator[list[Row]]:
        """Pages of child rows of ``parent_keys``, paged by RECORDNO (keyset, no offsets)."""
        in_filter = Filter.in_(spec.parent_key, parent_keys)
        last: int | None = None
        while True:
            page = gateway.query(
                spec.intacct_object,
                names,
                filter=in_filter
                if last is None
                else Filter.and_(in_filter, Filter.gt(keyset.KEY, last)),
                order_by=(Order(keyset.KEY),),
                show_private=show_private,
                page_size=CHILD_PAGE_SIZE,
            )
            rows = list(page.records())
            more = bool(rows) and page.has_more
            del page  # the parsed answer: not kept while the next one downloads
            if rows:
                last = _recordno(rows[-1])
                yield rows
            del rows
            if not more:
                return


def _convert_rows(
    convert: RecordConverter, rows: list[Row], describe: Callable[[Row], str]
) -> list[dict[str, Any]]:
    """Convert a page of rows; a bad value names its record (``describe(row)``)."""
    try:
        return convert.many(rows)
    except RecordConversionError:
        for row in rows:
            try:
                convert(row)
            except RecordConversionError as exc:
                raise exc.with_context(describe(row)) from None
        raise


@dataclass(frozen=True)
class PageMark:
    """What a page's STATE needs of its records: how many, the last one's RECORDNO and
    WHENMODIFIED, and (incremental runs) every WHENMODIFIED, for the sorted-stream check."""

    count: int
    last_key: int | None = None
    last_modified: str | None = None
    modified: tuple[str, ...] = ()

    @classmethod
    def of(cls, records: Sequence[Mapping[str, Any]], incremental: bool) -> PageMark:
        if not (incremental and records):
            return cls(len(records))
        last = records[-1]
        when = last.get(keyset.REPLICATION_KEY)
        modified = () if when is None else tuple(r[keyset.REPLICATION_KEY] for r in records)
        return cls(len(records), last[keyset.KEY], when, modified)


def _check_sorted(modified: Sequence[str], previous: str | None) -> None:
    """Raise if WHENMODIFIED goes backwards within a page or from the previous bookmark (the
    check the SDK makes per record of a sorted stream, made here once per page)."""
    last = previous
    for when in modified:
        if last is not None and when < last:
            msg = (
                f"Unsorted data detected in stream. Latest value {when!r} is smaller than "
                f"previous max {last!r}."
            )
            raise InvalidStreamSortException(msg)
        last = when


def _recordno(row: Mapping[str, Any] | None) -> int:
    assert row is not None
    value = row.get(keyset.KEY)
    if value is None or value == "":
        raise RecordConversionError(field=keyset.KEY, value="", expected="a RECORDNO")
    return int(value)


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None  # type: ignore[arg-type]
    except ValueError:
        return None


def _chunks(values: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class ChildReader:
    """Child rows of each page of parents: fetched on the pool as soon as the page arrives
    (:meth:`submit`), attached to the converted parents when the page is emitted
    (:meth:`attach`).

    A page's keys are split into as few ``in`` queries as the gateway allows: at most
    :data:`CHILD_KEYS_PER_QUERY` keys each, and, once pages have shown how many children a
    parent has, few enough keys that each query's children fit in one page of
    :data:`CHILD_PAGE_SIZE` (so the queries of a page can run side by side instead of one
    continuing the other). A query whose children overflow its page continues by RECORDNO.
    """

    def __init__(
        self,
        stream: IntacctStream,
        spec: ChildSpec,
        executor: Executor,
        fetch: Callable[[Sequence[int]], list[Row]],
        convert: RecordConverter,
        *,
        typed_parent: bool,
    ) -> None:
        self._stream = stream
        self._spec = spec
        self._executor = executor
        self._fetch = fetch
        self._convert = convert
        self._typed_parent = typed_parent
        self._lock = threading.Lock()
        self._parents_seen = 0
        self._children_seen = 0

    def plan(self, keys: Sequence[int]) -> list[Sequence[int]]:
        """The ``in`` lists of one page's parent keys."""
        if not keys:
            return []
        queries = math.ceil(len(keys) / CHILD_KEYS_PER_QUERY)
        with self._lock:
            parents, children = self._parents_seen, self._children_seen
        if parents:
            expected = len(keys) * children / parents
            queries = max(queries, math.ceil(expected / CHILD_PAGE_SIZE))
        queries = min(queries, len(keys))
        size = math.ceil(len(keys) / queries)
        return list(_chunks(keys, size))

    def submit(self, rows: list[Row]) -> list[Future[list[Row]]]:
        """Send the child queries of a page of parent rows; their futures, in key order."""
        keys = [_recordno(row) for row in rows]
        return [self._executor.submit(self._fetch_counted, chunk) for chunk in self.plan(keys)]

    def _fetch_counted(self, keys: Sequence[int]) -> list[Row]:
        rows = self._fetch(keys)
        with self._lock:
            self._parents_seen += len(keys)
            self._children_seen += len(rows)
        return rows

    def attach(self, records: list[dict[str, Any]], futures: list[Future[list[Row]]]) -> None:
        """Wait for a page's child rows and put each parent's in its array property."""
        spec = self._spec
        parent_key = spec.parent_key
        sort_key = spec.sort_key
        stream = self._stream

        def describe(row: Row) -> str:
            return (
                f"stream {stream.name}, {spec.intacct_object} RECORDNO {row.get(keyset.KEY)} "
                f"of {stream.intacct_object} {row.get(parent_key)}"
            )

        def by_sort_key(child: dict[str, Any]) -> tuple[bool, Any]:
            value = child.get(sort_key) if sort_key else None
            return (value is None, value or 0)

        children: dict[int | None, list[dict[str, Any]]] = {r[keyset.KEY]: [] for r in records}
        for future in futures:
            rows = future.result()
            converted = _convert_rows(self._convert, rows, describe)
            if self._typed_parent:
                parents = [child[parent_key] for child in converted]
            else:
                parents = [_int_or_none(row.get(parent_key)) for row in rows]
            for parent, child in zip(parents, converted, strict=True):
                bucket = children.get(parent)
                if bucket is not None:
                    bucket.append(child)
            del rows, converted, parents
        prop = spec.prop
        for record in records:
            lines = children[record[keyset.KEY]]
            if sort_key and len(lines) > 1:
                lines.sort(key=by_sort_key)
            record[prop] = lines


class CustomersStream(IntacctStream):
    """CUSTOMER records."""

    stream_name = "customers"
    intacct_object = "CUSTOMER"
    limited_by_start_date = False


class VendorsStream(IntacctStream):
    """VENDOR records."""

    stream_name = "vendors"
    intacct_object = "VENDOR"
    limited_by_start_date = False


class APBillsStream(IntacctStream):
    """APBILL records, each with ``lines``: its APBILLITEM rows (the GL allocation)."""

    stream_name = "ap_bills"
    intacct_object = "APBILL"
    child = ChildSpec("lines", "APBILLITEM", "RECORDKEY", sort_key="LINE_NO")


class APPaymentsStream(IntacctStream):
    """APPYMT records, each with ``details``: its APPYMTDETAIL rows (what it pays)."""

    stream_name = "ap_payments"
    intacct_object = "APPYMT"
    child = ChildSpec("details", "APPYMTDETAIL", "PAYMENTKEY")


class ARInvoicesStream(IntacctStream):
    """ARINVOICE records, each with ``lines``: its ARINVOICEITEM rows (the GL allocation)."""

    stream_name = "ar_invoices"
    intacct_object = "ARINVOICE"
    child = ChildSpec("lines", "ARINVOICEITEM", "RECORDKEY", sort_key="LINE_NO")


class ARPaymentsStream(IntacctStream):
    """ARPYMT records, each with ``details``: its ARPYMTDETAIL rows (what it settles: cash,
    inline credits, credit memos, advances and discounts)."""

    stream_name = "ar_payments"
    intacct_object = "ARPYMT"
    child = ChildSpec("details", "ARPYMTDETAIL", "PAYMENTKEY")


#: Streams in the order they are emitted (a bill's vendor arrives before the bill, an
#: invoice's customer before the invoice).
STREAM_TYPES: tuple[type[IntacctStream], ...] = (
    CustomersStream,
    VendorsStream,
    APBillsStream,
    APPaymentsStream,
    ARInvoicesStream,
    ARPaymentsStream,
)
