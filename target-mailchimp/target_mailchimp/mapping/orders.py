# ruff: noqa: E501  (markdown table rows in the docstring)
"""E-commerce orders (and their GL products) from AP bills; order status from payments.

- `bill_summary(record) -> BillSummary | Rejected`: the bill facts the status needs.
- `order_financial_status(bill, payments_for_bill, settings) -> str`: THE status rule
  (`settlement.settlement_status`, shared with every document that is owed and settled),
  used for bills and payments alike. Its facts: the bill's total and total due in the bill's
  currency (TRX_TOTALENTERED/TRX_TOTALDUE, else TOTALENTERED/TOTALDUE), STATE mapped by
  `settings.financial_status_for`, WHENMODIFIED; and per payment the amount it settled by any
  means (TRX_ amounts for TRX totals, base amounts otherwise), whether it was voided, and its
  WHENMODIFIED. In short: cancelled for reversed/declined bills; paid when Intacct says the
  bill is settled (total due 0 with a positive total, or Paid) unless a newer voided payment
  took that back, or when payments that moved money cover the total and are newer than the
  bill (or the bill does not say what is due); pending otherwise. A payment appearing twice
  counts once (a voided version wins, since Intacct never un-voids a payment, then the newest).
- `bill_to_order(bill, vendor, payments_for_bill, settings) -> BillOrder | Rejected | Parked`:
  the order and the products its lines need. `vendor` is the bill vendor's `ContactRecord`
  from the ledger, or None when no vendors record with that VENDORID was seen (-> Parked,
  retried when it arrives). Pure: everything it needs comes in as arguments.
- `payment_order_patch(bill, payments_for_bill, settings) -> dict`: the PATCH body a payment
  sends to its bill's order: `financial_status` and `updated_at_foreign` only.
- `order_id(recordno)`, `product_id(accountno)`: the ids.

`OwedDocument` holds what differs between bills (`BILL`) and AR invoices (`INVOICE`, used by
`invoices`); `bill_summary` and `bill_to_order` are `BILL.summary` and `BILL.to_order`.

Order fields (POST /ecommerce/stores/{store_id}/orders):

| field | value |
|---|---|
| id | `bill-<RECORDNO>` |
| customer | `{"id": "vendor-<VENDORID>"}` (the vendor's e-commerce customer, written from the vendors stream) |
| currency_code | CURRENCY (else BASECURR) when TRX_TOTALENTERED is set; else BASECURR (else CURRENCY); must be an ISO 4217 code |
| order_total | TRX_TOTALENTERED, else TOTALENTERED (Decimal; zero and negative totals are sent as they are: a negative total is a credit) |
| financial_status | `order_financial_status` |
| processed_at_foreign | WHENCREATED (the bill date) at 00:00:00+00:00 |
| updated_at_foreign | the latest WHENMODIFIED of the bill and of the payments applied to it |
| lines[] | one per GL allocation line: id = line RECORDNO (else `line-<LINE_NO>`, else `line-<n>`), product_id = product_variant_id = `gl-<ACCOUNTNO>`, quantity 1, price = TRX_AMOUNT (else AMOUNT) for TRX totals, AMOUNT (else TRX_AMOUNT) otherwise |

Products: one `gl-<ACCOUNTNO>` per account on the lines, title ACCOUNTTITLE (first non-empty
on the bill's lines, else "GL <ACCOUNTNO>"), with one variant of the same id and title.

Rejections (never sent): no RECORDNO; no VENDORID; unknown or missing currency; no total;
a total or amount that is not a number; an unparseable date; no lines (Mailchimp answers
404 to `lines: []`; the bill is rejected rather than given an invented line); a line without
ACCOUNTNO or amount; an id with '/'; a vendor without a valid email (its e-commerce customer
cannot exist); a vendor that is inactive while `inactive_records="ignore"`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from target_mailchimp.mapping.common import (
    STREAM_BILLS,
    STREAM_INVOICES,
    as_recordno,
    check_object_id,
    clean_text,
    iso_date_midnight,
    iso_datetime,
    record_label,
    recordno_or_rejected,
    to_datetime,
    to_decimal,
)
from target_mailchimp.mapping.contacts import ContactRecord
from target_mailchimp.mapping.currencies import check_currency
from target_mailchimp.mapping.payloads import ObjectPayload
from target_mailchimp.mapping.payments import PaymentForBill
from target_mailchimp.mapping.results import Parked, Rejected
from target_mailchimp.mapping.settings import MappingSettings
from target_mailchimp.mapping.settlement import (
    DocumentFacts,
    settlement_status,
    settlement_version,
)

ORDER_PREFIX = "bill-"
PRODUCT_PREFIX = "gl-"


def order_id(recordno: int) -> str:
    """The order id of a bill."""
    return f"{ORDER_PREFIX}{recordno}"


def product_id(accountno: str) -> str:
    """The product (and variant) id of a GL account."""
    return f"{PRODUCT_PREFIX}{accountno}"


@dataclass(frozen=True)
class BillSummary:
    """What the status rule needs to know about a bill."""

    recordno: int
    recordid: str | None
    state: str | None
    vendorid: str | None
    currency: str | None
    total: Decimal | None
    transaction_currency: bool
    when_modified: str | None
    total_due: Decimal | None = None

    def facts(self) -> DocumentFacts:
        """The bill as a document of the status rule."""
        return DocumentFacts(
            total=self.total, total_due=self.total_due, state=self.state, when=self.when_modified
        )


def bill_version(record: Mapping[str, Any]) -> tuple[bool, str | None]:
    """The version of an ap_bills record for `settlement.older_version`: its WHENMODIFIED."""
    value = record.get("WHENMODIFIED")
    if isinstance(value, datetime):
        return (False, value.isoformat())
    return (False, None if value is None else str(value))


def _payment_version(payment: PaymentForBill) -> tuple[bool, datetime, Decimal, Decimal]:
    # A voided version wins (Intacct never un-voids), then the latest; amounts break ties so
    # the choice never depends on input order.
    voided, stamp, trx = settlement_version(payment.settlement(True))
    return (voided, stamp, trx, payment.base_amount)


def _unique_payments(
    bill_recordno: int, payments: Iterable[PaymentForBill]
) -> list[PaymentForBill]:
    chosen: dict[int, PaymentForBill] = {}
    for payment in payments:
        if payment.bill_recordno != bill_recordno:
            continue
        other = chosen.get(payment.payment_recordno)
        if other is None or _payment_version(payment) > _payment_version(other):
            chosen[payment.payment_recordno] = payment
    return [chosen[k] for k in sorted(chosen)]


def order_financial_status(
    bill: BillSummary | Mapping[str, Any],
    payments_for_bill: Iterable[PaymentForBill],
    settings: MappingSettings,
) -> str:
    """The order's financial_status (`settlement.settlement_status` on the bill's facts).

    `bill` is a `BillSummary` or an ap_bills record. Payments for other bills are ignored.
    """
    if not isinstance(bill, BillSummary):
        summary = bill_summary(bill)
        if isinstance(summary, Rejected):
            return settings.financial_status_for(clean_text(bill.get("STATE")))
        bill = summary
    payments = _unique_payments(bill.recordno, payments_for_bill)
    return settlement_status(
        bill.facts(),
        [p.settlement(bill.transaction_currency) for p in payments],
        settings.financial_status_for,
    )


def _updated_at(bill: BillSummary, payments: Iterable[PaymentForBill]) -> str | None:
    latest: tuple[datetime, str] | None = None
    for stamp in [bill.when_modified, *(p.when_modified for p in payments)]:
        if not stamp:
            continue
        try:
            parsed = to_datetime(stamp)
        except ValueError:
            continue
        if parsed is not None and (latest is None or parsed > latest[0]):
            latest = (parsed, stamp)
    return latest[1] if latest else None


def payment_order_patch(
    bill: BillSummary | Mapping[str, Any],
    payments_for_bill: Iterable[PaymentForBill],
    settings: MappingSettings,
) -> dict[str, Any]:
    """PATCH body for the bill's order after a payment: financial_status, updated_at_foreign."""
    payments = list(payments_for_bill)
    status = order_financial_status(bill, payments, settings)
    body: dict[str, Any] = {"financial_status": status}
    if isinstance(bill, BillSummary):
        summary: BillSummary | Rejected = bill
    else:
        summary = bill_summary(bill)
    if isinstance(summary, BillSummary):
        updated = _updated_at(summary, _unique_payments(summary.recordno, payments))
        if updated:
            body["updated_at_foreign"] = updated
    return body


