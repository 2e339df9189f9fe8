"""Rate limits: token buckets per token, per client, and for a client's failed secret look-ups.

Three limits, each a token bucket (``Rate``: so many a second, up to a burst)::

    per_token       requests with one bearer credential      default 200/s, burst 400
    per_client      every request from one client address     default 1000/s, burst 2000
    failures        failed secret look-ups by one client      default 4/min, burst 20
                    (bad tokens, bad passwords, bad query codes)

A refused request is a 429 problem with ``Retry-After`` (whole seconds until the bucket has a
token again). The per-client limit is a pure ASGI middleware (:class:`RateLimitMiddleware`) in
front of every route; the per-token limit and the failures are counted where the credential is
checked (:func:`api.deps.current_actor`, the sign-in form). Other secret look-ups (an applicant's
query code) use :data:`SecretLookupDep` or :func:`failed_secret_lookup`.

A *client* is the peer address (:func:`client_key`): the real client behind a proxy only when
uvicorn is told to trust that proxy (``caseclock serve --forwarded-allow-ips``); IPv6 addresses
count by their /64 network (one host usually holds a whole /64).

The buckets live in this process's memory (each worker of ``serve --workers N`` counts on its
own, so N workers let through up to N times a rate). At most ``max_keys`` buckets are kept per
limit: a bucket that has filled up again carries nothing and goes first; when the table is full
the buckets with the most tokens left go next; a bucket that is holding a client back is never
dropped for a newcomer. While every kept bucket is holding its client back, newcomers share one
overflow bucket, so filling the table with new addresses never frees anyone (see
docs/reliability.md, class 5).
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request

from .problems import TooManyRequests, problem_response

_UNITS = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0,
          "h": 3600.0, "hour": 3600.0}
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*([a-z]+)\s*(?::\s*(\d+)\s*)?$")


@dataclass(frozen=True)
class Rate:
    """``per_second`` tokens a second flow into a bucket holding at most ``burst``."""

    per_second: float
    burst: int

    def __post_init__(self) -> None:
        if not (math.isfinite(self.per_second) and self.per_second > 0):
            raise ValueError(f"a rate must be a positive number a second, not {self.per_second!r}")
        if not 1 <= self.burst <= 10**9:
            raise ValueError(f"a burst must be between 1 and 10^9, not {self.burst!r}")

    @classmethod
    def parse(cls, text: str) -> Rate:
        """``"200/s:400"``: 200 a second, bursts up to 400; ``"4/min:20"``; ``"100/hour"`` (the
        burst defaults to the count)."""
        m = _RATE.match(text.lower())
        name = m.group(2) if m else ""
        unit = _UNITS.get(name, _UNITS.get(name.removesuffix("s")))
        if m is None or unit is None:
            raise ValueError(f"{text!r} is not a rate: write COUNT/UNIT[:BURST], e.g. 200/s:400 or 4/min:20 "
                             "(units s, min, hour)")
        count = float(m.group(1))
        burst = int(m.group(3)) if m.group(3) else max(1, math.ceil(count))
        return cls(per_second=count / unit, burst=burst)

    def __str__(self) -> str:
        for name, seconds in (("s", 1.0), ("min", 60.0), ("hour", 3600.0)):
            count = self.per_second * seconds
            if count >= 1 and abs(count - round(count)) < 1e-9:
                return f"{round(count)}/{name}:{self.burst}"
        return f"{self.per_second * 3600:g}/hour:{self.burst}"


@dataclass(frozen=True, kw_only=True)
class RateLimits:
    """The API's rate limits (``ApiSettings.rate_limits``; environment: :func:`rate_limits_from_env`)."""

    enabled: bool = True
    per_token: Rate = Rate(per_second=200, burst=400)
    per_client: Rate = Rate(per_second=1000, burst=2000)
    failures: Rate = Rate(per_second=4 / 60, burst=20)
    max_keys: int = 100_000  # buckets kept per limit


ENV = {
    "CASECLOCK_RATE_LIMITS": "0 turns every limit off (default 1)",
    "CASECLOCK_RATE_PER_TOKEN": "requests with one bearer credential (default 200/s:400)",
    "CASECLOCK_RATE_PER_CLIENT": "requests from one client address (default 1000/s:2000)",
    "CASECLOCK_RATE_FAILURES": "failed secret look-ups by one client (default 4/min:20)",
}


