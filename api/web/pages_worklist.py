"""The clerk's worklist and the case search."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from . import present
from .common import (
    P,
    Visit,
    _counts,
    _latest,
    _row,
    _scope_orgs,
    decorators,
    render,
)

router = APIRouter(include_in_schema=False)
page, posted = decorators(router)


# --- the clerk's pages ---------------------------------------------------------------------------


@page(P + "/worklist")
def worklist(v: Visit) -> Response:
    request = v.request
    rows = [_row(v, c) for c in v.engine.worklist(v.actor)]
    return render(request, "worklist.html.j2", v, rows=rows, counts=_counts(v, rows))


@page(P + "/cases")
def case_list(v: Visit) -> Response:
    request = v.request
    q = request.query_params
    filters: dict[str, Any] = {}
    org, item, sla, state = q.get("org") or "", q.get("item") or "", q.get("sla") or "", q.get("state") or "open"
    if org and org in v.engine.orgs:
        filters["org"] = org
    if item:
        filters["item_id"] = item
    if sla in present.SLA_LABELS:
        filters["sla"] = sla
    if state in ("open", "closed"):
        filters["open"] = state == "open"
    filters["limit"] = 500
    cases = v.engine.list_cases(v.actor, **filters)
    number = (q.get("number") or "").strip()
    if number:
        cases = [c for c in cases if number.lower() in c.number.lower()]
    return render(request, "cases.html.j2", v, rows=[_row(v, c) for c in cases], orgs=_scope_orgs(v),
                  items=_latest(v), f={"org": org, "item": item, "sla": sla, "state": state, "number": number})


