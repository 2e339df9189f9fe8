"""Prometheus metrics: requests by route and status, latency, cases opened, transitions fired.

Each app has its own registry (several apps in one process, as in the tests, never collide).
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "caseclock_http_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "caseclock_http_request_duration_seconds", "HTTP request latency", ["method", "route"],
            buckets=_BUCKETS, registry=self.registry,
        )
        self.in_flight = Gauge("caseclock_http_requests_in_flight", "requests being served", registry=self.registry)
        self.cases_opened = Counter("caseclock_cases_opened", "cases opened", ["item"], registry=self.registry)
        self.transitions = Counter(
            "caseclock_transitions", "transitions fired", ["item", "trigger"], registry=self.registry
        )
        self._children: dict[tuple[Any, tuple[str, ...]], Any] = {}

    def child(self, metric: Any, *labels: str) -> Any:
        """``metric.labels(*labels)``, remembered: prometheus hands out the same child for the same
        labels every time, and asking costs more than the count itself on every request."""
        key = (metric, labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def opened(self, item: str) -> None:
        self.child(self.cases_opened, item).inc()

    def fired(self, item: str, trigger: str) -> None:
        self.child(self.transitions, item, trigger).inc()

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Pure ASGI: times each HTTP request and counts it under its route template."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}
        start = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.in_flight.dec()
            route: Any = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "GET")
            self.metrics.child(self.metrics.requests, method, path, str(status["code"])).inc()
            self.metrics.child(self.metrics.latency, method, path).observe(time.perf_counter() - start)
