"""Mailchimp-shaped records from other taps: validation and safety rules."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from target_mailchimp.mapping import (
    MappingSettings,
    MemberPayload,
    ObjectPayload,
    Rejected,
    Skipped,
    customer_from_mailchimp,
    dumps_exact,
    member_from_mailchimp,
    order_from_mailchimp,
    product_from_mailchimp,
    subscriber_hash,
)

SCHEMAS = Path(__file__).resolve().parents[1] / "sandbox" / "reference" / "mailchimp-schemas"
DEFAULT = MappingSettings()


def validate(schema_name: str, body: dict[str, Any]) -> None:
    schema = json.loads((SCHEMAS / f"{schema_name}.in.json").read_text())
    jsonschema.validate(json.loads(dumps_exact(body)), schema["properties"]["requestBody"])


def as_member(record: dict[str, Any], settings: MappingSettings = DEFAULT) -> MemberPayload:
    result = member_from_mailchimp(record, settings)
    assert isinstance(result, MemberPayload), result
    return result


# ---------------------------------------------------------------- list_members


def test_status_becomes_status_if_new() -> None:
    m = as_member({"email_address": "a@example.com", "status": "unsubscribed"})
    assert m.body == {"email_address": "a@example.com", "status_if_new": "unsubscribed"}
    assert "status" not in m.body
    validate("putListsIdMembersId", m.body)


def test_status_if_new_kept_and_status_dropped() -> None:
    m = as_member(
        {"email_address": "a@example.com", "status": "subscribed", "status_if_new": "pending"}
    )
    assert m.body["status_if_new"] == "pending" and "status" not in m.body


def test_default_status_if_new_from_settings() -> None:
    m = as_member({"email_address": "a@example.com"}, MappingSettings(status_if_new="pending"))
    assert m.body["status_if_new"] == "pending"


def test_archived_member_skipped_and_bad_status_rejected() -> None:
    r = member_from_mailchimp({"email_address": "a@example.com", "status": "archived"}, DEFAULT)
    assert isinstance(r, Skipped) and r.code == "archived"
    r = member_from_mailchimp({"email_address": "a@example.com", "status": "vip"}, DEFAULT)
    assert isinstance(r, Rejected) and r.code == "status_invalid"


@pytest.mark.parametrize(
    ("record", "code"),
    [
        ({"status": "subscribed"}, "required_missing"),
        ({"email_address": None}, "required_missing"),
        ({"email_address": "not-an-email"}, "email_invalid"),
        ({"email_address": "a@example.com", "merge_fields": "FNAME=Ann"}, "invalid_type"),
        ({"email_address": "a@example.com", "email_type": "pdf"}, "invalid_value"),
        ({"email_address": "a@example.com", "tags": "VIP"}, "invalid_type"),
    ],
)
def test_member_rejections(record: dict[str, Any], code: str) -> None:
    result = member_from_mailchimp(record, DEFAULT)
    assert isinstance(result, Rejected) and result.code == code
    assert "list_members" in result.reason


def test_member_from_a_mailchimp_tap_keeps_only_writable_fields() -> None:
    record = {
        "id": "ignored",
        "email_address": " Ann@Example.com ",
        "unique_email_id": "abc",
        "web_id": 1,
        "status": "subscribed",
        "merge_fields": {
            "FNAME": "Ann" + "é" * 200,
            "ADDRESS": {
                "addr1": "1 Main",
                "city": "X",
                "state": "CA",
                "zip": "94000",
                "addr2": None,
            },
            "BIRTHDAY": date(1990, 5, 1),
            "NUM": Decimal("3"),
            "EMPTY": None,
        },
        "interests": {"abc": True},
        "stats": {"avg_open_rate": 0},
        "location": {"latitude": 0, "longitude": 0, "gmtoff": 0, "timezone": ""},
        "last_changed": datetime(2024, 1, 1, tzinfo=UTC),
        "list_id": "other-list",
        "vip": False,
        "language": "",
        "tags": [{"id": 1, "name": "Influencer"}, "VIP"],
        "_links": [],
    }
    m = as_member(record)
    assert m.body["email_address"] == "Ann@Example.com"
    assert m.subscriber_hash == subscriber_hash("ann@example.com")
    assert set(m.body) == {
        "email_address",
        "status_if_new",
        "merge_fields",
        "interests",
        "vip",
        "language",
    }
    assert len(m.body["merge_fields"]["FNAME"].encode()) <= 255
    assert m.body["merge_fields"]["ADDRESS"] == {
        "addr1": "1 Main",
        "city": "X",
        "state": "CA",
        "zip": "94000",
    }
    assert m.body["merge_fields"]["BIRTHDAY"] == "1990-05-01"
    assert "EMPTY" not in m.body["merge_fields"]
    assert m.tags == {"Influencer": True, "VIP": True}
    validate("putListsIdMembersId", m.body)


def test_member_location_kept_when_set() -> None:
    m = as_member({"email_address": "a@example.com", "location": {"latitude": 1.5, "longitude": 2}})
    assert m.body["location"] == {"latitude": Decimal("1.5"), "longitude": 2}


# ---------------------------------------------------------------- ecommerce_customers


def test_customer_pass_through() -> None:
    result = customer_from_mailchimp(
        {
            "id": "shop-42",
            "email_address": "b@example.com",
            "first_name": " Bo ",
            "last_name": None,
            "company": "",
            "orders_count": 3,
            "total_spent": 10.5,
            "address": {"address1": "1 Main", "city": "Town", "longitude": 3},
        }
    )
    assert isinstance(result, ObjectPayload)
    assert result.kind == "customer" and result.object_id == "shop-42"
    assert result.body == {
        "id": "shop-42",
        "email_address": "b@example.com",
        "opt_in_status": False,
        "first_name": "Bo",
        "address": {"address1": "1 Main", "city": "Town"},
    }
    validate("putEcommerceStoresIdCustomersId", result.body)
    opted = customer_from_mailchimp(
        {"id": "c", "email_address": "b@example.com", "opt_in_status": True}
    )
    assert isinstance(opted, ObjectPayload) and opted.body["opt_in_status"] is True


@pytest.mark.parametrize(
    ("record", "code"),
    [
        ({"email_address": "b@example.com"}, "required_missing"),
        ({"id": "c-1"}, "required_missing"),
        ({"id": "c/1", "email_address": "b@example.com"}, "id_invalid"),
        ({"id": "c-1", "email_address": "b@"}, "email_invalid"),
        ({"id": "c-1", "email_address": "b@example.com", "opt_in_status": "yes"}, "invalid_type"),
    ],
)
def test_customer_rejections(record: dict[str, Any], code: str) -> None:
    result = customer_from_mailchimp(record)
    assert isinstance(result, Rejected) and result.code == code


# ---------------------------------------------------------------- ecommerce_products


def test_product_pass_through() -> None:
    result = product_from_mailchimp(
        {
            "id": "p1",
            "title": "Widget",
            "vendor": None,
            "published_at_foreign": date(2024, 1, 1),
            "variants": [
                {
                    "id": "p1-a",
                    "title": "Widget A",
                    "price": 9.99,
                    "inventory_quantity": 5,
                    "created_at": "x",
                }
            ],
            "_links": [],
        }
    )
    assert isinstance(result, ObjectPayload) and result.kind == "product"
    assert result.body == {
        "id": "p1",
        "title": "Widget",
        "published_at_foreign": "2024-01-01",
        "variants": [
            {"id": "p1-a", "title": "Widget A", "price": Decimal("9.99"), "inventory_quantity": 5}
        ],
    }
    validate("postEcommerceStoresIdProducts", result.body)


@pytest.mark.parametrize(
    "record",
    [
        {"title": "x", "variants": [{"id": "v", "title": "v"}]},
        {"id": "p", "variants": [{"id": "v", "title": "v"}]},
        {"id": "p", "title": "x", "variants": []},
        {"id": "p", "title": "x"},
        {"id": "p", "title": "x", "variants": [{"id": "v"}]},
        {"id": "p", "title": "x", "variants": [{"title": "v"}]},
        {"id": "p", "title": "x", "variants": [{"id": "v", "title": "v", "price": "cheap"}]},
    ],
)
def test_product_rejections(record: dict[str, Any]) -> None:
    result = product_from_mailchimp(record)
    assert isinstance(result, Rejected)
    assert "ecommerce_products" in result.reason


# ---------------------------------------------------------------- ecommerce_orders


def order_record(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": "o1",
        "customer": {
            "id": "c1",
            "email_address": "c@example.com",
            "opt_in_status": False,
            "orders_count": 2,
        },
        "currency_code": "USD",
        "order_total": Decimal("12345678901234567.89"),
        "tax_total": 1.5,
        "financial_status": "paid",
        "processed_at_foreign": datetime(2024, 1, 5, tzinfo=UTC),
        "store_id": "elsewhere",
        "lines": [
            {
                "id": "l1",
                "product_id": "p1",
                "product_variant_id": "p1-a",
                "quantity": Decimal(2),
                "price": Decimal("5.00"),
                "product_title": "ro",
            }
        ],
        "_links": [],
    }
    record.update(changes)
    return record


def test_order_pass_through() -> None:
    result = order_from_mailchimp(order_record())
    assert isinstance(result, ObjectPayload) and result.kind == "order"
    assert result.body == {
        "id": "o1",
        "customer": {"id": "c1", "email_address": "c@example.com", "opt_in_status": False},
        "currency_code": "USD",
        "order_total": Decimal("12345678901234567.89"),
        "tax_total": Decimal("1.5"),
        "financial_status": "paid",
        "processed_at_foreign": "2024-01-05T00:00:00+00:00",
        "lines": [
            {
                "id": "l1",
                "product_id": "p1",
                "product_variant_id": "p1-a",
                "quantity": 2,
                "price": Decimal("5.00"),
            }
        ],
    }
    assert '"order_total":12345678901234567.89' in result.to_json()
    validate("postEcommerceStoresIdOrders", result.body)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"id": None}, "required_missing"),
        ({"customer": None}, "invalid_type"),
        ({"customer": {"email_address": "c@example.com"}}, "required_missing"),
        ({"currency_code": "XYZ"}, "currency_invalid"),
        ({"currency_code": None}, "required_missing"),
        ({"order_total": None}, "required_missing"),
        ({"order_total": "lots"}, "amount_invalid"),
        ({"lines": []}, "no_lines"),
        ({"lines": None}, "no_lines"),
        (
            {
                "lines": [
                    {
                        "id": "l",
                        "product_id": "p",
                        "product_variant_id": "v",
                        "quantity": 1.5,
                        "price": 1,
                    }
                ]
            },
            "invalid_type",
        ),
        (
            {"lines": [{"id": "l", "product_id": "p", "quantity": 1, "price": 1}]},
            "required_missing",
        ),
        (
            {"lines": [{"id": "l", "product_id": "p", "product_variant_id": "v", "quantity": 1}]},
            "required_missing",
        ),
    ],
)
def test_order_rejections(changes: dict[str, Any], code: str) -> None:
    result = order_from_mailchimp(order_record(**changes))
    assert isinstance(result, Rejected) and result.code == code, result
    assert "ecommerce_orders" in result.reason
