"""Writing audience members: dedupe, batch subscribe, archive, inactive-tag removal.

`write_members(ctx, works, stream, ensure_fields=True) -> {email key: Outcome}`:

1. Members whose payload hash equals the one last written (ledger) are "unchanged": no call.
2. Members to archive (`inactive_records: archive`, every record inactive) are archived
   with one DELETE each, in parallel.
3. The rest go through batch subscribe (`POST /lists/{id}`, `update_existing: true`), 500
   per call, several calls at once. Tags to add ride in each member's item; `status` is
   never sent (only `status_if_new`), so nobody is re-subscribed. Each member's result comes
   from the answer: `new_members` -> created, `updated_members` -> updated, `errors[]` ->
   rejected with Mailchimp's reason (an ERROR_CONTACT_EXISTS after a retried call means
   the earlier attempt was applied: updated).
4. The inactive tag (`inactive_records: tag`) is removed with a tags call only from members
   this target tagged before (a "member_tag" marker in the ledger), never otherwise.

Merge fields are ensured once per run before the first batch (`ensure_fields`).
In a dry run nothing is called; the outcome says what would happen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from target_mailchimp.api import (
    MAX_BATCH_SUBSCRIBE,
    BadRequest,
    BatchSubscribeResult,
    WriteResult,
    chunked,
)
from target_mailchimp.mapping import MemberPayload
from target_mailchimp.sinks.recording import Outcome, SourceRef, describe_error
from target_mailchimp.sinks.run import RunContext
from target_mailchimp.sinks.writes import settle

MEMBER = "member"
#: Ledger marker: this target added the inactive tag to the member (hash "on"/"off").
MEMBER_TAG = "member_tag"


@dataclass
class MemberWork:
    """One member to write and the input records it comes from."""

    payload: MemberPayload
    refs: list[SourceRef] = field(default_factory=list)

    @property
    def object_id(self) -> str:
        return self.payload.object_id


def _record(ctx: RunContext, work: MemberWork, outcome: Outcome, payload_hash: str) -> None:
    ctx.recorder.write(MEMBER, work.object_id, payload_hash, outcome)
    ctx.recorder.audit(work.refs, outcome, object_kind=MEMBER, object_id=work.object_id)


def write_members(
    ctx: RunContext, works: Sequence[MemberWork], stream: str, *, ensure_fields: bool = True
) -> dict[str, Outcome]:
    """Write members (see module docstring); returns the outcome per email key."""
    outcomes: dict[str, Outcome] = {}
    if not works:
        return outcomes
    pending, known, hashes = settle(ctx, MEMBER, works, outcomes, key=lambda w: w.payload.email_key)
    if not pending:
        return outcomes
    to_archive = [w for w in pending if w.payload.archive]
    to_write = [w for w in pending if not w.payload.archive]
    if to_write and ensure_fields:
        ctx.ensure_merge_fields(stream)

    if ctx.dry_run:
        for work in pending:
            state = known.get(work.object_id)
            action = (
                "archived"
                if work.payload.archive
                else "updated"
                if state and state.exists
                else "created"
            )
            outcomes[work.payload.email_key] = outcome = Outcome(action, detail="dry run")
            _record(ctx, work, outcome, hashes[work.object_id])
        ctx.recorder.flush()
        return outcomes

    list_id = ctx.settings.list_id

    def archive(work: MemberWork) -> WriteResult:
        return ctx.client.archive_member(list_id, work.payload.email_address)

    def archived(work: MemberWork, result: WriteResult | Exception) -> None:
        if isinstance(result, Exception):
            outcome = Outcome.from_error(result)
        elif result.action == "absent":
            outcome = Outcome.from_result(
                "unchanged", result, "not in the audience, so there is nothing to archive"
            )
        else:
            outcome = Outcome.from_result("archived", result)
        outcomes[work.payload.email_key] = outcome
        _record(ctx, work, outcome, hashes[work.object_id])

    ctx.call_all(archive, to_archive, archived)

    def subscribe(chunk: list[MemberWork]) -> BatchSubscribeResult:
        return ctx.client.batch_subscribe(
            list_id, [w.payload.batch_member() for w in chunk], update_existing=True
        )

    written: list[MemberWork] = []

    def subscribed(chunk: list[MemberWork], result: BatchSubscribeResult | Exception) -> None:
        if isinstance(result, Exception):
            for work in chunk:
                outcome = Outcome.from_error(result)
                if isinstance(result, BadRequest):
                    outcome = Outcome(
                        "rejected",
                        result.status,
                        result.request_id,
                        result.attempts,
                        f"the batch of {len(chunk)} members was refused: {describe_error(result)}",
                    )
                outcomes[work.payload.email_key] = outcome
                _record(ctx, work, outcome, hashes[work.object_id])
            return
        new = {str(m.get("email_address", "")).strip().lower() for m in result.new_members}
        errors = result.errors_by_email()
        status = result.response.status
        for work in chunk:
            key = work.payload.email_key
            error = errors.get(key)
            if error is not None and not (result.retried and error.is_contact_exists):
                outcome = Outcome(
                    "rejected",
                    status,
                    result.request_id,
                    result.attempts,
                    error.describe(),
                    retry_later=error.is_signup_throttled,
                )
            else:
                outcome = Outcome(
                    "created" if key in new else "updated",
                    status,
                    result.request_id,
                    result.attempts,
                )
                written.append(work)
            outcomes[key] = outcome
            _record(ctx, work, outcome, hashes[work.object_id])

    ctx.call_all(subscribe, list(chunked(to_write, MAX_BATCH_SUBSCRIBE)), subscribed)
    _sync_inactive_tag(ctx, written)
    return outcomes


def _sync_inactive_tag(ctx: RunContext, written: Sequence[MemberWork]) -> None:
    """Remember members tagged inactive; remove the tag where it no longer applies."""
    tag = ctx.mapping.inactive_tag
    if ctx.mapping.inactive_records != "tag" or not written:
        return
    tagged = [w for w in written if w.payload.tags.get(tag) is True]
    for work in tagged:
        ctx.recorder.write(MEMBER_TAG, work.object_id, "on", Outcome("updated"))
    ctx.recorder.flush()
    candidates = [w for w in written if w.payload.tags.get(tag) is False]
    if not candidates:
        return
    states = ctx.ledger.writes.object_states(MEMBER_TAG, [w.object_id for w in candidates])
    to_remove = [w for w in candidates if (s := states.get(w.object_id)) and s.payload_hash == "on"]
    list_id = ctx.settings.list_id

    def remove(work: MemberWork) -> WriteResult:
        return ctx.client.update_member_tags(list_id, work.payload.email_address, {tag: False})

    def removed(work: MemberWork, result: WriteResult | Exception) -> None:
        if isinstance(result, Exception):
            outcome = Outcome.from_error(result)
            detail = f"the tag {tag!r} could not be removed: {outcome.detail}"
            ctx.recorder.audit(
                work.refs,
                Outcome(outcome.action, outcome.http_status, outcome.request_id, 0, detail),
                object_kind=MEMBER,
                object_id=work.object_id,
            )
            # Forget the member's hash so the next run tries again.
            ctx.recorder.flush()
            ctx.ledger.writes.forget_object(MEMBER, work.object_id)
            return
        ctx.recorder.write(
            MEMBER_TAG, work.object_id, "off", Outcome.from_result("updated", result)
        )

    ctx.call_all(remove, to_remove, removed)
