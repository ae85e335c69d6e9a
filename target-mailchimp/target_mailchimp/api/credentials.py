"""The API key: data center, base URL, redaction and origin-scoped auth.

The key is held by :class:`ApiKey`, whose ``repr``/``str`` never show it.
:class:`ScopedBasicAuth` adds the HTTP Basic header only to requests for the
API's own origin, so a download from another host (the batch results archive
lives on a storage service) never carries the key.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase

from target_mailchimp.api.errors import MailchimpConfigError

#: The Basic-auth user name; Mailchimp ignores it.
AUTH_USERNAME = "target-mailchimp"

_DC_RE = re.compile(r"[a-z]{1,8}[0-9]{1,4}")
_REDACTED = "***"


class ApiKey:
    """A Mailchimp API key that never prints itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise MailchimpConfigError("The Mailchimp API key must be a string.")
        value = value.strip()
        if not value:
            raise MailchimpConfigError("The Mailchimp API key is empty; set `api_key`.")
        if any(ch.isspace() or not ch.isprintable() for ch in value):
            raise MailchimpConfigError(
                "The Mailchimp API key contains spaces or control characters; "
                "copy it again from Account > Extras > API keys."
            )
        self._value = value

    def reveal(self) -> str:
        """The key itself; only for building the Authorization header."""
        return self._value

    @property
    def fingerprint(self) -> str:
        """A short, stable, non-reversible id of the key (safe to log)."""
        return "key-" + hashlib.sha256(self._value.encode()).hexdigest()[:12]

    @property
    def data_center(self) -> str | None:
        """The data center named by the key's suffix (``...-us6`` -> ``us6``), if valid."""
        if "-" not in self._value:
            return None
        dc = self._value.rsplit("-", 1)[1].lower()
        return dc if _DC_RE.fullmatch(dc) else None

    def redact(self, text: str) -> str:
        """``text`` with every occurrence of the key (or its secret part) replaced."""
        if not text:
            return text
        secret_part = self._value.rsplit("-", 1)[0]
        for needle in (self._value, secret_part, _basic_token(self._value)):
            if len(needle) >= 8 and needle in text:
                text = text.replace(needle, _REDACTED)
        return text

    def __repr__(self) -> str:
        return f"ApiKey({self.fingerprint})"

    __str__ = __repr__

    def __reduce__(self) -> None:  # type: ignore[override]
        raise TypeError("An ApiKey cannot be pickled.")


def _basic_token(key: str) -> str:
    return base64.b64encode(f"{AUTH_USERNAME}:{key}".encode()).decode("ascii")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_base_url(key: ApiKey, api_url: str | None = None) -> str:
    """The API base URL (ending in ``/3.0``, no trailing slash).

    ``api_url`` wins when set and is used as given. Otherwise the key's data
    center picks ``https://<dc>.api.mailchimp.com/3.0``.
    """
    if api_url:
        url = api_url.strip().rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise MailchimpConfigError(
                "`api_url` must be an absolute http(s) URL such as "
                "https://us6.api.mailchimp.com/3.0 (got a value without scheme or host)."
            )
        if parts.username or parts.password:
            raise MailchimpConfigError(
                "`api_url` must not contain credentials; put the key in `api_key`."
            )
        if parts.scheme == "http" and not _is_loopback(parts.hostname):
            raise MailchimpConfigError(
                "`api_url` uses plain http for a host that is not loopback; the API key "
                "would travel unencrypted. Use https (plain http is only allowed for "
                "127.0.0.1/localhost test servers)."
            )
        if parts.query or parts.fragment:
            raise MailchimpConfigError("`api_url` must not carry a query or fragment.")
        return url
    dc = key.data_center
    if dc is None:
        raise MailchimpConfigError(
            "The Mailchimp API key has no data center suffix (it should end in '-' plus the "
            "data center, e.g. '-us6'). Copy the whole key from Mailchimp, or set `api_url` "
            "(e.g. https://us6.api.mailchimp.com/3.0) to use this key as it is."
        )
    return f"https://{dc}.api.mailchimp.com/3.0"


def origin_of(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with default ports made explicit."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


class ScopedBasicAuth(AuthBase):
    """HTTP Basic auth applied only to requests for one origin."""

    def __init__(self, key: ApiKey, base_url: str) -> None:
        self._header = "Basic " + _basic_token(key.reveal())
        self._origin = origin_of(base_url)
        self._fingerprint = key.fingerprint

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        if r.url and origin_of(r.url) == self._origin:
            r.headers["Authorization"] = self._header
        return r

    def __repr__(self) -> str:
        return f"ScopedBasicAuth({self._fingerprint})"
