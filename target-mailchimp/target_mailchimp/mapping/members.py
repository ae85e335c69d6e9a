"""Audience members from Intacct customers and vendors.

- `member_payload(contacts, settings) -> MemberPayload | Skipped`: the ONE member for one
  lower-cased address, built from every `ContactRecord` known for it (the ledger's
  `contacts_for_email`). The result does not depend on the order of `contacts`:
  records are ordered customers before vendors, lowest RECORDNO first, and each merge field
  takes the first non-empty value in that order; tags are the union. When the same record
  (stream, RECORDNO) appears twice, the version with the latest WHENMODIFIED is used.
  Records that do not contribute (no valid email; inactive with `inactive_records="ignore"`)
  are left out; when none is left the result is `Skipped`. All contacts must share one
  email key (ValueError otherwise: that is a caller bug, not bad data).
- `required_merge_fields(settings) -> list[(tag, name, type)]`: merge fields the payloads
  use, for the sink to create the missing ones once per run.

`MemberPayload` carries:
- `body`: the PUT /lists/{list_id}/members/{subscriber_hash} body: `email_address` (case as
  in Intacct), `status_if_new` and, when any is non-empty, `merge_fields`. Never `status`,
  so an existing member (unsubscribed, cleaned...) keeps the status they chose.
- `tags`: {tag name: True to add / False to remove}; `tags_body()` is the body of
  POST .../members/{hash}/tags (PUT does not take tags). Only the inactive tag is ever
  removed; the customer and vendor tags are only added, so tags set by hand stay.
- `archive`: True when the member should be archived (DELETE .../members/{hash}) instead of
  written: `inactive_records="archive"` and every record for the address is inactive.
- `payload_hash()`: what the ledger compares to skip unchanged writes.
- `batch_member()`: the same member as an item of POST /lists/{list_id} (batch subscribe).

Empty values are left out of `merge_fields` rather than sent as "": the target never erases
data kept in Mailchimp (e.g. entered in a signup form) because an Intacct field is empty.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

from target_mailchimp.mapping.common import subscriber_hash
from target_mailchimp.mapping.contacts import ContactRecord, contributes
from target_mailchimp.mapping.jsonexact import dumps_exact, payload_hash
from target_mailchimp.mapping.results import Skipped
from target_mailchimp.mapping.settings import MappingSettings

#: Merge fields the mapping writes by default: (tag, name, Mailchimp type).
BUILTIN_MERGE_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("FNAME", "First Name", "text"),
    ("LNAME", "Last Name", "text"),
    ("COMPANY", "Company", "text"),
    ("PHONE", "Phone Number", "phone"),
    ("ADDRESS", "Address", "address"),
)


def required_merge_fields(settings: MappingSettings) -> list[tuple[str, str, str]]:
    """Every merge field the member payloads may contain, as (tag, name, type).

    The built-ins first, then the extra tags of `settings.merge_fields` (type text) in tag
    order. A tag in `settings.merge_fields` that is also built in keeps its built-in type.
    """
    out = list(BUILTIN_MERGE_FIELDS)
    builtin = {tag for tag, _, _ in BUILTIN_MERGE_FIELDS}
    for tag in sorted(settings.merge_fields):
        if tag not in builtin:
            out.append((tag, tag.replace("_", " ").title(), "text"))
    return out


@dataclass(frozen=True)
class MemberPayload:
    """One audience member to write (see module docstring)."""

    email_address: str
    body: dict[str, Any]
    tags: Mapping[str, bool] = field(default_factory=lambda: MappingProxyType({}))
    archive: bool = False
    sources: tuple[str, ...] = ()
    kind: ClassVar[str] = "member"

    @property
    def subscriber_hash(self) -> str:
        return subscriber_hash(self.email_address)

    @property
    def object_id(self) -> str:
        """The ledger/object id of a member: its subscriber hash."""
        return self.subscriber_hash

    @property
    def email_key(self) -> str:
        return self.email_address.strip().lower()

    def hash_input(self) -> dict[str, Any]:
        return {
            "body": self.body,
            "tags": dict(sorted(self.tags.items())),
            "archive": self.archive,
        }

    def payload_hash(self) -> str:
        return payload_hash(self.hash_input())

    def tags_body(self) -> dict[str, Any] | None:
        """Body of POST /lists/{id}/members/{hash}/tags, or None when there are no tags."""
        if not self.tags:
            return None
        return {
            "tags": [
                {"name": name, "status": "active" if on else "inactive"}
                for name, on in sorted(self.tags.items())
            ],
            "is_syncing": False,
        }

    def batch_member(self) -> dict[str, Any]:
        """This member as an item of POST /lists/{list_id} (tags to add only)."""
        item = dict(self.body)
        active = [name for name, on in sorted(self.tags.items()) if on]
        if active:
            item["tags"] = active
        return item

    def to_json(self) -> str:
        return dumps_exact(self.hash_input(), sort_keys=True)


def _latest(contacts: Iterable[ContactRecord]) -> list[ContactRecord]:
    """One contact per (stream, RECORDNO): the latest version, chosen deterministically."""
    chosen: dict[tuple[str, int], ContactRecord] = {}
    for contact in contacts:
        key = (contact.stream, contact.recordno)
        other = chosen.get(key)
        if other is None or _version_key(contact) > _version_key(other):
            chosen[key] = contact
    return sorted(chosen.values(), key=lambda c: c.merge_order)


def _version_key(contact: ContactRecord) -> tuple[str, str]:
    return (contact.when_modified or "", dumps_exact(contact.to_json(), sort_keys=True))


def _first(ordered: list[ContactRecord], getter: Callable[[ContactRecord], Any]) -> Any:
    for contact in ordered:
        value = getter(contact)
        if value:
            return value
    return None


def _extra_getter(tag: str) -> Callable[[ContactRecord], Any]:
    def getter(contact: ContactRecord) -> Any:
        return dict(contact.extra).get(tag)

    return getter


def member_payload(
    contacts: Iterable[ContactRecord], settings: MappingSettings
) -> MemberPayload | Skipped:
    """The member for one address from all its records (see module docstring)."""
    everything = list(contacts)
    pool = [c for c in everything if contributes(c, settings)]
    if not pool:
        names = ", ".join(c.label for c in sorted(everything, key=lambda c: c.merge_order))
        return Skipped(
            "no_contributing_records",
            f"no record contributes to this member ({names or 'no records'}): every one is "
            "inactive (inactive_records is 'ignore') or has no valid email",
        )
    keys = {c.email_key for c in pool}
    if len(keys) != 1:
        raise ValueError(
            f"member_payload needs contacts of one email, got {sorted(map(str, keys))}"
        )
    ordered = _latest(pool)

    merge: dict[str, Any] = {}
    builtins: dict[str, Callable[[ContactRecord], Any]] = {
        "FNAME": lambda c: c.first_name,
        "LNAME": lambda c: c.last_name,
        "COMPANY": lambda c: c.company_name or c.name,
        "PHONE": lambda c: c.phone,
        "ADDRESS": lambda c: c.address.merge_field(),
    }
    for tag, getter in builtins.items():
        value = _first(ordered, getter)
        if value:
            merge[tag] = value
    for tag in sorted(settings.merge_fields):
        value = _first(ordered, _extra_getter(tag))
        if value:
            merge[tag] = value
        else:
            merge.pop(tag, None)

    email_address = ordered[0].email
    assert email_address is not None
    body: dict[str, Any] = {
        "email_address": email_address,
        "status_if_new": settings.status_if_new_for(
            customer=any(c.is_customer for c in ordered),
            vendor=any(not c.is_customer for c in ordered),
        ),
    }
    if merge:
        body["merge_fields"] = merge

    tags: dict[str, bool] = {}
    if any(c.is_customer for c in ordered):
        tags[settings.customer_tag] = True
    if any(not c.is_customer for c in ordered):
        tags[settings.vendor_tag] = True
    all_inactive = not any(c.active for c in ordered)
    if settings.inactive_records == "tag":
        tags[settings.inactive_tag] = all_inactive
    archive = settings.inactive_records == "archive" and all_inactive
    return MemberPayload(
        email_address=email_address,
        body=body,
        tags=MappingProxyType(tags),
        archive=archive,
        sources=tuple(f"{c.stream}:{c.recordno}" for c in ordered),
    )
