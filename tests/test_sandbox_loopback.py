"""The HTTP server under both sandboxes (tests/sandbox/loopback.py)."""

from __future__ import annotations

import contextlib
import socket
from http.server import BaseHTTPRequestHandler

from tests.sandbox.loopback import LoopbackServer

#: Twice the connections Mailchimp allows an account: a client opening all of its at once.
BURST = 20


def test_a_burst_of_connections_waits_in_the_backlog_instead_of_being_dropped() -> None:
    """Connections that arrive before the server accepts them are queued by the kernel up to
    the listen backlog; beyond it, a connection attempt is dropped and retried only after a
    second. Here nothing accepts at all, so every connection of the burst must fit in the
    backlog (with the standard library's backlog of 5, the seventh times out)."""
    server = LoopbackServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    clients: list[socket.socket] = []
    try:
        address = server.server_address[:2]
        for _ in range(BURST):
            clients.append(socket.create_connection(address, timeout=3))
        assert len(clients) == BURST
    finally:
        for client in clients:
            with contextlib.suppress(OSError):
                client.close()
        server.server_close()
