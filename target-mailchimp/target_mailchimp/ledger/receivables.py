"""What AR records said: invoices and the allocations of AR payments to them.

Invoices are source records of the `ar_invoices` stream (all of the record: the order is
rebuilt from it when a payment arrives). AR payments are source records of `ar_payments`;
their allocations share the payments table of AP with keys prefixed `ar:` (`ar:<payment>`,
`ar:<invoice>`), so an AR and an AP record of the same number never mix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from target_mailchimp.ledger import schema as t
from target_mailchimp.ledger.bulk import BulkMixin, _chunks
from target_mailchimp.mapping.common import (
    STREAM_AR_PAYMENTS,
    STREAM_CUSTOMERS,
    STREAM_INVOICES,
)
from target_mailchimp.mapping.contacts import ContactRecord
from target_mailchimp.mapping.jsonexact import loads_exact
from target_mailchimp.mapping.payments import PaymentForBill, PaymentRecord

AR_KEY_PREFIX = "ar:"


def _ar_key(recordno: int | str) -> str:
    return f"{AR_KEY_PREFIX}{recordno}"


def _text_or_none(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


class ReceivablesMixin(BulkMixin):
    """AR invoices, AR payment allocations and customers by CUSTOMERID."""

    def customers(self, customerids: Iterable[str]) -> dict[str, ContactRecord]:
        """{CUSTOMERID: customer (highest RECORDNO)} for the known ones."""
        return self._contacts_by_id(STREAM_CUSTOMERS, customerids)

    def record_invoices(
        self, invoices: Sequence[Mapping[str, Any]], run_id: str | None = None
    ) -> None:
        """Store ar_invoices records: the newest version of each, as bills are kept."""
        self._record_documents(STREAM_INVOICES, invoices, run_id)

    def invoices(self, recordnos: Iterable[int]) -> dict[int, dict[str, Any]]:
        """{RECORDNO: stored ar_invoices record} for the known ones."""
        keys = sorted({str(n) for n in recordnos})
        out: dict[int, dict[str, Any]] = {}
        with self._tx(write=False) as conn:
            for part in _chunks(keys):
                for row in conn.execute(
                    select(t.source_records.c.source_key, t.source_records.c.data).where(
                        t.source_records.c.stream == STREAM_INVOICES,
                        t.source_records.c.source_key.in_(part),
                    )
                ).all():
                    out[int(row.source_key)] = dict(loads_exact(row.data))
        return out

    def record_ar_payments(
        self, payments: Sequence[PaymentRecord], run_id: str | None = None
    ) -> None:
        """Store AR payments and replace their allocations to invoices (newest version kept,
        as for AP payments)."""
        self._record_settlements(STREAM_AR_PAYMENTS, AR_KEY_PREFIX, payments, run_id)

    def payments_for_invoices(
        self, invoice_recordnos: Iterable[int]
    ) -> dict[int, list[PaymentForBill]]:
        """{invoice RECORDNO: allocations of AR payments to it, by payment}."""
        keys = sorted({_ar_key(n) for n in invoice_recordnos})
        out: dict[int, list[PaymentForBill]] = {
            int(k.removeprefix(AR_KEY_PREFIX)): [] for k in keys
        }
        with self._tx(write=False) as conn:
            for part in _chunks(keys):
                for r in conn.execute(
                    select(t.payment_allocations).where(t.payment_allocations.c.bill_key.in_(part))
                ).all():
                    invoice = int(r.bill_key.removeprefix(AR_KEY_PREFIX))
                    out[invoice].append(
                        PaymentForBill(
                            payment_recordno=int(r.payment_key.removeprefix(AR_KEY_PREFIX)),
                            bill_recordno=invoice,
                            trx_amount=Decimal(r.trx_amount),
                            base_amount=Decimal(r.base_amount),
                            voided=bool(r.voided),
                            when_modified=r.when_modified,
                        )
                    )
        for payments in out.values():
            payments.sort(key=lambda p: p.payment_recordno)
        return out
