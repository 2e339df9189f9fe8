"""The applicant's side over HTTP (issue 17; docs/portal.md): the province's portal applies on an
applicant's behalf with a ``portal`` token; anyone holding a case number and its query code
follows that one application.

::

    GET  /api/applications/items                     no token      the items open to online application
    GET  /api/applications/items/{item_id}           no token      one item's form: fields, materials
    POST /api/applications                           portal        apply: 201 {number, query_code, …}
    GET  /api/applications?applicant_id=…            portal        an applicant's applications
    GET  /api/applications/{number}                  code|portal   progress, needs, notices, rating
    POST /api/applications/{number}/supplements      code|portal   multipart ``files``: the 补正 sent
    POST /api/applications/{number}/files            code|portal   multipart ``files``: more materials
    POST /api/applications/{number}/rating           code|portal   {grade 1..5, comment?}: 好差评

``code``: the header ``X-Query-Code`` (an unknown number and a wrong code are the same 404, and
failed look-ups count against the client in the API's limiter of failed secret look-ups: 429
with ``Retry-After``); ``portal``: ``Authorization:
Bearer <portal token>`` with ``X-Applicant-Id`` naming the applicant (only their applications, in
the token's org scope).
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import UploadFile as StarletteUpload
from starlette.responses import Response

from adapters.applications import Application
from adapters.online import OnlineService, Upload, check_applicant
from workflow.errors import CaseNotFound, Forbidden, MissingData
from workflow.model import Actor
from workflow.online import NOTICE_KINDS, STATUS_LABELS, terms

from ..deps import CtxDep, clean_json, clean_text, json_response, page, read, write
from ..problems import BadRequest, problem_response
from ..ratelimit import client_key
from ..schemas import TEXT, problems
from .cases import IdempotencyKey, idempotency_key_of

router = APIRouter(prefix="/api", tags=["applications"])

PORTAL = "portal"
KIND_LABELS = {"service_item": "窗口服务事项", "bundle": "一件事一次办", "dispute_case": "纠纷案件"}
FIELD_TYPES = {"string": "text", "text": "textarea", "date": "date", "integer": "number", "number": "number",
               "money": "number", "boolean": "checkbox", "choice": "select"}

Number = Annotated[str, Path(min_length=1, max_length=128, pattern=TEXT, description="the case number (受理编号)")]
QueryCode = Annotated[str | None, Header(alias="X-Query-Code", max_length=64, pattern=TEXT,
                                         description="the query code the receipt gave")]
ApplicantId = Annotated[str | None, Header(alias="X-Applicant-Id", max_length=128, pattern=TEXT,
                                           description="with a portal token: the applicant the portal acts for")]
_EXTRA: dict[int | str, dict[str, Any]] = {
    413: {"description": "A file over the size limit", "content": {"application/problem+json": {}}},
    415: {"description": "A file type not accepted, or content that is not what its name says",
          "content": {"application/problem+json": {}}},
    429: {"description": "Too many failed secret look-ups from this client: wait Retry-After seconds",
          "content": {"application/problem+json": {}}},
}


# --- failed look-ups ----------------------------------------------------------------------------
# A wrong query code (or an unknown number) counts against the client in the API's limiter of
# failed secret look-ups (api/ratelimit.py: the same bucket as bad tokens and passwords, 4/min
# with a burst of 20 by default, CASECLOCK_RATE_FAILURES); a client over it gets 429 with
# Retry-After before its code is even checked.


class TooManyLookups(Exception):
    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after


def _service(request: Request) -> OnlineService:
    state = request.app.state
    svc = getattr(state, "online", None)
    if svc is None:
        from ..routes_ops import _ops

        svc = state.online = OnlineService(state.ctx.engine, attachments=_ops(request, state.ctx.engine).attachments)
    return svc


def _portal(request: Request) -> Actor:
    actor = request.app.state.ctx.auth.actor(request.headers.get("authorization"))
    if not actor.has_any((PORTAL,)):
        raise Forbidden("applying for someone needs a portal token (role portal)")
    return actor


def find_application(request: Request, number: str, code: str | None, applicant_id: str | None) -> Application:
    """The application a request may see: by its query code, or by a portal token and the
    applicant's id. Failed code look-ups count against the client (TooManyLookups)."""
    svc = _service(request)
    number = clean_text(number, "number")
    if code is None and request.headers.get("authorization"):
        portal = _portal(request)
        if not applicant_id:
            raise BadRequest("with a portal token, send X-Applicant-Id: the applicant the portal acts for",
                             "X-Applicant-Id")
        return svc.find_for(number, clean_text(applicant_id, "X-Applicant-Id"), portal)
    limiter, client = limiter_of(request), client_key(request.scope)
    wait = limiter.failures_wait(client) if limiter is not None else 0.0
    if wait:
        raise TooManyLookups(max(1, math.ceil(wait)))
    try:
        return svc.find(number, clean_text(code or "", "X-Query-Code"))
    except CaseNotFound:
        if limiter is not None:
            limiter.failed(client)
        raise


