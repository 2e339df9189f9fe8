"""The office's view: SLA board and breaches, definitions and diagrams, the calendar."""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path as FilePath
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from workflow.authority import require_root_admin
from workflow.diagram import mermaid
from workflow.engine import Engine
from workflow.errors import UnknownItem
from workflow.model import Actor
from workflow.ports import CaseQuery

from ..deps import (
    ActorDep,
    CtxDep,
    ItemIdAlias,
    case_json,
    clean_text,
    json_response,
    offset_of,
    one_item,
    page,
    page_by_offset,
    require_role,
    write,
)
from ..schemas import (
    TEXT,
    Board,
    CalendarLoaded,
    CalendarOut,
    CalendarOverrideIn,
    CasePage,
    DefinitionOut,
    DefinitionPage,
    problems,
)
from ..scope import OFFICE, scope
from ..views import calendar_view, definition_detail, definition_summary

router = APIRouter(prefix="/api")
ItemId = Annotated[str, Path(max_length=128, pattern=TEXT, description="the item or case type id")]

BOARD_LEVELS = ("on_track", "warning", "overdue", "over_statutory", "expired", "deemed_accepted")
# a case's summary level folded onto the board's columns
# (a special procedure past its expected end, 特别程序超出预计期限, is a warning: the 黄 column)
_COLUMN = {"met": "on_track", "met_late": "overdue", "met_over_statutory": "over_statutory", "overrun": "warning"}
BREACH_LEVELS = ("deemed_accepted", "over_statutory", "overdue")  # deemed_accepted: no 一次性告知 in time


def _scope(engine: Engine, actor: Actor, org: str | None) -> frozenset[str]:
    scope = engine.orgs.subtree(actor.org)
    if org:
        scope = scope & engine.orgs.subtree(clean_text(org, "org"))
    return scope


def sla_counts(engine: Engine, orgs: frozenset[str], item_id: str | None) -> Counter[tuple[str, str, str]]:
    """Open cases counted by (org, item, stored SLA level). Uses the store's own aggregate when it
    has one (``count_open_by_sla``: a GROUP BY), else reads the open case rows (no clock
    derivation)."""
    counter = getattr(engine.store, "count_open_by_sla", None)
    if counter is not None:
        return Counter({(o, i, s): n for o, i, s, n in counter(orgs=orgs, item_id=item_id)})
    with engine.store.unit_of_work() as uow:
        rows = uow.query_cases(CaseQuery(orgs=orgs, item_id=item_id, open=True))
    return Counter((r.org, r.item_id, r.sla) for r in rows)


@router.get(
    "/sla/board", response_model=None, tags=["sla"], summary="Open cases by org, item and SLA level",
    responses={200: {"model": Board}, **problems(400, 401, 403)},
)
def board(
    ctx: CtxDep, actor: ActorDep,
    org: Annotated[str | None, Query(max_length=64, pattern=TEXT)] = None,
    item: Annotated[str | None, Query(max_length=128, pattern=TEXT)] = None,
    item_id: ItemIdAlias = None,
) -> Response:
    """Counts of open cases in the caller's org subtree, per org and item, in the levels the last
    sweep recorded (the scheduler sweeps every minute)."""
    require_role(actor, ctx.settings.board_roles, "the SLA board")
    engine = ctx.engine
    counts = sla_counts(engine, _scope(engine, actor, org), one_item(item, item_id))
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    totals = dict.fromkeys((*BOARD_LEVELS, "total"), 0)
    for (o, i, level), n in sorted(counts.items()):
        col = _COLUMN.get(level, level)
        if col not in BOARD_LEVELS:
            col = "on_track"
        row = rows.get((o, i))
        if row is None:
            try:
                name = engine.definition(i).name
            except UnknownItem:
                name = i
            row = rows[(o, i)] = {"org": o, "org_name": engine.orgs.name(o), "item_id": i,
                                  "item_name": name, **dict.fromkeys(BOARD_LEVELS, 0), "total": 0}
        row[col] += n
        row["total"] += n
        totals[col] += n
        totals["total"] += n
    now = engine.now()
    waiting = engine.orders(actor, status="open", org=org or None)
    orders = {"open": len(waiting), "overdue": sum(o.overdue_at(now) for o in waiting)}
    return page(list(rows.values()), None, totals=totals, orders=orders, as_of=now.isoformat())


