"""The gateway client: sessions, retries, control ids and the read functions streams use."""

from __future__ import annotations

import copy
import datetime as dt
import logging
import re
import secrets as _secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from importlib import metadata
from types import TracebackType
from typing import Any

import backoff
import requests
from lxml import etree

from tap_intacct.gateway.config import GatewayConfig, is_secure_url
from tap_intacct.gateway.envelope import (
    LoginCredentials,
    SessionCredentials,
    build_request,
    derive_control_id,
    get_api_session_function,
    lookup_function,
    query_function,
    read_by_query_function,
    read_more_function,
    serialize,
)
from tap_intacct.gateway.errors import (
    ErrorDetail,
    GatewayConnectionError,
    GatewayHTTPError,
    GatewayTimeoutError,
    IntacctError,
    InvalidSessionError,
    MalformedResponseError,
    RateLimitError,
)
from tap_intacct.gateway.filters import Filter, Order
from tap_intacct.gateway.response import (
    FieldDef,
    ObjectDefinition,
    QueryPage,
    Record,
    Response,
    Result,
    parse_lookup,
    parse_response,
)
from tap_intacct.gateway.session import DEFAULT_SESSION_CACHE, ApiSession, SessionCache, SessionKey
from tap_intacct.gateway.slots import RequestSlots

__all__ = ["Clock", "IntacctGateway", "Sleep"]

logger = logging.getLogger("tap_intacct.gateway")

Clock = Callable[[], dt.datetime]
Sleep = Callable[[float], None]

#: Logins one call may make after "Invalid session" answers (see ``execute``).
MAX_RELOGINS = 3
#: Renew a session this long before the timeout the gateway announced.
SESSION_TIMEOUT_MARGIN = dt.timedelta(minutes=2)
_REDACTED = "[redacted]"
_INVALID_SESSION_ID = re.compile(r"(invalid session)\s+\S+", re.IGNORECASE)
_XML_CONTENT_TYPES = ("xml",)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _user_agent() -> str:
    try:
        version = metadata.version("tap-intacct-xmlgw")
    except metadata.PackageNotFoundError:
        version = "0"
    return (
        f"tap-intacct-xmlgw/{version} (Singer tap for Sage Intacct) requests/{requests.__version__}"
    )


