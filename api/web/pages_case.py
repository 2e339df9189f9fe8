"""The case page and its actions: firing triggers, office operations, attachments and the documents a case issues."""

from __future__ import annotations

import dataclasses
import functools
import secrets
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, Response

from workflow.authority import reserved_to_engine
from workflow.errors import CaseNotFound, Forbidden, TransitionNotAllowed, WorkflowError
from workflow.orders import (
    ISSUERS,
    LAPSED,
    MAX_DAYS,
    MIN_DAYS,
    OPEN,
    REPLIERS,
    STATUS_LABELS,
    Order,
)

from . import history, present
from .common import (
    DOC_CSP,
    P,
    Visit,
    _check,
    _go,
    _headers,
    _int,
    _row,
    _text,
    _visit,
    decorators,
    error_page,
    render,
)

router = APIRouter(include_in_schema=False)
page, posted = decorators(router)


# -- the case page --------------------------------------------------------------------------------


def _ops(v: Visit) -> Any:
    """The receipts/documents renderer and the attachments of the case-operations routes."""
    from api.routes_ops import configure, ops_from_env

    app = v.request.app
    ops = getattr(app.state, "ops", None)
    if ops is None:
        ops = ops_from_env(v.engine)
        configure(app, ops)
    return ops


def _case_and_definition(v: Visit, case_id: str) -> tuple[Any, Any] | Response:
    """The case the visitor may see and its definition, or the 404 page."""
    try:
        case = v.engine.get_case(case_id, v.actor)
    except CaseNotFound:
        return error_page(v.request, v, 404, "找不到案件", "找不到该案件，或该案件不在您的管辖范围内。")
    return case, v.engine.definition(case.item_id, case.definition_version)


def _case_page(v: Visit, case_id: str, *, status: int = 200, errors: dict[str, str] | None = None,
               values: dict[str, Any] | None = None, field_errors: dict[str, dict[str, str]] | None = None,
               case_orders: list[Order] | None = None) -> Response:
    """``case_orders``: the case's orders where the caller has just read them (else read here)."""
    e = v.engine
    found = _case_and_definition(v, case_id)
    if isinstance(found, Response):
        return found
    case, defn = found
    events = e.history(case_id, v.actor)
    allowed = e.available_triggers(case_id, actor=v.actor)
    actions: list[dict[str, Any]] = []
    others: list[dict[str, Any]] = []
    for t in defn.transitions_from(case.state):
        if t.trigger in allowed:
            if t.trigger not in [a["t"].trigger for a in actions]:
                inputs, final = _action_inputs(defn, t, case.data)
                actions.append({"t": t, "inputs": inputs, "final": final})
        elif not reserved_to_engine(defn, t):  # the engine's own fire by themselves: not listed
            why = (f"需要{present.role_names(t.roles)}办理" if not v.actor.has_any(t.roles)
                   else "当前不能办理（如延期已达上限或法定期限已过）")
            others.append({"t": t, "why": why})
    labels = {t.trigger: (t.label or t.trigger) for t in defn.transitions}
    ops = _ops(v)
    try:
        attachments = ops.attachments.list(case_id, actor=v.actor)
    except WorkflowError:
        attachments = []
    children = []
    for cid in case.children:
        try:
            children.append(_row(v, e.get_case(cid, v.actor)))
        except CaseNotFound:
            continue
    parent = None
    if case.parent_id:
        try:
            parent = e.get_case(case.parent_id, v.actor)
        except CaseNotFound:
            parent = None
    last = next((ev for ev in reversed(events) if ev.kind in ("transition", "corrected")), None)
    correctable = last if last is not None and last.kind == "transition" else None
    people = [p for p in v.web.accounts.all()
              if p.active and p.org == case.org and p.roles.intersection(("clerk", "examiner"))] if v.is_boss else []
    clocks = []
    rank = {"running": 0, "paused": 1, "stopped": 2, "not_started": 3}
    ordered = sorted(case.clocks.values(), key=lambda c: (rank.get(c.status, 9), c.name != case.main_clock))
    today = e.today()
    for c in ordered:
        clocks.append({"c": c, "level": present.clock_level(case, c), "bar": present.clock_bar(c),
                       "spans": present.span_positions(c),
                       "commit_at": present.strip_position(c, c.commitment_due),
                       "today_at": present.strip_position(c, today) if c.status != "stopped" else None,
                       "left": present.days_left(c, today), "statutory": present.statutory_text(c),
                       "ahead": present.not_started_yet(c, today)})
    # the special procedure (特别程序) its clock belongs to: the step that started the latest one
    procedure = next((ev.data["special_procedure"] for ev in reversed(events)
                      if ev.kind == "transition" and isinstance(ev.data.get("special_procedure"), dict)), None)
    field_labels = {f.name: (f.label or f.name) for f in defn.fields}
    for t in defn.transitions:
        for f in t.fields:
            field_labels.setdefault(f.name, f.label or f.name)
    entries = history.timeline(events, defn, case, who=v.who, org_name=v.org_name)
    if case_orders is None:
        case_orders = e.case_orders(case_id, v.actor)
    orders: list[dict[str, Any]] = [{"o": o, "overdue": o.overdue_at(e.now())} for o in case_orders]
    may_order = v.actor.has_any(ISSUERS) and not case.final
    may_reply = v.actor.has_any(REPLIERS) and v.actor.org == case.org
    forms = {a["t"].trigger for a in actions} | ({"op:order"} if may_order else set()) | (
        {f"reply:{k['o'].id}" for k in orders if k["o"].status == OPEN} if may_reply else set())
    return render(
        v.request, "case.html.j2", v, status=status, case=case, defn=defn, events=events, labels=labels,
        timeline=entries, data_rows=history.data_rows(case, defn, events, functools.partial(_fields_elsewhere, e, defn)),
        actions=actions, others=others, errors=errors or {}, values=values or {}, clocks=clocks, procedure=procedure,
        field_errors=field_errors or {},
        attachments=attachments, documents=ops.documents.available(case, defn, events),
        children=children, parent=parent, correctable=correctable, people=people,
        orgs=[o for o in e.orgs if o.code != case.org], field_labels=field_labels,
        org_name=v.org_name(case.org), idem=secrets.token_urlsafe(12), orders=orders,
        may_order=may_order, may_reply=may_reply, order_days=(MIN_DAYS, MAX_DAYS),
        unseen=_unseen(errors or {}, forms, labels),
    )