@dataclass(frozen=True)
class BillOrder:
    """An order for a bill plus the products its lines reference."""

    bill: BillSummary
    order: ObjectPayload
    products: tuple[ObjectPayload, ...]

    @property
    def financial_status(self) -> str:
        return str(self.order.body["financial_status"])

    def patch_body(self) -> dict[str, Any]:
        """financial_status and updated_at_foreign of the order (for a status-only PATCH)."""
        return {
            k: v
            for k, v in self.order.body.items()
            if k in ("financial_status", "updated_at_foreign")
        }


def document_basics(
    label: str, summary: BillSummary, record: Mapping[str, Any], kind: OwedDocument
) -> tuple[str, str, str | None] | Rejected:
    """The party id (VENDORID / CUSTOMERID), currency and date of a bill or invoice, or why
    it cannot become an order."""
    party, document = kind.party, kind.noun
    partyid, id_problem = check_object_id(record.get(kind.party_field))
    if partyid is None:
        return Rejected(
            f"{party}_missing",
            f"{label}: {kind.party_field} {id_problem}; every {document} needs its {party} to "
            "become an order",
        )
    currency, currency_problem = check_currency(summary.currency)
    if currency is None:
        return Rejected(
            "currency_invalid", f"{label}: currency {currency_problem}; {kind.set_currency}"
        )
    if summary.total is None:
        return Rejected(
            "total_missing",
            f"{label}: TRX_TOTALENTERED and TOTALENTERED are empty; select them in the tap",
        )
    try:
        processed_at = iso_date_midnight(record.get("WHENCREATED"))
    except ValueError as exc:
        return Rejected("date_invalid", f"{label}: WHENCREATED {exc}")
    return partyid, currency, processed_at


