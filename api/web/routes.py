"""The pages: sign-in, the clerk's worklist and case page, the supervisors' board, breaches,
charts, monthly report and calendar, and the definitions — all under ``/web``, in Chinese, with
every script and style served from ``api/static`` (no CDN).

Every page reads and writes through the :class:`~workflow.engine.Engine` as the signed-in
person (their roles and org from the directory), so the org scope is the engine's: a Wuhan clerk
never sees a Yichang case. Every form carries a CSRF token; a POST without the right one is 403.
"""

from __future__ import annotations

import functools
import mimetypes
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from adapters.directory import Person
from workflow.definition import Definition
from workflow.errors import CaseNotFound, UnknownItem, WorkflowError
from workflow.model import Actor, Case

from . import present
from .config import STATIC, WebState, web_state
from .security import Session, dummy_hash, fingerprint, verify_password

router = APIRouter(include_in_schema=False)
P = "/web"
SESSION_COOKIE = "cc_session"
PRE_COOKIE = "cc_pre"
STAFF = ("clerk", "examiner", "supervisor", "leader", "admin")
BOSSES = ("supervisor", "leader", "admin")
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
DOC_CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; "
           "frame-ancestors 'self'; base-uri 'none'; form-action 'none'")
HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
           "Cache-Control": "no-store", "X-Frame-Options": "DENY"}

DONE = {
    "opened": "已立案。可在下方“打印受理回执”。",
    "fired": "已办理。",
    "assigned": "已指定承办人。",
    "corrected": "已更正：上一步办理已撤销。",
    "attached": "附件已上传。",
    "issued": "文书已出具并记入办理记录。",
    "transferred": "案件已移送。",
    "calendar": "日历已导入，受影响的案件已重算。",
    "report": "月报已重新统计。",
    "signed_out": "您已退出登录。",
}


# --- who is visiting ---------------------------------------------------------------------------


@dataclass
class Visit:
    request: Request
    web: WebState
    actor: Actor
    person: Person
    session: Session
    names: dict[str, str] = field(default_factory=dict)

    @property
    def ctx(self) -> Any:
        return self.request.app.state.ctx

    @property
    def engine(self) -> Any:
        return self.ctx.engine

    @property
    def csrf(self) -> str:
        return self.web.signer.csrf(self.session.sid)

    def can(self, *roles: str) -> bool:
        return bool(self.actor.roles.intersection(roles))

    @property
    def is_boss(self) -> bool:
        return self.can(*BOSSES)

    def name_of(self, person_id: str | None) -> str:
        if not person_id:
            return ""
        if person_id not in self.names:
            p = self.web.accounts.get(person_id) if person_id != "system" else None
            self.names[person_id] = (p.name or p.id) if p is not None else ("系统" if person_id == "system" else person_id)
        return self.names[person_id]

    def org_name(self, code: str) -> str:
        return self.engine.orgs.name(code)


def _visit(request: Request) -> Visit | Response:
    web = web_state(request)
    session = web.signer.read_session(request.cookies.get(SESSION_COOKIE))
    person = web.accounts.get(session.user) if session is not None else None
    if session is None or person is None or not person.active \
            or fingerprint(web.accounts.password_hash(person.id)) != session.pw:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = P + "/"
        resp = RedirectResponse(f"{P}/login?next={quote(target)}", status_code=303)
        if request.cookies.get(SESSION_COOKIE):
            resp.delete_cookie(SESSION_COOKIE, path="/")
        return resp
    actor = Actor(id=person.id, roles=person.roles, org=person.org, name=person.name)
    return Visit(request=request, web=web, actor=actor, person=person, session=session)


def _headers(extra: dict[str, str] | None = None, csp: str = CSP) -> dict[str, str]:
    return {**HEADERS, "Content-Security-Policy": csp, **(extra or {})}


