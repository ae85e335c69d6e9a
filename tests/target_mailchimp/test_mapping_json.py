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
