"""The SDK sink class: buffering, cheap validation and the hand-off to the processors.

One thin `BatchSink` serves every stream; `ROUTES` says, for each accepted stream, its drain
rank and the processor a drained batch goes to: `contacts.process_contacts`,
`documents.process_documents` (bills, invoices), `documents.process_payments` (AP and AR
payments), `passthrough` (Mailchimp-shaped streams). The processors end in `writes` (the
Mailchimp calls and the ledger records); records deleted in Intacct go to `deletions`.

Every sink buffers records (`MAX_SIZE_DEFAULT` 5000, or `batch_size_rows`) and hands them,
at each drain, to its stream's processor, which finishes every write and ledger entry before
it returns. So when the SDK emits a STATE after draining all sinks, every record before it is
in Mailchimp or recorded (rejected, skipped, parked) in the ledger.

Validation: the SDK's per-record checks (a record validator that stops the run on the first
bad record, key properties that must be present, date strings parsed into datetimes) are
replaced by a cheaper path that never stops the run: with `validate_records` (default true)
each record is checked against its stream's schema (`validation.RecordChecker`: a compiled
fast path, jsonschema's verdict), and a record that does not match is rejected into the
audit trail with the validator's message. Dates stay ISO strings (the mapping parses them
and rejects unparseable ones with a reason). A record missing a key property is rejected by
the mapping ("RECORDNO is missing"), not raised. Through the SDK's public surface only:
`get_validator` returns None, and the SDK is given the stream without key properties and with
a schema that has no properties to parse (`stream_schema` is the stream's own schema).

Record metadata: `_sdc_deleted_at` is how a tap says a record was deleted at its source, so
it stays on the records of Intacct streams. The SDK drops every `_sdc_` property of a record
before any public hook sees it, so the target carries that one past it under `CARRIED_DELETED_AT`
(`TargetMailchimp.on_record`) and `preprocess_record` puts it back.

`rank` orders the streams: a sink's drain first drains every sink of a lower rank
(contacts before bills before payments; members before e-commerce customers and products
before orders), see `TargetMailchimp.sink_draining`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import jsonschema  # type: ignore[import-untyped]
from singer_sdk.exceptions import InvalidJSONSchema
from singer_sdk.sinks import BatchSink

from target_mailchimp.mapping.common import record_label
from target_mailchimp.sinks.contacts import process_contacts
from target_mailchimp.sinks.deletions import DELETED_AT, process_deletions, split_deletions
from target_mailchimp.sinks.documents import process_documents, process_payments
from target_mailchimp.sinks.passthrough import (
    process_ecommerce_customers,
    process_ecommerce_orders,
    process_ecommerce_products,
    process_list_members,
)
from target_mailchimp.sinks.validation import Incoming, RecordChecker, value_problem

if TYPE_CHECKING:
    from singer_sdk import Target

    from target_mailchimp.sinks.run import RunContext

#: What a processor is: (run, stream, drained records) -> None.
Processor = Callable[["RunContext", str, Sequence[Incoming]], None]


@dataclass(frozen=True)
class Route:
    """Where a stream's drained records go."""

    #: Drain order: lower ranks drain first.
    rank: int
    process: Processor
    #: Records deleted in Intacct are applied (see `sinks.deletions`).
    deletable: bool = False


#: Intacct streams (tap-intacct).
INTACCT_ROUTES: dict[str, Route] = {
    "customers": Route(0, process_contacts, deletable=True),
    "vendors": Route(0, process_contacts, deletable=True),
    "ap_bills": Route(2, process_documents, deletable=True),
    "ap_payments": Route(3, process_payments, deletable=True),
    "ar_invoices": Route(2, process_documents, deletable=True),
    "ar_payments": Route(3, process_payments, deletable=True),
}
#: Mailchimp-shaped streams other taps may send.
MAILCHIMP_ROUTES: dict[str, Route] = {
    "list_members": Route(0, process_list_members),
    "ecommerce_customers": Route(1, process_ecommerce_customers),
    "ecommerce_products": Route(1, process_ecommerce_products),
    "ecommerce_orders": Route(2, process_ecommerce_orders),
}
ROUTES: dict[str, Route] = {**INTACCT_ROUTES, **MAILCHIMP_ROUTES}

