"""The API client sends the mapping's Decimal money exactly (bodies and batch operations)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from target_mailchimp.api import BatchOperation
from target_mailchimp.api.transport import encode_json_body


def test_decimals_are_exact_json_numbers() -> None:
    body = {"order_total": Decimal("12345678901234567.89"), "lines": [{"price": Decimal("0.10")}]}
    text = encode_json_body(body).decode()
    assert text == '{"order_total":12345678901234567.89,"lines":[{"price":0.10}]}'
    assert json.loads(text, parse_float=Decimal) == body


def test_plain_bodies_unchanged_and_nan_refused() -> None:
    assert (
        encode_json_body({"a": "é", "b": [1, None, True]}) == '{"a":"é","b":[1,null,true]}'.encode()
    )
    with pytest.raises(ValueError, match="JSON"):
        encode_json_body({"a": Decimal("NaN")})


def test_batch_operation_body_with_decimal() -> None:
    op = BatchOperation(
        "POST", "/ecommerce/stores/s/orders", "o1", {"order_total": Decimal("1.005")}
    )
    assert op.to_wire()["body"] == '{"order_total":1.005}'


def test_dot_segment_ids_are_refused_by_the_mapping() -> None:
    from target_mailchimp.mapping import check_object_id, customer_from_mailchimp

    for bad in (".", "..", " .. "):
        assert check_object_id(bad)[0] is None
    assert check_object_id(".a") == (".a", None)
    rejected = customer_from_mailchimp({"id": "..", "email_address": "a@x.com"})
    assert getattr(rejected, "action", None) == "rejected"


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), Decimal("-Infinity")])
def test_non_finite_floats_are_refused_not_sent_as_null(bad: object) -> None:
    # msgspec alone would write a NaN float as null: a broken amount must not become a missing one.
    with pytest.raises(ValueError, match=r"at order_total .*JSON"):
        encode_json_body({"order_total": bad})
    op = BatchOperation("POST", "/ecommerce/stores/s/orders", "o1", {"order_total": bad})
    with pytest.raises(ValueError, match="JSON"):
        op.to_wire()
