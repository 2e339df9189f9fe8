"""Cases: open, list, read, history, what I may do, fire a transition, my worklist."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Query
from starlette.responses import Response

from workflow.errors import VersionConflict
from workflow.model import Actor, Case
from workflow.search import MAX_QUERY

from ..deps import (
    ActorDep,
    Context,
    CtxDep,
    ItemIdAlias,
    case_json,
    case_response,
    clean_json,
    clean_text,
    decode_cursor,
    encode_cursor,
    offset_of,
    one_item,
    page,
    page_by_offset,
    parse_bound,
    read,
    write,
)
from ..problems import BadRequest, PreconditionFailed
from ..schemas import (
    TEXT,
    CaseCreate,
    CaseOut,
    CasePage,
    ConfirmExpiryIn,
    EventPage,
    SlaLevel,
    TransitionRequest,
    TriggerPage,
    problems,
)
from ..scope import CASE, scope

router = APIRouter(prefix="/api", tags=["cases"])
MAX_KEY = 200  # characters of an Idempotency-Key

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=MAX_KEY, pattern=TEXT,
           description="repeat a call safely: the same key replays the first result"),
]
IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description='the case version from its ETag ("3" or 3); another version → 412'),
]
Cursor = Annotated[str | None, Query(max_length=200, pattern=TEXT, description="the `next` value of the previous page")]
CaseId = Annotated[str, Path(max_length=128, pattern=TEXT, description="the case id")]
Trigger = Annotated[str, Path(max_length=128, pattern=TEXT, description="the trigger name")]
_ETAG = {"ETag": {"description": 'the case version, quoted: "3"', "schema": {"type": "string"}}}


def _limit(ctx: Context, limit: int | None) -> int:
    return ctx.settings.page_size if limit is None else min(limit, ctx.settings.max_page_size)


def idempotency_key_of(actor: Actor, key: str | None, kind: str = "http") -> str | None:
    """The engine's key for a caller's ``Idempotency-Key`` header (None: none given)."""
    if key is None:
        return None
    key = clean_text(key, "Idempotency-Key")
    if not key or len(key) > MAX_KEY:
        raise BadRequest(f"Idempotency-Key must be 1 to {MAX_KEY} characters", "Idempotency-Key")
    return f"{kind}:{actor.id}:{key}"  # one caller's keys never collide with another's


_idem_key = idempotency_key_of


def _opt(value: str | None, field: str) -> str | None:
    return clean_text(value, field) if value else None


@router.post(
    "/cases", status_code=201, response_model=None, summary="Open a case",
    responses={201: {"model": CaseOut, "headers": _ETAG}, **problems(400, 401, 403, 404, 409, 422)},
)
async def open_case(
    ctx: CtxDep, actor: ActorDep, body: CaseCreate,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Open a case of ``item_id`` in ``org`` (default: the caller's org) with its data. The
    response carries the case, its clocks and ``ETag``; ``Location`` names it."""
    data = clean_json(body.data, "data")
    case = await write(
        ctx, ctx.engine.open_case,
        clean_text(body.item_id, "item_id"), actor=actor, data=data, org=_opt(body.org, "org"),
        idempotency_key=_idem_key(actor, idempotency_key), started_on=body.started_on,
        reason=_opt(body.reason, "reason"), assignee=_opt(body.assignee, "assignee"),
    )
    if ctx.metrics is not None:
        ctx.metrics.opened(case.item_id)
    return case_response(case, 201, {"Location": f"/api/cases/{case.id}"})


