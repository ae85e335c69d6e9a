"""Exact-decimal JSON and the canonical payload hash."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from target_mailchimp.mapping import dumps_exact, jsonable, loads_exact, payload_hash


def test_large_decimal_is_written_exactly() -> None:
    text = dumps_exact({"order_total": Decimal("12345678901234567.89")})
    assert text == '{"order_total":12345678901234567.89}'
    # float would have lost the cents:
    assert json.dumps({"x": float(Decimal("12345678901234567.89"))}) != text
    assert loads_exact(text)["order_total"] == Decimal("12345678901234567.89")


def test_types_and_escaping() -> None:
    payload = {
        "s": 'quote " backslash \\ newline \n émoji 😀',
        "i": 3,
        "neg": Decimal("-0.50"),
        "exp": Decimal("1E+3"),
        "t": True,
        "f": False,
        "n": None,
        "l": (1, Decimal("2.0")),
        "d": date(2024, 1, 31),
        "dt": datetime(2024, 1, 31, 13, 5, 9, tzinfo=UTC),
        "fl": 0.25,
    }
    text = dumps_exact(payload)
    parsed = json.loads(text)  # standard JSON
    assert parsed["s"] == payload["s"]
    assert parsed["neg"] == -0.5 and '"neg":-0.50' in text
    assert parsed["exp"] == 1000
    assert parsed["l"] == [1, 2.0]
    assert parsed["d"] == "2024-01-31" and parsed["dt"] == "2024-01-31T13:05:09+00:00"
    assert parsed["t"] is True and parsed["f"] is False and parsed["n"] is None
    assert parsed["fl"] == 0.25


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity"), float("nan"), float("inf")])
def test_non_finite_numbers_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        dumps_exact({"x": bad})


def test_unknown_objects_and_keys_are_refused() -> None:
    with pytest.raises(TypeError):
        dumps_exact({"x": object()})
    with pytest.raises(TypeError):
        dumps_exact({1: "x"})


finite_decimals = st.decimals(allow_nan=False, allow_infinity=False)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | finite_decimals | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=20,
    )
)
def test_round_trip_keeps_every_decimal_exactly(value: object) -> None:
    back = loads_exact(dumps_exact(value))
    assert _same(back, value)


def _same(a: object, b: object) -> bool:
    if isinstance(b, Decimal):
        # The exact digits survive (an integral Decimal may come back as int).
        return Decimal(a) == b if isinstance(a, int | Decimal) else False
    if isinstance(b, dict):
        return isinstance(a, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in b)
    if isinstance(b, list):
        return isinstance(a, list) and len(a) == len(b) and all(map(_same, a, b))
    return a == b and type(a) is type(b)


@given(finite_decimals)
def test_decimal_text_is_exact(value: Decimal) -> None:
    text = dumps_exact(value)
    assert Decimal(text) == value
    assert Decimal(str(loads_exact(text))) == value


def test_payload_hash_is_canonical() -> None:
    a = {"b": Decimal("10.00"), "a": [1, {"y": 2, "x": "é"}]}
    b = {"a": [1, {"x": "é", "y": 2}], "b": 10}
    assert payload_hash(a) == payload_hash(b)
    assert payload_hash({"b": Decimal("10.01")}) != payload_hash({"b": Decimal("10")})
    assert payload_hash({"x": "1"}) != payload_hash({"x": 1})
    assert payload_hash({"x": [1, 2]}) != payload_hash({"x": [2, 1]})
    assert payload_hash({"x": True}) != payload_hash({"x": 1})
    assert len(payload_hash({})) == 64


def test_jsonable_converts_dates_and_floats() -> None:
    out = jsonable({"d": date(2024, 1, 2), "f": 0.1, "l": (1,), "n": None})
    assert out == {"d": "2024-01-02", "f": Decimal("0.1"), "l": [1], "n": None}


# Hashes the ledger holds from earlier versions: a change of the canonical form would make
# every stored payload look changed and rewrite everything once, so these stay fixed.
STORED_HASHES = [
    (
        {
            "id": "bill-1",
            "order_total": Decimal("1250.50"),
            "lines": [{"id": "1", "price": Decimal("0.10"), "quantity": 3}],
            "financial_status": "paid",
            "customer": {"id": "c-9", "email_address": "ä@example.com"},
        },
        "f16db91f52ad0b04b6acd36f450d311f25aa26026bd8e61955544838eb13b8bb",
    ),
    (
        {
            "email_address": "a@x.com",
            "status_if_new": "subscribed",
            "merge_fields": {"FNAME": 'Zoë "Q"\n\t\u0001', "N": None, "B": True},
            "tags": ["x", "y"],
        },
        "abbd89e2ae8711be829dcd397d780b2ed7bf6a69232197c7e09a90cf17674cf4",
    ),
    (
        {
            "d": date(2024, 1, 31),
            "dt": datetime(2024, 1, 31, 13, 5, 9, tzinfo=UTC),
            "f": 0.25,
            "e": Decimal("1E+3"),
            "z": Decimal("-0.00"),
        },
        "4425364d0d10a5e3f2715cdb76d63388d8f45403fef99eea054c15ece4b43063",
    ),
]


@pytest.mark.parametrize(("payload", "digest"), STORED_HASHES)
def test_payload_hash_keeps_the_stored_form(payload: dict[str, object], digest: str) -> None:
    assert payload_hash(payload) == digest


def test_long_numbers_hash_without_rounding() -> None:
    # More digits than the decimal module's default precision (28) must not round alike.
    a = Decimal("1234567890123456789012345678.91")
    assert payload_hash({"x": a}) != payload_hash({"x": a + Decimal("0.01")})
    assert payload_hash({"x": 10**30 + 1}) != payload_hash({"x": 10**30})
    assert payload_hash({"x": Decimal("1E+30")}) == payload_hash({"x": 10**30})


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("-Infinity"), float("nan"), float("-inf")])
def test_non_finite_numbers_are_named_where_they_sit(bad: object) -> None:
    payload = {"lines": [{"price": Decimal("1.00")}, {"price": bad}]}
    for encode in (dumps_exact, payload_hash):
        with pytest.raises(ValueError, match=r"at lines\[1\]\.price .*no NaN or Infinity"):
            encode(payload)
