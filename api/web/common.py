"""What every page module shares: who is visiting (the signed-in :class:`Visit`), rendering and
error pages, the CSRF check, the ``page``/``posted`` route decorators bound to a module's router,
form helpers, and the worklist rows and counts every page's header shows.

Every page reads and writes through the :class:`~workflow.engine.Engine` as the signed-in
person (their roles and org from the directory), so the org scope is the engine's: a Wuhan clerk
never sees a Yichang case. Every form carries a CSRF token; a POST without the right one is 403.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, RedirectResponse, Response

from adapters.directory import Person
from workflow.authority import ENGINE_ROLE
from workflow.definition import Definition
from workflow.model import SYSTEM, Actor, Case

from . import present
from .config import WebState, web_state
from .security import Session, fingerprint

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
    "opened": "已收件。可在下方“打印受理回执”。",  # the case page says it in the item's words
    "fired": "已办理。",
    "assigned": "已指定承办人。",
    "corrected": "已更正：上一步办理已撤销。",
    "attached": "附件已上传。",
    "issued": "文书已出具并记入办理记录。",
    "transferred": "案件已移送。",
    "calendar": "日历已导入，受影响的案件已重算。",
    "expiry_confirmed": "已确认期间届满，后续步骤已执行并记入办理记录。",
    "report": "月报已重新统计。",
    "ordered": "督办已发出，承办人须在答复期限内答复。",
    "answered": "督办已答复。",
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

    @property
    def is_root_admin(self) -> bool:
        """An admin at the root of the org tree: the acts that reach every org (the calendar)."""
        from api.scope import at_root

        return self.can(*self.ctx.settings.admin_roles) and at_root(self.engine.orgs, self.actor)

    def name_of(self, person_id: str | None) -> str:
        if not person_id:
            return ""
        if person_id not in self.names:
            p = self.web.accounts.get(person_id) if person_id != "system" else None
            self.names[person_id] = (p.name or p.id) if p is not None else ("系统" if person_id == "system" else person_id)
        return self.names[person_id]

    def who(self, person_id: str | None) -> str:
        """A person as the history shows them: their name with their id (张伟（zhang.wei））; the
        engine's own acts are 系统."""
        if not person_id:
            return ""
        if person_id == "system":
            return "系统"
        name = self.name_of(person_id)
        return f"{name}（{person_id}）" if name and name != person_id else person_id

    def org_name(self, code: str) -> str:
        return self.engine.orgs.name(code)


def _visit(request: Request) -> Visit | Response:
    web = web_state(request)
    session = web.signer.read_session(request.cookies.get(SESSION_COOKIE))
    person = web.accounts.get(session.user) if session is not None else None
    if session is None or person is None or not person.active or person.id == SYSTEM.id \
            or fingerprint(web.accounts.password_hash(person.id)) != session.pw:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = P + "/"
        resp = RedirectResponse(f"{P}/login?next={quote(target)}", status_code=303)
        if request.cookies.get(SESSION_COOKIE):
            resp.delete_cookie(SESSION_COOKIE, path="/")
        return resp
    # a person recorded with the engine's own role (``system``) does not carry it into the pages
    actor = Actor(id=person.id, roles=person.roles - {ENGINE_ROLE}, org=person.org, name=person.name)
    return Visit(request=request, web=web, actor=actor, person=person, session=session)


def _headers(extra: dict[str, str] | None = None, csp: str = CSP) -> dict[str, str]:
    return {**HEADERS, "Content-Security-Policy": csp, **(extra or {})}


def render(request: Request, template: str, v: Visit | None = None, status: int = 200,
           **context: Any) -> HTMLResponse:
    web = web_state(request)
    done = request.query_params.get("done")
    flash = DONE.get(done or "", "")
    defn = context.get("defn")
    if done == "opened" and defn is not None:  # in the item's own words: 收件, 收案, 收到请求书 — not 立案
        flash = f"已{defn.opening_label}。可在下方“打印受理回执”。"
    body = web.env.get_template(template).render(
        v=v, P=P, request=request, poll=web.settings.poll_seconds,
        flash=flash, today=(v.engine.today() if v else None),
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


Decorator = Callable[[Callable[..., Response]], Callable[..., Response]]


def decorators(router: APIRouter) -> tuple[Callable[[str], Decorator], Callable[[str], Decorator]]:
    """The ``page`` and ``posted`` decorators of a module's pages, adding them to ``router``."""

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


    return page, posted


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



# --- worklist rows and counts (every page's header) ------------------------------------------


def _row(v: Visit, c: Case) -> dict[str, Any]:
    clock = present.urgent_clock(c)
    return {"case": c, "clock": clock, "left": present.days_left(clock, v.engine.today()) if clock else "",
            "org_name": v.org_name(c.org), "assignee": v.name_of(c.assignee),
            "awaiting": any(k.awaiting_calendar for k in c.clocks.values())}


YELLOW = ("warning", "overrun")  # 黄: the board's 预警 column (a special procedure past its expected end too)
RED = ("overdue", "over_statutory", "deemed_accepted")  # 红: the board's 超承诺时限, 超法定时限 and 视为受理 columns


def _counts(v: Visit, rows: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The worklist's counts (``worklist``, ``warning``, ``red``, ``expired``) and what the header's
    黄/红 badges count (``hdr_warning``, ``hdr_red``, said by ``hdr_scope``): a clerk's or an
    examiner's own worklist; for those who watch the board, the open cases of their org and the
    orgs under it, counted as the board counts them (the same stored levels, the same columns)."""
    if rows is None:
        rows = [{"case": c} for c in v.engine.worklist(v.actor)]
    slas = [r["case"].sla for r in rows]
    out: dict[str, Any] = {
        "worklist": len(rows),
        "warning": sum(s in YELLOW for s in slas),
        "red": sum(s in RED for s in slas),
        "expired": sum(s == "expired" for s in slas),
    }
    if v.can(*v.ctx.settings.board_roles):
        from api.routes.office import sla_counts

        by_level: dict[str, int] = {}
        for (_org, _item, level), n in sla_counts(v.engine, v.engine.orgs.subtree(v.actor.org), None).items():
            by_level[level] = by_level.get(level, 0) + n
        out["hdr_warning"] = sum(by_level.get(s, 0) for s in YELLOW)
        out["hdr_red"] = sum(by_level.get(s, 0) for s in RED)
        out["hdr_scope"] = f"{v.org_name(v.actor.org)}（含下级）未办结"
    else:
        out["hdr_warning"], out["hdr_red"], out["hdr_scope"] = out["warning"], out["red"], "我的待办"
    return out


def _latest(v: Visit) -> list[Definition]:
    latest: dict[str, Definition] = {}
    for d in v.engine.definitions():
        latest[d.id] = d
    order = {"service_item": 0, "bundle": 1, "dispute_case": 2}
    return sorted(latest.values(), key=lambda d: (order.get(d.kind, 9), d.name))


def _scope_orgs(v: Visit) -> list[Any]:
    inside = v.engine.orgs.subtree(v.actor.org)
    return [o for o in v.engine.orgs if o.code in inside]


