"""AP bills -> orders and products; payments -> financial status."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from target_mailchimp.mapping import (
    BillOrder,
    ContactRecord,
    MappingSettings,
    Parked,
    PaymentForBill,
    PaymentRecord,
    Rejected,
    Skipped,
    bill_summary,
    bill_to_order,
    dumps_exact,
    loads_exact,
    order_financial_status,
    payment_from_record,
    payment_order_patch,
)

SCHEMAS = Path(__file__).resolve().parents[1] / "sandbox" / "reference" / "mailchimp-schemas"
DEFAULT = MappingSettings()
VENDOR = ContactRecord(
    stream="vendors", recordno=5, source_id="V-5", active=True, email="ap@vendor.example"
)


def line(
    recordno: Any = 901,
    account: Any = "6000",
    title: Any = "Office supplies",
    amount: Any = Decimal("100.00"),
    trx: Any = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "RECORDNO": recordno,
        "LINE_NO": extra.pop("LINE_NO", 1),
        "ACCOUNTNO": account,
        "ACCOUNTTITLE": title,
        "AMOUNT": amount,
        "TRX_AMOUNT": trx,
        "DEPARTMENTID": None,
        "LOCATIONID": "HQ",
        "CLASSID": None,
        "PROJECTID": None,
        "ENTRYDESCRIPTION": "desc",
        **extra,
    }


def bill(
    recordno: Any = 77,
    *,
    state: str = "Posted",
    total: Any = Decimal("100.00"),
    trx_total: Any = None,
    currency: Any = "USD",
    basecurr: Any = "USD",
    lines: Any = None,
    **extra: Any,
) -> dict[str, Any]:
    record = {
        "RECORDNO": recordno,
        "RECORDID": f"BILL-{recordno}",
        "STATE": state,
        "VENDORID": "V-5",
        "VENDORNAME": "Vendor Five",
        "DESCRIPTION": "Supplies",
        "WHENCREATED": date(2024, 1, 5),
        "WHENPOSTED": date(2024, 1, 6),
        "WHENDUE": date(2024, 2, 5),
        "WHENPAID": None,
        "TOTALENTERED": total,
        "TOTALPAID": Decimal("0"),
        "TOTALDUE": total,
        "TRX_TOTALENTERED": trx_total,
        "TRX_TOTALPAID": None,
        "TRX_TOTALDUE": trx_total,
        "CURRENCY": currency,
        "BASECURR": basecurr,
        "MEGAENTITYID": None,
        "WHENMODIFIED": "2024-01-06T10:00:00+00:00",
        "lines": [line()] if lines is None else lines,
    }
    record.update(extra)
    return record


def pay(
    payment: int,
    amount: str,
    *,
    bill_no: int = 77,
    voided: bool = False,
    base: str | None = None,
    modified: str | None = None,
) -> PaymentForBill:
    return PaymentForBill(
        payment_recordno=payment,
        bill_recordno=bill_no,
        trx_amount=Decimal(amount),
        base_amount=Decimal(base if base is not None else amount),
        voided=voided,
        when_modified=modified,
    )


def order_of(
    record: dict[str, Any],
    vendor: ContactRecord | None = VENDOR,
    payments: list[PaymentForBill] | None = None,
    settings: MappingSettings = DEFAULT,
) -> BillOrder:
    result = bill_to_order(record, vendor, payments or [], settings)
    assert isinstance(result, BillOrder), result
    return result


def validate(schema_name: str, body: dict[str, Any]) -> None:
    schema = json.loads((SCHEMAS / f"{schema_name}.in.json").read_text())
    jsonschema.validate(json.loads(dumps_exact(body)), schema["properties"]["requestBody"])


# ---------------------------------------------------------------- order payload


def test_bill_becomes_order_with_lines_and_products() -> None:
    record = bill(
        total=Decimal("250.00"),
        lines=[
            line(901, "6000", "Office supplies", Decimal("100.00")),
            line(902, "6100", None, Decimal("120.00"), LINE_NO=2),
            line(903, "6000", "Office supplies", Decimal("30.00"), LINE_NO=3),
        ],
    )
    result = order_of(record)
    assert result.order.kind == "order" and result.order.object_id == "bill-77"
    assert result.order.body == {
        "id": "bill-77",
        "customer": {"id": "vendor-V-5"},
        "currency_code": "USD",
        "order_total": Decimal("250.00"),
        "financial_status": "pending",
        "processed_at_foreign": "2024-01-05T00:00:00+00:00",
        "updated_at_foreign": "2024-01-06T10:00:00+00:00",
        "lines": [
            {
                "id": "901",
                "product_id": "gl-6000",
                "product_variant_id": "gl-6000",
                "quantity": 1,
                "price": Decimal("100.00"),
            },
            {
                "id": "902",
                "product_id": "gl-6100",
                "product_variant_id": "gl-6100",
                "quantity": 1,
                "price": Decimal("120.00"),
            },
            {
                "id": "903",
                "product_id": "gl-6000",
                "product_variant_id": "gl-6000",
                "quantity": 1,
                "price": Decimal("30.00"),
            },
        ],
    }
    assert [p.body for p in result.products] == [
        {
            "id": "gl-6000",
            "title": "Office supplies",
            "variants": [{"id": "gl-6000", "title": "Office supplies"}],
        },
        {"id": "gl-6100", "title": "GL 6100", "variants": [{"id": "gl-6100", "title": "GL 6100"}]},
    ]
    assert all(p.kind == "product" for p in result.products)
    validate("postEcommerceStoresIdOrders", result.order.body)
    for product in result.products:
        validate("postEcommerceStoresIdProducts", product.body)
    validate("patchEcommerceStoresIdOrdersId", result.patch_body())


def test_trx_amounts_preferred_and_multi_currency() -> None:
    record = bill(
        total=Decimal("108.50"),  # base USD
        trx_total=Decimal("100.00"),  # EUR
        currency="EUR",
        basecurr="USD",
        lines=[line(amount=Decimal("108.50"), trx=Decimal("100.00"))],
    )
    body = order_of(record).order.body
    assert body["currency_code"] == "EUR"
    assert body["order_total"] == Decimal("100.00")
    assert body["lines"][0]["price"] == Decimal("100.00")


def test_base_amounts_when_no_trx_use_base_currency() -> None:
    record = bill(
        total=Decimal("108.50"),
        trx_total=None,
        currency="EUR",
        basecurr="USD",
        lines=[line(amount=Decimal("108.50"), trx=None)],
    )
    body = order_of(record).order.body
    assert body["currency_code"] == "USD"
    assert body["order_total"] == Decimal("108.50")
    # Missing CURRENCY/BASECURR fall back to the other one.
    body = order_of(bill(currency="CAD", basecurr=None)).order.body
    assert body["currency_code"] == "CAD"


def test_line_trx_missing_falls_back_to_amount() -> None:
    record = bill(
        trx_total=Decimal("50"), currency="EUR", lines=[line(amount=Decimal("54.25"), trx=None)]
    )
    assert order_of(record).order.body["lines"][0]["price"] == Decimal("54.25")


def test_exact_decimals_in_json() -> None:
    big = Decimal("12345678901234567.89")
    record = bill(total=big, lines=[line(amount=big)])
    text = dumps_exact(order_of(record).order.body)
    assert '"order_total":12345678901234567.89' in text
    assert '"price":12345678901234567.89' in text
    assert loads_exact(text)["order_total"] == big


@pytest.mark.parametrize("currency", ["XYZ", "usd1", "US", "€", ""])
def test_unknown_currency_rejected(currency: str) -> None:
    result = bill_to_order(bill(currency=currency, basecurr=None), VENDOR, [], DEFAULT)
    assert isinstance(result, Rejected) and result.code == "currency_invalid"
    assert "ap_bills RECORDNO 77" in result.reason and "CURRENCY" in result.reason


def test_lowercase_currency_is_normalized() -> None:
    assert order_of(bill(currency="eur", basecurr="eur")).order.body["currency_code"] == "EUR"


@pytest.mark.parametrize("lines", [[], None])
def test_bill_without_lines_rejected(lines: Any) -> None:
    record = bill()
    record["lines"] = lines
    result = bill_to_order(record, VENDOR, [], DEFAULT)
    assert isinstance(result, Rejected) and result.code == "no_lines"
    assert "without lines" in result.reason


def test_line_problems_rejected() -> None:
    for bad_line, code in [
        (line(account=None), "line_account_invalid"),
        (line(account="60/00"), "line_account_invalid"),
        (line(amount=None, trx=None), "line_amount_missing"),
        (line(amount="abc"), "amount_invalid"),
        ("not an object", "lines_invalid"),
    ]:
        result = bill_to_order(bill(lines=[bad_line]), VENDOR, [], DEFAULT)
        assert isinstance(result, Rejected) and result.code == code, (bad_line, result)
        assert "line 1" in result.reason


def test_other_bill_rejections() -> None:
    cases = [
        (bill(recordno=None), "recordno_missing"),
        (bill(VENDORID=None), "vendor_missing"),
        (bill(total=None, trx_total=None), "total_missing"),
        (bill(WHENCREATED="yesterday"), "date_invalid"),
        (bill(WHENMODIFIED="soon"), "date_invalid"),
        (bill(total="a lot"), "amount_invalid"),
    ]
    for record, code in cases:
        result = bill_to_order(record, VENDOR, [], DEFAULT)
        assert isinstance(result, Rejected) and result.code == code, (code, result)


def test_line_id_fallbacks() -> None:
    record = bill(lines=[line(recordno=None, LINE_NO=4), line(recordno=None, LINE_NO=None)])
    ids = [ln["id"] for ln in order_of(record).order.body["lines"]]
    assert ids == ["line-4", "line-2"]


@pytest.mark.parametrize("total", [Decimal("0"), Decimal("-40.00")])
def test_zero_and_negative_totals_are_sent(total: Decimal) -> None:
    result = order_of(bill(total=total, state="Paid", lines=[line(amount=total)]))
    assert result.order.body["order_total"] == total
    assert result.order.body["lines"][0]["price"] == total
    assert result.financial_status == "paid"  # mapped from STATE, no payments
    with_payment = order_of(bill(total=total, lines=[line(amount=total)]), payments=[pay(1, "0")])
    assert with_payment.financial_status == "pending"  # never "paid" by payments on total <= 0


def test_dates_accept_strings_and_datetimes() -> None:
    a = order_of(bill(WHENCREATED="2024-01-05", WHENMODIFIED=datetime(2024, 1, 6, 10, 0)))
    b = order_of(
        bill(WHENCREATED=datetime(2024, 1, 5, 17, 30), WHENMODIFIED="2024-01-06T10:00:00Z")
    )
    assert a.order.body == b.order.body
    assert a.order.body["processed_at_foreign"] == "2024-01-05T00:00:00+00:00"
    c = order_of(bill(WHENCREATED=None, WHENMODIFIED=None))
    assert "processed_at_foreign" not in c.order.body and "updated_at_foreign" not in c.order.body


def test_decimal_recordnos_from_the_sdk() -> None:
    record = bill(recordno=Decimal(77), lines=[line(recordno=Decimal(901))])
    body = order_of(record).order.body
    assert body["id"] == "bill-77" and body["lines"][0]["id"] == "901"


# ---------------------------------------------------------------- vendor state


def test_unknown_vendor_parks_the_bill() -> None:
    result = bill_to_order(bill(), None, [], DEFAULT)
    assert isinstance(result, Parked)
    assert result.code == "vendor_unknown" and result.waiting_kind == "vendor"
    assert result.waiting_keys == ("V-5",)
    assert "vendor V-5 is not known" in result.reason


def test_vendor_without_email_rejects_the_bill() -> None:
    vendor = ContactRecord(
        stream="vendors",
        recordno=5,
        source_id="V-5",
        active=True,
        email=None,
        email_error="DISPLAYCONTACT.EMAIL1 is empty",
    )
    result = bill_to_order(bill(), vendor, [], DEFAULT)
    assert isinstance(result, Rejected) and result.code == "vendor_no_email"
    assert "V-5" in result.reason and "EMAIL1 is empty" in result.reason


def test_inactive_vendor() -> None:
    vendor = ContactRecord(
        stream="vendors", recordno=5, source_id="V-5", active=False, email="ap@vendor.example"
    )
    result = bill_to_order(bill(), vendor, [], DEFAULT)
    assert isinstance(result, Rejected) and result.code == "vendor_inactive"
    assert isinstance(
        bill_to_order(bill(), vendor, [], MappingSettings(inactive_records="tag")), BillOrder
    )


def test_invalid_bill_is_rejected_before_parking() -> None:
    result = bill_to_order(bill(lines=[]), None, [], DEFAULT)
    assert isinstance(result, Rejected)


# ---------------------------------------------------------------- financial status


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("Draft", "pending"),
        ("Submitted", "pending"),
        ("Partially approved", "pending"),
        ("Declined", "cancelled"),
        ("Posted", "pending"),
        ("Selected", "pending"),
        ("Paid", "paid"),
        ("Partially Paid", "pending"),
        ("Reversed", "cancelled"),
        ("Reversal", "cancelled"),
        ("Some future state", "pending"),
    ],
)
def test_status_from_state_without_payments(state: str, expected: str) -> None:
    assert order_financial_status(bill(state=state), [], DEFAULT) == expected
    assert order_of(bill(state=state)).financial_status == expected


def test_custom_status_map() -> None:
    settings = MappingSettings(financial_status_map={"Posted": "authorized", "Paid": "complete"})
    assert order_financial_status(bill(state="Posted"), [], settings) == "authorized"
    assert order_financial_status(bill(state="Paid"), [], settings) == "complete"


def test_full_payment_makes_paid_even_if_state_lags() -> None:
    assert order_financial_status(bill(state="Posted"), [pay(1, "100.00")], DEFAULT) == "paid"


def test_partial_payments() -> None:
    b = bill(state="Partially Paid")
    assert order_financial_status(b, [pay(1, "40")], DEFAULT) == "pending"
    assert order_financial_status(b, [pay(1, "40"), pay(2, "60")], DEFAULT) == "paid"


def test_over_payment_is_paid() -> None:
    assert order_financial_status(bill(), [pay(1, "150")], DEFAULT) == "paid"


def test_voided_payment_takes_order_back_to_pending() -> None:
    # Bill STATE still says Paid, but the only payment was voided.
    assert order_financial_status(bill(state="Paid"), [pay(1, "100", voided=True)], DEFAULT) == (
        "pending"
    )
    # A voided payment plus a valid full one: paid.
    assert (
        order_financial_status(bill(), [pay(1, "100", voided=True), pay(2, "100")], DEFAULT)
        == "paid"
    )
    # The same payment seen twice (before and after voiding): voided wins.
    assert (
        order_financial_status(bill(), [pay(1, "100"), pay(1, "100", voided=True)], DEFAULT)
        == "pending"
    )
    assert (
        order_financial_status(bill(), [pay(1, "100", voided=True), pay(1, "100")], DEFAULT)
        == "pending"
    )


def test_cancelled_stays_cancelled_with_payments() -> None:
    assert order_financial_status(bill(state="Reversed"), [pay(1, "100")], DEFAULT) == "cancelled"
    assert order_financial_status(bill(state="Declined"), [pay(1, "100")], DEFAULT) == "cancelled"


def test_payments_of_other_bills_are_ignored() -> None:
    assert order_financial_status(bill(), [pay(1, "100", bill_no=78)], DEFAULT) == "pending"
    assert (
        order_financial_status(bill(state="Paid"), [pay(1, "100", bill_no=78)], DEFAULT) == "paid"
    )


def test_trx_and_base_amounts_are_compared_in_the_bills_currency() -> None:
    eur_bill = bill(total=Decimal("108.50"), trx_total=Decimal("100.00"), currency="EUR")
    # Paid 100 EUR (108.50 USD): paid.
    assert order_financial_status(eur_bill, [pay(1, "100.00", base="108.50")], DEFAULT) == "paid"
    # Paid 100 USD-worth only (92.17 EUR): pending.
    assert order_financial_status(eur_bill, [pay(1, "92.17", base="100.00")], DEFAULT) == "pending"
    usd_bill = bill(total=Decimal("108.50"), trx_total=None)
    assert order_financial_status(usd_bill, [pay(1, "100.00", base="108.50")], DEFAULT) == "paid"
    assert order_financial_status(usd_bill, [pay(1, "108.50", base="100")], DEFAULT) == "pending"


def test_status_takes_a_summary_or_a_record() -> None:
    summary = bill_summary(bill())
    assert not isinstance(summary, Rejected)
    assert order_financial_status(summary, [pay(1, "100")], DEFAULT) == "paid"
    assert order_financial_status({"STATE": "Paid"}, [], DEFAULT) == "paid"  # unusable record


@given(
    st.sampled_from(["Draft", "Posted", "Paid", "Partially Paid", "Reversed", "Declined"]),
    st.lists(
        st.tuples(
            st.integers(1, 5), st.decimals(min_value=0, max_value=200, places=2), st.booleans()
        ),
        max_size=6,
    ),
)
def test_status_rule_properties(state: str, raw: list[tuple[int, Decimal, bool]]) -> None:
    payments = [pay(n, str(amount), voided=voided) for n, amount, voided in raw]
    status = order_financial_status(bill(state=state), payments, DEFAULT)
    assert status == order_financial_status(bill(state=state), list(reversed(payments)), DEFAULT)
    if state in ("Reversed", "Declined"):
        assert status == "cancelled"
    elif not payments:
        assert status == DEFAULT.financial_status_for(state)
    else:
        assert status in ("paid", "pending")


# ---------------------------------------------------------------- payments


def payment_record(state: str = "Complete", details: Any = None, **extra: Any) -> dict[str, Any]:
    return {
        "RECORDNO": 500,
        "RECORDID": "PAY-500",
        "STATE": state,
        "VENDORID": "V-5",
        "PAYMENTMETHOD": "Check",
        "PAYMENTDATE": date(2024, 2, 1),
        "WHENPAID": date(2024, 2, 1),
        "TOTALENTERED": Decimal("150"),
        "TOTALPAID": Decimal("150"),
        "TRX_TOTALENTERED": Decimal("150"),
        "TRX_TOTALPAID": Decimal("150"),
        "CURRENCY": "USD",
        "DOCNUMBER": "1001",
        "WHENMODIFIED": "2024-02-01T09:00:00+00:00",
        "details": details
        if details is not None
        else [
            {
                "RECORDNO": 1,
                "RECORDKEY": 77,
                "ENTRYKEY": 901,
                "PAYMENTAMOUNT": Decimal("60"),
                "TRX_PAYMENTAMOUNT": Decimal("60"),
            },
            {
                "RECORDNO": 2,
                "RECORDKEY": Decimal(77),
                "ENTRYKEY": 902,
                "PAYMENTAMOUNT": Decimal("40"),
                "TRX_PAYMENTAMOUNT": None,
            },
            {
                "RECORDNO": 3,
                "RECORDKEY": "78",
                "ENTRYKEY": 950,
                "PAYMENTAMOUNT": Decimal("50"),
                "TRX_PAYMENTAMOUNT": Decimal("45.10"),
            },
        ],
        **extra,
    }


def test_payment_allocations_grouped_per_bill() -> None:
    payment = payment_from_record(payment_record())
    assert isinstance(payment, PaymentRecord)
    assert payment.bill_recordnos == (77, 78)
    by_bill = {a.bill_recordno: a for a in payment.allocations}
    assert by_bill[77].trx_amount == Decimal("100") and by_bill[77].base_amount == Decimal("100")
    assert by_bill[78].trx_amount == Decimal("45.10") and by_bill[78].base_amount == Decimal("50")
    assert not payment.voided and payment.when_modified == "2024-02-01T09:00:00+00:00"
    assert order_financial_status(bill(), payment.allocations, DEFAULT) == "paid"


def test_voided_payment_record() -> None:
    payment = payment_from_record(payment_record(state="Voided"))
    assert isinstance(payment, PaymentRecord) and payment.voided
    assert all(a.voided for a in payment.allocations)
    assert order_financial_status(bill(state="Paid"), payment.allocations, DEFAULT) == "pending"


def test_payment_problems() -> None:
    assert isinstance(payment_from_record(payment_record(details=[])), Skipped)
    r = payment_from_record(payment_record(details=[{"RECORDKEY": None, "PAYMENTAMOUNT": 1}]))
    assert isinstance(r, Rejected) and r.code == "detail_bill_missing"
    r = payment_from_record(payment_record(details=[{"RECORDKEY": 77}]))
    assert isinstance(r, Rejected) and r.code == "amount_missing"
    r = payment_from_record(payment_record(details=[{"RECORDKEY": 77, "PAYMENTAMOUNT": "x"}]))
    assert isinstance(r, Rejected) and r.code == "amount_invalid"
    r = payment_from_record(payment_record(RECORDNO=None))
    assert isinstance(r, Rejected) and r.code == "recordno_missing"


def test_payment_order_patch() -> None:
    payments = [pay(1, "100", modified="2024-02-01T09:00:00+00:00")]
    patch = payment_order_patch(bill(), payments, DEFAULT)
    assert patch == {"financial_status": "paid", "updated_at_foreign": "2024-02-01T09:00:00+00:00"}
    validate("patchEcommerceStoresIdOrdersId", patch)
    voided = [pay(1, "100", voided=True, modified="2024-02-03T09:00:00+00:00")]
    assert payment_order_patch(bill(state="Paid"), voided, DEFAULT) == {
        "financial_status": "pending",
        "updated_at_foreign": "2024-02-03T09:00:00+00:00",
    }
    # The bill's own WHENMODIFIED wins when it is later.
    old = [pay(1, "10", modified="2023-12-01T00:00:00+00:00")]
    assert payment_order_patch(bill(), old, DEFAULT)["updated_at_foreign"] == (
        "2024-01-06T10:00:00+00:00"
    )


def test_order_rebuilt_with_payments_matches_patch() -> None:
    payments = [pay(1, "100", modified="2024-02-01T09:00:00+00:00")]
    rebuilt = order_of(bill(), payments=payments)
    assert rebuilt.financial_status == "paid"
    assert rebuilt.patch_body() == payment_order_patch(bill(), payments, DEFAULT)
    # Order-independent and changes the hash only through the status fields.
    unpaid = order_of(bill())
    assert rebuilt.order.payload_hash() != unpaid.order.payload_hash()
    assert order_of(bill(), payments=list(reversed(payments))).order == rebuilt.order
