"""Opening a case: the form of the items an org offers and its submission."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from fastapi import APIRouter
from starlette.datastructures import FormData
from starlette.responses import Response

from workflow.definition import Definition
from workflow.errors import UnknownItem, WorkflowError

from . import present
from .common import (
    P,
    Visit,
    _go,
    _latest,
    _scope_orgs,
    _text,
    decorators,
    error_page,
    render,
)

router = APIRouter(include_in_schema=False)
page, posted = decorators(router)


# -- opening --------------------------------------------------------------------------------------


def _opening_fields(v: Visit, defn: Definition) -> tuple[Any, ...]:
    """What an opening asks for: the item's fields and, for a bundle (one application), each
    child's fields it does not already have."""
    fields = list(defn.fields)
    names = {f.name for f in fields}
    for child in defn.children:
        for f in v.engine.definition(child).fields:
            if f.name not in names:
                fields.append(f)
                names.add(f.name)
    return tuple(fields)


def _new_case_page(v: Visit, item: str | None, status: int = 200, error: str = "",
                   values: dict[str, Any] | None = None, field_errors: dict[str, str] | None = None) -> Response:
    defn = None
    if item:
        try:
            defn = v.engine.definition(item)
        except UnknownItem:
            return error_page(v.request, v, 404, "没有这个事项", f"没有事项 {item}")
    inputs = present.opening_inputs(defn, _opening_fields(v, defn)) if defn else []
    children = [v.engine.definition(c) for c in defn.children] if defn and defn.kind == "bundle" else []
    return render(v.request, "new_case.html.j2", v, status=status, items=_latest(v), defn=defn,
                  inputs=inputs, children=children, orgs=_scope_orgs(v), error=error,
                  values=values or {}, idem=secrets.token_urlsafe(12), field_errors=field_errors or {})


@page(P + "/cases/new")
def new_case(v: Visit) -> Response:
    request = v.request
    return _new_case_page(v, request.query_params.get("item"))


@posted(P + "/cases/new")
def _open_case(v: Visit, form: FormData) -> Response:
    request = v.request
    item = _text(form, "item", 128)
    try:
        defn = v.engine.definition(item)
    except UnknownItem:
        return error_page(request, v, 404, "没有这个事项", f"没有事项 {item}")
    inputs = present.opening_inputs(defn, _opening_fields(v, defn))
    data = present.form_values(inputs, form)
    started = _text(form, "started_on", 10)
    org = _text(form, "org", 64) or v.actor.org
    values = {k: form.get(k) for k in form.keys() if k != "csrf"}
    try:
        started_on = date.fromisoformat(started) if started else None
    except ValueError:
        return _new_case_page(v, item, 422, "法定起算日应为日期（YYYY-MM-DD）", values, {"started_on": "应为日期"})
    try:
        case = v.engine.open_case(
            item, actor=v.actor, data=data, org=org, started_on=started_on,
            reason=_text(form, "reason") or None,
            idempotency_key=f"web:{v.actor.id}:{_text(form, 'idem', 64)}" if _text(form, "idem", 64) else None,
        )
    except WorkflowError as exc:
        labels = {i.name: i.label for i in inputs} | {"started_on": "法定起算日", "reason": "补录理由"}
        status = 403 if exc.__class__.__name__ == "Forbidden" else 422
        return _new_case_page(v, item, status, present.explain(exc, labels), values, present.field_messages(exc))
    return _go(f"{P}/cases/{case.id}", done="opened")