def _fields_elsewhere(e: Any, defn: Any) -> dict[str, Any]:
    """Field name → its spec in the other loaded definitions (the first that declares it with a
    label): how the case page labels data this item does not declare."""
    out: dict[str, Any] = {}
    # a 一件事 that opens this item first: its form is where the data came from
    for d in sorted(e.registry.all(), key=lambda d: defn.id not in getattr(d, "children", ())):
        if d.id == defn.id:
            continue
        for f in [*d.fields, *(f for t in d.transitions for f in t.fields)]:
            if f.label and f.name not in out:
                out[f.name] = f
    return out


def _unseen(errors: dict[str, str], forms: set[str], labels: dict[str, str]) -> list[str]:
    """The refusals of forms the page no longer shows (the order answered or lapsed, a step or an
    order the person may not take, the case closed), said at the top of the page instead."""
    out = []
    for key, message in errors.items():
        if key in forms:
            continue
        if key == "op:order":
            out.append(f"未能督办：{message}")
        elif key.startswith("reply:"):
            out.append(f"未能答复：{message}")
        elif ":" not in key:  # a step (办理)
            out.append(f"未能办理“{labels.get(key, key)}”：{message}")
    return out


REASON = present.Input("reason", "理由", "text", True, maxlength=present.MAX_LENGTH["text"])


def _action_inputs(defn: Any, t: Any, data: Any = None) -> tuple[list[Any], bool]:
    """A transition's form controls, and whether it is a final action (its destination closes the
    case: withdraw, refuse, close, …). A final action always asks for a reason (the transition's own
    ``reason`` field, else one of the page's, recorded with the step) and a confirmation. The case
    fields the step requires and the case (``data``) lacks are asked for too (受理 needs them)."""
    inputs = present.transition_inputs(t, defn, data)
    dest = defn.states.get(t.dest)
    final = bool(dest is not None and dest.final)
    if final:
        own = next((i for i in inputs if i.name == "reason"), None)
        if own is None:
            inputs.append(REASON)
        elif not own.required:
            inputs[inputs.index(own)] = dataclasses.replace(own, required=True)
    return inputs, final


