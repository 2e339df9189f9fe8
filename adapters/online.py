"""The applicant's side (issue 17): apply online, follow the matter, supplement, hear, rate.

:class:`OnlineService` is the use case the API (``/api/applications``) and the pages (``/apply``)
share; :class:`NoticeObserver` (in ``Engine.observers``, installed by ``build_engine``) writes what
the applicant is told in the unit of work of the step that causes it.

- **Apply.** The items open to online application are the definitions whose ``online`` terms say
  so (``workflow.online``). An application opens the case as the applicant (id
  ``applicant:<their id>``, role ``portal``), with ``channel: online`` where the item has that field
  and its legal start on the day of receipt; the application row (who applied, the query code's
  hash) is written in the same unit of work (``open_case(within=…)``). The code is returned once.
- **Identity.** The province's portal vouches for the applicant (a ``portal`` token and their
  id); without a portal, the case number and the query code identify the application. Both lead
  to one :class:`~adapters.applications.Application`; an unknown number and a wrong code are the
  same :class:`~workflow.errors.CaseNotFound`.
- **Supplements.** While the case (or a bundle's child) waits in a state its supplement trigger
  leaves, uploaded files are attached (the attachments store) and the trigger fires as the
  applicant, resuming the clock.
- **Notices.** 受理, 补正 (the full list, once), 延期 (the reason), 办结, 不予受理 — and the reply to
  a 差评 — are rows of ``application_notices`` (the applicant's page) and, when the applicant gave
  a phone or an e-mail address, an outbox message (topic ``applicant_notice``) for the email and
  SMS channels, in the step's transaction.
- **Ratings.** Once closed, one rating per case (一事一评); a 差评 opens a ``rating_rectification``
  case in the rated case's org, as the engine's own actor.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from workflow import legaltime as lt
from workflow.definition import Definition
from workflow.engine import Engine
from workflow.errors import (
    CaseNotFound,
    Forbidden,
    IdempotencyMismatch,
    MissingData,
    TransitionNotAllowed,
    UnknownItem,
)
from workflow.model import SYSTEM, Actor, Case, OutboxMessage
from workflow.online import (
    NOTICE_KINDS,
    STATUS_LABELS,
    Material,
    awaiting_states,
    check_query_code,
    hash_query_code,
    materials,
    new_query_code,
    normalise_code,
    notice_kind,
    split_needs,
    status_of,
    supplement_fields,
    terms,
)
from workflow.ports import Step
from workflow.ratings import GRADES, MAX_COMMENT, RECTIFICATION_ITEM, Rating, parse_grade

from .applications import (
    AlreadyRated,
    Applicant,
    Application,
    ApplicationStore,
    Notice,
    application_store_for,
)

APPLICANT_PREFIX = "applicant:"
NOTICE_TOPIC = "applicant_notice"
SUPPLEMENT_LABEL = "补正材料"
MATERIAL_LABEL = "申请材料"
MAX_FILES = 20  # files in one upload
_PHONE = re.compile(r"^\+?[0-9][0-9\- ]{4,30}$")
_EMAIL = re.compile(r"^[^@\s]{1,128}@[^@\s]{1,126}\.[^@\s]{1,60}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def applicant_actor(applicant: Applicant, org: str) -> Actor:
    """The applicant as an actor: role ``portal`` (what the province's portal does on their
    behalf), in the org of their application."""
    return Actor(id=f"{APPLICANT_PREFIX}{applicant.id}", roles={"portal"}, org=org, name=applicant.name)


def check_applicant(raw: Mapping[str, Any] | None) -> Applicant:
    """An :class:`Applicant` from a request's ``applicant`` object (MissingData naming each bad
    field: ``applicant.id``, ``applicant.name``, ``applicant.phone``, ``applicant.email``)."""
    if not isinstance(raw, Mapping):
        raise MissingData("applicant is required: {id, name, phone?, email?}", {"applicant": "required"})
    problems: dict[str, str] = {}
    unknown = sorted(set(map(str, raw)) - {"id", "name", "phone", "email"})
    for k in unknown:
        problems[f"applicant.{k}"] = "unknown field (id, name, phone, email)"

    def text(key: str, limit: int, required: bool) -> str:
        value = raw.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                problems[f"applicant.{key}"] = "required"
            return ""
        if not isinstance(value, str):
            problems[f"applicant.{key}"] = "must be text"
            return ""
        value = value.strip()
        if len(value) > limit:
            problems[f"applicant.{key}"] = f"at most {limit} characters"
        elif _CONTROL.search(value):
            problems[f"applicant.{key}"] = "must not contain control characters"
        return value

    aid, name = text("id", 128, True), text("name", 255, True)
    phone, email = text("phone", 32, False), text("email", 255, False)
    if phone and "applicant.phone" not in problems and not _PHONE.match(phone):
        problems["applicant.phone"] = "a phone number: digits, spaces and dashes, optionally a leading +"
    if email and "applicant.email" not in problems and not _EMAIL.match(email):
        problems["applicant.email"] = "an e-mail address (name@example.org)"
    if problems:
        raise MissingData("applicant: " + "; ".join(f"{k}: {v}" for k, v in problems.items()), problems)
    return Applicant(id=aid, name=name, phone=phone, email=email)


@dataclass(frozen=True)
class Upload:
    """A file as received (checked by the attachments policy before anything is written)."""

    filename: str
    content: bytes
    content_type: str | None = None
    label: str = ""


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class OnlineService:
    """The applicant's use cases over an engine (its store's application rows, its attachments)."""

    def __init__(self, engine: Engine, store: ApplicationStore | None = None, attachments: Any = None) -> None:
        self.engine = engine
        self.store = store if store is not None else application_store_for(engine.store)
        self._attachments = attachments

    @property
    def attachments(self) -> Any:
        if self._attachments is None:
            from .attachments import Attachments

            self._attachments = Attachments(self.engine)
        return self._attachments

    # -- items --------------------------------------------------------------------------------

    def items(self) -> list[Definition]:
        """The definitions open to online application (newest versions), by kind then name."""
        order = {"service_item": 0, "bundle": 1, "dispute_case": 2}
        found = [d for d in self.engine.registry.latest() if terms(d).open]
        return sorted(found, key=lambda d: (order.get(d.kind, 9), d.id))

    def item(self, item_id: str) -> Definition:
        """An item open to online application (UnknownItem otherwise, naming why)."""
        try:
            defn = self.engine.definition(item_id)
        except UnknownItem:
            raise UnknownItem(f"no item {item_id!r} is open to online application") from None
        t = terms(defn)
        if not t.open:
            raise UnknownItem(f"{defn.name} ({item_id}) is not open to online application: {t.reason}")
        return defn

    def fields(self, defn: Definition) -> list[Any]:
        """The form's fields: the item's own, then a bundle's children's (each once); ``channel``
        is left out (an online application is ``online``)."""
        seen: dict[str, Any] = {}
        for spec in (*defn.fields, *(f for c in defn.children for f in self.engine.definition(c).fields)):
            if spec.name != "channel":
                seen.setdefault(spec.name, spec)
        return list(seen.values())

    def materials(self, defn: Definition) -> tuple[Material, ...]:
        return materials(defn)

    def time_limit(self, defn: Definition) -> str:
        """The online application's limit in words (the main clock, on the online limit where
        the channel chooses it) and from when it counts: ``法定办理时限2个工作日，本局承诺1个工作日办结
        （自收到申请的次日起算）``; "" without a main clock."""
        from workflow.legaltime import commitment_for
        from workflow.limits import Limit, Unit

        cdef = defn.clocks.get(defn.main_clock or "")
        if cdef is None:
            return ""
        limit = cdef.limit_choice.pick({"channel": "online"}) if cdef.limit_choice else cdef.limit
        ratio = defn.commitment_ratio if "commitment_ratio" in defn.raw else self.engine.settings.commitment_ratio
        if cdef.commitment is not None:
            promise = cdef.commitment
        elif ratio >= 1:
            promise = limit
        else:
            unit = Unit.WORKING_DAYS if limit.unit is Unit.WORKING_DAYS else Unit.DAYS
            promise = Limit(commitment_for(limit, ratio), unit)
        words = "办理时限" if cdef.status == "office" else "法定办理时限"
        since = "收到申请" if cdef.start == defn.initial else f"“{defn.label_of(cdef.start)}”"
        text = f"{words}{limit.label}" + ("" if promise == limit else f"，本局承诺{promise.label}办结")
        return f"{text}（自{since}的次日起算）"

    def form_problems(self, defn: Definition, data: Mapping[str, Any]) -> dict[str, str]:
        """What the engine would refuse in ``data`` when opening (field → problem), without
        opening anything: a page shows them beside the applicant's own mistakes at once."""
        from workflow.engine import check_data

        problems: dict[str, str] = {}
        for d in (defn, *(self.engine.definition(c) for c in defn.children)):
            given = {k: v for k, v in data.items() if k in {f.name for f in d.fields}}
            filled = {**{f.name: f.default for f in d.fields if f.default is not None}, **given}
            try:
                check_data([f.name for f in d.fields if f.required], d.fields, given, filled,
                           self.engine.field_context())
            except MissingData as exc:
                problems.update(exc.fields or {})
        return problems

    # -- applying -----------------------------------------------------------------------------

    def apply(self, item_id: str, data: Mapping[str, Any] | None, applicant: Applicant, *,
              org: str, via: str, portal: Actor | None = None,
              files: Sequence[Upload] = (), idempotency_key: str | None = None) -> tuple[Case, str]:
        """Open the application; returns the case and its query code (shown once). ``portal``:
        the portal's actor (the org must be in its scope); ``files``: materials uploaded with it
        (each checked before the case opens). ``idempotency_key``: a retry with the same key and
        the same application opens nothing more and answers the same case — with a new query
        code, since only its hash is kept (the code of the lost answer stops working)."""
        defn = self.item(item_id)
        if portal is not None and not self.engine.orgs.covers(portal.org, org):
            raise Forbidden(f"the portal of org {portal.org} cannot apply to org {org}")
        if org not in self.engine.orgs:
            raise MissingData(f"unknown org {org!r}", {"org": "unknown org"})
        given = dict(data or {})
        if not isinstance(data, (Mapping, type(None))):
            raise MissingData("data must be an object of the form's fields", {"data": "must be an object"})
        allowed = {f.name for f in self.fields(defn)} | {a for f in self.fields(defn) for a in f.aliases}
        unknown = sorted(k for k in given if k not in allowed)
        if unknown:
            raise MissingData(f"data: {', '.join(unknown)} are not fields of {defn.name}",
                              {f"data.{k}": "not a field of this item" for k in unknown})
        if any(f.name == "channel" for f in (*defn.fields, *self._child_fields(defn))):
            given["channel"] = "online"
        self.check_files(files)
        code = new_query_code()
        code_hash = hash_query_code(code)
        now = self.engine.now()
        actor = applicant_actor(applicant, org)

        recorded: list[str] = []

        def record(uow: Any, rec: Any) -> None:
            self.store.add(uow, Application(case_id=rec.id, number=rec.number, org=org, item_id=defn.id,
                                            applicant=applicant, code_hash=code_hash, created_at=now, via=via))
            recorded.append(rec.id)

        case = self.engine.open_case(defn.id, actor=actor, data=given, org=org, within=record,
                                     idempotency_key=idempotency_key)
        if not recorded:  # a replay: the application is there; its code is replaced
            with self.engine.store.unit_of_work() as uow:
                if self.store.get(uow, case.id) is None:
                    raise IdempotencyMismatch("the Idempotency-Key was used for another call")
                self.store.set_code_hash(uow, case.id, code_hash)
                uow.commit()
            return case, code
        for f in files:
            self.attachments.add(case.id, f.filename, f.content, actor=actor, content_type=f.content_type,
                                 label=f.label or MATERIAL_LABEL)
        return case, code

    def _child_fields(self, defn: Definition) -> list[Any]:
        return [f for c in defn.children for f in self.engine.definition(c).fields]

    def check_files(self, files: Sequence[Upload]) -> None:
        """Each file against the attachments policy (AttachmentRejected naming the first bad one)."""
        from .attachments import AttachmentRejected, clean_filename

        if len(files) > MAX_FILES:
            raise MissingData(f"at most {MAX_FILES} files at once", {"files": f"at most {MAX_FILES}"})
        policy = self.attachments.policy
        for f in files:
            name = clean_filename(f.filename)
            if not isinstance(f.content, bytes):
                raise AttachmentRejected(f"{name}: not a file", "forbidden_type")
            policy.check(name, f.content, f.content_type)

    # -- finding an application ---------------------------------------------------------------

    def find(self, number: str, code: str | None) -> Application:
        """The application with this number whose query code is ``code`` (CaseNotFound for an
        unknown number and a wrong code alike; the same work either way)."""
        number = (number or "").strip()[:128]
        with self.engine.store.unit_of_work() as uow:
            apps = self.store.by_number(uow, number) if number else []
        given = normalise_code(code)
        found = None
        for app in apps or [None]:  # type: ignore[list-item]
            ok = check_query_code(given, app.code_hash if app else None)
            if ok and found is None:
                found = app
        if found is None:
            raise CaseNotFound(f"no application {number!r} with that query code")
        return found

    def find_for(self, number: str, applicant_id: str, portal: Actor) -> Application:
        """The application with this number made by ``applicant_id`` in the portal's scope."""
        number = (number or "").strip()[:128]
        with self.engine.store.unit_of_work() as uow:
            apps = self.store.by_number(uow, number) if number else []
        for app in apps:
            if app.applicant.id == applicant_id and self.engine.orgs.covers(portal.org, app.org):
                return app
        raise CaseNotFound(f"no application {number!r} of applicant {applicant_id!r}")

    def of_applicant(self, applicant_id: str, portal: Actor) -> list[Application]:
        """An applicant's applications in the portal's scope, newest first."""
        with self.engine.store.unit_of_work() as uow:
            apps = self.store.by_applicant(uow, applicant_id)
        return [a for a in apps if self.engine.orgs.covers(portal.org, a.org)]

    def get(self, case_id: str) -> Application | None:
        with self.engine.store.unit_of_work() as uow:
            return self.store.get(uow, case_id)

    # -- progress -----------------------------------------------------------------------------

    def _cases(self, app: Application) -> tuple[Case, list[Case]]:
        case = self.engine.get_case(app.case_id)
        children = [self.engine.get_case(c) for c in case.children]
        return case, children

    def _accepted(self, notices: Iterable[Notice], case_id: str) -> bool:
        return any(n.kind == "accepted" and n.case_id == case_id for n in notices)

    def _needs(self, case: Case) -> tuple[list[str], str | None]:
        """What the office waits for from the applicant on ``case``, and by when (ISO date)."""
        defn = self.engine.definition(case.item_id, case.definition_version)
        if case.state not in awaiting_states(defn):
            return [], None
        asked = None
        for ev in reversed(self.engine.history(case.id)):
            if ev.kind == "transition" and ev.to_state == case.state and ev.from_state != case.state \
                    and ev.trigger is not None and ev.from_state is not None:
                asked = ev
                break
        needs: list[str] = []
        due: str | None = None
        if asked is not None:
            texts, dates = supplement_fields(defn, asked.trigger or "", asked.from_state or "")
            for name in texts:
                value = asked.data.get(name)
                if isinstance(value, str) and value.strip():
                    needs += split_needs(value)
            for name in dates:
                value = asked.data.get(name)
                if isinstance(value, str) and value:
                    due = value[:10]
                    break
        if due is None:  # a party clock running for the applicant (补正期限)
            for c in case.clocks.values():
                if c.party and c.status == "running" and c.statutory_due is not None:
                    due = c.statutory_due.isoformat()
                    break
        return needs or ["请按办理机关的补正通知提交材料"], due

    def progress(self, app: Application) -> dict[str, Any]:
        """Where the matter stands, in plain Chinese (what the API and the page show)."""
        self._ensure_rectification(app)
        case, children = self._cases(app)
        defn = self.engine.definition(case.item_id, case.definition_version)
        with self.engine.store.unit_of_work() as uow:
            notices = self.store.notices(uow, app.case_id)
            rating = self.store.rating(uow, app.case_id)
        accepted = self._accepted(notices, case.id) or any(self._accepted(notices, c.id) for c in children)
        refused = case.final and not accepted and any(n.kind == "not_accepted" for n in notices)
        status = status_of(defn, case.state, accepted=accepted, not_accepted=refused)
        needs, needs_by = self._needs(case)
        parts = []
        for child in children:
            cdef = self.engine.definition(child.item_id, child.definition_version)
            c_needs, c_by = self._needs(child)
            c_acc = self._accepted(notices, child.id)
            parts.append({
                "item_id": child.item_id, "item_name": child.item_name, "number": child.number,
                "status": status_of(cdef, child.state, accepted=c_acc),
                "status_label": STATUS_LABELS[status_of(cdef, child.state, accepted=c_acc)],
                "state": child.state, "state_label": child.state_label, "needs": c_needs, "needs_by": c_by,
            })
            if c_needs:
                needs += [f"{child.item_name}：{n}" for n in c_needs]
                needs_by = needs_by or c_by
        if status != "closed" and status != "not_accepted" and any(p["status"] == "awaiting_supplement" for p in parts):
            status = "awaiting_supplement"
        main = case.clocks.get(case.main_clock or "") if case.main_clock else None
        return {
            "number": case.number,
            "item_id": case.item_id,
            "item_name": case.item_name,
            "org": case.org,
            "org_name": self.engine.orgs.name(case.org),
            "applicant": {"id": app.applicant.id, "name": app.applicant.name},
            "status": status,
            "status_label": STATUS_LABELS[status],
            "state": case.state,
            "state_label": case.state_label,
            "received_at": case.opened_at.isoformat(),
            "started_on": _iso(case.started_on),
            "closed_at": _iso(case.closed_at),
            "commitment_due": _iso(main.commitment_due) if main else None,
            "statutory_due": _iso(main.statutory_due) if main else None,
            "provisional": bool(main.provisional) if main else False,
            "clock": self._clock_words(main) if main else "",
            "needs": needs,
            "needs_by": needs_by,
            "can_supplement": bool(needs) and self._supplement_targets(case, children) != [],
            "children": parts,
            "steps": self._steps(case, children),
            "notices": [n.to_dict() for n in notices],
            "files": [self._file(a) for a in self._files(case)],
            "can_rate": case.final and rating is None,
            "rating": self._rating_view(rating),
        }

    @staticmethod
    def _clock_words(c: Any) -> str:
        if c.status == "paused":
            return "补正期间暂停计时，收到补正材料后继续计算"
        if c.status == "stopped":
            return "已停止计时"
        if c.status == "not_started":
            return "尚未起算"
        return "计时中"

    def _steps(self, case: Case, children: list[Case]) -> list[dict[str, Any]]:
        """What the office did, by date: openings and transitions by their labels (no data: the
        office's internal notes stay internal)."""
        out: list[dict[str, Any]] = []
        for c in (case, *children):
            defn = self.engine.definition(c.item_id, c.definition_version)
            prefix = f"{c.item_name}：" if c is not case else ""
            for ev in self.engine.history(c.id):
                if ev.kind == "opened" and c is case:
                    label = "收到网上申请"
                elif ev.kind == "transition" and ev.trigger:
                    t = defn.transition(ev.trigger, ev.from_state or "")
                    label = prefix + ((t.label if t else "") or defn.label_of(ev.to_state or ""))
                elif ev.kind == "corrected":
                    label = prefix + "更正上一步办理"
                else:
                    continue
                out.append({"at": ev.at.isoformat(), "label": label,
                            "state_label": defn.label_of(ev.to_state or "")})
        out.sort(key=lambda s: s["at"])
        return out

    def _files(self, case: Case) -> list[Any]:
        try:
            return list(self.attachments.list(case.id, actor=None))
        except CaseNotFound:
            return []

    @staticmethod
    def _file(att: Any) -> dict[str, Any]:
        return {"filename": att.filename, "label": att.label, "size": att.size,
                "uploaded_at": att.uploaded_at.isoformat(), "mine": att.uploaded_by.startswith(APPLICANT_PREFIX)}

    @staticmethod
    def _rating_view(r: Rating | None) -> dict[str, Any] | None:
        if r is None:
            return None
        return {"grade": r.grade, "grade_label": r.label, "comment": r.comment, "rated_at": r.rated_at.isoformat(),
                "rectification": ({"number": r.rectification_number, "replied": r.rectified_at is not None,
                                   "replied_at": _iso(r.rectified_at), "reply": r.reply}
                                  if r.bad else None)}

    # -- supplements --------------------------------------------------------------------------

    def _supplement_targets(self, case: Case, children: list[Case]) -> list[Case]:
        out = []
        for c in (case, *children):
            defn = self.engine.definition(c.item_id, c.definition_version)
            trig = terms(defn).supplement
            if trig and c.state in awaiting_states(defn):
                out.append(c)
        return out

    def expect_supplement(self, app: Application) -> None:
        """TransitionNotAllowed unless the office waits for the applicant's supplement."""
        case, children = self._cases(app)
        if not self._supplement_targets(case, children):
            raise TransitionNotAllowed(f"{case.number}: the office is not waiting for a supplement")

    def supplement(self, app: Application, files: Sequence[Upload]) -> dict[str, Any]:
        """Attach the files and fire the supplement trigger as the applicant on each case that
        waits for them (TransitionNotAllowed when nothing is awaited)."""
        case, children = self._cases(app)
        targets = self._supplement_targets(case, children)
        if not targets:
            raise TransitionNotAllowed(f"{case.number}: the office is not waiting for a supplement")
        if not files:
            raise MissingData("upload at least one file (field files)", {"files": "required"})
        self.check_files(files)
        actor = applicant_actor(app.applicant, case.org)
        first = targets[0]
        for f in files:
            self.attachments.add(first.id, f.filename, f.content, actor=actor, content_type=f.content_type,
                                 label=f.label or SUPPLEMENT_LABEL)
        for c in targets:
            defn = self.engine.definition(c.item_id, c.definition_version)
            self.engine.fire(c.id, terms(defn).supplement or "", actor=applicant_actor(app.applicant, c.org),
                             data={}, expected_version=c.version)
        return self.progress(app)

    def add_files(self, app: Application, files: Sequence[Upload]) -> list[dict[str, Any]]:
        """Materials uploaded after applying (while the case is open)."""
        case = self.engine.get_case(app.case_id)
        if case.final:
            raise TransitionNotAllowed(f"{case.number} is closed: files can no longer be added")
        if not files:
            raise MissingData("upload at least one file (field files)", {"files": "required"})
        self.check_files(files)
        actor = applicant_actor(app.applicant, case.org)
        return [self._file(self.attachments.add(case.id, f.filename, f.content, actor=actor,
                                                content_type=f.content_type, label=f.label or MATERIAL_LABEL))
                for f in files]

    # -- ratings ------------------------------------------------------------------------------

    def rate(self, app: Application, grade: Any, comment: Any = None) -> Rating:
        """Rate the closed case once (一事一评); a 差评 opens its rectification."""
        try:
            g = parse_grade(grade)
        except ValueError as exc:
            raise MissingData(f"grade: {exc}", {"grade": str(exc)}) from None
        if comment is not None and not isinstance(comment, str):
            raise MissingData("comment must be text", {"comment": "must be text"})
        text = (comment or "").strip()
        if len(text) > MAX_COMMENT:
            raise MissingData(f"comment: at most {MAX_COMMENT} characters", {"comment": f"at most {MAX_COMMENT} characters"})
        if _CONTROL.sub("", text.replace("\n", " ")) != text.replace("\n", " "):
            raise MissingData("comment must not contain control characters", {"comment": "control characters"})
        case = self.engine.get_case(app.case_id)
        if not case.final:
            raise TransitionNotAllowed(f"{case.number} is not closed yet: it can be rated once it is")
        with self.engine.store.unit_of_work() as uow:
            if self.store.rating(uow, case.id) is not None:
                raise AlreadyRated(f"{case.number} has been rated already (一事一评)")
        rating = Rating(case_id=case.id, number=case.number, org=case.org, item_id=case.item_id, grade=g,
                        rated_at=self.engine.now(), comment=text)
        actor = applicant_actor(app.applicant, case.org)
        self.engine.record_event(case.id, "rated", {"grade": g, "grade_label": GRADES[g], "comment": text},
                                 actor=actor, within=lambda uow: self.store.add_rating(uow, rating))
        if rating.bad:
            rating = self._open_rectification(app, rating)
        return rating

    def _open_rectification(self, app: Application, rating: Rating) -> Rating:
        defn = self.engine.definition(rating.item_id)
        data = {
            "rated_case_number": rating.number, "rated_case_id": rating.case_id, "rated_item": defn.name,
            "grade": rating.grade, "grade_label": rating.label, "comment": rating.comment,
            "applicant_name": app.applicant.name, "applicant_phone": app.applicant.phone,
        }
        done: list[Rating] = []

        def link(uow: Any, rec: Any) -> None:
            current = self.store.rating(uow, rating.case_id) or rating
            linked = replace(current, rectification_id=rec.id, rectification_number=rec.number)
            self.store.update_rating(uow, linked)
            done.append(linked)

        case = self.engine.open_case(RECTIFICATION_ITEM, actor=SYSTEM, org=rating.org, data=data,
                                     idempotency_key=f"rating-rectification:{rating.case_id}", within=link)
        return done[0] if done else replace(rating, rectification_id=case.id, rectification_number=case.number)

    def _ensure_rectification(self, app: Application) -> None:
        """A 差评 whose rectification did not open (the process stopped in between) opens it now."""
        with self.engine.store.unit_of_work() as uow:
            r = self.store.rating(uow, app.case_id)
        if r is not None and r.bad and r.rectification_id is None:
            self._open_rectification(app, r)

    def rating(self, case_id: str) -> Rating | None:
        with self.engine.store.unit_of_work() as uow:
            return self.store.rating(uow, case_id)

    def ratings_between(self, start: datetime, end: datetime) -> list[Rating]:
        with self.engine.store.unit_of_work() as uow:
            return self.store.ratings_between(uow, start, end)