def render(request: Request, template: str, v: Visit | None = None, status: int = 200,
           **context: Any) -> HTMLResponse:
    web = web_state(request)
    done = request.query_params.get("done")
    body = web.env.get_template(template).render(
        v=v, P=P, request=request, poll=web.settings.poll_seconds,
        flash=DONE.get(done or "", ""), today=(v.engine.today() if v else None),
        live_counts=_counts(v) if v else {}, **context,
    )
    return HTMLResponse(body, status_code=status, headers=_headers())


def error_page(request: Request, v: Visit | None, status: int, title: str, message: str) -> HTMLResponse:
    return render(request, "error.html.j2", v, status=status, title=title, message=message)


def _forbidden_csrf(request: Request, v: Visit | None) -> HTMLResponse:
    return error_page(request, v, 403, "表单无效",
                      "表单已过期或不是从本系统页面提交的（CSRF 校验失败）。请返回刷新页面后重试。")


def _check(v: Visit, form: FormData) -> Response | None:
    token = form.get("csrf")
    if not v.web.signer.check_csrf(v.session.sid, token if isinstance(token, str) else None):
        return _forbidden_csrf(v.request, v)
    return None


def page(path: str) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """A GET page: signed-in people only (others go to the sign-in page); the handler gets the
    :class:`Visit` and the path's parameters."""
    def wrap(fn: Callable[..., Response]) -> Callable[..., Response]:
        def endpoint(request: Request) -> Response:
            v = _visit(request)
            if isinstance(v, Response):
                return v
            return fn(v, **{k: str(val)[:128] for k, val in request.path_params.items()})

        endpoint.__name__ = getattr(fn, "__name__", "operation")
        router.add_api_route(path, endpoint, methods=["GET"], include_in_schema=False)
        return fn
    return wrap


def posted(path: str) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """A form POST: the form is read, then (in a worker thread) the session and the CSRF token are
    checked (403 otherwise) and the handler gets the :class:`Visit`, the form and the path's
    parameters."""
    def wrap(fn: Callable[..., Response]) -> Callable[..., Response]:
        async def endpoint(request: Request) -> Response:
            form = await request.form()

            def run() -> Response:
                v = _visit(request)
                if isinstance(v, Response):
                    return v
                if (bad := _check(v, form)) is not None:
                    return bad
                return fn(v, form, **{k: str(val)[:128] for k, val in request.path_params.items()})

            return await run_in_threadpool(run)

        endpoint.__name__ = getattr(fn, "__name__", "operation")
        router.add_api_route(path, endpoint, methods=["POST"], include_in_schema=False)
        return fn
    return wrap


def _go(path: str, **query: str) -> RedirectResponse:
    q = {k: val for k, val in query.items() if val}
    return RedirectResponse(path + (f"?{urlencode(q)}" if q else ""), status_code=303)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _text(form: FormData, name: str, limit: int = 2000) -> str:
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    return value.replace("\x00", "").strip()[:limit]


# --- sign-in -------------------------------------------------------------------------------------


def _safe_next(value: str | None) -> str:
    if value and value.startswith(P + "/") and not value.startswith("//") and "\\" not in value:
        return value
    return P + "/"


@router.get("/", include_in_schema=False)
def root() -> Response:
    return RedirectResponse(P + "/", status_code=303)


@page(P)
@page(P + "/")
def home(v: Visit) -> Response:
    if v.can("clerk", "examiner"):
        return _go(P + "/worklist")
    if v.is_boss:
        return _go(P + "/board")
    return _go(P + "/definitions")


def _login_page(request: Request, status: int = 200, error: str = "", user: str = "") -> Response:
    web = web_state(request)
    pre = request.cookies.get(PRE_COOKIE)
    fresh = not pre or len(pre) > 100
    if fresh:
        pre = secrets.token_urlsafe(18)
    assert pre is not None
    resp = render(request, "login.html.j2", None, status=status, csrf=web.signer.csrf("pre:" + pre),
                  error=error, user=user, next=_safe_next(request.query_params.get("next")))
    if fresh:
        resp.set_cookie(PRE_COOKIE, pre, httponly=True, samesite="lax", path=P,
                        secure=web.settings.secure_cookie)
    return resp