def _final_refusal(inputs: list[Any], form: FormData, data: dict[str, Any]) -> str | None:
    """Why the page does not take a final action yet (no confirmation, no reason), or None."""
    problems = []
    if form.get("confirm") != "yes":
        problems.append("请勾选确认（此操作将办结案件）")
    reason = next((i for i in inputs if i.name == "reason"), REASON)
    if not str(data.get("reason") or "").strip():
        problems.append(f"{reason.label}：必填")
    return "；".join(problems) if problems else None


@page(P + "/cases/{case_id}")
def case_page(v: Visit, case_id: str) -> Response:
    return _case_page(v, case_id[:128])


@posted(P + "/cases/{case_id}/fire/{trigger}")
def _fire(v: Visit, form: FormData, case_id: str, trigger: str) -> Response:
    e = v.engine
    found = _case_and_definition(v, case_id)
    if isinstance(found, Response):
        return found
    case, defn = found
    t = defn.transition(trigger, case.state)
    inputs, final = _action_inputs(defn, t, case.data) if t is not None else ([], False)
    data = present.form_values(inputs, form)
    idem = _text(form, "idem", 64)
    if final and (why := _final_refusal(inputs, form, data)) is not None:
        values = {trigger: {k: form.get(k) for k in form.keys()}}
        reason_missing = not str(data.get("reason") or "").strip()
        return _case_page(v, case_id, status=422, errors={trigger: f"未办理，{why}"}, values=values,
                          field_errors={trigger: {"reason": "必填"} if reason_missing else {}})
    try:
        e.fire(case_id, trigger, actor=v.actor, data=data, expected_version=_int(form.get("version")),
               idempotency_key=f"web:{v.actor.id}:{idem}" if idem else None)
    except WorkflowError as exc:
        labels = {i.name: i.label for i in inputs}
        status = {"Forbidden": 403, "VersionConflict": 409, "TransitionNotAllowed": 409}.get(
            exc.__class__.__name__, 422)
        values = {trigger: {k: form.get(k) for k in form.keys()}}
        words = present.explain(exc, labels)
        if isinstance(exc, Forbidden):
            words = f"无权进行此操作：{words}"
        return _case_page(v, case_id, status=status, errors={trigger: words}, values=values,
                          field_errors={trigger: present.field_messages(exc)})
    return _go(f"{P}/cases/{case_id}", done="fired")


def _operation(v: Visit, form: FormData, case_id: str, what: str) -> Response:
    request = v.request
    e = v.engine
    version = _int(form.get("version"))
    reason = _text(form, "reason")
    try:
        if what == "assign":
            e.assign(case_id, _text(form, "assignee", 128) or None, actor=v.actor, expected_version=version,
                     reason=reason or None)
        elif what == "transfer":
            case = e.transfer(case_id, _text(form, "to_org", 64), actor=v.actor, reason=reason,
                              expected_version=version)
            if not e.orgs.covers(v.actor.org, case.org):
                return _go(P + "/", done="transferred")
        else:
            e.correct(case_id, actor=v.actor, reason=reason, expected_version=version)
    except WorkflowError as exc:
        status = {"Forbidden": 403, "VersionConflict": 409, "TransitionNotAllowed": 409,
                  "CaseNotFound": 404}.get(exc.__class__.__name__, 422)
        if isinstance(exc, CaseNotFound):
            return error_page(request, v, 404, "找不到案件", "找不到该案件，或该案件不在您的管辖范围内。")
        if not v.is_boss:  # the form is not on this person's page: say so on a page of its own
            return error_page(request, v, status, "没有权限", present.explain(exc))
        labels = {"reason": "理由", "to_org": "移送单位", "assignee": "承办人"}
        return _case_page(v, case_id, status=status, errors={f"op:{what}": present.explain(exc, labels)},
                          values={f"op:{what}": {k: form.get(k) for k in form.keys()}})
    return _go(f"{P}/cases/{case_id}", done={"assign": "assigned", "transfer": "transferred",
                                               "correct": "corrected"}[what])


for _what in ("assign", "transfer", "correct"):
    posted(P + "/cases/{case_id}/" + _what)(functools.partial(_operation, what=_what))


ORDER_LABELS = {"reason": "督办事由", "action": "要求", "reply_days": "答复期限（工作日）", "text": "答复"}


