"""Settings of the Intacct -> Mailchimp mapping.

`MappingSettings` is a frozen dataclass; every field has the default a new user expects.
`MappingSettings.from_config(config)` reads the same names from the target's config and
ignores every other key, so the sink can pass its whole config in::

    settings = MappingSettings.from_config(self.config)

Invalid values raise `ValueError` naming the setting: a bad setting stops the run before a
record is written, which is what an operator wants.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Literal

InactiveMode = Literal["ignore", "tag", "archive"]
OnDeleteMode = Literal["archive", "tag", "ignore"]
#: What a customer or vendor deleted in Intacct does to its member (when no live record
#: shares the address): archive it, tag it (`deleted_tag`, its own tag removed), or nothing.
ON_DELETE_MODES: tuple[str, ...] = ("archive", "tag", "ignore")
INACTIVE_MODES: tuple[str, ...] = ("ignore", "tag", "archive")

#: Statuses Mailchimp accepts in `status_if_new` that never force a status on anyone.
STATUS_IF_NEW_VALUES: tuple[str, ...] = (
    "subscribed",
    "pending",
    "transactional",
    "unsubscribed",
)

#: The one line a run stops with when `status_if_new` is not set.
CONSENT_REQUIRED = (
    "setting 'status_if_new' is required (no default: consent is the operator's decision): "
    "'subscribed' adds new addresses as subscribers who get marketing email (only with their "
    "consent), 'transactional' adds them for order and account email only (no marketing), "
    "'pending' sends them a confirmation email first (double opt-in); "
    "'vendor_status_if_new' may differ for vendors; see docs/consent.md"
)

#: Intacct AP bill STATE -> Mailchimp order financial_status. States not listed map to
#: `financial_status_default` ("pending"). Keys are compared case-insensitively.
DEFAULT_FINANCIAL_STATUS_MAP: Mapping[str, str] = MappingProxyType(
    {
        "Paid": "paid",
        "Reversed": "cancelled",
        "Reversal": "cancelled",
        "Declined": "cancelled",
    }
)

#: Merge tags: upper-case letters, digits and underscores, starting with a letter, at most 10
#: characters (Mailchimp generates tags of that shape; longer tags are not reliably accepted).
MERGE_TAG_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,9}$")
_STORE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,49}$")


def _frozen_map(value: Mapping[str, str] | None, setting: str) -> Mapping[str, str]:
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, Mapping):
        raise ValueError(f"setting {setting!r} must be an object of strings, got {value!r}")
    out: dict[str, str] = {}
    for key, val in value.items():
        if not isinstance(key, str) or not isinstance(val, str) or not key or not val:
            raise ValueError(
                f"setting {setting!r}: every key and value must be a non-empty string, "
                f"got {key!r}: {val!r}"
            )
        out[key] = val
    return MappingProxyType(out)


@dataclass(frozen=True)
class MappingSettings:
    """How Intacct records become Mailchimp payloads.

    - `status_if_new`: status given to addresses new to the audience from customers
      ("subscribed", "pending" for double opt-in, "transactional", "unsubscribed"). A target
      config must set it (`from_config` refuses a config without it: `CONSENT_REQUIRED`); the
      dataclass default only serves code that builds settings itself. Existing members keep
      their status: the mapping never sends `status`.
    - `vendor_status_if_new`: the same for addresses only vendors have (None:
      `status_if_new`). An address that is also a customer's is a customer's; Mailchimp applies
      status_if_new only when it creates the member, so the records known then decide.
    - `customer_tag` / `vendor_tag`: tags added to members coming from customers / vendors.
    - `inactive_records`: "ignore" (inactive records contribute nothing), "tag" (written and
      tagged `inactive_tag` while every record for the address is inactive), "archive" (the
      member is archived when every record for the address is inactive).
    - `inactive_tag`: the tag used by `inactive_records="tag"`.
    - `on_delete`: a customer or vendor deleted in Intacct whose address no live record
      shares: "archive" (default; the member is archived), "tag" (its customer/vendor tag is
      removed and `deleted_tag` added), "ignore" (nothing). With a live record sharing the
      address, only the deleted record's tag is removed.
    - `deleted_tag`: the tag used by `on_delete="tag"`.
    - `merge_fields`: extra merge fields, {"MERGE_TAG": "DOTTED.INTACCT.PATH"}, written as text.
      A tag here also overrides the built-in source of that tag (e.g. {"PHONE":
      "DISPLAYCONTACT.PHONE2"}).
    - `store_id`: the e-commerce store customers, products and orders belong to.
    - `financial_status_map`: Intacct bill STATE -> order financial_status; merged over
      `DEFAULT_FINANCIAL_STATUS_MAP`, compared case-insensitively.
    - `financial_status_default`: financial_status of states the map does not name.
    """

    status_if_new: str = "subscribed"
    vendor_status_if_new: str | None = None
    customer_tag: str = "Intacct customer"
    vendor_tag: str = "Intacct vendor"
    inactive_records: InactiveMode = "ignore"
    inactive_tag: str = "Intacct inactive"
    on_delete: OnDeleteMode = "archive"
    deleted_tag: str = "Intacct deleted"
    merge_fields: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    store_id: str = "intacct"
    financial_status_map: Mapping[str, str] = field(
        default_factory=lambda: DEFAULT_FINANCIAL_STATUS_MAP
    )
    financial_status_default: str = "pending"

    def __post_init__(self) -> None:
        if self.status_if_new not in STATUS_IF_NEW_VALUES:
            raise ValueError(
                f"setting 'status_if_new' must be one of {', '.join(STATUS_IF_NEW_VALUES)}; "
                f"got {self.status_if_new!r}"
            )
        if self.vendor_status_if_new is not None and (
            self.vendor_status_if_new not in STATUS_IF_NEW_VALUES
        ):
            raise ValueError(
                "setting 'vendor_status_if_new' must be one of "
                f"{', '.join(STATUS_IF_NEW_VALUES)}; got {self.vendor_status_if_new!r}"
            )
        if self.inactive_records not in INACTIVE_MODES:
            raise ValueError(
                f"setting 'inactive_records' must be one of {', '.join(INACTIVE_MODES)}; "
                f"got {self.inactive_records!r}"
            )
        if self.on_delete not in ON_DELETE_MODES:
            raise ValueError(
                f"setting 'on_delete' must be one of {', '.join(ON_DELETE_MODES)}; "
                f"got {self.on_delete!r}"
            )
        for name in ("customer_tag", "vendor_tag", "inactive_tag", "deleted_tag"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip() or len(value) > 100:
                raise ValueError(
                    f"setting {name!r} must be a non-empty tag name of at most 100 characters"
                )
        extra = _frozen_map(self.merge_fields, "merge_fields")
        for tag in extra:
            if not MERGE_TAG_RE.match(tag):
                raise ValueError(
                    f"setting 'merge_fields': {tag!r} is not a valid merge tag "
                    "(upper-case letters, digits and '_', starting with a letter, at most 10)"
                )
            if tag == "ADDRESS":
                raise ValueError(
                    "setting 'merge_fields': ADDRESS is built from DISPLAYCONTACT.MAILADDRESS "
                    "and cannot be mapped from a single field"
                )
        object.__setattr__(self, "merge_fields", extra)
        if not isinstance(self.store_id, str) or not _STORE_ID_RE.match(self.store_id):
            raise ValueError(
                "setting 'store_id' must be 1-50 characters of letters, digits, '_', '.', '-'; "
                f"got {self.store_id!r}"
            )
        merged = dict(DEFAULT_FINANCIAL_STATUS_MAP)
        merged.update(_frozen_map(self.financial_status_map, "financial_status_map"))
        object.__setattr__(self, "financial_status_map", MappingProxyType(merged))
        if not isinstance(self.financial_status_default, str) or not (
            self.financial_status_default.strip()
        ):
            raise ValueError("setting 'financial_status_default' must be a non-empty string")

    def status_if_new_for(self, *, customer: bool, vendor: bool) -> str:
        """`status_if_new` of an address: a customer's when any record is a customer's, else
        (vendors only) `vendor_status_if_new`, which defaults to `status_if_new`."""
        if vendor and not customer:
            return self.vendor_status_if_new or self.status_if_new
        return self.status_if_new

    def financial_status_for(self, state: str | None) -> str:
        """The financial_status the map gives an Intacct STATE (case-insensitive)."""
        if state is not None:
            wanted = state.strip().casefold()
            for key, value in self.financial_status_map.items():
                if key.strip().casefold() == wanted:
                    return value
        return self.financial_status_default

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MappingSettings:
        """Build settings from a target config; keys that are not settings are ignored.

        `status_if_new` must be set: a config without it raises `CONSENT_REQUIRED`.
        """
        if config.get("status_if_new") in (None, ""):
            raise ValueError(CONSENT_REQUIRED)
        names = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in config.items() if k in names and v is not None}
        return cls(**kwargs)
