"""Bad values reject their record, never the run; bad lines stop it with one clear line.

- NaN / Infinity / 1e309 anywhere in a record (bill lines, payment details included) and
  structures nested 50,000 deep: the record is rejected with a reason naming the field, the
  others are written, the tap's state is emitted, and a rerun changes nothing.
- A line that is not a Singer message (bytes that are not UTF-8, a truncated line): the run
  stops with one line naming the line number and at most 80 characters of it; what came
  before is written and its state emitted, nothing after; the store's is_syncing is false;
  the summary says the run failed and what it wrote.
- BATCH messages: the SDK's JSONL batch files (plain and gzip) are written like RECORD lines;
  another format stops the run with one line.
"""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest

from target_mailchimp.mapping.orders import order_id
from target_mailchimp.reader import BadInputLineError, excerpt
from target_mailchimp.sinks import BatchMessageError
from target_mailchimp.sinks.validation import value_problem
from target_mailchimp.summary import render
from tests.sandbox.mailchimp import MailchimpSandbox
from tests.target_mailchimp import test_target_kit as kit

pytestmark = pytest.mark.usefixtures("no_retry_waits")


def _audit(config: dict[str, Any], run_id: str) -> dict[tuple[str, str | None], list[Any]]:
    rows: dict[tuple[str, str | None], list[Any]] = {}
    for row in kit.ledger_of(config).audit.rows(run_id):
        rows.setdefault((row.stream, row.source_key), []).append(row)
    return rows


class _Lines:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _record_line(stream: str, record: dict[str, Any], old: str, new: str) -> str:
    line = json.dumps({"type": "RECORD", "stream": stream, "record": record})
    assert old in line
    return line.replace(old, new, 1)


def _bad_value_input() -> _Lines:
    s = kit.Singer()
    s.record("vendors", kit.vendor(1, "V1", "v1@example.com"))
    s.record("ap_bills", kit.bill(10, "V1"))
    s.record("ap_payments", kit.payment(22, [(10, "100.00")]))
    lines = s.lines[:-1]  # the good payment goes last, after the bad records
    lines += [
        _record_line("ap_bills", kit.bill(11, "V1"), '"AMOUNT": 100.0', '"AMOUNT": NaN'),
        _record_line(
            "ap_bills", kit.bill(12, "V1"), '"TRX_TOTALENTERED": 100.0', '"TRX_TOTALENTERED": 1e309'
        ),
        _record_line(
            "ap_bills",
            kit.bill(13, "V1"),
            '"STATE"',
            '"x": ' + "[" * 50000 + "]" * 50000 + ', "STATE"',
        ),
        _record_line(
            "ap_payments",
            kit.payment(21, [(10, "50.00")]),
            '"TRX_PAYMENTAMOUNT": 50.0',
            '"TRX_PAYMENTAMOUNT": -Infinity',
        ),
        s.lines[-1],
        json.dumps(
            {
                "type": "STATE",
                "value": {"bookmarks": {"ap_payments": {"replication_key_value": "2024-03-03"}}},
            }
        ),
    ]
    return _Lines(lines)


def test_bad_values_anywhere_reject_their_record_with_the_field_named(
    sandbox: MailchimpSandbox, tmp_path: Path
) -> None:
    config = kit.target_config(sandbox, tmp_path)
    text = _bad_value_input().text()
    assert "1e309" in text and "-Infinity" in text and "NaN" in text and "[[[[" in text
    result = kit.run_target(config, text)
    assert result.error is None
    assert result.report.status == "succeeded"
    assert result.states[-1] == {
        "bookmarks": {"ap_payments": {"replication_key_value": "2024-03-03"}}
    }
    rows = _audit(config, result.run_id)
    expect = {
        ("ap_bills", "11"): ["lines[0].AMOUNT", "NaN", "not a finite number"],
        ("ap_bills", "12"): ["TRX_TOTALENTERED", "out of range"],
        ("ap_bills", "13"): ["x[0]", "nested"],
        ("ap_payments", "21"): ["details[0].TRX_PAYMENTAMOUNT", "-Infinity", "finite"],
    }
    for key, words in expect.items():
        [row] = [r for r in rows[key] if r.action == "rejected"]
        for word in words:
            assert word in (row.detail or ""), (key, row.detail)
    # The good bill and payment are written; Mailchimp never holds a non-finite total.
    store = sandbox.snapshot()["stores"]["intacct"]
    assert set(store["orders"]) == {order_id(10)}
    assert store["orders"][order_id(10)]["financial_status"] == "paid"
    assert result.report.rejected_records == 4
    # A rerun of the same input writes nothing new and never crashes.
    again = kit.run_target(config, text)
    assert again.error is None
    assert again.report.status == "succeeded"
    assert again.report.total("created") == 0


@pytest.mark.parametrize(
    "record",
    [
        {"a": float("nan")},
        {"a": {"b": [1, float("inf")]}},
        {"a": 10**20},
        {"k\ud800": 1},
        {"a": "x\udcff"},
    ],
)
def test_value_problem_names_what_no_record_may_carry(record: dict[str, Any]) -> None:
    assert value_problem(record) is not None


def test_value_problem_accepts_ordinary_records() -> None:
    record = {"a": [1, 2.5, "é", None, True, {"b": -(10**17)}, 1.2e16], "RECORDNO": 2**40}
    assert value_problem(record) is None


# ----------------------------------------------------------------------------- bad lines


