"""Source records and parking: what Intacct said, and the records waiting for another.

`SourceRecords` (`ledger.sources`) keeps every customer, vendor, bill, invoice and payment
(rows of `source_records`, keyed by stream and RECORDNO), so a member is rebuilt from every
record of its address and an order's status from every payment of its bill, across runs:
- contacts: `record_contacts` (returns the email a contact had before, when it changed),
  `contacts_for_emails`, `vendors` / `customers` by VENDORID / CUSTOMERID (highest RECORDNO);
- owed documents: `record_bills` / `bills`, `record_invoices` / `invoices`: the whole
  record (the order is rebuilt from it when a payment arrives);
- payments: `record_payments` / `payments_for_bills` (AP), `record_ar_payments` /
  `payments_for_invoices` (AR, allocation keys prefixed `ar:` so AR and AP numbers never mix).
  Voided payments are kept (the status rule leaves them out of the sum).
The newest-version rule: a bill, invoice or payment older (by WHENMODIFIED; a voided payment
is newer than any other version of it) than the one stored, or than another in the same call,
is ignored, so what is stored never depends on the order versions arrive in.

Deleted records: `bury` moves a record's row to the stream `deleted:<stream>` (its
tombstone): every query of live records leaves it out at once, and a deletion seen again
(`buried`) does nothing.

Parking: a bill waiting for its vendor, a payment for its bill (an invoice or AR payment for
its customer or invoice) is `park`-ed with what it waits for; `ready_parked` lists those whose
every awaited key is now known; `unpark` / `unpark_many` remove them once retried.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Connection, case, delete, func, insert, literal, select, update

from target_mailchimp.ledger import schema as t
from target_mailchimp.ledger.database import LedgerDatabase, chunks, update_many
from target_mailchimp.ledger.records import WAITING_KINDS, ParkedRecord
from target_mailchimp.mapping.common import (
    CONTACT_STREAMS,
    STREAM_AR_PAYMENTS,
    STREAM_BILLS,
    STREAM_CUSTOMERS,
    STREAM_INVOICES,
    STREAM_PAYMENTS,
    STREAM_VENDORS,
    as_recordno,
)
from target_mailchimp.mapping.contacts import ContactRecord
from target_mailchimp.mapping.jsonexact import dumps_exact, jsonable, loads_exact
from target_mailchimp.mapping.orders import bill_version
from target_mailchimp.mapping.payments import PaymentForBill, PaymentRecord
from target_mailchimp.mapping.results import Parked
from target_mailchimp.mapping.settlement import older_version

_V = TypeVar("_V")

AR_KEY_PREFIX = "ar:"
TOMBSTONE_PREFIX = "deleted:"
#: Codes of bills kept for their vendor after they were rejected because of it (no email,
#: inactive, no e-commerce customer, or parked longer than `max_park_days`): ready when the
#: vendor's record arrives or changes after they were kept, not merely when it exists.
VENDOR_CHANGE_CODES = frozenset({"vendor_rejected", "park_expired"})


def tombstone_stream(stream: str) -> str:
    """The stream a deleted record's source row moves to."""
    return f"{TOMBSTONE_PREFIX}{stream}"


