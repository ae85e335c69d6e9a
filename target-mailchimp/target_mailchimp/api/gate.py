"""Per-account limit on requests in flight.

Mailchimp allows 10 simultaneous connections per account and answers the
11th with 429. Every client object made with the same API key shares one
:class:`AccountGate` from a module-level registry, keyed by the key's
fingerprint (never the key), so several clients in one process still stay
under the limit together. The gate's limit is the smallest ``max_concurrency``
of the clients currently registered on it.

Across processes and machines the gate cannot see other runs. A client may be given a
:class:`SharedSlots` provider (for example the shared ledger database's connection slots,
``target_mailchimp.ledger.slots``): each request then also holds one of the account's slots
from that provider, so all runs writing to the account together stay under the limit. The
API client knows nothing of where the slots live; the caller injects them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

#: Mailchimp's documented per-account connection limit.
ACCOUNT_CONNECTION_LIMIT = 10


class SharedSlots(Protocol):
    """Slots of an account shared with other processes (injected into the client)."""

    def hold(self, account: str) -> AbstractContextManager[object]:
        """Block until one of ``account``'s shared slots is free; hold it in the block."""
        ...

    def close(self) -> None:
        """Give back everything held (the run ends)."""
        ...


class AccountGate:
    """A counting gate whose limit can change while it is in use."""

    def __init__(self, account: str) -> None:
        self.account = account
        self._cond = threading.Condition()
        self._in_flight = 0
        self._limits: dict[int, int] = {}
        self.peak = 0

    @property
    def limit(self) -> int:
        with self._cond:
            return self._limit_locked()

    def _limit_locked(self) -> int:
        return min(self._limits.values(), default=ACCOUNT_CONNECTION_LIMIT)

    @property
    def in_flight(self) -> int:
        with self._cond:
            return self._in_flight

    def register(self, owner: int, limit: int) -> None:
        with self._cond:
            self._limits[owner] = limit
            self._cond.notify_all()

    def unregister(self, owner: int) -> None:
        with self._cond:
            self._limits.pop(owner, None)
            self._cond.notify_all()

    def reset_peak(self) -> None:
        with self._cond:
            self.peak = self._in_flight

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the account's request slots for the duration of the block."""
        with self._cond:
            while self._in_flight >= self._limit_locked():
                self._cond.wait()
            self._in_flight += 1
            self.peak = max(self.peak, self._in_flight)
        try:
            yield
        finally:
            with self._cond:
                self._in_flight -= 1
                self._cond.notify()


_registry: dict[str, AccountGate] = {}
_registry_lock = threading.Lock()


def gate_for(account: str) -> AccountGate:
    """The shared gate of ``account`` (a key fingerprint)."""
    with _registry_lock:
        gate = _registry.get(account)
        if gate is None:
            gate = _registry[account] = AccountGate(account)
        return gate
