"""The sandbox company generator: determinism, special records, consistency, mutation API.

Generation speed (100,000 bills with lines in a few seconds) is a benchmark concern, not a
timed test; these tests use small companies."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.sandbox.intacct import Company, SandboxClock, generate_company
from tests.sandbox.intacct.data import SHARED_EMAIL
from tests.sandbox.intacct.objects import AP_OBJECTS, BILL_STATES, OBJECTS

SIZES = {"customers": 40, "vendors": 30, "bills": 90, "payments": 45}


@pytest.fixture(scope="module")
def company() -> Company:
    return generate_company(seed=3, **SIZES)


def snapshot(c: Company) -> dict[str, list[dict[str, object]]]:
    return {obj: c.records(obj, typed=True) for obj in OBJECTS}


def test_same_seed_same_data_whatever_the_clock(company: Company) -> None:
    other_clock = SandboxClock(dt.datetime(2031, 5, 5, 5, 5, 5), frozen=True)
    again = generate_company(seed=3, clock=other_clock, **SIZES)
    assert snapshot(again) == snapshot(company)
    assert again.special == company.special
    different = generate_company(seed=4, **SIZES)
    assert snapshot(different) != snapshot(company)


def test_sizes(company: Company) -> None:
    assert company.count("CUSTOMER") == 40
    assert company.count("VENDOR") == 30
    assert company.count("APBILL") == 90
    assert company.count("APPYMT") == 45
    assert company.count("APBILLITEM") >= 90 - 1  # one bill has no lines
    assert company.count("APPYMTDETAIL") >= 45


def test_typed_values(company: Company) -> None:
    for obj, odef in OBJECTS.items():
        for rec in company.records(obj, typed=True):
            for f in odef.fields:
                v = rec[f.id]
                if v is None:
                    continue
                expected = {
                    "TEXT": str,
                    "ENUM": str,
                    "INTEGER": int,
                    "DECIMAL": Decimal,
                    "BOOLEAN": bool,
                    "DATE": dt.date,
                    "TIMESTAMP": dt.datetime,
                }[f.datatype]
                assert isinstance(v, expected), (obj, f.id, v)
                if f.datatype == "DATE":
                    assert not isinstance(v, dt.datetime), (obj, f.id)
                if f.datatype == "TIMESTAMP":
                    assert v.tzinfo is None and v.microsecond == 0
                if f.valid_values:
                    assert v in f.valid_values, (obj, f.id, v)


def test_odd_names_and_emails(company: Company) -> None:
    sp = company.special
    for obj in ("CUSTOMER", "VENDOR"):
        names = sp["names"][obj]
        assert set(names) == {"control_chars", "markup", "cyrillic", "cjk", "arabic", "emoji"}

        def get(rn: int, field: str, obj: str = obj) -> str:
            return company.get(obj, rn, typed=True)[field]  # type: ignore[index,no-any-return]

        assert "\x01" in get(names["control_chars"], "NAME")
        assert "\x0b" in get(names["control_chars"], "NAME")
        assert all(ch in get(names["markup"], "NAME") for ch in "&<>\"'")
        assert any("\u0400" <= ch <= "\u04ff" for ch in get(names["cyrillic"], "NAME"))
        assert any("\u4e00" <= ch <= "\u9fff" for ch in get(names["cjk"], "NAME"))
        assert any("\u0600" <= ch <= "\u06ff" for ch in get(names["arabic"], "NAME"))
        assert any(ord(ch) > 0xFFFF for ch in get(names["emoji"], "NAME"))
        # The wire form drops what XML cannot carry.
        wire = company.get(obj, names["control_chars"])["NAME"]
        assert "\x01" not in wire and "\x0b" not in wire and "Supplies" in wire
        for rn in sp["no_email"][obj]:
            assert get(rn, "DISPLAYCONTACT.EMAIL1") is None
        for rn in sp["messy_email"][obj]:
            email = get(rn, "DISPLAYCONTACT.EMAIL1")
            assert email != email.strip() and email != email.lower()
        assert "@" not in get(sp["invalid_email"][obj][0], "DISPLAYCONTACT.EMAIL1")
        assert sp["inactive"][obj]
        assert all(get(rn, "STATUS") == "inactive" for rn in sp["inactive"][obj])
    shared = sp["shared_email"]
    assert shared["email"] == SHARED_EMAIL
    assert len(shared["CUSTOMER"]) == 2 and len(shared["VENDOR"]) == 1
    holders = [
        (obj, r["RECORDNO"])
        for obj in ("CUSTOMER", "VENDOR")
        for r in company.records(obj, typed=True)
        if r["DISPLAYCONTACT.EMAIL1"] == SHARED_EMAIL
    ]
    assert sorted(holders) == sorted(
        [("CUSTOMER", n) for n in shared["CUSTOMER"]] + [("VENDOR", n) for n in shared["VENDOR"]]
    )
    # Special master records are top-level, visible to every session.
    for rn in shared["CUSTOMER"]:
        assert company.get("CUSTOMER", rn, typed=True)["MEGAENTITYID"] is None


def test_currencies_and_entities(company: Company) -> None:
    currencies = company.special["vendor_currencies"]
    assert {"USD", "EUR", "GBP", "CAD", "AUD"} <= set(currencies)
    owners = {r["MEGAENTITYID"] for r in company.records("APBILL", typed=True)}
    assert owners == {None, "E100", "E200"}
    for bill in company.records("APBILL", typed=True):
        for line in company.lines(bill["RECORDNO"], typed=True):
            assert line["MEGAENTITYID"] == bill["MEGAENTITYID"]
            assert line["CURRENCY"] == bill["CURRENCY"]
        vendor_no = company.find("VENDOR", VENDORID=bill["VENDORID"])
        assert len(vendor_no) == 1
        vendor = company.get("VENDOR", vendor_no[0], typed=True)
        assert vendor["MEGAENTITYID"] in (None, bill["MEGAENTITYID"])
        assert vendor["CURRENCY"] == bill["CURRENCY"]
    foreign = company.special["foreign_bills"]
    assert foreign
    for rn in foreign:
        bill = company.get("APBILL", rn, typed=True)
        assert bill["CURRENCY"] != bill["BASECURR"] == "USD"
        if bill["TRX_TOTALENTERED"]:
            assert bill["TRX_TOTALENTERED"] != bill["TOTALENTERED"]


def test_every_bill_state_and_special_bills(company: Company) -> None:
    sp = company.special
    assert set(sp["bill_states"]) == set(BILL_STATES)
    for state, rn in sp["bill_states"].items():
        assert company.get("APBILL", rn, typed=True)["STATE"] == state
    assert company.lines(sp["bill_no_lines"]) == []
    assert company.get("APBILL", sp["zero_bill"], typed=True)["TOTALENTERED"] == Decimal("0.00")
    assert company.get("APBILL", sp["negative_bill"], typed=True)["TOTALENTERED"] < 0
    small = company.lines(sp["small_money_bill"], typed=True)
    assert sorted(line["AMOUNT"] for line in small) == [Decimal("0.10"), Decimal("0.20")]
    assert company.get("APBILL", sp["small_money_bill"])["TOTALENTERED"] == "0.30"
    assert 0.1 + 0.2 != 0.3  # why this bill exists
    huge = company.get("APBILL", sp["huge_money_bill"])
    assert huge["TOTALENTERED"] == "12345678901234567.89"
    assert float(huge["TOTALENTERED"]) != Decimal("12345678901234567.89")


def test_bill_totals_are_consistent_with_lines_and_payments(company: Company) -> None:
    applied = {"Complete", "Approved", "Delivered"}
    pay_state = {p["RECORDNO"]: p["STATE"] for p in company.records("APPYMT", typed=True)}
    for bill in company.records("APBILL", typed=True):
        lines = company.lines(bill["RECORDNO"], typed=True)
        assert bill["TOTALENTERED"] == sum((x["AMOUNT"] for x in lines), Decimal("0.00"))
        assert bill["TRX_TOTALENTERED"] == sum((x["TRX_AMOUNT"] for x in lines), Decimal("0.00"))
        assert [x["LINE_NO"] for x in lines] == list(range(1, len(lines) + 1))
        paid = [
            d
            for d in company.details_for_bill(bill["RECORDNO"], typed=True)
            if pay_state[d["PAYMENTKEY"]] in applied
        ]
        assert bill["TRX_TOTALPAID"] == sum((d["TRX_PAYMENTAMOUNT"] for d in paid), Decimal("0.00"))
        assert bill["TOTALPAID"] == sum((d["PAYMENTAMOUNT"] for d in paid), Decimal("0.00"))
        if bill["STATE"] not in ("Reversed", "Reversal"):
            assert bill["TOTALDUE"] == bill["TOTALENTERED"] - bill["TOTALPAID"]
            assert bill["TRX_TOTALDUE"] == bill["TRX_TOTALENTERED"] - bill["TRX_TOTALPAID"]
        if bill["STATE"] == "Paid":
            assert bill["TRX_TOTALDUE"] == 0 and bill["WHENPAID"] is not None
        elif bill["STATE"] == "Partially Paid":
            assert 0 < bill["TRX_TOTALPAID"] < bill["TRX_TOTALENTERED"]
        else:
            assert not paid


def test_payments(company: Company) -> None:
    sp = company.special
    full = company.get("APPYMT", sp["full_payment"], typed=True)
    details = company.payment_details(sp["full_payment"], typed=True)
    assert details and full["TRX_TOTALENTERED"] == sum(d["TRX_PAYMENTAMOUNT"] for d in details)
    bill = company.get("APBILL", details[0]["RECORDKEY"], typed=True)
    assert bill["STATE"] == "Paid"
    assert {d["ENTRYKEY"] for d in details} == {
        x["RECORDNO"] for x in company.lines(bill["RECORDNO"], typed=True)
    }
    partial = company.payment_details(sp["partial_payment"], typed=True)
    assert company.get("APBILL", partial[0]["RECORDKEY"], typed=True)["STATE"] == "Partially Paid"
    split = sp["split_payment"]
    keys = {
        d["RECORDKEY"] for p in split["payments"] for d in company.payment_details(p, typed=True)
    }
    assert keys == {split["bill"]}
    multi = {d["RECORDKEY"] for d in company.payment_details(sp["multi_bill_payment"], typed=True)}
    assert len(multi) == 2
    voided = company.get("APPYMT", sp["voided_payment"], typed=True)
    assert voided["STATE"] == "Voided"
    vbill = company.get(
        "APBILL",
        company.payment_details(sp["voided_payment"], typed=True)[0]["RECORDKEY"],
        typed=True,
    )
    assert vbill["TOTALPAID"] == 0
    assert company.get("APPYMT", sp["draft_payment"], typed=True)["STATE"] == "Draft"
    (orphan,) = company.payment_details(sp["orphan_payment"], typed=True)
    assert orphan["RECORDKEY"] == sp["orphan_bill_key"]
    assert company.get("APBILL", sp["orphan_bill_key"]) is None
    for p in company.records("APPYMT", typed=True):
        det = company.payment_details(p["RECORDNO"], typed=True)
        assert p["TOTALENTERED"] == sum((d["PAYMENTAMOUNT"] for d in det), Decimal("0.00"))


def test_timestamps(company: Company) -> None:
    sp = company.special
    for obj, nos in sp["empty_whenmodified"].items():
        assert nos
        for rn in nos:
            assert company.get(obj, rn, typed=True)["WHENMODIFIED"] is None
            assert company.get(obj, rn)["WHENMODIFIED"] == ""
    end = dt.datetime(2024, 6, 28, 17, 0, 0)
    for obj in AP_OBJECTS:
        lo, hi = company.whenmodified_range(obj)
        assert end - dt.timedelta(days=366) <= lo and hi <= end
    for obj in ("VENDOR", "APBILL"):
        run = sp["same_timestamp"][obj]
        assert len(run["recordnos"]) == min(350, company.count(obj) // 2)
        for rn in run["recordnos"]:
            assert company.get(obj, rn, typed=True)["WHENMODIFIED"] == run["when"]


def test_long_same_timestamp_runs() -> None:
    c = generate_company(seed=8, customers=20, vendors=720, bills=720, payments=40)
    for obj in ("VENDOR", "APBILL"):
        run = c.special["same_timestamp"][obj]
        assert len(run["recordnos"]) == 350
        same = [r for r in c.records(obj, typed=True) if r["WHENMODIFIED"] == run["when"]]
        assert len(same) >= 350


def test_tiny_companies_still_generate() -> None:
    c = generate_company(seed=1, customers=3, vendors=2, bills=3, payments=1)
    assert c.count("CUSTOMER") == 3 and c.count("APBILL") == 3
    empty = generate_company(seed=1, customers=0, vendors=0, bills=0, payments=0)
    assert all(empty.count(o) == 0 for o in OBJECTS)


def test_mutations_move_whenmodified_and_version() -> None:
    clock = SandboxClock(dt.datetime(2024, 8, 1, 10, 30, 0), frozen=True)
    c = generate_company(seed=2, customers=10, vendors=8, bills=10, payments=4, clock=clock)
    v0 = c.version
    rn = c.recordnos("VENDOR")[0]
    c.touch("VENDOR", rn)
    assert c.get("VENDOR", rn, typed=True)["WHENMODIFIED"] == dt.datetime(2024, 8, 1, 10, 30, 0)
    assert c.get("VENDOR", rn)["WHENMODIFIED"] == "08/01/2024 10:30:00"
    c.touch("VENDOR", rn, when=dt.datetime(2024, 9, 9, 9, 9, 9))
    assert c.get("VENDOR", rn)["WHENMODIFIED"] == "09/09/2024 09:09:09"
    clock.advance(minutes=5)
    c.update("VENDOR", rn, {"NAME": "Renamed", "TOTALDUE": "10.50", "ONHOLD": "true"})
    rec = c.get("VENDOR", rn, typed=True)
    assert (rec["NAME"], rec["TOTALDUE"], rec["ONHOLD"]) == ("Renamed", Decimal("10.50"), True)
    assert rec["WHENMODIFIED"] == dt.datetime(2024, 8, 1, 10, 35, 0)
    c.update("VENDOR", rn, {"NAME": "Quiet"}, touch=False)
    assert c.get("VENDOR", rn, typed=True)["WHENMODIFIED"] == dt.datetime(2024, 8, 1, 10, 35, 0)
    new = c.add(
        "CUSTOMER",
        {"CUSTOMERID": "CX", "NAME": "Added", "TOTALDUE": Decimal("1.00")},
        entity="E100",
    )
    added = c.get("CUSTOMER", new, typed=True)
    assert added["MEGAENTITYID"] == "E100" and added["MEGAENTITYNAME"] == "US East"
    assert added["WHENCREATED"] == added["WHENMODIFIED"] == dt.datetime(2024, 8, 1, 10, 35, 0)
    bill = c.recordnos("APBILL")[0]
    line = c.add(
        "APBILLITEM", {"RECORDKEY": bill, "LINE_NO": 99, "ACCOUNTNO": "6000", "TRX_AMOUNT": "5.00"}
    )
    assert line in [x["RECORDNO"] for x in c.lines(bill, typed=True)]
    c.delete("APBILLITEM", line)
    assert line not in [x["RECORDNO"] for x in c.lines(bill, typed=True)]
    assert c.get("APBILLITEM", line) is None
    assert c.version > v0
    with pytest.raises(KeyError):
        c.update("VENDOR", rn, {"NOSUCHFIELD": 1})
    with pytest.raises(TypeError):
        c.update("VENDOR", rn, {"TOTALDUE": 1.5})
    with pytest.raises(KeyError):
        c.touch("VENDOR", 999_999)