class SourceRecords:
    """What Intacct records said, their tombstones, and parked records (see module
    docstring)."""

    def __init__(self, db: LedgerDatabase, run_id: Callable[[], str | None]) -> None:
        self._db = db
        #: The current run's id (or None): the default run of what is stored.
        self._current_run = run_id

    # ------------------------------------------------------------------ plumbing

    def _store(self, conn: Connection, stream: str, rows: Sequence[dict[str, Any]]) -> None:
        """Insert or replace rows of `source_records` of one stream."""
        keys = [r["source_key"] for r in rows]
        existing: set[str] = set()
        for part in chunks(keys):
            existing.update(
                conn.execute(
                    select(t.source_records.c.source_key).where(
                        t.source_records.c.stream == stream,
                        t.source_records.c.source_key.in_(part),
                    )
                ).scalars()
            )
        update_many(
            conn,
            t.source_records,
            ("stream", "source_key"),
            [{"stream": stream, **r} for r in rows if r["source_key"] in existing],
        )
        fresh = [{"stream": stream, **r} for r in rows if r["source_key"] not in existing]
        self._db.insert_new(conn, t.source_records, ("stream", "source_key"), fresh)

    def _newest_versions(
        self,
        stream: str,
        keyed: Iterable[tuple[str, _V]],
        version: Callable[[_V], tuple[bool, str | None]],
        stored_version: Callable[[Mapping[str, Any]], tuple[bool, str | None]],
    ) -> dict[str, _V]:
        """{key: the newest version} of `keyed`, without those the stored record of the key
        is newer than (`settlement.older_version`); a tie goes to the later one."""
        latest: dict[str, _V] = {}
        for key, item in keyed:
            other = latest.get(key)
            if other is None or not older_version(version(item), version(other)):
                latest[key] = item
        if not latest:
            return latest
        with self._db.tx(write=False) as conn:
            stored = self._stored_data(conn, stream, latest)
        for key, old in stored.items():
            if isinstance(old, Mapping) and older_version(
                version(latest[key]), stored_version(old)
            ):
                del latest[key]
        return latest

    def _stored_data(self, conn: Connection, stream: str, keys: Iterable[str]) -> dict[str, Any]:
        """{source key: stored data} of the live records of `stream` with these keys."""
        out: dict[str, Any] = {}
        for part in chunks(sorted(set(keys))):
            for row in conn.execute(
                select(t.source_records.c.source_key, t.source_records.c.data).where(
                    t.source_records.c.stream == stream,
                    t.source_records.c.source_key.in_(part),
                )
            ).all():
                out[row.source_key] = loads_exact(row.data)
        return out

    def source(self, stream: str, source_key: str) -> Any | None:
        """The stored data of a live source record, or None."""
        with self._db.tx(write=False) as conn:
            return self._stored_data(conn, stream, [source_key]).get(source_key)

    # ------------------------------------------------------------------ contacts

    def record_contacts(
        self, contacts: Sequence[ContactRecord], run_id: str | None = None
    ) -> dict[tuple[str, int], str]:
        """Store customers and vendors (even inactive or without a valid email).

        Returns {(stream, RECORDNO): previous email key} for the contacts whose email changed
        (the sink then rebuilds the member of the old address too). When a record appears
        more than once, the last one is stored.
        """
        run_id = run_id or self._current_run()
        now = self._db.clock()
        by_stream: dict[str, dict[str, ContactRecord]] = {}
        for c in contacts:
            by_stream.setdefault(c.stream, {})[str(c.recordno)] = c
        changed: dict[tuple[str, int], str] = {}
        with self._db.tx() as conn:
            for stream, latest in by_stream.items():
                keys = sorted(latest)
                for part in chunks(keys):
                    for row in conn.execute(
                        select(t.source_records.c.source_key, t.source_records.c.email_key)
                        .where(
                            t.source_records.c.stream == stream,
                            t.source_records.c.source_key.in_(part),
                        )
                        .with_for_update()  # PostgreSQL: the previous email stays true
                    ).all():
                        new_key = latest[row.source_key].email_key
                        if row.email_key and row.email_key != new_key:
                            changed[(stream, int(row.source_key))] = str(row.email_key)
                rows = [
                    {
                        "source_key": key,
                        "source_id": c.source_id,
                        "email_key": c.email_key,
                        "status": c.status,
                        "data": dumps_exact(jsonable(c.to_json()), sort_keys=True),
                        "run_id": run_id,
                        "updated_at": now,
                    }
                    for key, c in ((k, latest[k]) for k in keys)
                ]
                self._store(conn, stream, rows)
        return changed

    def contacts_for_emails(self, email_keys: Iterable[str]) -> dict[str, list[ContactRecord]]:
        """{email key (lower-cased): every customer and vendor with it, in merge order}."""
        keys = sorted({k.strip().lower() for k in email_keys if k})
        out: dict[str, list[ContactRecord]] = {k: [] for k in keys}
        with self._db.tx(write=False) as conn:
            for part in chunks(keys):
                for row in conn.execute(
                    select(t.source_records.c.email_key, t.source_records.c.data).where(
                        t.source_records.c.email_key.in_(part),
                        t.source_records.c.stream.in_(CONTACT_STREAMS),
                    )
                ).all():
                    out[row.email_key].append(ContactRecord.from_json(loads_exact(row.data)))
        for contacts in out.values():
            contacts.sort(key=lambda c: c.merge_order)
        return out

    def vendors(self, vendorids: Iterable[str]) -> dict[str, ContactRecord]:
        """{VENDORID: vendor (highest RECORDNO)} for the known ones; a vendor missing here
        was never seen (park the bill), one seen without a valid email has `email` None."""
        return self._contacts_by_id(STREAM_VENDORS, vendorids)

    def customers(self, customerids: Iterable[str]) -> dict[str, ContactRecord]:
        """{CUSTOMERID: customer (highest RECORDNO)} for the known ones."""
        return self._contacts_by_id(STREAM_CUSTOMERS, customerids)

    def _contacts_by_id(self, stream: str, ids: Iterable[str]) -> dict[str, ContactRecord]:
        wanted = sorted(set(ids))
        out: dict[str, ContactRecord] = {}
        with self._db.tx(write=False) as conn:
            for part in chunks(wanted):
                for row in conn.execute(
                    select(t.source_records.c.data).where(
                        t.source_records.c.stream == stream,
                        t.source_records.c.source_id.in_(part),
                    )
                ).scalars():
                    contact = ContactRecord.from_json(loads_exact(row))
                    other = out.get(contact.source_id)
                    if other is None or contact.recordno > other.recordno:
                        out[contact.source_id] = contact
        return out

    # ------------------------------------------------------------------ bills and invoices

    def record_bills(self, bills: Sequence[Mapping[str, Any]], run_id: str | None = None) -> None:
        """Store ap_bills records (all of each): the newest version of each is kept."""
        self._record_documents(STREAM_BILLS, bills, run_id)

    def record_invoices(
        self, invoices: Sequence[Mapping[str, Any]], run_id: str | None = None
    ) -> None:
        """Store ar_invoices records: the newest version of each, as bills are kept."""
        self._record_documents(STREAM_INVOICES, invoices, run_id)

    def bills(self, recordnos: Iterable[int]) -> dict[int, dict[str, Any]]:
        """{RECORDNO: stored ap_bills record (dates as ISO text, amounts Decimal)}, known
        ones only."""
        return self._documents(STREAM_BILLS, recordnos)

    def bill(self, recordno: int) -> dict[str, Any] | None:
        """The stored ap_bills record, or None."""
        return self.bills([recordno]).get(int(recordno))

    def invoices(self, recordnos: Iterable[int]) -> dict[int, dict[str, Any]]:
        """{RECORDNO: stored ar_invoices record} for the known ones."""
        return self._documents(STREAM_INVOICES, recordnos)

    def _documents(self, stream: str, recordnos: Iterable[int]) -> dict[int, dict[str, Any]]:
        with self._db.tx(write=False) as conn:
            stored = self._stored_data(conn, stream, (str(n) for n in recordnos))
        return {int(key): dict(data) for key, data in stored.items()}

    def _record_documents(
        self, stream: str, bills: Sequence[Mapping[str, Any]], run_id: str | None = None
    ) -> None:
        """Store owed documents (ap_bills or ar_invoices records): the newest version of each.

        A version older than the one stored (or than another in `bills`) by WHENMODIFIED is
        ignored (`settlement.older_version`), so the stored document never depends on the
        order versions arrive in; otherwise the last of a repeated RECORDNO wins.
        """
        run_id = run_id or self._current_run()
        now = self._db.clock()
        latest = self._newest_versions(
            stream,
            ((_document_key(stream, bill), bill) for bill in bills),
            bill_version,
            bill_version,
        )
        if not latest:
            return
        rows = [
            {
                "source_key": key,
                "source_id": _text_or_none(bill.get("RECORDID")),
                "email_key": None,
                "status": _text_or_none(bill.get("STATE")),
                "data": dumps_exact(jsonable(bill), sort_keys=True),
                "run_id": run_id,
                "updated_at": now,
            }
            for key, bill in sorted(latest.items())
        ]
        with self._db.tx() as conn:
            self._store(conn, stream, rows)

    # ------------------------------------------------------------------ payments

    def record_payments(self, payments: Sequence[PaymentRecord], run_id: str | None = None) -> None:
        """Store ap_payments records and replace their allocations to bills."""
        self._record_settlements(STREAM_PAYMENTS, "", payments, run_id)

    def record_ar_payments(
        self, payments: Sequence[PaymentRecord], run_id: str | None = None
    ) -> None:
        """Store AR payments and replace their allocations to invoices."""
        self._record_settlements(STREAM_AR_PAYMENTS, AR_KEY_PREFIX, payments, run_id)

    def payments_for_bills(self, bill_recordnos: Iterable[int]) -> dict[int, list[PaymentForBill]]:
        """{bill RECORDNO: every allocation of an AP payment to it (voided included), by
        payment}."""
        return self._allocations("", bill_recordnos)

    def payments_for_invoices(
        self, invoice_recordnos: Iterable[int]
    ) -> dict[int, list[PaymentForBill]]:
        """{invoice RECORDNO: allocations of AR payments to it, by payment}."""
        return self._allocations(AR_KEY_PREFIX, invoice_recordnos)

    def _allocations(
        self, key_prefix: str, recordnos: Iterable[int]
    ) -> dict[int, list[PaymentForBill]]:
        keys = sorted({f"{key_prefix}{n}" for n in recordnos})
        out: dict[int, list[PaymentForBill]] = {int(k.removeprefix(key_prefix)): [] for k in keys}
        with self._db.tx(write=False) as conn:
            for part in chunks(keys):
                for r in conn.execute(
                    select(t.payment_allocations).where(t.payment_allocations.c.bill_key.in_(part))
                ).all():
                    document = int(r.bill_key.removeprefix(key_prefix))
                    out[document].append(
                        PaymentForBill(
                            payment_recordno=int(r.payment_key.removeprefix(key_prefix)),
                            bill_recordno=document,
                            trx_amount=Decimal(r.trx_amount),
                            base_amount=Decimal(r.base_amount),
                            voided=bool(r.voided),
                            when_modified=r.when_modified,
                        )
                    )
        for payments in out.values():
            payments.sort(key=lambda p: p.payment_recordno)
        return out

    def _record_settlements(
        self,
        stream: str,
        key_prefix: str,
        payments: Sequence[PaymentRecord],
        run_id: str | None = None,
    ) -> None:
        """Store AP or AR payments (`stream`) and replace their allocations, whose payment and
        document keys carry `key_prefix` (AR's `ar:` keeps AR and AP numbers apart).

        Only the newest version of a payment is kept: a voided one, else the latest
        WHENMODIFIED (`settlement.older_version`); an older version is ignored.
        """
        run_id = run_id or self._current_run()
        now = self._db.clock()
        latest = self._newest_versions(
            stream,
            ((str(p.recordno), p) for p in payments),
            _payment_version,
            _stored_payment_version,
        )
        if not latest:
            return
        rows = [
            {
                "source_key": key,
                "source_id": p.recordid,
                "email_key": None,
                "status": p.state,
                "data": _payment_data(p),
                "run_id": run_id,
                "updated_at": now,
            }
            for key, p in sorted(latest.items())
        ]
        allocations = [
            {
                "payment_key": f"{key_prefix}{key}",
                "bill_key": f"{key_prefix}{a.bill_recordno}",
                "trx_amount": str(a.trx_amount),
                "base_amount": str(a.base_amount),
                "voided": a.voided,
                "when_modified": a.when_modified,
            }
            for key, p in sorted(latest.items())
            for a in p.allocations
        ]
        with self._db.tx() as conn:
            self._store(conn, stream, rows)
            for part in chunks([f"{key_prefix}{k}" for k in sorted(latest)]):
                conn.execute(
                    t.payment_allocations.delete().where(
                        t.payment_allocations.c.payment_key.in_(part)
                    )
                )
            if allocations:
                conn.execute(insert(t.payment_allocations), allocations)

    # ------------------------------------------------------------------ deleted records

    def bury(self, stream: str, source_key: str) -> Any | None:
        """Move a live source record to its tombstone; returns its stored data, or None when
        no live record of that key is known."""
        with self._db.tx() as conn:
            row = conn.execute(
                select(t.source_records.c.data).where(
                    t.source_records.c.stream == stream,
                    t.source_records.c.source_key == source_key,
                )
            ).first()
            if row is None:
                return None
            grave = tombstone_stream(stream)
            conn.execute(
                delete(t.source_records).where(
                    t.source_records.c.stream == grave,
                    t.source_records.c.source_key == source_key,
                )
            )
            conn.execute(
                update(t.source_records)
                .where(
                    t.source_records.c.stream == stream,
                    t.source_records.c.source_key == source_key,
                )
                .values(stream=grave, updated_at=self._db.clock())
            )
        return loads_exact(row.data)

    def buried(self, stream: str, source_key: str) -> bool:
        """True when the record of this key was deleted before (it has a tombstone)."""
        with self._db.tx(write=False) as conn:
            found = conn.execute(
                select(t.source_records.c.source_key).where(
                    t.source_records.c.stream == tombstone_stream(stream),
                    t.source_records.c.source_key == source_key,
                )
            ).first()
        return found is not None

    # ------------------------------------------------------------------ parked records

    def park(
        self,
        stream: str,
        source_key: str,
        *,
        code: str,
        reason: str,
        waiting_kind: str,
        waiting_keys: Sequence[str],
        record: Mapping[str, Any],
        source_id: str | None = None,
        run_id: str | None = None,
    ) -> None:
        """`park_outcome` with the outcome's parts (code, reason and what it waits for)."""
        outcome = Parked(code, reason, waiting_kind, tuple(waiting_keys))
        self.park_outcome(stream, source_key, outcome, record, source_id=source_id, run_id=run_id)

    def park_outcome(
        self,
        stream: str,
        source_key: str,
        outcome: Parked,
        record: Mapping[str, Any],
        *,
        source_id: str | None = None,
        run_id: str | None = None,
    ) -> None:
        """Park a record with the mapping's `Parked` outcome until what it waits for is
        known; re-parking counts an attempt.

        `parked_at` is when the record started waiting for this reason (`code`): re-parking it
        with the same code keeps it, so `max_park_days` counts from the first time; for
        `VENDOR_CHANGE_CODES` it is the last attempt.
        """
        code = outcome.code
        if outcome.waiting_kind not in WAITING_KINDS:
            raise ValueError(
                f"waiting_kind must be one of {', '.join(WAITING_KINDS)}, "
                f"not {outcome.waiting_kind!r}"
            )
        keys = {"stream": stream, "source_key": source_key}
        now = literal(self._db.clock(), t.parked.c.parked_at.type)
        # Kept for a vendor change: the time of the last attempt (ready when the vendor changes
        # after it); otherwise the first time it waited for this reason.
        since = (
            now
            if code in VENDOR_CHANGE_CODES
            else case((t.parked.c.code == code, t.parked.c.parked_at), else_=now)
        )
        with self._db.tx() as conn:
            self._db.upsert(
                conn,
                t.parked,
                keys,
                {
                    "source_id": source_id,
                    "code": code,
                    "reason": outcome.reason,
                    "waiting_kind": outcome.waiting_kind,
                    "waiting_keys": json.dumps(sorted({str(k) for k in outcome.waiting_keys})),
                    "record": dumps_exact(jsonable(record), sort_keys=True),
                    "run_id": run_id or self._current_run(),
                    "parked_at": since,
                    # Counted in the database: no lost update when two writers park at once.
                    "attempts": t.parked.c.attempts + 1,
                },
                on_insert={"attempts": 1, "parked_at": self._db.clock()},
            )

    def parked(self, stream: str | None = None) -> list[ParkedRecord]:
        """Every parked record (of one stream), oldest first."""
        query = select(t.parked).order_by(t.parked.c.parked_at, t.parked.c.source_key)
        if stream is not None:
            query = query.where(t.parked.c.stream == stream)
        with self._db.tx(write=False) as conn:
            rows = conn.execute(query).all()
        return [ParkedRecord.from_row(r) for r in rows]

    def parked_keys(self, stream: str) -> set[str]:
        """The source keys of a stream's parked records (without loading the records)."""
        with self._db.tx(write=False) as conn:
            return set(
                conn.execute(
                    select(t.parked.c.source_key).where(t.parked.c.stream == stream)
                ).scalars()
            )

    def ready_parked(self, stream: str | None = None) -> list[ParkedRecord]:
        """Parked records whose every awaited vendor / bill is now known: retry these."""
        ready = []
        waiting = self.parked(stream)
        if not waiting:
            return []
        with self._db.tx(write=False) as conn:
            for item in waiting:
                kind = WAITING_KINDS.get(item.waiting_kind)
                if kind is None:
                    continue
                source_stream, column = kind
                if item.code in VENDOR_CHANGE_CODES:
                    # Ready once the vendor's record arrived or changed after it was kept.
                    since = item.parked_at
                    found = conn.execute(
                        select(func.count(func.distinct(t.source_records.c[column]))).where(
                            t.source_records.c.stream == source_stream,
                            t.source_records.c[column].in_(item.waiting_keys),
                            t.source_records.c.updated_at > since,
                        )
                    ).scalar()
                    if found:
                        ready.append(item)
                    continue
                found = conn.execute(
                    select(func.count(func.distinct(t.source_records.c[column]))).where(
                        t.source_records.c.stream == source_stream,
                        t.source_records.c[column].in_(item.waiting_keys),
                    )
                ).scalar()
                if found == len(item.waiting_keys):
                    ready.append(item)
        return ready

    def parked_before(self, cutoff: datetime, codes: Sequence[str]) -> list[ParkedRecord]:
        """Parked records with one of `codes` waiting since before `cutoff` (aware UTC)."""
        return [p for p in self.parked() if p.code in codes and p.parked_at < cutoff]

    def unpark_many(self, stream: str, source_keys: Iterable[str]) -> int:
        """Remove parked records of one stream (after they were retried); returns how many
        were parked."""
        keys = sorted(set(source_keys))
        removed = 0
        if not keys:
            return 0
        with self._db.tx() as conn:
            for part in chunks(keys):
                result = conn.execute(
                    t.parked.delete().where(
                        t.parked.c.stream == stream, t.parked.c.source_key.in_(part)
                    )
                )
                removed += result.rowcount or 0
        return removed

    def unpark(self, stream: str, source_key: str) -> bool:
        """`unpark_many` for one record; True if it was parked."""
        return bool(self.unpark_many(stream, [source_key]))


def _payment_data(payment: PaymentRecord) -> str:
    """The stored form of a payment record (its source row's ``data``)."""
    return dumps_exact(
        {
            "recordno": payment.recordno,
            "recordid": payment.recordid,
            "state": payment.state,
            "voided": payment.voided,
            "when_modified": payment.when_modified,
            "allocations": [a.to_json() for a in payment.allocations],
        },
        sort_keys=True,
    )


def _payment_version(payment: PaymentRecord) -> tuple[bool, str | None]:
    return (payment.voided, payment.when_modified)


def _stored_payment_version(data: Mapping[str, Any]) -> tuple[bool, str | None]:
    """`_payment_version` of a stored payment (`_payment_data`)."""
    return (bool(data.get("voided")), _text_or_none(data.get("when_modified")))


def _document_key(stream: str, document: Mapping[str, Any]) -> str:
    """The source key of a bill or invoice: its RECORDNO (ValueError when it has none)."""
    recordno = as_recordno(document.get("RECORDNO"))
    if recordno is None:
        raise ValueError(
            f"an {stream} record needs an integer RECORDNO, got {document.get('RECORDNO')!r}"
        )
    return str(recordno)


def _text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
