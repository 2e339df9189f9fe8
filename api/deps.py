"""What every route needs: the context, the authenticated actor, input checks, JSON responses."""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, TypeVar

import anyio.to_thread
from fastapi import Depends, Query, Request
from fastapi.security import HTTPBearer
from starlette.responses import Response

from workflow.bounds import FIRST_YEAR, LAST_YEAR, OutOfRange
from workflow.engine import Engine
from workflow.errors import Forbidden
from workflow.legaltime import TZ
from workflow.model import Actor, Case, Clock

from .auth import Authenticator, TokenStore
from .problems import BadRequest, Unauthorized
from .ratelimit import client_key
from .settings import ApiSettings

T = TypeVar("T")


@dataclass
class Context:
    """Built once by ``create_app``; reached through ``request.app.state.ctx``."""

    engine: Engine
    settings: ApiSettings
    auth: Authenticator
    tokens: TokenStore
    metrics: Any  # api.metrics.Metrics (or None when disabled)
    reports: Any = None  # adapters.reports.ReportService, made on first use
    writes: Any = None  # an anyio CapacityLimiter for writes (create_app: one at a time on SQLite)
    limiter: Any = None  # api.ratelimit.RateLimiter (create_app)


async def get_ctx(request: Request) -> Context:  # async: no thread hop for a lookup
    return request.app.state.ctx


async def current_actor(request: Request) -> Actor:
    """The caller, from ``Authorization: Bearer …`` (401 problem otherwise). Runs on the event
    loop: a token check is one indexed read (no thread hop per request)."""
    ctx: Context = request.app.state.ctx
    header = request.headers.get("authorization")
    limiter = ctx.limiter
    if limiter is None:
        actor = ctx.auth.actor(header)
    else:
        # a wrong credential counts against the client; one that has failed too often gets 429
        # instead of 401 (a right one still passes: a stranger's failures lock no one out)
        try:
            actor = ctx.auth.actor(header)
        except Unauthorized:
            if not (header or "").strip():  # nothing was looked up
                raise
            client = client_key(request.scope)
            blocked = limiter.failures_wait(client)
            limiter.failed(client)
            if blocked:
                limiter.check_failures(client, "sign-ins with a token")
            raise
        limiter.token_request(header or "")
    request.state.actor = actor
    return actor


class _BearerActor(HTTPBearer):
    """The ``ActorDep`` dependency: :func:`current_actor` as FastAPI's ``HTTPBearer`` security
    scheme itself (the same name and description in the OpenAPI document), so the actor is one
    dependency rather than one over another that parses the header a second time."""

    async def __call__(self, request: Request) -> Actor:  # type: ignore[override]
        return await current_actor(request)


_bearer = _BearerActor(auto_error=False, scheme_name="HTTPBearer",
                       description="an API token (caseclock token create) or an SSO JWT")


CtxDep = Annotated[Context, Depends(get_ctx)]
ActorDep = Annotated[Actor, Depends(_bearer)]


async def write(ctx: Context, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run an engine call that writes on a worker thread, within the write limiter: on SQLite
    this process's writers wait here, one thread at a time (the store's file lock then orders
    them with other processes and the scheduler), so only one writer thread contends for the GIL."""
    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs), limiter=ctx.writes)


async def read(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run a blocking engine read on the thread pool."""
    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))


def require_role(actor: Actor, roles: Iterable[str], what: str) -> None:
    wanted = tuple(roles)
    if not actor.has_any(wanted):
        raise Forbidden(f"{what} needs one of the roles {', '.join(wanted)}")


# --- input checks (bad input is a 400, never a 500) -----------------------------------------------


def clean_text(value: str, field: str) -> str:
    """Refuse NUL and lone surrogates (no database stores them; UTF-8 cannot encode them)."""
    if "\x00" in value:
        raise BadRequest(f"{field} must not contain NUL characters", field)
    _unicode(value, field)
    return value