def party_outcome(
    label: str,
    partyid: str,
    contact: ContactRecord | None,
    settings: MappingSettings,
    kind: OwedDocument,
) -> Rejected | Parked | None:
    """Why a bill's vendor (an invoice's customer) keeps its order from being written, or
    None: not seen yet (parked), no valid email, or inactive while inactive records are
    ignored (rejected)."""
    party, document = kind.party, kind.noun
    if contact is None:
        return Parked(
            f"{party}_unknown",
            f"{label}: {party} {partyid} is not known yet (no {party}s record seen); "
            + kind.parked_until,
            waiting_kind=party,
            waiting_keys=(partyid,),
        )
    if contact.email is None:
        return Rejected(
            f"{party}_no_email",
            f"{label}: {party} {partyid} has no valid email ({contact.email_error}), so its "
            f"Mailchimp customer cannot exist; add an email to the {party} in Intacct",
        )
    if not contact.active and settings.inactive_records == "ignore":
        return Rejected(
            f"{party}_inactive",
            f"{label}: {party} {partyid} is inactive and inactive_records is 'ignore', so "
            "its Mailchimp customer is not written; set inactive_records to 'tag' or "
            f"'archive' to keep {document}s of inactive {party}s",
        )
    return None


def order_lines(
    label: str,
    lines: Any,
    transaction_currency: bool,
    *,
    no_lines: str,
) -> tuple[list[dict[str, Any]], dict[str, str | None]] | Rejected:
    """A document's GL lines as order lines, and the title of each GL account they use.

    One line per GL line: its RECORDNO (else `line-<LINE_NO>`, else `line-<n>`) as id, the
    `gl-<ACCOUNTNO>` product and variant, quantity 1, the transaction amount for transaction
    totals (else the base amount). A document without lines is rejected with `no_lines`."""
    if lines is None:
        lines = []
    if not isinstance(lines, list):
        return Rejected("lines_invalid", f"{label}: 'lines' is not a list")
    if not lines:
        return Rejected("no_lines", no_lines)
    out: list[dict[str, Any]] = []
    titles: dict[str, str | None] = {}
    for index, line in enumerate(lines, start=1):
        where = f"{label} line {index}"
        if not isinstance(line, Mapping):
            return Rejected("lines_invalid", f"{where} is not an object")
        accountno, problem = check_object_id(line.get("ACCOUNTNO"))
        if accountno is None:
            return Rejected(
                "line_account_invalid",
                f"{where}: ACCOUNTNO {problem}; every line needs a GL account to become a product",
            )
        try:
            trx_amount = to_decimal(line.get("TRX_AMOUNT"))
            base_amount = to_decimal(line.get("AMOUNT"))
        except ValueError as exc:
            return Rejected("amount_invalid", f"{where}: amount {exc}")
        if transaction_currency:
            price = trx_amount if trx_amount is not None else base_amount
        else:
            price = base_amount if base_amount is not None else trx_amount
        if price is None:
            return Rejected("line_amount_missing", f"{where}: TRX_AMOUNT and AMOUNT are empty")
        line_recordno = as_recordno(line.get("RECORDNO"))
        line_no = as_recordno(line.get("LINE_NO"))
        if line_recordno is not None:
            line_id = str(line_recordno)
        elif line_no is not None:
            line_id = f"line-{line_no}"
        else:
            line_id = f"line-{index}"
        pid = product_id(accountno)
        out.append(
            {
                "id": line_id,
                "product_id": pid,
                "product_variant_id": pid,
                "quantity": 1,
                "price": price,
            }
        )
        if not titles.get(accountno):
            titles[accountno] = clean_text(line.get("ACCOUNTTITLE"))
    return out, titles


