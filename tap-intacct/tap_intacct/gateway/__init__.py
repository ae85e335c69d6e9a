"""Client of Sage Intacct's XML Web Services gateway (no Singer SDK dependency).

Quick use::

    from tap_intacct.gateway import Filter, GatewayConfig, IntacctGateway

    config = GatewayConfig.from_mapping(tap_config)
    with IntacctGateway(config) as gateway:
        for page in gateway.iter_query(
            "VENDOR",
            ["RECORDNO", "VENDORID", "DISPLAYCONTACT.EMAIL1", "WHENMODIFIED"],
            filter=Filter.and_(
                Filter.ge("WHENMODIFIED", "01/31/2024 13:00:00"),
                Filter.le("WHENMODIFIED", "02/01/2024 00:00:00"),
            ),
            order_by=["WHENMODIFIED", "RECORDNO"],
            show_private=True,
            page_size=1000,
        ):
            for record in page:          # {"RECORDNO": "1", "DISPLAYCONTACT.EMAIL1": None, ...}
                ...
            page.total_count, page.num_remaining, page.next_offset

Public API
----------
``GatewayConfig(sender_id, sender_password, user_id, user_password, company_id, entity_id=None,
api_url=DEFAULT_API_URL, session_refresh_minutes=45, request_timeout=300, max_retries=5,
max_concurrent_requests=2)``
    Frozen; ``GatewayConfig.from_mapping(dict)`` builds it from a tap config (unknown keys ignored).

``IntacctGateway(config, *, session=None, clock=None, sleep=None, session_cache=None,
run_id=None, backoff_factor=1.0, backoff_max=60.0)``
    - ``query(object_name, fields, *, filter=None, order_by=(), show_private=False,
      case_insensitive=False, page_size=1000, offset=0) -> QueryPage`` (page_size 1..2000)
    - ``iter_query(...same..., offset=0) -> Iterator[QueryPage]`` (offset paging to the end)
    - ``iter_records(...same...) -> Iterator[dict[str, str | None]]``
    - ``read_by_query(object_name, *, query="", fields=("*",), page_size=1000) -> QueryPage``
    - ``read_more(result_id) -> QueryPage``; ``iter_read_by_query(...) -> Iterator[QueryPage]``
    - ``lookup(object_name) -> list[FieldDef]``; ``describe(object_name) -> ObjectDefinition``
    - ``execute(function_element, *, write=False, control_id=None) -> Result`` (any function)
    - ``query_many([query kwargs, ...]) -> list[QueryPage]`` and ``execute_many([function, ...])
      -> list[Result]``: several reads in one request (one round trip)
    - thread-safe; ``slots`` (:class:`~tap_intacct.gateway.slots.RequestSlots`) keeps at most
      ``max_concurrent_requests`` requests in flight, one fewer after each HTTP 429 / GW-0010
    - ``close()``; also a context manager.

``QueryPage``: iterate for records (dicts of field name -> text, ``None`` for empty elements;
dotted names such as ``DISPLAYCONTACT.EMAIL1`` stay flat); ``count``, ``total_count``,
``num_remaining``, ``offset``, ``result_id``, ``has_more``, ``next_offset``.

``Filter``: ``eq ne lt le gt ge between in_ notin like notlike isnull isnotnull`` (also the
gateway's long names ``equalto``...), combined with ``Filter.and_(...)``/``Filter.or_(...)``;
``Order("FIELD", descending=True)`` or ``("FIELD", "desc")`` for ``order_by``.

``parse_response(bytes) -> Response``: pure parser; ``Response.failure_level``,
``Response.error()``, ``Result.error()`` give the typed outcome of any gateway answer.

Envelope builders (``build_request``, ``query_function``, ``read_by_query_function``,
``read_more_function``, ``lookup_function``, ``get_api_session_function``, ``create_function``,
``update_function``, ``record_element``) and ``sanitize_text``/``format_value`` are exported for
tests and for other functions.

Behaviour
---------
Sessions
    One ``getAPISession`` per identity, cached under ``SessionKey(sender_id, company_id,
    user_id, entity_id, api_url)`` in ``DEFAULT_SESSION_CACHE`` (or an injected ``SessionCache``),
    so streams of one run share a login and two companies never share a session. Later calls go
    to the ``<endpoint>`` the session returned. A session is renewed ``session_refresh_minutes``
    after login and 2 minutes before the ``sessiontimeout`` of the last answer (parsed with its
    offset; it slides with every call). The entity, when set, goes in both ``login/locationid``
    and ``getAPISession/locationid``. On "Invalid session" the client logs in again and
    replays the request: once when the fresh session is refused on its first use, at most
    ``MAX_RELOGINS`` (3) times per call when sessions keep ending between retried attempts;
    bad credentials are never retried.

Control ids
    Every function gets ``<tag>-<24 hex>``: SHA-256 of the client's ``run_id``, the function's
    tag and its canonical (C14N) XML. The same function in one run therefore always gets the
    same id; the request's control id equals the function's. A retried or replayed request is the
    same bytes (bar a renewed session id), so the ids do not change. Reads go out with
    ``uniqueid=false``, writes (``execute(..., write=True)``) with ``uniqueid=true``; pass
    ``run_id`` (or ``control_id=``) to keep ids stable across runs, e.g. from a write ledger.

Duplicate writes (ASSUMPTION, shared with the sandbox)
    The gateway's answer to a repeated control id under ``uniqueid=true`` is undocumented. We
    treat as "already applied" a function failure with ``errorno`` ``DUPLICATE_CONTROLID_ERRORNO``
    (``"XL03000013"``) or whose description mentions the control id was already executed
    (``DUPLICATE_CONTROLID_DESCRIPTION2``); it is raised as ``AlreadyAppliedError``.

Retries
    Up to ``max_retries`` retries with exponential backoff and full jitter (``backoff.expo`` and
    ``backoff.full_jitter``; the wait is ``sleep``, injectable) for: HTTP 429 / GW-0010
    (honouring Retry-After), 5xx (524 only for reads), connection errors, read timeouts (reads
    only: a write that timed out may still complete), truncated or non-XML bodies (CDN HTML
    pages), and errors saying try again later / temporarily off-line / rate limit exceeded.
    Everything else (XL03000003, bad credentials, unknown objects or fields...) fails at once.
    Each retry is logged at WARNING with its reason and attempt count; ids at DEBUG.

Secrets
    Passwords and session ids never reach logs, exceptions or ``repr``: the config and session
    hide them from ``repr`` and every gateway text is scrubbed before it is logged or raised.
"""

