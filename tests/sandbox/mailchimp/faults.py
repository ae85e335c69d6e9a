"""Fault injection: armed one-off faults and a seeded probabilistic storm.

A fault is chosen per request by :meth:`Faults.pick` (the server calls it once per API
request, after the connection gate and the latency wait). Kinds:

=============== =====================================================================
``400``         400 Invalid Resource, problem+json body (a refusal no retry changes)
``429``         429 Too Many Requests, problem+json body
``429_no_body`` 429 with an empty body
``403_no_body`` 403 with an empty body (Mailchimp's high-volume throttle)
``500``         500 Internal Server Error, problem+json
``502``         502 Bad Gateway, problem+json
``502_html``    502 with an HTML body (the CDN gave up; the call may still have run)
``503``         503 Service Unavailable, problem+json
``504``         504 Gateway Timeout with an HTML body
``slow``        wait ``seconds`` (default 1.0) or until ``fault.release()``, then handle the
                request normally (hold N requests in flight: ``add("slow", times=N,
                seconds=30)``, then ``release()``)
``timeout``     handle the request, hold the answer ``seconds`` (default 1.0; set it above
                the client's timeout), then send it: the write happened, the client
                timed out
``disconnect``  close the connection without any answer
=============== =====================================================================

Error kinds do not run the request unless ``execute=True`` (then the write happens and the
client still sees the error, as after a lost response). ``timeout`` always runs it.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

from .api import Response
from .errors import ApiError

ERROR_KINDS = (
    "400",
    "429",
    "429_no_body",
    "403_no_body",
    "500",
    "502",
    "502_html",
    "503",
    "504",
)
FAULT_KINDS = (*ERROR_KINDS, "slow", "timeout", "disconnect")
_STORM_5XX = ("500", "502_html", "503", "504")
DEFAULT_SECONDS = 1.0


@dataclass
class Fault:
    """One armed fault. ``times=None`` fires on every matching request until cleared."""

    kind: str
    times: int | None = 1
    path_prefix: str | None = None
    method: str | None = None
    seconds: float = DEFAULT_SECONDS
    execute: bool = False
    batch_ops: bool = False
    fired: int = 0
    released: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    def release(self) -> None:
        """End the wait of ``slow``/``timeout`` requests held by this fault, now and later."""
        self.released.set()

    def matches(self, method: str, path: str, *, api: bool, batch_op: bool) -> bool:
        if batch_op and not self.batch_ops:
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        if self.path_prefix is None:
            return api
        return path.startswith(self.path_prefix)


@dataclass
class FiredFault:
    """A record of a fault that fired."""

    kind: str
    method: str
    path: str
    batch_op: bool = False


@dataclass
class _Storm:
    rate_5xx: float
    rate_429: float
    rate_403: float
    rate_timeout: float
    rate_disconnect: float
    timeout_seconds: float
    executed_share: float
    path_prefix: str | None
    include_batch_ops: bool
    rng: random.Random = field(default_factory=random.Random)


class Faults:
    """The fault switchboard of one sandbox (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._storm: _Storm | None = None
        self._fired: list[FiredFault] = []

    def add(
        self,
        kind: str,
        times: int | None = 1,
        *,
        path_prefix: str | None = None,
        method: str | None = None,
        seconds: float | None = None,
        execute: bool | None = None,
        batch_ops: bool = False,
    ) -> Fault:
        """Arm a fault for the next *times* matching requests (None = until cleared).

        *path_prefix* is matched against the path after ``/3.0`` (e.g. ``"/ecommerce"``);
        without it the fault hits any API request (not batch-result downloads, which a
        ``"/batch-results"`` prefix targets). *method* narrows to one HTTP method.
        *seconds* is the wait of ``slow``/``timeout``. *execute* runs the request before an
        error kind answers. *batch_ops* lets error kinds also hit operations inside a batch
        (they then show up in the results file with that status code).
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
        fault = Fault(
            kind=kind,
            times=times,
            path_prefix=path_prefix,
            method=method,
            seconds=DEFAULT_SECONDS if seconds is None else float(seconds),
            execute=kind == "timeout" if execute is None else bool(execute),
            batch_ops=batch_ops,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def storm(
        self,
        rate_5xx: float = 0.0,
        rate_429: float = 0.0,
        seed: int = 0,
        *,
        rate_403: float = 0.0,
        rate_timeout: float = 0.0,
        rate_disconnect: float = 0.0,
        timeout_seconds: float = DEFAULT_SECONDS,
        executed_share: float = 0.0,
        path_prefix: str | None = None,
        include_batch_ops: bool = False,
    ) -> None:
        """Fail API requests at random with a seeded RNG until :meth:`calm` or :meth:`clear`.

        Each request draws once: with probability *rate_5xx* it gets one of 500, 502 (HTML),
        503, 504; with *rate_429* a 429; *rate_403* a 403 without body; *rate_timeout* a
        ``timeout`` of *timeout_seconds*; *rate_disconnect* a dropped connection. A share
        *executed_share* of the 5xx answers come after the request really ran.
        """
        total = rate_5xx + rate_429 + rate_403 + rate_timeout + rate_disconnect
        if total > 1.0:
            raise ValueError("storm rates add up to more than 1")
        with self._lock:
            self._storm = _Storm(
                rate_5xx,
                rate_429,
                rate_403,
                rate_timeout,
                rate_disconnect,
                timeout_seconds,
                executed_share,
                path_prefix,
                include_batch_ops,
                random.Random(seed),
            )

    def calm(self) -> None:
        """Stop the storm (armed faults stay)."""
        with self._lock:
            self._storm = None

    def clear(self) -> None:
        """Disarm every fault and stop the storm (the fired history is kept)."""
        with self._lock:
            self._faults.clear()
            self._storm = None

    @property
    def fired(self) -> list[FiredFault]:
        """Every fault that fired so far, in order."""
        with self._lock:
            return list(self._fired)

    def count(self, kind: str | None = None) -> int:
        """How many faults fired (of one *kind*, or all)."""
        with self._lock:
            return sum(1 for f in self._fired if kind is None or f.kind == kind)

    @property
    def armed(self) -> list[Fault]:
        """Faults that can still fire."""
        with self._lock:
            return [f for f in self._faults if f.times is None or f.fired < f.times]

    def reset_history(self) -> None:
        with self._lock:
            self._fired.clear()

    def pick(
        self, method: str, path: str, *, api: bool = True, batch_op: bool = False
    ) -> Fault | None:
        """The fault this request suffers, if any (consumes one shot of an armed fault)."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path, api=api, batch_op=batch_op):
                    fault.fired += 1
                    self._fired.append(FiredFault(fault.kind, method, path, batch_op))
                    return fault
            storm = self._storm
            if storm is None or (batch_op and not storm.include_batch_ops):
                return None
            if storm.path_prefix is not None and not path.startswith(storm.path_prefix):
                return None
            if storm.path_prefix is None and not api:
                return None
            chosen = self._draw(storm, batch_op)
            if chosen is not None:
                self._fired.append(FiredFault(chosen.kind, method, path, batch_op))
            return chosen

    @staticmethod
    def _draw(storm: _Storm, batch_op: bool) -> Fault | None:
        r = storm.rng.random()
        edge = storm.rate_5xx
        if r < edge:
            kind = storm.rng.choice(_STORM_5XX)
            executed = storm.rng.random() < storm.executed_share
            return Fault(kind, times=None, execute=executed)
        edge += storm.rate_429
        if r < edge:
            return Fault("429", times=None)
        edge += storm.rate_403
        if r < edge:
            return Fault("403_no_body", times=None)
        if batch_op:
            return None
        edge += storm.rate_timeout
        if r < edge:
            return Fault("timeout", times=None, seconds=storm.timeout_seconds, execute=True)
        edge += storm.rate_disconnect
        if r < edge:
            return Fault("disconnect", times=None)
        return None


_HTML_502 = (
    "<html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>502 Bad Gateway</h1><p>The server did not answer in time.</p></body></html>"
)
_HTML_504 = (
    "<html><head><title>504 Gateway Time-out</title></head>"
    "<body><h1>504 Gateway Time-out</h1></body></html>"
)


def fault_response(kind: str) -> Response:
    """The answer an error *kind* produces (a problem document, HTML text or no body)."""
    if kind == "429":
        return Response.from_error(
            ApiError(
                429,
                "Too Many Requests",
                "You have exceeded the limit of 10 simultaneous connections.",
            )
        )
    if kind == "400":
        return Response.from_error(
            ApiError(400, "Invalid Resource", "The resource submitted could not be validated.")
        )
    if kind == "429_no_body":
        return Response(429, None)
    if kind == "403_no_body":
        return Response(403, None)
    if kind == "500":
        return Response.from_error(
            ApiError(
                500,
                "Internal Server Error",
                "An unexpected internal error has occurred. Please contact Support.",
            )
        )
    if kind == "502":
        return Response.from_error(
            ApiError(502, "Bad Gateway", "The server received an invalid response upstream.")
        )
    if kind == "502_html":
        return Response(502, _HTML_502, {"Content-Type": "text/html; charset=utf-8"})
    if kind == "503":
        return Response.from_error(
            ApiError(503, "Service Unavailable", "The service is temporarily unavailable.")
        )
    if kind == "504":
        return Response(504, _HTML_504, {"Content-Type": "text/html; charset=utf-8"})
    raise ValueError(f"{kind!r} is not an error fault")
