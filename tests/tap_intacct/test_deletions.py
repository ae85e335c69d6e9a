"""Deleted records: read from AUDITHISTORY after each stream's records and emitted in that
stream as {RECORDNO, _sdc_deleted_at}; incremental with their own bookmark; the intermittent
error retried, then skipped; no permission -> one warning; `deletes: false` turns it off."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from tap_intacct import deletions
from tests.sandbox.intacct import IntacctSandbox, generate_company
from tests.tap_intacct.tap_support import (
    PACIFIC_NAME,
    STREAM_OBJECTS,
    Interrupted,
    TapRun,
    company_utc,
    run_tap,
)

NOW = dt.datetime(2024, 7, 1, 12, 0, tzinfo=dt.UTC)
PAGE = 50


@pytest.fixture
def sb() -> Iterator[IntacctSandbox]:
    company = generate_company(
        seed=17,
        customers=30,
        vendors=40,
        bills=50,
        payments=25,
        invoices=30,
        ar_payments=20,
        deletions=2,
        window_days=60,
    )
    with IntacctSandbox(company) as box:
        yield box


def _config(sb: IntacctSandbox, **overrides: Any) -> dict[str, Any]:
    config = sb.tap_config(**{"timezone": PACIFIC_NAME, "page_size": PAGE, **overrides})
    config.pop("start_date", None)
    return config


def deleted(run: TapRun, stream: str) -> list[dict[str, Any]]:
    return [r for r in run.records(stream) if r.get("_sdc_deleted_at")]


def audit_queries(sb: IntacctSandbox) -> int:
    return sum(
        1 for r in sb.requests_for("query") if b"<object>AUDITHISTORY</object>" in (r.body or b"")
    )


def test_every_stream_emits_its_deletions_after_its_records(sb: IntacctSandbox) -> None:
    run = run_tap(_config(sb), now=NOW)
    company = sb.company
    for stream, obj in STREAM_OBJECTS.items():
        rows = company.deletions(obj)
        expected = [
            {"RECORDNO": int(r["OBJECTKEY"]), "_sdc_deleted_at": company_utc(r["ACCESSTIME"])}
            for r in sorted(rows, key=lambda r: (r["ACCESSTIME"], r["OBJECTKEY"]))
        ]
        assert len(expected) == 2, obj
        assert deleted(run, stream) == expected
        # Records first, then the deletions; a deletion never names a live record.
        records = run.records(stream)
        assert records[-2:] == expected
        live = {r["RECORDNO"] for r in records if not r.get("_sdc_deleted_at")}
        assert not live & {d["RECORDNO"] for d in expected}
        assert run.last_state["bookmarks"][stream][deletions.STATE_KEY] == {
            "access_time": "2024-07-01T12:00:00+00:00",
            "object_key": None,
            "upper_bound": "2024-07-01T12:00:00+00:00",
        }
    schema = run.schema("customers")
    assert schema["properties"]["_sdc_deleted_at"]["format"] == "date-time"
    sb.assert_all_valid()


def test_next_runs_emit_only_new_deletions(sb: IntacctSandbox) -> None:
    first = run_tap(_config(sb), now=NOW)
    again = run_tap(_config(sb), now=NOW + dt.timedelta(hours=1), state=first.last_state)
    for stream in STREAM_OBJECTS:
        assert deleted(again, stream) == []
    # A bill deleted now (company time) shows up in the next run, once, in ap_bills.
    bill = sb.company.recordnos("APBILL")[5]
    when = dt.datetime(2024, 7, 1, 6, 30, 0)  # Pacific wall time, before the next run
    sb.company.delete("APBILL", bill, when=when)
    third = run_tap(_config(sb), now=NOW + dt.timedelta(hours=2), state=again.last_state)
    assert deleted(third, "ap_bills") == [{"RECORDNO": bill, "_sdc_deleted_at": company_utc(when)}]
    for stream in ("customers", "vendors", "ap_payments", "ar_invoices", "ar_payments"):
        assert deleted(third, stream) == []


def test_lookback_rereads_a_late_deletion(sb: IntacctSandbox) -> None:
    first = run_tap(_config(sb), now=NOW)
    # A deletion stamped a few minutes before the first run's bound, visible only now.
    late = dt.datetime(2024, 7, 1, 4, 55, 0)  # 11:55 UTC
    customer = sb.company.recordnos("CUSTOMER")[-1]
    sb.company.delete("CUSTOMER", customer, when=late)
    second = run_tap(_config(sb), now=NOW + dt.timedelta(hours=1), state=first.last_state)
    assert [d["RECORDNO"] for d in deleted(second, "customers")] == [customer]


def test_intermittent_error_is_retried(sb: IntacctSandbox) -> None:
    sb.audit_history_errors = 2
    run = run_tap(_config(sb), now=NOW)
    for stream, obj in STREAM_OBJECTS.items():
        assert len(deleted(run, stream)) == len(sb.company.deletions(obj)) == 2


def test_persistent_error_skips_that_streams_deletions_and_the_next_run_reads_them(
    sb: IntacctSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    sb.audit_history_errors = deletions.ATTEMPTS  # every try of the customers' first page
    with caplog.at_level(logging.WARNING):
        run = run_tap(_config(sb), now=NOW)
    assert deleted(run, "customers") == []
    assert len(deleted(run, "vendors")) == 2  # the others go on
    assert any("There was an error processing the request" in m for m in caplog.messages)
    assert deletions.STATE_KEY not in run.last_state["bookmarks"]["customers"]
    assert len(run.records("customers")) == sb.company.count("CUSTOMER")
    again = run_tap(_config(sb), now=NOW + dt.timedelta(hours=1), state=run.last_state)
    assert len(deleted(again, "customers")) == 2


def test_without_permission_one_warning_and_the_run_goes_on(
    sb: IntacctSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    sb.audit_history_denied = True
    with caplog.at_level(logging.WARNING):
        run = run_tap(_config(sb), now=NOW)
    warnings = [m for m in caplog.messages if "audit trail" in m]
    assert len(warnings) == 1
    assert "permission" in warnings[0] and "deletes" in warnings[0]
    assert audit_queries(sb) == 1
    for stream, obj in STREAM_OBJECTS.items():
        assert deleted(run, stream) == []
        assert len(run.records(stream)) == sb.company.count(obj)


def test_deletes_false_reads_no_audit_trail(sb: IntacctSandbox) -> None:
    run = run_tap(_config(sb, deletes=False), now=NOW)
    assert audit_queries(sb) == 0
    for stream in STREAM_OBJECTS:
        assert deleted(run, stream) == []
        assert deletions.STATE_KEY not in run.last_state["bookmarks"][stream]


def test_an_interrupted_read_of_deletions_resumes_exactly(sb: IntacctSandbox) -> None:
    company = sb.company
    base = dt.datetime(2024, 6, 30, 8, 0, 0)
    nos = company.recordnos("VENDOR")[-8:]
    for i, n in enumerate(nos):
        # Several deletions share one ACCESSTIME: the OBJECTKEY tie-breaker keeps them apart.
        company.delete("VENDOR", n, when=base + dt.timedelta(seconds=i // 3))
    full = run_tap(_config(sb, page_size=3), now=NOW)
    want = [d["RECORDNO"] for d in deleted(full, "vendors")]
    assert sorted(want) == sorted([*company.special["deleted"]["VENDOR"], *nos])

    # Stop right after the first page of vendor deletions wrote its STATE, then resume.
    def stop(n: int, message: dict[str, Any]) -> None:
        del n
        value = message["value"]["bookmarks"].get("vendors", {})
        if value.get(deletions.STATE_KEY, {}).get("object_key"):
            raise Interrupted

    first = run_tap(_config(sb, page_size=3), now=NOW, on_state=stop)
    assert first.interrupted
    got = [d["RECORDNO"] for d in deleted(first, "vendors")]
    assert 0 < len(got) < len(want)
    resumed = run_tap(_config(sb, page_size=3), now=NOW, state=first.last_state)
    got += [d["RECORDNO"] for d in deleted(resumed, "vendors")]
    assert got == want
