"""The row converter: flat gateway text -> nested, typed records (no gateway involved)."""

from __future__ import annotations

import datetime as dt
import io
import json
import sys
from decimal import Decimal

import pytest
from singer_sdk.contrib.msgspec import MsgSpecWriter, serialize_jsonl
from singer_sdk.singerlib import RecordMessage, SchemaMessage, StateMessage

from tap_intacct.records import (
    RecordConversionError,
    company_to_utc,
    compile_converter,
    leaf_fields,
    resolve_timezone,
    timestamp_converter,
    to_boolean,
    to_date,
    to_number,
)
from tap_intacct.tap import TapIntacct, bundled_schema

UTC = dt.UTC
LA = resolve_timezone("America/Los_Angeles")


def encode_message(payload: dict[str, object]) -> bytes:
    """One message as the tap's message writer (the SDK's msgspec writer) writes it."""
    return bytes(serialize_jsonl(payload))


def test_the_tap_writes_with_the_sdks_msgspec_writer() -> None:
    assert issubclass(TapIntacct.message_writer_class, MsgSpecWriter)
    assert TapIntacct.message_writer_class.serialize_message is MsgSpecWriter.serialize_message


class _Stdout:
    """Standard output as the writer sees it: the bytes written, and where flushes fell."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()
        self.flushed_at: list[int] = []

    def flush(self) -> None:
        self.flushed_at.append(len(self.buffer.getvalue()))


def test_records_leave_with_the_buffer_and_schema_and_state_flush_what_came_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = _Stdout()
    monkeypatch.setattr(sys, "stdout", out)
    writer = TapIntacct.message_writer_class()
    schema = {"type": "object", "properties": {"n": {"type": "number"}}}
    writer.write_message(SchemaMessage("bills", schema, ["n"]))
    after_schema = len(out.buffer.getvalue())
    writer.write_message(RecordMessage("bills", {"n": Decimal("0.10")}))
    writer.write_message(RecordMessage("bills", {"n": Decimal("12345678901234567.89")}))
    assert out.flushed_at == [after_schema]  # no flush per record
    writer.write_message(StateMessage({"bookmarks": {"bills": {"replication_key_value": 2}}}))
    lines = out.buffer.getvalue().decode().splitlines()
    assert out.flushed_at == [after_schema, len(out.buffer.getvalue())]  # STATE: all of it
    assert [json.loads(line)["type"] for line in lines] == ["SCHEMA", "RECORD", "RECORD", "STATE"]
    assert '"n":0.10}' in lines[1] and '"n":12345678901234567.89}' in lines[2]


def _all_paths(schema: dict) -> list[tuple[str, ...]]:
    return list(leaf_fields(schema))


def test_dotted_paths_nest_at_every_level_and_empty_is_null() -> None:
    schema = bundled_schema("customers")
    convert = compile_converter(schema, _all_paths(schema), UTC)
    record = convert(
        {
            "RECORDNO": "42",
            "CUSTOMERID": "C-1",
            "DISPLAYCONTACT.EMAIL1": "a@example.com",
            "DISPLAYCONTACT.MAILADDRESS.CITY": "Zürich",
            "DISPLAYCONTACT.EMAIL2": "",
            "TOTALDUE": "10.50",
            "ONHOLD": "false",
            "WHENMODIFIED": "01/31/2024 13:05:09",
        }
    )
    assert record["RECORDNO"] == 42
    assert record["DISPLAYCONTACT"]["EMAIL1"] == "a@example.com"
    assert record["DISPLAYCONTACT"]["MAILADDRESS"]["CITY"] == "Zürich"
    # Every selected field is present; missing or empty text is null.
    assert record["DISPLAYCONTACT"]["EMAIL2"] is None
    assert record["DISPLAYCONTACT"]["MAILADDRESS"]["ZIP"] is None
    assert record["NAME"] is None
    assert record["ONHOLD"] is False
    assert record["TOTALDUE"] == Decimal("10.50")
    assert record["WHENMODIFIED"] == "2024-01-31T13:05:09+00:00"
    # The record has exactly the schema's shape (no dotted keys left over).
    assert set(record) == set(schema["properties"]) - {"lines"}
    assert "DISPLAYCONTACT.EMAIL1" not in record


def test_only_selected_paths_are_filled() -> None:
    schema = bundled_schema("vendors")
    convert = compile_converter(schema, [("RECORDNO",), ("DISPLAYCONTACT", "EMAIL1")], UTC)
    assert convert({"RECORDNO": "1", "NAME": "x", "DISPLAYCONTACT.EMAIL1": "e@x"}) == {
        "RECORDNO": 1,
        "DISPLAYCONTACT": {"EMAIL1": "e@x"},
    }


@pytest.mark.parametrize("text", ["0.10", "0.20", "12345678901234567.89", "-1.00", "1000", "0.00"])
def test_money_is_exact_through_json(text: str) -> None:
    value = to_number(text)
    assert isinstance(value, Decimal)
    line = encode_message({"v": value})
    assert bytes(line) == b'{"v":' + text.encode() + b"}\n"
    assert line.endswith(b"\n")
    parsed = json.loads(line, parse_float=Decimal, parse_int=Decimal)["v"]
    assert parsed == Decimal(text)


def test_bad_number_names_the_field_and_record() -> None:
    schema = bundled_schema("ap_bills")
    convert = compile_converter(schema, [("RECORDNO",), ("TOTALDUE",)], UTC)
    with pytest.raises(RecordConversionError) as info:
        convert({"RECORDNO": "7", "TOTALDUE": "1,000.00"})
    err = info.value.with_context("stream ap_bills, APBILL RECORDNO 7")
    assert "TOTALDUE" in str(err)
    assert "RECORDNO 7" in str(err)
    assert "1,000.00" in str(err)
    for bad in ("NaN", "Infinity", "12e", "1_000", " 1"):
        with pytest.raises(RecordConversionError):
            to_number(bad)


def test_dates_and_booleans() -> None:
    assert to_date("01/05/2024") == "2024-01-05"
    assert to_date("12/31/2023 23:59:59") == "2023-12-31"
    assert to_date("2024-02-29") == "2024-02-29"
    with pytest.raises(RecordConversionError):
        to_date("02/30/2024")
    assert to_boolean("true") is True
    assert to_boolean("FALSE") is False
    with pytest.raises(RecordConversionError):
        to_boolean("maybe")


def test_timestamps_are_read_in_the_company_timezone_and_written_in_utc() -> None:
    convert = timestamp_converter(LA)
    assert convert("01/31/2024 13:05:09") == "2024-01-31T21:05:09+00:00"  # PST, -8
    assert convert("07/04/2024 00:00:00") == "2024-07-04T07:00:00+00:00"  # PDT, -7
    assert convert("07/04/2024") == "2024-07-04T07:00:00+00:00"
    assert timestamp_converter(resolve_timezone("Asia/Kolkata"))("01/01/2024 05:30:00") == (
        "2024-01-01T00:00:00+00:00"
    )
    assert timestamp_converter(UTC)("1/2/2024 3:04:05") == "2024-01-02T03:04:05+00:00"


def test_dst_wall_times_map_monotonically() -> None:
    walls = [
        dt.datetime(2024, 3, 10, 1, 59, 59),
        dt.datetime(2024, 3, 10, 2, 0, 0),  # skipped by the clocks
        dt.datetime(2024, 3, 10, 2, 30, 0),  # skipped by the clocks
        dt.datetime(2024, 3, 10, 3, 0, 0),
        dt.datetime(2024, 11, 3, 1, 30, 0),  # happens twice: first occurrence
        dt.datetime(2024, 11, 3, 2, 0, 0),
    ]
    instants = [company_to_utc(w, LA) for w in walls]
    assert instants == sorted(instants)
    assert instants[2] == dt.datetime(2024, 3, 10, 10, 0, tzinfo=UTC)
    assert instants[4] == dt.datetime(2024, 11, 3, 8, 30, tzinfo=UTC)


def test_unknown_timezone_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="IANA"):
        resolve_timezone("Mars/Olympus")


def test_child_items_convert_with_integer_keys() -> None:
    items = bundled_schema("ap_payments")["properties"]["details"]["items"]
    convert = compile_converter(items, _all_paths(items), UTC)
    assert convert(
        {
            "RECORDNO": "5",
            "PAYMENTKEY": "9",
            "RECORDKEY": "11",
            "ENTRYKEY": "",
            "PAYMENTAMOUNT": "0.10",
            "TRX_PAYMENTAMOUNT": "0.20",
        }
    ) == {
        "RECORDNO": 5,
        "PAYMENTKEY": 9,
        "RECORDKEY": 11,
        "ENTRYKEY": None,
        "PAYMENTAMOUNT": Decimal("0.10"),
        "TRX_PAYMENTAMOUNT": Decimal("0.20"),
        "ADJUSTMENTAMOUNT": None,
        "TRX_ADJUSTMENTAMOUNT": None,
        "INLINEAMOUNT": None,
        "TRX_INLINEAMOUNT": None,
        "POSTEDADVANCEAMOUNT": None,
        "TRX_POSTEDADVANCEAMOUNT": None,
        "CURRENCY": None,
    }


def test_output_lines_keep_unicode_and_one_line_each() -> None:
    line = encode_message({"NAME": "a\u2028b\u2029c é 😀", "N": Decimal("0.10")})
    assert line.count(b"\n") == 1
    assert json.loads(line)["NAME"] == "a\u2028b\u2029c é 😀"
    assert b'"N":0.10' in line


def test_a_page_converts_every_row_and_integral_integers_pass() -> None:
    schema = bundled_schema("ap_bills")
    convert = compile_converter(schema, _all_paths(schema), LA)
    row = {
        "RECORDNO": "3",
        "STATE": "Posted",
        "WHENCREATED": "01/15/2024",
        "TOTALDUE": "600.00",
        "WHENMODIFIED": "01/01/2024 10:00:00",
        "MEGAENTITYKEY": "",
        "CREATEDBY": None,
    }
    first, second = convert.many([row, {**row, "RECORDNO": "4.0"}])
    assert (first["RECORDNO"], second["RECORDNO"]) == (3, 4)
    assert first["STATE"] == "Posted" and first["WHENCREATED"] == "2024-01-15"
    assert first["TOTALDUE"] == Decimal("600.00")
    assert first["WHENMODIFIED"] == "2024-01-01T18:00:00+00:00"  # PST, -8
    assert first["MEGAENTITYKEY"] is None and first["CREATEDBY"] is None
    assert {k: v for k, v in second.items() if k != "RECORDNO"} == {
        k: v for k, v in first.items() if k != "RECORDNO"
    }
    with pytest.raises(RecordConversionError, match="RECORDNO"):
        convert.many([row, {**row, "RECORDNO": "4.5"}])


def test_converters_are_plain_code() -> None:
    # The converters are closures over a plan: nothing is generated and run as source.
    import ast
    import inspect

    from tap_intacct import records

    tree = ast.parse(inspect.getsource(records))
    called = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert not called & {"exec", "eval", "compile"}
