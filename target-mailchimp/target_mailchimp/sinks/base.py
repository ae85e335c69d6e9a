"""The sink base class: buffering, cheap validation and the hand-off to the processors.

Every stream's sink is a `BatchSink` that buffers records (`MAX_SIZE_DEFAULT` 5000, or
`batch_size_rows`) and hands them, at each drain, to its stream's processor
(`process_incoming`), which finishes every write and ledger entry before it
returns. So when the SDK emits a STATE after draining all sinks, every record before it is
in Mailchimp or recorded (rejected, skipped, parked) in the ledger.

Validation: the SDK's per-record path (jsonschema validation that stops the run on the
first bad record, then date parsing) is replaced by a cheaper one that never stops the run:
with `validate_records` (default true) each record is checked against its stream's schema
(`validation.RecordChecker`: a compiled fast path, jsonschema's verdict), and a record
that does not match is rejected into the audit trail with the validator's message. Dates
stay ISO strings (the mapping parses them and rejects unparseable ones with a reason). A
record missing a key property is rejected by the mapping ("RECORDNO is missing"), not raised.

`rank` orders the streams: a sink's drain first drains every sink of a lower rank
(contacts before bills before payments; members before e-commerce customers and products
before orders), see `TargetMailchimp.drain_one`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import jsonschema  # type: ignore[import-untyped]
from singer_sdk.exceptions import InvalidJSONSchema
from singer_sdk.sinks import BatchSink

from target_mailchimp.mapping.common import record_label
from target_mailchimp.sinks.validation import RecordChecker
from target_mailchimp.sinks.values import value_problem

#: Streams whose records deleted in Intacct are applied (see `sinks.deletions`).
DELETABLE_STREAMS = frozenset(
    {"customers", "vendors", "ap_bills", "ap_payments", "ar_invoices", "ar_payments"}
)

if TYPE_CHECKING:
    from singer_sdk import Target

    from target_mailchimp.sinks.run import RunContext


@dataclass
class Incoming:
    """A buffered input record and, when it does not match its schema, why."""

    record: dict[str, Any]
    problem: str | None = None


class RunProvider(Protocol):
    @property
    def run_context(self) -> RunContext: ...


class MailchimpSink(BatchSink):
    """Base of every sink (see module docstring)."""

    MAX_SIZE_DEFAULT = 5000
    #: Drain order: lower ranks drain first.
    rank: ClassVar[int] = 0
    #: The audit object kind of a record rejected before mapping.
    object_kind: ClassVar[str] = "record"

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
        super().__init__(
            target=target, stream_name=stream_name, schema=schema, key_properties=key_properties
        )
        self._run_provider: RunProvider = target  # type: ignore[assignment]
        self._checker = RecordChecker(self.schema) if self.validate_schema else None

    @property
    def include_sdc_metadata_properties(self) -> bool:
        return False

    def _remove_sdc_metadata_from_record(self, record: dict[str, Any]) -> None:
        # The SDK drops every _sdc_ property; _sdc_deleted_at is how a tap says a record was
        # deleted at its source, so it stays for the sinks of Intacct streams.
        deleted_at = record.get("_sdc_deleted_at")
        super()._remove_sdc_metadata_from_record(record)
        if deleted_at and self.stream_name in DELETABLE_STREAMS:
            record["_sdc_deleted_at"] = deleted_at

    @property
    def ctx(self) -> RunContext:
        return self._run_provider.run_context

    def setup(self) -> None:
        super().setup()
        _ = self.ctx  # start the run (and take the ledger's lock) with the first stream

    def get_validator(self) -> None:
        """The SDK's validator is off: records are checked in `process_record` instead."""
        return

    def _validate_and_parse(self, record: dict[str, Any]) -> dict[str, Any]:
        return record

    def _singer_validate_message(self, record: dict[str, Any]) -> None:
        return

    def schema_problem(self, record: dict[str, Any]) -> str | None:
        """Why `record` does not match the stream's schema, or None."""
        if self._checker is None:
            return None
        error = self._checker.problem(record)
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
        # Records of a BATCH message's files come as plain dicts (the SDK reads them).
        incoming: list[Incoming] = [
            item if isinstance(item, Incoming) else Incoming(item, self.record_problem(item))
            for item in context.get("records") or []
        ]
        if not incoming:
            return
        # A run whose lock was taken over (stalled past the stale limit) stops writing.
        self.ctx.ledger.lock.assert_lock_held(self.ctx.run_id)
        if self.stream_name not in DELETABLE_STREAMS:
            self.process_incoming(incoming)
            return
        # Records deleted in Intacct ({RECORDNO, _sdc_deleted_at}) after the live ones.
        from target_mailchimp.sinks.deletions import (  # noqa: PLC0415 (import cycle)
            process_deletions,
            split_deletions,
        )

        live, deleted = split_deletions(incoming)
        if live:
            self.process_incoming(live)
        if deleted:
            process_deletions(self.ctx, self.stream_name, deleted)

    def process_incoming(self, incoming: Sequence[Incoming]) -> None:
        """Write one drained batch; each stream's sink hands it to its processor."""
        raise NotImplementedError