@router.get(P + "/login")
def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post(P + "/login")
async def login(request: Request) -> Response:
    form = await request.form()
    return await run_in_threadpool(_login, request, form)


def _login(request: Request, form: FormData) -> Response:
    web = web_state(request)
    pre = request.cookies.get(PRE_COOKIE)
    token = form.get("csrf")
    if not web.signer.check_csrf("pre:" + pre if pre else None, token if isinstance(token, str) else None):
        return _forbidden_csrf(request, None)
    user = _text(form, "user", 128)
    password = form.get("password")
    password = password if isinstance(password, str) else ""
    if web.throttle.blocked(user):
        return _login_page(request, 429, "尝试次数过多，请15分钟后再试。", user)
    person = web.accounts.get(user) if user else None
    stored = web.accounts.password_hash(user) if person is not None else None
    ok = verify_password(password, stored or dummy_hash()) and stored is not None
    if not ok or person is None or not person.active:
        web.throttle.failed(user)
        return _login_page(request, 401, "用户名或密码不正确。", user)
    web.throttle.succeeded(user)
    _, cookie = web.signer.new_session(person.id, fingerprint(stored),
                                       int(web.settings.session_hours * 3600))
    resp = RedirectResponse(_safe_next(_text(form, "next", 500)), status_code=303)
    resp.set_cookie(SESSION_COOKIE, cookie, httponly=True, samesite="lax", path="/",
                    secure=web.settings.secure_cookie, max_age=int(web.settings.session_hours * 3600))
    resp.delete_cookie(PRE_COOKIE, path=P)
    return resp


