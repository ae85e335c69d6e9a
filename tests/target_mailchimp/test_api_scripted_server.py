"""A tiny scripted HTTP server for the API client's unit tests (plus its own checks).

:class:`ScriptedServer` listens on 127.0.0.1 (port 0), answers each request
with the next scripted :class:`Reply` (or a handler's answer, or a default),
records every request, and tracks how many requests are in flight at once.
Use it as a context manager so it is always stopped.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

PROBLEM = "application/problem+json; charset=utf-8"


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON; str/bytes sent as is; None -> empty
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content_type: str | None = None
    request_id: str | None = None
    truncate: bool = False  # announce more bytes than sent, then close the connection

    def encoded(self) -> tuple[bytes, str]:
        if self.body is None:
            return b"", self.content_type or "application/json"
        if isinstance(self.body, bytes):
            return self.body, self.content_type or "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode(), self.content_type or "text/html; charset=utf-8"
        ctype = self.content_type or (PROBLEM if self.status >= 400 else "application/json")
        return json.dumps(self.body).encode(), ctype


def problem(
    status: int, title: str, detail: str = "", *, request_id: str | None = None, **extra: Any
) -> Reply:
    body = {
        "type": "https://mailchimp.com/developer/marketing/docs/errors/",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": "0f1e2d3c-0000-4000-8000-000000000000",
        **extra,
    }
    return Reply(status, body, request_id=request_id)


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class ScriptedServer:
    def __init__(self, default: Reply | None = None) -> None:
        self.replies: deque[Reply] = deque()
        self.default = default or Reply(200, {})
        self.handler: Callable[[Recorded], Reply] | None = None
        self.requests: list[Recorded] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._counter = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                rec = Recorded(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers=dict(self.headers.items()),
                    body=body,
                )
                reply = outer._next(rec)
                with outer._lock:
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                try:
                    if reply.delay:
                        time.sleep(reply.delay)
                finally:
                    with outer._lock:
                        outer.in_flight -= 1
                payload, ctype = reply.encoded()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", ctype)
                    length = len(payload) + (100 if reply.truncate else 0)
                    self.send_header("Content-Length", str(length))
                    self.send_header("X-Request-Id", reply.request_id or outer._request_id())
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    if payload:
                        self.wfile.write(payload)
                    if reply.truncate:
                        self.wfile.flush()
                        self.close_connection = True
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def _request_id(self) -> str:
        with self._lock:
            self._counter += 1
            return f"req-{self._counter:04d}"

    def _next(self, rec: Recorded) -> Reply:
        with self._lock:
            self.requests.append(rec)
            if self.replies:
                return self.replies.popleft()
        if self.handler is not None:
            return self.handler(rec)
        return self.default

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self.replies.extend(replies)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return self.origin + "/3.0"

    def start(self) -> ScriptedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- the server's own checks --------------------------------------------------------------


def test_scripted_replies_in_order_then_default() -> None:
    with ScriptedServer(default=Reply(204)) as srv:
        srv.script(Reply(201, {"a": 1}), problem(404, "Resource Not Found"))
        r1 = requests.post(srv.api_url + "/x?y=1", json={"k": "v"}, timeout=5)
        r2 = requests.get(srv.api_url + "/z", timeout=5)
        r3 = requests.delete(srv.api_url + "/z", timeout=5)
    assert (r1.status_code, r1.json()) == (201, {"a": 1})
    assert r2.status_code == 404
    assert r2.headers["Content-Type"].startswith("application/problem+json")
    assert r3.status_code == 204
    assert [r.method for r in srv.requests] == ["POST", "GET", "DELETE"]
    assert srv.requests[0].path == "/3.0/x"
    assert srv.requests[0].query == {"y": ["1"]}
    assert srv.requests[0].json == {"k": "v"}
    assert r1.headers["X-Request-Id"] != r2.headers["X-Request-Id"]


def test_scripted_server_tracks_concurrency() -> None:
    with ScriptedServer(default=Reply(200, {}, delay=0.2)) as srv:
        threads = [
            threading.Thread(target=requests.get, args=(srv.api_url,), kwargs={"timeout": 5})
            for _ in range(3)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert srv.max_in_flight == 3