# --- notices ---------------------------------------------------------------------------------------


def _fmt_day(d: date | None, provisional: bool = False) -> str:
    if d is None:
        return "—"
    return f"{d.year}年{d.month}月{d.day}日" + ("（暂定）" if provisional else "")


class NoticeObserver:
    """Writes the applicant's notices with the step that causes them (``Engine.observers``)."""

    def __init__(self, engine: Engine, store: ApplicationStore) -> None:
        self.engine = engine
        self.store = store

    def __call__(self, uow: Any, step: Step) -> None:
        rec = step.case
        if rec.item_id == RECTIFICATION_ITEM:
            if step.definition.states[step.dest].final:
                self._rectified(uow, step)
            return
        if not rec.created_by.startswith(APPLICANT_PREFIX):
            return  # not applied for online (the fast path of every other case)
        app = self.store.get(uow, rec.id)
        if app is None and rec.parent_id is not None:
            app = self.store.get(uow, rec.parent_id)
        if app is None:
            return
        accepted = self.store.has_notice(uow, app.case_id, rec.id, "accepted")
        kind = notice_kind(step.definition, step.trigger, step.source, step.dest, accepted=accepted,
                           extends=bool(step.transition.extend), special=bool(step.transition.special))
        if kind is None:
            return
        title, text, data = self._compose(kind, step, app)
        self._send(uow, app, rec.id, kind, title, text, data, step.at)

    # what each kind says
    def _dates(self, step: Step, clock: str | None = None) -> tuple[date | None, date | None, bool]:
        defn = step.definition
        name = clock or defn.main_clock
        st = step.case.clocks.get(name) if name else None
        if st is None:
            return None, None, False
        d = lt.evaluate(st, self.engine.calendar, strict=self.engine.settings.strict_calendar, today=step.at.date())
        return d.commitment_due, d.statutory_due, d.provisional

    def _special(self, step: Step) -> dict[str, Any]:
        """The special procedure this step started: its kind's name, expected time and last day."""
        from workflow.special import KIND_LABELS, SPECIAL_CLOCK

        kind = str(step.data.get("kind", ""))
        st = step.case.clocks.get(SPECIAL_CLOCK)
        end, provisional, limit = None, False, ""
        if st is not None:
            d = lt.evaluate(st, self.engine.calendar, strict=self.engine.settings.strict_calendar, today=step.at.date())
            end, provisional, limit = d.statutory_due, d.statutory_provisional, _limit_cn(str(st.limit))
        return {"label": KIND_LABELS.get(kind, kind), "end": end, "provisional": provisional, "limit": limit}

    def _compose(self, kind: str, step: Step, app: Application) -> tuple[str, str, dict[str, Any]]:
        defn, rec, t = step.definition, step.case, step.transition
        item = defn.name
        head = f"您申请的“{item}”（编号 {rec.number}）"
        commit, statutory, provisional = self._dates(step)
        data: dict[str, Any] = {"number": rec.number, "item_name": item, "state_label": defn.label_of(step.dest),
                                "step": t.label or step.trigger}
        given = dict(step.data)
        if kind == "accepted":
            data.update(commitment_due=_iso(commit), statutory_due=_iso(statutory), provisional=provisional)
            text = (f"{head}已于{_fmt_day(step.at.date())}受理。承诺办结日期：{_fmt_day(commit, provisional)}；"
                    f"法定办结期限：{_fmt_day(statutory, provisional)}。")
            return f"【受理通知】{rec.number}", text, data
        if kind == "supplement":
            texts, dates = supplement_fields(defn, step.trigger, step.source)
            needs = [n for name in texts if isinstance(given.get(name), str) for n in split_needs(given[name])]
            due = next((given[name][:10] for name in dates if isinstance(given.get(name), str) and given[name]), None)
            if due is None:  # the applicant's own period (a party clock started by this step)
                for name, st in rec.clocks.items():
                    if st.kind is lt.ClockKind.PARTY and st.status is lt.Status.RUNNING:
                        party_due = self._dates(step, name)[1]
                        due = party_due.isoformat() if party_due else None
                        break
            data.update(needs=needs, needs_by=due)
            lines = "\n".join(f"{i}. {n}" for i, n in enumerate(needs, 1)) or "（详见办理机关的书面通知）"
            by = f"请于{_fmt_day(date.fromisoformat(due[:10]))}前" if due else "请尽快"
            text = (f"{head}需要补正材料。请一次性补正以下全部内容：\n{lines}\n{by}通过查询页面上传补正材料"
                    "（或到窗口提交）。补正期间不计入办理时限，收到补正材料后继续计算。")
            return f"【补正通知】{rec.number}", text, data
        if kind == "extended":
            reason = _reason(given, t) or (t.label or "经负责人批准延长办理期限")
            clock = next(iter(t.extend), None) if t.extend else None
            if clock:
                _, statutory, provisional = self._dates(step, clock)
            label = (defn.clocks[clock].label if clock and clock in defn.clocks else "") or "办理期限"
            by = "、".join(_limit_cn(str(v)) for v in (t.extend or {}).values())
            data.update(reason=reason, extended_by=by, clock_label=label, statutory_due=_iso(statutory),
                        provisional=provisional)
            text = (f"{head}的{label}已延长{by}。理由：{reason}。"
                    f"延长后的期限：{_fmt_day(statutory, provisional)}。")
            return f"【延期通知】{rec.number}", text, data
        if kind == "special":  # 行政许可法第四十五条: the time it needs, told in writing
            sp = self._special(step)
            data.update(kind=given.get("kind"), kind_label=sp["label"], expected_limit=sp["limit"],
                        expected_end=_iso(sp["end"]), provisional=sp["provisional"])
            text = (f"{head}依法需要进行{sp['label']}，经批准自{_fmt_day(step.at.date())}起进入特别程序，"
                    f"预计所需时间{sp['limit']}，预计于{_fmt_day(sp['end'], sp['provisional'])}前结束。"
                    "该程序所需时间不计算在办理期限内，程序结束后继续计算。")
            return f"【特别程序告知】{rec.number}", text, data
        if kind == "not_accepted":
            reason = _reason(given, t) or defn.label_of(step.dest)
            data.update(reason=reason)
            text = f"{head}不予受理。理由：{reason}。如有疑问，请与办理机关联系。"
            return f"【不予受理通知】{rec.number}", text, data
        # closed
        outcome = defn.label_of(step.dest)
        details = _details(t, given)
        data.update(outcome=outcome, details=details)
        extra = "；".join(f"{k}：{v}" for k, v in details.items())
        text = (f"{head}已办结，结果：{outcome}。{extra + '。' if extra else ''}"
                "欢迎对本次服务作出评价（好差评）。")
        return f"【办结通知】{rec.number}", text, data

    def _send(self, uow: Any, app: Application, case_id: str, kind: str, title: str, text: str,
              data: Mapping[str, Any], at: datetime) -> None:
        self.store.add_notice(uow, Notice(application_id=app.case_id, case_id=case_id, kind=kind, title=title,
                                          text=text, data=dict(data), created_at=at))
        contacts = app.applicant.contacts()
        if not contacts:
            return  # the page is their only channel
        person = {"id": f"{APPLICANT_PREFIX}{app.applicant.id}", "name": app.applicant.name, "org": app.org,
                  "contacts": contacts}
        uow.add_outbox([OutboxMessage(topic=NOTICE_TOPIC, case_id=app.case_id, created_at=at, payload={
            "kind": kind, "kind_label": NOTICE_KINDS.get(kind, kind), "number": app.number, "subject": title,
            "text": text, "audience": [{"person": person}],
        })])

    def _rectified(self, uow: Any, step: Step) -> None:
        rating = self.store.rating_by_rectification(uow, step.case.id)
        if rating is None:
            return
        reply = str(step.case.data.get("reply") or "").strip()
        sla = step.case.sla
        on_time = sla in ("met", "met_late")
        self.store.update_rating(uow, replace(rating, rectified_at=step.at, rectified_on_time=on_time, reply=reply))
        app = self.store.get(uow, rating.case_id)
        if app is None:
            return
        title = f"【评价回复】{rating.number}"
        text = (f"您对办件 {rating.number} 的评价（{rating.label}）已由办理机关核实处理。"
                f"答复：{reply or step.definition.label_of(step.dest)}")
        self._send(uow, app, app.case_id, "rating_reply", title, text,
                   {"number": rating.number, "reply": reply, "outcome": step.definition.label_of(step.dest)}, step.at)