@router.post(P + "/logout")
async def logout(request: Request) -> Response:
    form = await request.form()
    v = _visit(request)
    if isinstance(v, Response):
        return v
    if (bad := _check(v, form)) is not None:
        return bad
    v.web.signer.end_session(v.session)
    resp = _go(P + "/login", done="signed_out")
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@router.get(P + "/static/{name}")
def static(name: str) -> Response:
    path = (STATIC / name).resolve()
    if path.parent != STATIC.resolve() or not path.is_file():
        return Response("not found", status_code=404, media_type="text/plain")
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind.endswith("javascript"):
        kind += "; charset=utf-8"
    return Response(path.read_bytes(), media_type=kind,
                    headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"})


# --- the clerk's pages ---------------------------------------------------------------------------


def _row(v: Visit, c: Case) -> dict[str, Any]:
    clock = present.urgent_clock(c)
    return {"case": c, "clock": clock, "left": present.days_left(clock) if clock else "",
            "org_name": v.org_name(c.org), "assignee": v.name_of(c.assignee)}


@page(P + "/worklist")
def worklist(v: Visit) -> Response:
    request = v.request
    rows = [_row(v, c) for c in v.engine.worklist(v.actor)]
    return render(request, "worklist.html.j2", v, rows=rows, counts=_counts(v, rows))


def _counts(v: Visit, rows: list[dict[str, Any]] | None = None) -> dict[str, int]:
    if rows is None:
        rows = [{"case": c} for c in v.engine.worklist(v.actor)]
    slas = [r["case"].sla for r in rows]
    return {
        "worklist": len(rows),
        "warning": sum(s in ("warning", "expired") for s in slas),
        "red": sum(s in ("overdue", "over_statutory") for s in slas),
    }


def _latest(v: Visit) -> list[Definition]:
    latest: dict[str, Definition] = {}
    for d in v.engine.definitions():
        latest[d.id] = d
    order = {"service_item": 0, "bundle": 1, "dispute_case": 2}
    return sorted(latest.values(), key=lambda d: (order.get(d.kind, 9), d.name))


def _scope_orgs(v: Visit) -> list[Any]:
    inside = v.engine.orgs.subtree(v.actor.org)
    return [o for o in v.engine.orgs if o.code in inside]


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
                   values: dict[str, Any] | None = None) -> Response:
    defn = None
    if item:
        try:
            defn = v.engine.definition(item)
        except UnknownItem:
            return error_page(v.request, v, 404, "没有这个事项", f"没有事项 {item}")
    inputs = present.inputs_for(_opening_fields(v, defn)) if defn else []
    children = [v.engine.definition(c) for c in defn.children] if defn and defn.kind == "bundle" else []
    return render(v.request, "new_case.html.j2", v, status=status, items=_latest(v), defn=defn,
                  inputs=inputs, children=children, orgs=_scope_orgs(v), error=error,
                  values=values or {}, idem=secrets.token_urlsafe(12))


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
    inputs = present.inputs_for(_opening_fields(v, defn))
    data = present.form_values(inputs, form)
    started = _text(form, "started_on", 10)
    org = _text(form, "org", 64) or v.actor.org
    values = {k: form.get(k) for k in form.keys() if k != "csrf"}
    try:
        started_on = date.fromisoformat(started) if started else None
    except ValueError:
        return _new_case_page(v, item, 422, "法定起算日应为日期（YYYY-MM-DD）", values)
    try:
        case = v.engine.open_case(
            item, actor=v.actor, data=data, org=org, started_on=started_on,
            reason=_text(form, "reason") or None,
            idempotency_key=f"web:{v.actor.id}:{_text(form, 'idem', 64)}" if _text(form, "idem", 64) else None,
        )
    except WorkflowError as exc:
        labels = {i.name: i.label for i in inputs} | {"started_on": "法定起算日", "reason": "补录理由"}
        status = 403 if exc.__class__.__name__ == "Forbidden" else 422
        return _new_case_page(v, item, status, present.explain(exc, labels), values)
    return _go(f"{P}/cases/{case.id}", done="opened")


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
               values: dict[str, Any] | None = None) -> Response:
    e = v.engine
    found = _case_and_definition(v, case_id)
    if isinstance(found, Response):
        return found
    case, defn = found
    events = e.history(case_id, v.actor)
    allowed = e.available_triggers(case_id, actor=v.actor)
    actions, others = [], []
    for t in defn.transitions_from(case.state):
        if t.trigger in allowed:
            if t.trigger not in [a["t"].trigger for a in actions]:
                actions.append({"t": t, "inputs": present.transition_inputs(t)})
        elif "system" not in t.roles:
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
    for c in ordered:
        clocks.append({"c": c, "bar": present.clock_bar(c), "spans": present.span_positions(c),
                       "commit_at": present.strip_position(c, c.commitment_due),
                       "today_at": present.strip_position(c, e.today()) if c.status != "stopped" else None,
                       "left": present.days_left(c)})
    field_labels = {f.name: (f.label or f.name) for f in defn.fields}
    for t in defn.transitions:
        for f in t.fields:
            field_labels.setdefault(f.name, f.label or f.name)
    return render(
        v.request, "case.html.j2", v, status=status, case=case, defn=defn, events=events, labels=labels,
        actions=actions, others=others, errors=errors or {}, values=values or {}, clocks=clocks,
        attachments=attachments, documents=[(n, _doc_title(n)) for n in ops.documents.templates()],
        children=children, parent=parent, correctable=correctable, people=people,
        orgs=[o for o in e.orgs if o.code != case.org], field_labels=field_labels,
        org_name=v.org_name(case.org), idem=secrets.token_urlsafe(12),
    )


