"""督办 (supervision orders, workflow/orders.py): a supervisor or leader orders a case's handlers
to act and reply within a number of working days; the handlers reply; the office lists them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from workflow.orders import MAX_DAYS, MAX_TEXT, MIN_DAYS, STATUSES, Order

from ..deps import (
    ActorDep,
    CtxDep,
    clean_text,
    decode_cursor,
    encode_cursor,
    json_response,
    page,
    read,
    write,
)
from ..problems import BadRequest
from ..schemas import TEXT, problems
from ..scope import CASE, scope
from .cases import CaseId, Cursor, IdempotencyKey, _idem_key, _limit

router = APIRouter(prefix="/api", tags=["orders"])
OrderId = Annotated[str, Path(max_length=64, pattern=TEXT, description="the order's id")]


# text the engine takes: not blank (a character other than white space), at most MAX_TEXT, no NUL
_TEXT_SCHEMA: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT, "pattern": r"^[^\x00]*\S[^\x00]*$"}


class OrderIn(BaseModel):
    """What a supervisor orders. Values are checked by the engine: a missing or blank ``reason``
    or ``action``, or a ``reply_days`` that is not a whole number in range, is a 422 naming it."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"required": ["reason", "action", "reply_days"]})
    reason: Any = Field(default=None, description="督办事由: why the case is supervised (1–1000 characters)",
                        json_schema_extra=_TEXT_SCHEMA)
    action: Any = Field(default=None, description="要求: what the handlers must do (1–1000 characters)",
                        json_schema_extra=_TEXT_SCHEMA)
    reply_days: Any = Field(default=None, description=f"答复期限: working days to reply, {MIN_DAYS}–{MAX_DAYS}, "
                            "counted on the office's calendar from the day after issuing",
                            json_schema_extra={"type": "integer", "minimum": MIN_DAYS, "maximum": MAX_DAYS})


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"required": ["text"]})
    text: Any = Field(default=None, description="the reply (答复), 1–1000 characters",
                      json_schema_extra=_TEXT_SCHEMA)


class OrderOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    case_id: str
    number: str
    org: str
    reason: str
    action: str
    reply_days: int
    due: str = Field(description="the reply's last day (YYYY-MM-DD)")
    due_at: str = Field(description="the instant it is overdue (24:00 of the last day)")
    status: str = Field(description="open | answered | lapsed (the case closed while it was open)")
    status_label: str
    overdue: bool


class OrderPage(BaseModel):
    items: list[OrderOut]
    next: str | None = None


def _text(value: Any, field: str) -> Any:
    return clean_text(value, field) if isinstance(value, str) else value


def order_json(order: Order, now: Any) -> dict[str, Any]:
    return order.to_dict(now)


@router.post(
    "/cases/{case_id}/orders", status_code=201, response_model=None, summary="Issue a supervision order (督办)",
    responses={201: {"model": OrderOut}, **problems(400, 401, 403, 404, 409, 422)},
    openapi_extra=scope(CASE),
)
async def issue(ctx: CtxDep, actor: ActorDep, case_id: CaseId, body: OrderIn,
                idempotency_key: IdempotencyKey = None) -> Response:
    """A supervisor or leader orders the case's handlers to act (``action``) for a ``reason`` and
    to reply within ``reply_days`` working days. 201 with the order: ``id``, ``due`` (the last day
    to reply) and ``status: "open"``. Other roles: 403. Unanswered after its last day, the order
    escalates to the leaders once (the sweep). ``Idempotency-Key`` replays the first result.

    Scope: one case in the caller's org subtree; a case outside it is 404."""
    case_id = clean_text(case_id, "case_id")
    order = await write(ctx, ctx.engine.issue_order, case_id, actor=actor, reason=_text(body.reason, "reason"),
                        action=_text(body.action, "action"), reply_days=body.reply_days,
                        idempotency_key=_idem_key(actor, idempotency_key))
    return json_response(order_json(order, ctx.engine.now()), 201,
                         {"Location": f"/api/cases/{order.case_id}/orders/{order.id}"})


