"""Per-request latency of the sandboxes: a fixed part plus seeded jitter.

Real APIs do not answer in a constant time: Intacct answers a query in a quarter of a second
to several seconds, Mailchimp's batch-subscribe call of 500 members in one to a few seconds.
Benchmarks make every answer wait ``fixed`` seconds plus a jitter drawn from a seeded random
generator, so two runs of the same benchmark see the same sequence of delays:

- ``uniform``: jitter uniform in ``[0, jitter]`` (mean ``jitter / 2``);
- ``exponential``: jitter exponential with mean ``jitter`` (a long tail, capped at 10x).

``Latency(0.25, 0.05).sample()`` is thread-safe (handler threads draw from one generator).
"""

from __future__ import annotations

import random
import threading

DISTRIBUTIONS = ("uniform", "exponential")


class Latency:
    """The delay of one answer: ``fixed + jitter`` seconds (see the module docstring)."""

    def __init__(
        self,
        fixed: float = 0.0,
        jitter: float = 0.0,
        *,
        distribution: str = "uniform",
        seed: int = 0,
    ) -> None:
        if fixed < 0 or jitter < 0:
            raise ValueError("latency and jitter must be 0 or more seconds")
        if distribution not in DISTRIBUTIONS:
            raise ValueError(f"distribution must be one of {DISTRIBUTIONS}, not {distribution!r}")
        self.fixed = float(fixed)
        self.jitter = float(jitter)
        self.distribution = distribution
        self._random = random.Random(seed)  # delays, not secrets
        self._lock = threading.Lock()

    def sample(self) -> float:
        """Seconds to wait before this answer."""
        if self.jitter <= 0:
            return self.fixed
        with self._lock:
            if self.distribution == "uniform":
                extra = self._random.uniform(0.0, self.jitter)
            else:
                extra = min(self._random.expovariate(1.0 / self.jitter), 10 * self.jitter)
        return self.fixed + extra

    def __repr__(self) -> str:
        return f"Latency(fixed={self.fixed}, jitter={self.jitter}, {self.distribution})"
