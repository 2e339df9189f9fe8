"""Case operations over HTTP: assignment, transfer, correction, office-wide suspension, receipts and
documents, attachments.

::

    POST /api/cases/{id}/assign                 {assignee, reason?}        supervisor, leader, admin
    POST /api/cases/{id}/transfer               {to_org, reason}           supervisor, leader, admin
    POST /api/cases/{id}/correct                {reason}                   supervisor, leader, admin
    POST /api/suspensions                       {org, first, last, reason} admin of org (or above)
    POST /api/migrations                        {item_id, from_version, to_version, reason, …} root admin
    GET  /api/cases/{id}/receipt[?format=pdf]   受理回执 (HTML print view or PDF)
    GET  /api/cases/{id}/documents              the documents that can be issued now
    GET  /api/cases/{id}/documents/{template}[?format=pdf]   409 when it cannot be issued now
    POST /api/cases/{id}/attachments            multipart: file, label?    staff of the case's orgs
    GET  /api/cases/{id}/attachments            the files on the case
    GET  /api/cases/{id}/attachments/{att_id}   download

The case operations take ``If-Match`` (the case's ETag; 412 when it names another version) and
answer with the case and its new ``ETag``, like transitions. Errors are problem documents: an
oversize file is 413, a forbidden type 415, a document the case cannot have yet (a 决定书 before
any decision: ``documents.yaml`` says after which steps or in which states each one can be
issued) 409 ``document_not_issuable``.

Configuration (read once, when the first request needs it, unless :func:`configure` was called):
``CASECLOCK_TEMPLATES`` (the office's template folder), ``CASECLOCK_OFFICE_NAME``,
``CASECLOCK_QUERY_TEXT`` / ``CASECLOCK_QUERY_URL`` / ``CASECLOCK_QUERY_PHONE`` (how to query
progress; ``{number}`` and ``{id}`` are filled in), ``CASECLOCK_ATTACHMENT_MAX_MB`` (default 20),
``CASECLOCK_ATTACHMENT_OFD`` (``1`` accepts OFD files), ``CASECLOCK_ATTACHMENTS_DIR`` (SQLite:
the folder for the files, default beside the database).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, File, Form, Query, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.responses import Response

from adapters.attachments import (
    AttachmentCorrupted,
    AttachmentPolicy,
    AttachmentRejected,
    Attachments,
    MiB,
    attachment_store_for,
)
from adapters.documents import (
    DocumentNotIssuable,
    DocumentRenderer,
    DocumentSettings,
    DocumentTooLarge,
    TemplateNotFound,
)
from workflow.engine import Engine
from workflow.errors import CaseNotFound, VersionConflict
from workflow.model import Actor, Case

from .deps import ActorDep, CtxDep, case_response, clean_text, json_response
from .problems import PreconditionFailed, problem_response
from .routes.cases import IfMatch, _if_match
from .schemas import CaseOut, problems
from .scope import CASE, OFFICE, SUBTREE, scope

router = APIRouter(prefix="/api", tags=["operations"])


# --- configuration -------------------------------------------------------------------------------


@dataclass
class Ops:
    """What these routes need besides the engine: the document renderer and the attachments."""

    documents: DocumentRenderer
    attachments: Attachments


def ops_from_env(engine: Engine, env: dict[str, str] | None = None) -> Ops:
    """Build the renderer and the attachments from ``CASECLOCK_*`` environment variables."""
    e = dict(os.environ if env is None else env)
    defaults = DocumentSettings()
    templates = e.get("CASECLOCK_TEMPLATES")
    docs = DocumentSettings(
        template_dir=Path(templates) if templates else None,
        office_name=e.get("CASECLOCK_OFFICE_NAME") or defaults.office_name,
        query_text=e.get("CASECLOCK_QUERY_TEXT") or defaults.query_text,
        query_url=e.get("CASECLOCK_QUERY_URL", ""),
        query_phone=e.get("CASECLOCK_QUERY_PHONE", ""),
    )
    max_mb = float(e.get("CASECLOCK_ATTACHMENT_MAX_MB") or 20)
    policy = AttachmentPolicy(max_bytes=int(max_mb * MiB),
                              allow_ofd=e.get("CASECLOCK_ATTACHMENT_OFD", "") in ("1", "true", "yes"))
    store = attachment_store_for(engine, e.get("CASECLOCK_ATTACHMENTS_DIR") or None)
    return Ops(documents=DocumentRenderer(docs, org_name=engine.orgs.name, orgs=engine.orgs),
               attachments=Attachments(engine, store, policy))


_lock = threading.Lock()


def configure(app: FastAPI, ops: Ops) -> None:
    """Give the routes their renderer and attachments (otherwise built from the environment)."""
    app.state.ops = ops


def _ops(request: Request, engine: Engine) -> Ops:
    ops = getattr(request.app.state, "ops", None)
    if ops is None:
        with _lock:
            ops = getattr(request.app.state, "ops", None)
            if ops is None:
                ops = request.app.state.ops = ops_from_env(engine)
    return ops


# --- requests ------------------------------------------------------------------------------------


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignee: str | None = Field(max_length=128, description="the officer in charge (承办人); null clears it")
    reason: str | None = Field(default=None, max_length=2000)


Reason = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=r"\S")]  # required, not blank


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to_org: str = Field(min_length=1, max_length=64, examples=["420500"])
    reason: Reason = Field(examples=["属宜昌市管辖，移送处理"])


class CorrectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(examples=["审查员误点“不予登记”，予以更正"])


class SuspensionIn(BaseModel):
    """An office-wide suspension: the days ``first`` to ``last`` (inclusive) are not counted by
    any clock of the open cases of ``org`` and the orgs under it."""

    model_config = ConfigDict(extra="forbid")

    org: str = Field(min_length=1, max_length=64, examples=["420100"])
    first: date
    last: date
    reason: Reason = Field(examples=["政务服务系统停机"])


class MigrationIn(BaseModel):
    """Move running cases of an item from one definition version to another."""

    model_config = ConfigDict(extra="forbid")

    item_id: str = Field(min_length=1, max_length=128)
    from_version: int = Field(ge=1)
    to_version: int = Field(ge=1)
    reason: Reason = Field(examples=["2021年修改的办法适用于未办结案件"])
    state_map: dict[str, str] = Field(default_factory=dict, description="old state → new state (default: same name)")
    apply_new_limits: bool = Field(default=False, description="the new version's limits govern the moved cases")
    case_ids: list[str] | None = Field(default=None, max_length=10_000, description="only these cases")


_ETAG = {"ETag": {"description": 'the case version, quoted: "3"', "schema": {"type": "string"}}}
_CASE: dict[int | str, dict[str, Any]] = {200: {"model": CaseOut, "headers": _ETAG}}


# --- case operations -----------------------------------------------------------------------------


def _conditional(ctx: Any, actor: Actor, case_id: str, if_match: str | None,
                 call: Callable[[int | None], Case]) -> Case:
    """Run ``call(expected_version)`` under ``If-Match`` semantics (412 when another version).
    A case the caller cannot see is 404 before anything in the body is judged."""
    current_case = ctx.engine.get_case(case_id, actor)
    tags = _if_match(if_match)
    expected: int | None = None
    if tags is not None:
        if len(tags) == 1:
            expected = tags[0]
        else:
            current = current_case.version
            if current not in tags:
                raise PreconditionFailed(f"If-Match {if_match!r} does not name version {current}", current)
            expected = current
    try:
        return call(expected)
    except VersionConflict as exc:
        if tags is None:
            raise
        current = ctx.engine.get_case(case_id, actor).version
        raise PreconditionFailed(f"If-Match {if_match!r}: the case is at version {current}; reload it",
                                 current) from exc


def _text(value: str | None, field: str) -> str | None:
    return clean_text(value, field) if value is not None else None


@router.post("/cases/{case_id}/assign", response_model=None, summary="Assign the officer in charge (承办人)",
             responses={**_CASE, **problems(400, 401, 403, 404, 409, 412)}, openapi_extra=scope(CASE))
def assign(ctx: CtxDep, actor: ActorDep, case_id: str, body: AssignIn, if_match: IfMatch = None) -> Response:
    """Set or change who is in charge of the case; worklists follow. Supervisors, leaders and
    admins.

    Scope: one case in the caller's org subtree; a case outside it is 404."""
    case_id = clean_text(case_id, "case_id")
    case = _conditional(ctx, actor, case_id, if_match, lambda v: ctx.engine.assign(
        case_id, _text(body.assignee, "assignee"), actor=actor, expected_version=v,
        reason=_text(body.reason, "reason")))
    return case_response(case)


