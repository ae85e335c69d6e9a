"""Helpers for the target's tests: record builders, Singer input, and an in-process run.

`run_target(config, lines)` runs `TargetMailchimp` over Singer lines the way the CLI does
(`process_lines`, then `process_endofpipe`), captures every STATE it writes (optionally
calling `on_state` at the moment it is written, to compare with the sandbox then), and
returns the error instead of raising it. The tests in this file check the helpers.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from target_mailchimp.api import RetryPolicy
from target_mailchimp.ledger import Ledger
from target_mailchimp.summary import RunReport
from target_mailchimp.target import TargetMailchimp
from tests.sandbox.mailchimp import MailchimpSandbox

INTACCT_STREAMS = ("customers", "vendors", "ap_bills", "ap_payments")
KEYS = {"customers": ["RECORDNO"], "vendors": ["RECORDNO"], "ap_bills": ["RECORDNO"]}


def tap_schema(stream: str) -> dict[str, Any]:
    """The schema tap-intacct sends for a stream."""
    text = (resources.files("tap_intacct") / "schemas" / f"{stream}.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


# ----------------------------------------------------------------------------- records


def contact(
    stream: str,
    recordno: int,
    source_id: str,
    email: str | None,
    *,
    status: str = "active",
    first: str | None = None,
    last: str | None = None,
    company: str | None = None,
    name: str | None = None,
    phone: str | None = None,
    address: dict[str, str] | None = None,
    modified: str = "2024-03-01T10:00:00+00:00",
    **extra: Any,
) -> dict[str, Any]:
    id_field = "CUSTOMERID" if stream == "customers" else "VENDORID"
    display: dict[str, Any] = {
        "EMAIL1": email,
        "FIRSTNAME": first,
        "LASTNAME": last,
        "COMPANYNAME": company,
        "PHONE1": phone,
        "MAILADDRESS": address,
    }
    return {
        "RECORDNO": recordno,
        id_field: source_id,
        "NAME": name or company or f"{source_id} name",
        "STATUS": status,
        "DISPLAYCONTACT": display,
        "WHENMODIFIED": modified,
        **extra,
    }


def customer(recordno: int, cid: str, email: str | None, **kw: Any) -> dict[str, Any]:
    return contact("customers", recordno, cid, email, **kw)


def vendor(recordno: int, vid: str, email: str | None, **kw: Any) -> dict[str, Any]:
    return contact("vendors", recordno, vid, email, **kw)


ADDRESS = {
    "ADDRESS1": "1 Main St",
    "CITY": "Springfield",
    "STATE": "IL",
    "ZIP": "62701",
    "COUNTRYCODE": "US",
}


def bill(
    recordno: int,
    vendorid: str,
    lines: Sequence[tuple[str, str, str]] = (("6000", "100.00", "Office supplies"),),
    *,
    state: str = "Posted",
    currency: str = "USD",
    total: str | None = None,
    modified: str = "2024-03-02T10:00:00+00:00",
    **extra: Any,
) -> dict[str, Any]:
    """An ap_bills record; `lines` are (ACCOUNTNO, TRX_AMOUNT, ACCOUNTTITLE)."""
    amount = total if total is not None else str(sum(Decimal(a) for _, a, _ in lines))
    return {
        "RECORDNO": recordno,
        "RECORDID": f"B-{recordno}",
        "STATE": state,
        "VENDORID": vendorid,
        "WHENCREATED": "2024-03-02",
        "WHENMODIFIED": modified,
        "TRX_TOTALENTERED": float(amount),
        "TOTALENTERED": float(amount),
        "CURRENCY": currency,
        "BASECURR": "USD",
        "lines": [
            {
                "RECORDNO": recordno * 100 + n,
                "RECORDKEY": recordno,
                "LINE_NO": n,
                "ACCOUNTNO": acct,
                "ACCOUNTTITLE": title,
                "TRX_AMOUNT": float(amt),
                "AMOUNT": float(amt),
            }
            for n, (acct, amt, title) in enumerate(lines, start=1)
        ],
        **extra,
    }


def payment(
    recordno: int,
    applied: Sequence[tuple[int, str]],
    *,
    state: str = "Complete",
    modified: str = "2024-03-03T10:00:00+00:00",
) -> dict[str, Any]:
    """An ap_payments record; `applied` are (bill RECORDNO, amount)."""
    return {
        "RECORDNO": recordno,
        "RECORDID": f"P-{recordno}",
        "STATE": state,
        "WHENMODIFIED": modified,
        "details": [
            {
                "RECORDNO": recordno * 100 + n,
                "RECORDKEY": bill_no,
                "TRX_PAYMENTAMOUNT": float(amount),
                "PAYMENTAMOUNT": float(amount),
            }
            for n, (bill_no, amount) in enumerate(applied, start=1)
        ],
    }


# ----------------------------------------------------------------------------- messages


class Singer:
    """Builds Singer input: SCHEMA once per stream, then RECORD and STATE lines."""

    def __init__(self, schemas: dict[str, dict[str, Any]] | None = None) -> None:
        self.lines: list[str] = []
        self._schemas = schemas or {}
        self._sent: set[str] = set()

    def schema(self, stream: str, schema: dict[str, Any] | None = None) -> Singer:
        schema = schema or self._schemas.get(stream) or tap_schema(stream)
        self.lines.append(
            json.dumps(
                {
                    "type": "SCHEMA",
                    "stream": stream,
                    "schema": schema,
                    "key_properties": KEYS.get(stream, []),
                }
            )
        )
        self._sent.add(stream)
        return self

    def record(self, stream: str, *records: dict[str, Any]) -> Singer:
        if stream not in self._sent:
            self.schema(stream)
        for rec in records:
            self.lines.append(json.dumps({"type": "RECORD", "stream": stream, "record": rec}))
        return self

    def state(self, value: dict[str, Any]) -> Singer:
        self.lines.append(json.dumps({"type": "STATE", "value": value}))
        return self

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def open_schema() -> dict[str, Any]:
    """A permissive schema for Mailchimp-shaped streams."""
    return {"type": "object", "properties": {}, "additionalProperties": True}


# ----------------------------------------------------------------------------- running


class _StateCapture(io.TextIOBase):
    """stdout stand-in: collects STATE lines and reports each as it is written."""

    def __init__(self, on_state: Callable[[dict[str, Any]], None] | None) -> None:
        self.states: list[dict[str, Any]] = []
        self.other: list[str] = []
        self._on_state = on_state
        self._buffer = ""

    def write(self, text: str) -> int:
        self._buffer += text
        while "\n" in self._buffer:
            line, self._buffer = self._buffer.split("\n", 1)
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError:
                self.other.append(line)
                continue
            self.states.append(value)
            if self._on_state is not None:
                self._on_state(value)
        return len(text)

    def flush(self) -> None:
        return


@dataclass
class RunResult:
    states: list[dict[str, Any]]
    error: BaseException | None
    target: TargetMailchimp
    other_stdout: list[str] = field(default_factory=list)

    @property
    def report(self) -> RunReport:
        assert self.target.report is not None, f"no report; error: {self.error!r}"
        return self.target.report

    @property
    def counts(self) -> dict[str, dict[str, int]]:
        return {k: dict(v) for k, v in self.report.counts.items()}

    @property
    def run_id(self) -> str:
        return self.report.run_id


def run_target(
    config: dict[str, Any],
    lines: str | Singer,
    *,
    on_state: Callable[[dict[str, Any]], None] | None = None,
    max_record_age_minutes: float | None = None,
    raise_errors: bool = True,
) -> RunResult:
    """Run the target in-process over `lines` (see module docstring)."""
    text = lines.text() if isinstance(lines, Singer) else lines
    target = TargetMailchimp(config=config)
    if max_record_age_minutes is not None:
        target.state_interval_seconds = max_record_age_minutes * 60
    capture = _StateCapture(on_state)
    error: BaseException | None = None
    with redirect_stdout(capture):
        try:
            target.process_lines(io.StringIO(text))
            target.process_endofpipe()
        except Exception as exc:
            error = exc
    if error is not None and raise_errors:
        raise error
    return RunResult(capture.states, error, target, capture.other)


def target_config(sb: MailchimpSandbox, tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """A config for the sandbox with the test's own ledger and fast batches."""
    base = {
        "status_if_new": "subscribed",
        "ledger_url": f"sqlite:///{tmp_path / 'ledger.sqlite'}",
        "max_retries": 2,
        "request_timeout": 5,
        "batch_poll_interval": 0.01,
        "batch_timeout": 20,
    }
    base.update(overrides)
    return sb.target_config(**base)


