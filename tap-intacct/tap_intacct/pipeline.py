"""Overlapped reading: the next page is on its way while this one's children are fetched.

A stream reads pages in keyset order, and each page's position depends on the previous page's
last row, so parent pages form a chain; the child rows of a page (bill lines, payment details)
depend only on that page. :class:`PageChain` runs that chain on the tap's thread pool:

- as soon as page N arrives (on a worker thread), the request for page N+1 is submitted, then
  the child queries of page N (``prepare``), so the chain, the critical path, goes first;
- at most ``lookahead`` pages wait fetched ahead of the one the stream is emitting (memory stays
  flat however fast the gateway answers); the chain resumes when the stream takes a page;
- the stream takes pages strictly in order (:meth:`PageChain.__iter__`), so records, their
  order and STATE after each page are exactly what a sequential read gives. An error of a fetch
  is raised there, after the pages before it.

How many requests are really in flight is bounded twice: by the pool's workers
(``max_concurrent_requests``) and by the gateway client's slots, which a 429 lowers.

:func:`limit_malloc_arenas` keeps the pool's threads from growing the tap's memory over a
long run (see its docstring).
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from typing import Any, Generic, TypeVar

Row = dict[str, Any]
Kids = TypeVar("Kids")

#: A page fetch: rows and whether more pages follow.
Fetched = tuple[list[Row], bool]

#: Pages fetched ahead of the one being emitted.
DEFAULT_LOOKAHEAD = 2

_START = object()

#: glibc's ``mallopt`` parameter for the most malloc arenas (``M_ARENA_MAX`` in malloc.h).
M_ARENA_MAX = -8
#: Arenas the tap's threads share (glibc's default allows eight per core).
MALLOC_ARENAS = 2


@functools.cache
def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Let the process's threads share at most ``arenas`` glibc malloc arenas; True if set.

    The read pool's threads parse answers (lxml, strings) at the same time, and glibc gives
    each thread an arena of its own. Memory freed in one arena is reused only by its own
    thread, so the arenas' free pieces add up page after page: peak RSS grew with the length
    of the run (1.17x at 100,300 records against 10,300 in ``make bench`` figure 5) while the
    Python objects alive stayed flat. With two shared arenas it stays flat.

    Called before the first pool starts (once per process). Left alone where the C library is
    not glibc (``mallopt`` absent), and when ``MALLOC_ARENA_MAX`` is set in the environment
    (the operator's choice wins).
    """
    if not sys.platform.startswith("linux") or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, arenas))


class PageChain(Generic[Kids]):
    """Pages of one keyset read, fetched ahead on ``executor`` (see the module docstring).

    Args:
        executor: the tap's pool (shared by every stream).
        fetch: ``fetch(last_row_of_previous_page or None) -> (rows, more)``; runs on a worker.
        prepare: ``prepare(rows) -> kids``, called on the thread where the page arrived, before
            the page is handed out: it submits the page's child queries and returns their
            handle (futures), or None when there are none.
        first: a first page already fetched (then the chain continues after it).
        lookahead: pages fetched ahead of the one being emitted.
    """

    def __init__(
        self,
        executor: Executor,
        fetch: Callable[[Row | None], Fetched],
        prepare: Callable[[list[Row]], Kids],
        *,
        first: Fetched | None = None,
        lookahead: int = DEFAULT_LOOKAHEAD,
    ) -> None:
        self._executor = executor
        self._fetch = fetch
        self._prepare = prepare
        self._first = first
        self._lookahead = max(1, lookahead)
        self._cond = threading.Condition(threading.RLock())
        self._ready: deque[list[Any]] = deque()  # [rows, kids] in page order
        self._next: Any = _START  # where the next fetch starts; None once the chain is done
        self._fetching = False
        self._error: BaseException | None = None
        self._closed = False

    # --- the chain (any thread, under the lock) --------------------------------------------

    def _maybe_launch(self) -> None:
        if (
            self._closed
            or self._fetching
            or self._error is not None
            or self._next is None
            or len(self._ready) >= self._lookahead
        ):
            return
        position = None if self._next is _START else self._next
        self._fetching = True
        try:
            future = self._executor.submit(self._fetch, position)
        except RuntimeError as exc:  # the pool was shut down (the run is ending)
            self._fetching = False
            self._error = exc
            self._cond.notify_all()
            return
        future.add_done_callback(self._arrived)

    def _arrived(self, future: Future[Fetched]) -> None:
        try:
            rows, more = future.result()
        except BaseException as exc:  # handed to the reader, in order
            with self._cond:
                self._fetching = False
                self._error = exc
                self._cond.notify_all()
            return
        self._accept(rows, more)

    def _accept(self, rows: list[Row], more: bool) -> None:
        with self._cond:
            self._fetching = False
            self._next = rows[-1] if rows and more else None
            if self._closed:
                return
            # In the queue before the next fetch is launched: a fetch that completes at once
            # runs its callback on this thread (the lock is re-entrant), and its page must
            # still come after this one.
            entry: list[Any] = [rows, None]
            if rows:
                self._ready.append(entry)
            try:
                # The next page first: the chain is the critical path; then this page's
                # children.
                self._maybe_launch()
                if rows:
                    entry[1] = self._prepare(rows)
            except BaseException as exc:
                self._error = exc
                self._ready = deque(e for e in self._ready if e is not entry)
            self._cond.notify_all()

    # --- the reader ---------------------------------------------------------------------------

    def __iter__(self) -> Iterator[tuple[list[Row], Kids]]:
        """The pages in order, each with what ``prepare`` returned for it."""
        try:
            with self._cond:
                if self._first is not None:
                    first, self._first = self._first, None
                    self._accept(*first)
                else:
                    self._maybe_launch()
            while True:
                with self._cond:
                    while not self._ready and self._error is None and self._busy():
                        self._cond.wait()
                    if self._ready:
                        rows, kids = self._ready.popleft()
                        self._maybe_launch()  # room again: the chain goes on
                    elif self._error is not None:
                        raise self._error
                    else:
                        return
                yield rows, kids
                del rows, kids
        finally:
            self.close()

    def _busy(self) -> bool:
        return self._fetching or (self._next is not None and not self._closed)

    def close(self) -> None:
        """Stop launching fetches (one in flight finishes and is dropped)."""
        with self._cond:
            self._closed = True
            self._ready.clear()
            self._cond.notify_all()
