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
4. A member Mailchimp answers as still `archived` (status_if_new does not bring an archived
   contact back) comes back only if this target archived it: `archive_member` reads the
   member's status before each DELETE and keeps it in the ledger (a "member_archive"
   marker), and the member is PATCHed back to that status when it was subscribed, pending
   or transactional. A member archived by someone else, or one that had unsubscribed (or was
   cleaned) before this target archived it, stays archived: "skipped" with the reason. Once
   a member is answered as not archived (someone unarchived it), its marker is dropped.
   Markers are read from the ledger without flushing the recorder first: every caller
   flushes after `write_members`, and the members this call archives (whose markers may
   still be buffered) are never among those it writes.
5. The inactive tag (`inactive_records: tag`) is removed with a tags call only from members
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
from target_mailchimp.mapping.common import subscriber_hash
from target_mailchimp.sinks.recording import Outcome, SourceRef, describe_error
from target_mailchimp.sinks.run import RunContext
from target_mailchimp.sinks.writes import settle

MEMBER = "member"
#: Ledger marker: this target added the inactive tag to the member (hash "on"/"off").
MEMBER_TAG = "member_tag"
#: Ledger marker: this target archived the member; its hash is the member's status just
#: before (Mailchimp shows an archived member only as "archived").
MEMBER_ARCHIVE = "member_archive"
#: Statuses a member this target archived comes back with. After "unsubscribed" or
#: "cleaned" it stays archived: only its owner may bring such an address back.
RESTORABLE = frozenset({"subscribed", "pending", "transactional"})


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


def archive_member(ctx: RunContext, email: str) -> tuple[WriteResult, str | None]:
    """Archive a member (DELETE); returns the result and the status the member had just
    before (None when it was not in the audience), read with a GET first."""
    list_id = ctx.settings.list_id
    found = ctx.client.get_member(list_id, email)
    status = found.get("status") if found else None
    return ctx.client.archive_member(list_id, email), str(status) if status else None


def remember_archived(ctx: RunContext, email: str, result: WriteResult, before: str | None) -> None:
    """Keep the status a member had when this target archived it (see module docstring)."""
    if result.action == "archived" and before and before != "archived":
        ctx.recorder.write(MEMBER_ARCHIVE, subscriber_hash(email), before, Outcome("archived"))


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

    def archive(work: MemberWork) -> tuple[WriteResult, str | None]:
        return archive_member(ctx, work.payload.email_address)

    def archived(work: MemberWork, answer: tuple[WriteResult, str | None] | Exception) -> None:
        if isinstance(answer, Exception):
            outcome = Outcome.from_error(answer)
            outcomes[work.payload.email_key] = outcome
            _record(ctx, work, outcome, hashes[work.object_id])
            return
        result, before = answer
        remember_archived(ctx, work.payload.email_address, result, before)
        if result.action == "absent":
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
    archived_answers: list[MemberWork] = []  # answered as still archived (see step 4)

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
        still_archived = {
            str(m.get("email_address", "")).strip().lower()
            for m in (*result.new_members, *result.updated_members)
            if m.get("status") == "archived"
        }
        errors = result.errors_by_email()
        status = result.response.status
        for work in chunk:
            key = work.payload.email_key
            if key in still_archived:
                archived_answers.append(work)
                continue
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
    _forget_archive_markers(ctx, written)
    if archived_answers:
        written.extend(_still_archived(ctx, archived_answers, outcomes, hashes))
    _sync_inactive_tag(ctx, written)
    return outcomes


def _forget_archive_markers(ctx: RunContext, live: Sequence[MemberWork]) -> None:
    """Members Mailchimp answered as not archived are back by other means (unarchived in
    Mailchimp): the status kept from this target's archive no longer holds."""
    if not live:
        return
    markers = ctx.ledger.writes.object_states(MEMBER_ARCHIVE, [w.object_id for w in live])
    for object_id in markers:
        ctx.ledger.writes.forget_object(MEMBER_ARCHIVE, object_id)


def _still_archived(
    ctx: RunContext,
    works: Sequence[MemberWork],
    outcomes: dict[str, Outcome],
    hashes: dict[str, str],
) -> list[MemberWork]:
    """Members Mailchimp kept archived: those this target archived come back with the status
    they had; the others stay archived (see module docstring). Returns those brought back."""
    markers = ctx.ledger.writes.object_states(MEMBER_ARCHIVE, [w.object_id for w in works])
    to_restore: list[tuple[MemberWork, str]] = []
    for work in works:
        marker = markers.get(work.object_id)
        before = marker.payload_hash if marker is not None else None
        if before in RESTORABLE:
            assert before is not None
            to_restore.append((work, before))
            continue
        why = (
            f"it was {before} when this target archived it, so only its owner can bring it back"
            if before
            else "someone archived it there, and this target brings back only the members it "
            "archived itself; unarchive it in Mailchimp to sync it again"
        )
        outcome = Outcome("skipped", detail=f"the member is archived in Mailchimp: {why}")
        outcomes[work.payload.email_key] = outcome
        _record(ctx, work, outcome, hashes[work.object_id])
    list_id = ctx.settings.list_id
    restored: list[MemberWork] = []

    def restore(item: tuple[MemberWork, str]) -> WriteResult:
        work, before = item
        return ctx.client.update_member(list_id, work.payload.email_address, {"status": before})

    def done(item: tuple[MemberWork, str], result: WriteResult | Exception) -> None:
        work, before = item
        if isinstance(result, Exception):
            failed = Outcome.from_error(result)
            outcome = Outcome(
                failed.action,
                failed.http_status,
                failed.request_id,
                failed.attempts,
                f"the member is archived in Mailchimp and could not be brought back as "
                f"{before!r}: {failed.detail}",
            )
        else:
            outcome = Outcome.from_result(
                "updated",
                result,
                f"brought back from the archive as {before!r}, the status it had when this "
                "target archived it",
            )
            ctx.ledger.writes.forget_object(MEMBER_ARCHIVE, work.object_id)
            restored.append(work)
        outcomes[work.payload.email_key] = outcome
        _record(ctx, work, outcome, hashes[work.object_id])

    ctx.call_all(restore, to_restore, done)
    return restored


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