def _retry_after(headers: requests.structures.CaseInsensitiveDict[str]) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class IntacctGateway:
    """Client of the Intacct XML gateway for one identity (sender, company, user, entity).

    Thread-safe: several threads may call it at once (the session is shared through the
    session cache's lock, control ids are derived from the function, not counted). At most
    ``config.max_concurrent_requests`` requests are in flight at once; an HTTP 429 / GW-0010
    lowers that by one for the rest of the client's life (see :mod:`.slots`).

    Args:
        config: credentials and limits.
        session: a ``requests.Session`` to use (pooled); the client makes its own otherwise.
        clock: returns the current time as an aware datetime (tests move it by hand).
        sleep: waits between retries (tests pass a no-op).
        session_cache: where API sessions are kept; defaults to the process-wide cache.
        run_id: scope of derived control ids (random per client unless given).
        backoff_factor / backoff_max: exponential backoff of retries, in seconds, with full jitter.
    """

    def __init__(
        self,
        config: GatewayConfig,
        *,
        session: requests.Session | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        session_cache: SessionCache | None = None,
        run_id: str | None = None,
        backoff_factor: float = 1.0,
        backoff_max: float = 60.0,
    ) -> None:
        self._config = config
        self._owns_http = session is None
        self._http = session if session is not None else requests.Session()
        if self._http.verify is False:
            raise ValueError(
                "TLS certificate verification must stay enabled for the Intacct gateway"
            )
        self._clock: Clock = clock or _utc_now
        self._sleep: Sleep = sleep or time.sleep
        self._cache = session_cache if session_cache is not None else DEFAULT_SESSION_CACHE
        self._run_id = run_id if run_id is not None else _secrets.token_hex(8)
        self._backoff_factor = backoff_factor
        self._backoff_max = backoff_max
        self._key = SessionKey(
            sender_id=config.sender_id,
            company_id=config.company_id,
            user_id=config.user_id,
            entity_id=config.entity_id,
            api_url=config.api_url,
        )
        self._secrets: set[str] = {s for s in config.secrets if s}
        self._secrets_lock = threading.Lock()
        self._slots = RequestSlots(config.max_concurrent_requests)
        self._sent = 0  # requests sent so far (see _session_for_call)
        self._sent_lock = threading.Lock()
        self._throttle_logged = False
        self._headers = {
            "Content-Type": "application/xml; charset=utf-8",
            "Accept": "application/xml",
            "User-Agent": _user_agent(),
        }

    # -- plumbing -------------------------------------------------------------------------------

    def __repr__(self) -> str:
        c = self._config
        return (
            f"IntacctGateway(sender_id={c.sender_id!r}, company_id={c.company_id!r}, "
            f"user_id={c.user_id!r}, entity_id={c.entity_id!r}, api_url={c.api_url!r})"
        )

    def __enter__(self) -> IntacctGateway:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connection pool if this client created it (the session stays cached)."""
        if self._owns_http:
            self._http.close()

    @property
    def config(self) -> GatewayConfig:
        return self._config

    @property
    def session_key(self) -> SessionKey:
        return self._key

    def _now(self) -> dt.datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the gateway clock must return an aware datetime")
        return now

    @property
    def slots(self) -> RequestSlots:
        """The allowance of simultaneous requests this client keeps to."""
        return self._slots

    def _remember_secret(self, value: str) -> None:
        with self._secrets_lock:
            self._secrets.add(value)

    def _scrub(self, text: str) -> str:
        if not text:
            return text
        with self._secrets_lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, _REDACTED)
        return _INVALID_SESSION_ID.sub(rf"\1 {_REDACTED}", text)

    # -- public API -----------------------------------------------------------------------------

    def execute(
        self, function: etree._Element, *, write: bool = False, control_id: str | None = None
    ) -> Result:
        """Send one function with the session; return its successful :class:`Result`.

        ``write=True`` sends ``uniqueid=true``: a repeat of the same control id is refused by the
        gateway and raised as :class:`~tap_intacct.gateway.errors.AlreadyAppliedError`.
        ``control_id`` overrides the derived id (see :func:`derive_control_id`). Failures at any
        level raise an :class:`~tap_intacct.gateway.errors.IntacctError`.
        """
        return self._execute([function], write=write, control_id=control_id)[0]

    def execute_many(self, functions: Sequence[etree._Element]) -> list[Result]:
        """Send several read functions in one request (one round trip); their results, in
        order. Any failing function raises, as :meth:`execute` does."""
        if not functions:
            return []
        return self._execute(list(functions), write=False, control_id=None)

    def _execute(
        self, functions: list[etree._Element], *, write: bool, control_id: str | None
    ) -> list[Result]:
        functions = [copy.deepcopy(f) for f in functions]
        function = functions[0]
        kind = str(function.tag)
        control_id = control_id or derive_control_id(function, scope=self._run_id)
        more = [(derive_control_id(f, scope=self._run_id), f) for f in functions[1:]]
        if len({control_id, *(cid for cid, _ in more)}) != len(functions):
            raise ValueError("the functions of one request must differ (their control ids do)")
        session, _ = self._session_for_call()
        request = build_request(
            sender_id=self._config.sender_id,
            sender_password=self._config.sender_password,
            control_id=control_id,
            credentials=SessionCredentials(session.session_id),
            function=function,
            function_control_id=control_id,
            unique_id=write,
            more_functions=more,
        )
        session_node = request.find("operation/authentication/sessionid")
        assert session_node is not None
        relogins = 0
        own_login = False
        sent_mark = 0
        while True:
            session_node.text = session.session_id
            attempts: list[int] = []
            try:
                response, result = self._send(
                    session.endpoint,
                    serialize(request),
                    write=write,
                    function=kind,
                    control_id=control_id,
                    session=session,
                    attempts=attempts,
                    more_control_ids=[cid for cid, _ in more],
                )
            except InvalidSessionError:
                self._cache.invalidate(self._key, session)
                # Give up at once only when this call logged in itself and the very next request
                # the client sent, this one, was refused: logging in again cannot help then. A
                # session refused after other attempts (a storm of faults in between), opened
                # by another thread, or with other threads' requests sent in between (one of
                # them may have ended it) is worth another login, up to MAX_RELOGINS per call.
                if relogins and own_login and len(attempts) <= 1 and self._sent == sent_mark + 1:
                    logger.error(
                        "Intacct refused a fresh session for %s (control id %s); giving up",
                        kind,
                        control_id,
                    )
                    raise
                if relogins >= MAX_RELOGINS:
                    logger.error(
                        "Intacct refused %d sessions in a row for %s (control id %s); giving up",
                        relogins + 1,
                        kind,
                        control_id,
                    )
                    raise
                relogins += 1
                # Whether this call logs in or takes the session another thread opened
                # meanwhile is known only once it has its session (two requests in flight
                # can meet the same ended session).
                session, own_login = self._session_for_call()
                if own_login:
                    logger.info(
                        "Intacct session for company %s is no longer valid; logging in again and "
                        "replaying %s (control id %s)",
                        self._config.company_id,
                        kind,
                        control_id,
                    )
                else:
                    logger.info(
                        "Intacct session for company %s is no longer valid; replaying %s "
                        "(control id %s) with the session opened meanwhile",
                        self._config.company_id,
                        kind,
                        control_id,
                    )
                sent_mark = self._sent
                continue
            others = [response.result(cid) for cid, _ in more]
            return [result, *(r for r in others if r is not None)]

    def query(
        self,
        object_name: str,
        fields: Sequence[str],
        *,
        filter: Filter | None = None,
        order_by: Iterable[Order | str | tuple[str, str]] = (),
        show_private: bool = False,
        case_insensitive: bool = False,
        page_size: int = 1000,
        offset: int = 0,
    ) -> QueryPage:
        """One page of ``query`` (page_size 1..2000)."""
        function = query_function(
            object_name,
            fields,
            filter=filter,
            order_by=order_by,
            show_private=show_private,
            case_insensitive=case_insensitive,
            page_size=page_size,
            offset=offset,
        )
        return QueryPage(self.execute(function), requested_offset=offset)

    def query_many(self, queries: Sequence[Mapping[str, Any]]) -> list[QueryPage]:
        """Several ``query`` pages in one request (one round trip). Each item holds the
        arguments of :meth:`query` (``object_name``, ``fields``, ``filter``, ...)."""
        functions = [query_function(**dict(q)) for q in queries]
        results = self.execute_many(functions)
        return [
            QueryPage(result, requested_offset=int(q.get("offset", 0)))
            for q, result in zip(queries, results, strict=True)
        ]

    def iter_query(
        self,
        object_name: str,
        fields: Sequence[str],
        *,
        filter: Filter | None = None,
        order_by: Iterable[Order | str | tuple[str, str]] = (),
        show_private: bool = False,
        case_insensitive: bool = False,
        page_size: int = 1000,
        offset: int = 0,
    ) -> Iterator[QueryPage]:
        """Every page of a ``query``, following offsets until ``numremaining`` is 0."""
        order_by = tuple(order_by)
        while True:
            page = self.query(
                object_name,
                fields,
                filter=filter,
                order_by=order_by,
                show_private=show_private,
                case_insensitive=case_insensitive,
                page_size=page_size,
                offset=offset,
            )
            yield page
            if not page.has_more or page.count == 0:
                return
            offset = page.next_offset

    def iter_records(
        self,
        object_name: str,
        fields: Sequence[str],
        *,
        filter: Filter | None = None,
        order_by: Iterable[Order | str | tuple[str, str]] = (),
        show_private: bool = False,
        case_insensitive: bool = False,
        page_size: int = 1000,
    ) -> Iterator[Record]:
        """Every record of a ``query`` (all pages)."""
        for page in self.iter_query(
            object_name,
            fields,
            filter=filter,
            order_by=order_by,
            show_private=show_private,
            case_insensitive=case_insensitive,
            page_size=page_size,
        ):
            yield from page.records()

    def read_by_query(
        self,
        object_name: str,
        *,
        query: str = "",
        fields: Sequence[str] = ("*",),
        page_size: int = 1000,
    ) -> QueryPage:
        """First page of the legacy ``readByQuery`` (page_size 1..1000); continue with read_more."""
        function = read_by_query_function(
            object_name, query=query, fields=fields, page_size=page_size
        )
        return QueryPage(self.execute(function))

    def read_more(self, result_id: str) -> QueryPage:
        """Next page of a ``readByQuery`` by its resultId."""
        return QueryPage(self.execute(read_more_function(result_id)))

    def iter_read_by_query(
        self,
        object_name: str,
        *,
        query: str = "",
        fields: Sequence[str] = ("*",),
        page_size: int = 1000,
    ) -> Iterator[QueryPage]:
        """Every page of a ``readByQuery``, following ``readMore`` until none remain."""
        page = self.read_by_query(object_name, query=query, fields=fields, page_size=page_size)
        yield page
        while page.has_more and page.count > 0:
            if not page.result_id:
                raise MalformedResponseError(
                    f"readByQuery of {object_name} reports {page.num_remaining} more records but "
                    "no resultId to read them",
                    retryable=False,
                )
            page = self.read_more(page.result_id)
            yield page

    def describe(self, object_name: str) -> ObjectDefinition:
        """``lookup``: the object's fields and relationships."""
        return parse_lookup(self.execute(lookup_function(object_name)))

    def pause(self, attempt: int) -> None:
        """Wait before a caller's own retry number ``attempt`` (exponential backoff with full
        jitter, like the client's retries; tests pass a no-op sleep)."""
        wait = min(self._backoff_factor * 2 ** max(0, attempt - 1), self._backoff_max)
        self._sleep(backoff.full_jitter(wait))

    def lookup(self, object_name: str) -> list[FieldDef]:
        """``lookup``: the object's field definitions (ID, LABEL, DATATYPE, ...)."""
        return list(self.describe(object_name).fields)

    # -- sessions -------------------------------------------------------------------------------

    def _current_session(self) -> ApiSession:
        return self._session_for_call()[0]

    def _session_for_call(self) -> tuple[ApiSession, bool]:
        """The session to use, and whether this call logged in for it (not another thread)."""
        refresh_after = dt.timedelta(minutes=self._config.session_refresh_minutes)
        with self._cache.lock:
            session = self._cache.get(self._key)
            if session is not None:
                now = self._now()
                if not session.needs_renewal(
                    now, refresh_after=refresh_after, margin=SESSION_TIMEOUT_MARGIN
                ):
                    self._remember_secret(session.session_id)
                    return session, False
                logger.info(
                    "Renewing the Intacct session for company %s (opened %s, gateway timeout %s)",
                    self._config.company_id,
                    session.created_at.isoformat(),
                    session.timeout.isoformat() if session.timeout else "not announced",
                )
                self._cache.invalidate(self._key, session)
            session = self._login()
            self._cache.put(self._key, session)
            return session, True

    def _login(self) -> ApiSession:
        config = self._config
        started = self._now()
        function = get_api_session_function(config.entity_id)
        control_id = derive_control_id(function, scope=self._run_id)
        request = build_request(
            sender_id=config.sender_id,
            sender_password=config.sender_password,
            control_id=control_id,
            credentials=LoginCredentials(
                user_id=config.user_id,
                company_id=config.company_id,
                password=config.user_password,
                location_id=config.entity_id,
            ),
            function=function,
            function_control_id=control_id,
            unique_id=False,
        )
        response, result = self._send(
            config.api_url,
            serialize(request),
            write=False,
            function="getAPISession",
            control_id=control_id,
            session=None,
        )
        api = result.data.find("api") if result.data is not None else None
        session_id = (api.findtext("sessionid") or "").strip() if api is not None else ""
        if not session_id:
            raise MalformedResponseError(
                "getAPISession answered without a session id", retryable=False
            )
        self._remember_secret(session_id)
        endpoint = (api.findtext("endpoint") or "").strip() if api is not None else ""
        if not endpoint.startswith(("https://", "http://")):
            logger.warning(
                "Intacct getAPISession returned no usable endpoint; keeping %s", config.api_url
            )
            endpoint = config.api_url
        elif not is_secure_url(endpoint):
            logger.warning(
                "Intacct getAPISession returned a plain-http endpoint for a host that is not "
                "loopback (%s); it is not used, so credentials never travel unencrypted. "
                "Keeping %s",
                endpoint,
                config.api_url,
            )
            endpoint = config.api_url
        location_id = (api.findtext("locationid") or "").strip() if api is not None else ""
        timeout = response.authentication.session_timeout if response.authentication else None
        session = ApiSession(
            session_id=session_id,
            endpoint=endpoint,
            location_id=location_id,
            created_at=started,
            timeout=timeout,
        )
        if timeout is not None and timeout - SESSION_TIMEOUT_MARGIN <= self._now():
            logger.warning(
                "The new Intacct session already times out at %s; check the clock of this machine",
                timeout.isoformat(),
            )
        logger.info(
            "Opened an Intacct API session for company %s, user %s%s; endpoint %s",
            config.company_id,
            config.user_id,
            f", entity {config.entity_id}" if config.entity_id else "",
            endpoint,
        )
        return session

    # -- one request, with retries --------------------------------------------------------------

    def _send(
        self,
        url: str,
        body: bytes,
        *,
        write: bool,
        function: str,
        control_id: str,
        session: ApiSession | None,
        attempts: list[int] | None = None,
        more_control_ids: Sequence[str] = (),
    ) -> tuple[Response, Result]:
        """One request with retries; ``attempts`` (if given) collects each attempt's number."""
        waits = backoff.expo(base=2, factor=self._backoff_factor, max_value=self._backoff_max)
        next(waits)  # the generator first yields 0 (no wait before the first attempt)
        max_retries = self._config.max_retries
        attempt = 0
        while True:
            attempt += 1
            if attempts is not None:
                attempts.append(attempt)
            logger.debug(
                "Intacct %s: attempt %d, control id %s, uniqueid=%s",
                function,
                attempt,
                control_id,
                "true" if write else "false",
            )
            try:
                return self._attempt(
                    url,
                    body,
                    write=write,
                    function=function,
                    control_id=control_id,
                    session=session,
                    more_control_ids=more_control_ids,
                )
            except IntacctError as exc:
                if exc.function is None:
                    exc.function = function
                if exc.control_id is None:
                    exc.control_id = control_id
                exc.scrub(self._scrub)
                if isinstance(exc, RateLimitError):
                    self._throttled()
                if not exc.retryable:
                    raise
                if attempt > max_retries:
                    exc.gave_up_after(attempt)
                    logger.error(
                        "Intacct %s (control id %s): %s; giving up after %d attempts",
                        function,
                        control_id,
                        exc.reason,
                        attempt,
                    )
                    raise
                wait = backoff.full_jitter(next(waits))
                retry_after = exc.retry_after
                if retry_after is not None:
                    wait = max(wait, min(retry_after, self._backoff_max))
                logger.warning(
                    "Intacct %s (control id %s): %s; retry %d of %d in %.1f s",
                    function,
                    control_id,
                    exc.reason,
                    attempt,
                    max_retries,
                    wait,
                )
                logger.debug(
                    "Intacct %s: resending with the same control ids (request and function %s)",
                    function,
                    control_id,
                )
                self._sleep(wait)

    def _attempt(
        self,
        url: str,
        body: bytes,
        *,
        write: bool,
        function: str,
        control_id: str,
        session: ApiSession | None,
        more_control_ids: Sequence[str] = (),
    ) -> tuple[Response, Result]:
        timeout = self._config.request_timeout
        try:
            with self._slots:
                with self._sent_lock:
                    self._sent += 1
                http = self._http.post(
                    url, data=body, headers=self._headers, timeout=timeout, allow_redirects=False
                )
                content = http.content  # read the whole answer while holding the slot
        except requests.ConnectTimeout:
            raise GatewayConnectionError(f"could not connect within {timeout:g} s") from None
        except requests.Timeout:
            if write:
                raise GatewayTimeoutError(
                    f"no answer within {timeout:g} s",
                    retryable=False,
                    hint=(
                        "The write may still complete on Intacct's side, so it is not resent "
                        "now. Run again: the same control id goes out with uniqueid=true and a "
                        "repeat is refused as already applied"
                    ),
                ) from None
            raise GatewayTimeoutError(f"no answer within {timeout:g} s") from None
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema) as exc:
            raise GatewayConnectionError(
                f"invalid gateway URL ({type(exc).__name__})",
                retryable=False,
                hint="Check api_url",
            ) from None
        except requests.ConnectionError as exc:
            raise GatewayConnectionError(_connection_reason(exc)) from None
        except requests.RequestException as exc:
            raise MalformedResponseError(f"the answer broke off ({type(exc).__name__})") from None

        status = http.status_code
        if status != 200:
            raise self._http_error(http, content, write=write)
        content_type = http.headers.get("Content-Type", "").lower()
        if "html" in content_type:
            raise MalformedResponseError(
                f"the body is an HTML page, not a gateway response (HTTP 200, {content_type})"
            )
        response = parse_response(content)
        error = response.error(used_session=session is not None)
        if error is not None:
            raise error
        results: list[Result] = []
        for function_id in (control_id, *more_control_ids):
            found = response.result(function_id)
            if found is None:
                raise MalformedResponseError(
                    f"the answer has no result for function control id {function_id}",
                    retryable=False,
                    hint="The gateway answered another request; if this repeats, report it",
                )
            function_error = found.error()
            if function_error is not None:
                raise function_error
            results.append(found)
        if session is not None and response.authentication is not None:
            timeout_at = response.authentication.session_timeout
            if timeout_at is not None:
                session.timeout = timeout_at
        return response, results[0]

    def _throttled(self) -> None:
        """HTTP 429 / GW-0010: one simultaneous request fewer for the rest of the run."""
        limit = self._slots.lower()
        if limit is None:
            return
        if not self._throttle_logged:
            self._throttle_logged = True
            logger.warning(
                "Intacct refused a request for company %s as too many at once (GW-0010); "
                "sending at most %d at a time from now on (max_concurrent_requests is %d: "
                "lower it to the company's allowance)",
                self._config.company_id,
                limit,
                self._slots.configured,
            )
        else:
            logger.debug("Intacct: at most %d simultaneous requests from now on", limit)

    def _http_error(self, http: requests.Response, content: bytes, *, write: bool) -> IntacctError:
        status = http.status_code
        parsed: Response | None = None
        if content.lstrip()[:1] == b"<":
            try:
                parsed = parse_response(content)
            except MalformedResponseError:
                parsed = None
        errors: tuple[ErrorDetail, ...] = ()
        if parsed is not None:
            errors = parsed.errors or parsed.operation_errors
        if status == 429 or (parsed is not None and "GW-0010" in {e.errorno for e in errors}):
            exc: IntacctError = RateLimitError(
                "too many requests", errors=errors, http_status=status
            )
            exc.retry_after = _retry_after(http.headers)
            return exc
        if status == 524:
            if write:
                return GatewayHTTPError(
                    "the CDN timed out (524) while Intacct may still be processing",
                    errors=errors,
                    http_status=status,
                    retryable=False,
                    hint=(
                        "The write may still complete, so it is not resent. Run again: the same "
                        "control id goes out with uniqueid=true and a repeat is refused as already "
                        "applied"
                    ),
                )
            return GatewayHTTPError("the CDN timed out (524)", errors=errors, http_status=status)
        if status >= 500:
            return GatewayHTTPError("server error", errors=errors, http_status=status)
        if parsed is not None:
            error = parsed.error(http_status=status)
            if error is not None:
                error.http_status = status
                error.args = (str(error),)
                return error
        if 300 <= status < 400:
            return GatewayHTTPError(
                f"redirected to {http.headers.get('Location', '?')}",
                http_status=status,
                retryable=False,
                hint="Set api_url to the gateway URL itself (redirects are not followed)",
            )
        return GatewayHTTPError(
            "unexpected answer",
            errors=errors,
            http_status=status,
            retryable=False,
            hint="Check api_url and the sender credentials",
        )


def _connection_reason(exc: requests.ConnectionError) -> str:
    text = str(exc).lower()
    if "refused" in text:
        return "connection refused"
    if "reset" in text or "aborted" in text or "remote end closed" in text:
        return "connection reset"
    return f"connection failed ({type(exc).__name__})"
