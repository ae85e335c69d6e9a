"""customers and vendors: audience members first, then e-commerce customers.

`process_contacts(ctx, stream, incoming)` for one drained batch:

1. Each record becomes a `ContactRecord` (or is rejected: bad schema, no RECORDNO/id) and
   every contact is stored in the ledger in one transaction, so members can be rebuilt
   from everything known for an address, in this run or an earlier one.
2. Records that write nothing are audited: inactive with `inactive_records: ignore`
   (skipped) and records without a valid email (rejected, with the reason).
3. One member per lower-cased email touched by the batch (and per email a contact had
   before it changed): `member_payload` over `contacts_for_email`, so two records sharing an
   address are one member, never a duplicate and never a batch error. Written by
   `members.write_members` (batch subscribe; unchanged ones skipped).
4. Then the e-commerce customers (`customer-<CUSTOMERID>` / `vendor-<VENDORID>`), after
   their member, so Mailchimp never makes a new contact transactional. A record whose member
   was rejected gets no customer (audited skipped, with the member's reason).
"""

from __future__ import annotations

from collections.abc import Sequence

from target_mailchimp.mapping import (
    ContactRecord,
    Rejected,
    Skipped,
    contact_from_record,
    contact_outcome,
    customer_payload,
    member_payload,
    subscriber_hash,
)
from target_mailchimp.mapping.contacts import ID_FIELDS
from target_mailchimp.sinks.members import MEMBER, MemberWork, write_members
from target_mailchimp.sinks.recording import Outcome, SourceRef
from target_mailchimp.sinks.run import RunContext
from target_mailchimp.sinks.validation import Incoming
from target_mailchimp.sinks.writes import CUSTOMER, ObjectWork, write_objects


def _ref(contact: ContactRecord) -> SourceRef:
    return SourceRef(contact.stream, str(contact.recordno), contact.source_id, contact.email)


def process_contacts(ctx: RunContext, stream: str, incoming: Sequence[Incoming]) -> None:
    """Write one batch of customers or vendors (see module docstring)."""
    recorder = ctx.recorder
    id_field = ID_FIELDS.get(stream)
    contacts: dict[int, ContactRecord] = {}
    refs: dict[int, list[SourceRef]] = {}
    for item in incoming:
        ref = SourceRef.of(stream, item.record, id_field=id_field)
        if item.problem is not None:
            recorder.audit(
                [ref], Outcome("rejected", detail=item.problem), object_kind=MEMBER, object_id=None
            )
            continue
        contact = contact_from_record(stream, item.record, ctx.mapping)
        if isinstance(contact, Rejected):
            recorder.audit(
                [ref],
                Outcome("rejected", detail=contact.reason),
                object_kind=MEMBER,
                object_id=None,
            )
            continue
        # A record repeated in one batch (the tap's ">=" bookmark): the last version wins.
        contacts[contact.recordno] = contact
        refs.setdefault(contact.recordno, []).append(_ref(contact))
    if not contacts:
        recorder.flush()
        return
    previous = ctx.ledger.sources.record_contacts(list(contacts.values()), run_id=ctx.run_id)

    writable: list[ContactRecord] = []
    for recordno, contact in contacts.items():
        outcome = contact_outcome(contact, ctx.mapping)
        if outcome is None:
            writable.append(contact)
            continue
        object_id = subscriber_hash(contact.email) if contact.email else None
        recorder.audit(
            refs[recordno],
            Outcome(outcome.action, detail=outcome.reason),
            object_kind=MEMBER,
            object_id=object_id,
        )

    keys = {c.email_key for c in contacts.values() if c.email_key} | set(previous.values())
    known = ctx.ledger.sources.contacts_for_emails(keys)
    refs_by_email: dict[str, list[SourceRef]] = {}
    for contact in writable:
        if contact.email_key:
            refs_by_email.setdefault(contact.email_key, []).extend(refs[contact.recordno])
    works: list[MemberWork] = []
    for key in sorted(keys):
        payload = member_payload(known.get(key, []), ctx.mapping)
        if isinstance(payload, Skipped):
            continue
        works.append(MemberWork(payload, refs_by_email.get(key, [])))
    member_outcomes = write_members(ctx, works, stream)

    customer_works: list[ObjectWork] = []
    for contact in writable:
        customer = customer_payload(contact, ctx.mapping)
        if isinstance(customer, Rejected | Skipped):
            continue  # same reason as the member, audited above
        member = member_outcomes.get(contact.email_key or "")
        if member is not None and not member.written:
            recorder.audit(
                refs[contact.recordno],
                Outcome(
                    "skipped",
                    detail=f"not written because its audience member was {member.action}: "
                    f"{member.detail or 'see the member row'}",
                ),
                object_kind=CUSTOMER,
                object_id=customer.object_id,
            )
            continue
        customer_works.append(ObjectWork(customer, list(refs[contact.recordno])))
    write_objects(ctx, CUSTOMER, customer_works, stream)
    recorder.flush()
