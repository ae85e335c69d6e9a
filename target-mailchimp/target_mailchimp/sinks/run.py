"""One target run: its settings, the ledger, the Mailchimp client, the worker pool and run-wide
steps.

`RunSettings`: the run settings the sinks read (the mapping's own are `MappingSettings`).
`RunSettings.from_config(config)` checks every value and raises `ConfigurationError` naming
the setting, so a bad setting stops the run before any record is read.

`RunContext.open(config, logger, client_options)` takes the ledger's run lock (a second
concurrent run stops at once with a clear message), builds one `MailchimpClient` and a
thread pool of `max_concurrency` workers (the client's account gate caps what is in flight).
Every sink of the run shares it.

Before anything is written, `settle_open_batches()` recovers the Mailchimp batches a dead
run left open in the ledger: what a finished one wrote is recorded from its results (not sent
again), a pending one is cancelled (so it cannot run later over this run's newer writes).

Run-wide steps happen once per run, on first need:
- `ensure_merge_fields()`: one GET of the audience's merge fields, then the missing ones
  the mapping writes (COMPANY, ADDRESS..., and those of the `merge_fields` setting) created.
- `ensure_store()`: the e-commerce store made to exist with `list_id`, `store_name`,
  `store_currency`; `is_syncing` is true while the store's first backfill runs (the ledger
  has no "backfill" marker for the store yet) and set back to false when that run ends.

`call_all(fn, items, on_result)` runs calls in the pool and hands each result (or the
`MailchimpError`) to `on_result` in the calling thread. When Mailchimp stays unreachable
after the retries (or refuses the key), calls not started yet are cancelled, what finished
is recorded, and `MailchimpUnavailableError` / `ConfigurationError` is raised.

Dry run (`dry_run: true`): the ledger is a scratch copy (see `dryrun`), the client refuses
every write, and the writers record what they would do instead of calling Mailchimp.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar

from sqlalchemy.engine import make_url

from target_mailchimp.api import (
    BatchStatus,
    BatchTimeout,
    MailchimpClient,
    MailchimpConfigError,
    MailchimpError,
    NotFound,
)
from target_mailchimp.ledger import (
    DEFAULT_LEDGER_URL,
    Ledger,
    LedgerError,
    LedgerLockedError,
    LedgerScope,
    display_url,
    redact,
)
from target_mailchimp.ledger.records import PlannedOperation
from target_mailchimp.ledger.slots import PostgresAccountSlots
from target_mailchimp.mapping import MappingSettings, check_currency, required_merge_fields
from target_mailchimp.progress import WriteProgress
from target_mailchimp.sinks.dryrun import DryRunClient, ScratchLedger
from target_mailchimp.sinks.errors import (
    ConfigurationError,
    MailchimpUnavailableError,
    TargetError,
)
from target_mailchimp.sinks.recording import Outcome, Recorder, SourceRef, describe_error, is_fatal

BATCH_MODES = ("auto", "always", "never")
DEFAULT_BATCH_THRESHOLD = 2000
DEFAULT_STORE_NAME = "Sage Intacct"
DEFAULT_STORE_CURRENCY = "USD"


#: Days a record may wait for its vendor or bill before it is rejected (`max_park_days`).
DEFAULT_MAX_PARK_DAYS = 7


@dataclass(frozen=True)
class RunSettings:
    """What one target run does besides mapping (see the target's config schema)."""

    list_id: str
    store_id: str = "intacct"
    store_name: str = DEFAULT_STORE_NAME
    store_currency: str = DEFAULT_STORE_CURRENCY
    ledger_url: str = DEFAULT_LEDGER_URL
    full_refresh: bool = False
    dry_run: bool = False
    max_rejected_records: int | None = None
    batch_operations: str = "auto"
    batch_threshold: int = DEFAULT_BATCH_THRESHOLD
    batch_poll_interval: float = 5.0
    batch_timeout: float = 1800.0
    validate_records: bool = True
    intacct_company_id: str = ""
    intacct_entity_id: str = ""
    max_park_days: float = DEFAULT_MAX_PARK_DAYS

    @property
    def scope(self) -> LedgerScope:
        """This company's rows in the ledger (see `target_mailchimp.ledger.scope`)."""
        return LedgerScope(
            self.intacct_company_id, self.intacct_entity_id, self.list_id, self.store_id
        )

    def use_batches(self, count: int) -> bool:
        """Whether `count` writes of one kind go through /batches."""
        if count <= 0 or self.batch_operations == "never":
            return False
        return self.batch_operations == "always" or count > self.batch_threshold

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RunSettings:
        def get(name: str, default: Any) -> Any:
            value = config.get(name)
            return default if value is None else value

        list_id = config.get("list_id")
        if not isinstance(list_id, str) or not list_id.strip():
            raise ConfigurationError("setting 'list_id' (the Mailchimp audience id) is required")
        mode = get("batch_operations", "auto")
        if mode not in BATCH_MODES:
            raise ConfigurationError(
                f"setting 'batch_operations' must be one of {', '.join(BATCH_MODES)}; got {mode!r}"
            )
        threshold = get("batch_threshold", DEFAULT_BATCH_THRESHOLD)
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
            raise ConfigurationError(
                f"setting 'batch_threshold' must be a whole number of 0 or more; got {threshold!r}"
            )
        max_rejected = config.get("max_rejected_records")
        if max_rejected is not None and (
            isinstance(max_rejected, bool) or not isinstance(max_rejected, int) or max_rejected < 0
        ):
            raise ConfigurationError(
                "setting 'max_rejected_records' must be a whole number of 0 or more "
                f"(or unset for no limit); got {max_rejected!r}"
            )
        park_days = get("max_park_days", DEFAULT_MAX_PARK_DAYS)
        if (
            isinstance(park_days, bool)
            or not isinstance(park_days, int | float | Decimal)
            or park_days <= 0
        ):
            raise ConfigurationError(
                f"setting 'max_park_days' must be a positive number of days; got {park_days!r}"
            )
        currency, problem = check_currency(get("store_currency", DEFAULT_STORE_CURRENCY))
        if currency is None:
            raise ConfigurationError(f"setting 'store_currency' {problem}")
        name = get("store_name", DEFAULT_STORE_NAME)
        if not isinstance(name, str) or not name.strip():
            raise ConfigurationError("setting 'store_name' must be a non-empty text")
        for key in ("batch_poll_interval", "batch_timeout"):
            value = config.get(key)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int | float | Decimal)
                or value <= 0
            ):
                raise ConfigurationError(f"setting {key!r} must be a positive number of seconds")
        try:
            mapping = MappingSettings.from_config(config)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        scope_ids = {}
        for key in ("intacct_company_id", "intacct_entity_id"):
            value = get(key, "")
            if not isinstance(value, str) or len(value.strip()) > 255 or "/" in value:
                raise ConfigurationError(
                    f"setting {key!r} must be text of at most 255 characters without '/'"
                )
            scope_ids[key] = value.strip()
        return cls(
            list_id=list_id.strip(),
            store_id=mapping.store_id,
            store_name=name.strip(),
            store_currency=currency,
            ledger_url=str(get("ledger_url", DEFAULT_LEDGER_URL)),
            full_refresh=bool(get("full_refresh", False)),
            dry_run=bool(get("dry_run", False)),
            max_rejected_records=max_rejected,
            batch_operations=mode,
            batch_threshold=threshold,
            batch_poll_interval=float(get("batch_poll_interval", 5.0)),
            batch_timeout=float(get("batch_timeout", 1800.0)),
            validate_records=bool(get("validate_records", True)),
            **scope_ids,
            max_park_days=float(park_days),
        )