def document_order(
    summary: BillSummary,
    *,
    object_id: str,
    customer_id: str,
    currency: str,
    processed_at: str | None,
    lines: list[dict[str, Any]],
    titles: Mapping[str, str | None],
    payments: Iterable[PaymentForBill],
    settings: MappingSettings,
) -> BillOrder:
    """The order of an owed document (bill or invoice) and the GL products of its lines: the
    one place an order's fields, its financial_status and its products are made."""
    applied = _unique_payments(summary.recordno, payments)
    body: dict[str, Any] = {
        "id": object_id,
        "customer": {"id": customer_id},
        "currency_code": currency,
        "order_total": summary.total,
        "financial_status": order_financial_status(summary, applied, settings),
    }
    if processed_at:
        body["processed_at_foreign"] = processed_at
    updated = _updated_at(summary, applied)
    if updated:
        body["updated_at_foreign"] = updated
    body["lines"] = lines
    products = tuple(
        ObjectPayload(
            kind="product",
            object_id=product_id(accountno),
            body={
                "id": product_id(accountno),
                "title": title or f"GL {accountno}",
                "variants": [{"id": product_id(accountno), "title": title or f"GL {accountno}"}],
            },
        )
        for accountno, title in titles.items()
    )
    return BillOrder(
        bill=summary,
        order=ObjectPayload(kind="order", object_id=object_id, body=body),
        products=products,
    )