def _doc_title(name: str) -> str:
    from adapters.documents import TITLES

    return TITLES.get(name, name)


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
    inputs = present.transition_inputs(t) if t is not None else []
    data = present.form_values(inputs, form)
    idem = _text(form, "idem", 64)
    try:
        e.fire(case_id, trigger, actor=v.actor, data=data, expected_version=_int(form.get("version")),
               idempotency_key=f"web:{v.actor.id}:{idem}" if idem else None)
    except WorkflowError as exc:
        labels = {i.name: i.label for i in inputs}
        status = {"Forbidden": 403, "VersionConflict": 409, "TransitionNotAllowed": 409}.get(
            exc.__class__.__name__, 422)
        values = {trigger: {k: form.get(k) for k in form.keys()}}
        return _case_page(v, case_id, status=status, errors={trigger: present.explain(exc, labels)}, values=values)
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


def _document(v: Visit, case_id: str, name: str, fmt: str) -> Response:
    from adapters.documents import TemplateNotFound
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
            body = docs.pdf(name, case, defn, events=events)
            return Response(body, media_type="application/pdf", headers={
                "Content-Disposition": _disposition("inline", f"{_doc_title(name)}-{case.number}.pdf"),
                "Cache-Control": "private, no-store"})
        page = docs.html(name, case, defn, events=events)
    except TemplateNotFound:
        return error_page(v.request, v, 404, "没有这个文书模板", f"没有文书模板 {name}")
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
    request = v.request
    if name not in _ops(v).documents.templates():
        return error_page(request, v, 404, "没有这个文书模板", f"没有文书模板 {name}")
    try:
        v.engine.record_event(case_id, "document_issued", {"template": name, "title": _doc_title(name)},
                              actor=v.actor)
    except CaseNotFound:
        return error_page(request, v, 404, "找不到案件", "找不到该案件，或该案件不在您的管辖范围内。")
    except WorkflowError as exc:
        return _case_page(v, case_id, status=403, errors={"op:documents": present.explain(exc)})
    return _go(f"{P}/cases/{case_id}", done="issued")


# --- supervisors ---------------------------------------------------------------------------------


def _boss(v: Visit) -> Response | None:
    roles = v.ctx.settings.board_roles
    if not v.can(*roles):
        return error_page(v.request, v, 403, "没有权限",
                          f"此页面供{present.role_names(roles)}使用。")
    return None


def _board_data(v: Visit) -> dict[str, Any]:
    from api.routes.office import BOARD_LEVELS, sla_counts

    e = v.engine
    scope = e.orgs.subtree(v.actor.org)
    counts = sla_counts(e, scope, None)
    fold = {"met": "on_track", "met_late": "overdue", "met_over_statutory": "over_statutory"}
    cells: dict[tuple[str, str], dict[str, int]] = {}
    for (org, item, level), n in counts.items():
        col = fold.get(level, level)
        col = col if col in BOARD_LEVELS else "on_track"
        cell = cells.setdefault((org, item), dict.fromkeys(BOARD_LEVELS, 0))
        cell[col] += n
    order = {o.code: i for i, o in enumerate(e.orgs)}
    orgs = sorted({o for o, _ in cells} | {v.actor.org}, key=lambda c: order.get(c, 999))
    items = [d for d in _latest(v) if any(i == d.id for _, i in cells)]
    out: dict[str, Any] = {}
    for key, cell in cells.items():
        worst = next((lvl for lvl in ("over_statutory", "overdue", "expired", "warning") if cell[lvl]), "on_track")
        out["|".join(key)] = {**cell, "total": sum(cell.values()), "level": worst,
                              "colour": present.SLA_COLOUR.get(worst, "green")}
    totals = dict.fromkeys(BOARD_LEVELS, 0)
    for cell in cells.values():
        for k, n in cell.items():
            totals[k] += n
    return {"orgs": [(o, e.orgs.name(o)) for o in orgs], "items": items, "cells": out, "totals": totals,
            "as_of": e.now()}


@page(P + "/board")
def board(v: Visit) -> Response:
    request = v.request
    if (no := _boss(v)) is not None:
        return no
    return render(request, "board.html.j2", v, **_board_data(v))


