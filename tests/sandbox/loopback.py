"""The HTTP server under both sandboxes: threaded, on loopback, and able to stop cleanly.

`LoopbackServer` remembers its open client connections so `close_connections` can cut the
kept-alive ones when the sandbox stops (no handler thread outlives the server), and turns
Nagle's algorithm off on every accepted connection (TCP_NODELAY): an answer written in more than
one piece would otherwise wait for the client's delayed ACK (about 40 ms on Linux) on a
kept-alive connection, a stall no real API has. Its listen backlog is 128 connections, not the
standard library's 5: a client opening its ten connections at once (Mailchimp allows ten per
account) would otherwise overflow the queue, and the kernel's dropped connection attempt is
retried only after a second (TCP's initial retransmission timeout), another stall no real API
has;
`serve_in_background` runs it on a daemon thread; `Served` gives a sandbox that runs one its
`with` block and its `port`. `free_port` names a loopback port that
nothing listens on (for servers that cannot bind port 0 themselves, or for a refused connection).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from http.server import ThreadingHTTPServer
from typing import Any, Self


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    #: The listen backlog (see the module docstring); the standard library's default is 5.
    request_queue_size = 128

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with contextlib.suppress(OSError, AttributeError):
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Cut kept-alive client connections so no handler thread outlives the server."""
        with self._open_lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class Served:
    """A sandbox serving on a `LoopbackServer`: `with` starts and stops it; `port` is its port."""

    _server: LoopbackServer | None

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the sandbox is not running")
        return int(self._server.server_address[1])


def serve_in_background(server: LoopbackServer, name: str | None = None) -> threading.Thread:
    """Start serving `server` on a daemon thread (polling for shutdown every 50 ms)."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
    )
    thread.start()
    return thread


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (nothing listens on it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
