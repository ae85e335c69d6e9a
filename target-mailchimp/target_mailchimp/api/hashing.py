"""The member id Mailchimp uses in paths."""

from __future__ import annotations

import hashlib


def normalize_email(email: str) -> str:
    """The address as Mailchimp keys it: surrounding whitespace removed, lower-cased."""
    return email.strip().lower()


def subscriber_hash(email: str) -> str:
    """Lowercase hex MD5 of the trimmed, lower-cased address (UTF-8).

    This is the ``subscriber_hash`` of every ``/lists/{list_id}/members/...``
    path and the ``id`` of the member object.
    """
    if not isinstance(email, str) or not email.strip():
        raise ValueError("subscriber_hash needs a non-empty email address")
    # MD5 is what Mailchimp defines as the member id; it is not used for security.
    return hashlib.md5(normalize_email(email).encode("utf-8"), usedforsecurity=False).hexdigest()