def _good_then_bad(bad: bytes) -> bytes:
    s = kit.Singer()
    s.record("vendors", kit.vendor(1, "V1", "v1@example.com"))
    s.record("ap_bills", kit.bill(10, "V1"))
    s.state({"bookmarks": {"ap_bills": {"replication_key_value": "before"}}})
    head = s.text().encode()
    tail = kit.Singer()
    tail.record("vendors", kit.vendor(2, "V2", "after@example.com"))
    tail.state({"bookmarks": {"ap_bills": {"replication_key_value": "after"}}})
    return head + bad + b"\n" + tail.text().encode()


SECRET_NAME = "Private Person Name"


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (
            b'{"type": "RECORD", "stream": "vendors", "record": {"RECORDNO": 3, "VENDORID": "V\xff'
            + b'3", "NAME": "'
            + SECRET_NAME.encode() * 8
            + b'"}}',
            "not UTF-8",
        ),
        (
            b'{"type": "RECORD", "stream": "vendors", "record": {"RECORDNO": 3, "NAME": "'
            + SECRET_NAME.encode() * 8,
            "not JSON",
        ),
    ],
    ids=["invalid-utf8", "truncated"],
)
def test_a_line_that_is_not_a_singer_message_stops_the_run_naming_it(
    sandbox: MailchimpSandbox, tmp_path: Path, bad: bytes, why: str
) -> None:
    config = kit.target_config(sandbox, tmp_path)
    data = _good_then_bad(bad)
    bad_number = data.split(b"\n").index(bad) + 1
    from target_mailchimp.target import TargetMailchimp

    target = TargetMailchimp(config=config)
    out = io.StringIO()
    from contextlib import redirect_stdout

    with redirect_stdout(out), pytest.raises(BadInputLineError) as info:
        target.process_lines(io.BytesIO(data))  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message
    assert f"input line {bad_number} " in message
    assert why in message
    assert excerpt(bad) in message
    assert bad[80:120].decode("utf-8", "replace") not in message  # no more than 80 characters
    assert message.count(SECRET_NAME) <= 1
    # Before the bad line: written, and its state emitted; after it: nothing.
    states = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    assert states == [{"bookmarks": {"ap_bills": {"replication_key_value": "before"}}}]
    assert sandbox.member("v1@example.com") is not None
    assert sandbox.member("after@example.com") is None
    store = sandbox.snapshot()["stores"]["intacct"]
    assert store["is_syncing"] is False  # never left true by a failed run
    report = target.report
    assert report is not None and report.status == "failed"
    text = render(report)
    assert "FAILED" in text and "no records arrived" not in text


def test_excerpt_escapes_control_characters_and_stops_at_80() -> None:
    shown = excerpt("a\nb\x1b[31m" + "x" * 200)
    assert "\n" not in shown and "\x1b" not in shown
    assert shown.endswith(" ...")
    assert shown.count("x") - 1 == 80 - len("a\nb\x1b[31m")  # one x of \\x1b


def test_a_failed_run_before_any_write_says_so_not_no_records_arrived(
    sandbox: MailchimpSandbox, tmp_path: Path
) -> None:
    config = kit.target_config(sandbox, tmp_path)
    s = kit.Singer().record("vendors", kit.vendor(1, "V1", "v1@example.com"))
    text = s.lines[0] + "\n" + "{not json\n"
    result = kit.run_target(config, text, raise_errors=False)
    assert isinstance(result.error, BadInputLineError)
    report_text = render(result.report)
    assert "failed" in report_text and "no records arrived" not in report_text


# ----------------------------------------------------------------------------- BATCH


def _batch_message(stream: str, path: Path, compression: str | None) -> str:
    encoding: dict[str, Any] = {"format": "jsonl"}
    if compression:
        encoding["compression"] = compression
    return json.dumps(
        {"type": "BATCH", "stream": stream, "encoding": encoding, "manifest": [path.as_uri()]}
    )


@pytest.mark.parametrize("compression", [None, "gzip"])
def test_batch_messages_of_sdk_jsonl_files_are_written(
    sandbox: MailchimpSandbox, tmp_path: Path, compression: str | None
) -> None:
    config = kit.target_config(sandbox, tmp_path)
    records = [kit.vendor(n, f"V{n}", f"v{n}@example.com") for n in (1, 2, 3)]
    records.append({**kit.vendor(4, "V4", "v4@example.com"), "RECORDNO": float("nan")})
    body = "\n".join(json.dumps(r) for r in records).encode() + b"\n"
    path = tmp_path / ("vendors.jsonl.gz" if compression else "vendors.jsonl")
    path.write_bytes(gzip.compress(body) if compression else body)
    s = kit.Singer().schema("vendors")
    s.lines.append(_batch_message("vendors", path, compression))
    s.state({"bookmarks": {"vendors": {"replication_key_value": "x"}}})
    result = kit.run_target(config, s)
    assert result.error is None
    for n in (1, 2, 3):
        assert sandbox.member(f"v{n}@example.com") is not None
    assert result.report.rejected_records == 1
    assert result.states[-1] == {"bookmarks": {"vendors": {"replication_key_value": "x"}}}


def test_a_batch_message_of_another_format_stops_with_one_line(
    sandbox: MailchimpSandbox, tmp_path: Path
) -> None:
    config = kit.target_config(sandbox, tmp_path)
    s = kit.Singer().schema("vendors")
    s.lines.append(
        json.dumps(
            {
                "type": "BATCH",
                "stream": "vendors",
                "encoding": {"format": "parquet"},
                "manifest": [(tmp_path / "x.parquet").as_uri()],
            }
        )
    )
    result = kit.run_target(config, s, raise_errors=False)
    assert isinstance(result.error, BatchMessageError)
    assert "\n" not in str(result.error) and "'parquet'" in str(result.error)