from tap_intacct.gateway.client import Clock, IntacctGateway, Sleep
from tap_intacct.gateway.config import DEFAULT_API_URL, GatewayConfig
from tap_intacct.gateway.envelope import (
    MAX_QUERY_PAGE_SIZE,
    MAX_READ_BY_QUERY_PAGE_SIZE,
    LoginCredentials,
    SessionCredentials,
    build_request,
    create_function,
    derive_control_id,
    get_api_session_function,
    lookup_function,
    query_function,
    read_by_query_function,
    read_more_function,
    record_element,
    serialize,
    update_function,
)
from tap_intacct.gateway.errors import (
    DUPLICATE_CONTROLID_DESCRIPTION2,
    DUPLICATE_CONTROLID_ERRORNO,
    PARSE_ERRORNO,
    RATE_LIMIT_ERRORNO,
    AlreadyAppliedError,
    AuthenticationError,
    ControlError,
    ErrorDetail,
    FunctionError,
    GatewayConnectionError,
    GatewayHTTPError,
    GatewayTimeoutError,
    IntacctError,
    InvalidSessionError,
    LoginError,
    MalformedResponseError,
    RateLimitError,
    RequestSchemaError,
    SenderCredentialsError,
    SenderNotAuthorizedError,
    TransportError,
)
from tap_intacct.gateway.filters import Condition, Filter, Logical, Order
from tap_intacct.gateway.response import (
    Authentication,
    ControlInfo,
    FieldDef,
    ObjectDefinition,
    QueryPage,
    Record,
    Relationship,
    Response,
    Result,
    parse_lookup,
    parse_response,
)
from tap_intacct.gateway.sanitize import format_value, is_xml_safe, sanitize_text
from tap_intacct.gateway.session import (
    DEFAULT_SESSION_CACHE,
    ApiSession,
    SessionCache,
    SessionKey,
)

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_SESSION_CACHE",
    "DUPLICATE_CONTROLID_DESCRIPTION2",
    "DUPLICATE_CONTROLID_ERRORNO",
    "MAX_QUERY_PAGE_SIZE",
    "MAX_READ_BY_QUERY_PAGE_SIZE",
    "PARSE_ERRORNO",
    "RATE_LIMIT_ERRORNO",
    "AlreadyAppliedError",
    "ApiSession",
    "Authentication",
    "AuthenticationError",
    "Clock",
    "Condition",
    "ControlError",
    "ControlInfo",
    "ErrorDetail",
    "FieldDef",
    "Filter",
    "FunctionError",
    "GatewayConfig",
    "GatewayConnectionError",
    "GatewayHTTPError",
    "GatewayTimeoutError",
    "IntacctError",
    "IntacctGateway",
    "InvalidSessionError",
    "Logical",
    "LoginCredentials",
    "LoginError",
    "MalformedResponseError",
    "ObjectDefinition",
    "Order",
    "QueryPage",
    "RateLimitError",
    "Record",
    "Relationship",
    "RequestSchemaError",
    "Response",
    "Result",
    "SenderCredentialsError",
    "SenderNotAuthorizedError",
    "SessionCache",
    "SessionCredentials",
    "SessionKey",
    "Sleep",
    "TransportError",
    "build_request",
    "create_function",
    "derive_control_id",
    "format_value",
    "get_api_session_function",
    "is_xml_safe",
    "lookup_function",
    "parse_lookup",
    "parse_response",
    "query_function",
    "read_by_query_function",
    "read_more_function",
    "record_element",
    "sanitize_text",
    "serialize",
    "update_function",
]
