"""The sandbox HTTP server and request pipeline (see the package docstring for the API)."""

from __future__ import annotations

import datetime as dt
import gzip
import secrets
import socket
import struct
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lxml import etree
from requests.structures import CaseInsensitiveDict

from tests.sandbox.intacct import protocol as proto
from tests.sandbox.intacct.clock import SandboxClock, iso_pacific
from tests.sandbox.intacct.data import Company, generate_company
from tests.sandbox.intacct.faults import FaultRule, Faults
from tests.sandbox.intacct.functions import (
    HANDLERS,
    AuthContext,
    Outcome,
    QueryCache,
    ResultSets,
)
from tests.sandbox.intacct.query import QueryError
from tests.sandbox.intacct.xsd import load_schema, validation_errors
from tests.sandbox.latency import Latency
from tests.sandbox.loopback import LoopbackServer, Served, serve_in_background

GATEWAY_PATH = "/ia/xml/xmlgw.phtml"
SESSION_PATH = "/session/xmlgw.phtml"
LOOPBACK = ("127.0.0.1", "localhost")

DEFAULT_SENDER_ID = "sandbox_sender"
DEFAULT_SENDER_PASSWORD = "sandbox-sender-pw"
DEFAULT_USER_ID = "xml_gateway"
DEFAULT_USER_PASSWORD = "sandbox-user-pw"
DEFAULT_COMPANY_ID = "SANDBOX-CO"
#: Simultaneous requests a company is allowed (the reference: most companies get 2).
DEFAULT_MAX_CONCURRENT_REQUESTS = 2

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
_RECOVER = etree.XMLParser(resolve_entities=False, no_network=True, recover=True)


@dataclass
class Session:
    """An API session issued by getAPISession."""

    id: str
    sender_id: str
    user_id: str
    company_id: str
    location_id: str
    created: dt.datetime
    expires: dt.datetime
    invalidated: bool = False


class SessionStore:
    """Issued sessions. A session dies `lifetime` after creation, or `idle_timeout` after its
    last use when that is set, or when invalidated."""

    def __init__(
        self, clock: SandboxClock, lifetime: dt.timedelta, idle_timeout: dt.timedelta | None
    ) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.idle_timeout = idle_timeout
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}

    def _expiry(self, created: dt.datetime, now: dt.datetime) -> dt.datetime:
        end = created + self.lifetime
        if self.idle_timeout is not None:
            end = min(end, now + self.idle_timeout)
        return end

    def create(self, sender_id: str, user_id: str, company_id: str, location_id: str) -> Session:
        now = self.clock.now()
        sid = secrets.token_urlsafe(30) + ".."
        s = Session(sid, sender_id, user_id, company_id, location_id, now, self._expiry(now, now))
        with self._lock:
            self._sessions[sid] = s
        return s

    def lookup(self, sid: str) -> Session | None:
        """The live session `sid` (its idle expiry slides), or None."""
        now = self.clock.now()
        with self._lock:
            s = self._sessions.get(sid)
            if s is None or s.invalidated or now >= s.expires:
                return None
            s.expires = self._expiry(s.created, now)
            return s

    def peek(self, sid: str) -> Session | None:
        """The session `sid` as stored (live or not), without touching its idle expiry."""
        with self._lock:
            return self._sessions.get(sid)

    def invalidate(self, sid: str | None = None) -> int:
        """Invalidate one session, or all (sid=None); returns how many were live."""
        with self._lock:
            targets = [self._sessions[sid]] if sid in self._sessions else []
            if sid is None:
                targets = list(self._sessions.values())
            n = sum(1 for s in targets if not s.invalidated)
            for s in targets:
                s.invalidated = True
            return n

    def all(self) -> list[Session]:
        with self._lock:
            return list(self._sessions.values())


