"""Fault injection for the Intacct sandbox.

Switch faults on through `sb.faults`:

    sb.faults.add("http_429", times=2)                      # the next 2 matching requests
    sb.faults.add("try_again_later", functions={"query"})   # next query only
    sb.faults.every("invalidate_session", k=5)              # every 5th request
    sb.faults.random("http_503", p=0.1, seed=7)             # storms, reproducible
    sb.faults.add("timeout", seconds=2.0)                   # longer than the client waits

Every rule counts the requests it matches (`functions` / `except_functions` scope it by the
function names inside a request) and fires on its own schedule. When several rules fire on
one request, the modifiers (`slow`, `invalidate_session`) all apply and the first-registered
of the others decides the answer. `sb.faults.log` lists (request index, fault name) of every
firing. Fault names and parameters are in `FAULTS`.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# name -> (kind, default params). Kinds:
#   "http"      answer with an HTTP error / non-gateway body; the request is not executed
#               unless params["execute"] is true (default true only for http_524).
#   "control"   HTTP 200 with a control-level gateway failure; not executed.
#   "function"  HTTP 200; each matching function gets a failure result instead of running.
#   "mangle"    run the request, then damage the answer (truncate / delay past the timeout).
#   "modifier"  side effect, then the request runs normally.
FAULTS: dict[str, tuple[str, dict[str, Any]]] = {
    "http_429": ("http", {"status": 429, "retry_after": None}),
    "http_400": ("http", {"status": 400}),
    "http_500": ("http", {"status": 500}),
    "http_502": ("http", {"status": 502}),
    "http_503": ("http", {"status": 503, "retry_after": None}),
    "http_524": ("http", {"status": 524, "execute": True}),
    "cdn_error": ("http", {"status": 502}),
    "cdn_error_200": ("http", {"status": 200}),
    "connection_reset": ("http", {"status": 0}),
    "service_offline": ("control", {}),
    "rate_limit_body": ("control", {}),
    "try_again_later": ("function", {}),
    "service_offline_function": ("function", {}),
    "rate_limit_function": ("function", {}),
    "truncated": ("mangle", {"fraction": 0.5}),
    "timeout": ("mangle", {"seconds": 2.0}),
    "slow": ("modifier", {"seconds": 0.2}),
    "invalidate_session": ("modifier", {"scope": "all"}),
}


@dataclass
class FaultRule:
    """One registered fault schedule. `seen`/`fired` count matching and firing requests."""

    name: str
    mode: str  # "next", "every", "random"
    params: dict[str, Any]
    functions: frozenset[str] | None = None
    except_functions: frozenset[str] = frozenset()
    times: int | None = 1
    after: int = 0
    k: int = 1
    p: float = 0.0
    seed: int | None = None
    seen: int = 0
    fired: int = 0
    active: bool = True
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    @property
    def kind(self) -> str:
        return FAULTS[self.name][0]

    def matches(self, functions: Iterable[str]) -> bool:
        names = set(functions)
        if self.functions is not None and not (names & self.functions):
            return False
        return not (names and names <= self.except_functions)

    def decide(self) -> bool:
        """Count one matching request; True if the rule fires on it."""
        if not self.active:
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        self.seen += 1
        if self.mode == "next":
            fire = self.seen > self.after
        elif self.mode == "every":
            fire = self.seen % self.k == 0
        else:
            fire = self._rng.random() < self.p
        if fire:
            self.fired += 1
        return fire

    def remove(self) -> None:
        self.active = False


class Faults:
    """The fault registry of one sandbox (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rules: list[FaultRule] = []
        self.log: list[tuple[int, str]] = []

    def _make(
        self,
        name: str,
        mode: str,
        *,
        functions: Iterable[str] | None,
        except_functions: Iterable[str] | None,
        params: dict[str, Any],
        **kw: Any,
    ) -> FaultRule:
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; known: {sorted(FAULTS)}")
        merged = {**FAULTS[name][1], **params}
        rule = FaultRule(
            name=name,
            mode=mode,
            params=merged,
            functions=frozenset(functions) if functions is not None else None,
            except_functions=frozenset(except_functions or ()),
            **kw,
        )
        with self._lock:
            self.rules.append(rule)
        return rule

    def add(
        self,
        name: str,
        *,
        times: int | None = 1,
        after: int = 0,
        functions: Iterable[str] | None = None,
        except_functions: Iterable[str] | None = None,
        **params: Any,
    ) -> FaultRule:
        """Fire on the next `times` matching requests (None = all), after skipping `after`."""
        return self._make(
            name,
            "next",
            functions=functions,
            except_functions=except_functions,
            params=params,
            times=times,
            after=after,
        )

    def every(
        self,
        name: str,
        k: int,
        *,
        times: int | None = None,
        functions: Iterable[str] | None = None,
        except_functions: Iterable[str] | None = None,
        **params: Any,
    ) -> FaultRule:
        """Fire on every k-th matching request (k, 2k, ...), at most `times` times."""
        if k < 1:
            raise ValueError("k must be >= 1")
        return self._make(
            name,
            "every",
            functions=functions,
            except_functions=except_functions,
            params=params,
            times=times,
            k=k,
        )

    def random(
        self,
        name: str,
        p: float,
        *,
        seed: int = 0,
        times: int | None = None,
        functions: Iterable[str] | None = None,
        except_functions: Iterable[str] | None = None,
        **params: Any,
    ) -> FaultRule:
        """Fire with probability p per matching request (seeded, reproducible)."""
        return self._make(
            name,
            "random",
            functions=functions,
            except_functions=except_functions,
            params=params,
            times=times,
            p=p,
            seed=seed,
            _rng=random.Random(seed),
        )

    def clear(self) -> None:
        """Remove every rule (the log stays)."""
        with self._lock:
            for r in self.rules:
                r.active = False
            self.rules = []

    def count(self, name: str | None = None) -> int:
        """How many times a fault (or any fault) fired."""
        with self._lock:
            return sum(1 for _, n in self.log if name is None or n == name)

    def select(self, request_index: int, functions: list[str]) -> list[FaultRule]:
        """Rules firing on this request: modifiers first, then at most one other rule."""
        fired: list[FaultRule] = []
        with self._lock:
            for rule in self.rules:
                if rule.matches(functions) and rule.decide():
                    fired.append(rule)
            modifiers = [r for r in fired if r.kind == "modifier"]
            others = [r for r in fired if r.kind != "modifier"][:1]
            chosen = modifiers + others
            for r in chosen:
                self.log.append((request_index, r.name))
        return chosen
