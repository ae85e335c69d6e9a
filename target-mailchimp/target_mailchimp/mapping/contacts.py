"""Intacct customers and vendors as `ContactRecord`s: the parts the mapping needs.

A `ContactRecord` is extracted once from a `customers` or `vendors` record and stored in the
ledger (`to_json` / `from_json`) so that a member's payload can be rebuilt from every record
known for its address, in this run or an earlier one.

- `contact_from_record(stream, record, settings) -> ContactRecord | Rejected`: Rejected only
  when the record has no usable RECORDNO or CUSTOMERID/VENDORID. A record without a valid
  email still gives a ContactRecord (with `email=None` and `email_error`), so the ledger
  knows the vendor exists but has no address (its bills are rejected, not parked).
- `contact_outcome(contact, settings) -> Rejected | Skipped | None`: what the record itself
  becomes: Skipped when inactive and `inactive_records="ignore"`, Rejected when it has no
  valid email, None when it is written (as a member and an e-commerce customer).
- `contributes(contact, settings) -> bool`: whether it takes part in its member's payload.

Email choice: DISPLAYCONTACT.EMAIL1 when valid, else DISPLAYCONTACT.EMAIL2 when valid; when
neither is, the record is rejected with both problems in the reason. Values from
`settings.merge_fields` are extracted here as text, so a change of that setting reaches
records already in the ledger only when they are read again (run with a full refresh).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from target_mailchimp.mapping.common import (
    STREAM_CUSTOMERS,
    STREAM_VENDORS,
    as_recordno,
    check_email,
    check_object_id,
    clean_text,
    email_key,
    get_path,
    iso_datetime,
    record_label,
)
from target_mailchimp.mapping.results import Rejected, Skipped
from target_mailchimp.mapping.settings import MappingSettings

ID_FIELDS = {STREAM_CUSTOMERS: "CUSTOMERID", STREAM_VENDORS: "VENDORID"}
ID_PREFIXES = {STREAM_CUSTOMERS: "customer-", STREAM_VENDORS: "vendor-"}
INACTIVE_STATUSES = frozenset({"inactive", "false", "f"})


@dataclass(frozen=True)
class Address:
    """A postal address from DISPLAYCONTACT.MAILADDRESS (text fields, None when empty)."""

    addr1: str | None = None
    addr2: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country_code: str | None = None
    country: str | None = None

    @property
    def complete(self) -> bool:
        """Mailchimp's ADDRESS merge field needs addr1, city, state and zip."""
        return all((self.addr1, self.city, self.state, self.zip))

    def merge_field(self) -> dict[str, str] | None:
        """The ADDRESS merge field value, or None when incomplete."""
        if not self.complete:
            return None
        value = {
            "addr1": self.addr1,
            "addr2": self.addr2,
            "city": self.city,
            "state": self.state,
            "zip": self.zip,
            "country": self.country_code or self.country,
        }
        return {k: v for k, v in value.items() if v}

    def customer_address(self) -> dict[str, str] | None:
        """The e-commerce customer `address` object (present parts only), or None."""
        value = {
            "address1": self.addr1,
            "address2": self.addr2,
            "city": self.city,
            "province": self.state,
            "postal_code": self.zip,
            "country": self.country,
            "country_code": self.country_code,
        }
        present = {k: v for k, v in value.items() if v}
        return present or None