@router.get(
    "/sla/breaches", response_model=None, tags=["sla"], summary="Open cases past their commitment",
    responses={200: {"model": CasePage}, **problems(400, 401, 403)},
)
def breaches(
    ctx: CtxDep, actor: ActorDep,
    org: Annotated[str | None, Query(max_length=64, pattern=TEXT)] = None,
    item: Annotated[str | None, Query(max_length=128, pattern=TEXT)] = None,
    item_id: ItemIdAlias = None,
    level: Annotated[str | None, Query(pattern="^(overdue|over_statutory|deemed_accepted)$")] = None,
    limit: Annotated[int | None, Query(ge=1, le=10_000)] = None,
    cursor: Annotated[str | None, Query(max_length=200, pattern=TEXT)] = None,
) -> Response:
    """Open cases overdue (past the commitment) or over the statutory limit, and those deemed
    accepted because no 一次性告知 came within its period (``deemed_accepted``, 行政许可法第三十二条:
    listed first, whatever their clocks), worst first."""
    require_role(actor, ctx.settings.board_roles, "the breach list")
    filters: dict[str, Any] = {"open": True}
    if org:
        filters["org"] = clean_text(org, "org")
    if item or item_id:
        filters["item_id"] = one_item(item, item_id)
    size = min(limit or ctx.settings.page_size, ctx.settings.max_page_size)
    # only the rows up to this page (and one more: is there a next page?) from each level, in
    # opened order through the partial index ix_cases_open_breaches (issue 10: 1M open cases)
    filters.update(order="opened", limit=min(offset_of(cursor) + size + 1, 2**62))
    cases = []
    for lvl in BREACH_LEVELS if level is None else (level,):
        cases += ctx.engine.list_cases(actor, sla=lvl, **filters)
    cases.sort(key=lambda c: (BREACH_LEVELS.index(c.sla) if c.sla in BREACH_LEVELS else 9, c.opened_at, c.id))
    chunk, nxt = page_by_offset(cases, cursor, size)
    return page([case_json(c) for c in chunk], nxt)


# --- definitions ----------------------------------------------------------------------------------


@router.get(
    "/definitions", response_model=None, tags=["definitions"], summary="The loaded items and case types",
    responses={200: {"model": DefinitionPage}, **problems(401)},
)
def definitions(ctx: CtxDep, actor: ActorDep) -> Response:
    """The newest version of each definition (``GET /api/definitions/{id}?version=`` for others)."""
    latest: dict[str, Any] = {}
    for d in ctx.engine.definitions():
        latest[d.id] = d  # sorted by id then version: the last one wins
    return page([definition_summary(d) for d in latest.values()], None)


def _definition(ctx: Any, item_id: str, version: int | None) -> Any:
    return ctx.engine.definition(clean_text(item_id, "item_id"), version)


@router.get(
    "/definitions/{item_id}", response_model=None, tags=["definitions"], summary="One definition",
    responses={200: {"model": DefinitionOut}, **problems(400, 401, 404)},
)
def definition(
    ctx: CtxDep, actor: ActorDep, item_id: ItemId,
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> Response:
    d = _definition(ctx, item_id, version)
    versions = [x.version for x in ctx.engine.definitions() if x.id == d.id]
    return json_response(definition_detail(d, versions, ctx.engine.settings.escalation.ladder))


@router.get(
    "/definitions/{item_id}/diagram", response_model=None, tags=["definitions"],
    summary="The definition as a Mermaid state diagram",
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                     "description": "Mermaid stateDiagram-v2 text"}, **problems(400, 401, 404)},
)
def diagram(
    ctx: CtxDep, actor: ActorDep, item_id: ItemId,
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> Response:
    """States, transitions (with roles, required data and extensions), pauses and clocks."""
    text = mermaid(_definition(ctx, item_id, version))
    return Response(text, media_type="text/plain; charset=utf-8")


# --- calendar -------------------------------------------------------------------------------------


@router.get(
    "/calendar", response_model=None, tags=["calendar"], summary="Known, overridden and provisional years",
    responses={200: {"model": CalendarOut}, **problems(401)},
)
def calendar(ctx: CtxDep, actor: ActorDep) -> Response:
    return json_response(calendar_view(ctx.engine, ctx.engine.today(), actor))


@router.post(
    "/calendar", response_model=None, tags=["calendar"], summary="Load a year's override (root admin)",
    responses={200: {"model": CalendarLoaded}, **problems(400, 401, 403, 409)}, openapi_extra=scope(OFFICE),
)
async def load_calendar(ctx: CtxDep, actor: ActorDep, body: CalendarOverrideIn) -> Response:
    """Load one year's State Council notice; open cases whose deadlines it moves are recomputed,
    each with an audit event naming the caller.

    Scope: the whole office. Needs the admin role at the root of the org tree (420000 in Hubei);
    the admin of a city or any org below the root gets 403 and nothing changes (the calendar
    counts every org's deadlines)."""
    require_root_admin(ctx.engine.orgs, actor, "loading a calendar override", ctx.settings.admin_roles)
    doc = {
        "year": body.year, "source": clean_text(body.source, "source").strip(),
        "holidays": [d.isoformat() for d in body.holidays],
        "workdays": [d.isoformat() for d in body.workdays],
    }
    from adapters.calendar import law_warnings, parse_override

    override = parse_override(doc, "request body")  # every problem at once, before anything changes
    with tempfile.TemporaryDirectory(prefix="caseclock-calendar-") as tmp:
        path = FilePath(tmp) / f"calendar-{body.year}.yaml"
        path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
        changed = await write(ctx, ctx.engine.load_calendar, path, actor)
    return json_response({"year": body.year, "source": doc["source"], "recomputed": changed,
                          "calendar": calendar_view(ctx.engine, ctx.engine.today(), actor),
                          "warnings": law_warnings(override)})
