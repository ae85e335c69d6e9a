"""Batch operations: the asynchronous pending -> started -> finished state machine.

A single worker thread runs submitted batches one after another. Each operation goes through
the same :class:`~tests.sandbox.mailchimp.api.Api` dispatcher as HTTP requests (so every rule
holds), without the connection gate, auth or latency. Results are a gzipped tar of JSON files,
each an array of ``{"status_code", "operation_id", "response"}`` where ``response`` is the
answer body as a JSON *string* (``""`` for 204).
"""

from __future__ import annotations

import io
import json
import queue
import random
import tarfile
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from .api import Api, Request, Response
from .errors import ApiError
from .faults import Faults, fault_response
from .model import State, now_iso


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class BatchRunner:
    """Runs batches in a background thread; keeps the result archives in memory."""

    def __init__(
        self,
        state: State,
        *,
        url_for: Callable[[str], str],
        faults: Faults,
        order: str = "shuffled",
        seed: int = 0,
        start_delay: float = 0.05,
        op_delay: float = 0.0,
        chunk: int = 100,
        on_operation: Callable[[], None] | None = None,
    ) -> None:
        if order not in ("shuffled", "fifo"):
            raise ValueError("batch order must be 'shuffled' or 'fifo'")
        self.state = state
        self.api: Api | None = None
        self.url_for = url_for
        self.faults = faults
        self.order = order
        self.rng = random.Random(seed)
        self.start_delay = start_delay
        self.op_delay = op_delay
        self.chunk = max(1, chunk)
        self.on_operation = on_operation
        self.archives: dict[str, bytes] = {}
        #: time.monotonic() of each batch's submission, start of processing and finish.
        self.timings: dict[str, dict[str, float]] = {}
        self._ops: dict[str, list[dict[str, Any]]] = {}
        self._queue: queue.Queue[str] = queue.Queue()
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._idle = threading.Condition()
        self._busy = 0
        self._thread: threading.Thread | None = None

    # --- control ---------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="mailchimp-batches", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()
        self._queue.put("")
        if self._thread is not None:
            self._thread.join(timeout=5)

    def pause(self) -> None:
        """Hold batches in ``pending`` (and a running batch between operations)."""
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every submitted batch is finished; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    # --- submission (called by the dispatcher, under the state lock) -------------------

    def submit(self, operations: list[dict[str, Any]]) -> dict[str, Any]:
        batch_id = uuid.uuid4().hex[:10]
        batch = {
            "id": batch_id,
            "status": "pending",
            "total_operations": len(operations),
            "finished_operations": 0,
            "errored_operations": 0,
            "submitted_at": now_iso(),
            "completed_at": "",
            "response_body_url": "",
        }
        self.state.batches[batch_id] = batch
        self.timings[batch_id] = {"submitted": time.monotonic()}
        self._ops[batch_id] = [dict(op) for op in operations]
        with self._idle:
            self._busy += 1
        self._queue.put(batch_id)
        return {**batch, "_links": []}

    # --- worker ----------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                batch_id = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            if not batch_id:
                continue
            try:
                self._run(batch_id)
            finally:
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()

    def _set(self, batch_id: str, **changes: Any) -> dict[str, Any] | None:
        with self.state.lock:
            batch = self.state.batches.get(batch_id)
            if batch is not None:
                batch.update(changes)
            return batch

    def _wait_running(self) -> bool:
        while not self._running.wait(0.05):
            if self._stop.is_set():
                return False
        return not self._stop.is_set()

    def _run(self, batch_id: str) -> None:
        ops = self._ops.pop(batch_id, [])
        if self._stop.wait(self.start_delay) or not self._wait_running():
            return
        if self._set(batch_id, status="preprocessing") is None:
            return  # deleted while pending
        self.timings.setdefault(batch_id, {})["started"] = time.monotonic()
        order = list(range(len(ops)))
        if self.order == "shuffled":
            self.rng.shuffle(order)
        self._set(batch_id, status="started")
        results: list[dict[str, Any]] = []
        for index in order:
            if not self._wait_running():
                return
            result = self._run_op(ops[index])
            results.append(result)
            errored = result["status_code"] >= 400
            with self.state.lock:
                batch = self.state.batches.get(batch_id)
                if batch is not None:
                    batch["finished_operations"] += 1
                    batch["errored_operations"] += int(errored)
            if self.on_operation is not None:
                self.on_operation()
            if self.op_delay and self._stop.wait(self.op_delay):
                return
        self._set(batch_id, status="finalizing")
        self.archives[batch_id] = self._archive(results)
        self._set(
            batch_id,
            status="finished",
            completed_at=now_iso(),
            response_body_url=self.url_for(batch_id),
        )
        self.timings.setdefault(batch_id, {})["finished"] = time.monotonic()

    def _run_op(self, op: dict[str, Any]) -> dict[str, Any]:
        assert self.api is not None
        method = str(op.get("method", "GET")).upper()
        split = urlsplit(str(op.get("path", "")))
        query = {k: _param(v) for k, v in (op.get("params") or {}).items()}
        if split.query:
            for pair in split.query.split("&"):
                key, _, value = pair.partition("=")
                query.setdefault(key, value)
        body = op.get("body")
        raw = body.encode("utf-8") if isinstance(body, str) else None
        fault = self.faults.pick(method, split.path, batch_op=True)
        if fault is not None and fault.kind not in ("slow", "timeout", "disconnect"):
            if fault.execute:
                self.api.dispatch(Request(method, split.path, query, raw, in_batch=True))
            response = fault_response(fault.kind)
        else:
            try:
                response = self.api.dispatch(Request(method, split.path, query, raw, in_batch=True))
            except Exception as exc:  # an internal failure is a 500 result, not a dead worker
                response = Response.from_error(
                    ApiError(500, "Internal Server Error", f"{type(exc).__name__}: {exc}")
                )
        if response.body is None:
            text = ""
        elif isinstance(response.body, str):
            text = response.body
        else:
            text = json.dumps(response.body)
        return {
            "status_code": response.status,
            "operation_id": op.get("operation_id"),
            "response": text,
        }

    def _archive(self, results: list[dict[str, Any]]) -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            for start in range(0, max(len(results), 1), self.chunk):
                part = results[start : start + self.chunk]
                data = json.dumps(part).encode("utf-8")
                info = tarfile.TarInfo(f"{uuid.uuid4().hex}.json")
                info.size = len(data)
                info.mtime = int(time.time())
                tar.addfile(info, io.BytesIO(data))
        return buf.getvalue()