@dataclass(frozen=True)
class OwedDocument:
    """A kind of owed document that becomes an order (AP bill, AR invoice): what differs
    between the kinds. One reader (`summary`) and one builder (`to_order`) serve both."""

    stream: str
    #: What the document and its party are called in reasons ("bill", "vendor").
    noun: str
    party: str
    order_prefix: str
    #: The reasons below, whole (the troubleshooting page quotes them).
    no_lines: str
    set_currency: str
    parked_until: str

    @property
    def party_field(self) -> str:
        """The field naming the party: VENDORID, CUSTOMERID."""
        return f"{self.party.upper()}ID"

    def order_id(self, recordno: int) -> str:
        """The order id of the document."""
        return f"{self.order_prefix}{recordno}"

    def summary(self, record: Mapping[str, Any]) -> BillSummary | Rejected:
        """Read the status facts of a record of this kind."""
        label = record_label(self.stream, record)
        recordno = recordno_or_rejected(label, record)
        if isinstance(recordno, Rejected):
            return recordno
        try:
            trx_total = to_decimal(record.get("TRX_TOTALENTERED"))
            base_total = to_decimal(record.get("TOTALENTERED"))
            trx_due = to_decimal(record.get("TRX_TOTALDUE"))
            base_due = to_decimal(record.get("TOTALDUE"))
        except ValueError as exc:
            return Rejected("amount_invalid", f"{label}: total {exc}")
        if trx_total is not None:
            total: Decimal | None = trx_total
            total_due = trx_due
            transaction = True
            currency = clean_text(record.get("CURRENCY")) or clean_text(record.get("BASECURR"))
        else:
            total = base_total
            total_due = base_due
            transaction = False
            currency = clean_text(record.get("BASECURR")) or clean_text(record.get("CURRENCY"))
        try:
            when_modified = iso_datetime(record.get("WHENMODIFIED"))
        except ValueError as exc:
            return Rejected("date_invalid", f"{label}: WHENMODIFIED {exc}")
        return BillSummary(
            recordno=recordno,
            recordid=clean_text(record.get("RECORDID")),
            state=clean_text(record.get("STATE")),
            vendorid=clean_text(record.get(self.party_field)),
            currency=currency,
            total=total,
            transaction_currency=transaction,
            when_modified=when_modified,
            total_due=total_due,
        )

    def to_order(
        self,
        record: Mapping[str, Any],
        party: ContactRecord | None,
        payments: Iterable[PaymentForBill],
        settings: MappingSettings,
    ) -> BillOrder | Rejected | Parked:
        """The order and products of a record of this kind. `party` is its vendor's (its
        customer's) `ContactRecord` from the ledger, None when not seen yet (-> Parked)."""
        label = record_label(self.stream, record)
        summary = self.summary(record)
        if isinstance(summary, Rejected):
            return summary
        basics = document_basics(label, summary, record, self)
        if isinstance(basics, Rejected):
            return basics
        partyid, currency, processed_at = basics
        read = order_lines(
            label,
            record.get("lines"),
            summary.transaction_currency,
            no_lines=f"{label} {self.no_lines}",
        )
        if isinstance(read, Rejected):
            return read
        lines_out, titles = read
        refused = party_outcome(label, partyid, party, settings, self)
        if refused is not None:
            return refused
        assert party is not None  # a party not seen yet parks the document (party_outcome)
        return document_order(
            summary,
            object_id=self.order_id(summary.recordno),
            customer_id=party.customer_id,
            currency=currency,
            processed_at=processed_at,
            lines=lines_out,
            titles=titles,
            payments=payments,
            settings=settings,
        )


#: The two kinds, as a table: each field of `OwedDocument` for (AP bill, AR invoice). Bills
#: become orders `bill-<RECORDNO>` of the vendor's e-commerce customer, invoices orders
#: `invoice-<RECORDNO>` of the customer's. Both are read alike, TOTALDUE included, so one
#: status rule serves every owed document. The reasons are whole: the troubleshooting page
#: quotes them.
_KINDS: dict[str, tuple[Any, Any]] = {
    "stream": (STREAM_BILLS, STREAM_INVOICES),
    "noun": ("bill", "invoice"),
    "party": ("vendor", "customer"),
    "order_prefix": (ORDER_PREFIX, "invoice-"),
    "no_lines": (
        "has no GL allocation lines, and Mailchimp refuses an order without lines; select the "
        "bill's lines in the tap or add lines to the bill in Intacct",
        "has no GL lines, and Mailchimp refuses an order without lines; select the invoice's "
        "lines in the tap or add lines to the invoice in Intacct",
    ),
    "set_currency": (
        "set CURRENCY on the bill in Intacct",
        "set CURRENCY on the invoice in Intacct",
    ),
    "parked_until": ("parked until the vendor arrives", "parked until the customer arrives"),
}
BILL = OwedDocument(**{field: kinds[0] for field, kinds in _KINDS.items()})
INVOICE = OwedDocument(**{field: kinds[1] for field, kinds in _KINDS.items()})
#: Read the status facts of an ap_bills record.
bill_summary = BILL.summary
#: The order and products of an ap_bills record (see module docstring).
bill_to_order = BILL.to_order