@router.get(
    "/cases", response_model=None, summary="List cases",
    responses={200: {"model": CasePage}, **problems(400, 401, 422)},
)
def list_cases(
    ctx: CtxDep, actor: ActorDep,
    item: Annotated[str | None, Query(max_length=128, pattern=TEXT, description="item id")] = None,
    item_id: ItemIdAlias = None,
    state: Annotated[str | None, Query(max_length=128, pattern=TEXT)] = None,
    org: Annotated[str | None, Query(max_length=64, pattern=TEXT, description="an org code: that org and the orgs under it")] = None,
    sla: Annotated[SlaLevel | None, Query(description="the case's SLA level")] = None,
    assignee: Annotated[str | None, Query(max_length=128, pattern=TEXT)] = None,
    open: Annotated[bool | None, Query(description="true: not closed; false: closed")] = None,  # noqa: A002
    opened_from: Annotated[date | datetime | None, Query(description="YYYY-MM-DD or ISO date-time (inclusive)")] = None,
    opened_to: Annotated[date | datetime | None, Query(description="YYYY-MM-DD (inclusive) or ISO date-time (exclusive)")] = None,
    closed_from: Annotated[date | datetime | None, Query(description="YYYY-MM-DD or ISO date-time (inclusive)")] = None,
    closed_to: Annotated[date | datetime | None, Query(description="YYYY-MM-DD (inclusive) or ISO date-time (exclusive)")] = None,
    q: Annotated[str | None, Query(max_length=MAX_QUERY, pattern=TEXT, description=(
        "search: the case number or part of it, or a party's or applicant's name (the fields the "
        "item marks searchable); 3 characters or more match anywhere, 1 or 2 the beginning; case, "
        "spaces and punctuation ignored. Open and closed cases unless `open` is given"))] = None,
    limit: Annotated[int | None, Query(ge=1, le=10_000)] = None,
    cursor: Cursor = None,
) -> Response:
    """Cases in the caller's org subtree, oldest opening first, a page at a time; with ``q``, those
    whose number or searchable names match it."""
    size = _limit(ctx, limit)
    after = decode_cursor(cursor).get("a")
    if after is not None and not isinstance(after, str):
        raise BadRequest("cursor is not one this API handed out", "cursor")
    filters: dict[str, Any] = {
        "item_id": one_item(item, item_id), "state": _opt(state, "state"), "org": _opt(org, "org"),
        "sla": sla, "assignee": _opt(assignee, "assignee"), "open": open,
        "opened_from": parse_bound(opened_from, end=False, field="opened_from"),
        "opened_to": parse_bound(opened_to, end=True, field="opened_to"),
        "closed_from": parse_bound(closed_from, end=False, field="closed_from"),
        "closed_to": parse_bound(closed_to, end=True, field="closed_to"),
        "q": _opt(q, "q"),
    }
    filters = {k: v for k, v in filters.items() if v is not None}
    cases = ctx.engine.list_cases(actor, after=after, limit=size + 1, **filters)
    nxt = encode_cursor({"a": cases[size - 1].id}) if len(cases) > size else None
    return page([case_json(c) for c in cases[:size]], nxt)


@router.get(
    "/cases/{case_id}", response_model=None, summary="Read a case with its clocks",
    responses={200: {"model": CaseOut, "headers": _ETAG}, **problems(400, 401, 404)},
)
def get_case(ctx: CtxDep, actor: ActorDep, case_id: CaseId) -> Response:
    return case_response(ctx.engine.get_case(clean_text(case_id, "case_id"), actor))


@router.get(
    "/cases/{case_id}/history", response_model=None, summary="A case's history (append-only, hash-chained)",
    responses={200: {"model": EventPage}, **problems(400, 401, 404)},
)
def history(
    ctx: CtxDep, actor: ActorDep, case_id: CaseId,
    limit: Annotated[int | None, Query(ge=1, le=10_000)] = None, cursor: Cursor = None,
) -> Response:
    events = ctx.engine.history(clean_text(case_id, "case_id"), actor)
    chunk, nxt = page_by_offset([e.to_dict() for e in events], cursor, limit or 1000)
    return page(chunk, nxt)


def _trigger_view(ctx: Context, case: Case, trigger: str) -> dict[str, Any]:
    defn = ctx.engine.definition(case.item_id, case.definition_version)
    t = defn.transition(trigger, case.state)
    assert t is not None
    return {
        "trigger": t.trigger, "label": t.label or t.trigger, "dest": t.dest,
        "dest_label": defn.label_of(t.dest), "roles": list(t.roles),
        "requires": list(t.required_fields),
        "fields": [
            {"name": f.name, "type": f.type, "label": f.label or f.name, "required": f.required,
             "choices": list(f.choices)}
            for f in t.fields
        ],
        "extends": {k: str(v) for k, v in t.extend.items()},
    }


@router.get(
    "/cases/{case_id}/triggers", response_model=None, summary="What the caller may do with the case now",
    responses={200: {"model": TriggerPage}, **problems(400, 401, 404)},
)
def triggers(ctx: CtxDep, actor: ActorDep, case_id: CaseId) -> Response:
    """The triggers the caller's roles may fire in the case's current state, in definition order,
    with the data each requires (send it in the transition's body)."""
    case_id = clean_text(case_id, "case_id")
    case = ctx.engine.get_case(case_id, actor)
    names = ctx.engine.available_triggers(case_id, actor=actor)
    return page([_trigger_view(ctx, case, n) for n in names], None, triggers=names)


def _if_match(header: str | None) -> list[int] | None:
    """The versions ``If-Match`` names (None: absent or ``*``); a tag that is no version matches
    nothing."""
    if header is None:
        return None
    tags = [t.strip() for t in header.split(",") if t.strip()]
    if "*" in tags:
        return None
    versions: list[int] = []
    for tag in tags:
        tag = tag[2:] if tag.startswith("W/") else tag
        tag = tag.strip('"').strip()
        if tag.isascii() and tag.isdigit() and len(tag) < 19:
            versions.append(int(tag))
    return versions