def _too_many(request: Request, exc: TooManyLookups) -> Response:
    return problem_response(429, "Too many requests", "too many failed query-code look-ups from this client: "
                            "try again later", code="too_many_requests", instance=request.url.path,
                            headers={"Retry-After": str(exc.retry_after)}, retry_after=exc.retry_after)


# --- items --------------------------------------------------------------------------------------


def item_summary(d: Any, svc: OnlineService) -> dict[str, Any]:
    return {"id": d.id, "name": d.name, "kind": d.kind, "kind_label": KIND_LABELS.get(d.kind, d.kind),
            "description": d.description, "materials": [m.__dict__ for m in svc.materials(d)]}


def field_json(f: Any) -> dict[str, Any]:
    from api.web.present import choice_label

    return {"name": f.name, "type": f.type, "input": FIELD_TYPES.get(f.type, "text"), "label": f.label or f.name,
            "required": f.required, "default": f.default,
            "choices": [{"value": c, "label": choice_label(c)} for c in f.choices]}


@router.get("/applications/items", response_model=None, summary="The items open to online application",
            responses=problems(400))
def items(request: Request) -> Response:
    """Every service item and bundle (unless its definition closes it, with a reason) and the
    dispute requests whose definitions open them. No token needed. ``closed`` lists the others
    with the reason."""
    svc = _service(request)
    open_ = svc.items()
    closed = [{"id": d.id, "name": d.name, "reason": terms(d).reason}
              for d in svc.engine.registry.latest() if not terms(d).open]
    return page([item_summary(d, svc) for d in open_], None, closed=closed)


@router.get("/applications/items/{item_id}", response_model=None, summary="One item's application form",
            responses=problems(400, 404))
def item_form(request: Request,
              item_id: Annotated[str, Path(max_length=128, pattern=TEXT)]) -> Response:
    """The form: its fields (with their rules), the materials to upload, the legal basis and the
    offices that take applications."""
    svc = _service(request)
    d = svc.item(clean_text(item_id, "item_id"))
    orgs = [{"code": o.code, "name": o.name} for o in svc.engine.orgs]
    return json_response({**item_summary(d, svc), "fields": [field_json(f) for f in svc.fields(d)],
                          "legal_basis": list(d.legal_basis), "orgs": orgs})


# --- applying -----------------------------------------------------------------------------------


class ApplicationIn(BaseModel):
    """An application made through the province's portal."""

    model_config = ConfigDict(extra="forbid")

    item_id: str = Field(min_length=1, max_length=128, pattern=TEXT, examples=["patent_pledge_registration"])
    org: str | None = Field(default=None, max_length=64, pattern=TEXT,
                            description="the handling office (within the token's scope); default: the token's org")
    data: dict[str, Any] = Field(default_factory=dict, description="the form's fields", examples=[{
        "request_type": "registration", "pledgor": "武汉光谷智能装备有限公司", "pledgee": "招商银行武汉分行",
        "patent_numbers": "ZL202310000001.X"}])
    applicant: dict[str, Any] | None = Field(default=None, description="{id, name, phone?, email?}", examples=[{
        "id": "91420100MA4K000001", "name": "武汉光谷智能装备有限公司", "phone": "13800000000",
        "email": "ip@example.org"}])


def receipt_json(case: Any, code: str, svc: OnlineService) -> dict[str, Any]:
    main = case.clocks.get(case.main_clock or "") if case.main_clock else None
    return {
        "number": case.number, "query_code": code, "item_id": case.item_id, "item_name": case.item_name,
        "org": case.org, "org_name": svc.engine.orgs.name(case.org), "received_at": case.opened_at.isoformat(),
        "started_on": case.started_on.isoformat() if case.started_on else None,
        "commitment_due": main.commitment_due.isoformat() if main and main.commitment_due else None,
        "statutory_due": main.statutory_due.isoformat() if main and main.statutory_due else None,
        "provisional": bool(main.provisional) if main else False,
        "status": "received", "status_label": STATUS_LABELS["received"],
        "href": f"/api/applications/{case.number}", "page": "/apply/progress",
    }


