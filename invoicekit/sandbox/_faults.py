"""Seeded fault injection: the failures a real provider API shows, on demand and reproducibly.

Every decision that involves chance draws from one ``random.Random(seed)`` per sandbox, one draw per
matching probabilistic rule per request whether or not an earlier rule already fired, so the same seed and
the same sequence of requests give the same faults: a failing test replays.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from fnmatch import fnmatchcase

__all__ = ["FaultDecision", "FaultKind", "FaultRule", "Faults"]


class FaultKind(StrEnum):
    """What a :class:`FaultRule` does to a request."""

    #: Delay the response by ``latency`` (+ up to ``jitter``) seconds; never fails the request by itself.
    LATENCY = "latency"
    #: A token bucket of ``rate_limit`` requests per second (``burst`` deep); over it: 429 + Retry-After.
    RATE_LIMIT = "rate_limit"
    #: Answer 429 + Retry-After (``retry_after`` seconds) to a fraction of requests, the handler not run: a
    #: limit the client cannot see coming (other clients of the account spent it). Logged as a rate limit.
    THROTTLE = "throttle"
    #: Answer ``status`` (500/502/503) instead of running the handler (or after it, see ``after_commit``).
    SERVER_ERROR = "server_error"
    #: Run the handler (the write is committed), then drop the connection halfway through the body.
    DROP_AFTER_COMMIT = "drop_after_commit"
    #: Run the handler, then answer 200 with a truncated or garbled body.
    MALFORMED = "malformed"


# Faults that need the handler's response, so the handler (and its write) always runs first.
_AFTER_HANDLER = frozenset({FaultKind.DROP_AFTER_COMMIT, FaultKind.MALFORMED})


@dataclass
class FaultRule:
    """One fault, scoped to requests whose method and path match.

    ``method`` is None for any method, else e.g. ``"POST"``. ``path`` is a glob matched against the URL path
    only (``*`` also crosses ``/``): ``"/api/v2/invoices*"``. ``probability`` is the chance that a
    matching request is hit (rate limits ignore it: a bucket is deterministic). ``times`` caps how often
    the rule fires (``times=1``: only the next matching request), after which it stays inert.

    The bucket of a rate-limit rule is shared by every request the rule matches, whoever sends it.
    """

    kind: FaultKind
    method: str | None = None
    path: str = "*"
    probability: float = 1.0
    latency: float = 0.0
    jitter: float = 0.0
    status: int = 503
    rate_limit: float = 10.0
    burst: int = 10
    after_commit: bool = False
    times: int | None = None
    retry_after: int = 1
    fired: int = field(default=0, init=False)
    _tokens: float = field(default=0.0, init=False, repr=False)
    _refilled_at: float | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.kind = FaultKind(self.kind)
        if self.method is not None:
            self.method = self.method.upper()
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"probability must be between 0 and 1, got {self.probability}")
        if self.kind is FaultKind.SERVER_ERROR and not 500 <= self.status <= 599:
            raise ValueError(f"a server error needs a 5xx status, got {self.status}")
        if self.kind is FaultKind.RATE_LIMIT and (self.rate_limit <= 0 or self.burst < 1):
            raise ValueError("a rate limit needs rate_limit > 0 requests/s and burst >= 1")
        if self.latency < 0 or self.jitter < 0:
            raise ValueError("latency and jitter must not be negative")
        if self.retry_after < 0:
            raise ValueError("retry_after must not be negative")

    # Shorthands, so tests read as what they inject.
    @classmethod
    def slow(cls, seconds: float, *, jitter: float = 0.0, **scope: object) -> FaultRule:
        return cls(FaultKind.LATENCY, latency=seconds, jitter=jitter, **scope)  # type: ignore[arg-type]

    @classmethod
    def rate_limited(cls, per_second: float = 10.0, *, burst: int = 10, **scope: object) -> FaultRule:
        return cls(FaultKind.RATE_LIMIT, rate_limit=per_second, burst=burst, **scope)  # type: ignore[arg-type]

    @classmethod
    def throttled(cls, probability: float = 1.0, *, retry_after: int = 1, **scope: object) -> FaultRule:
        return cls(FaultKind.THROTTLE, probability=probability, retry_after=retry_after, **scope)  # type: ignore[arg-type]

    @classmethod
    def server_error(cls, probability: float = 1.0, *, status: int = 503, **scope: object) -> FaultRule:
        return cls(FaultKind.SERVER_ERROR, probability=probability, status=status, **scope)  # type: ignore[arg-type]

    @classmethod
    def drop_after_commit(cls, probability: float = 1.0, **scope: object) -> FaultRule:
        return cls(FaultKind.DROP_AFTER_COMMIT, probability=probability, **scope)  # type: ignore[arg-type]

    @classmethod
    def malformed(cls, probability: float = 1.0, **scope: object) -> FaultRule:
        return cls(FaultKind.MALFORMED, probability=probability, **scope)  # type: ignore[arg-type]

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        if self.method is not None and self.method != method.upper():
            return False
        return fnmatchcase(path, self.path)

    def _take_token(self, now: float) -> float | None:
        """Consume a token; return None if one was there, else the seconds until one will be."""
        if self._refilled_at is None:
            self._tokens = float(self.burst)
        else:
            self._tokens = min(float(self.burst), self._tokens + (now - self._refilled_at) * self.rate_limit)
        self._refilled_at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return None
        return (1.0 - self._tokens) / self.rate_limit


@dataclass(frozen=True)
class FaultDecision:
    """What the sandbox does to one request: wait ``delay`` seconds, then apply ``kind`` (if any)."""

    delay: float = 0.0
    kind: FaultKind | None = None
    status: int | None = None
    retry_after: int | None = None
    after_commit: bool = False
    #: A number drawn for the fault to use (where to cut a malformed body), so that is seeded too.
    variant: float = 0.0

    @property
    def runs_handler(self) -> bool:
        return self.kind is None or self.after_commit


class Faults:
    """The fault rules of one sandbox; change them at any time (``add``, ``remove``, ``clear``)."""

    def __init__(
        self,
        rules: Iterable[FaultRule] = (),
        *,
        seed: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = list(rules)
        self._seed = seed
        self._rng = random.Random(seed)
        self._clock = clock

    def __repr__(self) -> str:
        return f"Faults({len(self._rules)} rules, seed={self._seed!r})"

    def __iter__(self) -> Iterator[FaultRule]:
        with self._lock:
            return iter(list(self._rules))

    def __len__(self) -> int:
        return len(self._rules)

    @property
    def seed(self) -> int | None:
        return self._seed

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def remove(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.remove(rule)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def reseed(self, seed: int | None) -> None:
        """Restart the random sequence, e.g. to replay a failure seen with ``seed``."""
        with self._lock:
            self._seed = seed
            self._rng = random.Random(seed)

    def decide(self, method: str, path: str) -> FaultDecision:
        """Apply the rules to one request; the first decisive fault (in rule order) wins."""
        with self._lock:
            delay = 0.0
            chosen: FaultDecision | None = None
            for rule in self._rules:
                if not rule.matches(method, path):
                    continue
                if rule.kind is FaultKind.RATE_LIMIT:
                    if chosen is not None:
                        continue  # an earlier fault already answers: this request never reaches the bucket
                    wait = rule._take_token(self._clock())
                    if wait is not None:
                        rule.fired += 1
                        # Retry-After is whole seconds (RFC 9110); rounding up means a client that waits
                        # that long always finds a token.
                        chosen = FaultDecision(kind=rule.kind, status=429, retry_after=max(1, math.ceil(wait - 1e-9)))
                    continue
                hit = rule.probability >= 1.0 or self._rng.random() < rule.probability
                variant = self._rng.random() if rule.kind is FaultKind.MALFORMED else 0.0
                extra = self._rng.uniform(0.0, rule.jitter) if rule.jitter else 0.0
                if not hit:
                    continue
                if rule.kind is FaultKind.LATENCY:
                    rule.fired += 1
                    delay += rule.latency + extra
                elif chosen is None and rule.kind is FaultKind.THROTTLE:
                    rule.fired += 1
                    chosen = FaultDecision(kind=FaultKind.RATE_LIMIT, status=429, retry_after=rule.retry_after)
                elif chosen is None:
                    rule.fired += 1
                    chosen = FaultDecision(
                        kind=rule.kind,
                        status=rule.status if rule.kind is FaultKind.SERVER_ERROR else None,
                        after_commit=rule.after_commit or rule.kind in _AFTER_HANDLER,
                        variant=variant,
                    )
            if chosen is None:
                return FaultDecision(delay=delay)
            return FaultDecision(
                delay=delay,
                kind=chosen.kind,
                status=chosen.status,
                retry_after=chosen.retry_after,
                after_commit=chosen.after_commit,
                variant=chosen.variant,
            )
