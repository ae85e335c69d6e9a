"""The benchmarks at small counts, in `make test`, so they cannot rot.

One quick run of every measurement (``python -m tests.benchmarks --quick``). Times and
memory at these sizes are start-up noise, so only what is stable is asserted, counts not
times: the runner writes its table, the bare loop read the tap's very pages, the Mailchimp call
counts per 1,000 are within their goals, a rerun writes nothing, the tap at 250 ms kept two
requests in flight and none was refused, the backfill went through batches. The full figures
come from `make bench`.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.benchmarks.__main__ import run
from tests.benchmarks.common import Figure

Quick = tuple[list[Figure], Path, Path]


def test_quick_benchmarks(tmp_path: Path) -> None:
    """One quick run (a single test, so pytest-xdist never runs it on two workers at once),
    then every check below on its figures."""
    quick = run(quick=True, out=tmp_path)
    for check in CHECKS:
        check(quick)


def _one(figures: list[Figure], measurement: str, name_part: str) -> Figure:
    found = [f for f in figures if f.measurement.startswith(measurement) and name_part in f.name]
    assert len(found) == 1, [f.name for f in figures if f.measurement.startswith(measurement)]
    return found[0]


def check_every_measurement_writes_a_row_to_markdown_and_json(
    quick: Quick,
) -> None:
    figures, md, js = quick
    assert {f.measurement[0] for f in figures} == set("12345678")
    text = md.read_text("utf-8")
    assert "| # | figure | value | goal | |" in text
    for figure in figures:
        assert figure.name in text
    data = json.loads(js.read_text("utf-8"))
    assert data["quick"] is True
    assert [f["name"] for f in data["figures"]] == [f.name for f in figures]
    for row in data["figures"]:
        assert row["value"] >= 0
        assert row["met"] in (True, False, None)
        if row["goal"] is not None:
            assert row["met"] == (
                row["value"] <= row["goal"] if row["op"] == "<=" else row["value"] >= row["goal"]
            )


def check_the_bare_loop_read_what_the_tap_read(quick: Quick) -> None:
    # extract_and_compare stops the run when the record counts differ; here the sizes.
    figure = _one(quick[0], "1", "wall time")
    assert figure.detail["bills"] == 600
    assert figure.detail["query_requests"] >= 2
    assert figure.detail["tap_cpu_s"] > 0 and figure.detail["bare_cpu_s"] > 0


def check_member_writes_per_thousand_within_the_goal(
    quick: Quick,
) -> None:
    figure = _one(quick[0], "2", "member writes")
    assert figure.detail["members"] > 1000
    assert figure.met, figure


def check_synchronous_customers_and_orders_take_one_call_each(
    quick: Quick,
) -> None:
    customers = _one(quick[0], "2", "customer calls per 1,000 customers, synchronous")
    assert customers.met, customers
    assert customers.detail["refused_for_concurrency"] == 0
    orders = _one(quick[0], "2", "order calls per 1,000 orders, synchronous")
    # At this size the run's fixed calls (store, one product per GL account) weigh on the
    # per-1,000 figure; the calls of the orders themselves are stable: one per order.
    assert orders.detail["orders_calls"] == orders.detail["orders"] > 0
    assert orders.detail["refused_for_concurrency"] == 0


def check_backfill_goes_through_batches_within_the_goal(
    quick: Quick,
) -> None:
    customers = _one(quick[0], "2", "customer calls per 1,000 customers, large backfill")
    orders = _one(quick[0], "2", "order calls per 1,000 orders, large backfill")
    for figure in (customers, orders):
        assert figure.met, figure
    assert customers.detail["batch_calls"] > 0
    assert orders.detail["batches_calls"] > 0
    assert orders.detail["batch_operations"] >= orders.detail["orders"]


def check_a_rerun_of_the_same_input_writes_nothing(quick: Quick) -> None:
    figure = _one(quick[0], "4", "write calls of the second run")
    assert figure.value == 0
    assert figure.detail["first_run_writes"] > 0


def check_throughput_memory_and_end_to_end_are_measured(
    quick: Quick,
) -> None:
    figures = quick[0]
    members = _one(figures, "3", "members")
    assert members.detail["members"] == 1000 and members.value > 0
    orders = _one(figures, "3", "orders")
    assert orders.detail["orders"] > 0 and orders.detail["max_in_flight"] > 1
    for who in ("tap", "target"):
        memory = _one(figures, "5", f"{who} peak RSS")
        assert memory.detail[f"{who}_large_mb"] > 20
    e2e = _one(figures, "6", "meltano run")
    assert e2e.detail["orders_in_mailchimp"] > 0


def check_the_tap_at_250_ms_overlaps_within_the_allowance_without_refusals(
    quick: Quick,
) -> None:
    ratio = _one(quick[0], "7", "tap / sequential bare loop")
    refused = _one(quick[0], "7", "refused for concurrency")
    assert refused.value == 0 and refused.met
    assert ratio.detail["refused_for_concurrency"] == 0
    assert ratio.detail["allowance"] == 2
    assert ratio.detail["max_in_flight"] == 2  # the allowance is used, never exceeded
    assert ratio.detail["bills"] == 2500
    # The bare loop sent the tap's requests: the null pass rode in the first request of each
    # of the four streams (two queries in one request).
    assert ratio.detail["query_functions"] == ratio.detail["requests"] - 1 + 4


def check_the_backfill_goes_through_batches_read_as_they_finish(quick: Quick) -> None:
    ratio = _one(quick[0], "8", "batch processing time")
    assert ratio.detail["orders"] > 0 and ratio.detail["batches"] >= 1
    assert ratio.detail["batch_operations"] >= ratio.detail["orders"]
    assert len(ratio.detail["result_lags_s"]) == ratio.detail["batches"]


CHECKS = (
    check_every_measurement_writes_a_row_to_markdown_and_json,
    check_the_bare_loop_read_what_the_tap_read,
    check_member_writes_per_thousand_within_the_goal,
    check_synchronous_customers_and_orders_take_one_call_each,
    check_backfill_goes_through_batches_within_the_goal,
    check_a_rerun_of_the_same_input_writes_nothing,
    check_throughput_memory_and_end_to_end_are_measured,
    check_the_tap_at_250_ms_overlaps_within_the_allowance_without_refusals,
    check_the_backfill_goes_through_batches_read_as_they_finish,
)