def _order_refused(v: Visit, form: FormData, case_id: str, key: str, exc: WorkflowError,
                   order_id: str | None = None) -> Response:
    """The case page again with why (beside the form when it is still shown, else at the top)
    and what was typed."""
    if isinstance(exc, CaseNotFound):
        return error_page(v.request, v, 404, "找不到督办", "找不到该案件或督办，或不在您的管辖范围内。")
    status = {"Forbidden": 403, "VersionConflict": 409, "TransitionNotAllowed": 409}.get(exc.__class__.__name__, 422)
    words = present.explain(exc, ORDER_LABELS)
    case_orders = None
    if isinstance(exc, Forbidden):
        words = f"无权进行此操作（{'督办由本单位承办人答复' if order_id else '督办由科长或局领导发出'}）"
    elif isinstance(exc, TransitionNotAllowed):
        case_orders = v.engine.case_orders(case_id, v.actor)  # read once: the page shows them too
        status_now = next((o.status for o in case_orders if o.id == order_id), None)
        words = {LAPSED: f"该督办{STATUS_LABELS[LAPSED]}，不能再答复", OPEN: words}.get(
            status_now or "", "该督办已答复，不能再次答复") if order_id else "案件已办结，不能再督办"
    return _case_page(v, case_id, status=status, errors={key: words},
                      values={key: {k: form.get(k) for k in form.keys()}}, case_orders=case_orders)


def _typed(form: FormData, name: str) -> str:
    """A text field as typed (NUL removed, trimmed), never cut short: the engine refuses one over
    its limit with a 422 naming the field, and the page keeps what was typed."""
    value = form.get(name)
    return value.replace("\x00", "").strip() if isinstance(value, str) else ""


def _days(text: str) -> int | str:
    """The form's 答复期限 as a number when it is one ("3", not "00000003x"); the engine refuses
    anything else naming the field."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 4 else text


@posted(P + "/cases/{case_id}/orders")
def _order(v: Visit, form: FormData, case_id: str) -> Response:
    """督办: a supervisor or leader orders the handlers to act and reply within N working days."""
    idem = _text(form, "idem", 64)
    try:
        v.engine.issue_order(case_id, actor=v.actor, reason=_typed(form, "reason"),
                             action=_typed(form, "action"), reply_days=_days(_typed(form, "reply_days")),
                             idempotency_key=f"web:{v.actor.id}:{idem}" if idem else None)
    except WorkflowError as exc:
        return _order_refused(v, form, case_id, "op:order", exc)
    return _go(f"{P}/cases/{case_id}", done="ordered")


@posted(P + "/cases/{case_id}/orders/{order_id}/reply")
def _reply(v: Visit, form: FormData, case_id: str, order_id: str) -> Response:
    """The handler's reply to a 督办."""
    idem = _text(form, "idem", 64)
    try:
        v.engine.answer_order(case_id, order_id[:64], actor=v.actor, text=_typed(form, "text"),
                              idempotency_key=f"web:{v.actor.id}:{idem}" if idem else None)
    except WorkflowError as exc:
        return _order_refused(v, form, case_id, f"reply:{order_id[:64]}", exc, order_id[:64])
    return _go(f"{P}/cases/{case_id}", done="answered")


@posted(P + "/cases/{case_id}/clocks/{clock}/confirm-expiry")
def _confirm_expiry(v: Visit, form: FormData, case_id: str, clock: str) -> Response:
    """A clerk holds a party's period to have run out although its last day is provisional."""
    try:
        v.engine.confirm_expiry(case_id, clock, actor=v.actor, reason=_text(form, "reason"),
                                expected_version=_int(form.get("version")))
    except CaseNotFound:
        return error_page(v.request, v, 404, "找不到案件", "找不到该案件，或该案件不在您的管辖范围内。")
    except WorkflowError as exc:
        status = {"Forbidden": 403, "VersionConflict": 409, "TransitionNotAllowed": 409}.get(
            exc.__class__.__name__, 422)
        return _case_page(v, case_id, status=status,
                          errors={f"confirm:{clock}": present.explain(exc, {"reason": "理由"})},
                          values={f"confirm:{clock}": {k: form.get(k) for k in form.keys()}})
    return _go(f"{P}/cases/{case_id}", done="expiry_confirmed")


