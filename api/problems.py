"""Errors as ``application/problem+json`` (RFC 9457), from one handler mapping the errors tree.

::

    WorkflowError (workflow.errors)         status
    ├── BadRequest (here)                   400  a header, query or body value is malformed
    ├── DefinitionError, CalendarError      400  an uploaded file is invalid
    ├── Unauthorized (here)                 401  no token, or an invalid, expired or revoked one
    ├── Forbidden                           403  the caller lacks the role
    ├── CaseNotFound, UnknownItem           404  (a case outside the caller's org is not found)
    ├── TransitionNotAllowed                409
    ├── VersionConflict                     409  a concurrent writer won (no If-Match sent)
    │   └── PreconditionFailed (here)       412  If-Match names another version
    ├── IdempotencyMismatch                 409  the key was used for a different call
    ├── MissingData                         422  required data absent or invalid (``fields``)
    └── TooManyRequests (here)              429  over a rate limit (``Retry-After``: api/ratelimit.py)

FastAPI's request validation errors become 400 problems naming the field; unknown routes 404 and
wrong methods 405 problems whose ``Allow`` names every method the path takes (the routes of one
path may be declared apart: GET and POST of ``/api/calendar``); the database unreachable (PostgreSQL down or restarting, a connection
dropped, a SQLite file that cannot be opened) 503 with ``Retry-After`` (the next request gets a
fresh connection: no restart needed); anything else 500 (never through bad input: see the tests).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from workflow.errors import (
    CalendarError,
    CaseNotFound,
    DefinitionError,
    Forbidden,
    IdempotencyMismatch,
    MissingData,
    TransitionNotAllowed,
    UnknownItem,
    VersionConflict,
    WorkflowError,
)

PROBLEM = "application/problem+json"
log = logging.getLogger("caseclock.api")


class BadRequest(WorkflowError):
    """A header, query parameter or body value the API cannot use."""

    code = "bad_request"

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


class Unauthorized(WorkflowError):
    """No bearer token, or one that is unknown, expired, revoked or fails verification."""

    code = "unauthorized"


class TooManyRequests(WorkflowError):
    """Over a rate limit: try again after ``retry_after`` seconds (api/ratelimit.py)."""

    code = "too_many_requests"

    def __init__(self, message: str, retry_after: int = 1) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(message)


class PreconditionFailed(VersionConflict):
    """``If-Match`` names a version the case is no longer (or never was) at."""

    code = "precondition_failed"

    def __init__(self, message: str, current_version: int | None = None) -> None:
        self.current_version = current_version
        super().__init__(message)


# (class, status, title): the first class the error is an instance of wins
_TABLE: list[tuple[type[BaseException], int, str]] = [
    (BadRequest, 400, "Bad request"),
    (DefinitionError, 400, "Invalid definition"),
    (CalendarError, 400, "Invalid calendar"),
    (Unauthorized, 401, "Authentication required"),
    (Forbidden, 403, "Forbidden"),
    (CaseNotFound, 404, "Case not found"),
    (UnknownItem, 404, "Not found"),
    (PreconditionFailed, 412, "Precondition failed"),
    (TransitionNotAllowed, 409, "Transition not allowed"),
    (VersionConflict, 409, "Version conflict"),
    (IdempotencyMismatch, 409, "Idempotency key reused"),
    (MissingData, 422, "Missing or invalid data"),
    (TooManyRequests, 429, "Too many requests"),
    (WorkflowError, 400, "Request refused"),
]

_HTTP_TITLES = {
    400: "Bad request", 401: "Authentication required", 403: "Forbidden", 404: "Not found",
    405: "Method not allowed", 406: "Not acceptable", 409: "Conflict", 412: "Precondition failed",
    413: "Payload too large", 415: "Unsupported media type", 422: "Unprocessable content",
    429: "Too many requests",
}


def problem_response(
    status: int, title: str, detail: str, *, code: str, instance: str | None = None,
    headers: dict[str, str] | None = None, **extra: Any,
) -> Response:
    body: dict[str, Any] = {
        "type": f"urn:caseclock:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    content = json.dumps(body, ensure_ascii=False, default=str).encode("utf-8")
    return Response(content, status_code=status, media_type=PROBLEM, headers=headers)


def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        where, rest = parts[0], parts[1:]
        return f"{where}.{'.'.join(rest)}" if rest else where
    return ".".join(parts)


def _validation(exc: RequestValidationError, instance: str) -> Response:
    errors = []
    for e in exc.errors():
        msg = str(e.get("msg", "invalid"))
        errors.append({"field": _loc(e.get("loc", ())), "message": msg, "rule": str(e.get("type", ""))})
    first = errors[0] if errors else {"field": None, "message": "invalid request", "rule": None}
    detail = "; ".join(f"{x['field']}: {x['message']}" for x in errors) or "invalid request"
    fields: dict[str, str] = {}
    for x in errors:  # each field at fault with its reason, as a 422 names them
        if x["field"]:
            fields.setdefault(_field_key(x["field"]), x["message"])
    return problem_response(
        400, "Bad request", detail, code="bad_request", instance=instance,
        field=first["field"], rule=first["rule"], errors=errors, fields=fields or None,
    )


def _field_key(path: str) -> str:
    """A field's key in ``fields``: a case's data field by its name (``data.secured_amount`` →
    ``secured_amount``, as a 422 names it), anything else by its path (``query.limit``)."""
    return path[5:] if path.startswith("data.") and len(path) > 5 else path


def _workflow(exc: WorkflowError, instance: str) -> Response:
    status, title = 400, "Request refused"
    for cls, st, ti in _TABLE:
        if isinstance(exc, cls):
            status, title = st, ti
            break
    code = getattr(exc, "code", "workflow_error")
    extra: dict[str, Any] = {"rule": code}
    headers: dict[str, str] | None = None
    if isinstance(exc, MissingData):
        extra["fields"] = exc.fields
        extra["field"] = next(iter(exc.fields), None)
        extra["errors"] = [{"field": k, "message": v} for k, v in exc.fields.items()]
    elif isinstance(exc, BadRequest):
        extra["field"] = exc.field
        if exc.field:  # as a 422 does: ``fields`` and ``errors`` name it with the reason
            extra["fields"] = {_field_key(exc.field): str(exc)}
            extra["errors"] = [{"field": exc.field, "message": str(exc)}]
    elif isinstance(exc, PreconditionFailed):
        extra["field"] = "If-Match"
        extra["current_version"] = exc.current_version
    elif isinstance(exc, IdempotencyMismatch):
        extra["field"] = "Idempotency-Key"
    elif isinstance(exc, Unauthorized):
        extra["field"] = "Authorization"
        headers = {"WWW-Authenticate": 'Bearer realm="caseclock"'}
    elif isinstance(exc, TooManyRequests):
        extra["retry_after"] = exc.retry_after
        headers = {"Retry-After": str(exc.retry_after)}
    elif isinstance(exc, DefinitionError):
        extra["errors"] = [{"field": p.path, "message": p.message, "line": p.line, "file": p.file or exc.source}
                           for p in exc.problems]
    detail = str(exc).strip() or title
    return problem_response(status, title, detail, code=code, instance=instance, headers=headers, **extra)


def db_unavailable(exc: BaseException) -> bool:
    """The database cannot be reached (rather than refusing a statement): a connection that failed
    or was dropped (psycopg's OperationalError and InterfaceError, SQLAlchemy's disconnects), a
    SQLite file that cannot be opened or read. Follows ``orig`` and ``__cause__`` a few levels."""
    import psycopg
    import sqlalchemy.exc as sa_exc

    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            return False
        if isinstance(seen, psycopg.OperationalError | psycopg.InterfaceError | sa_exc.DisconnectionError):
            return True
        if isinstance(seen, sa_exc.DBAPIError) and seen.connection_invalidated:
            return True
        if isinstance(seen, sqlite3.OperationalError):
            text = str(seen).lower()
            return "unable to open" in text or "disk i/o" in text
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False


_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app takes at this request's path (Starlette's own 405
    names only the first route whose path matched): each method is tried against the routes."""
    from starlette.routing import Match

    routes = request.app.router.routes
    allowed = []
    for method in _METHOD_ORDER:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in routes):
            allowed.append(method)
    return allowed


