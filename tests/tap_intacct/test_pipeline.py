"""PageChain: pages come out in order whatever the timing of the fetches, the next page is
requested before the current page's children, at most `lookahead` pages wait ahead, and errors
arrive after the pages before them."""

from __future__ import annotations

import platform
import sys
import threading
import time
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

import pytest

from tap_intacct import pipeline
from tap_intacct.pipeline import PageChain

Row = dict[str, Any]


class InlineExecutor(Executor):
    """Runs every task at once on the caller's thread: each future is done before
    add_done_callback is called (the timing that once put pages out of order)."""

    def __init__(self) -> None:
        self.submitted: list[str] = []

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted.append(getattr(fn, "__name__", "?"))
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


def _pages(total: int, size: int, *, delay: float = 0.0, fail_at: int | None = None) -> Any:
    calls: list[int | None] = []

    def fetch(last: Row | None) -> tuple[list[Row], bool]:
        start = 0 if last is None else last["n"] + 1
        calls.append(start)
        if fail_at is not None and start >= fail_at:
            raise RuntimeError(f"page at {start} failed")
        if delay:
            time.sleep(delay)
        rows = [{"n": n} for n in range(start, min(total, start + size))]
        return rows, start + size < total

    return fetch, calls


def _read(chain: PageChain[Any]) -> list[int]:
    return [row["n"] for rows, _ in chain for row in rows]


def test_pages_come_in_order_when_fetches_finish_at_once() -> None:
    fetch, _ = _pages(50, 7)
    executor = InlineExecutor()
    chain: PageChain[Any] = PageChain(executor, fetch, lambda rows: rows[0]["n"])
    seen = []
    for rows, kids in chain:
        assert kids == rows[0]["n"]  # each page with its own children
        seen.extend(r["n"] for r in rows)
    assert seen == list(range(50))


def test_pages_come_in_order_on_a_pool_with_random_timing() -> None:
    import random

    rng = random.Random(4)
    lock = threading.Lock()

    def fetch(last: Row | None) -> tuple[list[Row], bool]:
        with lock:
            pause = rng.uniform(0, 0.003)
        time.sleep(pause)
        start = 0 if last is None else last["n"] + 1
        rows = [{"n": n} for n in range(start, min(300, start + 11))]
        return rows, start + 11 < 300

    with ThreadPoolExecutor(2) as pool:

        def prepare(rows: list[Row]) -> Future[int]:
            return pool.submit(lambda: sum(r["n"] for r in rows))

        out = []
        for rows, kids in PageChain(pool, fetch, prepare):
            assert kids.result() == sum(r["n"] for r in rows)
            out.extend(r["n"] for r in rows)
    assert out == list(range(300))


class RecordingPool(ThreadPoolExecutor):
    """A pool that notes what was submitted, in order."""

    def __init__(self, workers: int) -> None:
        super().__init__(workers)
        self.log: list[str] = []
        self._log_lock = threading.Lock()

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._log_lock:
            self.log.append(fn.__name__)
        return super().submit(fn, *args, **kwargs)


def test_the_next_page_is_requested_before_this_pages_children_and_lookahead_bounds_it() -> None:
    fetches = []
    lock = threading.Lock()

    def fetch(last: Row | None) -> tuple[list[Row], bool]:
        start = 0 if last is None else last["n"] + 1
        with lock:
            fetches.append(start)
        return [{"n": start}], start < 9

    def children() -> None:
        return None

    with RecordingPool(2) as pool:

        def prepare(rows: list[Row]) -> Future[None]:
            return pool.submit(children)

        pages = iter(PageChain(pool, fetch, prepare, lookahead=2))
        first = next(pages)
        assert first[0] == [{"n": 0}]
        # The reader holds page 0; at most two pages wait ahead, so the chain stops there.
        time.sleep(0.2)
        with lock:
            assert len(fetches) <= 3
        rest = [rows[0]["n"] for rows, _ in pages]
    assert rest == list(range(1, 10))
    # fetch 0, then for every page but the last: the next fetch before its children.
    assert pool.log[:3] == ["fetch", "fetch", "children"]
    assert pool.log.count("fetch") == 10 and pool.log.count("children") == 10


def test_an_error_comes_after_the_pages_before_it_and_stops_the_chain() -> None:
    fetch, calls = _pages(100, 10, fail_at=30)
    with ThreadPoolExecutor(2) as pool:
        seen: list[int] = []
        with pytest.raises(RuntimeError, match="page at 30 failed"):
            for rows, _ in PageChain(pool, fetch, lambda rows: None):
                seen.extend(r["n"] for r in rows)
    assert seen == list(range(30))
    assert calls == [0, 10, 20, 30]


def test_a_given_first_page_is_not_fetched_again_and_an_empty_chain_ends() -> None:
    fetch, calls = _pages(25, 10)
    first = ([{"n": n} for n in range(10)], True)
    assert _read(PageChain(InlineExecutor(), fetch, lambda rows: None, first=first)) == list(
        range(25)
    )
    assert calls == [10, 20]
    assert _read(PageChain(InlineExecutor(), fetch, lambda rows: None, first=([], False))) == []


def test_threads_share_two_malloc_arenas_unless_the_operator_chose(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    limit = pipeline.limit_malloc_arenas.__wrapped__  # the uncached function
    monkeypatch.setenv("MALLOC_ARENA_MAX", "8")
    assert limit() is False  # the operator's setting is left alone
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
        assert limit() is True
    else:  # another C library: nothing to set
        assert limit() is False
