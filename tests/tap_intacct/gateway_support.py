"""Shared helpers of the gateway tests (no tests here).

- :func:`api_schema`: Sage's ``api.xsd`` loaded once per process (vendored in
  ``tests/sandbox/reference``).
- :class:`FakeClock`: an aware clock tests move by hand.
- :class:`FakeGateway` + :func:`serve`: a tiny gateway on ``127.0.0.1`` (http.server in a thread)
  with scripted faults, recording every request and checking each against the schema.
- Response builders in the shape of the reference fixtures.
"""

from __future__ import annotations

import datetime as dt
import functools
import http.server
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from lxml import etree

from tests.sandbox.reference import INTACCT_FIXTURES, INTACCT_XSD

XSD_PATH = INTACCT_XSD
FIXTURES = INTACCT_FIXTURES

SENDER_ID = "tap-sender"
SENDER_PASSWORD = "S3nder-Pa55word!"
USER_ID = "xml_gateway"
USER_PASSWORD = "Us3r-Pa55word?"
COMPANY_ID = "ACME"
PACIFIC = dt.timezone(dt.timedelta(hours=-7))


@functools.cache
def load_api_schema() -> Any:
    import xmlschema

    return xmlschema.XMLSchema(str(XSD_PATH), validation="lax")


@pytest.fixture(scope="session")
def api_schema() -> Any:
    """The official request schema (loading takes ~1.5 s, so once per session)."""
    return load_api_schema()


def schema_errors(schema: Any, document: bytes | etree._Element) -> list[str]:
    if isinstance(document, etree._Element):
        document = etree.tostring(document)
    return [str(e.reason) for e in schema.iter_errors(document)]


class FakeClock:
    """An aware clock that only moves when told."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.now = start or dt.datetime(2024, 2, 1, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


# --- response builders (shapes of the reference fixtures) -----------------------------------------


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    node = etree.SubElement(parent, tag)
    if text is not None:
        node.text = text
    return node


def _errormessage(parent: etree._Element, errors: list[tuple[str, str, str, str]]) -> None:
    message = _sub(parent, "errormessage")
    for errorno, description, description2, correction in errors:
        error = _sub(message, "error")
        _sub(error, "errorno", errorno)
        _sub(error, "description", description)
        _sub(error, "description2", description2)
        _sub(error, "correction", correction)


def _control(root: etree._Element, status: str, control_id: str) -> None:
    control = _sub(root, "control")
    _sub(control, "status", status)
    _sub(control, "senderid", SENDER_ID)
    _sub(control, "controlid", control_id)
    _sub(control, "uniqueid", "false")
    _sub(control, "dtdversion", "3.0")


def control_failure(control_id: str, errors: list[tuple[str, str, str, str]]) -> bytes:
    root = etree.Element("response")
    _control(root, "failure", control_id)
    _errormessage(root, errors)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def gateway_error(errorno: str, description: str) -> bytes:
    """The GW-xxxx shape: a control holding only its status."""
    root = etree.Element("response")
    control = _sub(root, "control")
    _sub(control, "status", "failure")
    _errormessage(root, [(errorno, description, "", "")])
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def auth_failure(
    control_id: str,
    errors: list[tuple[str, str, str, str]],
    *,
    user_id: str = USER_ID,
    company_id: str = COMPANY_ID,
) -> bytes:
    root = etree.Element("response")
    _control(root, "success", control_id)
    operation = _sub(root, "operation")
    auth = _sub(operation, "authentication")
    _sub(auth, "status", "failure")
    _sub(auth, "userid", user_id)
    _sub(auth, "companyid", company_id)
    _errormessage(operation, errors)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@dataclass
class ResultSpec:
    status: str
    function: str
    control_id: str
    data: etree._Element | None = None
    errors: list[tuple[str, str, str, str]] = field(default_factory=list)


def success_response(
    control_id: str,
    results: list[ResultSpec],
    *,
    timeout: dt.datetime | None = None,
    timestamp: dt.datetime | None = None,
    location_id: str = "",
) -> bytes:
    root = etree.Element("response")
    _control(root, "success", control_id)
    operation = _sub(root, "operation")
    auth = _sub(operation, "authentication")
    _sub(auth, "status", "success")
    _sub(auth, "userid", USER_ID)
    _sub(auth, "companyid", COMPANY_ID)
    _sub(auth, "locationid", location_id)
    if timestamp is not None:
        _sub(auth, "sessiontimestamp", timestamp.isoformat())
    if timeout is not None:
        _sub(auth, "sessiontimeout", timeout.isoformat())
    for spec in results:
        result = _sub(operation, "result")
        _sub(result, "status", spec.status)
        _sub(result, "function", spec.function)
        _sub(result, "controlid", spec.control_id)
        if spec.data is not None:
            result.append(spec.data)
        if spec.errors:
            _errormessage(result, spec.errors)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def data_element(
    tag: str, records: list[dict[str, str | None]], **attrs: str | int
) -> etree._Element:
    data = etree.Element("data", {k: str(v) for k, v in attrs.items()})
    for record in records:
        node = _sub(data, tag)
        for name, value in record.items():
            _sub(node, name, value)
    return data


# --- the loopback gateway -------------------------------------------------------------------------


@dataclass
class Reply:
    """A scripted answer; ``delay`` seconds before it, or ``drop`` the connection instead."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False


