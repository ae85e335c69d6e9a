"""A local Sage Intacct XML Web Services gateway for tests, the demo and benchmarks.

A real threaded HTTP server on 127.0.0.1 that answers like the gateway described in
tests/sandbox/reference/intacct-xml-gateway.md, checks every request against Sage's api.xsd, and
serves a seeded, mutable company. It never imports the tap's gateway client.

Quick start
-----------

    from tests.sandbox.intacct import IntacctSandbox, generate_company

    company = generate_company(seed=7, customers=50, vendors=40, bills=120, payments=60)
    with IntacctSandbox(company, latency_ms=0) as sb:
        config = sb.tap_config()                  # sender/user credentials, api_url, ...
        ...run the tap against config...
        sb.assert_all_valid()                     # every request passed the XSD
        assert sb.requests_for("query")[-1].used_session_endpoint

IntacctSandbox(company=None, *, host="127.0.0.1", port=0, sender_id, sender_password,
user_id, user_password, company_id, senders=None, authorized_senders=None, users=None,
clock=None, session_lifetime=timedelta(minutes=50), session_idle_timeout=None,
strict_session_endpoint=False, latency_ms=0, latency_jitter_ms=0,
latency_distribution="uniform", latency_seed=0, max_concurrent_requests=2,
latency_includes_work=False, validate=True,
xsd_path=None, keep_responses=True, compress=True)
    company             served data (default generate_company(seed=1))
    senders / users     extra {id: password} pairs besides the main ones
    authorized_senders  senders with Web Services authorization for the company (default all)
    clock               SandboxClock (default company.clock); sessions and new
                        WHENMODIFIED values read it; `sb.clock.advance(minutes=46)`
    session_lifetime    a session dies this long after creation (default 50 min);
    session_idle_timeout  optionally also this long after its last use
    strict_session_endpoint  sessions only work on session_endpoint_url
    latency_ms          delay added to every answer (also settable: `sb.latency = 0.05` s)
    latency_jitter_ms   plus a seeded random part: uniform in [0, jitter], or exponential
                        with that mean (latency_distribution, latency_seed; see
                        tests/sandbox/latency.py)
    max_concurrent_requests  the company's allowance of simultaneous requests (default 2;
                        None: no limit). A request above it is answered at once with HTTP
                        429 and a GW-0010 body, and not run (outcome "refused:concurrency").
                        Counters: sb.refused_for_concurrency, sb.max_in_flight, sb.in_flight
    latency_includes_work  the latency is the whole answer time (the sandbox's own work on
                        the request is taken out of the wait), as a real gateway's latency
                        includes its work; default False: the latency is added to the work
    validate            XSD check (control-level XL03000003 on failure)
    keep_responses      store each answer body in sb.requests (off for huge benchmarks)
    compress            gzip answers over 4 KiB when the client accepts gzip

  Lifecycle: `with IntacctSandbox(...) as sb:` or sb.start() / sb.stop().
  Addresses: sb.gateway_url (http://127.0.0.1:PORT/ia/xml/xmlgw.phtml, the login URL),
    sb.session_endpoint_url (http://127.0.0.1:PORT/session/xmlgw.phtml, what getAPISession
    returns as <endpoint>), sb.base_url, sb.port.
  sb.tap_config(**overrides) -> dict with sender_id, sender_password, user_id,
    user_password, company_id, api_url, start_date.
  sb.requests: list[RequestRecord] - index, received_at, path, url, headers, body, parsed,
    valid (parse + XSD), errors, sender_id, control_id, uniqueid, auth ("login"/"session"),
    session_id, user_id, company_id, location_id, transaction, functions,
    function_controlids, results [(function, controlid, status)], outcome ("success",
    "control_failure", "auth_failure", "fault:<name>", "error"), faults, status,
    response, used_session_endpoint.
  sb.requests_for(function), sb.invalid_requests(), sb.assert_all_valid(), sb.reset_log().
  sb.calls / sb.executed: Counter of function names received / actually run.
  sb.errors: tracebacks of sandbox bugs (answered as HTTP 500).
  sb.sessions: SessionStore (all(), lookup(id), invalidate(id=None)).
  sb.invalidate_sessions(session_id=None) -> int: kill live sessions now.
  sb.faults: Faults (see faults.py and below).
  sb.company: the Company being served (mutate it during a run).

Gateway behaviour
-----------------
- Every answer goes out in one write on a TCP_NODELAY socket: a kept-alive connection answers
  as fast as a fresh one (no delayed-ACK stall).
- Simultaneous requests per company are limited (max_concurrent_requests, default 2, as the
  reference says most companies are allowed): a request while that many are in flight gets
  HTTP 429 + GW-0010 at once. Requests are counted from arrival until their answer goes out
  (latency included).
- Levels as in the reference: control failures (no <operation>), authentication failures
  (an operation with no results), function failures (result status failure); all HTTP 200.
- Parse or schema error -> control XL03000003 "XML Parse schema error: ..." (one <error> per
  problem). dtdversion other than 3.0 -> XL03000003 too.
- Wrong sender id/password -> control XL03000006 "Incorrect Intacct XML Partner ID or
  password.". Sender not in authorized_senders -> auth XL03000006 "Invalid Web Services
  Authorization" (+ description2/correction of the reference). Wrong company, user or
  password -> auth XL03000006 "Sign-in information is incorrect". Unknown, expired or
  invalidated session -> auth XL03000006 "Invalid session" with empty userid/companyid.
- Every successful authentication block carries locationid, sessiontimestamp and
  sessiontimeout (ISO 8601, Pacific offset). For a session, sessiontimeout is its expiry.
- getAPISession: new session (entity-scoped with <locationid> in the function or in the
  login); with session auth and no <locationid> it returns the same session. Its <endpoint>
  is session_endpoint_url.
- query (1..2000 rows/page, default 100; >2000 fails the XSD), readByQuery (1..1000) +
  readMore (resultId snapshot, or by object), read (keys), lookup, create (CUSTOMER and
  VENDOR; duplicate ID -> BL34000061). Unknown object -> "Query Failed" / "Object definition
  X not found". Unknown query select field -> XL03000006 "The following fields cannot be
  queried: [\\n\\tobj: [F] ]". Unknown readByQuery/read field -> errorno "Invalid fields list
  F". Unimplemented functions -> errorno SANDBOX-UNSUPPORTED.
- AR and deletions: ARINVOICE/ARINVOICEITEM/ARPYMT/ARPYMTDETAIL are served like their AP
  twins; `company.delete(obj, n)` writes an AUDITHISTORY row (ACCESSMODE 'D', OBJECTTYPE the
  lower-case object, OBJECTKEY the RECORDNO, ACCESSTIME). AUDITHISTORY failures:
  sb.audit_history_errors = n (the next n AUDITHISTORY queries fail with "There was an error
  processing the request"), sb.audit_history_error_every = k, sb.audit_history_denied = True
  (no permission). `lookup` also answers APADJUSTMENT, ARADJUSTMENT, GLACCOUNT, GLENTRY,
  GLBATCH, CONTACT, ITEM, PROJECT, DEPARTMENT, LOCATION, CLASS, EMPLOYEE (no records).
- Multi-entity: a top-level session sees top-level-owned records, plus entity-owned ones
  with query option showprivate; an entity session sees its entity's and top-level records
  (readByQuery/read never show private records at the top level).
- uniqueid=true (also when omitted): a function controlid already executed for the
  company fails with protocol.DUPLICATE_CONTROLID_ERRORNO ("XL03000013", the sandbox's own
  assumption: Sage documents no number) and "The function with control ID '<id>' was
  already executed (uniqueid=true)."; uniqueid=false runs it again.
- transaction="true": if any function fails, every result is "aborted" with XL03000009
  appended and creates are rolled back.
- includewhitespace true (the XSD default) pretty-prints the answer.
- Text is stripped of characters XML 1.0 cannot carry, then escaped (the generator keeps
  them in stored values, so `company.records(obj, typed=True)` shows the raw text and
  `company.records(obj)` the text as served).

Faults (sb.faults)
------------------
    sb.faults.add(name, times=1, after=0, functions=None, except_functions=None, **params)
    sb.faults.every(name, k, times=None, functions=..., except_functions=..., **params)
    sb.faults.random(name, p, seed=0, times=None, functions=..., **params)
    sb.faults.clear(); sb.faults.count(name=None); sb.faults.log [(request index, name)]
  Each returns a FaultRule (seen, fired, remove()). `functions` limits a rule to requests
  carrying one of those functions; `except_functions` skips requests made only of them.
  Names (params):
    http_429 (retry_after)     429 + GW-0010 XML body
    http_400                   400 + GW-0011 XML body
    http_500/502/503 (retry_after on 503)   HTML error page, request not run
    http_524                   request RUNS, then 524 HTML (CDN timeout)
    cdn_error (status=502)     Cloudflare-like HTML with cf-error-details
    cdn_error_200              the same page with HTTP 200
    connection_reset           socket closed with RST, no answer
    truncated (fraction=0.5)   request runs; HTTP 200 body cut mid-way
    timeout (seconds=2.0)      request runs; answer held `seconds` (longer than the client
                               timeout), then sent if the client still listens
    slow (seconds=0.2)         answer delayed, otherwise normal
    try_again_later            matching functions fail, correction "Please Try Again Later"
    service_offline            control failure "The Service is Temporarily Off-line"
    service_offline_function   the same as a function failure
    rate_limit_body            control failure "API rate limit exceeded" (HTTP 200)
    rate_limit_function        the same as a function failure
    invalidate_session (scope="all"|"request")  sessions die before the request runs
  Any http_* fault takes execute=True to run the request before failing.

Data (tests.sandbox.intacct.data)
---------------------------------
generate_company(seed=1, *, customers=200, vendors=100, bills=500, payments=300,
lines_per_bill=(1, 4), entities=("", "E100", "E200"), window_end=2024-06-28 17:00,
window_days=365, same_timestamp_run=350, empty_whenmodified=2, clock=None, invoices=0,
ar_payments=0, deletions=0) -> Company (deterministic; about 4 s for 100,000 bills with their
lines and payments; AR comes from a random stream of its own, so adding it leaves the AP records
of a seed unchanged). The special records are in company.special - see generate_company's
docstring. delete_some(company, n, rng=None, start=None) deletes n records of each header
object that Intacct would let a user delete, with their AUDITHISTORY rows (stamped now by
default); the CLI's --delete-on-start N does the same when the sandbox starts.

Company: records(obj, typed=False, where=None), get(obj, recordno, typed=False),
find(obj, **equals), lines(bill_recordno), payment_details(payment_recordno),
invoice_lines(invoice_recordno), ar_payment_details(payment_recordno), deletions(obj=None),
details_for_bill(bill_recordno), count(obj), recordnos(obj), whenmodified_range(obj),
add(obj, values, when=None, entity=None) -> recordno, update(obj, recordno, changes,
when=None, touch=True), touch(obj, recordno, when=None), delete(obj, recordno, audit=True,
when=None) (writes the AUDITHISTORY row; a header takes its lines or details along), entities
(id -> name; '' is the top level), special, version / versions[obj] (bumped by every
change), clock (the sandbox replaces it with its own clock), cache_fragments (keep each
record's rendered XML; set False for one-pass runs over huge companies to save memory).
Values may be typed (Decimal, date, naive datetime, bool, int) or wire strings; floats are
refused for money.

Command line: `python -m tests.sandbox.intacct --help`.
"""

from tests.sandbox.intacct.clock import SandboxClock
from tests.sandbox.intacct.data import Company, generate_company
from tests.sandbox.intacct.faults import FAULTS, FaultRule, Faults
from tests.sandbox.intacct.protocol import DUPLICATE_CONTROLID_ERRORNO
from tests.sandbox.intacct.server import (
    GATEWAY_PATH,
    SESSION_PATH,
    IntacctSandbox,
    RequestRecord,
    Session,
)

__all__ = [
    "DUPLICATE_CONTROLID_ERRORNO",
    "FAULTS",
    "GATEWAY_PATH",
    "SESSION_PATH",
    "Company",
    "FaultRule",
    "Faults",
    "IntacctSandbox",
    "RequestRecord",
    "SandboxClock",
    "Session",
    "generate_company",
]