def rate_limits_from_env(env: Mapping[str, str]) -> RateLimits:
    """:class:`RateLimits` from ``CASECLOCK_RATE_*`` (see :data:`ENV`); ValueError naming the
    variable when one is not a rate."""
    base = RateLimits()
    values: dict[str, Any] = {}
    enabled = env.get("CASECLOCK_RATE_LIMITS", "").strip().lower()
    if enabled:
        if enabled not in ("0", "1", "true", "false", "yes", "no", "on", "off"):
            raise ValueError(f"CASECLOCK_RATE_LIMITS must be 0 or 1, not {enabled!r}")
        values["enabled"] = enabled in ("1", "true", "yes", "on")
    for name, attr in (("CASECLOCK_RATE_PER_TOKEN", "per_token"), ("CASECLOCK_RATE_PER_CLIENT", "per_client"),
                       ("CASECLOCK_RATE_FAILURES", "failures")):
        raw = env.get(name, "").strip()
        if raw:
            try:
                values[attr] = Rate.parse(raw)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
    return RateLimits(**{**{f: getattr(base, f) for f in ("enabled", "per_token", "per_client", "failures",
                                                           "max_keys")}, **values})


class Buckets:
    """Token buckets by key, at most ``max_keys`` of them (see the module's docstring for which
    go when the table is full). Thread-safe; ``clock`` is monotonic seconds (tests pass their own)."""

    def __init__(self, rate: Rate, *, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self.rate = rate
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: dict[str, list[float]] = {}  # key -> [tokens, when]
        self._overflow = [float(rate.burst), clock()]
        self._full_until = -math.inf  # no room was found: newcomers share the overflow bucket until then
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def _level(self, b: list[float], now: float) -> float:
        return min(float(self.rate.burst), b[0] + max(0.0, now - b[1]) * self.rate.per_second)

    def _wait(self, tokens: float, cost: float) -> float:
        return 0.0 if tokens >= cost else (cost - tokens) / self.rate.per_second

    def peek(self, key: str, cost: float = 1.0) -> float:
        """Seconds until ``cost`` tokens are there for ``key`` (0: now); takes nothing."""
        now = self.clock()
        with self._lock:
            b = self._buckets.get(key)
            if b is None:
                return 0.0
            return self._wait(self._level(b, now), cost)

    def take(self, key: str, cost: float = 1.0, *, force: bool = False) -> float:
        """Take ``cost`` tokens for ``key``: 0.0 when they were there, else the seconds to wait
        (and nothing is taken). ``force``: take them anyway (the level may go below zero, down
        to one burst of debt): for failures counted after the fact."""
        now = self.clock()
        with self._lock:
            b = self._buckets.get(key)
            if b is None:
                if len(self._buckets) >= self.max_keys and not self._make_room(now, cost):
                    b = self._overflow
                else:
                    b = self._buckets[key] = [float(self.rate.burst), now]
            level = self._level(b, now)
            wait = self._wait(level, cost)
            if wait and not force:
                b[0], b[1] = level, now
                return wait
            b[0], b[1] = max(level - cost, -float(self.rate.burst)), now
            return wait

    def forget(self, key: str) -> None:
        with self._lock:
            self._buckets.pop(key, None)

    def _make_room(self, now: float, cost: float) -> bool:
        """Free at least one place, never by dropping a bucket that holds its client back more
        than a newcomer's would (``burst - cost`` tokens left). False: no room (for a second)."""
        if now < self._full_until:
            return False
        full = float(self.rate.burst)
        levels = {k: self._level(b, now) for k, b in self._buckets.items()}
        for k, level in levels.items():
            if level >= full:  # filled up again: nothing to remember
                del self._buckets[k]
        if len(self._buckets) < self.max_keys:
            return True
        # the least held back, down to a tenth of the table, as long as each is no more held
        # back than the newcomer will be
        cheap = sorted((k for k in self._buckets if levels[k] >= full - cost), key=lambda k: -levels[k])
        for k in cheap[:max(1, self.max_keys // 10)]:
            del self._buckets[k]
        if len(self._buckets) < self.max_keys:
            return True
        self._full_until = now + 1.0
        return False


def client_key(scope: Mapping[str, Any]) -> str:
    """Who a request comes from: the peer's address (uvicorn has already put the proxy's
    ``X-Forwarded-For`` there when the proxy is trusted); an IPv6 address by its /64."""
    client = scope.get("client")
    return _client_of(str(client[0]) if client else "")


@functools.lru_cache(maxsize=4096)  # every request asks: parsing the same few addresses again and again
def _client_of(host: str) -> str:
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host[:128] or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def credential_key(authorization: str) -> str:
    """The per-token bucket's key: a digest of the whole credential (never the secret itself)."""
    return hashlib.sha256(authorization.strip().encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _seconds(wait: float) -> int:
    return max(1, math.ceil(wait))


@dataclass
class RateLimiter:
    """The app's three limits (``app.state.ctx.limiter``)."""

    limits: RateLimits
    clock: Callable[[], float] = time.monotonic
    tokens: Buckets = field(init=False)
    clients: Buckets = field(init=False)
    failures: Buckets = field(init=False)

    def __post_init__(self) -> None:
        n = self.limits.max_keys
        self.tokens = Buckets(self.limits.per_token, max_keys=n, clock=self._now)
        self.clients = Buckets(self.limits.per_client, max_keys=n, clock=self._now)
        self.failures = Buckets(self.limits.failures, max_keys=n, clock=self._now)

    def _now(self) -> float:
        return self.clock()

    @property
    def enabled(self) -> bool:
        return self.limits.enabled

    def client_request(self, client: str) -> None:
        """Count a request from ``client``; TooManyRequests when over its limit."""
        if self.enabled and (wait := self.clients.take(client)):
            raise TooManyRequests(f"too many requests from this client: at most {self.limits.per_client}",
                                  retry_after=_seconds(wait))

    def token_request(self, authorization: str) -> None:
        """Count a request with a credential that was accepted; TooManyRequests when over its limit."""
        if self.enabled and (wait := self.tokens.take(credential_key(authorization))):
            raise TooManyRequests(f"too many requests with this token: at most {self.limits.per_token}",
                                  retry_after=_seconds(wait))

    def failures_wait(self, client: str) -> float:
        """Seconds until ``client`` may fail a secret look-up again (0: now)."""
        return self.failures.peek(client) if self.enabled else 0.0

    def check_failures(self, client: str, what: str = "secret look-ups") -> None:
        """TooManyRequests when ``client`` has failed too many secret look-ups lately."""
        if wait := self.failures_wait(client):
            raise TooManyRequests(f"too many failed {what} from this client: at most {self.limits.failures}",
                                  retry_after=_seconds(wait))

    def failed(self, client: str) -> None:
        """Count one failed secret look-up by ``client``."""
        if self.enabled:
            self.failures.take(client, force=True)


def limiter_of(request: Request) -> RateLimiter:
    return request.app.state.ctx.limiter


class SecretLookups:
    """What a route that checks a secret (a query code, a password) uses: :meth:`failed` counts a
    wrong one against the client; the dependency that made it already refused (429) a client
    that had failed too often."""

    def __init__(self, limiter: RateLimiter, client: str) -> None:
        self.limiter = limiter
        self.client = client

    def failed(self) -> None:
        self.limiter.failed(self.client)


async def guard_secret_lookup(request: Request) -> SecretLookups:
    """Dependency: 429 (``Retry-After``) when this client has failed too many secret look-ups;
    else a :class:`SecretLookups` whose ``failed()`` the route calls on a wrong secret."""
    limiter = limiter_of(request)
    client = client_key(request.scope)
    limiter.check_failures(client)
    return SecretLookups(limiter, client)


SecretLookupDep = Annotated[SecretLookups, Depends(guard_secret_lookup)]


def failed_secret_lookup(request: Request) -> None:
    """Count a failed secret look-up (a wrong query code, token or password) by this request's client."""
    limiter_of(request).failed(client_key(request.scope))


TOO_MANY = {
    "description": "Over a rate limit (per token, per client, or failed secret look-ups): retry after "
                   "`Retry-After` seconds",
    "headers": {"Retry-After": {"description": "whole seconds until the request would be let through",
                                "schema": {"type": "integer", "minimum": 1}}},
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


def document_limits(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the 429 every operation can answer (the per-client limit stands before them all) to an
    OpenAPI document."""
    for item in schema.get("paths", {}).values():
        for method, operation in item.items():
            if method in ("get", "put", "post", "delete", "patch", "head", "options", "trace"):
                operation.setdefault("responses", {}).setdefault("429", TOO_MANY)
    return schema


class RateLimitMiddleware:
    """Pure ASGI: the per-client limit in front of every HTTP route (a 429 problem, no route runs)."""

    def __init__(self, app: Any, *, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.limiter.enabled:
            try:
                self.limiter.client_request(client_key(scope))
            except TooManyRequests as exc:
                response = problem_response(429, "Too many requests", str(exc), code=exc.code,
                                            instance=scope.get("path"), retry_after=exc.retry_after,
                                            headers={"Retry-After": str(exc.retry_after)})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


__all__ = [
    "ENV", "TOO_MANY", "Buckets", "Rate", "RateLimitMiddleware", "RateLimiter", "RateLimits", "SecretLookupDep",
    "SecretLookups", "client_key", "credential_key", "document_limits", "failed_secret_lookup", "guard_secret_lookup",
    "rate_limits_from_env",
]
