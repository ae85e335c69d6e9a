"""The target: configuration, sink registry, drain order, run lifecycle and exit codes.

How a run goes:

- The first stream starts the run (`RunContext`): the ledger's run lock is taken (a second
  run against the same ledger stops at once), one Mailchimp client and one worker pool are
  built. Every sink shares them.
- Sinks buffer records and are drained one at a time (`max_parallelism = 1`), in stream
  order, each with up to `max_concurrency` Mailchimp calls in flight. When a sink fills up,
  the sinks it depends on drain first (`sink_draining`): contacts before bills before payments,
  so a bill's vendor is written before the bill.
- STATE: the SDK emits the tap's latest STATE, unchanged, only from `drain_all`, after every
  sink has drained; each drain finishes its writes and ledger entries before it returns.
  So no STATE ever gets ahead of what is in Mailchimp or recorded in the ledger (rejected,
  skipped or parked). Nothing of the target's own goes into state. Every sink drains (and
  STATE follows) when a sink fills up, and at least every `state_interval_seconds` (default
  30; checked at each record and each STATE), so a killed run resumes close to where it was.
  A state equal to the last one emitted is not emitted again. A STATE that comes before any
  SCHEMA or RECORD is the state the tap resumed from: with a ledger that holds no earlier run
  (reset or emptied) the run summary says so (`ledger_reset`) instead of calling Mailchimp
  unchanged.
- End of input: the last drain (and STATE), then parked records whose vendor or bill arrived
  are written, the store's first backfill ends (`is_syncing` false), the run is recorded and
  its summary printed. Past `max_rejected_records` the run then fails (after the STATE).
- Any failure (Mailchimp unreachable after the retries, the ledger locked, a bad setting,
  an unknown stream) marks the run failed in the ledger, prints the summary and exits
  non-zero with one clear message (`invoke`), never a traceback for these.

The SDK is used through its public surface: the reader hands each RECORD, STATE and BATCH
message to `on_record` / `on_state` / `on_batch` with the SDK's handling of it
(`reader.MessageHooks`, which also reports a failed input to `on_failure`); each sink says
when it starts (`sink_started`) and when its drain starts (`sink_draining`, where the sinks it
depends on drain first through the SDK's `drain_one`); the settings are checked by
`check_config` after the SDK read them. No method the SDK marks final is overridden.
One SDK method has no public counterpart and is overridden: `_write_state_message`, the only
way a target decides what becomes of a STATE the SDK emits (not passed on twice, nor in a dry
run).
`tests/target_mailchimp/test_sdk_surface.py` fails if its signature changes in the SDK, or if
any other private SDK name is used in this package.
"""

from __future__ import annotations

import copy
import sys
import time
from typing import IO, TYPE_CHECKING, Any, ClassVar

from singer_sdk import Target
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from typing_extensions import override

from intacct_mailchimp_common import logsafe
from intacct_mailchimp_common.cli import Program
from intacct_mailchimp_common.strict import plugin_settings_problems
from target_mailchimp.api import MailchimpError
from target_mailchimp.ledger import DEFAULT_LEDGER_URL, LedgerError
from target_mailchimp.mapping import DEFAULT_FINANCIAL_STATUS_MAP
from target_mailchimp.mapping.settings import (
    INACTIVE_MODES,
    ON_DELETE_MODES,
    STATUS_IF_NEW_VALUES,
)
from target_mailchimp.reader import BadInputLineError, Handle, IncomingState, Reader
from target_mailchimp.sinks import (
    BatchMessageError,
    ConfigurationError,
    RunContext,
    RunSettings,
    TargetError,
    TooManyRejectedError,
    retry_parked,
    sink_class_for,
)
from target_mailchimp.sinks.deletions import DELETED_AT
from target_mailchimp.sinks.run import BATCH_MODES, DEFAULT_BATCH_THRESHOLD
from target_mailchimp.sinks.sink import CARRIED_DELETED_AT, MailchimpSink
from target_mailchimp.summary import (
    LEDGER_RESET_MESSAGE,
    RunReport,
    build_report,
    distinct_records,
    render,
)

if TYPE_CHECKING:
    import click
    from singer_sdk.sinks import Sink