@dataclass
class RequestRecord:
    """What the sandbox saw of one HTTP request, and what it did."""

    index: int
    received_at: dt.datetime
    method: str
    path: str
    url: str
    headers: Mapping[str, str]  # case-insensitive
    body: bytes
    parsed: bool = False
    valid: bool = False
    errors: list[str] = field(default_factory=list)
    sender_id: str | None = None
    control_id: str | None = None
    uniqueid: str | None = None
    dtdversion: str | None = None
    auth: str | None = None  # "login", "session", "oauth" or None
    session_id: str | None = None
    user_id: str | None = None
    company_id: str | None = None
    location_id: str | None = None
    transaction: bool = False
    functions: list[str] = field(default_factory=list)
    function_controlids: list[str] = field(default_factory=list)
    results: list[tuple[str, str, str]] = field(default_factory=list)  # (function, id, status)
    outcome: str = ""  # success, control_failure, auth_failure, fault:<name>, error
    faults: list[str] = field(default_factory=list)
    status: int = 0
    response: bytes | None = None
    slot: str | None = None  # the company whose allowance this request holds while in flight
    started: float = 0.0  # time.monotonic() when the request arrived
    answered: float = 0.0  # ... when its answer was ready (latency included)

    @property
    def used_session_endpoint(self) -> bool:
        return self.path == SESSION_PATH


@dataclass
class HttpAnswer:
    status: int
    body: bytes
    content_type: str = "text/xml; charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay_before: float = 0.0
    delay_after: float = 0.0
    reset: bool = False
    compressible: bool = True
    slot: str | None = None  # released as the answer is written
    record: RequestRecord | None = None


