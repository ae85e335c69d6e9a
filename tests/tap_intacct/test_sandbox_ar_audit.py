# ruff: noqa: F811  (pytest fixtures imported from sandbox_session)
"""The Intacct sandbox's AR objects, AUDITHISTORY (deletions, its intermittent error and the
permission-denied mode) and `lookup` of the standard objects a peer tap's discovery asks about.
Expected values are computed here from the company's typed records."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from lxml import etree

from tests.sandbox.intacct import Company, IntacctSandbox, generate_company
from tests.sandbox.intacct import envelope as env
from tests.sandbox.intacct.objects import AP_OBJECTS
from tests.tap_intacct.sandbox_session import run, sb, sid  # noqa: F401 - fixtures

SIZES = {"customers": 30, "vendors": 40, "bills": 50, "payments": 25}


@pytest.fixture(scope="module")
def company() -> Company:
    return generate_company(seed=9, invoices=30, ar_payments=20, deletions=2, **SIZES)


def rows(sb: IntacctSandbox, sid: str, obj: str, fields: list[str], **kw: object) -> list[dict]:
    result = run(sb, sid, env.query_xml(obj, fields, pagesize=2000, showprivate=True, **kw))  # type: ignore[arg-type]
    assert result.findtext("status") == "success", etree.tostring(result).decode()
    return env.records(result.find("data"))


def test_ar_does_not_change_the_ap_records() -> None:
    plain = generate_company(seed=9, **SIZES)
    with_ar = generate_company(seed=9, invoices=30, ar_payments=20, **SIZES)
    for obj in AP_OBJECTS:
        assert plain.records(obj, typed=True) == with_ar.records(obj, typed=True)
    assert plain.special == {k: v for k, v in with_ar.special.items() if k != "ar"}


def test_invoices_lines_and_payments_add_up(company: Company) -> None:
    invoices = company.records("ARINVOICE", typed=True)
    assert len(invoices) == 30 - 2  # two deleted
    customers = {c["CUSTOMERID"] for c in company.records("CUSTOMER", typed=True)}
    for inv in invoices:
        assert inv["CUSTOMERID"] in customers
        lines = company.invoice_lines(inv["RECORDNO"], typed=True)
        assert lines, inv["RECORDNO"]
        assert sum(ln["TRX_AMOUNT"] for ln in lines) == inv["TRX_TOTALENTERED"]
        assert inv["TRX_TOTALENTERED"] - inv["TRX_TOTALPAID"] == inv["TRX_TOTALDUE"] or inv[
            "STATE"
        ] in ("Reversed", "Reversal")
    # What settled each paid invoice: cash plus discount, inline credit and advance.
    settled: dict[int, Decimal] = {}
    for pay in company.records("ARPYMT", typed=True):
        for d in company.ar_payment_details(pay["RECORDNO"], typed=True):
            if pay["STATE"] != "Complete":
                continue
            amount = sum(
                d[k] or Decimal(0)
                for k in (
                    "TRX_PAYMENTAMOUNT",
                    "TRX_DISCOUNTAMOUNT",
                    "TRX_INLINEAMOUNT",
                    "TRX_ADJUSTMENTAMOUNT",
                    "TRX_POSTEDADVANCEAMOUNT",
                )
            )
            settled[d["RECORDKEY"]] = settled.get(d["RECORDKEY"], Decimal(0)) + amount
    for inv in invoices:
        if inv["STATE"] == "Paid":
            assert settled.get(inv["RECORDNO"]) == inv["TRX_TOTALENTERED"], inv
    ar = company.special["ar"]
    for kind, field in (
        ("discount_payment", "TRX_DISCOUNTAMOUNT"),
        ("credit_payment", "TRX_INLINEAMOUNT"),
        ("advance_payment", "TRX_POSTEDADVANCEAMOUNT"),
    ):
        (detail,) = company.ar_payment_details(ar[kind], typed=True)
        assert detail[field] > 0
    assert company.get("ARPYMT", ar["voided_payment"], typed=True)["STATE"] == "Voided"


def test_recordnos_of_bills_invoices_and_payments_never_collide(company: Company) -> None:
    seen: set[int] = set()
    for obj in ("APBILL", "APPYMT", "ARINVOICE", "ARPYMT"):
        nos = set(company.recordnos(obj))
        assert not nos & seen, obj
        seen |= nos


def test_deletions_leave_audit_rows(sb: IntacctSandbox, sid: str, company: Company) -> None:
    deleted = company.special["deleted"]
    for obj in ("CUSTOMER", "VENDOR", "APBILL", "APPYMT", "ARINVOICE", "ARPYMT"):
        assert len(deleted[obj]) == 2, obj
        for n in deleted[obj]:
            assert company.get(obj, n) is None
    got = rows(
        sb,
        sid,
        "AUDITHISTORY",
        ["OBJECTTYPE", "OBJECTKEY", "ACCESSMODE", "ACCESSTIME"],
        filter_xml=env.cond("equalto", "ACCESSMODE", "D"),
        orderby=[("ACCESSTIME", False), ("OBJECTKEY", False)],
    )
    by_type: dict[str, list[int]] = {}
    for r in got:
        by_type.setdefault(r["OBJECTTYPE"], []).append(int(r["OBJECTKEY"]))
        dt.datetime.strptime(r["ACCESSTIME"], "%m/%d/%Y %H:%M:%S")
    assert {k.upper(): sorted(v) for k, v in by_type.items()} == deleted
    # A deleted bill's lines go with it.
    for n in deleted["APBILL"]:
        assert company.lines(n) == []


def test_delete_writes_the_audit_row_at_the_clock(company: Company) -> None:
    c = generate_company(seed=2, customers=5, vendors=3, bills=4, payments=2)
    when = dt.datetime(2024, 7, 1, 9, 30, 0)
    c.delete("CUSTOMER", 3, when=when)
    (row,) = c.deletions("customer")
    assert (row["OBJECTTYPE"], row["OBJECTKEY"], row["ACCESSMODE"], row["ACCESSTIME"]) == (
        "customer",
        "3",
        "D",
        when,
    )
    c.delete("VENDOR", 1, audit=False)
    assert c.deletions("vendor") == []


def test_audit_history_error_then_recovery(sb: IntacctSandbox, sid: str) -> None:
    sb.audit_history_errors = 2
    body = env.query_xml("AUDITHISTORY", ["OBJECTKEY"], pagesize=10)
    for _ in range(2):
        result = run(sb, sid, body)
        assert result.findtext("status") == "failure"
        assert "There was an error processing the request" in etree.tostring(result).decode()
    assert run(sb, sid, body).findtext("status") == "success"
    # Other objects are never affected.
    sb.audit_history_error_every = 1
    try:
        assert (
            run(sb, sid, env.query_xml("VENDOR", ["RECORDNO"], pagesize=1)).findtext("status")
            == "success"
        )
        assert run(sb, sid, body).findtext("status") == "failure"
    finally:
        sb.audit_history_error_every = 0


def test_audit_history_permission_denied(sb: IntacctSandbox, sid: str) -> None:
    sb.audit_history_denied = True
    try:
        result = run(sb, sid, env.query_xml("AUDITHISTORY", ["OBJECTKEY"], pagesize=10))
        assert result.findtext("status") == "failure"
        assert "permission" in etree.tostring(result).decode().lower()
    finally:
        sb.audit_history_denied = False


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ("APADJUSTMENT", {"RECORDNO", "VENDORID", "TOTALENTERED"}),
        ("ARADJUSTMENT", {"RECORDNO", "CUSTOMERID", "TOTALENTERED"}),
        ("GLACCOUNT", {"ACCOUNTNO", "TITLE", "ACCOUNTTYPE", "NORMALBALANCE"}),
        ("GLENTRY", {"BATCHNO", "ACCOUNTNO", "AMOUNT", "TR_TYPE"}),
        ("GLBATCH", {"BATCHNO", "JOURNAL", "BATCH_DATE"}),
        ("CONTACT", {"CONTACTNAME", "EMAIL1", "PRINTAS"}),
        ("ITEM", {"ITEMID", "NAME", "ITEMTYPE"}),
        ("PROJECT", {"PROJECTID", "NAME", "CUSTOMERID"}),
        ("DEPARTMENT", {"DEPARTMENTID", "NAME"}),
        ("LOCATION", {"LOCATIONID", "NAME"}),
        ("CLASS", {"CLASSID", "NAME"}),
        ("EMPLOYEE", {"EMPLOYEEID", "PERSONALINFO.CONTACTNAME"}),
        ("ARINVOICE", {"CUSTOMERID", "TRX_TOTALENTERED", "STATE"}),
        ("ARPYMTDETAIL", {"TRX_DISCOUNTAMOUNT", "TRX_INLINEAMOUNT", "TRX_POSTEDADVANCEAMOUNT"}),
        ("AUDITHISTORY", {"OBJECTTYPE", "OBJECTKEY", "ACCESSMODE", "ACCESSTIME"}),
        ("VENDOR", {"PARENTKEY", "PARENTID", "PARENTNAME"}),
        ("CUSTOMER", {"PARENTKEY", "PARENTID", "PARENTNAME"}),
    ],
)
def test_lookup_answers_standard_objects(
    sb: IntacctSandbox, sid: str, obj: str, expected: set[str]
) -> None:
    result = run(sb, sid, f"<lookup><object>{obj}</object></lookup>")
    assert result.findtext("status") == "success", etree.tostring(result).decode()
    ids = {f.findtext("ID") for f in result.iterfind("data/Type/Fields/Field")}
    assert expected <= ids
    # The standard objects hold no records: a query answers zero rows, not an error.
    data = run(sb, sid, env.query_xml(obj, sorted(expected)[:1], pagesize=1))
    assert data.findtext("status") == "success"


def test_unknown_object_still_not_found(sb: IntacctSandbox, sid: str) -> None:
    result = run(sb, sid, "<lookup><object>NOSUCHTHING</object></lookup>")
    assert "Object definition NOSUCHTHING not found" in etree.tostring(result).decode()