@page(P + "/breaches")
def breaches(v: Visit) -> Response:
    request = v.request
    if (no := _boss(v)) is not None:
        return no
    q = request.query_params
    org, item, level = q.get("org") or "", q.get("item") or "", q.get("level") or ""
    filters: dict[str, Any] = {"open": True}
    if org and org in v.engine.orgs:
        filters["org"] = org
    if item:
        filters["item_id"] = item
    levels = (level,) if level in ("overdue", "over_statutory") else ("over_statutory", "overdue")
    cases: list[Case] = []
    for lvl in levels:
        cases += v.engine.list_cases(v.actor, sla=lvl, **filters)
    rank = {"over_statutory": 0, "overdue": 1}
    cases.sort(key=lambda c: (rank.get(c.sla, 9), c.opened_at, c.id))
    return render(request, "breaches.html.j2", v, rows=[_row(v, c) for c in cases], orgs=_scope_orgs(v),
                  items=_latest(v), f={"org": org, "item": item, "level": level})


def _reports(v: Visit) -> Any:
    from adapters.reports import ReportService

    ctx = v.ctx
    if ctx.reports is None:
        ctx.reports = ReportService(ctx.engine)
    return ctx.reports


def _month(value: str | None, today: date) -> tuple[int, int]:
    try:
        y, m = (int(x) for x in (value or "").split("-"))
        if 2000 <= y and 1 <= m <= 12 and (y, m) <= (today.year, today.month):
            return y, m
    except ValueError:
        pass
    return today.year, today.month


def _report(v: Visit, y: int, m: int) -> Any:
    today = v.engine.today()
    svc = _reports(v)
    if (y, m) == (today.year, today.month):
        return svc.compute(y, m)  # the month is not over: never store a partial month
    return svc.get(y, m)


@page(P + "/charts")
def charts(v: Visit) -> Response:
    from . import charts as ch

    request = v.request
    if (no := _boss(v)) is not None:
        return no
    today = v.engine.today()
    y, m = _month(request.query_params.get("month"), today)
    months: list[tuple[int, int]] = []
    cy, cm = y, m
    for _ in range(6):
        months.insert(0, (cy, cm))
        cy, cm = (cy - 1, 12) if cm == 1 else (cy, cm - 1)
    names, on_time, commit, compression = [], [], [], []
    target = None
    report = None
    for (yy, mm) in months:
        report = _report(v, yy, mm)
        line = report.line(v.actor.org)
        names.append(f"{yy}-{mm:02d}")
        meas = line.measures if line else {}
        on_time.append(meas.get("on_time_rate"))
        commit.append(meas.get("commitment_rate"))
        compression.append(meas.get("avg_compression"))
        if meas.get("compression_target") is not None:
            target = float(Fraction(str(meas["compression_target"])))
    items = [ln for ln in report.lines if ln.org == v.actor.org and ln.scope == "total" and ln.item_id != "*"] \
        if report else []
    tgt = target if target is not None else 2 / 3
    svg = {
        "on_time": ch.month_bars("按月：按时办结率与承诺时限内办结率", names,
                                 [("按时办结率", on_time), ("承诺时限内办结率", commit)]),
        "compression": ch.month_bars("按月：平均用时比（已用÷法定）", names, [("平均用时比", compression)],
                                     target=tgt, target_label=f"压缩目标 {tgt * 100:.0f}%"),
        "items_on_time": ch.item_bars(f"按事项：按时办结率（{names[-1]}）",
                                      [(ln.item_name, ln.measures.get("on_time_rate")) for ln in items],
                                      target=1.0, target_label="100%"),
        "items_compression": ch.item_bars(f"按事项：平均用时比（{names[-1]}）",
                                          [(ln.item_name, ln.measures.get("avg_compression")) for ln in items],
                                          target=tgt, target_label=f"目标 {tgt * 100:.0f}%", better="low"),
    }
    table = list(zip(names, on_time, commit, compression, strict=True))
    return render(request, "charts.html.j2", v, svg=svg, table=table, items=items, month=names[-1])


