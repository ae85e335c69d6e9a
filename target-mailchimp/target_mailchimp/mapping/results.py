"""Outcomes of a mapping that produced no payload.

Mapping functions never raise on bad data: they return a payload or one of these, and the
sink writes the outcome into the audit trail and goes on with the next record.

- `Rejected`: the record cannot become a valid Mailchimp object; `reason` names the record,
  the problem and the fix. Never sent.
- `Skipped`: the record is valid but settings say it contributes nothing (e.g. an inactive
  customer with `inactive_records="ignore"`).
- `Parked`: the record depends on one not seen yet (a bill whose vendor is unknown, a payment
  whose bill is unknown); the sink parks it in the ledger and retries when the dependency
  arrives. `waiting_kind` is "vendor" or "bill" and `waiting_keys` the VENDORIDs or bill
  RECORDNOs awaited.

`code` is a stable machine-readable identifier (e.g. "email_invalid"); `action` is the audit
action the outcome is recorded as.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class Rejected:
    """The record cannot be written; `reason` says why and how to fix it."""

    code: str
    reason: str
    action: ClassVar[str] = "rejected"


@dataclass(frozen=True)
class Skipped:
    """The record is deliberately not written (settings or nothing to apply)."""

    code: str
    reason: str
    action: ClassVar[str] = "skipped"


@dataclass(frozen=True)
class Parked:
    """The record waits for another record (see module docstring)."""

    code: str
    reason: str
    waiting_kind: str
    waiting_keys: tuple[str, ...]
    action: ClassVar[str] = "parked"


Outcome = Rejected | Skipped | Parked
