"""The clerk's worklist and the case search."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.responses import Response

from workflow.search import MAX_QUERY

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
    ordered = {o.case_id for o in v.engine.orders(v.actor, status="open")}  # 督办 awaiting a reply
    for r in rows:
        r["ordered"] = r["case"].id in ordered
    counts = _counts(v, rows)
    counts["ordered"] = sum(r["ordered"] for r in rows)
    return render(request, "worklist.html.j2", v, rows=rows, counts=counts)


PAGE_SIZE = 50  # cases a page of the case search shows
_CURSOR = re.compile(r"^[0-9A-Za-z_-]{1,64}$")  # a case id, as the engine gives them


@page(P + "/cases")
def case_list(v: Visit) -> Response:
    """案件查询: the store's search (``q``: a number or part of one, a party's or applicant's
    name) with the filters, open and closed cases alike unless 办结情况 says otherwise, a page
    of ``PAGE_SIZE`` at a time in opening order (``after``: the last case of the page before)."""
    request = v.request
    q = request.query_params
    text = (q.get("q") or q.get("number") or "").strip()  # number=: links of before
    filters: dict[str, Any] = {}
    org, item, sla, state = q.get("org") or "", q.get("item") or "", q.get("sla") or "", q.get("state") or "all"
    if org and org in v.engine.orgs:
        filters["org"] = org
    if item:
        filters["item_id"] = item
    if sla in present.SLA_LABELS:
        filters["sla"] = sla
    if state in ("open", "closed"):
        filters["open"] = state == "open"
    if len(text) > MAX_QUERY:  # refused, as the API refuses it (400), and said so: never cut silently
        f = {"org": org, "item": item, "sla": sla, "state": state, "q": text}
        return render(request, "cases.html.j2", v, rows=[], orgs=_scope_orgs(v), items=_latest(v), f=f,
                      pages={"number": 1, "count": 0, "next": None, "first": None}, status=400,
                      error=f"查询内容过长：最多 {MAX_QUERY} 个字符，现有 {len(text)} 个。请缩短后再查询。")
    after = q.get("after") or ""
    after = after if _CURSOR.match(after) else ""
    try:
        number = max(1, min(int(q.get("p") or 1), 10**9)) if after else 1
    except ValueError:
        number = 1
    cases = v.engine.list_cases(v.actor, q=text or None, after=after or None, limit=PAGE_SIZE + 1, **filters)
    more = len(cases) > PAGE_SIZE
    cases = cases[:PAGE_SIZE]
    f = {"org": org, "item": item, "sla": sla, "state": state, "q": text}
    kept = {k: val for k, val in f.items() if val}
    pages = {
        "number": number, "count": len(cases),
        "next": (P + "/cases?" + urlencode({**kept, "after": cases[-1].id, "p": number + 1})) if more else None,
        "first": (P + "/cases?" + urlencode(kept)) if after else None,
    }
    return render(request, "cases.html.j2", v, rows=[_row(v, c) for c in cases], orgs=_scope_orgs(v),
                  items=_latest(v), f=f, pages=pages)