@dataclass
class Recorded:
    """One request as the fake gateway saw it."""

    path: str
    headers: dict[str, str]
    body: bytes
    root: etree._Element | None

    def _text(self, xpath: str) -> str | None:
        if self.root is None:
            return None
        nodes = self.root.xpath(xpath)
        return str(nodes[0]) if nodes else None

    @property
    def function(self) -> str | None:
        if self.root is None:
            return None
        node = self.root.find("operation/content/function")
        return None if node is None or not len(node) else str(node[0].tag)

    @property
    def control_id(self) -> str | None:
        return self._text("control/controlid/text()")

    @property
    def function_control_id(self) -> str | None:
        return self._text("operation/content/function/@controlid")

    @property
    def unique_id(self) -> str | None:
        return self._text("control/uniqueid/text()")

    @property
    def session_id(self) -> str | None:
        return self._text("operation/authentication/sessionid/text()")

    @property
    def login(self) -> dict[str, str] | None:
        if self.root is None:
            return None
        node = self.root.find("operation/authentication/login")
        return None if node is None else {c.tag: c.text or "" for c in node}


#: A fault is a reply, or a callable that returns one (or None to answer normally).
Fault = Reply | Callable[["Recorded"], "Reply | None"]


def passthrough(_: Recorded) -> None:
    """A fault that lets the request through (to script the n-th request)."""