@dataclass(frozen=True)
class ContactRecord:
    """One Intacct customer or vendor, reduced to what the mapping uses."""

    stream: str
    recordno: int
    source_id: str
    active: bool
    status: str | None = None
    email: str | None = None
    email_error: str | None = None
    name: str | None = None
    company_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    address: Address = field(default_factory=Address)
    extra: tuple[tuple[str, str], ...] = ()
    when_modified: str | None = None

    @property
    def email_key(self) -> str | None:
        """The lower-cased address, the member identity; None without a valid email."""
        return email_key(self.email) if self.email else None

    @property
    def is_customer(self) -> bool:
        return self.stream == STREAM_CUSTOMERS

    @property
    def customer_id(self) -> str:
        """The e-commerce customer id: "customer-<CUSTOMERID>" or "vendor-<VENDORID>"."""
        return ID_PREFIXES[self.stream] + self.source_id

    @property
    def label(self) -> str:
        return f"{self.stream} RECORDNO {self.recordno} ({ID_FIELDS[self.stream]} {self.source_id})"

    @property
    def merge_order(self) -> tuple[int, int, str]:
        """Sort key of the member merge: customers before vendors, lowest RECORDNO first."""
        return (0 if self.is_customer else 1, self.recordno, self.source_id)

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict; `ContactRecord.from_json` restores the same value."""
        data = asdict(self)
        data["extra"] = [list(pair) for pair in self.extra]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ContactRecord:
        values = dict(data)
        values["address"] = Address(**(values.get("address") or {}))
        values["extra"] = tuple((str(k), str(v)) for k, v in values.get("extra") or ())
        return cls(**values)


def _email_of(record: Mapping[str, Any]) -> tuple[str | None, str | None]:
    problems = []
    for path in ("DISPLAYCONTACT.EMAIL1", "DISPLAYCONTACT.EMAIL2"):
        raw = get_path(record, path)
        email, problem = check_email(raw)
        if email is not None:
            return email, None
        shown = f" {raw.strip()!r}" if isinstance(raw, str) and raw.strip() else ""
        problems.append(f"{path}{shown} {problem}")
    return None, "; ".join(problems)


def contact_from_record(
    stream: str, record: Mapping[str, Any], settings: MappingSettings
) -> ContactRecord | Rejected:
    """Extract a `ContactRecord` from a customers/vendors record (see module docstring)."""
    label = record_label(stream, record)
    if stream not in ID_FIELDS:
        return Rejected("unknown_stream", f"{label}: stream {stream!r} is not customers/vendors")
    recordno = as_recordno(record.get("RECORDNO"))
    if recordno is None:
        return Rejected(
            "recordno_missing",
            f"{label}: RECORDNO is missing or not an integer ({record.get('RECORDNO')!r}); "
            "select RECORDNO in the tap's catalog",
        )
    id_field = ID_FIELDS[stream]
    source_id, id_problem = check_object_id(record.get(id_field))
    if source_id is None:
        return Rejected(
            "id_invalid",
            f"{label}: {id_field} {record.get(id_field)!r} {id_problem}; "
            f"change the {id_field} in Intacct",
        )
    status = clean_text(record.get("STATUS"))
    active = status is None or status.casefold() not in INACTIVE_STATUSES
    email, email_error = _email_of(record)

    def text(path: str) -> str | None:
        return clean_text(get_path(record, path))

    address = Address(
        addr1=text("DISPLAYCONTACT.MAILADDRESS.ADDRESS1"),
        addr2=text("DISPLAYCONTACT.MAILADDRESS.ADDRESS2"),
        city=text("DISPLAYCONTACT.MAILADDRESS.CITY"),
        state=text("DISPLAYCONTACT.MAILADDRESS.STATE"),
        zip=text("DISPLAYCONTACT.MAILADDRESS.ZIP"),
        country_code=text("DISPLAYCONTACT.MAILADDRESS.COUNTRYCODE"),
        country=text("DISPLAYCONTACT.MAILADDRESS.COUNTRY"),
    )
    extra: list[tuple[str, str]] = []
    for tag, path in sorted(settings.merge_fields.items()):
        value = text(path)
        if value is not None:
            extra.append((tag, value))
    try:
        when_modified = iso_datetime(record.get("WHENMODIFIED"))
    except ValueError:
        when_modified = None
    return ContactRecord(
        stream=stream,
        recordno=recordno,
        source_id=source_id,
        active=active,
        status=status,
        email=email,
        email_error=email_error,
        name=text("NAME"),
        company_name=text("DISPLAYCONTACT.COMPANYNAME"),
        first_name=text("DISPLAYCONTACT.FIRSTNAME"),
        last_name=text("DISPLAYCONTACT.LASTNAME"),
        phone=text("DISPLAYCONTACT.PHONE1"),
        address=address,
        extra=tuple(extra),
        when_modified=when_modified,
    )


def contributes(contact: ContactRecord, settings: MappingSettings) -> bool:
    """True when the contact takes part in its member (valid email, not ignored)."""
    if contact.email is None:
        return False
    return contact.active or settings.inactive_records != "ignore"


def contact_outcome(contact: ContactRecord, settings: MappingSettings) -> Rejected | Skipped | None:
    """Skipped (inactive, ignored), Rejected (no valid email) or None (write it)."""
    if not contact.active and settings.inactive_records == "ignore":
        return Skipped(
            "inactive",
            f"{contact.label} is inactive and inactive_records is 'ignore'; set "
            "inactive_records to 'tag' or 'archive' to write inactive records",
        )
    if contact.email is None:
        return Rejected(
            "email_invalid",
            f"{contact.label} has no valid email: {contact.email_error}; "
            "enter a valid address in the contact's EMAIL1 in Intacct",
        )
    return None
