"""The HTTP side: a threaded loopback server, auth, connection gate, faults, counters."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import secrets
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.sandbox.latency import Latency
from tests.sandbox.loopback import LoopbackServer, Served, serve_in_background

from .api import Api, Request, Response
from .batches import BatchRunner
from .errors import (
    PROBLEM_CONTENT_TYPE,
    PROBLEM_LINK,
    ApiError,
    api_key_invalid,
    api_key_missing,
    not_found,
    too_many_requests,
    triggered,
)
from .faults import ERROR_KINDS, Fault, Faults, fault_response
from .model import State, subscriber_hash
from .validation import BodyValidator, default_schema_dir

DEFAULT_LIST_ID = "a1b2c3d4e5"
DEFAULT_DC = "us6"
API_PREFIX = "/3.0"
RESULTS_PREFIX = "/batch-results/"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_validator_cache: dict[Path, BodyValidator] = {}
_validator_lock = threading.Lock()


def shared_validator(schema_dir: Path | None = None) -> BodyValidator:
    """One compiled :class:`BodyValidator` per schema folder for the whole process."""
    path = (schema_dir or default_schema_dir()).resolve()
    with _validator_lock:
        if path not in _validator_cache:
            _validator_cache[path] = BodyValidator(path)
        return _validator_cache[path]


@dataclass(frozen=True)
class RequestRecord:
    """One HTTP request the sandbox answered (times from ``time.monotonic()``)."""

    method: str
    path: str
    query: str
    status: int
    started: float
    ended: float
    request_id: str
    fault: str | None = None

    @property
    def api_path(self) -> str:
        """The path after ``/3.0`` (or the full path for non-API URLs)."""
        if self.path.startswith(API_PREFIX):
            return self.path[len(API_PREFIX) :] or "/"
        return self.path

    @property
    def duration(self) -> float:
        return self.ended - self.started

    @property
    def is_write(self) -> bool:
        return self.method in WRITE_METHODS


@dataclass
class Stats:
    """Live counters (read them; :meth:`MailchimpSandbox.reset_counters` zeroes them)."""

    in_flight: int = 0
    max_in_flight: int = 0
    rejected_concurrency: int = 0
    batch_operations: int = 0


class _Server(LoopbackServer):
    sandbox: MailchimpSandbox


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "MailchimpSandbox/1.0"
    timeout = 60
    server: _Server

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self.server.sandbox._handle(self)

    def do_POST(self) -> None:
        self.server.sandbox._handle(self)

    def do_PUT(self) -> None:
        self.server.sandbox._handle(self)

    def do_PATCH(self) -> None:
        self.server.sandbox._handle(self)

    def do_DELETE(self) -> None:
        self.server.sandbox._handle(self)


class MailchimpSandbox(Served):
    """A local Mailchimp Marketing API v3 on 127.0.0.1. See the package docstring."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        dc: str = DEFAULT_DC,
        list_id: str = DEFAULT_LIST_ID,
        list_name: str = "Sandbox Audience",
        latency: float = 0.0,
        latency_jitter: float = 0.0,
        latency_distribution: str = "uniform",
        latency_includes_work: bool = False,
        max_connections: int = 10,
        max_batch_members: int = 500,
        batch_order: str = "shuffled",
        batch_start_delay: float = 0.05,
        batch_op_delay: float = 0.0,
        batch_result_chunk: int = 100,
        seed: int = 0,
        fake_patterns: list[str] | None = None,
        schema_dir: Path | str | None = None,
        state_file: Path | str | None = None,
    ) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the sandbox binds loopback only")
        self.host = host
        self._requested_port = port
        self.dc = dc
        self.api_key = api_key or f"{secrets.token_hex(16)}-{dc}"
        self.extra_api_keys: set[str] = set()
        self.list_id = list_id
        self.latency = float(latency)
        self.jitter = Latency(0.0, latency_jitter, distribution=latency_distribution, seed=seed)
        self.latency_includes_work = latency_includes_work
        self.max_connections = max_connections
        self.faults = Faults()
        self.stats = Stats()
        self._stats_lock = threading.Lock()
        self._records: list[RequestRecord] = []
        self._state = State(fake_patterns)
        self.state_file = Path(state_file) if state_file else None
        if self.state_file is not None and self.state_file.exists():
            try:
                self._state.load(self.state_file.read_bytes())
            except Exception as exc:
                raise ValueError(
                    f"its state file {self.state_file} cannot be read ({type(exc).__name__}: "
                    f"{exc}); delete it to start with an empty account"
                ) from exc
        if list_id not in self._state.lists:
            self._state.add_list(list_id, list_name)
        self._validator = shared_validator(Path(schema_dir) if schema_dir else None)
        self._batches = BatchRunner(
            self._state,
            url_for=self._result_url,
            faults=self.faults,
            order=batch_order,
            seed=seed,
            start_delay=batch_start_delay,
            op_delay=batch_op_delay,
            chunk=batch_result_chunk,
            on_operation=self._count_batch_op,
        )
        self.api = Api(
            self._state,
            self._validator,
            submit_batch=self._batches.submit,
            account={
                "account_id": "sandbox0001",
                "login_id": "sandbox0001",
                "account_name": "Mailchimp Sandbox",
                "email": "owner@sandbox.test",
                "role": "owner",
                "first_name": "Sandbox",
                "last_name": "Owner",
                "total_subscribers": 0,
            },
            max_batch_members=max_batch_members,
        )
        self._batches.api = self.api
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> MailchimpSandbox:
        """Bind and serve in a background thread (idempotent)."""
        if self._server is not None:
            return self
        self._closing.clear()
        server = _Server((self.host, self._requested_port), _Handler)
        server.sandbox = self
        self._server = server
        self._thread = serve_in_background(server)
        self._batches.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut open connections, stop the batch worker."""
        if self._server is None:
            return
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        self._batches.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        if self.state_file is not None:
            tmp = self.state_file.with_name(self.state_file.name + ".tmp")
            tmp.write_bytes(self._state.dump())
            tmp.replace(self.state_file)

    # --- addresses and config --------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no ``/3.0``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/3.0``: what the target's ``api_url`` should be."""
        return self.url + API_PREFIX

    def target_config(self, **overrides: Any) -> dict[str, Any]:
        """A ready target-mailchimp config (api_key, api_url, list_id) plus *overrides*."""
        return {
            "api_key": self.api_key,
            "api_url": self.base_url,
            "list_id": self.list_id,
            **overrides,
        }

    def _result_url(self, batch_id: str) -> str:
        return f"{self.url}{RESULTS_PREFIX}{batch_id}.tar.gz"

    # --- counters --------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """Every HTTP request answered since the last :meth:`reset_counters`."""
        with self._stats_lock:
            return list(self._records)

    def count(
        self,
        method: str | None = None,
        path_prefix: str | None = None,
        *,
        writes_only: bool = False,
        status: int | None = None,
    ) -> int:
        """Count recorded requests by method, path prefix (after /3.0), writes, status."""
        n = 0
        for r in self.requests:
            if method and r.method != method.upper():
                continue
            if path_prefix and not r.api_path.startswith(path_prefix):
                continue
            if writes_only and not r.is_write:
                continue
            if status is not None and r.status != status:
                continue
            n += 1
        return n

    @property
    def batch_op_delay(self) -> float:
        """Seconds each batch operation takes (settable)."""
        return self._batches.op_delay

    @batch_op_delay.setter
    def batch_op_delay(self, seconds: float) -> None:
        self._batches.op_delay = float(seconds)

    @property
    def batch_timings(self) -> dict[str, dict[str, float]]:
        """For each batch, time.monotonic() of its submission ("submitted"), the start of its
        processing ("started") and its finish ("finished"), as far as it got."""
        return {bid: dict(t) for bid, t in self._batches.timings.items()}

    def reset_counters(self) -> None:
        """Forget recorded requests, zero :attr:`stats` (keeps in_flight) and fault history."""
        with self._stats_lock:
            self._records.clear()
            self.stats.max_in_flight = self.stats.in_flight
            self.stats.rejected_concurrency = 0
            self.stats.batch_operations = 0
        self.faults.reset_history()

    def _count_batch_op(self) -> None:
        with self._stats_lock:
            self.stats.batch_operations += 1

    # --- state, seeding --------------------------------------------------------------

    @property
    def state(self) -> dict[str, Any]:
        """Same as :meth:`snapshot`."""
        return self.snapshot()

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of all data: lists (merge fields, members by lower-cased email,
        with tags), stores (customers, products, orders) and batches."""
        with self._state.lock:
            return self._state.snapshot()

    def member(self, email: str, list_id: str | None = None) -> dict[str, Any] | None:
        """The member as GET returns it (plus tag details), or None."""
        with self._state.lock:
            audience = self._state.audience(list_id or self.list_id)
            m = audience.members.get(subscriber_hash(email))
            if m is None:
                return None
            return {**self._state.render_member(audience, m), "tags": [dict(t) for t in m["tags"]]}

    def add_list(self, list_id: str | None = None, name: str = "Another Audience") -> str:
        """Create another audience with the default merge fields; returns its id."""
        new_id = list_id or secrets.token_hex(5)
        with self._state.lock:
            self._state.add_list(new_id, name)
        return new_id

    def seed_member(
        self,
        email: str,
        status: str = "unsubscribed",
        *,
        list_id: str | None = None,
        merge_fields: dict[str, Any] | None = None,
        tags: list[str] | None = None,
    ) -> dict[str, Any]:
        """Put a member straight into the audience (any status, incl. ``archived``)."""
        lid = list_id or self.list_id
        with self._state.lock:
            audience = self._state.audience(lid)
            m = self._state._new_member(audience, email.strip())
            if status == "archived":
                m["prev_status"] = "subscribed"
            m["status"] = status
            m["merge"].update(merge_fields or {})
            self._state._add_tags(lid, m, list(tags or []))
            audience.members[m["id"]] = m
            return self._state.render_member(audience, m)

    def forget(self, email: str, list_id: str | None = None) -> None:
        """Permanently delete an address: it then gets "Forgotten Email Not Subscribed"."""
        with self._state.lock:
            audience = self._state.audience(list_id or self.list_id)
            h = subscriber_hash(email)
            audience.members.pop(h, None)
            audience.forgotten.add(h)

    def mark_fake(self, pattern: str) -> None:
        """Treat addresses matching the regex *pattern* (case-insensitive) as fake."""
        with self._state.lock:
            self._state.fake_patterns.append(re.compile(pattern, re.IGNORECASE))

    # --- batches ---------------------------------------------------------------------

    def wait_for_batches(self, timeout: float = 10.0) -> bool:
        """Block until every submitted batch has finished; False on timeout."""
        return self._batches.wait_idle(timeout)

    def pause_batches(self) -> None:
        """Keep new batches ``pending`` until :meth:`resume_batches`."""
        self._batches.pause()

    def resume_batches(self) -> None:
        self._batches.resume()

    def batch_result(self, batch_id: str) -> bytes | None:
        """The finished batch's tar.gz bytes (what response_body_url serves), or None."""
        return self._batches.archives.get(batch_id)

    # --- in-process calls ------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: dict[str, str] | None = None,
    ) -> Response:
        """Run one API call in-process (no HTTP, auth, gate, faults or counters)."""
        raw = None if body is None else json.dumps(body).encode("utf-8")
        return self.api.dispatch(Request(method.upper(), path, dict(query or {}), raw))

    # --- HTTP handling ---------------------------------------------------------------

    def _handle(self, h: _Handler) -> None:
        started = time.monotonic()
        request_id = str(uuid.uuid4())
        split = urlsplit(h.path)
        path = split.path
        method = h.command.upper()
        try:
            raw = self._read_body(h)
        except (ValueError, OSError):
            h.close_connection = True
            return
        fault: Fault | None = None
        response: Response | None
        if path.startswith(RESULTS_PREFIX):
            response, fault = self._result_response(method, path)
        elif not (path == API_PREFIX or path.startswith(API_PREFIX + "/")):
            response = Response.from_error(not_found())
        elif not self._enter():
            self._leave()
            response = Response.from_error(too_many_requests(self.max_connections))
        else:
            try:
                response, fault = self._api_call(
                    h, method, path[len(API_PREFIX) :] or "/", split.query, raw
                )
            finally:
                self._leave()
        # record before answering, so a client that got its answer also sees the record
        record = RequestRecord(
            method,
            path,
            split.query,
            0 if response is None else response.status,
            started,
            time.monotonic(),
            request_id,
            fault.kind if fault else None,
        )
        with self._stats_lock:
            self._records.append(record)
        if response is None:
            h.close_connection = True
            with contextlib.suppress(OSError):
                h.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(h, response, request_id)

    def _enter(self) -> bool:
        with self._stats_lock:
            self.stats.in_flight += 1
            self.stats.max_in_flight = max(self.stats.max_in_flight, self.stats.in_flight)
            if self.stats.in_flight > self.max_connections:
                self.stats.rejected_concurrency += 1
                return False
            return True

    def _leave(self) -> None:
        with self._stats_lock:
            self.stats.in_flight -= 1

    def _api_call(
        self, h: _Handler, method: str, api_path: str, query: str, raw: bytes | None
    ) -> tuple[Response | None, Fault | None]:
        """Latency, faults, auth, trigger, dispatch. None response = drop the connection."""
        delay = self.latency + self.jitter.sample()
        if self.latency_includes_work:
            started = time.monotonic()
            response, fault = self._api_call_now(h, method, api_path, query, raw)
            left = delay - (time.monotonic() - started)
            if left > 0 and self._closing.wait(left):
                return None, None
            return response, fault
        if delay > 0 and self._closing.wait(delay):
            return None, None
        return self._api_call_now(h, method, api_path, query, raw)

    def _api_call_now(
        self, h: _Handler, method: str, api_path: str, query: str, raw: bytes | None
    ) -> tuple[Response | None, Fault | None]:
        fault = self.faults.pick(method, api_path)
        if fault is not None:
            if fault.kind == "slow" and not self._hold(fault):
                return None, fault
            if fault.kind not in ("slow", "timeout"):
                if fault.execute:
                    self._authorized_dispatch(h, method, api_path, query, raw)
                if fault.kind == "disconnect":
                    return None, fault
                return fault_response(fault.kind), fault
        response = self._authorized_dispatch(h, method, api_path, query, raw)
        if fault is not None and fault.kind == "timeout" and not self._hold(fault):
            return None, fault
        return response, fault

    def _hold(self, fault: Fault) -> bool:
        """Wait out a slow/timeout fault; False when the sandbox is shutting down."""
        deadline = time.monotonic() + fault.seconds
        while not fault.released.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if self._closing.wait(min(left, 0.01)):
                return False
        return not self._closing.is_set()

    def _authorized_dispatch(
        self, h: _Handler, method: str, api_path: str, query: str, raw: bytes | None
    ) -> Response:
        try:
            self._authenticate(h.headers.get("Authorization"))
            override = h.headers.get("X-HTTP-Method-Override")
            if override:
                if method != "POST":
                    raise triggered("InvalidMethodOverride")
                method = override.strip().upper()
            trigger = h.headers.get("X-Trigger-Error")
            if trigger:
                raise triggered(trigger.strip())
        except ApiError as err:
            return Response.from_error(err)
        params = dict(parse_qsl(query, keep_blank_values=True))
        try:
            return self.api.dispatch(Request(method, api_path, params, raw))
        except Exception as exc:  # a sandbox bug must still answer, visibly
            return Response.from_error(
                ApiError(
                    500, "Internal Server Error", f"sandbox error: {type(exc).__name__}: {exc}"
                )
            )

    def _authenticate(self, header: str | None) -> None:
        if not header:
            raise api_key_missing()
        scheme, _, value = header.strip().partition(" ")
        scheme = scheme.lower()
        value = value.strip()
        if scheme == "basic":
            try:
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise api_key_invalid() from None
            key = decoded.partition(":")[2]
        elif scheme in ("bearer", "oauth", "apikey"):
            key = value
        else:
            raise api_key_invalid()
        if not key:
            raise api_key_missing()
        if key == self.api_key or key in self.extra_api_keys:
            return
        raise api_key_invalid()

    @staticmethod
    def _read_body(h: _Handler) -> bytes | None:
        if h.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(h.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while h.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(h.rfile.read(size))
                h.rfile.readline()
            return b"".join(chunks)
        length = int(h.headers.get("Content-Length") or 0)
        return h.rfile.read(length) if length > 0 else None

    def _result_response(self, method: str, path: str) -> tuple[Response, Fault | None]:
        fault = self.faults.pick(method, path, api=False)
        if fault is not None and fault.kind in ERROR_KINDS:
            return fault_response(fault.kind), fault
        data = self._batches.archives.get(path[len(RESULTS_PREFIX) :].removesuffix(".tar.gz"))
        if method != "GET" or data is None:
            return Response.from_error(not_found()), fault
        return Response(200, data, {"Content-Type": "application/x-gzip"}), fault

    @staticmethod
    def _send(h: _Handler, response: Response, request_id: str) -> int:
        headers = dict(response.headers)
        payload = b""
        if response.body is not None:
            if isinstance(response.body, bytes):
                payload = response.body
            elif isinstance(response.body, str):
                payload = response.body.encode("utf-8")
                headers.setdefault("Content-Type", "text/plain; charset=utf-8")
            else:
                payload = json.dumps(response.body).encode("utf-8")
                if response.problem:
                    headers["Content-Type"] = PROBLEM_CONTENT_TYPE
                    headers["Link"] = PROBLEM_LINK
                else:
                    headers.setdefault("Content-Type", "application/json; charset=utf-8")
        try:
            h.send_response(response.status)
            for key, value in headers.items():
                h.send_header(key, value)
            h.send_header("X-Request-Id", request_id)
            if response.status != 204:
                h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            if payload:
                h.wfile.write(payload)
        except OSError:
            h.close_connection = True
        return response.status