class FakeGateway:
    """Answers like the gateway: logins, sessions, query/readByQuery/readMore/lookup/create.

    Faults queued with :meth:`fail_next` are served first, one per request, in order.
    """

    LOGIN_PATH = "/ia/xml/xmlgw.phtml"
    SESSION_PATH = "/session/xmlgw.phtml"

    def __init__(self, schema: Any = None) -> None:
        self.schema = schema
        self.base_url = ""
        self.requests: list[Recorded] = []
        self.schema_errors: list[str] = []
        self.faults: deque[Fault] = deque()
        self.sessions: dict[str, tuple[str, str | None]] = {}
        self.issued_sessions: list[str] = []
        self.users = {(COMPANY_ID, USER_ID): USER_PASSWORD}
        self.sender = (SENDER_ID, SENDER_PASSWORD)
        self.authorized_companies: set[str] | None = None
        self.records: dict[str, list[dict[str, str | None]]] = {}
        self.executed_writes: set[str] = set()
        self.created: list[str] = []
        self.session_timeout = dt.timedelta(hours=6)
        self.clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(PACIFIC)
        self.lock = threading.Lock()
        self._counter = 0

    # -- scripting --
    @property
    def url(self) -> str:
        return self.base_url + self.LOGIN_PATH

    def fail_next(self, *faults: Fault) -> None:
        self.faults.extend(faults)

    def expire_all_sessions(self) -> None:
        self.sessions.clear()

    def calls(self, function: str) -> list[Recorded]:
        return [r for r in self.requests if r.function == function]

    # -- serving --
    def handle(self, path: str, headers: dict[str, str], body: bytes) -> Reply:
        try:
            root: etree._Element | None = etree.fromstring(body)
        except etree.XMLSyntaxError:
            root = None
        recorded = Recorded(path, headers, body, root)
        with self.lock:
            self.requests.append(recorded)
            if self.schema is not None:
                self.schema_errors.extend(schema_errors(self.schema, body))
            if self.faults:
                fault = self.faults.popleft()
                reply = fault if isinstance(fault, Reply) else fault(recorded)
                if reply is not None:
                    return reply
            return self.answer(recorded)

    def answer(self, req: Recorded) -> Reply:
        control_id = req.control_id or ""
        if req.root is None:
            return Reply(
                body=control_failure(
                    control_id, [("XL03000003", "", "XML Parse schema error: not XML", "")]
                )
            )
        if (req._text("control/senderid/text()"), req._text("control/password/text()")) != (
            self.sender
        ):
            return Reply(
                body=control_failure(
                    control_id,
                    [("XL03000006", "", "Incorrect Intacct XML Partner ID or password.", "")],
                )
            )
        fn_cid = req.function_control_id or ""
        login = req.login
        if login is not None:
            company = login.get("companyid", "")
            if self.authorized_companies is not None and company not in self.authorized_companies:
                return Reply(
                    body=auth_failure(
                        control_id,
                        [
                            (
                                "XL03000006",
                                "Invalid Web Services Authorization",
                                f"The sender ID '{SENDER_ID}' is not authorized to make Web "
                                f"Services requests to company ID '{company}'.",
                                "Contact the company administrator to grant Web Services "
                                "authorization to this sender ID.",
                            )
                        ],
                        company_id=company,
                    )
                )
            if self.users.get((company, login.get("userid", ""))) != login.get("password"):
                return Reply(
                    body=auth_failure(
                        control_id,
                        [("XL03000006", "", "Sign-in information is incorrect", "")],
                        company_id=company,
                    )
                )
            if req.function != "getAPISession":
                return Reply(body=control_failure(control_id, [("XL03000003", "", "x", "")]))
            self._counter += 1
            session_id = f"sess{self._counter}-{company}-Zq9.."
            location = req._text("operation/content/function/getAPISession/locationid/text()")
            self.sessions[session_id] = (company, location)
            self.issued_sessions.append(session_id)
            api = etree.Element("data")
            api_node = _sub(api, "api")
            _sub(api_node, "sessionid", session_id)
            _sub(api_node, "endpoint", self.base_url + self.SESSION_PATH)
            _sub(api_node, "locationid", location or "")
            now = self.clock()
            return Reply(
                body=success_response(
                    control_id,
                    [ResultSpec("success", "getAPISession", fn_cid, api)],
                    timestamp=now,
                    timeout=now + self.session_timeout,
                    location_id=location or "",
                )
            )
        session_id = req.session_id
        if session_id not in self.sessions:
            return Reply(
                body=auth_failure(
                    control_id,
                    [("XL03000006", "", f"Invalid session {session_id}", "")],
                    user_id="",
                    company_id="",
                )
            )
        return Reply(body=self._function(req, control_id, fn_cid))

    def _function(self, req: Recorded, control_id: str, fn_cid: str) -> bytes:
        assert req.root is not None
        node = req.root.find("operation/content/function")[0]  # type: ignore[index]
        kind = str(node.tag)
        now = self.clock()
        timeout = now + self.session_timeout

        def ok(data: etree._Element | None) -> bytes:
            return success_response(
                control_id, [ResultSpec("success", kind, fn_cid, data)], timeout=timeout
            )

        def fail(errors: list[tuple[str, str, str, str]]) -> bytes:
            return success_response(
                control_id, [ResultSpec("failure", kind, fn_cid, None, errors)], timeout=timeout
            )

        if kind in ("create", "update"):
            if req.unique_id == "true" and fn_cid in self.executed_writes:
                from tap_intacct.gateway import (
                    DUPLICATE_CONTROLID_DESCRIPTION2,
                    DUPLICATE_CONTROLID_ERRORNO,
                )

                return fail(
                    [
                        (
                            DUPLICATE_CONTROLID_ERRORNO,
                            "",
                            DUPLICATE_CONTROLID_DESCRIPTION2.format(control_id=fn_cid),
                            "",
                        )
                    ]
                )
            self.executed_writes.add(fn_cid)
            self.created.append(fn_cid)
            return ok(data_element(str(node[0].tag), [{"RECORDNO": str(len(self.created))}]))
        if kind == "lookup":
            return ok(lookup_data(node.findtext("object") or ""))
        if kind == "query":
            obj = node.findtext("object") or ""
            if obj not in self.records:
                return fail([("Query Failed", "", f"Object definition {obj} not found", "")])
            select = node.find("select")
            fields = [f.text or "" for f in (select if select is not None else [])]
            rows = self.records[obj]
            offset = int(node.findtext("offset") or 0)
            size = int(node.findtext("pagesize") or 100)
            page = rows[offset : offset + size]
            return ok(
                data_element(
                    obj,
                    [{f: r.get(f) for f in fields} for r in page],
                    listtype=obj,
                    totalcount=len(rows),
                    offset=offset,
                    count=len(page),
                    numremaining=max(0, len(rows) - offset - len(page)),
                )
            )
        if kind == "readByQuery":
            obj = node.findtext("object") or ""
            size = int(node.findtext("pagesize") or 100)
            rows = self.records.get(obj, [])
            self._result_sets = getattr(self, "_result_sets", {})
            result_id = f"rid-{obj}"
            self._result_sets[result_id] = (obj, size, size)
            page = rows[:size]
            return ok(
                data_element(
                    obj.lower(),
                    page,
                    listtype=obj.lower(),
                    count=len(page),
                    totalcount=len(rows),
                    numremaining=max(0, len(rows) - len(page)),
                    resultId=result_id,
                )
            )
        if kind == "readMore":
            result_id = node.findtext("resultId") or ""
            obj, size, position = self._result_sets[result_id]
            rows = self.records.get(obj, [])
            page = rows[position : position + size]
            self._result_sets[result_id] = (obj, size, position + size)
            return ok(
                data_element(
                    obj.lower(),
                    page,
                    listtype=obj.lower(),
                    count=len(page),
                    totalcount=len(rows),
                    numremaining=max(0, len(rows) - position - len(page)),
                    resultId=result_id,
                )
            )
        return fail([("XL03000003", "", f"unsupported function {kind}", "")])


