"""The ledger on SQLite: dedupe, source records, parking, audit trail, run lock, threads."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex, CreateTable

from target_mailchimp.ledger import (
    DEFAULT_LEDGER_URL,
    AuditEntry,
    Ledger,
    LedgerLockedError,
    LedgerLockLostError,
    WriteRecord,
    display_url,
    redact,
)
from target_mailchimp.ledger import schema as ledger_schema
from target_mailchimp.mapping import (
    BillOrder,
    MappingSettings,
    MemberPayload,
    Parked,
    bill_to_order,
    member_payload,
    order_financial_status,
)
from tests.target_mailchimp import ledger_support
from tests.target_mailchimp.ledger_support import Clock, bill_record, contact, payment


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2024, 3, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger' / 'ledger.sqlite'}"


@pytest.fixture
def ledger(db_url: str, clock: Clock) -> Iterator[Ledger]:
    with Ledger(db_url, clock=clock, heartbeat_interval=None) as led:
        yield led


# ---------------------------------------------------------------- setup


def test_default_url_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert DEFAULT_LEDGER_URL == "sqlite:///.target-mailchimp/ledger.sqlite"
    with Ledger(heartbeat_interval=None) as led:
        led.writes.record_write("member", "h", payload_hash="x", action="created")
    assert (tmp_path / ".target-mailchimp" / "ledger.sqlite").is_file()


def test_sqlite_uses_wal_and_busy_timeout(ledger: Ledger, db_url: str) -> None:
    with ledger.db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000


def test_schema_compiles_for_postgresql() -> None:
    dialect = postgresql.dialect()
    for table in ledger_schema.metadata.sorted_tables:
        ddl = str(CreateTable(table).compile(dialect=dialect))
        assert "CREATE TABLE" in ddl
        for index in table.indexes:
            str(CreateIndex(index).compile(dialect=dialect))
    audit_ddl = str(CreateTable(ledger_schema.audit).compile(dialect=dialect))
    assert "BIGSERIAL" in audit_ddl


def test_reopening_keeps_data(db_url: str, clock: Clock) -> None:
    with Ledger(db_url, clock=clock, heartbeat_interval=None) as led:
        led.writes.record_write("order", "bill-1", payload_hash="abc", action="created")
    with Ledger(db_url, clock=clock, heartbeat_interval=None) as led:
        assert "bill-1" in led.writes.unchanged("order", {"bill-1": "abc"})


def test_in_memory_ledger_works_across_threads(clock: Clock) -> None:
    with Ledger("sqlite://", clock=clock, heartbeat_interval=None) as led:

        def work(n: int) -> None:
            for i in range(20):
                led.writes.record_write("member", f"{n}-{i}", payload_hash="h", action="created")

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert all(
            f"{n}-{i}" in led.writes.unchanged("member", {f"{n}-{i}": "h"})
            for n in range(4)
            for i in range(20)
        )


# ---------------------------------------------------------------- dedupe


def test_should_write_and_record_write(ledger: Ledger) -> None:
    assert "hash1" not in ledger.writes.unchanged("member", {"hash1": "p1"})
    assert ledger.writes.object_state("member", "hash1") is None
    ledger.writes.record_writes(
        "member", [WriteRecord("hash1", "p1", "created", http_status=200, request_id="req-1")]
    )
    assert "hash1" in ledger.writes.unchanged("member", {"hash1": "p1"})
    assert "hash1" not in ledger.writes.unchanged("member", {"hash1": "p2"})
    assert "hash1" not in ledger.writes.unchanged("customer", {"hash1": "p1"})  # kinds are separate
    state = ledger.writes.object_state("member", "hash1")
    assert state is not None and state.exists
    assert (state.payload_hash, state.last_action, state.http_status, state.request_id) == (
        "p1",
        "created",
        200,
        "req-1",
    )
    # A failed write of a new payload keeps the last good hash: the next run retries.
    ledger.writes.record_writes("member", [WriteRecord("hash1", "p2", "failed", http_status=500)])
    state = ledger.writes.object_state("member", "hash1")
    assert state is not None and state.payload_hash == "p1" and state.last_action == "failed"
    assert "hash1" not in ledger.writes.unchanged("member", {"hash1": "p2"})
    ledger.writes.record_write("member", "hash1", payload_hash="p2", action="updated")
    assert "hash1" in ledger.writes.unchanged("member", {"hash1": "p2"})
    # A failure on a never-written object leaves it "not existing".
    ledger.writes.record_write("order", "bill-9", payload_hash="x", action="failed")
    state = ledger.writes.object_state("order", "bill-9")
    assert state is not None and not state.exists
    ledger.writes.forget_object("member", "hash1")
    assert "hash1" not in ledger.writes.unchanged("member", {"hash1": "p2"})
    with pytest.raises(ValueError, match="unknown action"):
        ledger.writes.record_write("member", "x", payload_hash="p", action="done")


def test_full_refresh_ignores_hashes_of_earlier_runs(db_url: str, clock: Clock) -> None:
    with Ledger(db_url, clock=clock, heartbeat_interval=None) as led:
        run = led.lock.start_run()
        led.writes.record_write("member", "h", payload_hash="p", action="created", run_id=run)
        led.lock.finish_run(run)
    with Ledger(db_url, clock=clock, heartbeat_interval=None, full_refresh=True) as led:
        run = led.lock.start_run()
        assert "h" not in led.writes.unchanged("member", {"h": "p"})
        led.writes.record_write("member", "h", payload_hash="p", action="updated")
        # Written in this run: not written twice.
        assert "h" in led.writes.unchanged("member", {"h": "p"})
        led.lock.finish_run(run)


# ---------------------------------------------------------------- source records


def test_contacts_for_email_and_email_changes(ledger: Ledger) -> None:
    settings = MappingSettings()
    first = contact("customers", 2, "Ann@Example.com", first_name="Ann")
    assert ledger.sources.record_contacts([first]) == {}
    ledger.sources.record_contacts([contact("vendors", 1, "ann@example.com", last_name="Lee")])
    ledger.sources.record_contacts([contact("customers", 3, "bob@example.com")])
    found = ledger.sources.contacts_for_emails(["ann@example.com"])["ann@example.com"]
    assert [(c.stream, c.recordno) for c in found] == [("customers", 2), ("vendors", 1)]
    assert ledger.sources.contacts_for_emails(["ANN@example.com "])["ann@example.com"] == found
    merged = member_payload(found, settings)
    assert not isinstance(merged, Parked) and merged.tags == {  # type: ignore[union-attr]
        "Intacct customer": True,
        "Intacct vendor": True,
    }
    # Customer 2 changes address: the old address is reported so its member is rebuilt.
    previous = ledger.sources.record_contacts([contact("customers", 2, "ann.new@example.com")])
    assert previous == {("customers", 2): "ann@example.com"}
    assert [
        c.stream for c in ledger.sources.contacts_for_emails(["ann@example.com"])["ann@example.com"]
    ] == ["vendors"]
    assert [
        c.recordno
        for c in ledger.sources.contacts_for_emails(["ann.new@example.com"])["ann.new@example.com"]
    ] == [2]
    # Re-recording the same address reports nothing.
    assert ledger.sources.record_contacts([contact("customers", 2, "ann.new@example.com")]) == {}


def test_vendor_lookup(ledger: Ledger) -> None:
    assert ledger.sources.vendors(["V-1"]) == {}
    ledger.sources.record_contacts(
        [contact("vendors", 1, None, email_error="DISPLAYCONTACT.EMAIL1 is empty")]
    )
    vendor = ledger.sources.vendors(["V-1"]).get("V-1")
    assert vendor is not None and vendor.email is None  # known, but without email
    ledger.sources.record_contacts([contact("vendors", 1, "ap@vendor.example")])
    assert ledger.sources.vendors(["V-1"])["V-1"].email == "ap@vendor.example"
    ledger.sources.record_contacts([contact("customers", 4, "c@example.com", source_id="C-4")])
    customer = ledger.sources.customers(["C-4"]).get("C-4")
    assert customer is not None and customer.recordno == 4


def test_bill_round_trips_exactly(ledger: Ledger) -> None:
    settings = MappingSettings()
    original = bill_record()
    ledger.sources.record_bills([original])
    stored = ledger.sources.bill(77)
    assert stored is not None
    assert stored["TOTALENTERED"] == Decimal("12345678901234567.89")
    assert stored["WHENCREATED"] == "2024-01-05"
    vendor = contact("vendors", 1, "ap@vendor.example")
    a = bill_to_order(original, vendor, [], settings)
    b = bill_to_order(stored, vendor, [], settings)
    assert isinstance(a, BillOrder) and isinstance(b, BillOrder)
    assert a.order == b.order
    assert ledger.sources.bill(78) is None
    with pytest.raises(ValueError, match="RECORDNO"):
        ledger.sources.record_bills([{"RECORDNO": None}])


def test_payments_per_bill_and_voiding(ledger: Ledger) -> None:
    settings = MappingSettings()
    summary_bill = bill_record(TOTALENTERED=Decimal("100"))
    ledger.sources.record_payments([payment(500, "Complete", (77, "60"), (78, "10"))])
    ledger.sources.record_payments([payment(501, "Complete", (77, "40.00"))])
    paid = ledger.sources.payments_for_bills([77])[77]
    assert [(p.payment_recordno, p.base_amount, p.voided) for p in paid] == [
        (500, Decimal("60"), False),
        (501, Decimal("40.00"), False),
    ]
    assert sum(p.base_amount for p in paid) == Decimal("100.00")
    assert order_financial_status(summary_bill, paid, settings) == "paid"
    # Payment 501 is voided: it replaces its earlier version.
    ledger.sources.record_payments([payment(501, "Voided", (77, "40.00"))])
    paid = ledger.sources.payments_for_bills([77])[77]
    assert [(p.payment_recordno, p.voided) for p in paid] == [(500, False), (501, True)]
    assert order_financial_status(summary_bill, paid, settings) == "pending"
    assert [p.payment_recordno for p in ledger.sources.payments_for_bills([78])[78]] == [500]
    assert ledger.sources.payments_for_bills([79])[79] == []
    stored = ledger.sources.source("ap_payments", "501")
    assert stored is not None
    assert stored["voided"] is True and stored["allocations"][0]["bill_recordno"] == 77


# ---------------------------------------------------------------- parking


def test_parking_bills_until_the_vendor_arrives(ledger: Ledger) -> None:
    settings = MappingSettings()
    record = bill_record()
    outcome = bill_to_order(record, ledger.sources.vendors(["V-1"]).get("V-1"), [], settings)
    assert isinstance(outcome, Parked)
    ledger.sources.park_outcome("ap_bills", "77", outcome, record, source_id="B-77")
    parked = ledger.sources.parked()
    assert len(parked) == 1
    item = parked[0]
    assert (
        item.stream,
        item.source_key,
        item.code,
        item.waiting_kind,
        item.waiting_keys,
        item.attempts,
    ) == ("ap_bills", "77", "vendor_unknown", "vendor", ("V-1",), 1)
    assert item.reason == outcome.reason
    assert item.record["TOTALENTERED"] == Decimal("12345678901234567.89")
    assert ledger.sources.ready_parked() == []
    # Parked again in a later run: one row, attempts counted.
    ledger.sources.park_outcome("ap_bills", "77", outcome, record)
    assert [p.attempts for p in ledger.sources.parked()] == [2]
    # Another vendor arriving does not release it.
    ledger.sources.record_contacts([contact("vendors", 2, "x@example.com")])
    assert ledger.sources.ready_parked() == []
    ledger.sources.record_contacts([contact("vendors", 1, "ap@vendor.example")])
    ready = ledger.sources.ready_parked("ap_bills")
    assert [p.source_key for p in ready] == ["77"]
    retried = bill_to_order(
        ready[0].record, ledger.sources.vendors(["V-1"]).get("V-1"), [], settings
    )
    assert isinstance(retried, BillOrder)
    assert ledger.sources.unpark("ap_bills", "77") is True
    assert ledger.sources.unpark("ap_bills", "77") is False
    assert ledger.sources.parked() == []


def test_parked_payment_waits_for_every_bill(ledger: Ledger) -> None:
    ledger.sources.park(
        "ap_payments",
        "500",
        code="bill_unknown",
        reason="bill unknown",
        waiting_kind="bill",
        waiting_keys=["77", "78", "77"],
        record={"RECORDNO": 500},
    )
    assert ledger.sources.parked("ap_payments")[0].waiting_keys == ("77", "78")
    ledger.sources.record_bills([bill_record(77)])
    assert ledger.sources.ready_parked() == []
    ledger.sources.record_bills([bill_record(78)])
    assert [p.source_key for p in ledger.sources.ready_parked("ap_payments")] == ["500"]
    assert ledger.sources.ready_parked("ap_bills") == []
    with pytest.raises(ValueError, match="waiting_kind"):
        ledger.sources.park(
            "x", "1", code="c", reason="r", waiting_kind="supplier", waiting_keys=["1"], record={}
        )


# ---------------------------------------------------------------- audit and runs


def test_audit_summary_rejected_and_runs(ledger: Ledger, clock: Clock) -> None:
    run = ledger.lock.start_run()
    assert ledger.lock.current_run_id == run
    ledger.audit.write(run, [ledger_support.member_created("12", "C-12", "a@example.com", "hash")])
    ledger.audit.write(
        run,
        [
            AuditEntry(
                stream="customers",
                source_key="12",
                object_kind="customer",
                object_id="customer-C-12",
                action="created",
                http_status=200,
            ),
            AuditEntry(
                stream="customers",
                source_key="13",
                source_id="C-13",
                action="rejected",
                detail="customers RECORDNO 13 has no valid email",
            ),
            AuditEntry(
                stream="ap_bills",
                source_key="77",
                object_kind="order",
                object_id="bill-77",
                action="failed",
                http_status=500,
                request_id="r-2",
                attempts=5,
                detail="Internal error",
            ),
            AuditEntry(
                stream="ap_bills",
                source_key="78",
                object_kind="order",
                object_id="bill-78",
                action="parked",
                detail="vendor unknown",
            ),
            AuditEntry(
                stream="customers",
                source_key="12",
                object_kind="member",
                object_id="hash",
                action="unchanged",
            ),
        ],
    )
    assert ledger.audit.summary(run) == {
        "customer": {"created": 1},
        "member": {"created": 1, "unchanged": 1},
        "order": {"failed": 1, "parked": 1},
        "record": {"rejected": 1},
    }
    rejected = ledger.audit.rejected(run)
    assert [(r.source_key, r.action) for r in rejected] == [("13", "rejected"), ("77", "failed")]
    assert rejected[1].request_id == "r-2" and rejected[1].attempts == 5
    assert [r.action for r in ledger.audit.rejected(run, include_failed=False)] == ["rejected"]
    rows = ledger.audit.rows(run)
    assert len(rows) == 6 and rows[0].email == "a@example.com" and rows[0].at == clock.now
    with pytest.raises(ValueError, match="unknown audit action"):
        ledger.audit.write(run, [AuditEntry(stream="x", action="ok")])
    clock.advance(minutes=1)
    ledger.lock.finish_run(run, "succeeded")
    assert ledger.lock.runs(last_n=1)[0].status == "succeeded"
    clock.advance(minutes=1)
    run2 = ledger.lock.start_run()
    ledger.lock.finish_run(run2, "failed", counts={"member": {"failed": 3}})
    history = ledger.lock.runs(last_n=5)
    assert [r.run_id for r in history] == [run2, run]
    assert history[0].status == "failed" and history[0].counts == {"member": {"failed": 3}}
    assert history[1].counts == ledger.audit.summary(run)
    assert history[1].finished_at == history[1].started_at + timedelta(minutes=1)
    assert [r.run_id for r in ledger.lock.runs(last_n=1)] == [run2]
    with pytest.raises(ValueError):
        ledger.lock.finish_run(run2, "running")


def test_secrets_never_reach_the_ledger(db_url: str, clock: Clock, tmp_path: Path) -> None:
    api_key = "0123456789abcdef0123456789abcdef-us21"
    with Ledger(db_url, clock=clock, heartbeat_interval=None) as led:
        run = led.lock.start_run()
        led.audit.write(
            run,
            [
                AuditEntry(
                    stream="customers",
                    action="failed",
                    detail=(
                        f"401 for key {api_key}; Authorization: Basic YW55OmtleQ== password=hunter2"
                    ),
                )
            ],
        )
        detail = led.audit.rows(run)[0].detail
        led.lock.finish_run(run)
    assert detail is not None and api_key not in detail and "hunter2" not in detail
    assert "YW55OmtleQ" not in detail and "[redacted]" in detail
    raw = Path(db_url.removeprefix("sqlite:///")).read_bytes()
    assert api_key.encode() not in raw and b"hunter2" not in raw
    assert "secret" not in display_url("postgresql://user:secret@db.example/ledger")
    assert redact(None) is None
    assert redact("x" * 5000) is not None and len(redact("x" * 5000) or "") == 4000


# ---------------------------------------------------------------- the run lock


def test_second_run_stops_at_once_with_a_clear_error(db_url: str, clock: Clock) -> None:
    with (
        Ledger(db_url, clock=clock, heartbeat_interval=None) as first,
        Ledger(db_url, clock=clock, heartbeat_interval=None) as second,
    ):
        run = first.lock.start_run()
        started = time.monotonic()
        with pytest.raises(LedgerLockedError) as excinfo:
            second.lock.start_run()
        assert time.monotonic() - started < 2
        message = str(excinfo.value)
        assert run in message and "ledger.sqlite" in message and "in use by run" in message
        # Same Ledger object cannot start a second run either.
        with pytest.raises(LedgerLockedError):
            first.lock.start_run()
        first.lock.finish_run(run)
        run2 = second.lock.start_run()
        assert run2 != run
        second.lock.finish_run(run2)


def test_stale_lock_is_taken_over(db_url: str, clock: Clock) -> None:
    with (
        Ledger(db_url, clock=clock, heartbeat_interval=None, stale_after=timedelta(minutes=5)) as a,
        Ledger(db_url, clock=clock, heartbeat_interval=None, stale_after=timedelta(minutes=5)) as b,
    ):
        run_a = a.lock.start_run()
        clock.advance(minutes=4)
        assert a.lock.heartbeat(run_a) is True
        clock.advance(minutes=4)  # 4 minutes since the heartbeat: still fresh
        with pytest.raises(LedgerLockedError):
            b.lock.start_run()
        clock.advance(minutes=2)  # 6 minutes: stale
        run_b = b.lock.start_run()
        statuses = {r.run_id: r.status for r in b.lock.runs()}
        assert statuses == {run_a: "abandoned", run_b: "running"}
        # The old run notices it lost the lock.
        assert a.lock.heartbeat(run_a) is False and a.lock.lock_lost
        with pytest.raises(LedgerLockLostError, match=run_b):
            a.lock.assert_lock_held(run_a)
        b.lock.assert_lock_held(run_b)
        # Finishing the old run does not release the new run's lock.
        a.lock.finish_run(run_a, "failed")
        with pytest.raises(LedgerLockedError):
            a.lock.start_run()
        b.lock.finish_run(run_b)


def test_lock_of_a_dead_process_on_this_host_is_taken_over(db_url: str, clock: Clock) -> None:
    with Ledger(db_url, clock=clock, heartbeat_interval=None) as led:
        proc = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            capture_output=True,
            text=True,
            check=True,
        )
        dead_pid = int(proc.stdout)
        run = led.lock.start_run()
        # Pretend the run belongs to that (finished) process.
        conn = sqlite3.connect(db_url.removeprefix("sqlite:///"))
        conn.execute("UPDATE locks SET pid = ?", (dead_pid,))
        conn.commit()
        conn.close()
        run2 = led.lock.start_run()
        assert run2 != run
        assert {r.run_id: r.status for r in led.lock.runs()}[run] == "abandoned"
        led.lock.finish_run(run2)


def test_heartbeat_thread_refreshes_the_lock(db_url: str, clock: Clock) -> None:
    with Ledger(db_url, clock=clock, heartbeat_interval=0.01) as led:
        run = led.lock.start_run()
        clock.advance(minutes=30)
        deadline = time.monotonic() + 5
        beat = None
        while time.monotonic() < deadline:
            with led.db.engine.connect() as conn:
                beat = conn.execute(text("SELECT heartbeat_at FROM locks")).scalar()
            if beat is not None and str(beat).startswith("2024-03-01 12:30"):
                break
            time.sleep(0.01)
        assert beat is not None and str(beat).startswith("2024-03-01 12:30")
        led.lock.finish_run(run)
        assert led.lock._heartbeat_thread is None


# ---------------------------------------------------------------- threads


def test_concurrent_writes_from_threads(db_url: str, clock: Clock) -> None:
    """Several sink threads (and a second Ledger object on the same file) write at once."""
    with (
        Ledger(db_url, clock=clock, heartbeat_interval=None) as led,
        Ledger(db_url, clock=clock, heartbeat_interval=None) as other,
    ):
        run = led.lock.start_run()
        errors: list[BaseException] = []

        def work(n: int, target: Ledger) -> None:
            try:
                for i in range(25):
                    key = f"{n}-{i}"
                    if key not in target.writes.unchanged("member", {key: "h"}):
                        target.writes.record_write(
                            "member", key, payload_hash="h", action="created", run_id=run
                        )
                    target.sources.record_contacts(
                        [contact("customers", n * 100 + i, f"u{i}@example.com")]
                    )
                    target.audit.write(run, [ledger_support.member_written(key)])
            except BaseException as exc:
                errors.append(exc)

        threads = [
            threading.Thread(target=work, args=(n, led if n % 2 else other)) for n in range(8)
        ]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert errors == []
        assert led.audit.summary(run) == {"member": {"created": 200}}
        assert len(led.sources.contacts_for_emails(["u3@example.com"])["u3@example.com"]) == 8
        assert all(
            f"{n}-{i}" in led.writes.unchanged("member", {f"{n}-{i}": "h"})
            for n in range(8)
            for i in range(25)
        )
        led.lock.finish_run(run)


def test_later_run_with_one_record_rebuilds_the_same_member(db_url: str, clock: Clock) -> None:
    """The member is derived from every record known for the email, across runs."""
    settings = MappingSettings()
    customer = contact("customers", 7, "Ann@Example.com", first_name="Ann", last_name="Lee")
    vendor = contact("vendors", 3, "ann@example.com", first_name="Annie", company_name="Acme")

    def write_member(led: Ledger, key: str) -> bool:
        payload = member_payload(led.sources.contacts_for_emails([key])[key], settings)
        assert isinstance(payload, MemberPayload)
        digest = payload.payload_hash()
        if payload.object_id in led.writes.unchanged("member", {payload.object_id: digest}):
            return False
        led.writes.record_write("member", payload.object_id, payload_hash=digest, action="updated")
        return True

    with Ledger(db_url, clock=clock, heartbeat_interval=None) as led:
        run = led.lock.start_run()
        led.sources.record_contacts([customer])
        assert write_member(led, "ann@example.com") is True
        led.sources.record_contacts([vendor])
        assert write_member(led, "ann@example.com") is True  # vendor adds a tag and COMPANY
        led.lock.finish_run(run)
    with Ledger(db_url, clock=clock, heartbeat_interval=None) as led:
        run = led.lock.start_run()
        led.sources.record_contacts([vendor])  # only the vendor comes again, unchanged
        assert write_member(led, "ann@example.com") is False
        led.sources.record_contacts(
            [contact("vendors", 3, "ann@example.com", first_name="Annie", company_name="Acme Ltd")]
        )
        # COMPANY comes from the customer first (none there), so the vendor's change counts.
        assert write_member(led, "ann@example.com") is True
        led.lock.finish_run(run)
