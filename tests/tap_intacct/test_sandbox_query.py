# ruff: noqa: F811  (pytest fixtures imported from sandbox_session)
"""The Intacct sandbox's read functions: query (filters, ordering, paging, select, entities),
readByQuery + readMore, read and lookup. Expected results are computed here from the
company's typed records, independently of the sandbox's query engine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

import pytest
from lxml import etree

from tests.sandbox.intacct import Company, IntacctSandbox, generate_company
from tests.sandbox.intacct import envelope as env
from tests.sandbox.intacct.objects import OBJECTS
from tests.tap_intacct.sandbox_session import run, sb, sid  # noqa: F401 - fixtures


@pytest.fixture(scope="module")
def company() -> Company:
    return generate_company(seed=5, customers=80, vendors=60, bills=150, payments=60)


def ok_data(result: etree._Element) -> etree._Element:
    assert result.findtext("status") == "success", etree.tostring(result).decode()
    data = result.find("data")
    assert data is not None
    return data


def query_all(
    sb: IntacctSandbox, sid: str, obj: str, fields: list[str], **kw: Any
) -> list[dict[str, str]]:
    kw.setdefault("showprivate", True)
    data = ok_data(run(sb, sid, env.query_xml(obj, fields, pagesize=2000, **kw)))
    assert data.get("numremaining") == "0"
    return env.records(data)


def recnos(rows: list[dict[str, str]]) -> list[int]:
    return [int(r["RECORDNO"]) for r in rows]


# -- select and values ---------------------------------------------------------------------


def test_select_returns_only_the_selected_fields_in_order(sb: IntacctSandbox, sid: str) -> None:
    fields = ["NAME", "RECORDNO", "DISPLAYCONTACT.EMAIL1", "DISPLAYCONTACT.MAILADDRESS.CITY"]
    data = ok_data(run(sb, sid, env.query_xml("VENDOR", fields, pagesize=5)))
    assert data.get("listtype") == "VENDOR"
    for rec in data:
        assert rec.tag == "VENDOR"
        assert [c.tag for c in rec] == fields


def test_select_is_case_insensitive_and_dedupes(sb: IntacctSandbox, sid: str) -> None:
    data = ok_data(
        run(sb, sid, env.query_xml("VENDOR", ["recordno", "RECORDNO", "name"], pagesize=1))
    )
    assert [c.tag for c in data[0]] == ["RECORDNO", "NAME"]


@pytest.mark.parametrize("obj", list(OBJECTS))
def test_values_are_the_company_wire_strings(
    sb: IntacctSandbox, sid: str, company: Company, obj: str
) -> None:
    fields = list(OBJECTS[obj].field_ids)
    rows = query_all(sb, sid, obj, fields)
    assert rows == company.records(obj)


def test_value_formats(sb: IntacctSandbox, sid: str, company: Company) -> None:
    rows = {
        int(r["RECORDNO"]): r
        for r in query_all(sb, sid, "APBILL", list(OBJECTS["APBILL"].field_ids))
    }
    huge = rows[company.special["huge_money_bill"]]
    assert huge["TOTALENTERED"] == "12345678901234567.89"
    small = company.special["small_money_bill"]
    assert rows[small]["TOTALENTERED"] == "0.30"
    lines = query_all(
        sb,
        sid,
        "APBILLITEM",
        ["RECORDNO", "AMOUNT"],
        filter_xml=env.cond("equalto", "RECORDKEY", str(small)),
    )
    assert sorted(r["AMOUNT"] for r in lines) == ["0.10", "0.20"]
    for r in rows.values():
        dt.datetime.strptime(r["WHENCREATED"], "%m/%d/%Y")
        if r["WHENMODIFIED"]:
            dt.datetime.strptime(r["WHENMODIFIED"], "%m/%d/%Y %H:%M:%S")
        assert "e" not in r["TOTALDUE"].lower() and "," not in r["TOTALDUE"]
    cust = query_all(sb, sid, "CUSTOMER", ["ONHOLD", "STATUS", "WHENCREATED"])
    assert {c["ONHOLD"] for c in cust} <= {"true", "false"}
    assert {c["STATUS"] for c in cust} == {"active", "inactive"}
    dt.datetime.strptime(cust[0]["WHENCREATED"], "%m/%d/%Y %H:%M:%S")


def test_nulls_are_empty_elements(sb: IntacctSandbox, sid: str, company: Company) -> None:
    rn = company.special["no_email"]["CUSTOMER"][0]
    data = ok_data(
        run(
            sb,
            sid,
            env.query_xml(
                "CUSTOMER",
                ["RECORDNO", "DISPLAYCONTACT.EMAIL1"],
                filter_xml=env.cond("equalto", "RECORDNO", str(rn)),
                showprivate=True,
            ),
        )
    )
    email = data[0].find("DISPLAYCONTACT.EMAIL1")
    assert email is not None and email.text is None and len(email) == 0


def test_text_is_sanitized_and_escaped(sb: IntacctSandbox, sid: str, company: Company) -> None:
    names = company.special["names"]["CUSTOMER"]
    rows = {
        int(r["RECORDNO"]): r["NAME"] for r in query_all(sb, sid, "CUSTOMER", ["RECORDNO", "NAME"])
    }
    raw = company.get("CUSTOMER", names["control_chars"], typed=True)["NAME"]
    assert "\x01" in raw and "\x0b" in raw and "\ufffe" in raw
    assert rows[names["control_chars"]] == raw.replace("\x01", "").replace("\x0b", "").replace(
        "\ufffe", ""
    )
    for kind in ("markup", "cyrillic", "cjk", "arabic", "emoji"):
        assert rows[names[kind]] == company.get("CUSTOMER", names[kind], typed=True)["NAME"]
    assert rows[names["markup"]] == "Smith & Sons <\"Best\"> 'Widgets' Ltd"


def test_custom_fields_come_back_when_selected(
    sb: IntacctSandbox, sid: str, company: Company
) -> None:
    rows = query_all(
        sb, sid, "CUSTOMER", ["RECORDNO", "REGION", "MARKETING_OPT_IN", "CUSTOMER_SINCE"]
    )
    expected = [
        {k: r[k] for k in ("RECORDNO", "REGION", "MARKETING_OPT_IN", "CUSTOMER_SINCE")}
        for r in company.records("CUSTOMER")
    ]
    assert rows == expected
    assert any(r["REGION"] for r in rows) and any(not r["REGION"] for r in rows)


# -- filters -------------------------------------------------------------------------------


def _ts(text: str) -> dt.datetime:
    fmt = "%m/%d/%Y %H:%M:%S" if " " in text else "%m/%d/%Y"
    return dt.datetime.strptime(text, fmt)


def _as_dt(v: Any) -> dt.datetime:
    return v if isinstance(v, dt.datetime) else dt.datetime(v.year, v.month, v.day)


OPERATOR_CASES: list[tuple[str, str, str, list[str], Callable[[Any], bool]]] = [
    ("CUSTOMER", "equalto", "STATUS", ["inactive"], lambda v: v == "inactive"),
    ("CUSTOMER", "notequalto", "CUSTTYPE", ["Direct"], lambda v: v is not None and v != "Direct"),
    (
        "CUSTOMER",
        "lessthan",
        "TOTALDUE",
        ["10000.5"],
        lambda v: v is not None and v < Decimal("10000.5"),
    ),
    (
        "VENDOR",
        "lessthanorequalto",
        "WHENMODIFIED",
        ["02/07/2024 08:36:00"],
        lambda v: v is not None and v <= _ts("02/07/2024 08:36:00"),
    ),
    # Integers compare as numbers: 10 > 9 although "10" < "9" as text.
    ("VENDOR", "greaterthan", "RECORDNO", ["9"], lambda v: v > 9),
    (
        "APBILL",
        "greaterthanorequalto",
        "WHENCREATED",
        ["01/15/2024"],
        lambda v: _as_dt(v) >= _ts("01/15/2024"),
    ),
    # A timestamp operand against a DATE field compares as datetimes (midnight of the day).
    (
        "APBILL",
        "lessthan",
        "WHENDUE",
        ["03/01/2024 12:00:00"],
        lambda v: v is not None and _as_dt(v) < _ts("03/01/2024 12:00:00"),
    ),
    (
        "APBILL",
        "between",
        "TOTALENTERED",
        ["100", "20000.00"],
        lambda v: v is not None and Decimal(100) <= v <= Decimal(20000),
    ),
    (
        "APBILL",
        "in",
        "STATE",
        ["Paid", "Posted", "Partially Paid"],
        lambda v: v in ("Paid", "Posted", "Partially Paid"),
    ),
    (
        "APBILL",
        "notin",
        "STATE",
        ["Paid", "Posted"],
        lambda v: v is not None and v not in ("Paid", "Posted"),
    ),
    ("CUSTOMER", "like", "NAME", ["%Inc."], lambda v: v is not None and v.endswith("Inc.")),
    (
        "CUSTOMER",
        "notlike",
        "DISPLAYCONTACT.EMAIL1",
        ["%@example.com"],
        lambda v: v is not None and not v.endswith("@example.com"),
    ),
    ("CUSTOMER", "like", "CUSTOMERID", ["C0001_"], lambda v: len(v) == 6 and v.startswith("C0001")),
    ("CUSTOMER", "isnull", "DISPLAYCONTACT.EMAIL1", [], lambda v: v is None),
    ("VENDOR", "isnotnull", "WHENMODIFIED", [], lambda v: v is not None),
    ("CUSTOMER", "equalto", "ONHOLD", ["true"], lambda v: v is True),
    ("APBILLITEM", "equalto", "AMOUNT", ["0.1"], lambda v: v == Decimal("0.10")),
]


@pytest.mark.parametrize(("obj", "op", "field", "values", "expect"), OPERATOR_CASES)
def test_filter_operators(
    sb: IntacctSandbox,
    *,
    sid: str,
    company: Company,
    obj: str,
    op: str,
    field: str,
    values: list[str],
    expect: Callable[[Any], bool],
) -> None:
    rows = query_all(sb, sid, obj, ["RECORDNO"], filter_xml=env.cond(op, field, *values))
    wanted = [r["RECORDNO"] for r in company.records(obj, typed=True) if expect(r[field])]
    assert recnos(rows) == wanted
    assert wanted, "the case should select something"
    assert len(wanted) < company.count(obj) or op in ("isnotnull",), "and not everything"


def test_and_or_nesting(sb: IntacctSandbox, sid: str, company: Company) -> None:
    filt = (
        "<or>"
        + "<and>"
        + env.cond("equalto", "STATE", "Paid")
        + env.cond("greaterthan", "TOTALENTERED", "5000")
        + "</and>"
        + "<and>"
        + env.cond("equalto", "STATE", "Draft")
        + env.cond("isnull", "WHENPOSTED")
        + env.cond("in", "CURRENCY", "USD", "EUR")
        + "</and>"
        + "</or>"
    )
    rows = query_all(sb, sid, "APBILL", ["RECORDNO"], filter_xml=filt)
    wanted = [
        r["RECORDNO"]
        for r in company.records("APBILL", typed=True)
        if (r["STATE"] == "Paid" and r["TOTALENTERED"] > 5000)
        or (r["STATE"] == "Draft" and r["WHENPOSTED"] is None and r["CURRENCY"] in ("USD", "EUR"))
    ]
    assert recnos(rows) == wanted and wanted


def test_caseinsensitive_option(sb: IntacctSandbox, sid: str, company: Company) -> None:
    filt = env.cond("equalto", "STATUS", "ACTIVE")
    assert query_all(sb, sid, "CUSTOMER", ["RECORDNO"], filter_xml=filt) == []
    rows = query_all(sb, sid, "CUSTOMER", ["RECORDNO"], filter_xml=filt, caseinsensitive=True)
    assert recnos(rows) == company.find("CUSTOMER", STATUS="active")
    like = env.cond("like", "DISPLAYCONTACT.EMAIL1", "%@example.com%")
    insensitive = set(
        recnos(query_all(sb, sid, "CUSTOMER", ["RECORDNO"], filter_xml=like, caseinsensitive=True))
    )
    sensitive = set(recnos(query_all(sb, sid, "CUSTOMER", ["RECORDNO"], filter_xml=like)))
    messy = set(company.special["messy_email"]["CUSTOMER"])  # "...@Example.COM "
    assert messy and messy <= insensitive
    assert not messy & sensitive
    assert sensitive < insensitive


def test_bad_filter_value_and_unknown_field_fail_the_function(sb: IntacctSandbox, sid: str) -> None:
    res = run(
        sb,
        sid,
        env.query_xml(
            "VENDOR", ["RECORDNO"], filter_xml=env.cond("greaterthan", "WHENMODIFIED", "yesterday")
        ),
    )
    assert res.findtext("status") == "failure"
    assert res.findtext("errormessage/error/errorno") == "Query Failed"
    res = run(
        sb, sid, env.query_xml("VENDOR", ["RECORDNO"], filter_xml=env.cond("equalto", "NOPE", "1"))
    )
    assert res.findtext("status") == "failure"
    assert "NOPE" in res.findtext("errormessage/error/description2")


def test_unknown_select_fields_fail_like_the_gateway(sb: IntacctSandbox, sid: str) -> None:
    res = run(sb, sid, env.query_xml("APBILL", ["RECORDNO", "PAYTOCONTACTNAME", "BOGUS"]))
    assert res.findtext("status") == "failure"
    assert res.findtext("errormessage/error/errorno") == "XL03000006"
    text = res.findtext("errormessage/error/description2")
    assert text.startswith(
        "The following fields cannot be queried: [\n\tapbill: [PAYTOCONTACTNAME, BOGUS] ]"
    )


def test_unknown_object(sb: IntacctSandbox, sid: str) -> None:
    res = run(sb, sid, env.query_xml("VENDOR2", ["RECORDNO"]))
    assert res.findtext("errormessage/error/errorno") == "Query Failed"
    assert res.findtext("errormessage/error/description2") == "Object definition VENDOR2 not found"


# -- ordering and paging -------------------------------------------------------------------


def test_orderby_several_fields(sb: IntacctSandbox, sid: str, company: Company) -> None:
    rows = query_all(
        sb,
        sid,
        "APBILL",
        ["RECORDNO"],
        orderby=[("CURRENCY", True), ("TOTALENTERED", False), ("RECORDNO", True)],
    )
    typed = company.records("APBILL", typed=True)
    expected = sorted(typed, key=lambda r: -r["RECORDNO"])
    expected.sort(key=lambda r: r["TOTALENTERED"])
    expected.sort(key=lambda r: r["CURRENCY"], reverse=True)
    assert recnos(rows) == [r["RECORDNO"] for r in expected]


def test_orderby_nulls_last_ascending_first_descending(
    sb: IntacctSandbox, sid: str, company: Company
) -> None:
    empty = set(company.special["empty_whenmodified"]["VENDOR"])
    asc = recnos(query_all(sb, sid, "VENDOR", ["RECORDNO"], orderby=[("WHENMODIFIED", False)]))
    desc = recnos(query_all(sb, sid, "VENDOR", ["RECORDNO"], orderby=[("WHENMODIFIED", True)]))
    assert set(asc[-len(empty) :]) == empty
    assert set(desc[: len(empty)]) == empty


def test_paging_with_counts(sb: IntacctSandbox, sid: str, company: Company) -> None:
    filt = env.cond("greaterthanorequalto", "WHENMODIFIED", "01/01/2000 00:00:00")
    order = [("WHENMODIFIED", False), ("RECORDNO", False)]
    total_expected = sum(1 for r in company.records("APBILL", typed=True) if r["WHENMODIFIED"])
    seen: list[int] = []
    offset = 0
    while True:
        q = env.query_xml(
            "APBILL",
            ["RECORDNO"],
            filter_xml=filt,
            orderby=order,
            pagesize=17,
            offset=offset,
            showprivate=True,
        )
        data = ok_data(run(sb, sid, q))
        count = int(data.get("count"))
        assert int(data.get("totalcount")) == total_expected
        assert int(data.get("offset")) == offset
        assert int(data.get("numremaining")) == max(0, total_expected - offset - count)
        assert count == min(17, total_expected - offset)
        seen += recnos(env.records(data))
        offset += 17
        if data.get("numremaining") == "0":
            break
    assert len(seen) == len(set(seen)) == total_expected
    past = ok_data(
        run(sb, sid, env.query_xml("APBILL", ["RECORDNO"], offset=10_000, showprivate=True))
    )
    assert (past.get("count"), past.get("numremaining")) == ("0", "0")


def test_default_pagesize_is_100(sb: IntacctSandbox, sid: str, company: Company) -> None:
    data = ok_data(run(sb, sid, env.query_xml("APBILL", ["RECORDNO"], showprivate=True)))
    assert data.get("count") == "100"
    assert int(data.get("numremaining")) == company.count("APBILL") - 100


def test_same_timestamp_run_straddles_page_boundaries(
    sb: IntacctSandbox, sid: str, company: Company
) -> None:
    run_info = company.special["same_timestamp"]["APBILL"]
    when = run_info["when"].strftime("%m/%d/%Y %H:%M:%S")
    assert len(run_info["recordnos"]) > 20
    filt = env.cond("equalto", "WHENMODIFIED", when)
    got: list[int] = []
    for offset in range(0, len(run_info["recordnos"]), 20):
        q = env.query_xml(
            "APBILL",
            ["RECORDNO", "WHENMODIFIED"],
            filter_xml=filt,
            orderby=[("RECORDNO", False)],
            pagesize=20,
            offset=offset,
            showprivate=True,
        )
        rows = env.records(ok_data(run(sb, sid, q)))
        assert {r["WHENMODIFIED"] for r in rows} == {when}
        got += recnos(rows)
    assert got == sorted(run_info["recordnos"])


def test_data_changes_show_up_in_the_next_query(company: Company) -> None:
    with IntacctSandbox(company) as box:
        s = env.session(box)
        rn = company.recordnos("VENDOR")[0]
        before = query_all(
            box,
            s,
            "VENDOR",
            ["RECORDNO", "WHENMODIFIED"],
            filter_xml=env.cond("equalto", "RECORDNO", str(rn)),
        )
        new_when = dt.datetime(2030, 1, 2, 3, 4, 5)
        company.touch("VENDOR", rn, when=new_when)
        after = query_all(
            box,
            s,
            "VENDOR",
            ["RECORDNO", "WHENMODIFIED"],
            filter_xml=env.cond("equalto", "RECORDNO", str(rn)),
        )
        assert before != after
        assert after[0]["WHENMODIFIED"] == "01/02/2030 03:04:05"


# -- multi-entity --------------------------------------------------------------------------


def test_entity_visibility(sb: IntacctSandbox, company: Company) -> None:
    owners = {r["RECORDNO"]: r["MEGAENTITYID"] for r in company.records("VENDOR", typed=True)}
    assert {None, "E100", "E200"} <= set(owners.values())
    top = env.session(sb)
    e100 = env.session(sb, location_id="E100", in_function=True)

    def ids(session: str, **kw: Any) -> dict[int, str]:
        rows = query_all(sb, session, "VENDOR", ["RECORDNO", "MEGAENTITYID"], **kw)
        return {int(r["RECORDNO"]): r["MEGAENTITYID"] for r in rows}

    assert set(ids(top, showprivate=False).values()) == {""}
    assert set(ids(top, showprivate=False)) == {k for k, v in owners.items() if v is None}
    everything = ids(top, showprivate=True)
    assert set(everything) == set(owners)
    assert everything == {k: v or "" for k, v in owners.items()}
    scoped = ids(e100, showprivate=False)
    assert set(scoped) == {k for k, v in owners.items() if v in (None, "E100")}
    assert set(scoped.values()) == {"", "E100"}


# -- readByQuery / readMore / read -----------------------------------------------------------


def rbq(obj: str, query: str = "", fields: str = "*", pagesize: int | None = 100) -> str:
    size = f"<pagesize>{pagesize}</pagesize>" if pagesize is not None else ""
    return (
        f"<readByQuery><object>{obj}</object><query>{escape(query)}</query>"
        f"<fields>{fields}</fields>{size}<returnFormat>xml</returnFormat></readByQuery>"
    )


def test_read_by_query_and_read_more_snapshot(company: Company) -> None:
    with IntacctSandbox(company) as box:
        s = env.session(box)
        top_level = [r for r in company.records("VENDOR") if r["MEGAENTITYID"] == ""]
        data = ok_data(run(box, s, rbq("VENDOR", fields="RECORDNO,NAME,WHENMODIFIED", pagesize=10)))
        assert data.get("listtype") == "vendor"
        assert [r.tag for r in data] == ["vendor"] * 10
        assert [c.tag for c in data[0]] == ["RECORDNO", "NAME", "WHENMODIFIED"]
        assert int(data.get("totalcount")) == len(top_level)
        rid = data.get("resultId")
        assert rid
        got = env.records(data)
        # Change a record not read yet: readMore keeps serving the snapshot.
        later = int(top_level[-1]["RECORDNO"])
        company.update("VENDOR", later, {"NAME": "Renamed"})
        try:
            while data.get("numremaining") != "0":
                res = run(box, s, f"<readMore><resultId>{rid}</resultId></readMore>")
                assert res.findtext("function") == "readMore"
                data = ok_data(res)
                assert data.get("resultId") == rid
                assert int(data.get("count")) + int(data.get("numremaining")) <= len(top_level)
                got += env.records(data)
            assert [r["RECORDNO"] for r in got] == [r["RECORDNO"] for r in top_level]
            assert got[-1]["NAME"] == top_level[-1]["NAME"] != "Renamed"
            # The exhausted result set is gone.
            res = run(box, s, f"<readMore><resultId>{rid}</resultId></readMore>")
            assert res.findtext("status") == "failure"
        finally:
            company.update("VENDOR", later, {"NAME": top_level[-1]["NAME"]}, touch=False)


def test_read_by_query_shape_matches_fixture(sb: IntacctSandbox, sid: str) -> None:
    res = run(sb, sid, rbq("CUSTOMER", fields="RECORDNO,CUSTOMERID,NAME", pagesize=5))
    fixture = env.fixture("execProjectSuccess.xml").find("operation/result")
    assert set(res.find("data").attrib) == set(fixture.find("data").attrib)
    assert [c.tag for c in res] == [c.tag for c in fixture]


def test_read_more_by_object(sb: IntacctSandbox) -> None:
    s = env.session(sb)
    first = ok_data(run(sb, s, rbq("CUSTOMER", fields="RECORDNO", pagesize=5)))
    nxt = ok_data(run(sb, s, "<readMore><object>CUSTOMER</object></readMore>"))
    a, b = recnos(env.records(first)), recnos(env.records(nxt))
    assert len(b) == 5 and not set(a) & set(b) and max(a) < min(b)


@pytest.mark.parametrize(
    ("query", "expect"),
    [
        ("STATUS = 'inactive'", lambda r: r["STATUS"] == "inactive"),
        (
            "STATUS = 'active' AND ONHOLD = 'true'",
            lambda r: r["STATUS"] == "active" and r["ONHOLD"],
        ),
        (
            "CUSTTYPE = 'Direct' OR CUSTTYPE = 'Reseller'",
            lambda r: r["CUSTTYPE"] in ("Direct", "Reseller"),
        ),
        ("RECORDNO > 9 AND RECORDNO <= 20", lambda r: 9 < r["RECORDNO"] <= 20),
        ("DISPLAYCONTACT.EMAIL1 IS NULL", lambda r: r["DISPLAYCONTACT.EMAIL1"] is None),
        ("DISPLAYCONTACT.EMAIL1 IS NOT NULL", lambda r: r["DISPLAYCONTACT.EMAIL1"] is not None),
        ("NAME like '%Inc.'", lambda r: r["NAME"].endswith("Inc.")),
        ("CUSTOMERID in ('C00001', 'C00003')", lambda r: r["CUSTOMERID"] in ("C00001", "C00003")),
        ("CUSTOMERID not in ('C00001')", lambda r: r["CUSTOMERID"] != "C00001"),
        (
            "WHENMODIFIED >= '01/01/2024 00:00:00'",
            lambda r: r["WHENMODIFIED"] and r["WHENMODIFIED"] >= dt.datetime(2024, 1, 1),
        ),
        (
            "(STATUS = 'inactive' OR ONHOLD = 'true') AND NOT CUSTTYPE = 'Direct'",
            lambda r: (r["STATUS"] == "inactive" or r["ONHOLD"]) and r["CUSTTYPE"] != "Direct",
        ),
        (
            "NAME = 'Smith & Sons <\"Best\"> \\'Widgets\\' Ltd'",
            lambda r: r["NAME"] == "Smith & Sons <\"Best\"> 'Widgets' Ltd",
        ),
    ],
)
def test_read_by_query_strings(
    sb: IntacctSandbox,
    *,
    sid: str,
    company: Company,
    query: str,
    expect: Callable[[dict[str, Any]], bool],
) -> None:
    data = ok_data(run(sb, sid, rbq("CUSTOMER", query, fields="RECORDNO", pagesize=1000)))
    wanted = [
        r["RECORDNO"]
        for r in company.records("CUSTOMER", typed=True)
        if r["MEGAENTITYID"] is None and expect(r)
    ]
    assert recnos(env.records(data)) == wanted
    assert wanted


def test_read_by_query_errors(sb: IntacctSandbox, sid: str) -> None:
    res = run(sb, sid, rbq("CUSTOMER", pagesize=1001))
    assert res.findtext("status") == "failure"
    res = run(sb, sid, rbq("CUSTOMER", "STATUS = ", pagesize=10))
    assert res.findtext("status") == "failure"
    res = run(sb, sid, rbq("CUSTOMER", fields="RECORDNO,x", pagesize=10))
    assert res.findtext("errormessage/error/errorno") == "Invalid fields list x"
    res = run(sb, sid, rbq("BADOBJECT"))
    assert (
        res.findtext("errormessage/error/description2") == "Object definition BADOBJECT not found"
    )
    res = run(sb, sid, "<readMore><resultId>nope</resultId></readMore>")
    assert res.findtext("status") == "failure"


def test_read_by_query_all_fields_and_default_pagesize(
    sb: IntacctSandbox, sid: str, company: Company
) -> None:
    data = ok_data(run(sb, sid, rbq("APBILLITEM", pagesize=None)))
    top_level = sum(1 for r in company.records("APBILLITEM") if not r["MEGAENTITYID"])
    assert top_level > 100
    assert data.get("count") == "100"
    assert int(data.get("totalcount")) == top_level
    assert data.get("listtype") == "apbillitem"
    assert [c.tag for c in data[0]] == list(OBJECTS["APBILLITEM"].field_ids)


def test_read_by_keys(sb: IntacctSandbox, sid: str, company: Company) -> None:
    keys = [r["RECORDNO"] for r in company.records("VENDOR") if r["MEGAENTITYID"] == ""][:3]
    res = run(
        sb,
        sid,
        f"<read><object>VENDOR</object><keys>{','.join(keys)}</keys><fields>RECORDNO,NAME</fields></read>",
    )
    data = ok_data(res)
    assert data.get("listtype") == "VENDOR" and data.get("count") == "3"
    fixture = env.fixture("vendorResponse.xml").find("operation/result/data")
    assert set(data.attrib) == set(fixture.attrib)
    assert data[0].tag == fixture[0].tag == "VENDOR"
    assert [r["RECORDNO"] for r in env.records(data)] == keys


# -- lookup --------------------------------------------------------------------------------


def test_lookup_describes_fields(sb: IntacctSandbox, sid: str) -> None:
    data = ok_data(run(sb, sid, "<lookup><object>customer</object></lookup>"))
    typ = data.find("Type")
    assert typ.get("Name") == "CUSTOMER"
    fields = {f.findtext("ID"): f for f in typ.iterfind("Fields/Field")}
    assert list(fields) == list(OBJECTS["CUSTOMER"].field_ids)
    for f in fields.values():
        assert [c.tag for c in f][:7] == [
            "ID",
            "LABEL",
            "DESCRIPTION",
            "REQUIRED",
            "READONLY",
            "DATATYPE",
            "ISCUSTOM",
        ]
        assert f.findtext("DATATYPE") in {
            "TEXT",
            "INTEGER",
            "DECIMAL",
            "BOOLEAN",
            "DATE",
            "TIMESTAMP",
            "ENUM",
        }
    assert fields["RECORDNO"].findtext("DATATYPE") == "INTEGER"
    assert fields["RECORDNO"].findtext("READONLY") == "true"
    assert fields["TOTALDUE"].findtext("DATATYPE") == "DECIMAL"
    assert fields["WHENMODIFIED"].findtext("DATATYPE") == "TIMESTAMP"
    assert fields["ONHOLD"].findtext("DATATYPE") == "BOOLEAN"
    assert [v.text for v in fields["STATUS"].iterfind("VALIDVALUES/VALIDVALUE")] == [
        "active",
        "inactive",
    ]
    custom = [k for k, f in fields.items() if f.findtext("ISCUSTOM") == "true"]
    assert custom == ["REGION", "MARKETING_OPT_IN", "CUSTOMER_SINCE"]
    assert "DISPLAYCONTACT.EMAIL1" in fields


def test_lookup_bill_states_and_relationships(sb: IntacctSandbox, sid: str) -> None:
    data = ok_data(run(sb, sid, "<lookup><object>APBILL</object></lookup>"))
    state = next(f for f in data.iterfind("Type/Fields/Field") if f.findtext("ID") == "STATE")
    values = [v.text for v in state.iterfind("VALIDVALUES/VALIDVALUE")]
    assert {"Draft", "Posted", "Paid", "Partially Paid", "Selected", "Reversed", "Declined"} <= set(
        values
    )
    rel = data.find("Type/Relationships/Relationship")
    assert rel.findtext("OBJECTPATH") == "VENDOR" and rel.findtext("RELATEDBY") == "VENDORID"
    vend = ok_data(run(sb, sid, "<lookup><object>VENDOR</object></lookup>"))
    assert [
        f.findtext("ID")
        for f in vend.iterfind("Type/Fields/Field")
        if f.findtext("ISCUSTOM") == "true"
    ] == [
        "VENDOR_TIER",
        "ONBOARDED_ON",
    ]


def test_lookup_unknown_object(sb: IntacctSandbox, sid: str) -> None:
    res = run(sb, sid, "<lookup><object>NOPE</object></lookup>")
    assert res.findtext("status") == "failure"
    assert res.findtext("errormessage/error/description2") == "Object definition NOPE not found"
