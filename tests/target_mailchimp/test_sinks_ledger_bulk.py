"""The ledger's batch calls used by the sinks agree with the single-record calls."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from target_mailchimp.ledger import Ledger, WriteRecord
from target_mailchimp.mapping import (
    MappingSettings,
    PaymentRecord,
    contact_from_record,
    payment_from_record,
)
from target_mailchimp.mapping.contacts import ContactRecord
from target_mailchimp.mapping.invoices import ar_payment_from_record

SETTINGS = MappingSettings()


def contact(stream: str, recordno: int, sid: str, email: str | None) -> ContactRecord:
    id_field = "CUSTOMERID" if stream == "customers" else "VENDORID"
    rec = {"RECORDNO": recordno, id_field: sid, "DISPLAYCONTACT": {"EMAIL1": email}}
    out = contact_from_record(stream, rec, SETTINGS)
    assert isinstance(out, ContactRecord)
    return out


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(f"sqlite:///{tmp_path / 'l.sqlite'}", heartbeat_interval=None) as lg:
        lg.lock.start_run()
        yield lg


def test_record_contacts_reports_changed_emails(ledger: Ledger) -> None:
    ledger.sources.record_contacts(
        [contact("customers", 1, "C1", "a@x.com"), contact("vendors", 1, "V1", "v@x.com")]
    )
    changed = ledger.sources.record_contacts(
        [contact("customers", 1, "C1", "new@x.com"), contact("customers", 2, "C2", "a@x.com")]
    )
    assert changed == {("customers", 1): "a@x.com"}
    by_email = ledger.sources.contacts_for_emails(["A@x.com", "new@x.com", "v@x.com", "none@x.com"])
    assert [c.source_id for c in by_email["a@x.com"]] == ["C2"]
    assert [c.source_id for c in by_email["new@x.com"]] == ["C1"]
    assert [c.source_id for c in by_email["v@x.com"]] == ["V1"]
    assert by_email["none@x.com"] == []
    assert by_email["new@x.com"] == ledger.sources.contacts_for_emails(["new@x.com"])["new@x.com"]
    vendors = ledger.sources.vendors(["V1", "V9"])
    assert list(vendors) == ["V1"] and vendors["V1"].email == "v@x.com"


def test_writes_and_unchanged(ledger: Ledger, tmp_path: Path) -> None:
    ledger.writes.record_writes(
        "order",
        [
            WriteRecord("bill-1", "h1", "created", 200, "r1"),
            WriteRecord("bill-2", "h2", "rejected", 400, "r2"),
        ],
    )
    ledger.writes.record_write("order", "bill-3", payload_hash="h3", action="created")
    hashes = {"bill-1": "h1", "bill-2": "h2", "bill-3": "other", "bill-4": "h4"}
    assert ledger.writes.unchanged("order", hashes) == {"bill-1"}
    for oid, h in hashes.items():
        assert (oid in ledger.writes.unchanged("order", {oid: h})) is (oid == "bill-1")
    states = ledger.writes.object_states("order", ["bill-1", "bill-2", "bill-9"])
    assert set(states) == {"bill-1", "bill-2"}
    assert states["bill-1"].exists and not states["bill-2"].exists
    assert states["bill-2"].last_action == "rejected" and states["bill-2"].request_id == "r2"
    # A failure keeps the last good hash.
    ledger.writes.record_writes("order", [WriteRecord("bill-1", "h9", "failed", 503)])
    assert ledger.writes.unchanged("order", {"bill-1": "h1"}) == {"bill-1"}
    # A full refresh ignores hashes of earlier runs but not of this one.
    run = ledger.lock.current_run_id
    assert run is not None
    ledger.lock.finish_run(run)
    with Ledger(
        f"sqlite:///{tmp_path / 'l.sqlite'}", full_refresh=True, heartbeat_interval=None
    ) as again:
        again.lock.start_run()
        assert again.writes.unchanged("order", {"bill-1": "h1"}) == set()
        again.writes.record_writes("order", [WriteRecord("bill-1", "h1", "updated")])
        assert again.writes.unchanged("order", {"bill-1": "h1"}) == {"bill-1"}


def test_bills_and_payments(ledger: Ledger) -> None:
    bill = {"RECORDNO": 7, "RECORDID": "B-7", "STATE": "Posted", "TOTALENTERED": Decimal("10")}
    ledger.sources.record_bills([bill, {**bill, "STATE": "Paid"}])
    assert list(ledger.sources.bills([7, 8])) == [7] and ledger.sources.bill(8) is None
    assert ledger.sources.bills([7])[7]["STATE"] == "Paid"
    pay = payment_from_record(
        {"RECORDNO": 3, "STATE": "Paid", "details": [{"RECORDKEY": 7, "PAYMENTAMOUNT": 4}]}
    )
    assert isinstance(pay, PaymentRecord)
    ledger.sources.record_payments([pay])
    both = ledger.sources.payments_for_bills([7, 8])
    assert both[8] == [] and both[7] == ledger.sources.payments_for_bills([7])[7] != []
    assert ledger.sources.payments_for_bills([7])[7][0].base_amount == Decimal(4)
    voided = payment_from_record(
        {"RECORDNO": 3, "STATE": "Voided", "details": [{"RECORDKEY": 8, "PAYMENTAMOUNT": 4}]}
    )
    assert isinstance(voided, PaymentRecord)
    ledger.sources.record_payments([voided])
    after = ledger.sources.payments_for_bills([7, 8])
    assert after[7] == [] and after[8][0].voided


def test_parked_keys_and_unpark_many(ledger: Ledger) -> None:
    for key in ("1", "2", "3"):
        ledger.sources.park(
            "ap_bills",
            key,
            code="vendor_unknown",
            reason="waiting",
            waiting_kind="vendor",
            waiting_keys=["V1"],
            record={"RECORDNO": int(key)},
        )
    assert ledger.sources.parked_keys("ap_bills") == {"1", "2", "3"}
    assert ledger.sources.unpark_many("ap_bills", ["1", "3", "9"]) == 2
    assert ledger.sources.parked_keys("ap_bills") == {"2"}


def test_many_keys_are_chunked(ledger: Ledger) -> None:
    contacts = [contact("customers", n, f"C{n}", f"c{n}@x.com") for n in range(1, 1300)]
    ledger.sources.record_contacts(contacts)
    found = ledger.sources.contacts_for_emails(c.email_key or "" for c in contacts)
    assert all(len(v) == 1 for v in found.values()) and len(found) == 1299
    ledger.writes.record_writes(
        "member", [WriteRecord(f"m{n}", "h", "created") for n in range(1200)]
    )
    assert len(ledger.writes.unchanged("member", {f"m{n}": "h" for n in range(1300)})) == 1200


def test_an_older_invoice_version_never_replaces_the_stored_one(ledger: Ledger) -> None:
    # As for bills: the newest WHENMODIFIED wins whatever order the versions arrive in.
    newer = {"RECORDNO": 9, "STATE": "Paid", "WHENMODIFIED": "2024-03-05T10:00:00+00:00"}
    older = {**newer, "STATE": "Posted", "WHENMODIFIED": "2024-03-01T10:00:00+00:00"}
    ledger.sources.record_invoices([newer])
    ledger.sources.record_invoices([older])
    assert ledger.sources.invoices([9])[9]["STATE"] == "Paid"
    ledger.sources.record_invoices([older, newer, older])
    assert ledger.sources.invoices([9])[9]["STATE"] == "Paid"


def test_an_older_ar_payment_version_never_replaces_the_voided_one(ledger: Ledger) -> None:
    # As for AP payments: a voided version stays voided whatever arrives after it.
    record = {
        "RECORDNO": 4,
        "STATE": "Voided",
        "WHENMODIFIED": "2024-03-05T10:00:00+00:00",
        "details": [{"RECORDKEY": 9, "TRX_PAYMENTAMOUNT": 10, "PAYMENTAMOUNT": 10}],
    }
    voided = ar_payment_from_record(record)
    complete = ar_payment_from_record(
        {**record, "STATE": "Complete", "WHENMODIFIED": "2024-03-01T10:00:00+00:00"}
    )
    assert isinstance(voided, PaymentRecord) and isinstance(complete, PaymentRecord)
    ledger.sources.record_ar_payments([voided])
    ledger.sources.record_ar_payments([complete])
    assert [p.voided for p in ledger.sources.payments_for_invoices([9])[9]] == [True]
    assert ledger.sources.payments_for_bills([9]) == {9: []}  # AR allocations stay apart from AP