@router.post("/cases/{case_id}/transfer", response_model=None, summary="Transfer the case to another org (移送)",
             responses={**_CASE, **problems(400, 401, 403, 404, 409, 412, 422)}, openapi_extra=scope(CASE))
def transfer(ctx: CtxDep, actor: ActorDep, case_id: str, body: TransferIn, if_match: IfMatch = None) -> Response:
    """Move the case to ``to_org`` with a reason. Its clocks go on; both orgs see the transfer in
    the history and are notified; the old org loses access. Supervisors, leaders and admins; an
    unknown org is 422.

    Scope: one case in the caller's org subtree; a case outside it is 404. The receiving org may
    be any (移送 between cities is the point of it)."""
    case_id = clean_text(case_id, "case_id")
    case = _conditional(ctx, actor, case_id, if_match, lambda v: ctx.engine.transfer(
        case_id, clean_text(body.to_org, "to_org"), actor=actor, reason=clean_text(body.reason, "reason"),
        expected_version=v))
    return case_response(case)


@router.post("/cases/{case_id}/correct", response_model=None, summary="Reverse the last transition (更正)",
             responses={**_CASE, **problems(400, 401, 403, 404, 409, 412, 422)}, openapi_extra=scope(CASE))
def correct(ctx: CtxDep, actor: ActorDep, case_id: str, body: CorrectIn, if_match: IfMatch = None) -> Response:
    """Reverse the case's last transition with a reason: state, data and clocks return to what
    they were; the history keeps both. A correction cannot be corrected (409). Supervisors,
    leaders and admins.

    Scope: one case in the caller's org subtree; a case outside it is 404."""
    case_id = clean_text(case_id, "case_id")
    case = _conditional(ctx, actor, case_id, if_match, lambda v: ctx.engine.correct(
        case_id, actor=actor, reason=clean_text(body.reason, "reason"), expected_version=v))
    return case_response(case)


