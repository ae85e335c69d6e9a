"""The tap: configuration, the shared gateway client, and the streams in their order."""

from __future__ import annotations

import datetime as dt
import json
import sys
from importlib import resources
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.singerlib import Message, RecordMessage

from intacct_mailchimp_common import logsafe
from intacct_mailchimp_common.cli import Program
from intacct_mailchimp_common.strict import plugin_settings_problems
from tap_intacct.custom_fields import add_custom_fields, extra_properties
from tap_intacct.gateway.client import IntacctGateway
from tap_intacct.gateway.config import GatewayConfig
from tap_intacct.records import resolve_timezone
from tap_intacct.streams import STREAM_TYPES, IntacctStream

if TYPE_CHECKING:
    import click
    from singer_sdk.streams import Stream

DEFAULT_API_URL = "https://api.intacct.com/ia/xml/xmlgw.phtml"
STREAM_ORDER = tuple(t.stream_name for t in STREAM_TYPES)
#: The command line: its failures end with "tap-intacct stopped: <message>" (see the cli module).
CLI = Program(
    "tap-intacct", "tap_intacct", debug_env="TAP_INTACCT_DEBUG", loglevel_env="TAP_INTACCT_LOGLEVEL"
)


def bundled_schema(stream_name: str) -> dict[str, Any]:
    """The JSON schema shipped with the tap for ``stream_name``."""
    text = resources.files("tap_intacct").joinpath("schemas", f"{stream_name}.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


class MessageWriter(MsgSpecWriter):
    """The SDK's msgspec writer (Decimals as exact JSON numbers, decimal_format="number"),
    flushing standard output after every message but RECORD.

    The SDK's writer flushes after each message: one system call per record, about 5 % of the
    tap's CPU. Here records fill the output buffer and leave with it, and every SCHEMA and
    STATE flushes what came before it, so a target never holds a STATE before the records it
    covers, and no record waits longer than the page it came in (each page ends with a STATE).
    """

    def write_message(self, message: Message) -> None:
        sys.stdout.buffer.write(self.format_message(message))
        if not isinstance(message, RecordMessage):
            sys.stdout.flush()


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class TapIntacct(Tap):
    """Reads customers, vendors, AP bills and payments, AR invoices and payments, and their
    deletions from Sage Intacct."""

    name = "tap-intacct"
    package_name = "tap-intacct-xmlgw"
    message_writer_class = MessageWriter

    config_jsonschema = th.PropertiesList(
        th.Property(
            "sender_id",
            th.StringType,
            required=True,
            title="Sender ID",
            description="Web Services sender ID (the partner credential Sage issues).",
        ),
        th.Property(
            "sender_password",
            th.StringType,
            required=True,
            secret=True,
            title="Sender password",
            description="Web Services sender password.",
        ),
        th.Property(
            "user_id",
            th.StringType,
            required=True,
            title="User ID",
            description="Web Services user of the company.",
        ),
        th.Property(
            "user_password",
            th.StringType,
            required=True,
            secret=True,
            title="User password",
            description="Password of the Web Services user.",
        ),
        th.Property(
            "company_id",
            th.StringType,
            required=True,
            title="Company ID",
            description="Intacct company ID.",
        ),
        th.Property(
            "entity_id",
            th.StringType,
            title="Entity ID",
            description=(
                "Optional entity (location) ID of a multi-entity company. When set, the session is "
                "scoped to that entity; when empty, the tap reads at the top level and includes "
                "entity-private records."
            ),
        ),
        th.Property(
            "api_url",
            th.StringType,
            default=DEFAULT_API_URL,
            title="Gateway URL",
            description="XML gateway URL used to log in. Later calls go to the session's endpoint.",
        ),
        th.Property(
            "session_refresh_minutes",
            th.NumberType(exclusive_minimum=0, maximum=50),
            default=45,
            title="Session refresh (minutes)",
            description="Renew the API session after this many minutes (sessions expire after 50).",
        ),
        th.Property(
            "request_timeout",
            th.NumberType(exclusive_minimum=0),
            default=300,
            title="Request timeout (seconds)",
            description="Seconds to wait for one gateway response.",
        ),
        th.Property(
            "max_retries",
            th.IntegerType(minimum=0),
            default=5,
            title="Max retries",
            description="Retries of a request after a transient fault, with exponential backoff.",
        ),
        th.Property(
            "start_date",
            th.DateTimeType,
            title="Start date",
            description=(
                "Read transactions (bills, payments) modified at or after this instant (ISO "
                "8601; UTC when it has no offset) on the first run; customers and vendors are "
                "always read in full on their first run. Empty: all history. Later runs start "
                "from the bookmark unless this is later."
            ),
        ),
        th.Property(
            "lookback_minutes",
            th.IntegerType(minimum=0),
            default=10,
            title="Lookback (minutes)",
            description=(
                "Re-read this many minutes before the end of the previous run's window, because "
                "Intacct is eventually consistent: a row can become visible after a run read "
                "past its WHENMODIFIED. A resumed (interrupted) run does not re-read. 0 disables."
            ),
        ),
        th.Property(
            "timezone",
            th.StringType,
            default="UTC",
            title="Company timezone",
            description=(
                "IANA timezone (e.g. America/Los_Angeles) that WHENMODIFIED and other Intacct "
                "timestamps are read in; records carry them in UTC."
            ),
        ),
        th.Property(
            "page_size",
            th.IntegerType(minimum=1, maximum=2000),
            default=1000,
            title="Page size",
            description="Records per query page (1 to 2000).",
        ),
        th.Property(
            "max_concurrent_requests",
            th.IntegerType(minimum=1, maximum=10),
            default=2,
            title="Max concurrent requests",
            description=(
                "Requests sent to Intacct at once: the company's allowance of simultaneous "
                "requests (most companies are allowed 2; ask Sage for yours). While a page's "
                "lines are fetched the next page is on its way. An HTTP 429 (GW-0010) lowers it "
                "for the rest of the run. 1 sends one request at a time."
            ),
        ),
        th.Property(
            "include_custom_fields",
            th.BooleanType,
            default=False,
            title="Include custom fields",
            description=(
                "Add the company's custom fields (found with lookup) to the schemas. Discovery "
                "then logs in; without it, discovery works offline from the bundled schemas."
            ),
        ),
        th.Property(
            "deletes",
            th.BooleanType,
            default=True,
            title="Read deletions",
            description=(
                "Emit records deleted in Intacct, read from the audit trail (AUDITHISTORY), in "
                "their stream as {RECORDNO, _sdc_deleted_at}. Needs permission to view the "
                "audit trail; without it the tap warns once and goes on."
            ),
        ),
    ).to_dict()

    #: Extra keyword arguments for the gateway client (tests pass a no-op sleep).
    gateway_options: ClassVar[dict[str, Any]] = {}

    def __init__(
        self, *, validate_config: bool = True, setup_mapper: bool = True, **kwargs: Any
    ) -> None:
        """The SDK's tap, with strict settings (see :meth:`refused_settings`)."""
        self._gateway: IntacctGateway | None = None
        self._run_started_at: dt.datetime | None = None
        #: Why AUDITHISTORY cannot be read (set on the first refusal; later streams skip it).
        self.deletions_unavailable: str | None = None
        logsafe.install()  # every log line: secrets masked, control characters escaped
        # The mapper is set up (which discovers the streams, and logs in for custom fields)
        # only once the settings are known good.
        try:
            super().__init__(validate_config=validate_config, setup_mapper=False, **kwargs)
        except ConfigValidationError:
            refused = self.refused_settings()  # our one-line reasons first, when we have some
            if refused is not None:
                raise refused from None
            raise
        if validate_config and (refused := self.refused_settings()) is not None:
            raise refused
        if setup_mapper:
            self.setup_mapper()

    @classmethod
    def get_singer_command(cls) -> click.Command:
        """The SDK's command, ending a failed run with one line and exit code 1 (see cli)."""
        command = super().get_singer_command()
        command.__class__ = CLI.command
        return command

    def refused_settings(self) -> ConfigValidationError | None:
        """The error naming every setting the strict checks refuse (unknown keys, ranges:
        `strict`), or None. The SDK's own schema checks run first, in its constructor; a
        setting both refuse is reported with these reasons."""
        schema, problems = plugin_settings_problems(self)
        if not problems:
            return None
        return ConfigValidationError(
            f"tap-intacct settings refused: {'; '.join(problems)}",
            errors=problems,
            schema=schema,
        )

    @property
    def gateway(self) -> IntacctGateway:
        """The one gateway client of this run, shared by every stream (built on first use)."""
        if self._gateway is None:
            self._gateway = IntacctGateway(
                GatewayConfig.from_mapping(self.config), **self.gateway_options
            )
        return self._gateway

    def clock(self) -> dt.datetime:
        """Now, as an aware datetime: the source of the run's upper bound (tests replace it)."""
        return _utc_now()

    @property
    def run_started_at(self) -> dt.datetime:
        """When the run started (first asked): every stream reads up to this instant."""
        if self._run_started_at is None:
            self._run_started_at = self.clock()
        return self._run_started_at

    @property
    def streams(self) -> dict[str, Stream]:
        """The streams in emission order: customers, vendors, ap_bills, ap_payments,
        ar_invoices, ar_payments."""
        streams = super().streams
        if list(streams) != [n for n in STREAM_ORDER if n in streams]:
            order = {name: i for i, name in enumerate(STREAM_ORDER)}
            ordered = dict(sorted(streams.items(), key=lambda kv: order.get(kv[0], len(order))))
            streams.clear()
            streams.update(ordered)
        return streams

    def discover_streams(self) -> list[Stream]:
        """The streams, from the bundled schemas (plus custom fields when asked)."""
        resolve_timezone(self.config.get("timezone"))  # fail early on a bad name
        streams: list[Stream] = []
        for stream_type in STREAM_TYPES:
            schema = bundled_schema(stream_type.stream_name)
            if self.config.get("include_custom_fields"):
                schema = self._with_custom_fields(stream_type, schema)
            streams.append(stream_type(self, schema))
        return streams

    def _with_custom_fields(
        self, stream_type: type[IntacctStream], schema: dict[str, Any]
    ) -> dict[str, Any]:
        catalog = self.input_catalog
        entry = catalog.get_stream(stream_type.stream_name) if catalog is not None else None
        if entry is not None:
            # A sync with a catalog: its schema already holds the custom fields, no login.
            extra = extra_properties(entry.schema.to_dict(), schema)
            merged = dict(schema)
            merged["properties"] = {**schema["properties"], **extra}
            return merged
        return add_custom_fields(schema, self.gateway.lookup(stream_type.intacct_object))
