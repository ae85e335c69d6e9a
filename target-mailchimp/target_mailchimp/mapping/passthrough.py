"""Mailchimp-shaped records from other taps, validated and made safe.

Streams `list_members`, `ecommerce_customers`, `ecommerce_products` and `ecommerce_orders`
carry bodies already in Mailchimp's shape (e.g. from a Mailchimp tap or a warehouse model).
They pass through with the same safety rules as Intacct data:

- `member_from_mailchimp(record, settings) -> MemberPayload | Rejected | Skipped`:
  `email_address` required and checked like Intacct emails. A `status` field is NEVER
  sent: it becomes `status_if_new` when that is absent (so a new member gets it and an
  existing member keeps theirs); `status: "archived"` is Skipped. Without either,
  `settings.status_if_new` applies. `tags` (names or {"name": ...} objects) are added.
  Read-only fields of a member object (id, stats, list_id, last_changed, ...) are dropped;
  the member is written to the target's configured audience, whatever `list_id` says.
- `customer_from_mailchimp(record) -> ObjectPayload | Rejected`: `id` and `email_address`
  required (Mailchimp needs an email to create a customer); `opt_in_status` defaults to false.
- `product_from_mailchimp(record) -> ObjectPayload | Rejected`: `id`, `title` and at least
  one variant with `id` and `title` required.
- `order_from_mailchimp(record) -> ObjectPayload | Rejected`: `id`, `customer.id`,
  `currency_code` (ISO 4217), `order_total` (number) and at least one line with `id`,
  `product_id`, `product_variant_id`, `quantity` (integer) and `price` (number) required.

Common rules: keys Mailchimp does not accept in a request are dropped; null values are
dropped (Mailchimp refuses null where it expects a string); text merge-field values are
truncated to 255 UTF-8 bytes; numbers become Decimal; dates and date-times become ISO 8601
strings; ids used in URL paths must not contain '/'.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from target_mailchimp.mapping.common import (
    STREAM_EC_CUSTOMERS,
    STREAM_EC_ORDERS,
    STREAM_EC_PRODUCTS,
    STREAM_LIST_MEMBERS,
    check_email,
    check_object_id,
    email_key,
    iso_datetime,
    record_label,
    to_decimal,
    truncate_utf8,
)
from target_mailchimp.mapping.currencies import check_currency
from target_mailchimp.mapping.members import MemberPayload
from target_mailchimp.mapping.payloads import ObjectPayload
from target_mailchimp.mapping.results import Rejected, Skipped
from target_mailchimp.mapping.settings import MappingSettings

MEMBER_STATUSES = ("subscribed", "unsubscribed", "cleaned", "pending", "transactional")
_MEMBER_KEYS = (
    "email_type",
    "merge_fields",
    "interests",
    "language",
    "vip",
    "location",
    "marketing_permissions",
    "ip_signup",
    "timestamp_signup",
    "ip_opt",
    "timestamp_opt",
)
_ADDRESS_KEYS = (
    "address1",
    "address2",
    "city",
    "province",
    "province_code",
    "postal_code",
    "country",
    "country_code",
)
_ORDER_ADDRESS_KEYS = (*_ADDRESS_KEYS, "name", "longitude", "latitude", "phone", "company")
_CUSTOMER_KEYS = ("company", "first_name", "last_name")
_PRODUCT_KEYS = (
    "handle",
    "url",
    "description",
    "type",
    "vendor",
    "image_url",
    "published_at_foreign",
)
_VARIANT_KEYS = (
    "url",
    "sku",
    "price",
    "inventory_quantity",
    "image_url",
    "backorders",
    "visibility",
)
_ORDER_KEYS = (
    "campaign_id",
    "landing_site",
    "financial_status",
    "fulfillment_status",
    "order_url",
    "discount_total",
    "tax_total",
    "shipping_total",
    "tracking_code",
    "tracking_number",
    "tracking_carrier",
    "tracking_url",
    "processed_at_foreign",
    "cancelled_at_foreign",
    "updated_at_foreign",
)
_ORDER_MONEY = ("discount_total", "tax_total", "shipping_total")


class _InvalidError(Exception):
    """A record problem found while cleaning; becomes a Rejected."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _plain(value: Any) -> Any:
    """Drop None values, turn dates into ISO strings and floats into Decimal, recursively."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value if v is not None]
    if isinstance(value, datetime):
        return iso_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return to_decimal(value)
    return value


def _pick(record: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: _plain(record[k]) for k in keys if record.get(k) is not None}


def _money(value: Any, where: str) -> Decimal:
    try:
        number = to_decimal(value)
    except ValueError as exc:
        raise _InvalidError("amount_invalid", f"{where} {exc}") from exc
    if number is None:
        raise _InvalidError("required_missing", f"{where} is required")
    return number


def _required_id(value: Any, where: str) -> str:
    text, problem = check_object_id(value)
    if text is None:
        raise _InvalidError(
            "required_missing" if problem == "is empty" else "id_invalid", f"{where} {problem}"
        )
    return text


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _InvalidError(
            "invalid_type", f"{where} must be an object, got {type(value).__name__}"
        )
    return value


def _text_merge(value: Any) -> Any:
    if isinstance(value, str):
        return truncate_utf8(value)
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _text_merge(v) for k, v in value.items() if v is not None}
    if isinstance(value, float):
        return to_decimal(value)
    return value


def _tags(value: Any, where: str) -> dict[str, bool]:
    if value is None:
        return {}
    if not isinstance(value, list):
        raise _InvalidError("invalid_type", f"{where}: tags must be a list of names")
    tags: dict[str, bool] = {}
    for tag in value:
        name = tag.get("name") if isinstance(tag, Mapping) else tag
        if not isinstance(name, str) or not name.strip():
            raise _InvalidError("invalid_type", f"{where}: tag {tag!r} has no name")
        tags[name.strip()] = True
    return tags


def member_from_mailchimp(
    record: Mapping[str, Any], settings: MappingSettings
) -> MemberPayload | Rejected | Skipped:
    """A list_members record as a member payload (see module docstring)."""
    label = record_label(STREAM_LIST_MEMBERS, record)
    email, problem = check_email(record.get("email_address"))
    if email is None:
        code = "required_missing" if problem == "is empty" else "email_invalid"
        return Rejected(code, f"{label}: email_address {problem}; it is required and must be valid")
    status = record.get("status")
    status_if_new = record.get("status_if_new")
    if status_if_new is None and status is not None:
        if status == "archived":
            return Skipped(
                "archived",
                f"{label}: the member is archived in the source; archived members are not written",
            )
        status_if_new = status
    if status_if_new is None:
        status_if_new = settings.status_if_new
    if status_if_new not in MEMBER_STATUSES:
        return Rejected(
            "status_invalid",
            f"{label}: status {status_if_new!r} is not one of {', '.join(MEMBER_STATUSES)}",
        )
    try:
        body: dict[str, Any] = {"email_address": email, "status_if_new": status_if_new}
        extra = _pick(record, _MEMBER_KEYS)
        if "merge_fields" in extra:
            merge = _mapping(record["merge_fields"], f"{label}: merge_fields")
            extra["merge_fields"] = {
                str(k): _text_merge(v) for k, v in merge.items() if v is not None
            }
        if "location" in extra:
            location = _mapping(record["location"], f"{label}: location")
            kept = {k: _plain(location[k]) for k in ("latitude", "longitude") if k in location}
            if kept and any(v for v in kept.values()):
                extra["location"] = kept
            else:
                del extra["location"]
        if extra.get("email_type") not in (None, "html", "text"):
            raise _InvalidError("invalid_value", f"{label}: email_type must be 'html' or 'text'")
        body.update(extra)
        tags = _tags(record.get("tags"), label)
    except _InvalidError as exc:
        return Rejected(exc.code, exc.message)
    return MemberPayload(
        email_address=email,
        body=body,
        tags=MappingProxyType(tags),
        sources=(f"{STREAM_LIST_MEMBERS}:{email_key(email)}",),
    )


def customer_from_mailchimp(record: Mapping[str, Any]) -> ObjectPayload | Rejected:
    """An ecommerce_customers record as a customer payload (see module docstring)."""
    label = record_label(STREAM_EC_CUSTOMERS, record)
    try:
        return _customer(record, label, require_email=True)
    except _InvalidError as exc:
        return Rejected(exc.code, exc.message)


def _customer(record: Mapping[str, Any], label: str, *, require_email: bool) -> ObjectPayload:
    cid = _required_id(record.get("id"), f"{label}: id")
    body: dict[str, Any] = {"id": cid}
    raw_email = record.get("email_address")
    if raw_email is not None or require_email:
        email, problem = check_email(raw_email)
        if email is None:
            raise _InvalidError(
                "required_missing" if problem == "is empty" else "email_invalid",
                f"{label}: email_address {problem}; Mailchimp needs a valid email to create "
                "a customer",
            )
        body["email_address"] = email
    opt_in = record.get("opt_in_status", False)
    if opt_in is None:
        opt_in = False
    if not isinstance(opt_in, bool):
        raise _InvalidError("invalid_type", f"{label}: opt_in_status must be true or false")
    if require_email or "opt_in_status" in record:
        body["opt_in_status"] = opt_in
    for key in _CUSTOMER_KEYS:
        value = record.get(key)
        if isinstance(value, str) and value.strip():
            body[key] = truncate_utf8(value.strip())
    if record.get("address") is not None:
        address = _pick(_mapping(record["address"], f"{label}: address"), _ADDRESS_KEYS)
        if address:
            body["address"] = address
    return ObjectPayload(kind="customer", object_id=cid, body=body)


def product_from_mailchimp(record: Mapping[str, Any]) -> ObjectPayload | Rejected:
    """An ecommerce_products record as a product payload (see module docstring)."""
    label = record_label(STREAM_EC_PRODUCTS, record)
    try:
        pid = _required_id(record.get("id"), f"{label}: id")
        title = record.get("title")
        if not isinstance(title, str) or not title.strip():
            raise _InvalidError("required_missing", f"{label}: title is required")
        body: dict[str, Any] = {"id": pid, "title": title.strip()}
        body.update(_pick(record, _PRODUCT_KEYS))
        variants = record.get("variants")
        if not isinstance(variants, list) or not variants:
            raise _InvalidError(
                "required_missing", f"{label}: at least one variant (id, title) is required"
            )
        out_variants = []
        for index, raw_variant in enumerate(variants, start=1):
            where = f"{label}: variant {index}"
            variant = _mapping(raw_variant, where)
            vtitle = variant.get("title")
            if not isinstance(vtitle, str) or not vtitle.strip():
                raise _InvalidError("required_missing", f"{where}: title is required")
            item: dict[str, Any] = {
                "id": _required_id(variant.get("id"), f"{where}: id"),
                "title": vtitle.strip(),
            }
            item.update(_pick(variant, _VARIANT_KEYS))
            if "price" in item:
                item["price"] = _money(variant["price"], f"{where}: price")
            out_variants.append(item)
        body["variants"] = out_variants
        if record.get("images") is not None:
            body["images"] = _plain(record["images"])
    except _InvalidError as exc:
        return Rejected(exc.code, exc.message)
    return ObjectPayload(kind="product", object_id=pid, body=body)


def order_from_mailchimp(record: Mapping[str, Any]) -> ObjectPayload | Rejected:
    """An ecommerce_orders record as an order payload (see module docstring)."""
    label = record_label(STREAM_EC_ORDERS, record)
    try:
        oid = _required_id(record.get("id"), f"{label}: id")
        customer_in = _mapping(record.get("customer"), f"{label}: customer")
        customer = _customer(customer_in, f"{label}: customer", require_email=False).body
        currency, problem = check_currency(record.get("currency_code"))
        if currency is None:
            raise _InvalidError(
                "required_missing" if problem == "is empty" else "currency_invalid",
                f"{label}: currency_code {problem}",
            )
        body: dict[str, Any] = {
            "id": oid,
            "customer": customer,
            "currency_code": currency,
            "order_total": _money(record.get("order_total"), f"{label}: order_total"),
        }
        body.update(_pick(record, _ORDER_KEYS))
        for key in _ORDER_MONEY:
            if key in body:
                body[key] = _money(record[key], f"{label}: {key}")
        for key in ("shipping_address", "billing_address"):
            if record.get(key) is not None:
                address = _pick(_mapping(record[key], f"{label}: {key}"), _ORDER_ADDRESS_KEYS)
                if address:
                    body[key] = address
        if record.get("promos") is not None:
            body["promos"] = _plain(record["promos"])
        lines = record.get("lines")
        if not isinstance(lines, list) or not lines:
            raise _InvalidError(
                "no_lines",
                f"{label}: at least one line is required (Mailchimp refuses an order "
                "without lines)",
            )
        out_lines = []
        for index, raw_line in enumerate(lines, start=1):
            where = f"{label}: line {index}"
            line = _mapping(raw_line, where)
            quantity = line.get("quantity")
            if isinstance(quantity, Decimal) and quantity == quantity.to_integral_value():
                quantity = int(quantity)
            if not isinstance(quantity, int) or isinstance(quantity, bool):
                raise _InvalidError("invalid_type", f"{where}: quantity must be an integer")
            item = {
                "id": _required_id(line.get("id"), f"{where}: id"),
                "product_id": _required_id(line.get("product_id"), f"{where}: product_id"),
                "product_variant_id": _required_id(
                    line.get("product_variant_id"), f"{where}: product_variant_id"
                ),
                "quantity": quantity,
                "price": _money(line.get("price"), f"{where}: price"),
            }
            if line.get("discount") is not None:
                item["discount"] = _money(line["discount"], f"{where}: discount")
            out_lines.append(item)
        body["lines"] = out_lines
    except _InvalidError as exc:
        return Rejected(exc.code, exc.message)
    return ObjectPayload(kind="order", object_id=oid, body=body)
