"""At most max_concurrency requests in flight per account, across threads and clients."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from target_mailchimp.api import MailchimpClient, MailchimpConfigError, RetryPolicy, gate_for
from target_mailchimp.api import gate as gate_module
from tests.target_mailchimp.test_api_scripted_server import Reply, ScriptedServer


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer(default=Reply(200, {"ok": True}, delay=0.05)) as srv:
        yield srv


def fresh_key() -> str:
    """A key no other test uses, so each test has its own account gate."""
    return uuid.uuid4().hex + "-us6"


def fire(clients: list[MailchimpClient], n: int = 30) -> list[int]:
    """``n`` calls from ``n`` threads, spread over ``clients``; returns statuses."""
    start = threading.Barrier(n)

    def one(i: int) -> int:
        start.wait(5)
        return clients[i % len(clients)].request("GET", f"/lists/l{i}").status

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def make(server: ScriptedServer, key: str, limit: int) -> MailchimpClient:
    return MailchimpClient(
        key, api_url=server.api_url, max_concurrency=limit, retry=RetryPolicy.no_wait()
    )


@pytest.mark.parametrize("limit", [2, 8])
def test_thirty_threads_never_exceed_the_limit(server: ScriptedServer, limit: int) -> None:
    with make(server, fresh_key(), limit) as mc:
        statuses = fire([mc])
        peak = mc.transport.gate.peak
    assert statuses == [200] * 30
    assert len(server.requests) == 30
    assert server.max_in_flight <= limit
    assert peak <= limit
    # The limit is used, not just respected: calls did overlap.
    assert server.max_in_flight >= min(limit, 2)


def test_default_is_ten_the_accounts_limit() -> None:
    with MailchimpClient(fresh_key()) as mc:
        assert mc.max_concurrency == 10


def test_more_than_ten_is_clamped_with_a_warning(
    server: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="target_mailchimp.api")
    with make(server, fresh_key(), 25) as mc:
        assert mc.max_concurrency == 10
        assert "max_concurrency=25" in caplog.text
        assert "limit of 10" in caplog.text
        fire([mc])
        assert mc.transport.gate.limit == 10
    assert server.max_in_flight <= 10


def test_zero_is_rejected() -> None:
    with pytest.raises(MailchimpConfigError, match="1 to 10"):
        MailchimpClient(fresh_key(), max_concurrency=0)


def test_clients_with_the_same_key_share_one_gate(server: ScriptedServer) -> None:
    key = fresh_key()
    with make(server, key, 3) as a, make(server, key, 3) as b:
        assert a.transport.gate is b.transport.gate
        fire([a, b])
    assert server.max_in_flight <= 3


def test_the_strictest_live_client_sets_the_account_limit(server: ScriptedServer) -> None:
    key = fresh_key()
    with make(server, key, 8) as loose:
        with make(server, key, 2):
            assert loose.transport.gate.limit == 2
            fire([loose])
            assert server.max_in_flight <= 2
        # The strict client closed: its limit no longer applies.
        assert loose.transport.gate.limit == 8


def test_a_dropped_client_leaves_the_gate(server: ScriptedServer) -> None:
    key = fresh_key()
    with make(server, key, 8) as keeper:
        strict = make(server, key, 1)
        assert keeper.transport.gate.limit == 1
        strict.transport.session.close()
        del strict
        import gc

        gc.collect()
        assert keeper.transport.gate.limit == 8


def test_different_keys_have_separate_gates(server: ScriptedServer) -> None:
    with make(server, fresh_key(), 2) as a, make(server, fresh_key(), 2) as b:
        assert a.transport.gate is not b.transport.gate
        fire([a, b])
        assert a.transport.gate.peak <= 2
        assert b.transport.gate.peak <= 2


def test_the_registry_is_keyed_by_fingerprint_not_key() -> None:
    key = fresh_key()
    with MailchimpClient(key) as mc:
        assert mc.account.startswith("key-")
        assert key not in mc.account
        assert gate_for(mc.account) is mc.transport.gate
        assert all(key.split("-")[0] not in k for k in gate_module._registry)


def test_the_session_pool_fits_the_concurrency() -> None:
    with MailchimpClient(fresh_key(), max_concurrency=10) as mc:
        adapter = mc.transport.session.get_adapter("https://us6.api.mailchimp.com/3.0/ping")
        assert adapter._pool_maxsize >= 10  # type: ignore[attr-defined]
        assert mc.transport.session.verify is True