class IntacctSandbox(Served):
    """A local Sage Intacct XML gateway on 127.0.0.1. Use as a context manager."""

    def __init__(
        self,
        company: Company | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        sender_id: str = DEFAULT_SENDER_ID,
        sender_password: str = DEFAULT_SENDER_PASSWORD,
        user_id: str = DEFAULT_USER_ID,
        user_password: str = DEFAULT_USER_PASSWORD,
        company_id: str = DEFAULT_COMPANY_ID,
        senders: Mapping[str, str] | None = None,
        authorized_senders: Iterable[str] | None = None,
        users: Mapping[str, str] | None = None,
        clock: SandboxClock | None = None,
        session_lifetime: dt.timedelta = dt.timedelta(minutes=50),
        session_idle_timeout: dt.timedelta | None = None,
        strict_session_endpoint: bool = False,
        latency_ms: float = 0.0,
        latency_jitter_ms: float = 0.0,
        latency_distribution: str = "uniform",
        latency_seed: int = 0,
        max_concurrent_requests: int | None = DEFAULT_MAX_CONCURRENT_REQUESTS,
        latency_includes_work: bool = False,
        validate: bool = True,
        xsd_path: Path | None = None,
        keep_responses: bool = True,
        compress: bool = True,
    ) -> None:
        if host not in LOOPBACK:
            raise ValueError(f"the sandbox listens on loopback only, not {host!r}")
        self.company = company if company is not None else generate_company(seed=1)
        self.clock = clock or self.company.clock
        self.company.clock = self.clock
        self.host = "127.0.0.1"
        self._port = port
        self.sender_id = sender_id
        self.sender_password = sender_password
        self.user_id = user_id
        self.user_password = user_password
        self.company_id = company_id
        self.senders: dict[str, str] = {sender_id: sender_password, **(senders or {})}
        self.authorized_senders: set[str] = (
            set(authorized_senders) if authorized_senders is not None else set(self.senders)
        )
        self.users: dict[str, str] = {user_id: user_password, **(users or {})}
        self.sessions = SessionStore(self.clock, session_lifetime, session_idle_timeout)
        self.strict_session_endpoint = strict_session_endpoint
        self.latency = latency_ms / 1000.0
        self.jitter = Latency(
            0.0, latency_jitter_ms / 1000.0, distribution=latency_distribution, seed=latency_seed
        )
        if max_concurrent_requests is not None and max_concurrent_requests < 1:
            raise ValueError("max_concurrent_requests must be 1 or more (or None: no limit)")
        self.max_concurrent_requests = max_concurrent_requests
        self.latency_includes_work = latency_includes_work
        self._in_flight: Counter[str] = Counter()
        self.max_in_flight = 0
        self.refused_for_concurrency = 0
        self.validate = validate
        self.xsd_path = xsd_path
        self.keep_responses = keep_responses
        self.compress = compress
        self.faults = Faults()
        self.requests: list[RequestRecord] = []
        self.calls: Counter[str] = Counter()
        self.executed: Counter[str] = Counter()
        self.errors: list[str] = []
        self.query_cache = QueryCache()
        # AUDITHISTORY failures (functions._audit_fault): every query is refused while
        # audit_history_denied; the next audit_history_errors queries fail with "There was an
        # error processing the request", and so does every audit_history_error_every-th one.
        self.audit_history_denied = False
        self.audit_history_errors = 0
        self.audit_history_error_every = 0
        self.audit_history_queries = 0
        self.audit_lock = threading.Lock()
        self.result_sets = ResultSets()
        self._executed_ids: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server: LoopbackServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> IntacctSandbox:
        if self._server is not None:
            return self
        if self.validate:
            load_schema(self.xsd_path)
        handler = type("Handler", (_Handler,), {"sandbox": self})
        self._stop.clear()
        self._server = LoopbackServer((self.host, self._port), handler)
        self._thread = serve_in_background(self._server, name=f"intacct-sandbox-{self.port}")
        return self

    def stop(self) -> None:
        self._stop.set()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
            server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # -- addresses and config ------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def gateway_url(self) -> str:
        """The login URL (what a tap config calls api_url)."""
        return self.base_url + GATEWAY_PATH

    @property
    def session_endpoint_url(self) -> str:
        """The endpoint getAPISession hands out (a different path from gateway_url)."""
        return self.base_url + SESSION_PATH

    def tap_config(self, **overrides: Any) -> dict[str, Any]:
        """A ready tap-intacct config for this sandbox (credentials, api_url, start_date)."""
        config: dict[str, Any] = {
            "sender_id": self.sender_id,
            "sender_password": self.sender_password,
            "user_id": self.user_id,
            "user_password": self.user_password,
            "company_id": self.company_id,
            "api_url": self.gateway_url,
            "start_date": "2000-01-01T00:00:00Z",
        }
        config.update(overrides)
        return config

    # -- test helpers --------------------------------------------------------------------

    def invalidate_sessions(self, session_id: str | None = None) -> int:
        """Kill every live session (or one); later calls with it get "Invalid session"."""
        return self.sessions.invalidate(session_id)

    def requests_for(self, function: str) -> list[RequestRecord]:
        """Recorded requests that carried `function`."""
        with self._lock:
            return [r for r in self.requests if function in r.functions]

    def invalid_requests(self) -> list[RequestRecord]:
        with self._lock:
            return [r for r in self.requests if not r.valid]

    def assert_all_valid(self) -> None:
        """Raise AssertionError naming every request that failed parsing or the XSD."""
        bad = self.invalid_requests()
        if bad:
            lines = [f"#{r.index} {r.functions}: {'; '.join(r.errors)[:500]}" for r in bad]
            raise AssertionError(
                f"{len(bad)} request(s) failed the XSD check:\n" + "\n".join(lines)
            )
        if self.errors:
            raise AssertionError("sandbox internal errors:\n" + "\n".join(self.errors))

    def reset_log(self) -> None:
        """Forget recorded requests and counters (faults and sessions stay)."""
        with self._lock:
            self.requests = []
            self.calls = Counter()
            self.executed = Counter()
            self.errors = []
            self.max_in_flight = 0
            self.refused_for_concurrency = 0

    # -- request pipeline ----------------------------------------------------------------

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> HttpAnswer:
        """Process one HTTP request (the handler thread calls this)."""
        started = time.monotonic()
        with self._lock:
            rec = RequestRecord(
                index=len(self.requests),
                received_at=self.clock.now(),
                method=method,
                path=path,
                url=self.base_url + path,
                headers=headers,
                body=body,
                started=started,
            )
            self.requests.append(rec)
        try:
            answer = self._handle(rec)
        except Exception:
            tb = traceback.format_exc()
            with self._lock:
                self.errors.append(tb)
            rec.outcome = "error"
            answer = HttpAnswer(500, proto.html_error(500, "Internal Server Error"), "text/html")
        rec.status = answer.status
        if self.keep_responses and not answer.reset:
            rec.response = answer.body
        answer.slot = rec.slot
        answer.record = rec
        if self.latency_includes_work:
            # The latency is the whole answer time, as a client sees it: the sandbox's own work
            # (query, rendering) is inside it, as the real gateway's is inside its latency.
            answer.delay_before = max(0.0, answer.delay_before - (time.monotonic() - started))
        return answer

    # -- the company's allowance of simultaneous requests ---------------------------------

    def _company_of(self, root: etree._Element | None) -> str:
        """The company a request is for: its login's, its session's, else the sandbox's."""
        company = ""
        if root is not None:
            company = (root.findtext("operation/authentication/login/companyid") or "").strip()
            sid = (root.findtext("operation/authentication/sessionid") or "").strip()
            if not company and sid:
                session = self.sessions.peek(sid)
                company = session.company_id if session is not None else ""
        return (company or self.company_id).lower()

    def _admit(self, rec: RequestRecord, root: etree._Element | None) -> bool:
        """Take one of the company's simultaneous-request slots; False when none is free."""
        company = self._company_of(root)
        with self._lock:
            limit = self.max_concurrent_requests
            if limit is not None and self._in_flight[company] >= limit:
                self.refused_for_concurrency += 1
                return False
            self._in_flight[company] += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight[company])
            rec.slot = company
            return True

    def release(self, slot: str | None) -> None:
        """Give back a slot taken by `_admit` (the handler calls this once the answer is out)."""
        if slot is None:
            return
        with self._lock:
            self._in_flight[slot] -= 1
            if self._in_flight[slot] <= 0:
                del self._in_flight[slot]

    @property
    def in_flight(self) -> int:
        """Requests being answered now (all companies)."""
        with self._lock:
            return sum(self._in_flight.values())

    def delay(self) -> float:
        """Seconds added to this answer: `latency` plus the seeded jitter."""
        return self.latency + self.jitter.sample()

    def _handle(self, rec: RequestRecord) -> HttpAnswer:
        root: etree._Element | None = None
        parse_error: str | None = None
        try:
            root = etree.fromstring(rec.body, _PARSER)
        except etree.XMLSyntaxError as exc:
            parse_error = str(exc)
        if root is not None:
            rec.parsed = True
            functions = [
                (str(child.tag), fn.get("controlid", ""))
                for fn in root.iterfind("operation/content/function")
                for child in fn
                if isinstance(child.tag, str)
            ]
            rec.functions = [f for f, _ in functions]
            rec.function_controlids = [c for _, c in functions]
            with self._lock:
                self.calls.update(rec.functions)
        if not self._admit(rec, root):
            # Above the company's allowance: refused at once, nothing run (GW-0010, as the
            # gateway answers requests beyond the allowance).
            rec.outcome = "refused:concurrency"
            return HttpAnswer(429, proto.gw_0010(), "application/xml")
        fired = self.faults.select(rec.index, rec.functions)
        rec.faults = [f.name for f in fired]
        delay = self.delay()
        terminal: FaultRule | None = None
        for rule in fired:
            if rule.name == "slow":
                delay += float(rule.params["seconds"])
            elif rule.name == "invalidate_session":
                if rule.params.get("scope") == "request" and root is not None:
                    self.sessions.invalidate(root.findtext("operation/authentication/sessionid"))
                else:
                    self.sessions.invalidate()
            else:
                terminal = rule
        if terminal is not None and terminal.kind == "http" and not terminal.params.get("execute"):
            rec.outcome = f"fault:{terminal.name}"
            answer = self._http_fault(terminal)
            answer.delay_before += delay
            return answer
        if terminal is not None and terminal.kind == "control":
            rec.outcome = f"fault:{terminal.name}"
            ids = self._control_ids(root, rec.body)
            text = (
                proto.SERVICE_OFFLINE_TEXT
                if terminal.name == "service_offline"
                else proto.RATE_LIMIT_TEXT
            )
            errno = (
                proto.SERVICE_OFFLINE_ERRORNO
                if terminal.name == "service_offline"
                else proto.RATE_LIMIT_ERRORNO
            )
            body = proto.control_failure([proto.ErrorInfo(errno, description2=text)], *ids)
            return HttpAnswer(200, body, delay_before=delay)
        function_fault = terminal if terminal is not None and terminal.kind == "function" else None
        body, pretty = self._process(rec, root, parse_error, function_fault)
        if pretty:
            body = etree.tostring(
                etree.fromstring(body, _PARSER),
                pretty_print=True,
                xml_declaration=True,
                encoding="UTF-8",
            )
        answer = HttpAnswer(200, body, delay_before=delay)
        if terminal is not None and terminal.kind == "http":  # executed, then the CDN failed
            rec.outcome = f"fault:{terminal.name}"
            answer = self._http_fault(terminal)
            answer.delay_before += delay
        elif terminal is not None and terminal.name == "truncated":
            rec.outcome = "fault:truncated"
            frac = float(terminal.params.get("fraction", 0.5))
            cut = max(1, min(len(body) - 1, int(len(body) * frac)))
            answer.body = body[:cut]
            answer.compressible = False
        elif terminal is not None and terminal.name == "timeout":
            rec.outcome = "fault:timeout"
            answer.delay_after = float(terminal.params.get("seconds", 2.0))
        elif function_fault is not None:
            rec.outcome = rec.outcome or f"fault:{function_fault.name}"
        return answer

    def _http_fault(self, rule: FaultRule) -> HttpAnswer:
        name = rule.name
        status = int(rule.params.get("status", 500))
        headers: dict[str, str] = {}
        if rule.params.get("retry_after") is not None:
            headers["Retry-After"] = str(rule.params["retry_after"])
        if name == "connection_reset":
            return HttpAnswer(0, b"", reset=True)
        if name == "http_429":
            return HttpAnswer(429, proto.gw_0010(), "application/xml", headers)
        if name == "http_400":
            return HttpAnswer(400, proto.gw_0011(), "application/xml", headers)
        if name in ("cdn_error", "cdn_error_200"):
            return HttpAnswer(
                status, proto.cdn_error_page(status), "text/html; charset=UTF-8", headers
            )
        titles = {
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Unavailable",
            524: "A Timeout Occurred",
        }
        return HttpAnswer(
            status, proto.html_error(status, titles.get(status, "Error")), "text/html", headers
        )

    @staticmethod
    def _control_ids(root: etree._Element | None, body: bytes) -> tuple[str, str, str, str]:
        """(senderid, controlid, uniqueid, dtdversion) of a request, even a broken one."""
        if root is None:
            try:
                root = etree.fromstring(body, _RECOVER)
            except etree.XMLSyntaxError:
                root = None
        if root is None:
            return ("", "", "false", "3.0")
        return (
            (root.findtext("control/senderid") or "").strip(),
            (root.findtext("control/controlid") or "").strip(),
            (root.findtext("control/uniqueid") or "true").strip(),
            (root.findtext("control/dtdversion") or "3.0").strip(),
        )

    def _process(
        self,
        rec: RequestRecord,
        root: etree._Element | None,
        parse_error: str | None,
        function_fault: FaultRule | None,
    ) -> tuple[bytes, bool]:
        ids = self._control_ids(root, rec.body)
        rec.sender_id, rec.control_id, rec.uniqueid, rec.dtdversion = ids
        if root is None:
            rec.errors = [parse_error or "unparseable"]
            rec.outcome = "control_failure"
            msg = f"XML Parse schema error: Fatal Error: {parse_error}"
            return proto.control_failure(
                [proto.ErrorInfo(proto.XML_ERROR, description2=msg)], *ids
            ), False
        if self.validate:
            errors = validation_errors(root, self.xsd_path)
            if errors:
                rec.errors = errors
                rec.outcome = "control_failure"
                errs = [
                    proto.ErrorInfo(proto.XML_ERROR, description2=f"XML Parse schema error: {e}")
                    for e in errors
                ]
                return proto.control_failure(errs, *ids), False
        rec.valid = True
        senderid, _controlid, uniqueid_text, dtdversion = ids
        if dtdversion != "3.0":
            rec.outcome = "control_failure"
            err = proto.ErrorInfo(
                proto.XML_ERROR,
                description2=f"XML Parse schema error: dtdversion {dtdversion} is not "
                "supported by the sandbox; use 3.0",
            )
            return proto.control_failure([err], *ids), False
        password = root.findtext("control/password")
        if senderid not in self.senders or self.senders[senderid] != password:
            rec.outcome = "control_failure"
            err = proto.ErrorInfo(proto.AUTH_ERROR, description2=proto.SENDER_FAILURE_TEXT)
            return proto.control_failure([err], *ids), False
        uniqueid = uniqueid_text.lower() != "false"
        pretty = (root.findtext("control/includewhitespace") or "true").strip().lower() == "true"
        parts = [proto.control_block("success", *ids)]
        outcomes = []
        for op in root.iterfind("operation"):
            text, ok = self._operation(rec, op, senderid, uniqueid, function_fault)
            parts.append(text)
            outcomes.append(ok)
        if not rec.outcome:
            rec.outcome = "success" if all(outcomes) else "auth_failure"
        return proto.response("".join(parts)), pretty

    def _authenticate(
        self, rec: RequestRecord, op: etree._Element, senderid: str
    ) -> tuple[AuthContext | None, str]:
        """(context, '') on success, or (None, failed-operation XML)."""
        auth = op.find("authentication")
        node = auth[0] if auth is not None and len(auth) else None
        if node is not None and node.tag == "login":
            user = (node.findtext("userid") or "").strip()
            comp = (node.findtext("companyid") or "").strip()
            pw = node.findtext("password") or ""
            loc = (node.findtext("locationid") or "").strip()
            rec.auth, rec.user_id, rec.company_id, rec.location_id = "login", user, comp, loc
            login_fail = proto.ErrorInfo(proto.AUTH_ERROR, description2=proto.LOGIN_FAILURE_TEXT)
            if comp.lower() != self.company_id.lower():
                return None, proto.auth_failure(user, comp, [login_fail])
            if senderid not in self.authorized_senders:
                return None, proto.auth_failure(user, comp, [self._unauthorized(senderid, comp)])
            known = {u.lower(): u for u in self.users}
            canonical = known.get(user.lower())
            if canonical is None or self.users[canonical] != pw:
                return None, proto.auth_failure(user, comp, [login_fail])
            if loc and loc not in self.company.entities:
                err = proto.ErrorInfo(
                    proto.AUTH_ERROR,
                    description2=proto.INVALID_ENTITY_TEXT.format(entity=loc, company=comp),
                )
                return None, proto.auth_failure(user, comp, [err])
            return AuthContext(senderid, user, comp, loc, None, rec.url), ""
        if node is not None and node.tag == "sessionid":
            sid = (node.text or "").strip()
            rec.auth, rec.session_id = "session", sid
            session = self.sessions.lookup(sid)
            if session is not None and self.strict_session_endpoint and rec.path != SESSION_PATH:
                session = None
            if session is None:
                err = proto.ErrorInfo(proto.AUTH_ERROR, description2=proto.INVALID_SESSION_TEXT)
                return None, proto.auth_failure("", "", [err])
            rec.user_id, rec.company_id = session.user_id, session.company_id
            rec.location_id = session.location_id
            if senderid not in self.authorized_senders:
                err = self._unauthorized(senderid, session.company_id)
                return None, proto.auth_failure(session.user_id, session.company_id, [err])
            ctx = AuthContext(
                senderid,
                session.user_id,
                session.company_id,
                session.location_id,
                session,
                rec.url,
            )
            return ctx, ""
        rec.auth = "oauth" if node is not None else None
        err = proto.ErrorInfo(proto.AUTH_ERROR, description2=proto.LOGIN_FAILURE_TEXT)
        return None, proto.auth_failure("", "", [err])

    @staticmethod
    def _unauthorized(senderid: str, company: str) -> proto.ErrorInfo:
        return proto.ErrorInfo(
            proto.AUTH_ERROR,
            description=proto.UNAUTHORIZED_SENDER_DESCRIPTION,
            description2=proto.UNAUTHORIZED_SENDER_TEXT.format(sender=senderid, company=company),
            correction=proto.UNAUTHORIZED_SENDER_CORRECTION,
        )

    def _operation(
        self,
        rec: RequestRecord,
        op: etree._Element,
        senderid: str,
        uniqueid: bool,
        function_fault: FaultRule | None,
    ) -> tuple[str, bool]:
        ctx, failure = self._authenticate(rec, op, senderid)
        if ctx is None:
            return failure, False
        now = self.clock.now()
        timeout = ctx.session.expires if ctx.session is not None else now + self.sessions.lifetime
        auth_xml = proto.auth_success(
            ctx.user_id, ctx.company_id, ctx.location_id, iso_pacific(now), iso_pacific(timeout)
        )
        transaction = op.get("transaction", "false") == "true"
        rec.transaction = rec.transaction or transaction
        results: list[tuple[str, str, Outcome]] = []
        for fn in op.iterfind("content/function"):
            controlid = fn.get("controlid", "")
            children = [c for c in fn if isinstance(c.tag, str)]
            name = str(children[0].tag) if children else ""
            results.append(
                (
                    name,
                    controlid,
                    self._run(
                        ctx,
                        name=name,
                        controlid=controlid,
                        children=children,
                        uniqueid=uniqueid,
                        function_fault=function_fault,
                    ),
                )
            )
        aborted = transaction and any(o.status != "success" for _, _, o in results)
        if aborted:
            for _, _, o in reversed(results):
                if o.undo is not None:
                    o.undo()
        else:
            with self._lock:
                for _, controlid, o in results:
                    if o.status == "success":
                        self._executed_ids.add((ctx.company_id.lower(), controlid))
        parts = ["<operation>", auth_xml]
        rolled_back = proto.ErrorInfo(
            proto.TRANSACTION_ROLLED_BACK, description2=proto.ROLLED_BACK_TEXT
        )
        for name, controlid, o in results:
            if aborted:
                errors = [*(o.errors if o.status != "success" else []), rolled_back]
                parts.append(proto.result("aborted", name, controlid, None, errors))
                rec.results.append((name, controlid, "aborted"))
            else:
                parts.append(proto.result(o.status, name, controlid, o.data, o.errors))
                rec.results.append((name, controlid, o.status))
        parts.append("</operation>")
        return "".join(parts), True

    def _run(
        self,
        ctx: AuthContext,
        *,
        name: str,
        controlid: str,
        children: list[etree._Element],
        uniqueid: bool,
        function_fault: FaultRule | None,
    ) -> Outcome:
        if uniqueid:
            with self._lock:
                seen = (ctx.company_id.lower(), controlid) in self._executed_ids
            if seen:
                return Outcome(
                    "failure",
                    errors=[
                        proto.ErrorInfo(
                            proto.DUPLICATE_CONTROLID_ERRORNO,
                            description2=proto.DUPLICATE_CONTROLID_TEXT.format(controlid=controlid),
                        )
                    ],
                )
        if function_fault is not None and function_fault.matches([name]):
            if function_fault.name == "try_again_later":
                err = proto.ErrorInfo(
                    proto.TRY_AGAIN_ERRORNO,
                    description="Temporary failure",
                    description2="The request could not be processed at this time.",
                    correction=proto.TRY_AGAIN_CORRECTION,
                )
            elif function_fault.name == "service_offline_function":
                err = proto.ErrorInfo(
                    proto.SERVICE_OFFLINE_ERRORNO, description2=proto.SERVICE_OFFLINE_TEXT
                )
            else:
                err = proto.ErrorInfo(proto.RATE_LIMIT_ERRORNO, description2=proto.RATE_LIMIT_TEXT)
            return Outcome("failure", errors=[err])
        handler = HANDLERS.get(name)
        if handler is None or len(children) != 1:
            return Outcome(
                "failure",
                errors=[
                    proto.ErrorInfo(
                        proto.UNSUPPORTED_ERRORNO,
                        description2=f"The sandbox does not implement function '{name}'.",
                    )
                ],
            )
        with self._lock:
            self.executed[name] += 1
        try:
            return handler(self, ctx, children[0])
        except QueryError as exc:
            return Outcome(
                "failure",
                errors=[
                    proto.ErrorInfo(exc.errorno, exc.description, exc.description2, exc.correction)
                ],
            )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "IntacctSandbox/1.0"
    sandbox: IntacctSandbox

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._send(HttpAnswer(405, b"POST an XML request here\n", "text/plain"))

    def do_POST(self) -> None:
        sb = self.sandbox
        path = urlsplit(self.path).path
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            body = self._read_chunked()
        else:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
        if path not in (GATEWAY_PATH, SESSION_PATH):
            self._send(HttpAnswer(404, b"Not Found\n", "text/plain"))
            return
        answer = sb.handle("POST", path, CaseInsensitiveDict(self.headers.items()), body)
        try:
            self._answer(answer)
        finally:
            sb.release(answer.slot)  # when no answer was written (a reset, a stop)
            answer.slot = None

    def _answer(self, answer: HttpAnswer) -> None:
        sb = self.sandbox
        if answer.delay_before > 0 and sb._stop.wait(answer.delay_before):
            self.close_connection = True
            return
        if answer.reset:
            self.close_connection = True
            try:
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()
            except OSError:
                pass
            return
        if answer.delay_after > 0 and sb._stop.wait(answer.delay_after):
            self.close_connection = True
            return
        accept = self.headers.get("Accept-Encoding", "")
        if sb.compress and answer.compressible and "gzip" in accept and len(answer.body) > 4096:
            answer.body = gzip.compress(answer.body, compresslevel=1)
            answer.headers["Content-Encoding"] = "gzip"
        self._send(answer)

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def _send(self, answer: HttpAnswer) -> None:
        """Status line, headers and body in one write (with TCP_NODELAY, see loopback.py)."""
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            for k, v in answer.headers.items():
                self.send_header(k, v)
            head = b"".join([*self._headers_buffer, b"\r\n"])
            self._headers_buffer = []
            # The request is done once its answer is ready: a client that has read the answer
            # must find the slot free for its next request.
            self.sandbox.release(answer.slot)
            answer.slot = None
            if answer.record is not None:
                answer.record.answered = time.monotonic()
            self.wfile.write(head + answer.body)
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True