@router.post("/suspensions", status_code=201, response_model=None, summary="Declare an office-wide suspension",
             responses={201: {"description": "the cases whose clocks it suspended"},
                        **problems(400, 401, 403, 422)}, openapi_extra=scope(SUBTREE))
def suspend(ctx: CtxDep, actor: ActorDep, body: SuspensionIn) -> Response:
    """Force majeure or a system outage: the days ``first`` to ``last`` are not counted by the
    clocks of the open cases of ``org`` (and the orgs under it); each case records it. Admins.

    Scope: the caller's org subtree. ``org`` must be the admin's org or one under it (a city
    admin suspends the city's cases only); another org is 403 and nothing changes; an unknown
    org is 422."""
    touched = ctx.engine.suspend(clean_text(body.org, "org"), body.first, body.last, actor=actor,
                                 reason=clean_text(body.reason, "reason"))
    return json_response({"org": body.org, "first": body.first.isoformat(), "last": body.last.isoformat(),
                          "reason": body.reason, "cases": touched, "count": len(touched)}, 201)


@router.post("/migrations", response_model=None, summary="Move running cases to another definition version",
             responses={200: {"description": "the cases moved"}, **problems(400, 401, 403, 404, 422)},
             openapi_extra=scope(OFFICE))
def migrate(ctx: CtxDep, actor: ActorDep, body: MigrationIn) -> Response:
    """Each case's state is mapped (``state_map``, else the same name); if any cannot be mapped
    nothing moves (400, every problem listed). Each moved case records a ``migrated`` event.

    Scope: the whole office. Needs the admin role at the root of the org tree (420000 in Hubei):
    a definition's versions are the office's; the admin of a city or any org below the root gets
    403 and nothing changes."""
    moved = ctx.engine.migrate(
        clean_text(body.item_id, "item_id"), from_version=body.from_version, to_version=body.to_version,
        actor=actor, reason=clean_text(body.reason, "reason"),
        state_map={clean_text(k, "state_map"): clean_text(v, "state_map") for k, v in body.state_map.items()},
        apply_new_limits=body.apply_new_limits,
        case_ids=[clean_text(c, "case_ids") for c in body.case_ids] if body.case_ids is not None else None,
    )
    return json_response({"item_id": body.item_id, "from_version": body.from_version,
                          "to_version": body.to_version, "cases": moved, "count": len(moved)})


