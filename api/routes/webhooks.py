"""Change-webhook subscribers, managed by the root admin (admin role at the root org of the tree).

    GET    /api/webhooks          the subscribers (never their secrets)
    POST   /api/webhooks          add one: 201, its secret shown once
    GET    /api/webhooks/{id}     one subscriber
    DELETE /api/webhooks/{id}     remove it: 204

What a subscriber receives, and how to check the signature: docs/changes.md. Every route is
office-wide (``x-scope: office``, api/scope.py): a subscriber may follow every org's events.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from adapters.changes import CursorError
from adapters.webhooks import new_subscriber, subscribers_for
from workflow.authority import require_root_admin as _require_root_admin
from workflow.errors import UnknownItem
from workflow.model import Actor

from ..deps import ActorDep, CtxDep, clean_text, json_response, read, write
from ..schemas import TEXT, problems
from ..scope import OFFICE, scope
from .changes import InvalidQuery

router = APIRouter(prefix="/api", tags=["changes"])
SubId = Annotated[str, Path(max_length=64, pattern=TEXT, description="the subscriber's id")]


class WebhookCreate(BaseModel):
    """A subscriber: where to POST, and which events (all the filters must hold)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000, pattern=r"^https?://[^\x00-\x20]+$",
                     examples=["https://oa.example.cn/caseclock/changes"])
    item_id: str | None = Field(default=None, max_length=128, pattern=TEXT, description="only this item's events")
    org: str | None = Field(default=None, max_length=64, pattern=TEXT, description="only this org and the orgs under it")
    kinds: list[Annotated[str, Field(max_length=64, pattern=TEXT)]] = Field(
        default_factory=list, max_length=32, description="only these event kinds (opened, transition, escalation, …)")
    secret: str | None = Field(default=None, min_length=16, max_length=255, pattern=TEXT,
                               description="the HMAC key (default: one is made and shown once)")
    since: str | None = Field(default=None, max_length=40, pattern=TEXT,
                              description="a feed cursor: deliver the events after it (default: from now on)")
    note: str = Field(default="", max_length=255, pattern=TEXT)


def require_root_admin(ctx: Any, actor: Actor) -> None:
    _require_root_admin(ctx.engine.orgs, actor, "managing webhook subscribers", ctx.settings.admin_roles)


_SCOPE = ("\n\nScope: the whole office. Needs the admin role at the root of the org tree (420000 in "
          "Hubei); the admin of a city or any org below the root gets 403 and nothing changes (a "
          "subscriber may follow every org's events).")


@router.get("/webhooks", response_model=None, summary="Change-webhook subscribers (root admin)",
            responses={200: {"description": "{items}"}, **problems(401, 403)},
            description="The subscribers, never their secrets." + _SCOPE, openapi_extra=scope(OFFICE))
async def list_webhooks(ctx: CtxDep, actor: ActorDep) -> Response:
    require_root_admin(ctx, actor)
    subs = await read(subscribers_for(ctx.engine.store).all)
    return json_response({"items": [s.to_dict() for s in subs], "next": None})


@router.post("/webhooks", status_code=201, response_model=None, summary="Add a change-webhook subscriber (root admin)",
             responses={201: {"description": "the subscriber, with its secret (shown once)"},
                        **problems(400, 401, 403, 422)},
             description="Add a subscriber: its secret is shown once, in this answer." + _SCOPE,
             openapi_extra=scope(OFFICE))
async def add_webhook(ctx: CtxDep, actor: ActorDep, body: WebhookCreate) -> Response:
    require_root_admin(ctx, actor)
    try:
        sub = await write(
            ctx, new_subscriber, ctx.engine, clean_text(body.url, "url"), created_by=actor.id,
            item_id=body.item_id or None, org=body.org or None, kinds=body.kinds, secret=body.secret,
            since=body.since if body.since else None, note=body.note,
        )
    except UnknownItem as exc:
        raise InvalidQuery("item_id", str(exc)) from None
    except CursorError as exc:
        raise InvalidQuery("since", str(exc)) from None
    return json_response(sub.to_dict(secret=True), 201, {"Location": f"/api/webhooks/{sub.id}"})


@router.get("/webhooks/{sub_id}", response_model=None, summary="One change-webhook subscriber (root admin)",
            responses={200: {"description": "the subscriber"}, **problems(401, 403, 404)},
            description="One subscriber, without its secret." + _SCOPE, openapi_extra=scope(OFFICE))
async def get_webhook(ctx: CtxDep, actor: ActorDep, sub_id: SubId) -> Response:
    require_root_admin(ctx, actor)
    sub = await read(subscribers_for(ctx.engine.store).get, sub_id)
    if sub is None:
        raise UnknownItem(f"no webhook subscriber {sub_id!r}")
    return json_response(sub.to_dict())


@router.delete("/webhooks/{sub_id}", status_code=204, response_model=None,
               summary="Remove a change-webhook subscriber (root admin)",
               responses={204: {"description": "removed"}, **problems(401, 403, 404)},
               description="Remove a subscriber: nothing more is sent to it." + _SCOPE,
               openapi_extra=scope(OFFICE))
async def remove_webhook(ctx: CtxDep, actor: ActorDep, sub_id: SubId) -> Response:
    require_root_admin(ctx, actor)
    if not await write(ctx, subscribers_for(ctx.engine.store).remove, sub_id):
        raise UnknownItem(f"no webhook subscriber {sub_id!r}")
    return Response(status_code=204)
