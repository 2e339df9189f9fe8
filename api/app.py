"""The HTTP API: ``create_app(engine, settings)`` builds a FastAPI app (nothing at import time).

Routes (see docs/api.md)::

    POST /api/cases                                open a case                 201 + ETag
    GET  /api/cases                                list (filters, cursor)      {"items", "next"}
    GET  /api/cases/{id}                           one case with its clocks    ETag
    GET  /api/cases/{id}/history                   its events
    GET  /api/cases/{id}/triggers                  what the caller may do now
    POST /api/cases/{id}/transitions/{trigger}     fire (If-Match, Idempotency-Key)
    GET  /api/worklist                             cases waiting on me, most urgent first
    GET  /api/sla/board | /api/sla/breaches        the supervisors' view
    GET  /api/reports/monthly?month=YYYY-MM        JSON, CSV or XLSX
    GET  /api/definitions[/{id}[/diagram]]         items, case types, Mermaid diagrams
    GET  /api/calendar, POST /api/calendar         known years; load an override (admin)
    GET  /api/changes?after=&limit=&wait=           every event in my org subtree, commit order
    GET|POST /api/webhooks, GET|DELETE …/{id}      change-webhook subscribers (root admin)
    /api/applications…                             the applicant's side (docs/portal.md)
    GET  /api/health, GET /metrics

Every route but health, metrics and the applicant's (a query code, or a portal token) needs
``Authorization: Bearer <token>``; every read and write is scoped to the caller's org subtree by
the engine. Errors are RFC 9457 problem documents.
"""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.responses import Response

from adapters.online import install as online_install
from workflow.engine import Engine

from . import apidocs, problems, web
from .auth import Authenticator
from .deps import Context, CtxDep, json_response
from .limits import BodyLimit
from .metrics import Metrics, MetricsMiddleware
from .ratelimit import RateLimiter, RateLimitMiddleware, document_limits
from .routes import applications, cases, changes, office, orders, reports, webhooks
from .routes_ops import router as ops_router
from .schemas import Health, Problem
from .settings import ApiSettings
from .tokens import tokens_for
from .web import apply as web_apply

VERSION = "0.1.0"


def create_app(engine: Engine, settings: ApiSettings | None = None) -> FastAPI:
    """The API over ``engine`` (built by ``adapters.build_engine``). Starts no scheduler: the
    ``caseclock serve`` command does that beside it."""
    settings = settings or ApiSettings()
    tokens = settings.tokens if settings.tokens is not None else tokens_for(engine)
    auth = Authenticator(orgs=engine.orgs, now=engine.now, tokens=tokens, jwt=settings.jwt)
    metrics = Metrics() if settings.metrics else None
    app = FastAPI(
        title=settings.title,
        version=VERSION,
        docs_url=None, redoc_url=None,  # FastAPI's load from CDNs: apidocs serves its own, offline
        description="Cases, legal SLA clocks and reports of an intellectual-property office.",
        openapi_tags=[
            {"name": "cases", "description": "open, read and advance cases"},
            {"name": "sla", "description": "the supervisors' board and breaches"},
            {"name": "reports", "description": "the monthly report to the province"},
            {"name": "definitions", "description": "items, case types and their diagrams"},
            {"name": "calendar", "description": "the official working-day calendar"},
            {"name": "changes", "description": "every step as data: the change feed and its webhooks"},
            {"name": "applications", "description": "the applicant's side: apply online, progress, 补正, 好差评"},
            {"name": "service", "description": "health and metrics"},
        ],
    )
    limiter = RateLimiter(settings.rate_limits)
    app.state.ctx = Context(engine=engine, settings=settings, auth=auth, tokens=tokens, metrics=metrics,
                            limiter=limiter)
    if getattr(getattr(engine.store, "dialect", None), "name", "") == "sqlite":
        # SQLite has one writer: this process's writes take turns on one worker thread at a time
        # (32 threads queueing on the store's lock would fight over the GIL instead)
        app.state.ctx.writes = anyio.CapacityLimiter(1)
    problems.install(app)
    apidocs.install(app)  # /docs and /redoc with every asset from this app (no internet needed)
    online_install(engine)  # the applicant's notices (build_engine installs it too; once either way)
    app.include_router(cases.router)
    app.include_router(office.router)
    app.include_router(orders.router)  # 督办 (issue 18 part 6)
    app.include_router(applications.router)  # the applicant's side (issue 17, docs/portal.md)
    app.include_router(reports.router)
    app.include_router(changes.router)  # the change feed (issue 19)
    app.include_router(webhooks.router)  # its subscribers (root admin)
    app.include_router(ops_router)  # assign, transfer, correct, suspensions, receipts, documents, attachments (issue 8)
    app.include_router(web.router)  # the pages under /web (issue 9)
    app.include_router(web_apply.router)  # the applicant's pages under /apply (issue 17)

    @app.get("/api/health", tags=["service"], response_model=Health, summary="Is the service up")
    def health(ctx: CtxDep) -> Response:
        e = ctx.engine
        with e.store.unit_of_work():  # the database answers
            pass
        warnings = []
        status = getattr(e.calendar, "status", None)
        if status is not None:
            warnings = [str(w) for w in status(e.today()).get("warnings", [])]
        return json_response({
            "status": "ok", "time": e.now().isoformat(), "store": type(e.store).__name__,
            "definitions": len(e.definitions()), "calendar_warnings": warnings, "version": VERSION,
        })

    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, max_upload_bytes=settings.max_upload_bytes)
    app.add_middleware(RateLimitMiddleware, limiter=limiter)  # before the body is read (added last: runs first)
    if metrics is not None:
        app.add_middleware(MetricsMiddleware, metrics=metrics)

        @app.get("/metrics", tags=["service"], summary="Prometheus metrics",
                 responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                                  "description": "Prometheus text format"}})
        def prometheus() -> Response:
            body, content_type = metrics.exposition()
            return Response(body, media_type=content_type)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description,
                                 routes=app.routes, tags=app.openapi_tags)
            comps = schema.setdefault("components", {}).setdefault("schemas", {})
            comps["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            app.openapi_schema = document_limits(schema) if settings.rate_limits.enabled else schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


__all__ = ["ApiSettings", "create_app"]
