"""Configuration of the gateway client."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

__all__ = ["DEFAULT_API_URL", "GatewayConfig", "is_secure_url"]

DEFAULT_API_URL = "https://api.intacct.com/ia/xml/xmlgw.phtml"


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_secure_url(url: str) -> bool:
    """True for https URLs, and for plain http to a loopback host (local test servers only):
    every request carries the sender password, so it never travels unencrypted."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return bool(parts.netloc)
    return parts.scheme == "http" and _is_loopback(parts.hostname)


@dataclass(frozen=True)
class GatewayConfig:
    """Everything the client needs; passwords are left out of ``repr``.

    ``api_url`` is where getAPISession goes; later calls go to the endpoint the session returns.
    """

    sender_id: str
    sender_password: str = field(repr=False)
    user_id: str
    user_password: str = field(repr=False)
    company_id: str
    entity_id: str | None = None
    api_url: str = DEFAULT_API_URL
    #: Renew the session this long after login (sessions are assumed to expire after 50 minutes).
    session_refresh_minutes: float = 45
    #: Seconds to wait for one gateway answer.
    request_timeout: float = 300
    #: Retries of one request after a transient fault (so at most max_retries + 1 attempts).
    max_retries: int = 5
    #: Requests in flight at once (the company's allowance; most companies are allowed 2).
    max_concurrent_requests: int = 2

    def __post_init__(self) -> None:
        for name in ("sender_id", "sender_password", "user_id", "user_password", "company_id"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"Intacct config: {name} is required and must be a string")
        if self.entity_id == "":
            object.__setattr__(self, "entity_id", None)
        parts = urlsplit(self.api_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"Intacct config: api_url must be an http(s) URL, got {self.api_url!r}"
            )
        if not is_secure_url(self.api_url):
            raise ValueError(
                "Intacct config: api_url uses plain http for a host that is not loopback, so the "
                "passwords would travel unencrypted; use https (plain http is only allowed for "
                "127.0.0.1/localhost test servers)"
            )
        if self.session_refresh_minutes <= 0:
            raise ValueError("Intacct config: session_refresh_minutes must be positive")
        if self.request_timeout <= 0:
            raise ValueError("Intacct config: request_timeout must be positive")
        if self.max_retries < 0:
            raise ValueError("Intacct config: max_retries must be >= 0")
        if self.max_concurrent_requests < 1:
            raise ValueError("Intacct config: max_concurrent_requests must be >= 1")

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> GatewayConfig:
        """Build from a tap config dict; unknown keys are ignored, ``None`` means the default."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in config.items() if k in known and v is not None}
        missing = [
            name
            for name in ("sender_id", "sender_password", "user_id", "user_password", "company_id")
            if not values.get(name)
        ]
        if missing:
            raise ValueError(f"Intacct config is missing: {', '.join(missing)}")
        for name in ("session_refresh_minutes", "request_timeout"):
            if name in values:
                values[name] = float(values[name])
        for name in ("max_retries", "max_concurrent_requests"):
            if name in values:
                values[name] = int(values[name])
        return cls(**values)

    @property
    def secrets(self) -> tuple[str, ...]:
        """The values that must never be logged."""
        return (self.sender_password, self.user_password)