def lookup_data(object_name: str) -> etree._Element:
    data = etree.Element("data", listtype=object_name, count="1")
    type_node = _sub(data, "Type", None)
    type_node.set("Name", object_name)
    type_node.set("DocumentType", "")
    fields = _sub(type_node, "Fields")
    for ident, label, datatype, valid in (
        ("RECORDNO", "Record number", "INTEGER", ()),
        ("STATE", "State", "ENUM", ("Draft", "Posted", "Paid")),
        ("WHENMODIFIED", "When modified", "TIMESTAMP", ()),
    ):
        node = _sub(fields, "Field")
        _sub(node, "ID", ident)
        _sub(node, "LABEL", label)
        _sub(node, "DESCRIPTION", f"{label} of the {object_name.lower()}")
        _sub(node, "REQUIRED", "true" if ident == "RECORDNO" else "false")
        _sub(node, "READONLY", "true" if ident != "STATE" else "false")
        _sub(node, "DATATYPE", datatype)
        _sub(node, "ISCUSTOM", "false")
        if valid:
            values = _sub(node, "VALIDVALUES")
            for value in valid:
                _sub(values, "VALIDVALUE", value)
    relationships = _sub(type_node, "Relationships")
    rel = _sub(relationships, "Relationship")
    _sub(rel, "OBJECTPATH", "VENDOR")
    _sub(rel, "OBJECTNAME", "VENDOR")
    _sub(rel, "LABEL", "Vendor")
    _sub(rel, "RELATIONSHIPTYPE", "MANY2ONE")
    _sub(rel, "RELATEDBY", "VENDORID")
    return data


class _Handler(http.server.BaseHTTPRequestHandler):
    gateway: FakeGateway
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        reply = self.server.gateway.handle(  # type: ignore[attr-defined]
            self.path, dict(self.headers.items()), body
        )
        if reply.delay:
            time.sleep(reply.delay)
        if reply.drop:
            self.close_connection = True
            return
        self.send_response(reply.status)
        headers = {"Content-Type": "text/xml; charset=UTF-8", **reply.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve(gateway: FakeGateway) -> Iterator[FakeGateway]:
    """Run ``gateway`` on 127.0.0.1 (a free port) until the block ends."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.gateway = gateway  # type: ignore[attr-defined]
    gateway.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield gateway
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
