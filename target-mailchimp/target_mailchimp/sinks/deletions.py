"""Records deleted in Intacct: what leaves Mailchimp.

tap-intacct sends a deleted record in its own stream as `{RECORDNO, _sdc_deleted_at}` (the
Singer SDK's convention). `split_deletions` takes those out of a drained batch; the sink
writes the live records first, then `process_deletions`:

- customers / vendors: the record no longer counts for its address. When another live record
  shares the address, only the deleted record's tag (`customer_tag` / `vendor_tag`) is
  removed, and only if no live record of the same kind keeps it; the member stays as it is.
  Otherwise `on_delete`: "archive" (DELETE the member: Mailchimp archives it; its status is
  read first and kept, so it can come back as it was: `members.archive_member`), "tag" (its
  tag removed, `deleted_tag` added), "ignore" (nothing).
- ap_bills / ar_invoices: the order (`bill-<n>` / `invoice-<n>`) is deleted.
- ap_payments / ar_payments: handled as a void: the payment's recorded allocations count
  nothing from now on and the orders it paid get their status again (a PATCH when it
  changes).

Every deletion is one audit row with action "deleted" (the detail says what happened in
Mailchimp), or "skipped" with the reason when there is nothing to do: a record the ledger
never saw, a deletion already applied (a rerun, or the tap re-reading its lookback), a member
never written, `on_delete: ignore`. Once a deletion reached Mailchimp, the record's source
row is buried (`ledger.sources.bury`): live queries leave it out and a repeat finds it done.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from target_mailchimp.api import MailchimpError, WriteResult
from target_mailchimp.mapping import ContactRecord, subscriber_hash
from target_mailchimp.mapping.common import CONTACT_STREAMS, PAYMENT_STREAMS, as_recordno
from target_mailchimp.mapping.orders import BILL, INVOICE
from target_mailchimp.sinks.documents import process_payments
from target_mailchimp.sinks.members import MEMBER, archive_member, remember_archived
from target_mailchimp.sinks.recording import Outcome, SourceRef, is_fatal
from target_mailchimp.sinks.run import RunContext
from target_mailchimp.sinks.validation import Incoming
from target_mailchimp.sinks.writes import ORDER

DELETED_AT = "_sdc_deleted_at"
#: {document stream: the order id of its RECORDNO}.
DOCUMENT_STREAMS = {kind.stream: kind.order_id for kind in (BILL, INVOICE)}


def split_deletions(incoming: Sequence[Incoming]) -> tuple[list[Incoming], list[Incoming]]:
    """(live records, deletion records) of a drained batch."""
    live: list[Incoming] = []
    deleted: list[Incoming] = []
    for item in incoming:
        (deleted if item.record.get(DELETED_AT) else live).append(item)
    return live, deleted


def process_deletions(ctx: RunContext, stream: str, deleted: Sequence[Incoming]) -> None:
    """Apply the deletions of one stream (see module docstring)."""
    recorder = ctx.recorder
    seen: set[int] = set()
    for item in deleted:
        record = item.record
        recordno = as_recordno(record.get("RECORDNO"))
        ref = SourceRef(stream, None if recordno is None else str(recordno))
        if recordno is None:
            _audit(
                ctx,
                ref,
                None,
                None,
                Outcome("rejected", detail="a deletion without an integer RECORDNO"),
            )
            continue
        if recordno in seen:
            continue
        seen.add(recordno)
        key = str(recordno)
        data = ctx.ledger.sources.source(stream, key)
        if data is None:
            why = (
                "its deletion was already applied by an earlier run"
                if ctx.ledger.sources.buried(stream, key)
                else "the ledger never saw this record, so nothing of it is in Mailchimp"
            )
            _audit(ctx, ref, _kind(stream), None, _skipped(why))
            continue
        ctx.ledger.sources.unpark(stream, key)  # a parked record that is deleted waits for nothing
        done = True
        if stream in CONTACT_STREAMS:
            done = _delete_contact(ctx, stream, ContactRecord.from_json(data))
        elif stream in DOCUMENT_STREAMS:
            done = _delete_order(ctx, ref, DOCUMENT_STREAMS[stream](recordno))
        elif stream in PAYMENT_STREAMS:
            _delete_payment(ctx, stream, ref, data, str(record.get(DELETED_AT)))
        recorder.flush()
        if done:
            # Only once Mailchimp has it: a run killed before this point applies the deletion
            # again when it resumes (a second DELETE finds nothing and says so).
            ctx.ledger.sources.bury(stream, key)
    recorder.flush()


def _call(ctx: RunContext, fn: Callable[..., WriteResult], *args: Any) -> WriteResult | None:
    """One Mailchimp write; None in a dry run (nothing is sent, the audit says what would)."""
    if ctx.dry_run:
        return None
    return ctx.call(fn, *args)


def _deleted(action: str, result: WriteResult | None, detail: str) -> Outcome:
    if result is None:
        return Outcome(action, detail=f"dry run: {detail}")
    return Outcome.from_result(action, result, detail)


def _skipped(why: str) -> Outcome:
    """Nothing to delete in Mailchimp, and why."""
    return Outcome("skipped", detail=f"deleted in Intacct; {why}")


def _audit(
    ctx: RunContext, ref: SourceRef, kind: str | None, oid: str | None, outcome: Outcome
) -> bool:
    """The audit row of one deletion; True: the deletion is done (its source row may go)."""
    ctx.recorder.audit([ref], outcome, object_kind=kind, object_id=oid)
    return True


def _removed(
    ctx: RunContext, ref: SourceRef, kind: str, oid: str, result: WriteResult | None, *, what: str
) -> bool:
    """An object Mailchimp no longer shows: audited, then marked deleted in the ledger."""
    _audit(ctx, ref, kind, oid, _deleted("deleted", result, f"deleted in Intacct; {what}"))
    ctx.recorder.flush()
    ctx.ledger.writes.mark_deleted(kind, oid, ctx.run_id)
    return True


def _kind(stream: str) -> str:
    return MEMBER if stream in CONTACT_STREAMS else ORDER


def _failed(
    ctx: RunContext, ref: SourceRef, kind: str, oid: str, err: Exception, *, what: str
) -> None:
    if isinstance(err, MailchimpError) and is_fatal(err):
        raise ctx.fatal_error(err) from None
    outcome = Outcome.from_error(err)
    _audit(
        ctx,
        ref,
        kind,
        oid,
        Outcome(
            outcome.action,
            outcome.http_status,
            outcome.request_id,
            outcome.attempts,
            f"deleted in Intacct, but {what} failed: {outcome.detail}",
        ),
    )


def _delete_contact(ctx: RunContext, stream: str, contact: ContactRecord) -> bool:
    mapping = ctx.mapping
    ref = SourceRef(stream, str(contact.recordno), contact.source_id, contact.email)
    email = contact.email
    if email is None or contact.email_key is None:
        return _audit(ctx, ref, MEMBER, None, _skipped("it had no valid email, so no member"))
    member_id = subscriber_hash(email)
    state = ctx.ledger.writes.object_states(MEMBER, [member_id]).get(member_id)
    if state is None or not state.exists:
        return _audit(ctx, ref, MEMBER, member_id, _skipped("its member was never written"))
    own_tag = mapping.customer_tag if contact.is_customer else mapping.vendor_tag
    others = [
        c
        for c in ctx.ledger.sources.contacts_for_emails([contact.email_key]).get(
            contact.email_key, []
        )
        if (c.stream, c.recordno) != (contact.stream, contact.recordno)
    ]
    list_id = ctx.settings.list_id
    if others:
        same_kind = [c for c in others if c.stream == contact.stream]
        names = ", ".join(f"{c.stream} RECORDNO {c.recordno}" for c in others[:3])
        if same_kind:
            return _audit(
                ctx,
                ref,
                MEMBER,
                member_id,
                Outcome(
                    "deleted",
                    detail=f"deleted in Intacct; the member stays ({names} shares the address) "
                    f"and keeps the tag {own_tag!r}",
                ),
            )
        try:
            result = _call(ctx, ctx.client.update_member_tags, list_id, email, {own_tag: False})
        except MailchimpError as err:
            _failed(ctx, ref, MEMBER, member_id, err, what=f"removing the tag {own_tag!r}")
            return False
        _audit(
            ctx,
            ref,
            MEMBER,
            member_id,
            _deleted(
                "deleted",
                result,
                f"deleted in Intacct; the member stays ({names} shares the address); the tag "
                f"{own_tag!r} was removed",
            ),
        )
        # The member's payload changed (tags): let the next write of the address send it.
        ctx.ledger.writes.forget_object(MEMBER, member_id)
        return True
    if mapping.on_delete == "ignore":
        return _audit(ctx, ref, MEMBER, member_id, _skipped("on_delete is 'ignore'"))
    try:
        if mapping.on_delete == "archive":
            result = None
            if not ctx.dry_run:
                result, before = ctx.call(archive_member, ctx, email)
                remember_archived(ctx, email, result, before)
            what = (
                "the member was archived"
                if result is None or result.action == "archived"
                else "the member was not in the audience any more"
            )
        else:
            result = ctx.call(
                ctx.client.update_member_tags,
                list_id,
                email,
                {own_tag: False, mapping.deleted_tag: True},
            )
            what = f"the tag {own_tag!r} was removed and {mapping.deleted_tag!r} added"
    except MailchimpError as err:
        _failed(ctx, ref, MEMBER, member_id, err, what=f"on_delete '{mapping.on_delete}'")
        return False
    return _removed(ctx, ref, MEMBER, member_id, result, what=what)


def _delete_order(ctx: RunContext, ref: SourceRef, oid: str) -> bool:
    state = ctx.ledger.writes.object_states(ORDER, [oid]).get(oid)
    if state is None or not state.exists:
        return _audit(ctx, ref, ORDER, oid, _skipped(f"order {oid} was never written"))
    try:
        result = _call(ctx, ctx.client.delete_order, ctx.mapping.store_id, oid)
    except MailchimpError as err:
        _failed(ctx, ref, ORDER, oid, err, what=f"deleting order {oid}")
        return False
    what = (
        "deleted" if result is None or result.action == "deleted" else "already gone from Mailchimp"
    )
    return _removed(ctx, ref, ORDER, oid, result, what=f"order {oid} {what}")


def _delete_payment(
    ctx: RunContext, stream: str, ref: SourceRef, data: Any, deleted_at: str
) -> None:
    """A deleted payment counts as voided: its orders get their status again."""
    allocations = list(data.get("allocations") or []) if isinstance(data, dict) else []
    _audit(
        ctx,
        ref,
        None,
        None,
        Outcome(
            "deleted",
            detail="deleted in Intacct; counted as voided, so the orders it paid are re-evaluated",
        ),
    )
    if not allocations:
        return
    voided: dict[str, Any] = {
        "RECORDNO": data.get("recordno"),
        "RECORDID": data.get("recordid"),
        "STATE": "Voided",
        "WHENMODIFIED": deleted_at,
        "details": [
            {
                "RECORDKEY": a.get("bill_recordno"),
                "TRX_PAYMENTAMOUNT": a.get("trx_amount"),
                "PAYMENTAMOUNT": a.get("base_amount"),
            }
            for a in allocations
        ],
    }
    process_payments(ctx, stream, [Incoming(voided)])