def _unicode(value: str, field: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(f"{field} is not valid Unicode text (a lone surrogate)", field) from None


def clean_json(value: Any, field: str, depth: int = 0) -> Any:
    """Check a JSON value from a request: valid Unicode text (NUL is fine inside JSON: it is
    stored escaped), finite numbers, at most 32 levels deep."""
    if depth > 32:
        raise BadRequest(f"{field} is nested too deeply", field)
    if isinstance(value, str):
        _unicode(value, field)
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise BadRequest(f"{field} must be a finite number", field)
    if isinstance(value, Mapping):
        for k, v in value.items():
            _unicode(str(k), field)
            clean_json(v, f"{field}.{k}", depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            clean_json(v, f"{field}[{i}]", depth + 1)
    return value


def parse_bound(value: date | datetime | None, *, end: bool, field: str = "date") -> datetime | None:
    """A date is a whole day in Asia/Shanghai (an ``…_to`` date includes it); a date-time is an
    instant (naive: Asia/Shanghai; an ``…_to`` instant is excluded). A year outside 1900–2199 is
    refused (422 naming ``field``) before any arithmetic."""
    if value is None:
        return None
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise OutOfRange(field, f"must lie between {FIRST_YEAR} and {LAST_YEAR}")
    if isinstance(value, datetime):
        at = value if value.tzinfo is not None else value.replace(tzinfo=TZ)
        try:
            at.astimezone(TZ)  # an offset cannot push it out of range: the year is within bounds
        except (OverflowError, ValueError):
            raise OutOfRange(field, f"must lie between {FIRST_YEAR} and {LAST_YEAR}") from None
        return at
    return datetime.combine(value, time(0), TZ) + (timedelta(days=1) if end else timedelta(0))


ItemIdAlias = Annotated[str | None, Query(max_length=128, pattern=r"^[^\x00]*$",
                                           description="the same as `item` (the case's field name)")]


def one_item(item: str | None, item_id: str | None) -> str | None:
    """``item`` or its alias ``item_id`` (both: they must agree)."""
    if item and item_id and item != item_id:
        raise BadRequest("give item or item_id, not two different items", "item_id")
    value = item or item_id
    return clean_text(value, "item") if value else None


def encode_cursor(payload: Mapping[str, Any]) -> str:
    raw = json.dumps(dict(payload), separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any]:
    if not cursor:
        return {}
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeError):
        raise BadRequest("cursor is not one this API handed out", "cursor") from None
    if not isinstance(data, dict):
        raise BadRequest("cursor is not one this API handed out", "cursor")
    return data


def offset_of(cursor: str | None) -> int:
    off = decode_cursor(cursor).get("o", 0)
    if not isinstance(off, int) or isinstance(off, bool) or off < 0:
        raise BadRequest("cursor is not one this API handed out", "cursor")
    return off


def page_by_offset(rows: list[Any], cursor: str | None, limit: int) -> tuple[list[Any], str | None]:
    start = offset_of(cursor)
    chunk = rows[start:start + limit]
    nxt = encode_cursor({"o": start + limit}) if start + limit < len(rows) else None
    return chunk, nxt


# --- responses ------------------------------------------------------------------------------------


_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)  # json.dumps's, kept


def dumps(body: Any) -> bytes:
    return _COMPACT.encode(body).encode("utf-8")


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(dumps(body), status_code=status, media_type="application/json", headers=dict(headers or {}))


def etag(case: Case) -> str:
    return f'"{case.version}"'


def clock_json(c: Clock) -> dict[str, Any]:
    """``Clock.to_dict()`` (kept under its old name: it is the fast form now)."""
    return c.to_dict()


def case_json(case: Case) -> dict[str, Any]:
    """``Case.to_dict()``."""
    return case.to_dict()


def case_response(case: Case, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return json_response(case_json(case), status, {"ETag": etag(case), **(headers or {})})


def page(items: list[Any], nxt: str | None, **extra: Any) -> Response:
    return json_response({"items": items, "next": nxt, **extra})


__all__ = [
    "ActorDep", "Context", "CtxDep", "ItemIdAlias", "one_item", "case_json", "case_response", "clock_json", "clean_json", "clean_text", "current_actor",
    "decode_cursor", "encode_cursor", "etag", "get_ctx", "json_response", "page", "page_by_offset",
    "parse_bound", "read", "require_role", "write",
]