@page(P + "/reports")
def report_page(v: Visit) -> Response:
    from adapters.reports import columns, rows

    request = v.request
    if (no := _boss(v)) is not None:
        return no
    y, m = _month(request.query_params.get("month"), v.engine.today())
    report = _scoped(v, _report(v, y, m))
    cols = columns(report)
    return render(request, "report.html.j2", v, report=report, cols=cols, rows=list(rows(report)),
                  month=f"{y:04d}-{m:02d}")


def _scoped(v: Visit, report: Any) -> Any:
    from dataclasses import replace

    scope = v.engine.orgs.subtree(v.actor.org)
    return replace(report, lines=tuple(ln for ln in report.lines if ln.org in scope))


@page(P + "/reports/monthly.{fmt}")
def report_download(v: Visit, fmt: str) -> Response:
    from api.routes.reports import _render

    if (no := _boss(v)) is not None:
        return no
    if fmt not in ("csv", "xlsx"):
        return error_page(v.request, v, 404, "没有这种格式", "可下载 CSV 或 Excel。")
    y, m = _month(v.request.query_params.get("month"), v.engine.today())
    return _render(_scoped(v, _report(v, y, m)), fmt)


@posted(P + "/reports")
def _report_refresh(v: Visit, form: FormData) -> Response:
    if (no := _boss(v)) is not None:
        return no
    today = v.engine.today()
    y, m = _month(_text(form, "month", 7), today)
    if (y, m) != (today.year, today.month):
        _reports(v).generate(y, m)
    return _go(P + "/reports", month=f"{y:04d}-{m:02d}", done="report")


# --- calendar and definitions ----------------------------------------------------------------------


def _calendar_page(v: Visit, status: int = 200, error: str = "") -> Response:
    from api.views import calendar_view

    info = calendar_view(v.engine, v.engine.today())
    years = sorted(((int(y), s) for y, s in info["years"].items()), reverse=True)
    return render(v.request, "calendar.html.j2", v, status=status, info=info, years=years, error=error)


@page(P + "/calendar")
def calendar(v: Visit) -> Response:
    return _calendar_page(v)


@router.post(P + "/calendar")
async def calendar_load(request: Request) -> Response:
    v = _visit(request)
    if isinstance(v, Response):
        return v
    form = await request.form(max_files=1)
    if (bad := _check(v, form)) is not None:
        return bad
    if not v.can(*v.ctx.settings.admin_roles):
        return error_page(request, v, 403, "没有权限", "导入日历需要管理员角色。")
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        return await run_in_threadpool(_calendar_page, v, 422, "请选择日历文件（YAML）。")
    content = await upload.read(256 * 1024 + 1)

    def load() -> Response:
        if len(content) > 256 * 1024:
            return _calendar_page(v, 413, "日历文件过大。")
        with tempfile.TemporaryDirectory(prefix="caseclock-calendar-") as tmp:
            path = Path(tmp) / "calendar.yaml"
            path.write_bytes(content)
            try:
                v.engine.load_calendar(path)
            except (WorkflowError, ValueError) as exc:
                return _calendar_page(v, 422, present.explain(exc))
        return _go(P + "/calendar", done="calendar")

    return await run_in_threadpool(load)


@page(P + "/definitions")
def definitions(v: Visit) -> Response:
    request = v.request
    rows = []
    for d in _latest(v):
        main = d.clocks.get(d.main_clock) if d.main_clock else None
        rows.append({"d": d, "main": main, "limit": _limit_text(main) if main else "",
                     "commitment": _commitment_text(v, d, main) if main else ""})
    return render(request, "definitions.html.j2", v, rows=rows)


