"""The ledger: dedupe of Mailchimp writes and the audit trail of every record.

SQLAlchemy Core on any database URL (`ledger_url`; default
`sqlite:///.target-mailchimp/ledger.sqlite`, relative to the working directory, folder
created). Only portable SQL is used (no dialect upserts), so PostgreSQL works as well as
SQLite. On SQLite the ledger uses WAL, a busy timeout and BEGIN IMMEDIATE for writes. One
Engine per `Ledger`; every method is one short transaction and safe from several sink threads.
On PostgreSQL (`postgresql+psycopg://...`, extra `target-mailchimp-intacct[postgres]`) several
machines may share one ledger: write transactions take a transaction-scoped advisory lock
(one writer at a time, as on SQLite: no deadlock, no lost update, tables created once when
two targets start together; readers never wait), and a stale run lock is taken over by
exactly one run. A ledger that cannot be opened raises
LedgerError naming the URL with its password masked.

Secrets: nothing secret is ever stored. The API key and Intacct credentials are never given
to the ledger; the ledger URL's password is masked in every message; audit details pass
through `redact()`, which masks anything shaped like an API key, Authorization header,
password, token or session id.

API (`Ledger(url, *, full_refresh=False, stale_after=timedelta(minutes=10),
heartbeat_interval=60.0, clock=utcnow)`):

Many companies (`scope=LedgerScope(intacct_company_id, intacct_entity_id, list_id,
store_id)`): each company's rows are kept apart in one database and its runs exclude each
other; without a scope the database's own tables are used, as before. See `ledger.scope`.

Runs and the lock
- `start_run(run_id=None) -> run_id`: takes the run lock (a row in `locks` with a unique key,
  inserted in a transaction) and records the run. A second run against the same ledger stops
  at once with `LedgerLockedError` naming the ledger and the run holding it. A lock whose
  heartbeat is older than `stale_after`, or whose process is gone (same host), is taken over
  and the old run marked "abandoned". A daemon thread refreshes the heartbeat every
  `heartbeat_interval` seconds (None: call `heartbeat(run_id)` yourself).
- `finish_run(run_id, status="succeeded"|"failed", counts=None)`: stores counts (default:
  `summary(run_id)`) and releases the lock. `assert_lock_held(run_id)` / `lock_lost`.
- `runs(last_n=10) -> list[RunInfo]`, newest first.

Dedupe of writes (objects: kind "member" (id = subscriber hash), "customer", "product",
"order", ...)
- `should_write(kind, object_id, payload_hash) -> bool`: False when the hash equals the one
  last written successfully. `full_refresh=True` ignores hashes of earlier runs.
- `record_write(kind, object_id, *, payload_hash, action, http_status=None,
  request_id=None, run_id=None)`: success actions store the hash; failures keep the old one.
- `object_state(kind, object_id) -> ObjectState | None` (e.g. whether an order was created,
  to PATCH instead of POST); `forget_object(kind, object_id)`.
- Hash payloads with `target_mailchimp.mapping.payload_hash` (sorted keys, exact decimals).

What Intacct said (source records, keyed by (stream, RECORDNO))
- `record_contact(contact) -> previous email key | None`; `contacts_for_email(email_key)
  -> list[ContactRecord]` (feed to `member_payload`); `vendor(vendorid)` /
  `customer(customerid) -> ContactRecord | None`; `vendor_known(vendorid) -> email | None`.
- `record_bill(bill)`; `bill(recordno) -> dict | None` (the whole record, to rebuild the order).
- `record_payment(payment: PaymentRecord)`; `payments_for_bill(bill_recordno) ->
  list[PaymentForBill]` (voided included; the status rule excludes them from the sum).
- `record_source(stream, key, data=..., ...)` / `source(stream, key)`: the generic form.

Parked records (bills waiting for their vendor, payments for their bill)
- `park(stream, source_key, *, code, reason, waiting_kind="vendor"|"bill", waiting_keys,
  record, source_id=None)` or `park_outcome(stream, source_key, parked, record)`;
  `parked(stream=None)`; `ready_parked(stream=None)` (every awaited key now known);
  `unpark(stream, source_key) -> bool`.

Batch forms (one transaction for many records; same semantics as the single calls)
- `record_contacts(contacts) -> {(stream, RECORDNO): previous email key}`,
  `contacts_for_emails(keys) -> {key: [ContactRecord]}`, `vendors(ids) -> {id: contact}`,
  `record_bills(bills)`, `bills(recordnos) -> {no: record}`, `record_payments(payments)`,
  `payments_for_bills(nos) -> {no: [PaymentForBill]}`.
- `object_states(kind, ids) -> {id: ObjectState}`, `unchanged(kind, {id: hash}) -> set(ids)`
  (the complement of `should_write`), `record_writes(kind, [WriteRecord, ...])`.
- `parked_keys(stream) -> set`, `unpark_many(stream, keys) -> int`.

Open batches (Mailchimp `/batches` submitted, results not yet recorded)
- `record_open_batch(batch_id, run_id=None)`, `close_batch(batch_id)`,
  `open_batches() -> {batch id: run id}`. A run starting with open batches left by a dead
  run cancels (or waits for) them before it writes, so they never run over newer writes.

Audit trail
- `audit(run_id, *, stream, action, source_key, source_id, email, object_kind, object_id,
  http_status, request_id, detail, attempts)`; `audit_many(run_id, [AuditEntry, ...])`.
  Actions: created, updated, archived, unchanged, rejected, failed, skipped, parked, deleted
  (a record deleted in Intacct whose deletion reached Mailchimp).
  An entry's `refs` keeps the ids the record refers to (its VENDORID / CUSTOMERID, the bill
  RECORDNOs a payment pays) as JSON; `AuditRow.referenced_ids()` reads them back.
- `summary(run_id) -> {object kind: {action: count}}` ("record" when no object kind);
  `rejected(run_id) -> list[AuditRow]` (rejected and failed); `audit_rows(run_id, actions=)`.
"""

from target_mailchimp.ledger.bulk import WriteRecord
from target_mailchimp.ledger.core import DEFAULT_LEDGER_URL, Ledger, utcnow
from target_mailchimp.ledger.engine import create_ledger_engine, display_url
from target_mailchimp.ledger.records import (
    ACTIONS,
    SUCCESS_ACTIONS,
    AuditEntry,
    AuditRow,
    LedgerError,
    LedgerLockedError,
    LedgerLockLostError,
    ObjectState,
    ParkedRecord,
    RunInfo,
    redact,
)
from target_mailchimp.ledger.scope import LedgerScope, list_scopes

__all__ = [
    "ACTIONS",
    "DEFAULT_LEDGER_URL",
    "SUCCESS_ACTIONS",
    "AuditEntry",
    "AuditRow",
    "Ledger",
    "LedgerError",
    "LedgerLockLostError",
    "LedgerLockedError",
    "LedgerScope",
    "ObjectState",
    "ParkedRecord",
    "RunInfo",
    "WriteRecord",
    "create_ledger_engine",
    "display_url",
    "list_scopes",
    "redact",
    "utcnow",
]