def _reason(given: Mapping[str, Any], t: Any) -> str:
    for key in ("reason", "extension_reason", "refusal_reason"):
        v = given.get(key)
        if isinstance(v, str) and v.strip():
            return v.strip()
    for f in t.fields:
        v = given.get(f.name)
        if f.type == "text" and isinstance(v, str) and v.strip():
            return v.strip()
    return ""


def _details(t: Any, given: Mapping[str, Any]) -> dict[str, str]:
    out = {}
    for f in t.fields:
        v = given.get(f.name)
        if v not in (None, "") and not isinstance(v, (dict, list)):
            out[f.label or f.name] = str(v)
    return out


def _limit_cn(text: str) -> str:
    m = re.fullmatch(r"\s*(\d+)\s+(working days?|days?|months?)\s*", text)
    if not m:
        return text
    n, unit = m.groups()
    return f"{n}{'个工作日' if unit.startswith('working') else '日' if unit.startswith('day') else '个月'}"


def install(engine: Engine) -> NoticeObserver:
    """Put the notice observer in the engine's observers (once); ``build_engine`` calls it."""
    for obs in engine.observers:
        if isinstance(obs, NoticeObserver):
            return obs
    obs = NoticeObserver(engine, application_store_for(engine.store))
    engine.observers.append(obs)
    return obs


__all__ = [
    "APPLICANT_PREFIX", "NOTICE_TOPIC", "NoticeObserver", "OnlineService", "Upload", "applicant_actor",
    "check_applicant", "install",
]