#: Where a record's `_sdc_deleted_at` waits while the SDK drops the `_sdc_` properties.
CARRIED_DELETED_AT = "_target_mailchimp_deleted_at"


def sdk_schema() -> dict[str, Any]:
    """The schema the SDK is given: nothing for its per-record date parsing to change."""
    return {"type": "object", "properties": {}, "additionalProperties": True}


class RunProvider(Protocol):
    """What a sink needs of its target."""

    @property
    def run_context(self) -> RunContext: ...

    def sink_started(self, sink: MailchimpSink) -> None: ...

    def sink_draining(self, sink: MailchimpSink) -> None: ...


class MailchimpSink(BatchSink):
    """The sink of every accepted stream (see module docstring)."""

    MAX_SIZE_DEFAULT = 5000

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict[str, Any],
        key_properties: Sequence[str] | None,
    ) -> None:
        try:
            jsonschema.Draft7Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise InvalidJSONSchema(
                f"stream {stream_name!r} sent a schema that is not valid JSON Schema: {exc.message}"
            ) from None
        self.route = ROUTES[stream_name]
        #: The stream's own schema and key properties (the SDK gets neither, see above).
        self.stream_schema = schema
        self.stream_key_properties = tuple(key_properties or ())
        super().__init__(
            target=target, stream_name=stream_name, schema=sdk_schema(), key_properties=None
        )
        self.run_provider: RunProvider = target  # type: ignore[assignment]
        self.checker = RecordChecker(schema) if self.validate_schema else None

    @property
    def rank(self) -> int:
        return self.route.rank

    @property
    def include_sdc_metadata_properties(self) -> bool:
        return False

    def preprocess_record(self, record: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
        deleted_at = record.pop(CARRIED_DELETED_AT, None)
        if deleted_at and self.route.deletable:
            record[DELETED_AT] = deleted_at
        return record

    @property
    def ctx(self) -> RunContext:
        return self.run_provider.run_context

    def setup(self) -> None:
        super().setup()
        self.run_provider.sink_started(self)
        _ = self.ctx  # start the run (and take the ledger's lock) with the first stream

    def get_validator(self) -> None:
        """The SDK's validator is off: records are checked in `process_record` instead."""
        return

    def schema_problem(self, record: dict[str, Any]) -> str | None:
        """Why `record` does not match the stream's schema, or None."""
        if self.checker is None:
            return None
        error = self.checker.problem(record)
        if error is None:
            return None
        where = "/".join(str(p) for p in error.absolute_path) or "the record"
        return (
            f"{record_label(self.stream_name, record)} does not match the {self.stream_name} "
            f"schema at {where}: {error.message}; fix the record at its source (or the tap's "
            "schema)"
        )

    def record_problem(self, record: dict[str, Any]) -> str | None:
        """Why `record` is rejected before mapping (a bad value, then the schema), or None."""
        bad = value_problem(record)
        if bad is not None:
            return (
                f"{record_label(self.stream_name, record)} has a value no record may carry: "
                f"{bad}; fix the record at its source"
            )
        return self.schema_problem(record)

    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        context.setdefault("records", []).append(Incoming(record, self.record_problem(record)))

    def process_batch(self, context: dict[str, Any]) -> None:
        # The sinks this one depends on (lower rank) drain first.
        self.run_provider.sink_draining(self)
        # Records of a BATCH message's files come as plain dicts (the SDK reads them).
        incoming: list[Incoming] = [
            item if isinstance(item, Incoming) else Incoming(item, self.record_problem(item))
            for item in context.get("records") or []
        ]
        if not incoming:
            return
        # A run whose lock was taken over (stalled past the stale limit) stops writing.
        self.ctx.ledger.lock.assert_lock_held(self.ctx.run_id)
        if not self.route.deletable:
            self.route.process(self.ctx, self.stream_name, incoming)
            return
        # Records deleted in Intacct ({RECORDNO, _sdc_deleted_at}) after the live ones.
        live, deleted = split_deletions(incoming)
        if live:
            self.route.process(self.ctx, self.stream_name, live)
        if deleted:
            process_deletions(self.ctx, self.stream_name, deleted)