@router.post(
    "/cases/{case_id}/transitions/{trigger}", response_model=None, summary="Fire a transition",
    responses={200: {"model": CaseOut, "headers": _ETAG}, **problems(400, 401, 403, 404, 409, 412, 422)},
)
async def fire(
    ctx: CtxDep, actor: ActorDep, case_id: CaseId, trigger: Trigger,
    body: Annotated[TransitionRequest | None, Body()] = None,
    if_match: IfMatch = None, idempotency_key: IdempotencyKey = None,
) -> Response:
    """Fire ``trigger`` on the case with the data it requires. ``If-Match`` (the ETag) makes the
    call conditional on the case's version (412 if it moved); ``Idempotency-Key`` makes a retry
    replay the first result."""
    case_id, trigger = clean_text(case_id, "case_id"), clean_text(trigger, "trigger")
    data = clean_json(body.data if body is not None else {}, "data")
    key = _idem_key(actor, idempotency_key)
    case = await _conditional(ctx, actor, case_id, if_match, ctx.engine.fire, case_id, trigger,
                              actor=actor, data=data, idempotency_key=key)
    if ctx.metrics is not None:
        ctx.metrics.fired(case.item_id, trigger)
    return case_response(case)


async def _conditional(ctx: Context, reader: Actor, case_id: str, if_match: str | None, fn: Any, /,
                       *args: Any, **kwargs: Any) -> Case:
    """Run a write on the case as ``If-Match`` asks: one version is passed on as the expected
    one; several are matched against the current version; a moved case is 412."""
    tags = _if_match(if_match)
    expected: int | None = None
    if tags is not None:
        if len(tags) == 1:
            expected = tags[0]
        else:  # several tags (or none usable): match against the current version
            current = (await read(ctx.engine.get_case, case_id, reader)).version
            if current not in tags:
                raise PreconditionFailed(f"If-Match {if_match!r} does not name version {current}", current)
            expected = current
    try:
        return await write(ctx, fn, *args, expected_version=expected, **kwargs)
    except VersionConflict as exc:
        if tags is None:
            raise
        current = (await read(ctx.engine.get_case, case_id, reader)).version  # 404 outside the org
        raise PreconditionFailed(
            f"If-Match {if_match!r}: the case is at version {current}; reload it", current
        ) from exc


@router.post(
    "/cases/{case_id}/clocks/{clock}/confirm-expiry", response_model=None,
    summary="Confirm a party's period ran out although its last day is provisional",
    responses={200: {"model": CaseOut, "headers": _ETAG}, **problems(400, 401, 403, 404, 409, 412, 422)},
    openapi_extra=scope(CASE),
)
async def confirm_expiry(
    ctx: CtxDep, actor: ActorDep, case_id: CaseId,
    clock: Annotated[str, Path(max_length=64, pattern=TEXT, description="the clock's name")],
    body: ConfirmExpiryIn, if_match: IfMatch = None,
) -> Response:
    """A party's (or external) period whose last day is provisional (暂定: its year's notice is
    not loaded) does not fire its automatic transition at expiry: the case waits, marked
    ``awaiting_calendar``. A clerk (or supervisor, leader, admin) who holds the period to have run
    out confirms it here with a reason: the transition fires now, recorded in the history (409
    when the clock is not waiting or the transition is not allowed).

    Scope: one case in the caller's org subtree; a case outside it is 404."""
    case_id, clock = clean_text(case_id, "case_id"), clean_text(clock, "clock")
    reason = clean_text(body.reason, "reason")
    case = await _conditional(ctx, actor, case_id, if_match, ctx.engine.confirm_expiry, case_id, clock,
                              actor=actor, reason=reason)
    return case_response(case)


@router.get(
    "/worklist", response_model=None, summary="Cases waiting on me, most urgent first",
    responses={200: {"model": CasePage}, **problems(400, 401)},
)
def worklist(
    ctx: CtxDep, actor: ActorDep,
    item: Annotated[str | None, Query(max_length=128, pattern=TEXT)] = None,
    item_id: ItemIdAlias = None,
    org: Annotated[str | None, Query(max_length=64, pattern=TEXT)] = None,
    limit: Annotated[int | None, Query(ge=1, le=10_000)] = None,
    cursor: Cursor = None,
) -> Response:
    """Open cases assigned to me, or in a state my roles work and assigned to nobody else, in my
    org subtree; the earliest deadline first."""
    filters = {k: v for k, v in {"item_id": one_item(item, item_id), "org": _opt(org, "org")}.items() if v}
    size = _limit(ctx, limit)
    cases = ctx.engine.worklist(actor, limit=offset_of(cursor) + size + 1, **filters)  # bounded by the page
    chunk, nxt = page_by_offset(cases, cursor, size)
    return page([case_json(c) for c in chunk], nxt)
