"""The sinks' record check agrees with jsonschema, and takes its fast path for tap schemas."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from target_mailchimp.sinks.validation import RecordChecker, compile_schema
from tests.target_mailchimp.test_target_kit import bill, customer, payment, tap_schema

SCHEMAS = {s: tap_schema(s) for s in ("customers", "vendors", "ap_bills", "ap_payments")}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
    st.text(max_size=5),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)


def records_for(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    names = sorted(schema["properties"])
    nested = {
        name: sorted(sub.get("items", sub).get("properties", {}))
        for name, sub in schema["properties"].items()
        if sub.get("items", sub).get("properties")
    }

    def nested_value(name: str) -> st.SearchStrategy[Any]:
        inner = st.dictionaries(st.sampled_from(nested[name]), values, max_size=4)
        return st.one_of(values, inner, st.lists(inner, max_size=2))

    field = st.sampled_from(names).flatmap(
        lambda n: st.tuples(st.just(n), nested_value(n) if n in nested else values)
    )
    return st.lists(field, max_size=8).map(dict)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=st.data())
def test_verdict_equals_jsonschema(data: st.DataObject) -> None:
    stream = data.draw(st.sampled_from(sorted(SCHEMAS)))
    schema = SCHEMAS[stream]
    record = data.draw(records_for(schema))
    checker = RecordChecker(schema)
    assert checker.fast
    expected = jsonschema.Draft7Validator(schema).is_valid(record)
    assert (checker.problem(record) is None) is expected


def test_real_records_pass_and_bad_ones_are_explained() -> None:
    assert RecordChecker(SCHEMAS["customers"]).problem(customer(1, "C1", "a@x.com")) is None
    assert RecordChecker(SCHEMAS["ap_bills"]).problem(bill(1, "V1")) is None
    assert RecordChecker(SCHEMAS["ap_payments"]).problem(payment(1, [(1, "2")])) is None
    error = RecordChecker(SCHEMAS["ap_bills"]).problem({**bill(1, "V1"), "TOTALENTERED": "x"})
    assert error is not None and list(error.absolute_path) == ["TOTALENTERED"]
    nested = bill(1, "V1")
    nested["lines"][0]["RECORDNO"] = "one"
    error = RecordChecker(SCHEMAS["ap_bills"]).problem(nested)
    assert error is not None and list(error.absolute_path) == ["lines", 0, "RECORDNO"]


def test_other_keywords_use_the_full_validator() -> None:
    schema = {"type": "object", "properties": {"s": {"enum": ["a", "b"]}}}
    assert compile_schema(schema) is None
    checker = RecordChecker(schema)
    assert not checker.fast
    assert checker.problem({"s": "a"}) is None
    assert checker.problem({"s": "c"}) is not None
    # An integral float is an integer for jsonschema: the fast path's "no" is re-checked.
    loose = RecordChecker({"type": "object", "properties": {"n": {"type": "integer"}}})
    assert loose.fast and loose.problem({"n": 2.0}) is None
    assert loose.problem({"n": Decimal("2.5")}) is not None