@router.post(
    "/cases/{case_id}/orders/{order_id}/reply", response_model=None, summary="Reply to a supervision order",
    responses={200: {"model": OrderOut}, **problems(400, 401, 403, 404, 409, 422)},
    openapi_extra=scope(CASE),
)
async def reply(ctx: CtxDep, actor: ActorDep, case_id: CaseId, order_id: OrderId,
                body: Annotated[ReplyIn, Body()], idempotency_key: IdempotencyKey = None) -> Response:
    """A clerk or examiner of the case's own org replies (``text``): 200, ``status: "answered"``.
    Other roles: 403; another org (even one above): 404; an order answered already, or lapsed
    (its case closed: 已失效（案件已办结）): 409.

    Scope: one case in the caller's org subtree; a case outside it is 404."""
    case_id, order_id = clean_text(case_id, "case_id"), clean_text(order_id, "order_id")
    order = await write(ctx, ctx.engine.answer_order, case_id, order_id, actor=actor,
                        text=_text(body.text, "text"), idempotency_key=_idem_key(actor, idempotency_key))
    return json_response(order_json(order, ctx.engine.now()))


@router.get(
    "/cases/{case_id}/orders", response_model=None, summary="A case's supervision orders",
    responses={200: {"model": OrderPage}, **problems(400, 401, 404)}, openapi_extra=scope(CASE),
)
async def of_case(ctx: CtxDep, actor: ActorDep, case_id: CaseId) -> Response:
    """Every order on the case, oldest first.

    Scope: one case in the caller's org subtree; a case outside it is 404."""
    found = await read(ctx.engine.case_orders, clean_text(case_id, "case_id"), actor)
    now = ctx.engine.now()
    return page([order_json(o, now) for o in found], None)


@router.get(
    "/orders", response_model=None, summary="Supervision orders in my org subtree",
    responses={200: {"model": OrderPage}, **problems(400, 401, 422)},
)
async def list_orders(
    ctx: CtxDep, actor: ActorDep,
    status: Annotated[str | None, Query(pattern="^(" + "|".join(STATUSES) + ")$",
                                        description="open | answered | lapsed")] = None,
    org: Annotated[str | None, Query(max_length=64, pattern=TEXT, description="an org code: that org and the orgs under it")] = None,
    limit: Annotated[int | None, Query(ge=1, le=10_000, description="orders per page (default 50, at most 500)")] = None,
    cursor: Cursor = None,
) -> Response:
    """Orders on the cases of the caller's org and the orgs under it (a supervisor or leader sees
    their subtree), oldest first, a page at a time (``next``: pass it as ``cursor``); ``overdue``
    says whether the reply's last day has passed unanswered (or it was answered late). An ``org``
    outside the caller's subtree lists nothing."""
    size = _limit(ctx, limit)
    found = await read(ctx.engine.orders, actor, status=status, org=clean_text(org, "org") if org else None,
                       limit=size + 1, after=_after(cursor))
    nxt = (encode_cursor({"t": found[size - 1].issued_at.isoformat(), "i": found[size - 1].id})
           if len(found) > size else None)
    now = ctx.engine.now()
    return page([order_json(o, now) for o in found[:size]], nxt)


def _after(cursor: str | None) -> tuple[datetime, str] | None:
    """The (issued_at, id) a ``next`` names (400 for one this API did not hand out)."""
    data = decode_cursor(cursor)
    if not data:
        return None
    at, oid = data.get("t"), data.get("i")
    try:
        if not isinstance(at, str) or not isinstance(oid, str):
            raise ValueError
        when = datetime.fromisoformat(at)
        if when.tzinfo is None:
            raise ValueError
    except ValueError:
        raise BadRequest("cursor is not one this API handed out", "cursor") from None
    return when, oid
