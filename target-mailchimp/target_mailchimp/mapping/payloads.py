"""`ObjectPayload`: an e-commerce object (customer, product or order) to write.

- `kind`: "customer", "product" or "order" (the ledger's object kind).
- `object_id`: the Mailchimp id, used in the URL path (the API client percent-encodes it).
- `body`: the request body; money is `Decimal` (serialize with `dumps_exact`).
- `payload_hash()`: what the ledger compares to skip unchanged writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from target_mailchimp.mapping.jsonexact import dumps_exact, payload_hash


@dataclass(frozen=True)
class ObjectPayload:
    """One Mailchimp e-commerce object and the body to send for it."""

    kind: str
    object_id: str
    body: dict[str, Any]

    def payload_hash(self) -> str:
        return payload_hash(self.body)

    def to_json(self) -> str:
        """The body as JSON text with exact decimals."""
        return dumps_exact(self.body)
