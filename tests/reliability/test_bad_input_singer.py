"""Bad input the tap cannot produce, straight into the target (fixtures/odd_singer_input.jsonl).

Another Singer tap may send what tap-intacct never does: NUL and BEL characters, an email with
a trailing newline or a number for an email, a record without its key, text where a number
belongs, `lines: null`, the bare `NaN` / `Infinity` / `-Infinity` Python taps write for
floats, a blank line. Each record is written, parked or rejected with a reason that names
it, and the run goes on to the end (and emits the tap's state).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from target_mailchimp.ledger import Ledger
from target_mailchimp.reader import parse_leniently
from tests.sandbox.mailchimp import MailchimpSandbox
from tests.target_mailchimp import test_target_kit as kit

pytestmark = pytest.mark.usefixtures("no_retry_waits")

FIXTURE = Path(__file__).parent / "fixtures" / "odd_singer_input.jsonl"


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("odd")
    with MailchimpSandbox(batch_start_delay=0.0) as mc:
        cfg = kit.target_config(mc, tmp)
        from target_mailchimp.api import RetryPolicy
        from target_mailchimp.target import TargetMailchimp

        old = TargetMailchimp.client_options
        TargetMailchimp.client_options = {"retry": RetryPolicy.no_wait()}
        try:
            result = kit.run_target(cfg, FIXTURE.read_text("utf-8"), raise_errors=False)
        finally:
            TargetMailchimp.client_options = old
        ledger = Ledger(cfg["ledger_url"], heartbeat_interval=None)
        yield {"mc": mc, "result": result, "rows": ledger.audit.rows(result.run_id)}


def _rows(ran: dict[str, Any], stream: str, key: str | None) -> list[Any]:
    """Audit rows of one input record (by RECORDNO; by CUSTOMERID C5 when it has none)."""
    return [
        r
        for r in ran["rows"]
        if r.stream == stream and r.source_key == key and (key is not None or r.source_id == "C5")
    ]


def test_the_run_ends_normally_and_emits_the_taps_last_state(ran: dict[str, Any]) -> None:
    result: kit.RunResult = ran["result"]
    assert result.error is None
    assert result.report.status == "succeeded"
    assert result.states[-1] == {
        "bookmarks": {"ap_payments": {"replication_key_value": "2024-03-03"}}
    }


@pytest.mark.parametrize(
    ("stream", "key", "words"),
    [
        ("customers", None, ["RECORDNO", "required", "C5"]),
        ("customers", "3", ["more than 64 characters"]),
        ("customers", "6", ["more than one '@'"]),
        ("customers", "7", ["'.'"]),
        ("customers", "8", ["schema", "EMAIL1"]),
        ("ap_bills", "11", ["TRX_TOTALENTERED", "12.3.4", "number"]),
        ("ap_bills", "12", ["no GL allocation lines"]),
        ("ap_bills", "13", ["NaN", "finite"]),
        ("ap_payments", "22", ["Infinity", "finite"]),
    ],
)
def test_each_bad_record_is_rejected_with_a_reason_naming_it(
    ran: dict[str, Any], stream: str, key: str | None, words: list[str]
) -> None:
    rows = _rows(ran, stream, key)
    assert rows, f"{stream} {key}: no audit row"
    assert {r.action for r in rows} == {"rejected"}, rows
    detail = " ".join(r.detail or "" for r in rows)
    for word in words:
        assert word in detail, (word, detail)
    if key is not None:
        assert f"RECORDNO {key}" in detail


def test_a_bill_of_an_unknown_vendor_is_parked(ran: dict[str, Any]) -> None:
    rows = _rows(ran, "ap_bills", "15")
    assert rows and {r.action for r in rows} == {"parked"}
    assert ran["result"].report.parked.get(("ap_bills", "vendor_unknown")) == 1


def test_the_good_and_the_odd_but_valid_records_are_written(ran: dict[str, Any]) -> None:
    mc: MailchimpSandbox = ran["mc"]
    # a trailing newline around an address is trimmed; the case Intacct gave is kept
    newline = mc.member("newline@example.com")
    assert newline is not None and newline["email_address"] == "Newline@Example.com"
    # control characters are dropped, as on the Intacct path; the rest of the text is kept
    nul = mc.member("nul@example.com")
    assert nul is not None
    assert nul["merge_fields"]["FNAME"] == "AB"
    assert nul["merge_fields"]["COMPANY"] == "Nul Co"
    orders = mc.snapshot()["stores"]["intacct"]["orders"]
    assert set(orders) == {"bill-14", "bill-16"}
    assert orders["bill-16"]["financial_status"] == "paid"
    assert float(orders["bill-16"]["order_total"]) == 0.3
    assert float(orders["bill-14"]["order_total"]) == 12345678901234567.89


def test_the_lenient_reader_takes_python_constants_and_refuses_garbage() -> None:
    from decimal import Decimal

    from singer_sdk.exceptions import InvalidInputLine

    value = parse_leniently('{"a": NaN, "b": Infinity, "c": -Infinity, "d": 1.10}')
    assert value["a"].is_nan() and value["b"] == Decimal("Infinity")
    assert value["c"] == Decimal("-Infinity") and value["d"] == Decimal("1.10")
    # a lone surrogate escape (no text can hold it) becomes U+FFFD; a real pair stays
    value = parse_leniently('{"a": "x\\ud800y", "b": ["\\uDFFF"], "c": "\\ud83d\\ude00"}')
    assert value == {"a": "x\ufffdy", "b": ["\ufffd"], "c": "\U0001f600"}
    for bad in ('{"a": ', "[1, 2]", "nan", '{"a": NaNx}'):
        with pytest.raises(InvalidInputLine):
            parse_leniently(bad)