@router.post(P + "/cases/{case_id}/attachments")
async def attach(request: Request, case_id: str) -> Response:
    v = _visit(request)
    if isinstance(v, Response):
        return v
    form = await request.form(max_files=1)
    if (bad := _check(v, form)) is not None:
        return bad
    upload = form.get("file")
    ops = _ops(v)
    limit = ops.attachments.policy.max_bytes
    if upload is None or isinstance(upload, str) or not upload.filename:
        return await run_in_threadpool(_case_page, v, case_id[:128], status=422,
                                       errors={"op:attach": "请选择要上传的文件。"})
    content = await upload.read(limit + 1)
    label = _text(form, "label", 100)

    def store() -> Response:
        try:
            ops.attachments.add(case_id, upload.filename or "", content, actor=v.actor,
                                content_type=upload.content_type, label=label)
        except CaseNotFound:
            return error_page(request, v, 404, "找不到案件", "找不到该案件，或该案件不在您的管辖范围内。")
        except WorkflowError as exc:
            status = {"too_large": 413, "forbidden_type": 415}.get(getattr(exc, "reason", ""), 422)
            return _case_page(v, case_id, status=status, errors={"op:attach": f"附件未上传：{exc}"})
        return _go(f"{P}/cases/{case_id}", done="attached")

    return await run_in_threadpool(store)


@page(P + "/cases/{case_id}/attachments/{attachment_id}")
def download(v: Visit, case_id: str, attachment_id: str) -> Response:
    request = v.request
    from api.routes_ops import _disposition

    try:
        att, content = _ops(v).attachments.get(case_id[:128], attachment_id[:128], actor=v.actor)
    except WorkflowError:
        return error_page(request, v, 404, "找不到附件", "找不到该附件，或该案件不在您的管辖范围内。")
    return Response(content, media_type=att.content_type, headers={
        "Content-Disposition": _disposition("attachment", att.filename),
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


def _not_issuable(v: Visit, exc: Any) -> Response:
    return error_page(v.request, v, 409, f"现在不能出具{exc.title}", f"{exc.reason}。")


def _document(v: Visit, case_id: str, name: str, fmt: str) -> Response:
    from adapters.documents import DocumentNotIssuable, DocumentTooLarge, TemplateNotFound
    from api.routes_ops import _disposition

    e = v.engine
    found = _case_and_definition(v, case_id)
    if isinstance(found, Response):
        return found
    case, defn = found
    events = e.history(case_id, v.actor)
    docs = _ops(v).documents
    try:
        if fmt == "pdf":
            body = docs.pdf(name, case, defn, events=events, check=True)
            return Response(body, media_type="application/pdf", headers={
                "Content-Disposition": _disposition("inline", f"{docs.title(name)}-{case.number}.pdf"),
                "Cache-Control": "private, no-store"})
        page = docs.html(name, case, defn, events=events, check=True)
    except TemplateNotFound:
        return error_page(v.request, v, 404, "没有这个文书模板", f"没有文书模板 {name}")
    except DocumentNotIssuable as exc:
        return _not_issuable(v, exc)
    except DocumentTooLarge as exc:
        return error_page(v.request, v, 422, "不能生成PDF", f"{exc.reason}。")
    return HTMLResponse(page, headers=_headers(csp=DOC_CSP) | {"X-Frame-Options": "SAMEORIGIN"})


@page(P + "/cases/{case_id}/receipt")
def receipt(v: Visit, case_id: str) -> Response:
    request = v.request
    return _document(v, case_id[:128], "receipt", request.query_params.get("format", "html"))


@page(P + "/cases/{case_id}/documents/{name}")
def document(v: Visit, case_id: str, name: str) -> Response:
    request = v.request
    return _document(v, case_id[:128], name[:64], request.query_params.get("format", "html"))


@posted(P + "/cases/{case_id}/documents/{name}")
def _issue(v: Visit, form: FormData, case_id: str, name: str) -> Response:
    from adapters.documents import TemplateNotFound
    from adapters.issuance import refusal

    request = v.request
    found = _case_and_definition(v, case_id)
    if isinstance(found, Response):
        return found
    case, defn = found
    docs = _ops(v).documents
    try:
        verdict = docs.issuable(name, case, defn, v.engine.history(case_id, v.actor))
    except TemplateNotFound:
        return error_page(request, v, 404, "没有这个文书模板", f"没有文书模板 {name}")
    if not verdict.ok:
        return _not_issuable(v, refusal(verdict, case))
    try:
        v.engine.record_event(case_id, "document_issued", {"template": name, "title": verdict.title},
                              actor=v.actor)
    except CaseNotFound:
        return error_page(request, v, 404, "找不到案件", "找不到该案件，或该案件不在您的管辖范围内。")
    except WorkflowError as exc:
        return _case_page(v, case_id, status=403, errors={"op:documents": present.explain(exc)})
    return _go(f"{P}/cases/{case_id}", done="issued")
