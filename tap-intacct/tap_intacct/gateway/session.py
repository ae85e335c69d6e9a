"""API sessions and the cache that keeps one per identity.

A session is cached under :class:`SessionKey` (login URL, sender, company, user, entity), so two
companies (or entities) in one process never share a session, while every stream of one run reuses
the same login. The default cache is module-level (:data:`DEFAULT_SESSION_CACHE`); tests and callers
may pass their own.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field

__all__ = ["DEFAULT_SESSION_CACHE", "ApiSession", "SessionCache", "SessionKey"]


@dataclass(frozen=True, slots=True)
class SessionKey:
    """Identity a session belongs to."""

    sender_id: str
    company_id: str
    user_id: str
    entity_id: str | None
    #: The login URL: a session from one gateway means nothing to another.
    api_url: str = ""


@dataclass(slots=True)
class ApiSession:
    """One API session; the id is kept out of ``repr``."""

    session_id: str = field(repr=False)
    endpoint: str
    location_id: str
    created_at: dt.datetime
    #: Idle timeout announced by the gateway; moves forward with every response.
    timeout: dt.datetime | None = None

    def needs_renewal(
        self, now: dt.datetime, *, refresh_after: dt.timedelta, margin: dt.timedelta
    ) -> bool:
        """True once ``refresh_after`` has passed since login or the timeout is near."""
        if now >= self.created_at + refresh_after:
            return True
        return self.timeout is not None and now >= self.timeout - margin


class SessionCache:
    """Thread-safe map of :class:`SessionKey` to :class:`ApiSession`."""

    def __init__(self) -> None:
        self._sessions: dict[SessionKey, ApiSession] = {}
        self._lock = threading.RLock()

    @property
    def lock(self) -> threading.RLock:
        """Held while a client logs in, so threads sharing a cache log in once."""
        return self._lock

    def get(self, key: SessionKey) -> ApiSession | None:
        with self._lock:
            return self._sessions.get(key)

    def put(self, key: SessionKey, session: ApiSession) -> None:
        with self._lock:
            self._sessions[key] = session

    def invalidate(self, key: SessionKey, session: ApiSession | None = None) -> None:
        """Forget the session of ``key`` (only if it is still ``session``, when given)."""
        with self._lock:
            current = self._sessions.get(key)
            if current is not None and (session is None or current is session):
                del self._sessions[key]

    def clear(self) -> None:
        with self._lock:
            self._sessions.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def __repr__(self) -> str:
        return f"SessionCache({len(self)} sessions)"


DEFAULT_SESSION_CACHE = SessionCache()
