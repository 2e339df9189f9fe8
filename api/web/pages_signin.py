"""The sign-in pages: the root redirect, home, sign-in and sign-out, and the static files."""

from __future__ import annotations

import mimetypes
import secrets

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from . import signin
from .common import (
    PRE_COOKIE,
    SESSION_COOKIE,
    P,
    Visit,
    _check,
    _forbidden_csrf,
    _go,
    _text,
    _visit,
    decorators,
    render,
)
from .config import STATIC, web_state
from .security import dummy_hash, fingerprint, verify_password
from .signin import secure_cookies

router = APIRouter(include_in_schema=False)
page, posted = decorators(router)


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
                        secure=secure_cookies(request, web))
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
    tried = signin.attempt(request, web, user)  # per (person, client): api/web/signin.py
    if wait := tried.wait():
        resp = _login_page(request, 429, f"尝试次数过多，请{signin.wait_words(wait)}后再试。", user)
        resp.headers["Retry-After"] = str(wait)
        return resp
    person = web.accounts.get(user) if user else None
    stored = web.accounts.password_hash(user) if person is not None else None
    ok = verify_password(password, stored or dummy_hash()) and stored is not None
    if not ok or person is None or not person.active:
        tried.failed()  # an empty password too
        return _login_page(request, 401, "用户名或密码不正确。", user)
    _, cookie = web.signer.new_session(person.id, fingerprint(stored),
                                       int(web.settings.session_hours * 3600))
    resp = RedirectResponse(_safe_next(_text(form, "next", 500)), status_code=303)
    tried.succeeded(resp)
    resp.set_cookie(SESSION_COOKIE, cookie, httponly=True, samesite="lax", path="/",
                    secure=secure_cookies(request, web), max_age=int(web.settings.session_hours * 3600))
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