def ledger_of(config: dict[str, Any]) -> Ledger:
    return Ledger(config["ledger_url"], heartbeat_interval=None)


@pytest.fixture
def sandbox() -> Iterator[MailchimpSandbox]:
    with MailchimpSandbox(batch_start_delay=0.0) as sb:
        yield sb


@pytest.fixture
def no_retry_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries without waiting (a test module opts in with `pytest.mark.usefixtures`)."""
    monkeypatch.setattr(TargetMailchimp, "client_options", {"retry": RetryPolicy.no_wait()})


# ----------------------------------------------------------------------------- self-tests


def test_singer_builder_sends_schema_once_and_states() -> None:
    s = Singer().record("customers", customer(1, "C1", "a@x.com")).state({"a": 1})
    s.record("customers", customer(2, "C2", "b@x.com"))
    kinds = [json.loads(line)["type"] for line in s.lines]
    assert kinds == ["SCHEMA", "RECORD", "STATE", "RECORD"]


def test_state_capture_reports_each_state_as_written() -> None:
    seen: list[dict[str, Any]] = []
    cap = _StateCapture(seen.append)
    cap.write('{"a": 1}\n{"b"')
    assert seen == [{"a": 1}]
    cap.write(": 2}\n")
    assert cap.states == [{"a": 1}, {"b": 2}] == seen