# --- receipts and documents ----------------------------------------------------------------------

Format = Annotated[Literal["html", "pdf"], Query(description="html: the print view; pdf: a PDF file")]
_DOC: dict[int | str, dict[str, Any]] = {200: {"content": {"text/html": {"schema": {"type": "string"}},
                          "application/pdf": {"schema": {"type": "string", "format": "binary"}}},
              "description": "the document"}}


def _disposition(kind: str, filename: str) -> str:
    ascii_name = filename.encode("ascii", "replace").decode("ascii").replace("?", "_").replace('"', "_")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def _document(request: Request, ctx: Any, actor: Actor, case_id: str, template: str, fmt: str) -> Response:
    case_id = clean_text(case_id, "case_id")
    case = ctx.engine.get_case(case_id, actor)
    ops = _ops(request, ctx.engine)
    defn = ctx.engine.definition(case.item_id, case.definition_version)
    events = ctx.engine.history(case_id, actor)
    try:
        if fmt == "pdf":
            body = ops.documents.pdf(template, case, defn, events=events, check=True)
            name = f"{ops.documents.title(template)}-{case.number}.pdf"
            return Response(body, media_type="application/pdf",
                            headers={"Content-Disposition": _disposition("inline", name),
                                     "ETag": f'"{case.version}"'})
        page = ops.documents.html(template, case, defn, events=events, check=True)
    except TemplateNotFound as exc:
        return problem_response(404, "Not found", str(exc), code="template_not_found",
                                instance=request.url.path)
    except DocumentTooLarge as exc:  # stored text longer than a PDF is laid out for: refused at once
        return problem_response(422, "Document too large", str(exc), code=exc.code,
                                instance=request.url.path, size=exc.size, reason=exc.reason)
    except DocumentNotIssuable as exc:
        return problem_response(409, "Document not issuable", str(exc), code=exc.code,
                                instance=request.url.path, document=exc.document, document_title=exc.title,
                                reason=exc.reason, issuable_after=list(exc.after),
                                issuable_in=list(exc.states))
    return Response(page, media_type="text/html; charset=utf-8", headers={"ETag": f'"{case.version}"'})


@router.get("/cases/{case_id}/receipt", response_model=None, summary="The receipt (受理回执)",
            responses={**_DOC, **problems(400, 401, 404, 422)})
def receipt(request: Request, ctx: CtxDep, actor: ActorDep, case_id: str, format: Format = "html") -> Response:  # noqa: A002
    """Case number, item, what was received, the statutory and committed dates, how to query
    progress; ``?format=pdf`` for the PDF."""
    return _document(request, ctx, actor, case_id, "receipt", format)


@router.get("/cases/{case_id}/documents", response_model=None, summary="The documents that can be issued now",
            responses=problems(400, 401, 404))
def documents(request: Request, ctx: CtxDep, actor: ActorDep, case_id: str) -> Response:
    """Only what the case can have now: a 决定书 appears once a decision is taken, a 补正通知书 once
    补正 was asked for (``documents.yaml``). ``after`` names the step that allows it and its time."""
    case_id = clean_text(case_id, "case_id")
    case = ctx.engine.get_case(case_id, actor)
    defn = ctx.engine.definition(case.item_id, case.definition_version)
    events = ctx.engine.history(case_id, actor)
    base = f"/api/cases/{case_id}/documents"
    items = []
    for d in _ops(request, ctx.engine).documents.available(case, defn, events):
        ev = d.event
        items.append({"name": d.name, "title": d.title, "html": f"{base}/{d.name}", "pdf": f"{base}/{d.name}?format=pdf",
                      "after": ({"seq": ev.seq, "kind": ev.kind, "trigger": ev.trigger, "at": ev.at.isoformat()}
                                if ev is not None else None)})
    return json_response({"items": items, "next": None})