#: Default of `state_interval_seconds`.
DEFAULT_STATE_INTERVAL = 30

#: Mailchimp's order financial statuses (those its notifications know).
FINANCIAL_STATUSES = ("paid", "pending", "refunded", "cancelled")

#: Errors that end a run with one clear line instead of a traceback.
CLEAN_ERRORS = (TargetError, LedgerError, MailchimpError)
#: The command line: any other failure also ends with one line (see the cli module).
CLI = Program(
    "target-mailchimp",
    "target_mailchimp",
    debug_env="TARGET_MAILCHIMP_DEBUG",
    loglevel_env="TARGET_MAILCHIMP_LOGLEVEL",
)


class TargetMailchimp(Target):
    """Writes Intacct customers, vendors, bills and payments to Mailchimp."""

    name = "target-mailchimp"
    package_name = "target-mailchimp-intacct"
    message_reader_class = Reader

    #: Extra keyword arguments for the run's MailchimpClient (e.g. a RetryPolicy in tests).
    client_options: ClassVar[dict[str, Any]] = {}

    config_jsonschema = th.PropertiesList(
        th.Property(
            "api_key",
            th.StringType,
            required=True,
            secret=True,
            title="API key",
            description="Mailchimp API key; its suffix after the last '-' names the data center.",
        ),
        th.Property(
            "api_url",
            th.StringType,
            title="API base URL",
            description=(
                "Override of the base URL including /3.0, e.g. http://127.0.0.1:8080/3.0. "
                "Default: https://<dc>.api.mailchimp.com/3.0 from the key."
            ),
        ),
        th.Property(
            "list_id",
            th.StringType,
            required=True,
            title="Audience ID",
            description="The Mailchimp audience (list) that members are written to.",
        ),
        th.Property(
            "max_concurrency",
            th.IntegerType(minimum=1, maximum=10),
            default=10,
            title="Max concurrency",
            description=(
                "Requests in flight at once (Mailchimp allows 10 per account; lower it when "
                "other integrations write to the same account at the same time)."
            ),
        ),
        th.Property(
            "request_timeout",
            th.NumberType(exclusive_minimum=0),
            default=120,
            title="Request timeout (seconds)",
            description="Seconds to wait for one Mailchimp response.",
        ),
        th.Property(
            "max_retries",
            th.IntegerType(minimum=0),
            default=5,
            title="Max retries",
            description="Retries of a request after a transient fault, with exponential backoff.",
        ),
        th.Property(
            "status_if_new",
            th.StringType,
            allowed_values=list(STATUS_IF_NEW_VALUES),
            title="Status of new members",
            description=(
                "Must be set (no default: consent is the operator's decision). Status given "
                "to addresses new to the audience: 'subscribed' (marketing email, only with "
                "their consent), 'transactional' (order and account email only), 'pending' "
                "(double opt-in: Mailchimp asks them to confirm first) or 'unsubscribed'. "
                "Existing members keep their status: the target never sends one, so it never "
                "re-subscribes anyone."
            ),
        ),
        th.Property(
            "vendor_status_if_new",
            th.StringType,
            allowed_values=list(STATUS_IF_NEW_VALUES),
            title="Status of new members from vendors",
            description=(
                "status_if_new for addresses from vendors (default: status_if_new), e.g. "
                "'transactional' while customers are 'subscribed'. An address that is also a "
                "customer's gets status_if_new."
            ),
        ),
        th.Property(
            "merge_fields",
            th.ObjectType(additional_properties=th.StringType),
            title="Extra merge fields",
            description=(
                'More merge fields from Intacct, {"MERGE_TAG": "DOTTED.INTACCT.PATH"}, e.g. '
                '{"PHONE2": "DISPLAYCONTACT.PHONE2"}; written as text, created in the audience '
                "when missing."
            ),
        ),
        th.Property(
            "customer_tag",
            th.StringType,
            default="Intacct customer",
            title="Customer tag",
            description="Tag added to members that come from Intacct customers.",
        ),
        th.Property(
            "vendor_tag",
            th.StringType,
            default="Intacct vendor",
            title="Vendor tag",
            description="Tag added to members that come from Intacct vendors.",
        ),
        th.Property(
            "inactive_records",
            th.StringType,
            default="ignore",
            allowed_values=list(INACTIVE_MODES),
            title="Inactive records",
            description=(
                "Customers/vendors with STATUS inactive: 'ignore' (nothing written, audited as "
                "skipped), 'tag' (written and tagged with inactive_tag) or 'archive' (the "
                "member is archived; it comes back with the status it had once a record of "
                "its address is active again)."
            ),
        ),
        th.Property(
            "inactive_tag",
            th.StringType,
            default="Intacct inactive",
            title="Inactive tag",
            description="Tag of members whose records are all inactive (inactive_records: tag).",
        ),
        th.Property(
            "on_delete",
            th.StringType,
            default="archive",
            allowed_values=list(ON_DELETE_MODES),
            title="On delete",
            description=(
                "A customer or vendor deleted in Intacct: 'archive' its member (it comes "
                "back with the status it had if the address returns), 'tag' it (its own tag "
                "removed, deleted_tag added) or 'ignore'. A member another live record "
                "shares keeps its status; only the deleted record's tag is removed."
            ),
        ),
        th.Property(
            "deleted_tag",
            th.StringType,
            default="Intacct deleted",
            title="Deleted tag",
            description="Tag of members whose records were deleted in Intacct (on_delete: tag).",
        ),
        th.Property(
            "store_id",
            th.StringType,
            default="intacct",
            title="Store ID",
            description="The Mailchimp e-commerce store of customers, products and orders.",
        ),
        th.Property(
            "intacct_company_id",
            th.StringType,
            title="Intacct company ID",
            description=(
                "The Intacct company whose records this run writes: keeps its rows apart in a "
                "ledger shared by several companies, and lets only one of its runs write at a "
                "time. Set it to the tap's company_id."
            ),
        ),
        th.Property(
            "intacct_entity_id",
            th.StringType,
            title="Intacct entity ID",
            description="The entity of a multi-entity company (the tap's entity_id), if any.",
        ),
        th.Property(
            "store_name",
            th.StringType,
            default="Sage Intacct",
            title="Store name",
            description="Name of the store when the target creates it.",
        ),
        th.Property(
            "store_currency",
            th.StringType,
            default="USD",
            title="Store currency",
            description="ISO 4217 currency of the store when the target creates it.",
        ),
        th.Property(
            "financial_status_map",
            th.ObjectType(
                additional_properties=th.StringType(allowed_values=list(FINANCIAL_STATUSES))
            ),
            title="Financial status map",
            description=(
                "Intacct bill STATE -> order financial_status, merged over the default "
                f"{dict(DEFAULT_FINANCIAL_STATUS_MAP)}; other states are 'pending'. Payments "
                "then make an order 'paid' once they cover its total."
            ),
        ),
        th.Property(
            "ledger_url",
            th.StringType,
            default=DEFAULT_LEDGER_URL,
            secret=True,
            title="Ledger URL",
            description=(
                "SQLAlchemy URL of the ledger (write dedupe and audit trail): a SQLite file by "
                "default (relative to the working directory), or PostgreSQL "
                "(postgresql+psycopg://user:password@host/db) to share it between machines."
            ),
        ),
        th.Property(
            "full_refresh",
            th.BooleanType,
            default=False,
            title="Full refresh",
            description="Write every record again, ignoring the ledger's record of past writes.",
        ),
        th.Property(
            "dry_run",
            th.BooleanType,
            default=False,
            title="Dry run",
            description=(
                "Map every record and compare it with the ledger, write nothing to Mailchimp "
                "(and nothing to the ledger), and report what a real run would do."
            ),
        ),
        th.Property(
            "max_rejected_records",
            th.IntegerType(minimum=0),
            title="Max rejected records",
            description=(
                "Fail the run (after its state is emitted) when more records than this are "
                "rejected. Default: no limit."
            ),
        ),
        th.Property(
            "max_park_days",
            th.NumberType,
            default=7,
            title="Max park days",
            description=(
                "Days a bill may wait for its vendor (or a payment for its bill) before it is "
                "rejected with its reason into the audit trail. A bill rejected or parked "
                "because of its vendor is retried when that vendor arrives or changes."
            ),
        ),
        th.Property(
            "batch_operations",
            th.StringType,
            default="auto",
            allowed_values=list(BATCH_MODES),
            title="Batch operations",
            description=(
                "Send e-commerce customers and orders through Mailchimp's /batches: 'auto' "
                "when one drain has more than batch_threshold of one kind (large backfills), "
                "'always', or 'never' (one call per object)."
            ),
        ),
        th.Property(
            "batch_threshold",
            th.IntegerType(minimum=0),
            default=DEFAULT_BATCH_THRESHOLD,
            title="Batch threshold",
            description=(
                "With batch_operations 'auto': more customers or orders than this in one drain "
                "go through /batches."
            ),
        ),
        th.Property(
            "batch_poll_interval",
            th.NumberType(exclusive_minimum=0),
            default=5,
            title="Batch poll interval (seconds)",
            description=(
                "Longest wait between polls of a batch. Polls start a quarter of a second after "
                "submitting and follow the progress Mailchimp reports, so a finished batch is "
                "read within about a second."
            ),
        ),
        th.Property(
            "batch_timeout",
            th.NumberType(exclusive_minimum=0),
            default=1800,
            title="Batch timeout (seconds)",
            description="How long to wait for one batch before the run fails.",
        ),
        th.Property(
            "state_interval_seconds",
            th.NumberType(exclusive_minimum=0),
            default=DEFAULT_STATE_INTERVAL,
            title="State interval (seconds)",
            description=(
                "Write every buffered record and emit the tap's state of what is written at "
                "least this often (and after each drained batch), so a killed run resumes "
                "close to where it was."
            ),
        ),
    ).to_dict()

    def __init__(
        self,
        *,
        config: Any = None,
        parse_env_config: bool = False,
        validate_config: bool = True,
        setup_mapper: bool = True,
        message_reader: Any = None,
    ) -> None:
        logsafe.install()  # every log line: secrets masked, control characters escaped
        # The SDK reads the config (and fills in defaults); `check_config` then refuses a bad
        # one, strict checks first (the SDK only logs what it finds here).
        super().__init__(
            config=config,
            parse_env_config=parse_env_config,
            validate_config=False,
            setup_mapper=setup_mapper,
            message_reader=message_reader,
        )
        if validate_config:
            self.check_config()
        if hasattr(self.message_reader, "hooks"):
            self.message_reader.hooks = self
        # Sinks drain one after the other (dependencies first); concurrency is inside a sink.
        self.max_parallelism = 1
        interval = self.config.get("state_interval_seconds") or DEFAULT_STATE_INTERVAL
        #: Every sink drains (and STATE follows) once records waited this long.
        self.state_interval_seconds = float(interval)
        self.last_full_drain = time.monotonic()
        #: Every sink started (`sink_started`), also those replaced by a new schema.
        self.sinks_added: list[Sink] = []
        self._sink_drains = 0
        self._state_emitted: dict[str, Any] | None = None
        self._run: RunContext | None = None
        self.report: RunReport | None = None
        self._dry_run_state_noted = False
        if validate_config:
            RunSettings.from_config(self.config)  # a bad setting stops before any input

    @classmethod
    def get_singer_command(cls) -> click.Command:
        """The SDK's command, ending any failed run with one line and exit code 1 (see cli)."""
        command = super().get_singer_command()
        command.__class__ = CLI.command
        return command

    def check_config(self) -> None:
        """Strict settings first (unknown keys, ranges: `strict`), then the config schema's
        own checks (required settings), as the SDK words them."""
        schema, problems = plugin_settings_problems(self)
        if problems:
            raise ConfigurationError("; ".join(problems))
        errors = [
            error.message
            + (f" in config[{']['.join(repr(p) for p in error.path)}]" if error.path else "")
            for error in th.DEFAULT_JSONSCHEMA_VALIDATOR(schema).iter_errors(dict(self.config))
        ]
        if errors:
            raise ConfigValidationError("Config validation failed", errors=errors, schema=schema)

    # ------------------------------------------------------------------ sinks

    @property
    def run_context(self) -> RunContext:
        """This run's ledger, client and pool (opened on first use)."""
        if self._run is None:
            self._run = RunContext.open(self.config, self.logger, self.client_options)
        return self._run

    def get_sink_class(self, stream_name: str) -> type[Sink]:
        return sink_class_for(stream_name)

    def sink_started(self, sink: Sink) -> None:
        """Told by each sink as it starts (`MailchimpSink.setup`)."""
        self.sinks_added.append(sink)

    def sink_draining(self, sink: Sink) -> None:
        """Told by each sink as its drain starts (`MailchimpSink.process_batch`): the sinks it
        depends on (lower rank) that hold records drain first, through the SDK's `drain_one`."""
        self._sink_drains += 1
        rank = _rank(sink)
        for other in self.sinks_added:
            if other is not sink and _rank(other) < rank and other.current_size:
                self.drain_one(other)

    def drain_everything(self) -> None:
        """Drain every sink (the SDK's `drain_all`: STATE follows) and restart the clock of
        `state_interval_seconds`."""
        self.drain_all()
        self.last_full_drain = time.monotonic()

    def drain_when_due(self) -> None:
        """Drain every sink once `state_interval_seconds` passed since the last full drain."""
        if time.monotonic() - self.last_full_drain > self.state_interval_seconds:
            self.drain_everything()

    def on_record(self, message: dict[str, Any], handle: Handle) -> None:
        """A record; when it filled its sink (which drained), every sink drains and STATE
        follows, so the state of what is written moves after each drained batch."""
        record = message.get("record")
        if isinstance(record, dict) and DELETED_AT in record:
            # Past the SDK, which drops every _sdc_ property (see `sinks.sink`).
            record[CARRIED_DELETED_AT] = record.pop(DELETED_AT)
        drains = self._sink_drains
        handle(message)
        if self._sink_drains != drains:
            # A sink filled up and drained: the others drain too and STATE follows (after a
            # drain the SDK started itself, this finds every sink empty and the state sent).
            self.drain_everything()
        else:
            self.drain_when_due()

    def on_state(self, message: dict[str, Any], handle: Handle) -> None:
        """A STATE; once `state_interval_seconds` passed, every sink drains and it is emitted
        (also when no record came since: a tap reading pages with nothing new)."""
        handle(message)
        self.drain_when_due()

    @override
    def _write_state_message(self, state: dict[str, Any]) -> None:
        """Pass the tap's STATE on, except in a dry run (the one SDK override, see the module
        docstring: `drain_all` emits the latest STATE through it, and no public hook sees it).

        A dry run writes nothing, so its bookmarks must not move: Meltano would store them
        and the next real run would start after records that never reached Mailchimp.
        """
        if state == self._state_emitted:
            return  # emitted already (a periodic drain with no new state)
        self._state_emitted = copy.deepcopy(state)
        if self.config.get("dry_run"):
            if not self._dry_run_state_noted:
                self.logger.info("Dry run: the tap's STATE is not passed on (bookmarks stay put)")
                self._dry_run_state_noted = True
            return
        super()._write_state_message(state)

    def on_batch(self, message_dict: dict[str, Any], handle: Handle) -> None:
        """A BATCH message: its files (the SDK's JSONL, plain or gzip) are read and written.

        Every buffered record is drained first, so the batch's records follow them as they
        would as RECORD lines. Another format, or files that cannot be read, stop the run
        with one line naming the stream.
        """
        stream = message_dict.get("stream")
        encoding = message_dict.get("encoding")
        manifest = message_dict.get("manifest")
        fmt = encoding.get("format") if isinstance(encoding, dict) else None
        compression = encoding.get("compression") if isinstance(encoding, dict) else None
        if not isinstance(stream, str) or not isinstance(manifest, list):
            raise BatchMessageError(
                "a BATCH message without its stream or manifest (a list of files) was read; "
                "the tap's output is not Singer's BATCH extension"
            )
        if fmt != "jsonl" or compression not in (None, "none", "gzip"):
            raise BatchMessageError(
                f"the BATCH message of stream {stream!r} holds {fmt!r} files"
                f"{f' ({compression})' if compression else ''}; target-mailchimp reads the "
                "SDK's JSONL batch files, plain or gzip. Set the tap's batch_config encoding "
                "to jsonl, or turn BATCH messages off in the tap"
            )
        self.drain_everything()
        try:
            handle(message_dict)
        except CLEAN_ERRORS:
            raise
        except Exception as exc:
            raise BatchMessageError(
                f"the files of the BATCH message of stream {stream!r} could not be read "
                f"({type(exc).__name__}); check that the tap's batch files are where its "
                "manifest says and are the SDK's JSONL"
            ) from None
        self.drain_when_due()

    # ------------------------------------------------------------------ lifecycle

    def on_failure(self, exc: BaseException) -> None:
        """Reading or handling the input failed (told by the reader): the run is recorded as
        failed. After a bad input line, what came before it is written and its state emitted
        first; nothing after it."""
        if isinstance(exc, BadInputLineError):
            try:
                self.drain_everything()
            except Exception:  # the bad line is the error to report
                self.logger.warning("Records before the bad input line could not be written")
        self._fail(exc)

    def process_endofpipe(self) -> None:
        """Drain everything (STATE follows), retry parked records, end and report the run."""
        try:
            super().process_endofpipe()
            ctx = self.run_context
            retry_parked(ctx)
            ctx.end_backfill()
            ctx.recorder.flush()
        except BaseException as exc:
            self._fail(exc)
            raise
        limit = ctx.settings.max_rejected_records
        rejected = distinct_records(ctx.ledger.audit.rejected(ctx.run_id), "rejected")
        over_limit = limit is not None and rejected > limit
        report = self._finish("failed" if over_limit else "succeeded")
        if over_limit:
            raise TooManyRejectedError(
                f"{report.rejected_records} records were rejected in run {ctx.run_id}, more "
                f"than max_rejected_records ({limit}). Every other record was written and the "
                "state was emitted; the rejected ones and their reasons are listed above and "
                "in the ledger's audit trail."
            )

    def ledger_reset(self) -> bool:
        """True when the tap resumed from a state (see `reader.IncomingState`) while the
        ledger holds no earlier run: it was reset or emptied, so it knows nothing of what
        the runs before the tap's bookmarks wrote to Mailchimp."""
        incoming = getattr(self.message_reader, "incoming_state", None)
        if not isinstance(incoming, IncomingState) or not incoming.resumed:
            return False
        ctx = self.run_context
        return not any(run.run_id != ctx.run_id for run in ctx.ledger.lock.runs(last_n=2))

    def _finish(self, status: str) -> RunReport:
        ctx = self.run_context
        try:
            ctx.finish(status)
            reset = self.ledger_reset()
            if reset:
                self.logger.warning("Run %s: %s", ctx.run_id, LEDGER_RESET_MESSAGE)
                ctx.ledger.lock.note_run(ctx.run_id, f"ledger reset: {LEDGER_RESET_MESSAGE}")
            report = build_report(
                ctx.ledger,
                ctx.run_id,
                status=status,
                dry_run=ctx.dry_run,
                stats=ctx.client.stats,
                ledger_reset=reset,
            )
            self.report = report
            self.logger.info("Run summary\n%s", render(report))
            return report
        finally:
            ctx.close()

    def _fail(self, exc: BaseException) -> None:
        """Record a failed run (once) and print its summary; never hides `exc`."""
        ctx = self._run
        if ctx is None or ctx.finished:
            return
        try:
            self._finish("failed")
        except Exception:  # the original error matters more
            self.logger.warning("The failed run could not be recorded in the ledger", exc_info=True)
        if not isinstance(exc, CLEAN_ERRORS):
            self.logger.error("Run %s failed: %s: %s", ctx.run_id, type(exc).__name__, exc)

    @classmethod
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: Any = None,
        file_input: IO[str] | None = None,
    ) -> None:
        """Run the CLI; known failures end with one clear message and exit code 1."""
        try:
            super().invoke(
                about=about, about_format=about_format, config=config, file_input=file_input
            )
        except CLEAN_ERRORS as exc:
            if CLI.debug_requested():
                raise
            cls.logger.error("target-mailchimp stopped: %s", CLI.one_line(exc))
            sys.exit(1)


def _rank(sink: Sink) -> int:
    return sink.rank if isinstance(sink, MailchimpSink) else 0


if __name__ == "__main__":  # pragma: no cover
    TargetMailchimp.cli()
