"""The Intacct sandbox speaks the gateway protocol: XSD checks, credentials, sessions,
uniqueid, transactions, answer shapes like the reference fixtures.

These tests talk to the sandbox with requests + lxml, never with the tap's gateway client.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
import requests
from lxml import etree

from tests.sandbox.intacct import (
    DUPLICATE_CONTROLID_ERRORNO,
    IntacctSandbox,
    SandboxClock,
    generate_company,
)
from tests.sandbox.intacct import envelope as env

ISO_PACIFIC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d-0[78]:00$")


@pytest.fixture(scope="module")
def company_small():  # type: ignore[no-untyped-def]
    return generate_company(seed=11, customers=30, vendors=20, bills=40, payments=12)


@pytest.fixture
def sb(company_small) -> Iterator[IntacctSandbox]:  # type: ignore[no-untyped-def]
    clock = SandboxClock(dt.datetime(2024, 7, 1, 9, 0, 0), frozen=True)
    company_small.clock = clock
    with IntacctSandbox(company_small, clock=clock) as box:
        yield box


def post(url: str, body: bytes) -> etree._Element:
    return env.post(url, body)


def error_texts(node: etree._Element) -> list[tuple[str, str, str, str]]:
    return [
        (
            e.findtext("errorno") or "",
            e.findtext("description") or "",
            e.findtext("description2") or "",
            e.findtext("correction") or "",
        )
        for e in node.iterfind("errormessage/error")
    ]


# -- schema and parse errors -------------------------------------------------------------


def test_schema_invalid_request_gets_control_level_xl03000003(sb: IntacctSandbox) -> None:
    good = env.request(sb, [("f1", "<getAPISession/>")])
    # uniqueid after dtdversion breaks the xs:sequence of <control>.
    bad = good.replace(
        b"<uniqueid>false</uniqueid><dtdversion>3.0</dtdversion>",
        b"<dtdversion>3.0</dtdversion><uniqueid>false</uniqueid>",
    )
    assert bad != good
    root = post(sb.gateway_url, bad)
    assert root.find("operation") is None
    assert root.findtext("control/status") == "failure"
    assert root.findtext("control/senderid") == sb.sender_id
    assert root.findtext("control/controlid") == "ctl-1"
    errors = error_texts(root)
    assert errors and all(e[0] == "XL03000003" for e in errors)
    assert errors[0][2].startswith("XML Parse schema error")
    assert "uniqueid" in errors[0][2]
    assert env.element_paths(root) == env.element_paths(env.fixture("execXMLError.xml"))
    rec = sb.requests[-1]
    assert rec.parsed and not rec.valid and rec.errors
    assert rec.outcome == "control_failure"
    assert sb.executed["getAPISession"] == 0


def test_malformed_xml_gets_xl03000003_with_recovered_ids(sb: IntacctSandbox) -> None:
    good = env.request(sb, [("f1", "<getAPISession/>")])
    broken = good.replace(b"</content>", b"</contents>")
    root = post(sb.gateway_url, broken)
    assert root.findtext("control/status") == "failure"
    assert root.findtext("control/senderid") == sb.sender_id
    (err,) = error_texts(root)
    assert err[0] == "XL03000003"
    assert "XML Parse schema error" in err[2]
    assert not sb.requests[-1].parsed


@pytest.mark.parametrize(
    ("snippet", "why"),
    [
        ("<pagesize>2001</pagesize>", "pagesize above 2000"),
        ("<pagesize>0</pagesize>", "pagesize below 1"),
        ("<offset>-1</offset>", "negative offset"),
    ],
)
def test_query_limits_enforced_by_schema(sb: IntacctSandbox, snippet: str, why: str) -> None:
    q = env.query_xml("VENDOR", ["RECORDNO"]).replace("</query>", snippet + "</query>")
    root = post(sb.gateway_url, env.request(sb, [("q", q)]))
    assert root.findtext("control/status") == "failure", why
    assert error_texts(root)[0][0] == "XL03000003"


def test_single_condition_wrapped_in_and_is_rejected(sb: IntacctSandbox) -> None:
    q = env.query_xml(
        "VENDOR", ["RECORDNO"], filter_xml="<and>" + env.cond("isnull", "NAME") + "</and>"
    )
    root = post(sb.gateway_url, env.request(sb, [("q", q)]))
    assert error_texts(root)[0][0] == "XL03000003"


def test_valid_request_passes_and_is_recorded(sb: IntacctSandbox) -> None:
    body = env.request(sb, [("f1", "<getAPISession/>")])
    resp = requests.post(
        sb.gateway_url,
        data=body,
        headers={"Content-Type": "application/xml", "User-Agent": "probe/1"},
        timeout=10,
    )
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/xml")
    rec = sb.requests[-1]
    assert rec.valid and rec.parsed and rec.errors == []
    assert rec.body == body
    assert rec.headers["User-Agent"] == rec.headers["user-agent"] == "probe/1"
    assert rec.functions == ["getAPISession"] and rec.function_controlids == ["f1"]
    assert rec.auth == "login" and rec.user_id == sb.user_id
    assert rec.results == [("getAPISession", "f1", "success")]
    assert rec.response == resp.content
    sb.assert_all_valid()


def test_assert_all_valid_names_the_bad_request(sb: IntacctSandbox) -> None:
    requests.post(sb.gateway_url, data=b"<request/>", timeout=10)
    with pytest.raises(AssertionError, match="failed the XSD check"):
        sb.assert_all_valid()


# -- credentials ---------------------------------------------------------------------------


def test_wrong_sender_password_is_a_control_failure(sb: IntacctSandbox) -> None:
    body = env.request(sb, [("f1", "<getAPISession/>")], sender_password="nope")
    root = post(sb.gateway_url, body)
    assert root.find("operation") is None
    assert root.findtext("control/status") == "failure"
    assert error_texts(root) == [
        ("XL03000006", "", "Incorrect Intacct XML Partner ID or password.", "")
    ]
    assert env.element_paths(root) == env.element_paths(env.fixture("execXMLError.xml"))


def test_unknown_sender_is_a_control_failure(sb: IntacctSandbox) -> None:
    root = post(sb.gateway_url, env.request(sb, [("f1", "<getAPISession/>")], sender_id="ghost"))
    assert error_texts(root)[0][2] == "Incorrect Intacct XML Partner ID or password."


def test_sender_without_web_services_authorization(company_small) -> None:  # type: ignore[no-untyped-def]
    with IntacctSandbox(
        company_small,
        senders={"partner2": "pw2"},
        authorized_senders={"sandbox_sender"},
    ) as box:
        body = env.request(
            box, [("f1", "<getAPISession/>")], sender_id="partner2", sender_password="pw2"
        )
        root = post(box.gateway_url, body)
        assert root.findtext("control/status") == "success"
        assert root.findtext("operation/authentication/status") == "failure"
        assert root.find("operation/result") is None
        assert error_texts(root.find("operation")) == [
            (
                "XL03000006",
                "Invalid Web Services Authorization",
                "The sender ID 'partner2' is not authorized to make Web Services requests "
                f"to company ID '{box.company_id}'.",
                "Contact the company administrator to grant Web Services authorization to "
                "this sender ID.",
            )
        ]
        assert env.element_paths(root) == env.element_paths(env.fixture("execLoginInvalid.xml"))
        # The authorized sender still gets in.
        ok = post(box.gateway_url, env.request(box, [("f1", "<getAPISession/>")]))
        assert ok.findtext("operation/authentication/status") == "success"


@pytest.mark.parametrize(
    "override",
    [{"user_password": "wrong"}, {"user_id": "nobody"}, {"company_id": "OTHER-CO"}],
)
def test_bad_login_is_an_authentication_failure(
    sb: IntacctSandbox, override: dict[str, str]
) -> None:
    root = post(sb.gateway_url, env.request(sb, [("f1", "<getAPISession/>")], **override))
    assert root.findtext("control/status") == "success"
    assert root.findtext("operation/authentication/status") == "failure"
    assert error_texts(root.find("operation")) == [
        ("XL03000006", "", "Sign-in information is incorrect", "")
    ]
    assert env.element_paths(root) == env.element_paths(env.fixture("execLoginInvalid.xml"))
    assert sb.requests[-1].outcome == "auth_failure"


def test_login_ids_are_case_insensitive_but_passwords_are_not(sb: IntacctSandbox) -> None:
    body = env.request(
        sb,
        [("f1", "<getAPISession/>")],
        user_id=sb.user_id.upper(),
        company_id=sb.company_id.lower(),
    )
    assert post(sb.gateway_url, body).findtext("operation/authentication/status") == "success"
    body = env.request(sb, [("f1", "<getAPISession/>")], user_password=sb.user_password.upper())
    assert post(sb.gateway_url, body).findtext("operation/authentication/status") == "failure"


# -- sessions ------------------------------------------------------------------------------


def test_get_api_session_points_at_its_own_endpoint(sb: IntacctSandbox) -> None:
    root = post(sb.gateway_url, env.request(sb, [("s1", "<getAPISession/>")]))
    api = root.find("operation/result/data/api")
    assert root.findtext("operation/result/function") == "getAPISession"
    assert root.findtext("operation/result/controlid") == "s1"
    sid = api.findtext("sessionid")
    endpoint = api.findtext("endpoint")
    assert sid and api.findtext("locationid") == ""
    assert endpoint == sb.session_endpoint_url != sb.gateway_url
    auth = root.find("operation/authentication")
    assert ISO_PACIFIC.match(auth.findtext("sessiontimestamp"))
    assert ISO_PACIFIC.match(auth.findtext("sessiontimeout"))
    # The session works on the endpoint, and the record shows which URL was hit.
    q = env.query_xml("VENDOR", ["RECORDNO"], pagesize=1)
    root2 = post(endpoint, env.request(sb, [("q1", q)], session_id=sid))
    assert root2.findtext("operation/result/status") == "success"
    rec = sb.requests[-1]
    assert rec.auth == "session" and rec.session_id == sid
    assert rec.used_session_endpoint and rec.url == endpoint
    assert not sb.requests[-2].used_session_endpoint


def test_every_success_auth_block_carries_session_times(sb: IntacctSandbox) -> None:
    sid = env.session(sb)
    stamp = sb.clock.now()
    for body in (
        env.request(sb, [("q", env.query_xml("VENDOR", ["RECORDNO"], pagesize=1))]),
        env.request(sb, [("q", env.query_xml("VENDOR", ["RECORDNO"], pagesize=1))], session_id=sid),
    ):
        root = post(sb.session_endpoint_url, body)
        auth = root.find("operation/authentication")
        ts = dt.datetime.fromisoformat(auth.findtext("sessiontimestamp"))
        to = dt.datetime.fromisoformat(auth.findtext("sessiontimeout"))
        assert ts == stamp
        assert to - ts == dt.timedelta(minutes=50)
        assert ts.utcoffset() == dt.timedelta(hours=-7)  # July: PDT
        assert env.element_paths(auth) == env.element_paths(
            env.fixture("functionErrorSuccess.xml").find("operation/authentication")
        )


def test_session_expires_fifty_minutes_after_creation(sb: IntacctSandbox) -> None:
    sid = env.session(sb)
    q = env.request(sb, [("q", env.query_xml("VENDOR", ["RECORDNO"], pagesize=1))], session_id=sid)
    sb.clock.advance(minutes=46)
    assert post(sb.session_endpoint_url, q).findtext("operation/authentication/status") == "success"
    sb.clock.advance(minutes=3, seconds=59)
    assert post(sb.session_endpoint_url, q).findtext("operation/authentication/status") == "success"
    sb.clock.advance(seconds=1)
    root = post(sb.session_endpoint_url, q)
    assert root.findtext("operation/authentication/status") == "failure"
    assert root.findtext("operation/authentication/userid") == ""
    assert root.findtext("operation/authentication/companyid") == ""
    (err,) = error_texts(root.find("operation"))
    assert err[0] == "XL03000006" and err[2].startswith("Invalid session")
    assert env.element_paths(root) == env.element_paths(env.fixture("sessionInvalid.xml"))
    assert root.find("operation/result") is None


def test_session_lifetime_is_configurable_with_sliding_idle_timeout(company_small) -> None:  # type: ignore[no-untyped-def]
    clock = SandboxClock(dt.datetime(2024, 7, 1, 9, 0, 0), frozen=True)
    with IntacctSandbox(
        company_small,
        clock=clock,
        session_lifetime=dt.timedelta(hours=2),
        session_idle_timeout=dt.timedelta(minutes=10),
    ) as box:
        sid = env.session(box)
        q = env.request(
            box, [("q", env.query_xml("VENDOR", ["RECORDNO"], pagesize=1))], session_id=sid
        )
        for _ in range(3):  # each use slides the idle timeout
            clock.advance(minutes=9)
            root = post(box.gateway_url, q)
            assert root.findtext("operation/authentication/status") == "success"
            to = dt.datetime.fromisoformat(root.findtext("operation/authentication/sessiontimeout"))
            assert to == clock.now() + dt.timedelta(minutes=10)
        clock.advance(minutes=11)
        assert post(box.gateway_url, q).findtext("operation/authentication/status") == "failure"


def test_invalidate_sessions_mid_run(sb: IntacctSandbox) -> None:
    sid = env.session(sb)
    q = env.query_xml("VENDOR", ["RECORDNO"], pagesize=1)
    assert sb.invalidate_sessions() >= 1
    root = post(sb.session_endpoint_url, env.request(sb, [("q", q)], session_id=sid))
    assert root.findtext("operation/errormessage/error/description2").startswith("Invalid session")
    sid2 = env.session(sb)
    assert sid2 != sid
    root = post(sb.session_endpoint_url, env.request(sb, [("q", q)], session_id=sid2))
    assert root.findtext("operation/result/status") == "success"


def test_unknown_session_is_invalid(sb: IntacctSandbox) -> None:
    root = post(
        sb.gateway_url,
        env.request(sb, [("q", "<lookup><object>VENDOR</object></lookup>")], session_id="nope.."),
    )
    assert root.findtext("operation/authentication/status") == "failure"


def test_strict_session_endpoint(company_small) -> None:  # type: ignore[no-untyped-def]
    with IntacctSandbox(company_small, strict_session_endpoint=True) as box:
        sid = env.session(box)
        body = env.request(box, [("l", "<lookup><object>VENDOR</object></lookup>")], session_id=sid)
        assert post(box.gateway_url, body).findtext("operation/authentication/status") == "failure"
        ok = post(box.session_endpoint_url, body)
        assert ok.findtext("operation/authentication/status") == "success"


def test_entity_scoped_sessions(sb: IntacctSandbox) -> None:
    # By getAPISession <locationid>.
    root = post(
        sb.gateway_url,
        env.request(sb, [("s", "<getAPISession><locationid>E100</locationid></getAPISession>")]),
    )
    assert root.findtext("operation/result/data/api/locationid") == "E100"
    sid = root.findtext("operation/result/data/api/sessionid")
    q = env.request(sb, [("l", "<lookup><object>VENDOR</object></lookup>")], session_id=sid)
    root = post(sb.session_endpoint_url, q)
    assert root.findtext("operation/authentication/locationid") == "E100"
    assert sb.requests[-1].location_id == "E100"
    # By login <locationid>.
    root = post(sb.gateway_url, env.request(sb, [("s", "<getAPISession/>")], location_id="E200"))
    assert root.findtext("operation/authentication/locationid") == "E200"
    assert root.findtext("operation/result/data/api/locationid") == "E200"
    # An empty <locationid/> from an entity session goes back to the top level.
    root = post(
        sb.session_endpoint_url,
        env.request(
            sb, [("s", "<getAPISession><locationid></locationid></getAPISession>")], session_id=sid
        ),
    )
    top = root.findtext("operation/result/data/api/sessionid")
    assert top != sid and root.findtext("operation/result/data/api/locationid") == ""
    # Same session back when asking again without <locationid>.
    root = post(
        sb.session_endpoint_url, env.request(sb, [("s", "<getAPISession/>")], session_id=sid)
    )
    assert root.findtext("operation/result/data/api/sessionid") == sid


def test_unknown_entity_is_refused(sb: IntacctSandbox) -> None:
    root = post(sb.gateway_url, env.request(sb, [("s", "<getAPISession/>")], location_id="E999"))
    assert root.findtext("operation/authentication/status") == "failure"
    root = post(
        sb.gateway_url,
        env.request(sb, [("s", "<getAPISession><locationid>E999</locationid></getAPISession>")]),
    )
    assert root.findtext("operation/result/status") == "failure"
    assert "E999" in root.findtext("operation/result/errormessage/error/description2")


# -- results, uniqueid, transactions --------------------------------------------------------


def test_results_come_back_in_request_order(sb: IntacctSandbox) -> None:
    funcs = [
        ("a", "<lookup><object>VENDOR</object></lookup>"),
        ("b", env.query_xml("NOSUCHOBJECT", ["RECORDNO"])),
        ("c", env.query_xml("VENDOR", ["RECORDNO"], pagesize=2)),
    ]
    root = post(sb.gateway_url, env.request(sb, funcs))
    results = root.findall("operation/result")
    assert [
        (r.findtext("function"), r.findtext("controlid"), r.findtext("status")) for r in results
    ] == [
        ("lookup", "a", "success"),
        ("query", "b", "failure"),
        ("query", "c", "success"),
    ]
    assert error_texts(results[1]) == [
        ("Query Failed", "", "Object definition NOSUCHOBJECT not found", "")
    ]
    fixture_failure = env.fixture("functionErrorSuccess.xml").find("operation/result")
    assert env.element_paths(results[1]) == env.element_paths(fixture_failure)


def _create_customer(name: str, customer_id: str | None = None) -> str:
    cid = f"<CUSTOMERID>{customer_id}</CUSTOMERID>" if customer_id else ""
    return (
        f"<create><CUSTOMER>{cid}<NAME>{name}</NAME>"
        "<DISPLAYCONTACT><PRINTAS>Printed</PRINTAS><EMAIL1>new@example.com</EMAIL1></DISPLAYCONTACT>"
        "</CUSTOMER></create>"
    )


def test_create_customer(sb: IntacctSandbox) -> None:
    before = sb.company.count("CUSTOMER")
    root = post(
        sb.gateway_url, env.request(sb, [("c1", _create_customer("New &amp; Co", "CNEW1"))])
    )
    res = root.find("operation/result")
    assert res.findtext("status") == "success"
    recordno = int(res.findtext("data/customer/RECORDNO"))
    assert res.findtext("data/customer/CUSTOMERID") == "CNEW1"
    rec = sb.company.get("CUSTOMER", recordno, typed=True)
    assert rec is not None
    assert rec["NAME"] == "New & Co"
    assert rec["DISPLAYCONTACT.EMAIL1"] == "new@example.com"
    assert rec["WHENMODIFIED"] == sb.clock.now_naive()
    assert sb.company.count("CUSTOMER") == before + 1
    # A second customer with the same id is refused like the gateway does.
    root = post(sb.gateway_url, env.request(sb, [("c2", _create_customer("Other", "CNEW1"))]))
    res = root.find("operation/result")
    assert res.findtext("status") == "failure"
    errs = error_texts(res)
    assert errs[0][0] == "BL34000061" and errs[0][3] == "Use a unique value instead."
    assert env.element_paths(res.find("errormessage")) == env.element_paths(
        env.fixture("execFuncError.xml").find("operation/result/errormessage")
    )


def test_uniqueid_true_does_not_run_a_function_twice(sb: IntacctSandbox) -> None:
    before = sb.company.count("CUSTOMER")
    body = env.request(sb, [("create-42", _create_customer("Once Only"))], uniqueid=True)
    first = post(sb.gateway_url, body)
    assert first.findtext("operation/result/status") == "success"
    second = post(sb.gateway_url, body)
    res = second.find("operation/result")
    assert res.findtext("status") == "failure"
    assert res.findtext("controlid") == "create-42"
    assert error_texts(res) == [
        (
            DUPLICATE_CONTROLID_ERRORNO,
            "",
            "The function with control ID 'create-42' was already executed (uniqueid=true).",
            "",
        )
    ]
    assert sb.company.count("CUSTOMER") == before + 1
    assert second.findtext("control/uniqueid") == "true"


def test_uniqueid_false_runs_the_function_again(sb: IntacctSandbox) -> None:
    before = sb.company.count("CUSTOMER")
    body = env.request(sb, [("create-7", _create_customer("Twice"))], uniqueid=False)
    for _ in range(2):
        assert post(sb.gateway_url, body).findtext("operation/result/status") == "success"
    assert sb.company.count("CUSTOMER") == before + 2


def test_uniqueid_defaults_to_true_when_omitted(sb: IntacctSandbox) -> None:
    body = env.request(sb, [("dup-lookup", "<lookup><object>VENDOR</object></lookup>")])
    body = body.replace(b"<uniqueid>false</uniqueid>", b"")
    assert post(sb.gateway_url, body).findtext("operation/result/status") == "success"
    again = post(sb.gateway_url, body)
    assert (
        again.findtext("operation/result/errormessage/error/errorno") == DUPLICATE_CONTROLID_ERRORNO
    )


def test_failed_function_is_not_remembered_for_uniqueid(sb: IntacctSandbox) -> None:
    bad = env.request(sb, [("retry-me", env.query_xml("NOPE", ["RECORDNO"]))], uniqueid=True)
    assert post(sb.gateway_url, bad).findtext("operation/result/status") == "failure"
    good = env.request(sb, [("retry-me", env.query_xml("VENDOR", ["RECORDNO"]))], uniqueid=True)
    assert post(sb.gateway_url, good).findtext("operation/result/status") == "success"


def test_transaction_aborts_everything_and_rolls_back(sb: IntacctSandbox) -> None:
    before = sb.company.count("CUSTOMER")
    funcs = [("c", _create_customer("Rolled Back")), ("q", env.query_xml("NOPE", ["RECORDNO"]))]
    root = post(sb.gateway_url, env.request(sb, funcs, transaction=True))
    results = root.findall("operation/result")
    assert [r.findtext("status") for r in results] == ["aborted", "aborted"]
    assert [e[0] for e in error_texts(results[0])] == ["XL03000009"]
    assert error_texts(results[0])[0][2] == (
        "The entire transaction in this operation has been rolled back due to an error."
    )
    assert [e[0] for e in error_texts(results[1])] == ["Query Failed", "XL03000009"]
    assert sb.company.count("CUSTOMER") == before
    # Without transaction the create stands even though the query fails.
    root = post(sb.gateway_url, env.request(sb, funcs, transaction=False))
    assert [r.findtext("status") for r in root.findall("operation/result")] == [
        "success",
        "failure",
    ]
    assert sb.company.count("CUSTOMER") == before + 1


def test_include_whitespace_pretty_prints(sb: IntacctSandbox) -> None:
    body = env.request(
        sb, [("l", "<lookup><object>VENDOR</object></lookup>")], include_whitespace=True
    )
    text = requests.post(sb.gateway_url, data=body, timeout=10).content
    assert b"\n  <control>" in text
    compact = requests.post(
        sb.gateway_url,
        data=env.request(sb, [("m", "<lookup><object>VENDOR</object></lookup>")]),
        timeout=10,
    ).content
    assert b"\n  <control>" not in compact


def test_large_answers_are_gzipped_when_accepted(sb: IntacctSandbox) -> None:
    q = env.query_xml(
        "APBILL", ["RECORDNO", "RECORDID", "VENDORNAME"], pagesize=200, showprivate=True
    )
    resp = requests.post(
        sb.gateway_url,
        data=env.request(sb, [("q", q)]),
        headers={"Accept-Encoding": "gzip"},
        timeout=10,
    )
    assert resp.headers.get("Content-Encoding") == "gzip"
    assert etree.fromstring(resp.content).findtext("operation/result/status") == "success"


def test_unknown_function_and_path(sb: IntacctSandbox) -> None:
    body = env.request(sb, [("x", "<getDimensions/>")])
    root = post(sb.gateway_url, body)
    assert root.findtext("operation/result/status") == "failure"
    assert root.findtext("operation/result/errormessage/error/errorno") == "SANDBOX-UNSUPPORTED"
    resp = requests.post(sb.base_url + "/elsewhere", data=body, timeout=10)
    assert resp.status_code == 404


def test_loopback_only_and_tap_config(company_small) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="loopback"):
        IntacctSandbox(company_small, host="0.0.0.0")
    with IntacctSandbox(company_small) as box:
        assert box.gateway_url == f"http://127.0.0.1:{box.port}/ia/xml/xmlgw.phtml"
        cfg = box.tap_config(page_size=500)
        assert cfg["api_url"] == box.gateway_url
        assert cfg["page_size"] == 500
        assert {k: cfg[k] for k in ("sender_id", "user_id", "company_id")} == {
            "sender_id": box.sender_id,
            "user_id": box.user_id,
            "company_id": box.company_id,
        }
        body = env.request(
            box,
            [("s", "<getAPISession/>")],
            sender_id=cfg["sender_id"],
            sender_password=cfg["sender_password"],
            user_id=cfg["user_id"],
            user_password=cfg["user_password"],
            company_id=cfg["company_id"],
        )
        assert post(cfg["api_url"], body).findtext("operation/result/status") == "success"
    with pytest.raises(requests.ConnectionError):
        requests.post(cfg["api_url"], data=body, timeout=2)


def test_stop_closes_kept_alive_connections(company_small) -> None:  # type: ignore[no-untyped-def]
    http = requests.Session()
    with IntacctSandbox(company_small) as box:
        body = env.request(box, [("l", "<lookup><object>VENDOR</object></lookup>")])
        assert http.post(box.gateway_url, data=body, timeout=5).status_code == 200
        url = box.gateway_url
    with pytest.raises(requests.ConnectionError):
        http.post(url, data=body, timeout=5)


def test_chunked_request_body(sb: IntacctSandbox) -> None:
    body = env.request(sb, [("s", "<getAPISession/>")])
    resp = requests.post(
        sb.gateway_url,
        data=iter([body[:50], body[50:]]),
        headers={"Content-Type": "application/xml"},
        timeout=10,
    )
    assert etree.fromstring(resp.content).findtext("operation/result/status") == "success"
    assert sb.requests[-1].body == body
    assert sb.requests[-1].headers["transfer-encoding"] == "chunked"