T = TypeVar("T")
R = TypeVar("R")
P = ParamSpec("P")

#: Ledger object kinds used for run-wide markers.
BACKFILL_KIND = "backfill"
#: The stream of the audit rows of writes recovered from a dead run's batch.
RECOVERED_STREAM = "mailchimp_batch"


@dataclass
class ParkedNote:
    """A record this run parked (audited as "parked" if still waiting at the end)."""

    ref: SourceRef
    reason: str
    object_kind: str
    object_id: str | None


@dataclass
class RunContext:
    """Everything one run shares (see module docstring)."""

    settings: RunSettings
    mapping: MappingSettings
    ledger: Ledger
    client: MailchimpClient
    run_id: str
    logger: logging.Logger
    recorder: Recorder
    pool: ThreadPoolExecutor
    scratch: ScratchLedger | None = None
    slots: PostgresAccountSlots | None = None
    parked_here: dict[tuple[str, str], ParkedNote] = field(default_factory=dict)
    finished: bool = False
    status: str | None = None
    _lock: threading.RLock = field(default_factory=threading.RLock)
    progress: WriteProgress | None = None
    _merge_fields_ready: bool = False
    _store_ready: bool = False
    _store_backfill: bool = False

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def open(
        cls,
        config: Mapping[str, Any],
        logger: logging.Logger,
        client_options: Mapping[str, Any] | None = None,
    ) -> RunContext:
        settings = RunSettings.from_config(config)
        try:
            mapping = MappingSettings.from_config(config)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        scratch: ScratchLedger | None = None
        try:
            if settings.dry_run:
                scratch = ScratchLedger.copy_of(settings.ledger_url, settings.scope)
                ledger = Ledger(scratch.url, full_refresh=settings.full_refresh)
            else:
                ledger = Ledger(
                    settings.ledger_url, full_refresh=settings.full_refresh, scope=settings.scope
                )
        except LedgerError:
            raise
        except Exception as exc:  # a bad URL, a missing driver, an unreachable database
            text = str(exc).replace(settings.ledger_url, "<ledger_url>")
            raise ConfigurationError(
                f"the ledger at ledger_url cannot be opened: {type(exc).__name__}: {redact(text)}"
            ) from None
        try:
            run_id = ledger.lock.start_run()
        except LedgerLockedError:
            ledger.close()
            if scratch is not None:
                scratch.remove()
            raise
        options = dict(client_options or {})
        slots: PostgresAccountSlots | None = None
        if not settings.dry_run and make_url(settings.ledger_url).get_backend_name() == (
            "postgresql"
        ):
            # Runs sharing this ledger database share the Mailchimp account's connections.
            slots = PostgresAccountSlots(settings.ledger_url)
            options.setdefault("shared_slots", slots)
        try:
            client = MailchimpClient.from_config(config, **options)
        except (MailchimpConfigError, ValueError) as exc:
            ledger.lock.finish_run(run_id, "failed")
            ledger.close()
            if slots is not None:
                slots.close()
            raise ConfigurationError(str(exc)) from None
        if settings.dry_run:
            client = DryRunClient(client)
        pool = ThreadPoolExecutor(
            max_workers=client.max_concurrency, thread_name_prefix="target-mailchimp"
        )
        ctx = cls(
            settings=settings,
            mapping=mapping,
            ledger=ledger,
            client=client,
            run_id=run_id,
            logger=logger,
            recorder=Recorder(ledger, run_id),
            pool=pool,
            scratch=scratch,
            slots=slots,
        )
        ctx.progress = WriteProgress(logger, client).start()  # a line every few seconds
        ctx.recorder.on_audit = ctx.progress.audited
        logger.info(
            "Run %s started%s: audience %s, store %s, ledger %s",
            run_id,
            " (DRY RUN: nothing is written to Mailchimp)" if settings.dry_run else "",
            settings.list_id,
            settings.store_id,
            ledger.url
            if scratch is None
            else f"scratch copy of {display_url(settings.ledger_url)}",
        )
        if not settings.dry_run:
            try:
                ctx.settle_open_batches()
            except BaseException:
                ctx.finish("failed")
                ctx.close()
                raise
        return ctx

    def settle_open_batches(self) -> None:
        """Recover the Mailchimp batches an earlier run submitted and never saw finish.

        That run died (or gave up waiting) before recording their results, so the ledger
        has no hash for their objects and the records behind them come again from the tap
        (its state never went past them). Before this run writes anything:

        - a batch still pending (not started) is cancelled: it never runs, so it cannot put
          old data back over this run's newer writes, and this run writes its objects;
        - a batch that started is waited for (cancelling it would drop the results of what
          it already did), up to `batch_timeout` (then cancelled);
        - a finished batch's results are read: each operation that succeeded is recorded in
          the ledger with the hash of the payload it wrote (kept with the batch at its
          submission) and audited, so the records behind it are found unchanged and are not
          sent again; the others are written by this run;
        - a batch Mailchimp no longer knows (404) is forgotten with a warning: its records
          are planned again from the ledger.
        """
        for batch_id, run_id in sorted(self.ledger.writes.open_batches().items()):
            if run_id == self.run_id:
                continue
            plan = self.ledger.writes.batch_plan(batch_id)
            try:
                status = self.call(self.client.get_batch, batch_id)
                if not status.finished and status.status != "pending":
                    # Not through `call`: a batch that outlasts batch_timeout is cancelled
                    # below, it does not stop the run.
                    with contextlib.suppress(BatchTimeout):
                        status = self.client.poll_batch(
                            batch_id,
                            timeout=self.settings.batch_timeout,
                            initial_interval=self.settings.batch_poll_interval,
                            max_interval=max(60.0, self.settings.batch_poll_interval),
                            sleep=time.sleep,
                            clock=time.monotonic,
                        )
                if status.finished:
                    self._recover_batch(status, run_id, plan)
                else:
                    self.call(self.client.cancel_batch, batch_id)
                    self.logger.warning(
                        "Batch %s of run %s was still %s (%d/%d operations done): cancelled, "
                        "so it cannot run over newer writes; this run writes its records again",
                        batch_id,
                        run_id,
                        status.status,
                        status.finished_operations,
                        status.total_operations,
                    )
            except NotFound:
                self.logger.warning(
                    "Batch %s of run %s is no longer known to Mailchimp (404: it lost the "
                    "batch, e.g. after a restart): its %d operations are planned again from "
                    "the ledger as their records come again",
                    batch_id,
                    run_id,
                    len(plan),
                )
            self.ledger.writes.close_batch(batch_id)

    def _recover_batch(
        self, status: BatchStatus, run_id: str, plan: list[PlannedOperation]
    ) -> None:
        """Record what a finished batch of a dead run wrote (see `settle_open_batches`)."""
        results = {r.operation_id: r for r in self.call(self.client.fetch_batch_results, status)}
        ref = SourceRef(RECOVERED_STREAM, None, status.id)
        recovered = 0
        for op in plan:
            result = results.get(op.object_id)
            if result is None or not result.ok:
                continue
            outcome = Outcome(
                op.action,
                result.status_code,
                f"batch {status.id}",
                1,
                f"written by batch {status.id} of run {run_id}, which ended before it "
                "recorded the result",
            )
            self.recorder.write(op.kind, op.object_id, op.payload_hash, outcome)
            self.recorder.audit([ref], outcome, object_kind=op.kind, object_id=op.object_id)
            recovered += 1
        self.recorder.flush()
        self.logger.warning(
            "Batch %s of run %s had finished: %d of its %d operations succeeded and are "
            "recorded from its results (not sent again); this run writes the others",
            status.id,
            run_id,
            recovered,
            status.total_operations,
        )

    @property
    def dry_run(self) -> bool:
        return self.settings.dry_run

    def finish(self, status: str) -> None:
        """Flush, record the run's end, release the lock, close the client (idempotent)."""
        if self.finished:
            return
        self.finished = True
        self.status = status
        if self.progress is not None:
            self.progress.stop()  # the summary follows: no progress line after it
        try:
            self.release_store()
            self.recorder.flush()
        finally:
            try:
                self.ledger.lock.finish_run(self.run_id, status)
            finally:
                self.pool.shutdown(wait=True, cancel_futures=True)
                self.client.close()
                if self.slots is not None:
                    self.slots.close()

    def close(self) -> None:
        """Dispose of the ledger (after the summary was read) and any scratch copy."""
        if self.progress is not None:
            self.progress.stop()
        self.ledger.close()
        if self.scratch is not None:
            self.scratch.remove()

    # ------------------------------------------------------------------ parallel calls

    def call_all(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        on_result: Callable[[T, R | Exception], None],
    ) -> None:
        """Run `fn` over `items` in the pool (see module docstring)."""
        futures: dict[Future[R], T] = {self.pool.submit(fn, item): item for item in items}
        fatal: MailchimpError | None = None
        try:
            for future in as_completed(futures):
                if future.cancelled():
                    continue
                item = futures[future]
                try:
                    result: R | Exception = future.result()
                except (MailchimpError, ValueError) as err:
                    # ValueError: the client refused the input itself (nothing was sent).
                    result = err
                    if fatal is None and isinstance(err, MailchimpError) and is_fatal(err):
                        fatal = err
                        for other in futures:
                            other.cancel()
                on_result(item, result)
        finally:
            for other in futures:
                other.cancel()
            self.recorder.flush()
        if fatal is not None:
            raise self.fatal_error(fatal)

    def fatal_error(self, err: MailchimpError) -> TargetError:
        """The run-stopping error for a fatal Mailchimp failure."""
        if err.transient:
            return MailchimpUnavailableError(
                f"Mailchimp could not be reached or kept failing after every retry "
                f"({describe_error(err)}; {err.method} {err.path}, {err.attempts} attempts). "
                "Records written so far are in the ledger; nothing after them was "
                "acknowledged, so the next run continues from the last state. Check "
                "Mailchimp's status and the network, then run again."
            )
        return ConfigurationError(
            f"Mailchimp refused the request ({describe_error(err)}; {err.method} {err.path}). "
            "Check api_key (and its data center suffix), api_url and the account's "
            "permissions."
        )

    def call(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """One call in the calling thread; fatal failures become the run-stopping error."""
        try:
            return fn(*args, **kwargs)
        except MailchimpError as err:
            if is_fatal(err):
                raise self.fatal_error(err) from None
            raise

    # ------------------------------------------------------------------ run-wide steps

    def ensure_merge_fields(self, stream: str) -> None:
        """Create the merge fields the member payloads use that the audience lacks."""
        with self._lock:
            if self._merge_fields_ready:
                return
            list_id = self.settings.list_id
            try:
                fields = self.call(self.client.get_merge_fields, list_id)
            except NotFound:
                raise ConfigurationError(
                    f"Mailchimp has no audience {list_id!r} (GET /lists/{list_id}/merge-fields "
                    "answered 404); set list_id to the id of an audience of this account"
                ) from None
            have = {str(f.get("tag", "")).upper() for f in fields}
            ref = SourceRef(stream, None)
            for tag, name, kind in required_merge_fields(self.mapping):
                if tag in have:
                    continue
                if self.dry_run:
                    outcome = Outcome("created", detail=f"would create merge field {tag} ({kind})")
                else:
                    try:
                        result = self.call(
                            self.client.create_merge_field, list_id, tag=tag, name=name, type=kind
                        )
                    except MailchimpError as err:
                        raise ConfigurationError(
                            f"merge field {tag} ({kind}) could not be created in audience "
                            f"{list_id}: {describe_error(err)}. Create it in Mailchimp by hand "
                            "or remove it from merge_fields."
                        ) from None
                    outcome = Outcome.from_result(result.action, result)
                self.recorder.audit([ref], outcome, object_kind="merge_field", object_id=tag)
            self.recorder.flush()
            self._merge_fields_ready = True

    def ensure_store(self, stream: str) -> None:
        """Make the e-commerce store exist (see module docstring)."""
        with self._lock:
            if self._store_ready:
                return
            s = self.settings
            backfill = self.ledger.writes.object_state(BACKFILL_KIND, s.store_id) is None
            body = {
                "id": s.store_id,
                "list_id": s.list_id,
                "name": s.store_name,
                "currency_code": s.store_currency,
                "is_syncing": backfill,
            }
            ref = SourceRef(stream, None)
            if self.dry_run:
                existing = self.call(self.client.get_store, s.store_id)
                outcome = Outcome(
                    "created" if existing is None else "unchanged",
                    detail=None if existing is not None else "would create the store",
                )
            else:
                try:
                    result = self.call(self.client.ensure_store, body)
                except (MailchimpConfigError, MailchimpError) as err:
                    text = describe_error(err) if isinstance(err, MailchimpError) else str(err)
                    raise ConfigurationError(
                        f"the e-commerce store {s.store_id!r} could not be made ready: {text}"
                    ) from None
                outcome = Outcome.from_result(result.action, result)
            if outcome.action != "unchanged":
                self.recorder.audit([ref], outcome, object_kind="store", object_id=s.store_id)
                self.recorder.flush()
            if backfill:
                self.logger.info(
                    "Store %s: first backfill, is_syncing stays true (automations paused) "
                    "until this run ends",
                    s.store_id,
                )
            self._store_backfill = backfill
            self._store_ready = True

    def end_backfill(self) -> None:
        """After a successful run that started the store's first backfill: is_syncing off."""
        if not (self._store_ready and self._store_backfill) or self.dry_run:
            return
        store_id = self.settings.store_id
        self.call(self.client.set_store_syncing, store_id, False)
        self.ledger.writes.record_write(
            BACKFILL_KIND, store_id, payload_hash="done", action="updated", run_id=self.run_id
        )
        self._store_backfill = False
        self.logger.info("Store %s: backfill finished, is_syncing set to false", store_id)

    def release_store(self) -> None:
        """A run that ends without finishing the store's first backfill: is_syncing off.

        Its automations stay paused only while a run is writing; the backfill is not marked
        done, so the next run sets is_syncing again while it writes. A failure to reach
        Mailchimp here is logged, never raised over the run's own outcome.
        """
        if not (self._store_ready and self._store_backfill) or self.dry_run:
            return
        self._store_backfill = False
        store_id = self.settings.store_id
        try:
            self.client.set_store_syncing(store_id, False)
        except Exception as exc:  # the run's own error matters more
            self.logger.warning(
                "Store %s: is_syncing could not be set back to false (%s); the next run "
                "sets it when it ends",
                store_id,
                type(exc).__name__,
            )
            return
        self.logger.info(
            "Store %s: the run ended before the first backfill finished; is_syncing set back "
            "to false (the next run continues the backfill)",
            store_id,
        )

    # ------------------------------------------------------------------ parking

    def note_parked(self, note: ParkedNote) -> None:
        if note.ref.source_key is not None:
            self.parked_here[(note.ref.stream, note.ref.source_key)] = note

    def note_done(self, stream: str, source_key: str | None) -> None:
        if source_key is not None:
            self.parked_here.pop((stream, source_key), None)

    def audit_still_parked(self) -> None:
        """Audit rows for this run's records that still wait for their dependency."""
        waiting = {(p.stream, p.source_key) for p in self.ledger.sources.parked()}
        for key, note in sorted(self.parked_here.items()):
            if key in waiting:
                self.recorder.audit(
                    [note.ref],
                    Outcome("parked", detail=note.reason),
                    object_kind=note.object_kind,
                    object_id=note.object_id,
                )
        self.parked_here.clear()
        self.recorder.flush()