async def handle(request: Request, exc: Exception) -> Response:
    """The one handler: every error the API can meet becomes a problem document."""
    instance = request.url.path
    if not isinstance(exc, WorkflowError | RequestValidationError | StarletteHTTPException) and db_unavailable(exc):
        log.warning("database unavailable on %s %s: %s", request.method, instance, exc)
        return problem_response(503, "Service unavailable", "the database cannot be reached: retry shortly",
                                code="database_unavailable", instance=instance, headers={"Retry-After": "1"})
    if isinstance(exc, RequestValidationError):
        return _validation(exc, instance)
    if isinstance(exc, WorkflowError):
        return _workflow(exc, instance)
    if isinstance(exc, StarletteHTTPException):
        title = _HTTP_TITLES.get(exc.status_code, "Error")
        code = title.lower().replace(" ", "_")
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return problem_response(
            exc.status_code, title, str(exc.detail or title), code=code, instance=instance,
            headers=headers or None,
        )
    log.exception("unexpected error on %s %s", request.method, instance, exc_info=exc)
    return problem_response(500, "Internal error", "the server failed; the error is logged",
                            code="internal_error", instance=instance)


def install(app: FastAPI) -> None:
    import psycopg
    import sqlalchemy.exc as sa_exc

    # database errors by class too, so an outage's 503 is answered like any other problem (the
    # handler for Exception also answers, but its middleware re-raises and logs a traceback)
    for cls in (RequestValidationError, WorkflowError, StarletteHTTPException, psycopg.Error, sqlite3.Error,
                sa_exc.DBAPIError, sa_exc.DisconnectionError, Exception):
        app.add_exception_handler(cls, handle)


__all__ = ["PROBLEM", "BadRequest", "PreconditionFailed", "TooManyRequests", "Unauthorized", "allowed_methods",
           "db_unavailable", "install", "problem_response"]
