"""Mailchimp connection slots shared by every run that uses one PostgreSQL ledger database.

Mailchimp allows 10 simultaneous connections per account. Each run caps itself at
`max_concurrency`, but several runs (companies) writing into one account would together go
over the limit and live on 429 answers. `PostgresAccountSlots` is the `SharedSlots` provider
the target injects into its Mailchimp client when the ledger is on PostgreSQL:

- An account's slots are PostgreSQL session advisory locks (account key, slot 0..9), taken
  with `pg_try_advisory_lock` on one database session of the run and released after each
  request. No more than 10 can be held at once, whichever processes and machines hold them.
- A run that dies (killed, machine lost) loses its database session and with it every slot
  it held: nothing expires late, nothing needs cleaning.
- Fair shares: every run using an account holds a "member" advisory lock while it runs; a
  run takes at most `limit // members` slots at once (at least one), so each of up to 10
  runs always gets its share and none starves; a run alone gets all 10.
- Waiting threads poll every `poll_interval` seconds (with jitter) and wake at once when a
  slot of their own process comes back.

Accounts are named by the API key's fingerprint (never the key). The database session is
the only state; `close()` gives everything back.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from sqlalchemy import Connection, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from target_mailchimp.api.gate import ACCOUNT_CONNECTION_LIMIT
from target_mailchimp.ledger.engine import create_ledger_engine, display_url
from target_mailchimp.ledger.records import LedgerError


def _int4(label: str) -> int:
    return int.from_bytes(hashlib.sha256(label.encode()).digest()[:4], "big", signed=True)


def slot_lock_class(account: str) -> int:
    """First key of the account's slot locks (`pg_locks.classid`, as a signed int4)."""
    return _int4(f"target-mailchimp slots|{account}")


def member_lock_class(account: str) -> int:
    """First key of the account's member locks (one per run using the account)."""
    return _int4(f"target-mailchimp members|{account}")


class PostgresAccountSlots:
    """`SharedSlots` held as PostgreSQL advisory locks (see module docstring)."""

    def __init__(
        self,
        url: str,
        *,
        limit: int = ACCOUNT_CONNECTION_LIMIT,
        poll_interval: float = 0.02,
        share_refresh: float = 0.5,
    ) -> None:
        if make_url(url).get_backend_name() != "postgresql":
            raise ValueError("shared connection slots need a PostgreSQL ledger_url")
        self.url = display_url(url)
        self.limit = limit
        self.poll_interval = poll_interval
        self.share_refresh = share_refresh
        self._engine = create_ledger_engine(url)
        self._conn: Connection | None = None
        self._cond = threading.Condition()
        self._held: dict[str, set[int]] = {}
        self._members: dict[str, int] = {}
        self._shares: dict[str, tuple[int, float]] = {}
        self._closed = False
        #: The most slots this provider held at once (per account), for tests and logs.
        self.peak: dict[str, int] = {}

    # -- the session ---------------------------------------------------------------------

    def _session(self) -> Connection:
        if self._closed:
            raise LedgerError(f"the connection slots on {self.url} were closed")
        if self._conn is None:
            self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        return self._conn

    def _scalar(self, sql: object, params: dict[str, int] | None = None) -> object:
        try:
            return self._session().execute(sql, params or {}).scalar_one()  # type: ignore[call-overload]
        except SQLAlchemyError as exc:
            raise LedgerError(
                f"Mailchimp connection slots: the session with the ledger database {self.url} "
                f"failed ({type(exc).__name__}); the run stops rather than exceed the account's "
                "connection limit"
            ) from None

    def _join(self, account: str) -> None:
        """Take this run's member lock for `account` (once)."""
        if account in self._members:
            return
        cls = member_lock_class(account)
        while True:
            member = random.randint(0, 2**31 - 1)
            if self._scalar(select(func.pg_try_advisory_lock(cls, member))):
                self._members[account] = member
                return

    def members(self, account: str) -> int:
        """How many runs (database sessions) use `account` now."""
        unsigned = member_lock_class(account) & 0xFFFFFFFF
        count = self._scalar(
            text(
                "SELECT count(DISTINCT pid) FROM pg_locks WHERE locktype = 'advisory' "
                "AND granted AND objsubid = 2 AND classid::text::bigint = :cls"
            ),
            {"cls": unsigned},
        )
        return int(count)  # type: ignore[call-overload]

    def share(self, account: str) -> int:
        """Slots this run may hold at once: an even split among the account's runs."""
        now = time.monotonic()
        cached = self._shares.get(account)
        if cached is not None and now - cached[1] < self.share_refresh:
            return cached[0]
        value = max(1, self.limit // max(1, self.members(account)))
        self._shares[account] = (value, now)
        return value

    # -- SharedSlots ---------------------------------------------------------------------

    @contextmanager
    def hold(self, account: str) -> Iterator[int]:
        slot = self._acquire(account)
        try:
            yield slot
        finally:
            self._release(account, slot)

    def _acquire(self, account: str) -> int:
        cls = slot_lock_class(account)
        with self._cond:
            self._join(account)
            held = self._held.setdefault(account, set())
            while True:
                if len(held) < self.share(account):
                    free = [s for s in range(self.limit) if s not in held]
                    random.shuffle(free)
                    for slot in free:
                        # The session holds its own locks re-entrantly: only slots this
                        # process does not hold are tried, all under the one condition.
                        if self._scalar(select(func.pg_try_advisory_lock(cls, slot))):
                            held.add(slot)
                            self.peak[account] = max(self.peak.get(account, 0), len(held))
                            return slot
                self._cond.wait(self.poll_interval * random.uniform(0.5, 1.5))

    def _release(self, account: str, slot: int) -> None:
        with self._cond:
            held = self._held.get(account, set())
            if slot in held and self._conn is not None and not self._closed:
                self._scalar(select(func.pg_advisory_unlock(slot_lock_class(account), slot)))
            held.discard(slot)
            self._cond.notify_all()

    def held(self, account: str) -> int:
        with self._cond:
            return len(self._held.get(account, ()))

    def close(self) -> None:
        """Give back every slot and member lock (closing the session does both)."""
        with self._cond:
            self._closed = True
            conn, self._conn = self._conn, None
            self._held.clear()
            self._members.clear()
            self._cond.notify_all()
        if conn is not None:
            with suppress(SQLAlchemyError):
                conn.invalidate()  # the session ends: every advisory lock goes with it
                conn.close()
        self._engine.dispose()