@router.post("/applications", status_code=201, response_model=None, summary="Apply online (portal)",
             responses={201: {"description": "the receipt: number, query_code (shown once), dates"},
                        **problems(400, 401, 403, 404, 409, 422)})
async def apply(request: Request, ctx: CtxDep, body: ApplicationIn,
                idempotency_key: IdempotencyKey = None) -> Response:
    """Open the application as the applicant, with channel ``online`` and its legal start on the
    day of receipt. The query code is in this answer only (it is stored hashed).
    ``Idempotency-Key`` (per portal): a retry of the same application opens nothing more and
    answers the same number with a **new** query code (only its hash is kept, so the code of the
    lost answer stops working); the same key with another application is 409."""
    portal = _portal(request)
    svc = _service(request)
    applicant = check_applicant(clean_json(body.applicant, "applicant"))
    data = clean_json(body.data, "data")
    org = clean_text(body.org, "org") if body.org else portal.org
    case, code = await write(ctx, svc.apply, clean_text(body.item_id, "item_id"), data, applicant, org=org,
                             via=portal.id, portal=portal,
                             idempotency_key=idempotency_key_of(portal, idempotency_key, "application"))
    return json_response(receipt_json(case, code, svc), 201, {"Location": f"/api/applications/{case.number}",
                                                                "Cache-Control": "no-store"})


@router.get("/applications", response_model=None, summary="An applicant's applications (portal)",
            responses=problems(400, 401, 403))
def mine(request: Request,
         applicant_id: Annotated[str, Query(min_length=1, max_length=128, pattern=TEXT)]) -> Response:
    """The applications the applicant made, in the portal token's org scope, newest first."""
    portal = _portal(request)
    svc = _service(request)
    apps = svc.of_applicant(clean_text(applicant_id, "applicant_id"), portal)
    items = []
    for a in apps:
        p = svc.progress(a)
        items.append({k: p[k] for k in ("number", "item_id", "item_name", "org", "status", "status_label",
                                         "state_label", "received_at", "commitment_due", "statutory_due",
                                         "provisional", "needs", "can_rate")})
    return page(items, None)


# --- one application -----------------------------------------------------------------------------


@router.get("/applications/{number}", response_model=None, summary="Progress of one application",
            responses={**problems(400, 401, 403, 404), 429: _EXTRA[429]})
def progress(request: Request, number: Number, code: QueryCode = None, applicant_id: ApplicantId = None) -> Response:
    """Where the matter stands in plain Chinese: ``status`` (received, in_progress,
    awaiting_supplement, closed, not_accepted), the committed and statutory dates (``provisional``
    where the calendar of that year is not yet published), what the office waits for (``needs``,
    ``needs_by``), what it did (``steps``, without internal notes), the ``notices`` and the rating."""
    try:
        app = find_application(request, number, code, applicant_id)
    except TooManyLookups as exc:
        return _too_many(request, exc)
    return json_response(_service(request).progress(app), headers={"Cache-Control": "no-store"})


async def _uploads(request: Request, limit: int) -> list[Upload]:
    """The files of the multipart field ``files`` (read here, after the application was found:
    a look-up that fails never reads a body). Anything in ``files`` that is not a file is 422."""
    from adapters.online import MAX_FILES

    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("multipart/form-data"):
        raise MissingData("send the files as multipart/form-data in the field files", {"files": "required"})
    try:
        form = await request.form(max_files=MAX_FILES, max_fields=MAX_FILES + 20)
    except Exception as exc:  # noqa: BLE001 - a malformed or oversized multipart body
        raise BadRequest(f"the multipart body cannot be read: {getattr(exc, 'detail', exc)}", "files") from None
    out = []
    for f in form.getlist("files"):
        if not isinstance(f, StarletteUpload):
            raise MissingData("files holds text, not files: upload each file with its file name",
                              {"files": "must be files"})
        content = await f.read(limit + 1)
        out.append(Upload(filename=clean_text(f.filename or "", "files"), content=content,
                          content_type=f.content_type))
    return out


