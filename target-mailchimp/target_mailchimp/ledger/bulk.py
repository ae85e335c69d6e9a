"""Batch forms of the per-record ledger calls, for sinks that handle thousands of records.

Each method does in one short transaction what the single-record method does for one key,
with the same semantics (`record_contacts` ~ `record_contact`, `unchanged` ~ not
`should_write`, `record_writes` ~ `record_write`, ...). Keys are queried in chunks so the
number of bound parameters stays under every database's limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Connection, Table, bindparam, insert, select, update

from target_mailchimp.ledger import schema as t
from target_mailchimp.ledger.base import LedgerBase
from target_mailchimp.ledger.records import ACTIONS, SUCCESS_ACTIONS, ObjectState
from target_mailchimp.ledger.sources import payment_data
from target_mailchimp.mapping.common import (
    STREAM_BILLS,
    STREAM_CUSTOMERS,
    STREAM_PAYMENTS,
    STREAM_VENDORS,
    as_recordno,
)
from target_mailchimp.mapping.contacts import ContactRecord
from target_mailchimp.mapping.jsonexact import dumps_exact, jsonable, loads_exact
from target_mailchimp.mapping.orders import bill_version
from target_mailchimp.mapping.payments import PaymentForBill, PaymentRecord
from target_mailchimp.mapping.settlement import older_version

#: Keys per IN (...) clause (SQLite allows 999 bound parameters in old builds).
CHUNK = 500

K = TypeVar("K")


def _chunks(items: Sequence[K], size: int = CHUNK) -> Iterator[Sequence[K]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True)
class WriteRecord:
    """One object write for `record_writes` (same fields as `record_write`)."""

    object_id: str
    payload_hash: str | None
    action: str
    http_status: int | None = None
    request_id: str | None = None


class OrderLinesMixin(LedgerBase):
    """The line ids last written to each order (`order_lines` table)."""

    def order_lines(self, order_ids: Iterable[str]) -> dict[str, set[str]]:
        """{order id: line ids last written} for the orders whose lines are recorded."""
        keys = sorted(set(order_ids))
        out: dict[str, set[str]] = {}
        with self._tx(write=False) as conn:
            for part in _chunks(keys):
                for row in conn.execute(
                    select(t.order_lines.c.order_id, t.order_lines.c.line_id).where(
                        t.order_lines.c.order_id.in_(part)
                    )
                ).all():
                    out.setdefault(row.order_id, set()).add(row.line_id)
        return out

    def record_order_lines(
        self, lines: Mapping[str, Iterable[str]], run_id: str | None = None
    ) -> None:
        """Replace the recorded line ids of each order in `lines`."""
        if not lines:
            return
        run_id = run_id or self._run_id
        keys = sorted(lines)
        rows = [
            {"order_id": oid, "line_id": lid, "run_id": run_id}
            for oid in keys
            for lid in sorted(set(lines[oid]))
        ]
        with self._tx() as conn:
            for part in _chunks(keys):
                conn.execute(t.order_lines.delete().where(t.order_lines.c.order_id.in_(part)))
            if rows:
                conn.execute(insert(t.order_lines), rows)


class BulkMixin(OrderLinesMixin):
    """Batch forms of the per-record calls (see module docstring)."""

    # ------------------------------------------------------------------ objects

    def object_states(self, kind: str, object_ids: Iterable[str]) -> dict[str, ObjectState]:
        """`object_state` for many ids of one kind: {object_id: state} for the known ones."""
        ids = sorted(set(object_ids))
        out: dict[str, ObjectState] = {}
        with self._tx(write=False) as conn:
            for part in _chunks(ids):
                rows = conn.execute(
                    select(t.objects).where(
                        t.objects.c.kind == kind, t.objects.c.object_id.in_(part)
                    )
                ).all()
                for row in rows:
                    out[row.object_id] = ObjectState.from_row(row)
        return out

    def unchanged(self, kind: str, hashes: Mapping[str, str]) -> set[str]:
        """The ids whose payload hash equals the one last written successfully: the
        complement of `should_write` (with `full_refresh`, only writes of this run count)."""
        ids = sorted(hashes)
        same: set[str] = set()
        with self._tx(write=False) as conn:
            for part in _chunks(ids):
                rows = conn.execute(
                    select(
                        t.objects.c.object_id, t.objects.c.payload_hash, t.objects.c.hash_run_id
                    ).where(t.objects.c.kind == kind, t.objects.c.object_id.in_(part))
                ).all()
                for row in rows:
                    if row.payload_hash is None or row.payload_hash != hashes[row.object_id]:
                        continue
                    if self.full_refresh and (
                        self._run_id is None or row.hash_run_id != self._run_id
                    ):
                        continue
                    same.add(row.object_id)
        return same

    def record_writes(
        self, kind: str, writes: Sequence[WriteRecord], run_id: str | None = None
    ) -> None:
        """`record_write` for many objects of one kind, in one transaction."""
        if not writes:
            return
        run_id = run_id or self._run_id
        now = self._clock()
        latest: dict[str, WriteRecord] = {}
        for w in writes:
            if w.action not in ACTIONS:
                raise ValueError(f"unknown action {w.action!r}; use one of {', '.join(ACTIONS)}")
            latest[w.object_id] = w

        def values(w: WriteRecord) -> dict[str, Any]:
            v: dict[str, Any] = {
                "last_action": w.action,
                "http_status": w.http_status,
                "request_id": w.request_id,
                "run_id": run_id,
                "updated_at": now,
            }
            if w.action in SUCCESS_ACTIONS:
                v["payload_hash"] = w.payload_hash
                v["hash_run_id"] = run_id
            return v

        with self._tx() as conn:
            ids = sorted(latest)
            existing: set[str] = set()
            for part in _chunks(ids):
                existing.update(
                    conn.execute(
                        select(t.objects.c.object_id).where(
                            t.objects.c.kind == kind, t.objects.c.object_id.in_(part)
                        )
                    ).scalars()
                )
            _update_many(
                conn,
                t.objects,
                ("kind", "object_id"),
                [
                    {"kind": kind, "object_id": oid, **values(latest[oid])}
                    for oid in ids
                    if oid in existing
                ],
            )
            new_rows = [
                {"kind": kind, "object_id": oid, **values(latest[oid])}
                for oid in ids
                if oid not in existing
            ]
            for row in new_rows:
                row.setdefault("payload_hash", None)
                row.setdefault("hash_run_id", None)
            self._insert_new(conn, t.objects, ("kind", "object_id"), new_rows)

    # ------------------------------------------------------------------ source records

    def _store_sources(self, conn: Connection, stream: str, rows: Sequence[dict[str, Any]]) -> None:
        keys = [r["source_key"] for r in rows]
        existing: set[str] = set()
        for part in _chunks(keys):
            existing.update(
                conn.execute(
                    select(t.source_records.c.source_key).where(
                        t.source_records.c.stream == stream,
                        t.source_records.c.source_key.in_(part),
                    )
                ).scalars()
            )
        _update_many(
            conn,
            t.source_records,
            ("stream", "source_key"),
            [{"stream": stream, **r} for r in rows if r["source_key"] in existing],
        )
        fresh = [{"stream": stream, **r} for r in rows if r["source_key"] not in existing]
        self._insert_new(conn, t.source_records, ("stream", "source_key"), fresh)

    def record_contacts(
        self, contacts: Sequence[ContactRecord], run_id: str | None = None
    ) -> dict[tuple[str, int], str]:
        """`record_contact` for many contacts (of any of the two streams).

        Returns {(stream, RECORDNO): previous email key} for the contacts whose email changed.
        When a record appears more than once, the last one is stored.
        """
        run_id = run_id or self._run_id
        now = self._clock()
        by_stream: dict[str, dict[str, ContactRecord]] = {}
        for c in contacts:
            by_stream.setdefault(c.stream, {})[str(c.recordno)] = c
        changed: dict[tuple[str, int], str] = {}
        with self._tx() as conn:
            for stream, latest in by_stream.items():
                keys = sorted(latest)
                for part in _chunks(keys):
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
                self._store_sources(conn, stream, rows)
        return changed

    def contacts_for_emails(self, email_keys: Iterable[str]) -> dict[str, list[ContactRecord]]:
        """`contacts_for_email` for many keys: {email key: contacts in merge order}."""
        keys = sorted({k.strip().lower() for k in email_keys if k})
        out: dict[str, list[ContactRecord]] = {k: [] for k in keys}
        with self._tx(write=False) as conn:
            for part in _chunks(keys):
                for row in conn.execute(
                    select(t.source_records.c.email_key, t.source_records.c.data).where(
                        t.source_records.c.email_key.in_(part),
                        t.source_records.c.stream.in_((STREAM_CUSTOMERS, STREAM_VENDORS)),
                    )
                ).all():
                    out[row.email_key].append(ContactRecord.from_json(loads_exact(row.data)))
        for contacts in out.values():
            contacts.sort(key=lambda c: c.merge_order)
        return out

    def vendors(self, vendorids: Iterable[str]) -> dict[str, ContactRecord]:
        """`vendor` for many VENDORIDs: {VENDORID: vendor (highest RECORDNO)} for known ones."""
        return self._contacts_by_id(STREAM_VENDORS, vendorids)

    def _contacts_by_id(self, stream: str, ids: Iterable[str]) -> dict[str, ContactRecord]:
        """{id: contact of `stream` (highest RECORDNO)} for the known VENDORIDs/CUSTOMERIDs."""
        wanted = sorted(set(ids))
        out: dict[str, ContactRecord] = {}
        with self._tx(write=False) as conn:
            for part in _chunks(wanted):
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

    def _stored_data(self, conn: Connection, stream: str, keys: Sequence[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for part in _chunks(sorted(keys)):
            for row in conn.execute(
                select(t.source_records.c.source_key, t.source_records.c.data).where(
                    t.source_records.c.stream == stream,
                    t.source_records.c.source_key.in_(part),
                )
            ).all():
                out[row.source_key] = loads_exact(row.data)
        return out

    def record_bills(self, bills: Sequence[Mapping[str, Any]], run_id: str | None = None) -> None:
        """`record_bill` for many ap_bills records: the newest version of each is kept."""
        self._record_documents(STREAM_BILLS, bills, run_id)

    def _record_documents(
        self, stream: str, bills: Sequence[Mapping[str, Any]], run_id: str | None = None
    ) -> None:
        """Store owed documents (ap_bills or ar_invoices records): the newest version of each.

        A version older than the one stored (or than another in `bills`) by WHENMODIFIED is
        ignored (`settlement.older_version`), so the stored document never depends on the
        order versions arrive in; otherwise the last of a repeated RECORDNO wins.
        """
        run_id = run_id or self._run_id
        now = self._clock()
        latest: dict[str, Mapping[str, Any]] = {}
        for bill in bills:
            recordno = as_recordno(bill.get("RECORDNO"))
            if recordno is None:
                raise ValueError(
                    f"an {stream} record needs an integer RECORDNO, got {bill.get('RECORDNO')!r}"
                )
            key = str(recordno)
            other = latest.get(key)
            if other is None or not older_version(bill_version(bill), bill_version(other)):
                latest[key] = bill
        if not latest:
            return
        with self._tx(write=False) as conn:
            stored = self._stored_data(conn, stream, list(latest))
        for key, old in stored.items():
            if isinstance(old, Mapping) and older_version(
                bill_version(latest[key]), bill_version(old)
            ):
                del latest[key]
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
        with self._tx() as conn:
            self._store_sources(conn, stream, rows)

    def record_payments(self, payments: Sequence[PaymentRecord], run_id: str | None = None) -> None:
        """`record_payment` for many payments: stores each and replaces its allocations."""
        self._record_settlements(STREAM_PAYMENTS, "", payments, run_id)

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
        run_id = run_id or self._run_id
        now = self._clock()
        latest: dict[str, PaymentRecord] = {}
        for p in payments:
            other = latest.get(str(p.recordno))
            if other is None or not older_version(_payment_version(p), _payment_version(other)):
                latest[str(p.recordno)] = p
        if not latest:
            return
        with self._tx(write=False) as conn:
            stored = self._stored_data(conn, stream, list(latest))
        for key, old in stored.items():
            if isinstance(old, Mapping) and older_version(
                _payment_version(latest[key]),
                (bool(old.get("voided")), _text_or_none(old.get("when_modified"))),
            ):
                del latest[key]
        if not latest:
            return
        rows = [
            {
                "source_key": key,
                "source_id": p.recordid,
                "email_key": None,
                "status": p.state,
                "data": payment_data(p),
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
        with self._tx() as conn:
            self._store_sources(conn, stream, rows)
            for part in _chunks([f"{key_prefix}{k}" for k in sorted(latest)]):
                conn.execute(
                    t.payment_allocations.delete().where(
                        t.payment_allocations.c.payment_key.in_(part)
                    )
                )
            if allocations:
                conn.execute(insert(t.payment_allocations), allocations)

    def bills(self, recordnos: Iterable[int]) -> dict[int, dict[str, Any]]:
        """`bill` for many RECORDNOs: {RECORDNO: stored record} for the known ones."""
        keys = sorted({str(n) for n in recordnos})
        out: dict[int, dict[str, Any]] = {}
        with self._tx(write=False) as conn:
            for part in _chunks(keys):
                for row in conn.execute(
                    select(t.source_records.c.source_key, t.source_records.c.data).where(
                        t.source_records.c.stream == STREAM_BILLS,
                        t.source_records.c.source_key.in_(part),
                    )
                ).all():
                    out[int(row.source_key)] = dict(loads_exact(row.data))
        return out

    def payments_for_bills(self, bill_recordnos: Iterable[int]) -> dict[int, list[PaymentForBill]]:
        """`payments_for_bill` for many bills: {bill RECORDNO: allocations by payment}."""
        keys = sorted({str(n) for n in bill_recordnos})
        out: dict[int, list[PaymentForBill]] = {int(k): [] for k in keys}
        with self._tx(write=False) as conn:
            for part in _chunks(keys):
                for r in conn.execute(
                    select(t.payment_allocations).where(t.payment_allocations.c.bill_key.in_(part))
                ).all():
                    out[int(r.bill_key)].append(
                        PaymentForBill(
                            payment_recordno=int(r.payment_key),
                            bill_recordno=int(r.bill_key),
                            trx_amount=Decimal(r.trx_amount),
                            base_amount=Decimal(r.base_amount),
                            voided=bool(r.voided),
                            when_modified=r.when_modified,
                        )
                    )
        for payments in out.values():
            payments.sort(key=lambda p: p.payment_recordno)
        return out

    def parked_keys(self, stream: str) -> set[str]:
        """The source keys of a stream's parked records (without loading the records)."""
        with self._tx(write=False) as conn:
            return set(
                conn.execute(
                    select(t.parked.c.source_key).where(t.parked.c.stream == stream)
                ).scalars()
            )

    def unpark_many(self, stream: str, source_keys: Iterable[str]) -> int:
        """`unpark` for many keys of one stream; returns how many were parked."""
        keys = sorted(set(source_keys))
        removed = 0
        if not keys:
            return 0
        with self._tx() as conn:
            for part in _chunks(keys):
                result = conn.execute(
                    t.parked.delete().where(
                        t.parked.c.stream == stream, t.parked.c.source_key.in_(part)
                    )
                )
                removed += result.rowcount or 0
        return removed


def _update_many(
    conn: Connection, table: Table, keys: tuple[str, ...], rows: Sequence[dict[str, Any]]
) -> None:
    """UPDATE many rows by key in one executemany per set of columns (not a statement
    compiled per row)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        columns = tuple(sorted(k for k in row if k not in keys))
        groups.setdefault(columns, []).append(row)
    for columns, items in groups.items():
        statement = (
            update(table)
            .where(*(table.c[k] == bindparam(f"key_{k}") for k in keys))
            .values({c: bindparam(f"new_{c}") for c in columns})
        )
        conn.execute(
            statement,
            [
                {**{f"key_{k}": r[k] for k in keys}, **{f"new_{c}": r[c] for c in columns}}
                for r in items
            ],
        )


def _text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _payment_version(payment: PaymentRecord) -> tuple[bool, str | None]:
    return (payment.voided, payment.when_modified)
