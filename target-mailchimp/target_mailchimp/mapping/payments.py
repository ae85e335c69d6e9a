"""AP payments: what each payment settled of which bill.

`payment_from_record(record) -> PaymentRecord | Rejected | Skipped` reads an `ap_payments`
record. Its `details` are grouped by RECORDKEY (the RECORDNO of the bill paid) into one
`PaymentForBill` per bill with the summed amounts the payment settled, by every means: cash
(PAYMENTAMOUNT), credits/debit memos (ADJUSTMENTAMOUNT), negative bills and discounts applied
inline (INLINEAMOUNT) and advances (POSTEDADVANCEAMOUNT); each with its `TRX_` counterpart:

- `trx_amount`: sum of the TRX_ amounts (a detail without them counts its base amounts),
  compared with bills whose total is in transaction currency (TRX_TOTALENTERED);
- `base_amount`: sum of the base amounts (a detail without them counts its TRX_ amounts),
  compared with bills whose total is TOTALENTERED.
- Only payments that moved money settle anything (`settlement.payment_moved_money`): draft,
  submitted, unapproved, partially approved, approved but unpaid (no WHENPAID) and declined
  payments are kept with both amounts 0.
- `voided`: the payment's STATE is Voided or Reversed (case-insensitive): money it had moved
  was taken back; kept with its amounts (the ledger replaces the earlier version), which the
  status rule counts as nothing.

Credit amounts are read as amounts applied: their sign is ignored (the reference does not
say whether Intacct reports them positive or negative).

Rejected when RECORDNO is missing, a detail has no RECORDKEY or no amount, or an amount is
not a number. Skipped when the payment has no details (it applies to no bill).
The ledger stores the allocations (`Ledger.sources.record_payments`, keeping the newest version of a
payment) and gives them back per bill (`payments_for_bills`); `order_financial_status`
in `orders` turns them into a status with the rule in `settlement`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from target_mailchimp.mapping.common import (
    STREAM_PAYMENTS,
    as_recordno,
    clean_text,
    iso_datetime,
    record_label,
    recordno_or_rejected,
    to_decimal,
)
from target_mailchimp.mapping.results import Rejected, Skipped
from target_mailchimp.mapping.settlement import (
    Settlement,
    payment_moved_money,
    payment_reversed,
)

#: Detail fields that settle a bill, base-currency name first, then the TRX_ name.
SETTLING_AMOUNTS: tuple[tuple[str, str, bool], ...] = (
    # (base field, transaction field, is a credit applied)
    ("PAYMENTAMOUNT", "TRX_PAYMENTAMOUNT", False),
    ("ADJUSTMENTAMOUNT", "TRX_ADJUSTMENTAMOUNT", True),
    ("INLINEAMOUNT", "TRX_INLINEAMOUNT", True),
    ("POSTEDADVANCEAMOUNT", "TRX_POSTEDADVANCEAMOUNT", True),
)


@dataclass(frozen=True)
class PaymentForBill:
    """The part of one payment applied to one bill."""

    payment_recordno: int
    bill_recordno: int
    trx_amount: Decimal
    base_amount: Decimal
    voided: bool = False
    when_modified: str | None = None

    def amount(self, transaction_currency: bool) -> Decimal:
        """The amount in the bill's currency: transaction amounts for TRX totals."""
        return self.trx_amount if transaction_currency else self.base_amount

    def settlement(self, transaction_currency: bool) -> Settlement:
        """This allocation as a fact of the status rule (`settlement.settlement_status`)."""
        return Settlement(
            key=self.payment_recordno,
            amount=self.amount(transaction_currency),
            reversed=self.voided,
            when=self.when_modified,
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["trx_amount"] = str(self.trx_amount)
        data["base_amount"] = str(self.base_amount)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PaymentForBill:
        values = dict(data)
        values["trx_amount"] = Decimal(str(values["trx_amount"]))
        values["base_amount"] = Decimal(str(values["base_amount"]))
        return cls(**values)


@dataclass(frozen=True)
class PaymentRecord:
    """One AP payment and its allocations to bills (one entry per bill paid)."""

    recordno: int
    recordid: str | None
    state: str | None
    voided: bool
    when_modified: str | None
    allocations: tuple[PaymentForBill, ...]

    @property
    def bill_recordnos(self) -> tuple[int, ...]:
        return tuple(a.bill_recordno for a in self.allocations)


def payment_from_record(record: Mapping[str, Any]) -> PaymentRecord | Rejected | Skipped:
    """Read an ap_payments record (see module docstring)."""
    label = record_label(STREAM_PAYMENTS, record)
    recordno = recordno_or_rejected(label, record)
    if isinstance(recordno, Rejected):
        return recordno
    state = clean_text(record.get("STATE"))
    voided = payment_reversed(state)
    moved = payment_moved_money(state, record.get("WHENPAID"))
    try:
        when_modified = iso_datetime(record.get("WHENMODIFIED"))
    except ValueError:
        when_modified = None
    details = record.get("details")
    if details is None:
        details = []
    if not isinstance(details, list):
        return Rejected("details_invalid", f"{label}: 'details' is not a list")
    if not details:
        return Skipped(
            "no_details",
            f"{label} has no details, so it applies to no bill; nothing to update",
        )
    trx: dict[int, Decimal] = {}
    base: dict[int, Decimal] = {}
    for index, detail in enumerate(details, start=1):
        where = f"{label} detail {index}"
        if not isinstance(detail, Mapping):
            return Rejected("details_invalid", f"{where} is not an object")
        bill_no = as_recordno(detail.get("RECORDKEY"))
        if bill_no is None:
            return Rejected(
                "detail_bill_missing",
                f"{where}: RECORDKEY (the bill paid) is missing or not an integer "
                f"({detail.get('RECORDKEY')!r}); select RECORDKEY in the payment details",
            )
        trx_add = Decimal(0)
        base_add = Decimal(0)
        found = False
        for base_field, trx_field, credit in SETTLING_AMOUNTS:
            try:
                trx_value = to_decimal(detail.get(trx_field))
                base_value = to_decimal(detail.get(base_field))
            except ValueError as exc:
                return Rejected("amount_invalid", f"{where}: {exc}")
            if trx_value is None and base_value is None:
                continue
            found = True
            trx_part = trx_value if trx_value is not None else base_value
            base_part = base_value if base_value is not None else trx_value
            assert trx_part is not None and base_part is not None
            if credit:
                trx_part, base_part = abs(trx_part), abs(base_part)
            trx_add += trx_part
            base_add += base_part
        if not found:
            return Rejected(
                "amount_missing",
                f"{where}: none of TRX_PAYMENTAMOUNT, PAYMENTAMOUNT or the credit amounts "
                "(ADJUSTMENTAMOUNT, INLINEAMOUNT, POSTEDADVANCEAMOUNT) is set",
            )
        if not moved and not voided:
            trx_add = base_add = Decimal(0)
        trx[bill_no] = trx.get(bill_no, Decimal(0)) + trx_add
        base[bill_no] = base.get(bill_no, Decimal(0)) + base_add
    allocations = tuple(
        PaymentForBill(
            payment_recordno=recordno,
            bill_recordno=bill_no,
            trx_amount=trx[bill_no],
            base_amount=base[bill_no],
            voided=voided,
            when_modified=when_modified,
        )
        for bill_no in sorted(trx)
    )
    return PaymentRecord(
        recordno=recordno,
        recordid=clean_text(record.get("RECORDID")),
        state=state,
        voided=voided,
        when_modified=when_modified,
        allocations=allocations,
    )