def _rejected(request: Request, exc: Any, limit: int) -> Response:
    status, title = {"too_large": (413, "Payload too large"),
                     "forbidden_type": (415, "Unsupported media type")}.get(exc.reason, (422, "Unprocessable content"))
    return problem_response(status, title, str(exc), code=f"attachment_{exc.reason}", instance=request.url.path,
                            field="files", rule=exc.reason, max_bytes=limit if exc.reason == "too_large" else None)


_MULTIPART = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["files"],
    "properties": {"files": {"type": "array", "minItems": 1, "items": {"type": "string", "format": "binary"},
                             "description": "one or more files: PDF, JPEG, PNG, DOCX, XLSX (OFD when enabled)"}},
}}}}}


async def _with_files(request: Request, ctx: Any, number: str, code: str | None, applicant_id: str | None,
                      action: str, status: int) -> Response:
    """Find the application, then read the files and hand them to ``OnlineService.<action>``
    (``supplement``: 409 before any body is read when nothing is awaited)."""
    from adapters.attachments import AttachmentRejected

    try:
        app = find_application(request, number, code, applicant_id)
    except TooManyLookups as exc:
        return _too_many(request, exc)
    svc = _service(request)
    limit = svc.attachments.policy.max_bytes
    if action == "supplement":
        await read(svc.expect_supplement, app)
    try:
        body = await write(ctx, getattr(svc, action), app, await _uploads(request, limit))
    except AttachmentRejected as exc:
        return _rejected(request, exc, limit)
    return json_response(body if action == "supplement" else {"files": body}, status,
                         headers={"Cache-Control": "no-store"})


@router.post("/applications/{number}/supplements", response_model=None, summary="Send the 补正 materials",
             openapi_extra=_MULTIPART,
             responses={200: {"description": "the progress after the supplement"},
                        **problems(400, 401, 403, 404, 409, 422), **_EXTRA})
async def supplement(request: Request, ctx: CtxDep, number: Number, code: QueryCode = None,
                     applicant_id: ApplicantId = None) -> Response:
    """Attach the files and fire the item's resubmission as the applicant: the case leaves its
    waiting state and its clock resumes. 409 when the office waits for nothing."""
    return await _with_files(request, ctx, number, code, applicant_id, "supplement", 200)


@router.post("/applications/{number}/files", status_code=201, response_model=None,
             summary="Add materials to an open application", openapi_extra=_MULTIPART,
             responses={201: {"description": "the files added"}, **problems(400, 401, 403, 404, 409, 422), **_EXTRA})
async def add_files(request: Request, ctx: CtxDep, number: Number, code: QueryCode = None,
                    applicant_id: ApplicantId = None) -> Response:
    """Materials uploaded after applying, while the case is open (labelled 申请材料)."""
    return await _with_files(request, ctx, number, code, applicant_id, "add_files", 201)


class RatingIn(BaseModel):
    """政务服务"好差评" (GB/T 39735-2020): 5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意."""

    model_config = ConfigDict(extra="forbid")

    grade: Any = Field(default=None, description="1 to 5", examples=[5])
    comment: Any = Field(default=None, description="at most 500 characters", examples=["办理很快，谢谢"])


@router.post("/applications/{number}/rating", status_code=201, response_model=None, summary="Rate the service",
             responses={201: {"description": "the rating"}, **problems(400, 401, 403, 404, 409, 422),
                        429: _EXTRA[429]})
async def rate(request: Request, ctx: CtxDep, number: Number, body: RatingIn, code: QueryCode = None,
               applicant_id: ApplicantId = None) -> Response:
    """Once the case is closed, once (一事一评): 409 before it closes and the second time; a grade
    outside 1–5 is 422. 不满意 and 非常不满意 open a ``rating_rectification`` case in the rated
    case's org; its reply reaches the applicant."""
    try:
        app = find_application(request, number, code, applicant_id)
    except TooManyLookups as exc:
        return _too_many(request, exc)
    svc = _service(request)
    grade = clean_json(body.grade, "grade")
    comment = clean_json(body.comment, "comment")
    rating = await write(ctx, svc.rate, app, grade, comment)
    view = svc._rating_view(rating) or {}
    return json_response({"number": rating.number, **view, "bad": rating.bad}, 201)


def limiter_of(request: Request) -> Any:
    return getattr(request.app.state.ctx, "limiter", None)


__all__ = ["NOTICE_KINDS", "find_application", "router"]
