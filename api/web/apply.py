"""The applicant's pages under ``/apply`` (issue 17): made for a phone first, in Chinese.

- ``/apply``: the items open to online application, and "查询办理进度" (case number + query code);
- ``/apply/items/{id}``: the form from the definition's fields, the applicant, the handling
  office and the materials list with uploads; it posts to itself and, once open, goes to
- ``/apply/receipt``: the case number, the query code (shown once, kept in the browser for the
  hour after applying), the committed and statutory dates (暂定 where provisional);
- ``/apply/progress``: where the matter stands, what the office waits for and by when (with the
  upload), what it did, the notices, and the rating once it is closed.

Who is looking: the number and the query code open a browser session of its own (a signed,
HttpOnly cookie naming that one application, for two hours); failed look-ups count against the
client like the API's. Every form carries a CSRF token bound to a random visitor cookie. The
pages read and write through :class:`adapters.online.OnlineService`, the API's use case.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.responses import HTMLResponse, RedirectResponse, Response

from adapters.attachments import AttachmentRejected
from adapters.online import OnlineService, Upload, check_applicant
from workflow.errors import CaseNotFound, MissingData, UnknownItem, WorkflowError
from workflow.online import STATUS_LABELS
from workflow.ratings import GRADES

from . import present
from .config import web_state

router = APIRouter(include_in_schema=False)
A = "/apply"
VISITOR = "cc_apply_v"
SESSION = "cc_apply"
RECEIPT = "cc_apply_receipt"
SESSION_SECONDS = 2 * 3600
RECEIPT_SECONDS = 3600
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "Cache-Control": "no-store",
           "X-Frame-Options": "DENY", "Content-Security-Policy": CSP}
DONE = {
    "supplement": "补正材料已提交，办理时限继续计算。",
    "rated": "感谢您的评价！",
    "signed_out": "已退出查询。",
}
APPLICANT_LABELS = {"applicant.id": "证件号码", "applicant.name": "申请人名称", "applicant.phone": "手机号码",
                    "applicant.email": "电子邮箱", "applicant": "申请人", "org": "办理单位", "files": "材料文件"}
REJECTED = {"too_large": "文件过大", "forbidden_type": "文件类型不符合要求", "empty": "文件为空", "no_name": "文件缺少名称"}


WORDS = {
    "a phone number: digits, spaces and dashes, optionally a leading +": "请填写正确的电话号码",
    "an e-mail address (name@example.org)": "请填写正确的电子邮箱地址",
    "must not contain control characters": "含有不可显示的字符",
    "not a field of this item": "不是本事项的填写项",
}


def _word(problem: str) -> str:
    if problem in WORDS:
        return WORDS[problem]
    if problem.startswith("at most "):
        return "内容过长（" + problem.removeprefix("at most ").replace(" characters", "字以内") + "）"
    return present.problem_words(problem)  # the engine's words, its field rules' among them


def _svc(request: Request) -> OnlineService:
    from api.routes.applications import _service

    return _service(request)


# --- cookies --------------------------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(request: Request, purpose: str, payload: dict[str, Any]) -> str:
    body = _b64(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
    return f"{body}.{web_state(request).signer.csrf(f'{purpose}|{body}')}"


def _read(request: Request, purpose: str, cookie: str | None) -> dict[str, Any] | None:
    if not cookie or cookie.count(".") != 1 or len(cookie) > 2048:
        return None
    body, mac = cookie.split(".")
    if not web_state(request).signer.check_csrf(f"{purpose}|{body}", mac):
        return None
    try:
        data = json.loads(_unb64(body))
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("e"), int) or data["e"] < time.time():
        return None
    return data


def _visitor(request: Request) -> tuple[str, bool]:
    v = request.cookies.get(VISITOR)
    if v and 16 <= len(v) <= 64 and v.replace("-", "").replace("_", "").isalnum():
        return v, False
    return secrets.token_urlsafe(18), True


def _csrf(request: Request, visitor: str) -> str:
    return web_state(request).signer.csrf(f"apply-form|{visitor}")


def _csrf_ok(request: Request, form: FormData) -> bool:
    v = request.cookies.get(VISITOR)
    token = form.get("csrf")
    return bool(v) and isinstance(token, str) and web_state(request).signer.check_csrf(f"apply-form|{v}", token)


def _session_case(request: Request) -> str | None:
    data = _read(request, "apply-session", request.cookies.get(SESSION))
    case = data.get("c") if data else None
    return case if isinstance(case, str) else None


def _set_session(request: Request, resp: Response, case_id: str) -> None:
    secure = web_state(request).settings.secure_cookie
    resp.set_cookie(SESSION, _sign(request, "apply-session", {"c": case_id, "e": int(time.time()) + SESSION_SECONDS}),
                    httponly=True, samesite="lax", path=A, secure=secure, max_age=SESSION_SECONDS)


# --- rendering ------------------------------------------------------------------------------------


def _render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    web = web_state(request)
    visitor, fresh = _visitor(request)
    done = request.query_params.get("done") or ""
    body = web.env.get_template(template).render(
        A=A, request=request, csrf=_csrf(request, visitor), flash=DONE.get(done, ""),
        STATUS=STATUS_LABELS, GRADES=GRADES, **context,
    )
    resp = HTMLResponse(body, status_code=status, headers=HEADERS)
    if fresh:
        resp.set_cookie(VISITOR, visitor, httponly=True, samesite="lax", path=A,
                        secure=web.settings.secure_cookie)
    return resp


def _go(path: str, **query: str) -> RedirectResponse:
    q = {k: v for k, v in query.items() if v}
    return RedirectResponse(path + (f"?{urlencode(q)}" if q else ""), status_code=303, headers=HEADERS)


def _text(form: FormData, name: str, limit: int = 2000) -> str:
    value = form.get(name)
    return value.replace("\x00", "").strip()[:limit] if isinstance(value, str) else ""


def _expired(request: Request) -> HTMLResponse:
    return _render(request, "apply/message.html.j2", 403, title="页面已过期",
                   message="页面已过期或不是从本系统页面提交的，请返回刷新后重试。")


# --- the list and the form ------------------------------------------------------------------------


@router.get(A)
@router.get(A + "/")
def home(request: Request) -> Response:
    svc = _svc(request)
    items = svc.items()
    return _render(request, "apply/home.html.j2", items=items, KINDS=present.KIND_LABELS,
                   limits={d.id: svc.time_limit(d) for d in items}, signed_in=_session_case(request) is not None)


def _form_context(svc: OnlineService, defn: Any) -> dict[str, Any]:
    inputs = present.opening_inputs(defn, tuple(svc.fields(defn)))
    children = [svc.engine.definition(c) for c in defn.children]
    return {"defn": defn, "inputs": inputs, "materials": svc.materials(defn), "children": children,
            "orgs": list(svc.engine.orgs), "limit": svc.time_limit(defn)}


@router.get(A + "/items/{item_id}")
def form(request: Request, item_id: str) -> Response:
    svc = _svc(request)
    try:
        defn = svc.item(item_id[:128])
    except UnknownItem as exc:
        return _render(request, "apply/message.html.j2", 404, title="该事项暂不能网上申请", message=str(exc))
    return _render(request, "apply/form.html.j2", values={}, errors={}, **_form_context(svc, defn))


def _uploads(form: FormData, names: list[tuple[str, str]], limit: int) -> list[Upload]:
    out = []
    for field, label in names:
        for f in form.getlist(field):
            if isinstance(f, UploadFile) and f.filename:
                out.append(Upload(filename=f.filename, content=f.file.read(limit + 1), content_type=f.content_type,
                                  label=label))
    return out


@router.post(A + "/items/{item_id}")
async def submit(request: Request, item_id: str) -> Response:
    svc = _svc(request)
    limit = svc.attachments.policy.max_bytes
    form = await request.form(max_files=60, max_fields=200)
    return await run_in_threadpool(_submit, request, svc, item_id[:128], form, limit)


def _submit(request: Request, svc: OnlineService, item_id: str, form: FormData, limit: int) -> Response:
    if not _csrf_ok(request, form):
        return _expired(request)
    try:
        defn = svc.item(item_id)
    except UnknownItem as exc:
        return _render(request, "apply/message.html.j2", 404, title="该事项暂不能网上申请", message=str(exc))
    ctx = _form_context(svc, defn)
    values = {k: form.get(k) for k in form.keys() if k != "csrf" and isinstance(form.get(k), str)}
    labels = {i.name: i.label for i in ctx["inputs"]} | APPLICANT_LABELS
    problems: dict[str, str] = {}
    applicant = None
    try:
        applicant = check_applicant({"id": _text(form, "a_id", 200), "name": _text(form, "a_name", 300),
                                     "phone": _text(form, "a_phone", 40), "email": _text(form, "a_email", 300)})
    except MissingData as exc:
        problems.update(exc.fields or {})
    org = _text(form, "org", 64)
    if org not in svc.engine.orgs:
        problems["org"] = "required"
    if form.get("consent") != "on":
        problems["consent"] = "required"
    data = present.form_values(ctx["inputs"], form)
    problems.update(svc.form_problems(defn, data))
    files: list[Upload] = []
    for m in ctx["materials"]:
        mine = _uploads(form, [(f"m_{m.name}", m.label)], limit)
        labels[f"m_{m.name}"] = m.label
        if m.required and not mine:
            problems[f"m_{m.name}"] = "required"
        for u in mine:
            try:
                svc.check_files([u])
            except AttachmentRejected as exc:
                problems[f"m_{m.name}"] = f"{REJECTED.get(exc.reason, '文件不符合要求')}（{u.filename}）"
        files += mine
    errors: dict[str, str] = {key: f"{labels.get(key, '承诺' if key == 'consent' else key)}：{_word(problem)}"
                              for key, problem in problems.items()}
    if errors or applicant is None:
        return _render(request, "apply/form.html.j2", 422, values=values, errors=errors, **ctx)
    try:
        case, code = svc.apply(defn.id, data, applicant, org=org, via="web", files=files)
    except AttachmentRejected as exc:
        status = {"too_large": 413, "forbidden_type": 415}.get(exc.reason, 422)
        errors["files"] = f"{REJECTED.get(exc.reason, '文件不符合要求')}：{exc}"
        return _render(request, "apply/form.html.j2", status, values=values, errors=errors, **ctx)
    except WorkflowError as exc:
        fields = getattr(exc, "fields", None) or {}
        for name, problem in fields.items():
            key = name.removeprefix("data.")
            errors[key] = f"{labels.get(key, key)}：{_word(problem)}"
        if not fields:
            errors["_"] = present.explain(exc, labels)
        return _render(request, "apply/form.html.j2", 422, values=values, errors=errors, **ctx)
    resp = _go(A + "/receipt")
    _set_session(request, resp, case.id)
    resp.set_cookie(RECEIPT, _sign(request, "apply-receipt", {"c": case.id, "q": code,
                                                              "e": int(time.time()) + RECEIPT_SECONDS}),
                    httponly=True, samesite="lax", path=A, secure=web_state(request).settings.secure_cookie,
                    max_age=RECEIPT_SECONDS)
    return resp


@router.get(A + "/receipt")
def receipt(request: Request) -> Response:
    svc = _svc(request)
    app = _mine(request)
    if app is None:
        return _go(A + "/progress")
    kept = _read(request, "apply-receipt", request.cookies.get(RECEIPT))
    code = kept.get("q") if kept and kept.get("c") == app.case_id else None
    return _render(request, "apply/receipt.html.j2", p=svc.progress(app), code=code, app=app)


# --- progress -------------------------------------------------------------------------------------


def _query_page(request: Request, status: int = 200, error: str = "", number: str = "") -> HTMLResponse:
    return _render(request, "apply/query.html.j2", status, error=error, number=number)


@router.get(A + "/progress")
def progress(request: Request) -> Response:
    svc = _svc(request)
    app = _mine(request)
    if app is None:
        return _query_page(request, number=request.query_params.get("number", "")[:128])
    return _render(request, "apply/progress.html.j2", p=svc.progress(app), app=app,
                   errors={}, accept=", ".join("." + e for e in svc.attachments.policy.allowed))


@router.post(A + "/progress")
async def look_up(request: Request) -> Response:
    form = await request.form()
    return await run_in_threadpool(_look_up, request, form)


def _look_up(request: Request, form: FormData) -> Response:
    from api.routes.applications import TooManyLookups, find_application

    if not _csrf_ok(request, form):
        return _expired(request)
    number = _text(form, "number", 128)
    try:
        app = find_application(request, number, _text(form, "code", 64), None)
    except TooManyLookups as exc:
        resp = _query_page(request, 429, f"查询失败次数过多，请{max(1, exc.retry_after // 60)}分钟后再试。", number)
        resp.headers["Retry-After"] = str(exc.retry_after)
        return resp
    except CaseNotFound:
        return _query_page(request, 404, "编号或查询码不正确，请核对受理回执。", number)
    done = _go(A + "/progress")
    _set_session(request, done, app.case_id)
    return done


def _mine(request: Request) -> Any:
    case_id = _session_case(request)
    return _svc(request).get(case_id) if case_id else None


@router.post(A + "/progress/supplement")
async def supplement(request: Request) -> Response:
    svc = _svc(request)
    form = await request.form(max_files=30)
    return await run_in_threadpool(_supplement, request, svc, form, svc.attachments.policy.max_bytes)


def _supplement(request: Request, svc: OnlineService, form: FormData, limit: int) -> Response:
    if not _csrf_ok(request, form):
        return _expired(request)
    app = _mine(request)
    if app is None:
        return _go(A + "/progress")
    error = ""
    status = 422
    try:
        svc.supplement(app, _uploads(form, [("files", "补正材料")], limit))
    except AttachmentRejected as exc:
        status = {"too_large": 413, "forbidden_type": 415}.get(exc.reason, 422)
        error = f"{REJECTED.get(exc.reason, '文件不符合要求')}：{exc}"
    except MissingData:
        error = "请选择要上传的补正材料文件。"
    except WorkflowError as exc:
        status, error = 409, f"目前不需要补正材料，或案件已被办理人员更新（{exc}）。"
    if error:
        return _render(request, "apply/progress.html.j2", status, p=svc.progress(app), app=app,
                       errors={"supplement": error}, accept=", ".join("." + e for e in svc.attachments.policy.allowed))
    return _go(A + "/progress", done="supplement")


@router.post(A + "/progress/rating")
async def rating(request: Request) -> Response:
    form = await request.form()
    return await run_in_threadpool(_rating, request, form)


def _rating(request: Request, form: FormData) -> Response:
    svc = _svc(request)
    if not _csrf_ok(request, form):
        return _expired(request)
    app = _mine(request)
    if app is None:
        return _go(A + "/progress")
    try:
        svc.rate(app, _text(form, "grade", 4), _text(form, "comment", 600))
    except WorkflowError as exc:
        status = 422 if isinstance(exc, MissingData) else 409
        word = "请选择评价等级（1–5）。" if status == 422 and "grade" in (getattr(exc, "fields", {}) or {}) else (
            "评价内容请不超过500字。" if status == 422 else "该办件已评价，或尚未办结。")
        return _render(request, "apply/progress.html.j2", status, p=svc.progress(app), app=app,
                       errors={"rating": word}, accept="")
    return _go(A + "/progress", done="rated")


@router.post(A + "/signout")
async def signout(request: Request) -> Response:
    form = await request.form()
    if not _csrf_ok(request, form):
        return _expired(request)
    resp = _go(A + "/progress", done="signed_out")
    resp.delete_cookie(SESSION, path=A)
    resp.delete_cookie(RECEIPT, path=A)
    return resp


__all__ = ["router"]
