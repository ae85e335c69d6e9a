"""What the tap asks of the gateway: one login, valid envelopes, bulk child queries, keyset
pages, only the selected fields, and the streams in order (checked on the sandbox's log)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

from tap_intacct import streams as streams_module
from tests.sandbox.intacct import IntacctSandbox, generate_company
from tests.tap_intacct.tap_support import (
    PACIFIC_NAME,
    STREAM_OBJECTS,
    TapRun,
    catalog_with,
    query_bodies,
    run_tap,
    selected_fields,
)

PAGE = 9


@pytest.fixture(scope="module")
def sandbox() -> Iterator[IntacctSandbox]:
    company = generate_company(
        seed=21,
        customers=25,
        vendors=20,
        bills=40,
        payments=14,
        same_timestamp_run=8,
        invoices=20,
        ar_payments=10,
    )
    with IntacctSandbox(company) as sb:
        yield sb


@pytest.fixture
def config(sandbox: IntacctSandbox) -> dict[str, Any]:
    sandbox.reset_log()
    return sandbox.tap_config(timezone=PACIFIC_NAME, page_size=PAGE)


@pytest.fixture(scope="module")
def default_run(sandbox: IntacctSandbox) -> tuple[TapRun, list[Any]]:
    """One run with every stream selected, and the requests it sent."""
    sandbox.reset_log()
    run = run_tap(sandbox.tap_config(timezone=PACIFIC_NAME, page_size=PAGE))
    return run, list(sandbox.requests)


def _values(node: Any) -> list[str]:
    return [v.text for v in node.findall("value")]


def test_one_login_per_run_and_every_request_passes_the_xsd(
    default_run: tuple[TapRun, list[Any]],
) -> None:
    run, requests = default_run
    assert run.keys("customers")
    assert [r.functions for r in requests].count(["getAPISession"]) == 1
    assert requests
    assert all(r.parsed and r.valid and not r.errors for r in requests)
    queries = [r for r in requests if "query" in r.functions]
    assert queries
    assert all(r.used_session_endpoint for r in queries)


def test_pages_are_keyset_ordered_without_offsets(
    default_run: tuple[TapRun, list[Any]],
) -> None:
    _, requests = default_run
    bills = query_bodies(requests, "APBILL")
    assert len(bills) > 2
    for query in bills:
        assert query.findtext("offset") in (None, "0")
        assert query.findtext("pagesize") == str(PAGE)
        assert query.findtext("options/showprivate") == "true"
    keyset = [q for q in bills if q.find("filter//isnull") is None]
    orders = [f.text for f in keyset[0].findall("orderby/order/field")]
    assert orders == ["WHENMODIFIED", "RECORDNO"]
    # Every page after the first continues after (WHENMODIFIED, RECORDNO) of the last row.
    for query in keyset[1:]:
        condition = query.find("filter/and/or")
        assert condition is not None
        assert condition.find("greaterthan/field").text == "WHENMODIFIED"
        tie = condition.find("and")
        assert [c.tag for c in tie] == ["equalto", "greaterthan"]
        assert tie.find("greaterthan/field").text == "RECORDNO"
        assert query.find("filter/and/lessthanorequalto/field").text == "WHENMODIFIED"


def test_lines_and_details_come_in_bulk_per_page_of_parents(
    sandbox: IntacctSandbox, default_run: tuple[TapRun, list[Any]]
) -> None:
    run, requests = default_run
    company = sandbox.company
    for stream, parent, child, key in (
        ("ap_bills", "APBILL", "APBILLITEM", "RECORDKEY"),
        ("ap_payments", "APPYMT", "APPYMTDETAIL", "PAYMENTKEY"),
    ):
        parents = run.keys(stream)
        assert sorted(parents) == sorted(company.recordnos(parent))
        parent_pages = query_bodies(requests, parent)
        child_queries = query_bodies(requests, child)
        # One child query per page of parents that had rows, never one per parent.
        assert 0 < len(child_queries) <= len(parent_pages)
        assert len(child_queries) <= math.ceil(len(parents) / PAGE) + 1
        assert len(child_queries) < len(parents) / 3
        asked: list[int] = []
        for query in child_queries:
            condition = query.find("filter/in")
            assert condition.findtext("field") == key
            asked.extend(int(v) for v in _values(condition))
        assert sorted(asked) == sorted(parents)


def test_child_queries_chunk_their_keys_and_page_by_recordno(
    sandbox: IntacctSandbox, config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(streams_module, "CHILD_KEYS_PER_QUERY", 4)
    monkeypatch.setattr(streams_module, "CHILD_PAGE_SIZE", 3)
    catalog = catalog_with(config, streams=["ap_bills"])
    run = run_tap(config, catalog=catalog)
    company = sandbox.company
    for bill in run.records("ap_bills"):
        assert [line["RECORDNO"] for line in bill["lines"]] == [
            line["RECORDNO"] for line in company.lines(bill["RECORDNO"], typed=True)
        ]
    lines = query_bodies(sandbox, "APBILLITEM")
    assert all(len(_values(q.find(".//in"))) <= 4 for q in lines)
    continued = [q for q in lines if q.find("filter/and/greaterthan") is not None]
    assert continued, "a chunk with more lines than a page continues after the last RECORDNO"
    for query in continued:
        assert query.findtext("filter/and/greaterthan/field") == "RECORDNO"
        assert query.findtext("offset") in (None, "0")


def test_only_selected_fields_are_asked_of_intacct(
    sandbox: IntacctSandbox, config: dict[str, Any]
) -> None:
    catalog = catalog_with(
        config,
        streams=["customers", "ap_bills"],
        deselect={
            "customers": [("NAME",), ("DISPLAYCONTACT",), ("TOTALDUE",)],
            "ap_bills": [("lines",), ("DESCRIPTION",)],
        },
    )
    run = run_tap(config, catalog=catalog)
    customers = query_bodies(sandbox, "CUSTOMER")
    assert customers
    for query in customers:
        fields = set(selected_fields(query))
        assert {"RECORDNO", "WHENMODIFIED", "MEGAENTITYID", "CUSTOMERID"} <= fields
        assert not {"NAME", "TOTALDUE"} & fields
        assert not any(f.startswith("DISPLAYCONTACT.") for f in fields)
    for record in run.records("customers"):
        assert "NAME" not in record
        assert "DISPLAYCONTACT" not in record
        assert "CUSTOMERID" in record
    for query in query_bodies(sandbox, "APBILL"):
        assert "DESCRIPTION" not in selected_fields(query)
    assert query_bodies(sandbox, "APBILLITEM") == []
    assert all("lines" not in r for r in run.records("ap_bills"))
    assert run.records("ap_bills")
    # Deselected streams are not read at all.
    assert query_bodies(sandbox, "VENDOR") == []
    assert query_bodies(sandbox, "APPYMT") == []
    assert run.records("vendors") == []


def test_a_deselected_nested_field_alone_is_left_out(
    sandbox: IntacctSandbox, config: dict[str, Any]
) -> None:
    catalog = catalog_with(
        config,
        streams=["vendors"],
        deselect={"vendors": [("DISPLAYCONTACT", "MAILADDRESS"), ("DISPLAYCONTACT", "PHONE2")]},
    )
    run = run_tap(config, catalog=catalog)
    fields = set(selected_fields(query_bodies(sandbox, "VENDOR")[0]))
    assert "DISPLAYCONTACT.EMAIL1" in fields
    assert "DISPLAYCONTACT.PHONE2" not in fields
    assert not any(f.startswith("DISPLAYCONTACT.MAILADDRESS.") for f in fields)
    record = run.records("vendors")[0]
    assert "EMAIL1" in record["DISPLAYCONTACT"]
    assert "MAILADDRESS" not in record["DISPLAYCONTACT"]


def test_streams_are_emitted_in_order(default_run: tuple[TapRun, list[Any]]) -> None:
    run, requests = default_run
    order: list[str] = []
    for message in run.messages:
        stream = message.get("stream")
        if stream and (not order or order[-1] != stream):
            order.append(stream)
    assert order == list(STREAM_OBJECTS)  # each stream contiguous, vendors before bills
    objects = [q.findtext("object") for q in query_bodies(requests)]
    first = [o for i, o in enumerate(objects) if o not in objects[:i] and o != "AUDITHISTORY"]
    assert first == [
        "CUSTOMER",
        "VENDOR",
        "APBILL",
        "APBILLITEM",
        "APPYMT",
        "APPYMTDETAIL",
        "ARINVOICE",
        "ARINVOICEITEM",
        "ARPYMT",
        "ARPYMTDETAIL",
    ]
    # Each stream's deletions are read from AUDITHISTORY right after its records.
    audit_types = [
        q.findtext(".//equalto[field='OBJECTTYPE']/value")
        for q in query_bodies(requests)
        if q.findtext("object") == "AUDITHISTORY"
    ]
    assert audit_types == [o.lower() for o in STREAM_OBJECTS.values()]


def test_an_entity_scoped_run_logs_in_to_the_entity_without_showprivate(
    sandbox: IntacctSandbox, config: dict[str, Any]
) -> None:
    config["entity_id"] = "E100"
    run = run_tap(config)
    login = sandbox.requests_for("getAPISession")
    assert len(login) == 1
    assert login[0].location_id == "E100" or b"<locationid>E100</locationid>" in login[0].body
    for query in query_bodies(sandbox):
        assert query.find("options/showprivate") is None
    company = sandbox.company
    for stream, obj in STREAM_OBJECTS.items():
        visible = sorted(
            no
            for no in company.recordnos(obj)
            if company.get(obj, no, typed=True)["MEGAENTITYID"] in (None, "E100")
        )
        assert sorted(run.keys(stream)) == visible
        assert {r["MEGAENTITYID"] for r in run.records(stream)} <= {None, "E100"}
        assert "E100" in {r["MEGAENTITYID"] for r in run.records(stream)} or stream in (
            "ap_payments",
            "ar_payments",
        )
    # At the top level (showprivate), records of every entity arrive, each naming its owner.
    config.pop("entity_id")
    top = run_tap(config)
    owners = {r["MEGAENTITYID"] for r in top.records("customers")}
    assert {None, "E100", "E200"} <= owners