@router.get("/cases/{case_id}/documents/{template}", response_model=None,
            summary="A document from the office's template (受理通知书, 补正通知书, 决定书 …)",
            responses={**_DOC, **problems(400, 401, 404, 409, 422)})
def document(request: Request, ctx: CtxDep, actor: ActorDep, case_id: str, template: str,
             format: Format = "html") -> Response:  # noqa: A002
    """409 ``document_not_issuable`` when the case cannot have it yet (``issuable_after``: the
    steps of this item after which it can be issued; ``issuable_in``: the states)."""
    return _document(request, ctx, actor, case_id, clean_text(template, "template"), format)


# --- attachments ---------------------------------------------------------------------------------

_STATUS = {"too_large": (413, "Payload too large"), "forbidden_type": (415, "Unsupported media type")}


@router.post("/cases/{case_id}/attachments", status_code=201, response_model=None, summary="Attach a file",
             responses={201: {"description": "the attachment (without its content)"},
                        **problems(400, 401, 403, 404, 422),
                        413: {"description": "the file is over the size limit"},
                        415: {"description": "a type not accepted, or content that is not what its name says"}})
def upload(
    request: Request, ctx: CtxDep, actor: ActorDep, case_id: str,
    file: Annotated[UploadFile, File(description="PDF, JPEG, PNG, DOCX or XLSX (OFD when enabled)")],
    label: Annotated[str, Form(max_length=100, description="what it is: 申请书, 补正材料, 证据 …")] = "",
) -> Response:
    """Store a file on the case (checked by size, extension and content), listed in its history
    as an ``attached`` event."""
    case_id = clean_text(case_id, "case_id")
    ctx.engine.get_case(case_id, actor)  # 404 before the file is judged
    ops = _ops(request, ctx.engine)
    limit = ops.attachments.policy.max_bytes
    content = file.file.read(limit + 1)
    try:
        att = ops.attachments.add(case_id, clean_text(file.filename or "", "file"), content, actor=actor,
                                  content_type=file.content_type, label=clean_text(label, "label"))
    except AttachmentRejected as exc:
        status, title = _STATUS.get(exc.reason, (422, "Unprocessable content"))
        return problem_response(status, title, str(exc), code=f"attachment_{exc.reason}",
                                instance=request.url.path, field="file", rule=exc.reason,
                                max_bytes=limit if exc.reason == "too_large" else None)
    return json_response(att.to_dict(), 201,
                         {"Location": f"/api/cases/{case_id}/attachments/{att.id}"})


@router.get("/cases/{case_id}/attachments", response_model=None, summary="The files on a case",
            responses=problems(400, 401, 404))
def list_attachments(request: Request, ctx: CtxDep, actor: ActorDep, case_id: str) -> Response:
    case_id = clean_text(case_id, "case_id")
    items = _ops(request, ctx.engine).attachments.list(case_id, actor=actor)
    return json_response({"items": [
        {**a.to_dict(), "href": f"/api/cases/{case_id}/attachments/{a.id}"} for a in items
    ], "next": None})


@router.get("/cases/{case_id}/attachments/{attachment_id}", response_model=None, summary="Download a file",
            responses={200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
                             "description": "the file as uploaded"}, **problems(400, 401, 404)})
def download(request: Request, ctx: CtxDep, actor: ActorDep, case_id: str, attachment_id: str) -> Response:
    case_id, attachment_id = clean_text(case_id, "case_id"), clean_text(attachment_id, "attachment_id")
    try:
        att, content = _ops(request, ctx.engine).attachments.get(case_id, attachment_id, actor=actor)
    except CaseNotFound:
        raise
    except AttachmentCorrupted as exc:
        return problem_response(500, "Stored file damaged", str(exc), code=exc.code, instance=request.url.path)
    return Response(content, media_type=att.content_type, headers={
        "Content-Disposition": _disposition("attachment", att.filename),
        "ETag": f'"{att.sha256}"',
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    })


__all__ = ["Ops", "configure", "ops_from_env", "router"]
