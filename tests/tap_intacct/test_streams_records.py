"""Record shape and types, end to end: sandbox over HTTP -> tap -> JSON lines -> parsed back.

Expected values are computed from the sandbox's stored (typed) values, independently of the
tap's converter: integers stay integers, money is exact Decimal, dates are YYYY-MM-DD, and
timestamps (stored as naive US Pacific wall times) arrive in UTC with +00:00.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import jsonschema
import pytest

from tap_intacct.tap import bundled_schema
from tests.sandbox.intacct import IntacctSandbox, generate_company
from tests.tap_intacct.tap_support import (
    PACIFIC_NAME,
    STREAM_OBJECTS,
    TapRun,
    company_utc,
    run_tap,
)

CHILDREN = {
    "ap_bills": ("lines", "APBILLITEM"),
    "ap_payments": ("details", "APPYMTDETAIL"),
    "ar_invoices": ("lines", "ARINVOICEITEM"),
    "ar_payments": ("details", "ARPYMTDETAIL"),
}


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Any, TapRun]]:
    company = generate_company(
        seed=11,
        customers=30,
        vendors=24,
        bills=48,
        payments=16,
        same_timestamp_run=10,
        invoices=24,
        ar_payments=16,
    )
    with IntacctSandbox(company) as sandbox:
        config = sandbox.tap_config(timezone=PACIFIC_NAME, page_size=9)
        config.pop("start_date", None)
        run = run_tap(config)
        yield sandbox, run


def _leaves(schema: dict[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, prop in schema["properties"].items():
        if name.startswith("_sdc_"):
            continue  # set by the tap on deletion records only, never read from Intacct
        if "properties" in prop:
            yield from _leaves(prop, (*prefix, name))
        elif "items" not in prop:
            yield (*prefix, name)


def _expected_value(typed: Any, wire: str, prop: dict[str, Any]) -> Any:
    if typed is None or wire == "":
        return None
    if isinstance(typed, bool | int | Decimal):
        return typed
    if isinstance(typed, dt.datetime):
        return company_utc(typed)
    if isinstance(typed, dt.date):
        assert prop.get("format") == "date"
        return typed.isoformat()
    return wire  # text, as the sandbox sends it (characters XML forbids are stripped)


def _expected(company: Any, obj: str, schema: dict[str, Any], recordno: int) -> dict[str, Any]:
    typed = company.get(obj, recordno, typed=True)
    wire = company.get(obj, recordno)
    out: dict[str, Any] = {}
    for path in _leaves(schema):
        node = out
        prop = schema
        for part in path[:-1]:
            node = node.setdefault(part, {})
            prop = prop["properties"][part]
        name = ".".join(path)
        node[path[-1]] = _expected_value(typed[name], wire[name], prop["properties"][path[-1]])
    return out


@pytest.mark.parametrize("stream", list(STREAM_OBJECTS))
def test_every_record_matches_the_sandbox_field_by_field(
    world: tuple[Any, TapRun], stream: str
) -> None:
    sandbox, run = world
    company = sandbox.company
    obj = STREAM_OBJECTS[stream]
    schema = bundled_schema(stream)
    records = run.records(stream)
    assert sorted(r["RECORDNO"] for r in records) == sorted(company.recordnos(obj))
    child = CHILDREN.get(stream)
    for original in records:
        record = dict(original)
        expected = _expected(company, obj, schema, record["RECORDNO"])
        if child is not None:
            prop, child_obj = child
            items = schema["properties"][prop]["items"]
            children = record.pop(prop)
            parent_key = "RECORDKEY" if child_obj.endswith("ITEM") else "PAYMENTKEY"
            wanted = company.records(
                child_obj,
                typed=True,
                where=lambda v, key=record["RECORDNO"], pk=parent_key: v.get(pk) == key,
            )
            assert [c["RECORDNO"] for c in children] == [
                c["RECORDNO"]
                for c in sorted(wanted, key=lambda c: (c.get("LINE_NO") or 0, c["RECORDNO"]))
            ]
            for got in children:
                assert got == _expected(company, child_obj, items, got["RECORDNO"])
        assert record == expected


def test_nesting_integers_booleans_and_nulls(world: tuple[Any, TapRun]) -> None:
    sandbox, run = world
    customer = run.records("customers")[0]
    stored = sandbox.company.get("CUSTOMER", customer["RECORDNO"], typed=True)
    assert (
        customer["DISPLAYCONTACT"]["MAILADDRESS"]["CITY"]
        == (stored["DISPLAYCONTACT.MAILADDRESS.CITY"])
    )
    assert "DISPLAYCONTACT.EMAIL1" not in customer
    assert type(customer["RECORDNO"]) is int
    assert type(customer["ONHOLD"]) is bool
    no_email = sandbox.company.special["no_email"]["CUSTOMER"][0]
    record = next(r for r in run.records("customers") if r["RECORDNO"] == no_email)
    assert "EMAIL1" in record["DISPLAYCONTACT"]
    assert record["DISPLAYCONTACT"]["EMAIL1"] is None
    for bill in run.records("ap_bills"):
        for line in bill["lines"]:
            assert type(line["RECORDKEY"]) is int
            assert line["RECORDKEY"] == bill["RECORDNO"]


def test_money_is_exact_from_xml_to_json(world: tuple[Any, TapRun]) -> None:
    sandbox, run = world
    special = sandbox.company.special
    bills = {r["RECORDNO"]: r for r in run.records("ap_bills")}
    huge = bills[special["huge_money_bill"]]
    assert huge["TOTALENTERED"] == Decimal("12345678901234567.89")
    assert float(huge["TOTALENTERED"]) != huge["TOTALENTERED"]  # no float holds it
    small = bills[special["small_money_bill"]]
    amounts = sorted(line["AMOUNT"] for line in small["lines"])
    assert amounts == [Decimal("0.10"), Decimal("0.20")]
    assert sum(amounts) == Decimal("0.30")
    # Every number in the output is a Decimal parsed from exact digits, never a float.
    for record in run.records("ap_bills"):
        for key in ("TOTALENTERED", "TOTALPAID", "TOTALDUE"):
            assert record[key] is None or isinstance(record[key], Decimal)


def test_dates_and_timestamps_in_a_non_utc_timezone(world: tuple[Any, TapRun]) -> None:
    sandbox, run = world
    bill = next(r for r in run.records("ap_bills") if r["WHENMODIFIED"])
    stored = sandbox.company.get("APBILL", bill["RECORDNO"], typed=True)
    assert bill["WHENCREATED"] == stored["WHENCREATED"].isoformat()  # a date stays a date
    when = stored["WHENMODIFIED"]
    offset = dt.timedelta(hours=7) if 4 <= when.month <= 10 else None
    utc = dt.datetime.fromisoformat(bill["WHENMODIFIED"])
    assert utc.utcoffset() == dt.timedelta(0)
    assert bill["WHENMODIFIED"].endswith("+00:00")
    if offset is not None:  # clearly inside daylight saving time: Pacific is UTC-7
        assert utc.replace(tzinfo=None) - when == offset


def test_records_validate_against_their_schema_with_formats(world: tuple[Any, TapRun]) -> None:
    _, run = world
    for stream in STREAM_OBJECTS:
        validator = jsonschema.Draft7Validator(
            run.schema(stream), format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
        )
        for record in run.records(stream):
            validator.validate(record)


def test_payment_details_and_bills_without_lines(world: tuple[Any, TapRun]) -> None:
    sandbox, run = world
    special = sandbox.company.special
    bills = {r["RECORDNO"]: r for r in run.records("ap_bills")}
    assert bills[special["bill_no_lines"]]["lines"] == []
    payments = {r["RECORDNO"]: r for r in run.records("ap_payments")}
    multi = payments[special["multi_bill_payment"]]["details"]
    assert len({d["RECORDKEY"] for d in multi}) >= 2
    assert all(d["PAYMENTKEY"] == special["multi_bill_payment"] for d in multi)
    # A detail pointing at a bill that no longer exists still arrives, key intact.
    orphan = payments[special["orphan_payment"]]["details"]
    assert special["orphan_bill_key"] in {d["RECORDKEY"] for d in orphan}


def test_text_with_markup_and_unicode_survives(world: tuple[Any, TapRun]) -> None:
    sandbox, run = world
    names = sandbox.company.special["names"]["VENDOR"]
    vendors = {r["RECORDNO"]: r for r in run.records("vendors")}
    for kind in ("markup", "cjk", "emoji", "arabic"):
        stored = sandbox.company.get("VENDOR", names[kind])["NAME"]
        assert vendors[names[kind]]["NAME"] == stored
    assert any(c in vendors[names["markup"]]["NAME"] for c in "&<>\"'")
    control = vendors[names["control_chars"]]["NAME"]
    assert not any(ord(c) < 32 and c not in "\t\n\r" for c in control)


def test_a_value_that_does_not_fit_its_type_stops_the_run_naming_record_and_field(
    world: tuple[Any, TapRun], monkeypatch: pytest.MonkeyPatch
) -> None:
    import tap_intacct.tap as tap_module
    from tap_intacct.records import RecordConversionError

    sandbox, _ = world
    original = tap_module.bundled_schema

    def vendorid_as_number(name: str) -> dict[str, Any]:
        schema = original(name)
        if name == "vendors":
            schema["properties"]["VENDORID"] = {"type": ["number", "null"]}
        return schema

    monkeypatch.setattr(tap_module, "bundled_schema", vendorid_as_number)
    config = sandbox.tap_config(timezone=PACIFIC_NAME)
    with pytest.raises(RecordConversionError) as info:
        run_tap(config)
    message = str(info.value)
    assert "stream vendors" in message
    assert "VENDOR RECORDNO" in message
    assert "field VENDORID" in message
    assert "expected a plain decimal number" in message
    assert "deselect it in the catalog" in message