def _limit_text(c: Any) -> str:
    if c.limit_choice is not None:
        parts = [f"{present.choice_label(k)} {lim.label}" for k, lim in c.limit_choice.cases.items()]
        return "；".join(parts)
    return c.limit.label


def _ratio(v: Visit, d: Definition) -> Any:
    return d.commitment_ratio if "commitment_ratio" in d.raw else v.engine.settings.commitment_ratio


def _commitment_text(v: Visit, d: Definition, c: Any) -> str:
    from workflow.legaltime import commitment_for

    if c.kind.value != "office":
        return "不压缩（当事人/外部期间）"
    if c.commitment is not None:
        return c.commitment.label
    ratio = _ratio(v, d)
    limits = [(None, c.limit)] if c.limit_choice is None else list(c.limit_choice.cases.items())
    parts = []
    for key, lim in limits:
        n = commitment_for(lim, ratio)
        word = "个工作日" if lim.unit.value == "working_days" else "日"
        parts.append(f"{present.choice_label(key) + ' ' if key else ''}{n}{word}")
    return "；".join(parts) + f"（法定时限的{ratio}）"


@page(P + "/definitions/{item_id}")
def definition(v: Visit, item_id: str) -> Response:
    from workflow.diagram import mermaid

    from . import diagram

    request = v.request
    try:
        d = v.engine.definition(item_id[:128])
    except UnknownItem:
        return error_page(request, v, 404, "没有这个事项", f"没有事项 {item_id}")
    clocks = [{"c": c, "limit": _limit_text(c), "commitment": _commitment_text(v, d, c),
               "paused_in": [s.label or s.name for s in d.states.values() if c.name in s.pauses],
               "restarted_in": [s.label or s.name for s in d.states.values() if c.name in s.restarts]}
              for c in d.clocks.values() if not c.step]
    steps = [s for s in d.states.values() if s.limit is not None]
    anywhere = diagram.everywhere(d)
    return render(request, "definition.html.j2", v, d=d, clocks=clocks, steps=steps, svg=diagram.svg(d),
                  mermaid=mermaid(d), anywhere=anywhere, inputs=present.inputs_for(d.fields),
                  children=[v.engine.definition(c) for c in d.children])


# --- live counts -----------------------------------------------------------------------------------


@router.get(P + "/live.json")
def live(request: Request) -> Response:
    """What the pages refresh every few seconds: my counts, the worklist rows' levels and days
    left, the board's cells, a case's version."""
    web = web_state(request)
    session = web.signer.read_session(request.cookies.get(SESSION_COOKIE))
    v = _visit(request) if session is not None else None
    if v is None or isinstance(v, Response):
        return JSONResponse({"signed_in": False}, status_code=401, headers=HEADERS)
    q = request.query_params
    rows = [_row(v, c) for c in v.engine.worklist(v.actor)]
    body: dict[str, Any] = {"signed_in": True, "counts": _counts(v, rows), "as_of": v.engine.now().isoformat()}
    view = q.get("view")
    if view == "worklist":
        body["rows"] = {r["case"].id: {"sla": r["case"].sla, "sla_label": present.SLA_LABELS.get(r["case"].sla, ""),
                                       "colour": present.SLA_COLOUR.get(r["case"].sla, "green"), "left": r["left"]}
                        for r in rows}
    elif view == "board" and v.can(*v.ctx.settings.board_roles):
        data = _board_data(v)
        body["cells"] = data["cells"]
        body["totals"] = data["totals"]
    elif view == "case" and q.get("id"):
        try:
            c = v.engine.get_case(q["id"][:128], v.actor)
            body["case"] = {"version": c.version, "sla": c.sla,
                            "clocks": {k: present.days_left(ck) for k, ck in c.clocks.items()}}
        except CaseNotFound:
            body["case"] = None
    return JSONResponse(body, headers=HEADERS)


__all__ = ["router"]

