"""What Intacct records said: contacts, bills and payment allocations."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, insert, select

from target_mailchimp.ledger import schema as t
from target_mailchimp.ledger.base import LedgerBase
from target_mailchimp.mapping.common import (
    STREAM_BILLS,
    STREAM_CUSTOMERS,
    STREAM_PAYMENTS,
    STREAM_VENDORS,
    as_recordno,
)
from target_mailchimp.mapping.contacts import ContactRecord
from target_mailchimp.mapping.jsonexact import dumps_exact, jsonable, loads_exact
from target_mailchimp.mapping.payments import PaymentForBill, PaymentRecord
from target_mailchimp.mapping.settlement import older_version


def payment_data(payment: PaymentRecord) -> str:
    """The stored form of an ap_payments record (its source row's ``data``)."""
    return dumps_exact(
        {
            "recordno": payment.recordno,
            "recordid": payment.recordid,
            "state": payment.state,
            "voided": payment.voided,
            "when_modified": payment.when_modified,
            "allocations": [a.to_json() for a in payment.allocations],
        },
        sort_keys=True,
    )


class SourcesMixin(LedgerBase):
    """What Intacct records said: contacts, bills and payment allocations."""

    # ------------------------------------------------------------------ source records

    def record_source(
        self,
        stream: str,
        source_key: str,
        *,
        data: Any,
        source_id: str | None = None,
        email_key: str | None = None,
        status: str | None = None,
        run_id: str | None = None,
    ) -> str | None:
        """Store (or replace) a source record; returns its previous email key if it changed."""
        with self._tx() as conn:
            previous = conn.execute(
                select(t.source_records.c.email_key)
                .where(
                    t.source_records.c.stream == stream,
                    t.source_records.c.source_key == source_key,
                )
                .with_for_update()  # PostgreSQL: concurrent writers see the true previous email
            ).first()
            self._upsert(
                conn,
                t.source_records,
                {"stream": stream, "source_key": source_key},
                {
                    "source_id": source_id,
                    "email_key": email_key,
                    "status": status,
                    "data": dumps_exact(jsonable(data), sort_keys=True),
                    "run_id": run_id or self._run_id,
                    "updated_at": self._clock(),
                },
            )
        if previous is not None and previous.email_key and previous.email_key != email_key:
            return str(previous.email_key)
        return None

    def source(self, stream: str, source_key: str) -> Any | None:
        """The stored data of a source record, or None."""
        with self._tx(write=False) as conn:
            value = conn.execute(
                select(t.source_records.c.data).where(
                    t.source_records.c.stream == stream,
                    t.source_records.c.source_key == source_key,
                )
            ).scalar()
        return loads_exact(value) if value is not None else None

    def record_contact(self, contact: ContactRecord, run_id: str | None = None) -> str | None:
        """Store a customer/vendor; returns the email key it had before if that changed
        (the sink then rebuilds the member of the old address too)."""
        return self.record_source(
            contact.stream,
            str(contact.recordno),
            data=contact.to_json(),
            source_id=contact.source_id,
            email_key=contact.email_key,
            status=contact.status,
            run_id=run_id,
        )

    def contacts_for_email(self, email_key: str) -> list[ContactRecord]:
        """Every customer and vendor record known with this (lower-cased) email."""
        with self._tx(write=False) as conn:
            rows: list[str] = list(
                conn.execute(
                    select(t.source_records.c.data).where(
                        t.source_records.c.email_key == email_key.strip().lower(),
                        t.source_records.c.stream.in_((STREAM_CUSTOMERS, STREAM_VENDORS)),
                    )
                ).scalars()
            )
            contacts = [ContactRecord.from_json(loads_exact(r)) for r in rows]
        return sorted(contacts, key=lambda c: c.merge_order)

    def _contact_by_id(self, stream: str, source_id: str) -> ContactRecord | None:
        with self._tx(write=False) as conn:
            rows: list[str] = list(
                conn.execute(
                    select(t.source_records.c.data).where(
                        t.source_records.c.stream == stream,
                        t.source_records.c.source_id == source_id,
                    )
                ).scalars()
            )
            contacts = [ContactRecord.from_json(loads_exact(r)) for r in rows]
        if not contacts:
            return None
        return max(contacts, key=lambda c: c.recordno)

    def vendor(self, vendorid: str) -> ContactRecord | None:
        """The vendor with this VENDORID (highest RECORDNO if several), or None if unseen."""
        return self._contact_by_id(STREAM_VENDORS, vendorid)

    def customer(self, customerid: str) -> ContactRecord | None:
        """The customer with this CUSTOMERID, or None if unseen."""
        return self._contact_by_id(STREAM_CUSTOMERS, customerid)

    def vendor_known(self, vendorid: str) -> str | None:
        """The vendor's email when its record was seen with a valid email, else None.

        Use `vendor()` to tell "never seen" (park the bill) from "seen without a valid email"
        (reject the bill).
        """
        vendor = self.vendor(vendorid)
        return vendor.email if vendor is not None else None

    def record_bill(self, bill: Mapping[str, Any], run_id: str | None = None) -> None:
        """Store an ap_bills record (all of it: the order is rebuilt from it on payments).

        A version older (by WHENMODIFIED) than the stored one is ignored.
        """
        recordno = as_recordno(bill.get("RECORDNO"))
        if recordno is None:
            raise ValueError(
                f"an ap_bills record needs an integer RECORDNO, got {bill.get('RECORDNO')!r}"
            )
        stored = self.source(STREAM_BILLS, str(recordno))
        if isinstance(stored, Mapping) and older_version(
            (False, _text_or_none(bill.get("WHENMODIFIED"))),
            (False, _text_or_none(stored.get("WHENMODIFIED"))),
        ):
            return
        self.record_source(
            STREAM_BILLS,
            str(recordno),
            data=bill,
            source_id=_text_or_none(bill.get("RECORDID")),
            status=_text_or_none(bill.get("STATE")),
            run_id=run_id,
        )

    def bill(self, recordno: int) -> dict[str, Any] | None:
        """The stored ap_bills record (dates as ISO strings, amounts Decimal), or None."""
        value = self.source(STREAM_BILLS, str(recordno))
        return dict(value) if value is not None else None

    def record_payment(self, payment: PaymentRecord, run_id: str | None = None) -> None:
        """Store an ap_payments record and replace its allocations to bills.

        A version older than the stored one (`settlement.older_version`) is ignored.
        """
        key = str(payment.recordno)
        stored = self.source(STREAM_PAYMENTS, key)
        if isinstance(stored, Mapping) and older_version(
            (payment.voided, payment.when_modified),
            (bool(stored.get("voided")), _text_or_none(stored.get("when_modified"))),
        ):
            return
        with self._tx() as conn:
            self._upsert(
                conn,
                t.source_records,
                {"stream": STREAM_PAYMENTS, "source_key": key},
                {
                    "source_id": payment.recordid,
                    "email_key": None,
                    "status": payment.state,
                    "data": payment_data(payment),
                    "run_id": run_id or self._run_id,
                    "updated_at": self._clock(),
                },
            )
            conn.execute(
                delete(t.payment_allocations).where(t.payment_allocations.c.payment_key == key)
            )
            if payment.allocations:
                conn.execute(
                    insert(t.payment_allocations),
                    [
                        {
                            "payment_key": key,
                            "bill_key": str(a.bill_recordno),
                            "trx_amount": str(a.trx_amount),
                            "base_amount": str(a.base_amount),
                            "voided": a.voided,
                            "when_modified": a.when_modified,
                        }
                        for a in payment.allocations
                    ],
                )

    def payments_for_bill(self, bill_recordno: int) -> list[PaymentForBill]:
        """Every payment allocation known for a bill (voided ones included), by payment."""
        with self._tx(write=False) as conn:
            rows = conn.execute(
                select(t.payment_allocations).where(
                    t.payment_allocations.c.bill_key == str(bill_recordno)
                )
            ).all()
        payments = [
            PaymentForBill(
                payment_recordno=int(r.payment_key),
                bill_recordno=int(r.bill_key),
                trx_amount=Decimal(r.trx_amount),
                base_amount=Decimal(r.base_amount),
                voided=bool(r.voided),
                when_modified=r.when_modified,
            )
            for r in rows
        ]
        return sorted(payments, key=lambda p: p.payment_recordno)


def _text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
