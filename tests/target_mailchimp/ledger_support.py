"""Helpers shared by the ledger tests on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from target_mailchimp.ledger import AuditEntry
from target_mailchimp.mapping import ContactRecord, PaymentRecord, payment_from_record

BIG = Decimal("12345678901234567.89")
"""An amount with more digits than a double holds: it must round-trip exactly."""


class Clock:
    """A controllable UTC clock, safe across threads."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, **kw: float) -> None:
        with self._lock:
            self.now += timedelta(**kw)


def contact(
    stream: str = "customers", recordno: int = 1, email: str | None = "ann@example.com", **kw: Any
) -> ContactRecord:
    prefix = "C" if stream == "customers" else "V"
    return ContactRecord(
        stream=stream,
        recordno=recordno,
        source_id=kw.pop("source_id", f"{prefix}-{recordno}"),
        active=kw.pop("active", True),
        email=email,
        **kw,
    )


def bill_record(recordno: int = 77, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "RECORDNO": Decimal(recordno),
        "RECORDID": f"B-{recordno}",
        "STATE": "Posted",
        "VENDORID": "V-1",
        "WHENCREATED": datetime(2024, 1, 5).date(),
        "WHENMODIFIED": datetime(2024, 1, 6, 10, 0, tzinfo=UTC),
        "TOTALENTERED": BIG,
        "TRX_TOTALENTERED": None,
        "CURRENCY": "USD",
        "BASECURR": "USD",
        "lines": [
            {
                "RECORDNO": 1,
                "ACCOUNTNO": "6000",
                "ACCOUNTTITLE": "Supplies",
                "AMOUNT": BIG,
                "TRX_AMOUNT": None,
            }
        ],
    }
    record.update(changes)
    return record


def payment(recordno: int, state: str, *details: tuple[int, str]) -> PaymentRecord:
    result = payment_from_record(
        {
            "RECORDNO": recordno,
            "RECORDID": f"P-{recordno}",
            "STATE": state,
            "WHENMODIFIED": "2024-02-01T00:00:00+00:00",
            "details": [
                {"RECORDKEY": bill_no, "PAYMENTAMOUNT": Decimal(amount), "TRX_PAYMENTAMOUNT": None}
                for bill_no, amount in details
            ],
        }
    )
    assert isinstance(result, PaymentRecord)
    return result


def member_created(source_key: str, source_id: str, email: str, object_id: str) -> AuditEntry:
    """The audit entry of a customer written as a member on its first attempt."""
    return AuditEntry(
        stream="customers",
        source_key=source_key,
        source_id=source_id,
        email=email,
        object_kind="member",
        object_id=object_id,
        action="created",
        http_status=200,
        request_id="r-1",
        attempts=1,
    )


def member_written(key: str) -> AuditEntry:
    """The audit entry of the member `key` written by a thread of the concurrency tests."""
    return AuditEntry(
        stream="customers", source_key=key, object_kind="member", object_id=key, action="created"
    )
