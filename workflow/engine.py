"""The ``Engine``: the use cases every caller goes through (library, HTTP API, scheduler).

One call is one unit of work: replay a known idempotency key → load the case → expected version →
org scope → trigger allowed here → role → required data → next state from the compiled machine →
clocks start / pause / resume / stop / extend → deadlines recomputed → audit event appended →
outbox rows → case written with a version check → commit → listeners told the earliest deadline.
A rejected call leaves the case exactly as it was, history included.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from typing import Any

from . import bounds, fieldrules, special
from . import legaltime as lt
from .authority import (
    is_engine,
    refuse_reserved,
    require_outside,
    reserved_to_engine,
    scoped_idempotency_key,
)
from .calendar import WorkingCalendar
from .definition import EXTENSION_FIELDS, Definition, FieldSpec, TransitionDef
from .engine_base import BEFORE, LIMITS_KEY, _copy_json, _fingerprint, _jsonable
from .engine_base import ENGINE_EVENT_KINDS as ENGINE_EVENT_KINDS
from .errors import (
    CaseNotFound,
    Forbidden,
    IdempotencyMismatch,
    InvalidData,
    MissingData,
    TransitionNotAllowed,
    UnknownItem,
    VersionConflict,
)
from .escalation import EscalationPolicy
from .legaltime import TZ, ClockState
from .model import (
    Actor,
    Case,
    CaseRecord,
    Clock,
    Deadline,
    Event,
    clock_from_dict,
    clock_to_dict,
)
from .notice_clock import DEEMED_EVENT, DEEMED_LABEL, DEEMED_TRIGGER, NOTICE_CLOCK
from .office import OfficeMixin
from .orders import OrderStore
from .orgs import OrgTree
from .ports import (
    CaseQuery,
    DeadlineListener,
    IdempotencyRecord,
    People,
    Step,
    StepObserver,
    Store,
    UnitOfWork,
)
from .registry import Registry
from .sweep import SweepMixin
from .visibility import visible


@dataclass(frozen=True, kw_only=True)
class EngineSettings:
    """Typed, frozen configuration (environment variables are read only at the edge)."""

    commitment_ratio: Fraction = lt.DEFAULT_RATIO
    strict_calendar: bool = False
    number_pattern: str = "{prefix}-{org}-{year}-{seq:05d}"
    number_patterns: Mapping[str, str] = field(default_factory=dict)  # by "org:item", "org" or "item"
    sweep_batch: int = 200  # cases per sweep transaction: small enough that clerks wait < 100 ms
    max_backdate_days: int = 366  # a back-dated legal start (started_on), a date of service or receipt
    # (a field marked past), lies at most this far back
    escalation: EscalationPolicy = field(default_factory=EscalationPolicy)
    date_years_ahead: int = 50  # no date a person gives lies further ahead than this


def _default_now() -> datetime:
    return datetime.now(TZ)


# --- record (de)serialisation for idempotent replays ---------------------------------------------


def record_to_dict(r: CaseRecord) -> dict[str, Any]:
    return {
        "id": r.id, "number": r.number, "item_id": r.item_id,
        "definition_version": r.definition_version, "state": r.state, "version": r.version,
        "org": r.org, "assignee": r.assignee, "data": _copy_json(r.data),
        "clocks": {k: clock_to_dict(v) for k, v in r.clocks.items()},
        "opened_at": r.opened_at.isoformat(), "started_on": r.started_on.isoformat(),
        "closed_at": r.closed_at.isoformat() if r.closed_at else None, "sla": r.sla,
        "due_at": r.due_at.isoformat() if r.due_at else None, "parent_id": r.parent_id,
        "created_by": r.created_by, "last_hash": r.last_hash, "seq": r.seq,
    }


def record_from_dict(d: Mapping[str, Any]) -> CaseRecord:
    return CaseRecord(
        id=d["id"], number=d["number"], item_id=d["item_id"],
        definition_version=int(d["definition_version"]), state=d["state"], version=int(d["version"]),
        org=d["org"], assignee=d.get("assignee"), data=_copy_json(dict(d.get("data") or {})),
        clocks={k: clock_from_dict(v) for k, v in (d.get("clocks") or {}).items()},
        opened_at=datetime.fromisoformat(d["opened_at"]),
        started_on=date.fromisoformat(d["started_on"]),
        closed_at=datetime.fromisoformat(d["closed_at"]) if d.get("closed_at") else None,
        sla=d.get("sla", "on_track"),
        due_at=datetime.fromisoformat(d["due_at"]) if d.get("due_at") else None,
        parent_id=d.get("parent_id"), created_by=d.get("created_by", ""),
        last_hash=d.get("last_hash", ""), seq=int(d.get("seq", 0)),
    )


# --- data checks ----------------------------------------------------------------------------------


def _check_value(spec: FieldSpec, value: Any) -> str | None:
    t = spec.type
    if t in ("string", "text"):
        if spec.names is not None and isinstance(value, list):
            return None if all(isinstance(n, str) for n in value) else "must be names (a list of text)"
        return None if isinstance(value, str) else "must be text"
    if t == "date":
        if isinstance(value, date):
            return None
        if isinstance(value, str) and len(value) <= 10:
            try:
                date.fromisoformat(value)
                return None
            except ValueError:
                pass
        return "must be a date (YYYY-MM-DD)"
    if t == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return None
        return (isinstance(value, str) and fieldrules.numeric_text_problem(value)) or "must be a whole number"
    if t in ("number", "money"):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return None
        return (isinstance(value, str) and fieldrules.numeric_text_problem(value)) or "must be a number"
    if t == "boolean":
        return None if isinstance(value, bool) else "must be true or false"
    if t == "choice":
        return None if str(value) in spec.choices else f"must be one of {', '.join(spec.choices)}"
    return None


def _canonical(specs: Iterable[FieldSpec], given: dict[str, Any]) -> dict[str, Any]:
    """Rename data given under a field's alias to the field's own name."""
    for spec in specs:
        for alias in spec.aliases:
            if alias in given and spec.name not in given:
                given[spec.name] = given.pop(alias)
    return given


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, dict)) and not (value.strip() if isinstance(value, str) else value))


def check_data(
    required: Iterable[str], specs: Iterable[FieldSpec], given: Mapping[str, Any], merged: Mapping[str, Any],
    ctx: fieldrules.RuleContext | None = None, declared_elsewhere: Iterable[str] = (),
) -> None:
    """Raise MissingData naming every absent required field and every value of the wrong type,
    or InvalidData when a value also breaks its field's rule (workflow/fieldrules.py; the date
    rules need ``ctx``). Data no spec declares (nor ``declared_elsewhere``: a bundle's other
    items' fields) is held to a ``text`` field's default bound."""
    specs = tuple(specs)
    problems: dict[str, str] = {}
    ruled = False
    for name in required:
        if _empty(merged.get(name)):
            problems[name] = "required"
    for spec in specs:
        if spec.name in given and not _empty(given[spec.name]) and spec.name not in problems:
            err = _check_value(spec, given[spec.name])
            if err is None:
                err = fieldrules.check(spec, given[spec.name], ctx)
                ruled = ruled or err is not None
            elif err == "out of range":
                ruled = True
            if err:
                problems[spec.name] = err
    declared = {spec.name for spec in specs} | set(declared_elsewhere)
    for name, value in given.items():  # data no field declares (a final step's page reason): text's bound
        if name not in declared and name not in problems and isinstance(value, str) \
                and len(value) > fieldrules.MAX_LENGTH["text"]:
            problems[name] = f"too long: {len(value)} characters (at most {fieldrules.MAX_LENGTH['text']})"
            ruled = True
    if problems:
        detail = "; ".join(f"{k}: {v}" for k, v in problems.items())
        raise (InvalidData if ruled else MissingData)(f"data missing or invalid: {detail}", problems)


def _normalised(specs: Iterable[FieldSpec], given: dict[str, Any]) -> dict[str, Any]:
    """Values as stored (a 合议组's names joined by 、)."""
    for spec in specs:
        if spec.name in given and not _empty(given[spec.name]):
            given[spec.name] = fieldrules.normalise(spec, given[spec.name])
    return given


def _with_case_fields(own: Iterable[FieldSpec], defn: Definition) -> tuple[FieldSpec, ...]:
    """A transition's own fields, then the case's (opening) fields it does not redeclare: data a
    transition call supplies for the case (the materials ``accept`` requires) obeys their rules."""
    specs = tuple(own)
    names = {f.name for f in specs}
    return specs + tuple(f for f in defn.fields if f.name not in names)


# --- the engine -----------------------------------------------------------------------------------


class Engine(OfficeMixin, SweepMixin):
    """The use cases. Built by ``adapters.build_engine``; starts no thread or scheduler."""

    def __init__(
        self,
        *,
        store: Store,
        registry: Registry,
        calendar: WorkingCalendar,
        now: Callable[[], datetime] | None = None,
        orgs: OrgTree | None = None,
        settings: EngineSettings | None = None,
        order_store: OrderStore | None = None,
        people: People | None = None,
    ) -> None:
        self.store = store
        self.people = people  # the directory the ladder's reassign_to asks (workflow/ladder.py)
        self.order_store = order_store  # 督办 (workflow/orders.py); build_engine gives the store's
        self.registry = registry
        self.calendar = calendar
        self._now = now or _default_now
        self.orgs = orgs or OrgTree()
        self.settings = settings or EngineSettings()
        self.listeners: list[DeadlineListener] = []
        self.observers: list[StepObserver] = []  # told of every transition inside its unit of work
        self._derived: dict[tuple[Any, ...], lt.Derived] = {}
        self._derived_by_id: dict[tuple[Any, ...], tuple[Any, ...]] = {}  # the same, by clock object (clock_effects)

    # -- definitions ---------------------------------------------------------------------------

    def definitions(self) -> list[Definition]:
        """Every loaded definition (each version), by id then version."""
        return self.registry.all()

    def field_context(self, legal_start: date | None = None) -> fieldrules.RuleContext:
        """What the date rules compare with now (``legal_start``: the case's, None while opening)."""
        return fieldrules.RuleContext(
            today=self.now().date(), legal_start=legal_start,
            max_backdate_days=self.settings.max_backdate_days, years_ahead=self.settings.date_years_ahead,
        )

    def definition(self, item_id: str, version: int | None = None) -> Definition:
        return self.registry.get(item_id, version)

    # -- reading -------------------------------------------------------------------------------

    def get_case(self, case_id: str, actor: Actor | None = None) -> Case:
        with self.store.unit_of_work() as uow:
            rec = self._load(uow, case_id, actor)
            children = self._children_ids(uow, rec)
        return self._view(rec, children)

    def history(self, case_id: str, actor: Actor | None = None) -> list[Event]:
        """The case's events as ``actor`` may see them: a caller outside the office's staff (a
        portal) sees no order's events (workflow/visibility.py)."""
        with self.store.unit_of_work() as uow:
            self._load(uow, case_id, actor)
            return visible(actor, uow.events(case_id))

    def deadlines(self, case_id: str, actor: Actor | None = None) -> list[Deadline]:
        with self.store.unit_of_work() as uow:
            self._load(uow, case_id, actor)
            return uow.deadlines(case_id)

    def list_cases(self, actor: Actor | None = None, **filters: Any) -> list[Case]:
        """Cases in the actor's org subtree (all when ``actor`` is None), filtered by ``item_id``,
        ``state``, ``org`` (that org's subtree), ``sla``, ``assignee``, ``open``, ``parent_id``,
        ``opened_from``/``opened_to``, ``closed_from``/``closed_to``, ``q`` (part of the number or
        of a searchable name: workflow/search.py), ``order``, ``after``, ``limit``."""
        query = self._query(actor, **filters)
        with self.store.unit_of_work() as uow:
            records = uow.query_cases(query)
        return [self._view(r) for r in records]

    def worklist(self, actor: Actor, **filters: Any) -> list[Case]:
        """Open cases waiting on the actor: assigned to them, or in a state worked by one of their
        roles and not assigned to someone else; most urgent first. ``limit`` bounds the work: the
        store returns at most that many of each kind, most urgent first."""
        pairs = frozenset(
            (d.id, s.name)
            for d in self.registry.all()
            for s in d.states.values()
            if not s.final and actor.roles.intersection(s.roles)
        )
        filters["order"] = "urgent"
        filters["open"] = True
        limit = filters.get("limit")
        with self.store.unit_of_work() as uow:
            mine = uow.query_cases(self._query(actor, assignee=actor.id, **filters))
            by_role = (
                uow.query_cases(self._query(actor, states=pairs, unassigned_or=actor.id, **filters))
                if pairs else []
            )
        seen: dict[str, CaseRecord] = {r.id: r for r in mine}
        for r in by_role:
            seen.setdefault(r.id, r)
        far = datetime.max.replace(tzinfo=TZ)
        ordered = sorted(seen.values(), key=lambda r: (r.due_at or far, r.opened_at, r.id))
        if limit is not None:
            ordered = ordered[:limit]
        return [self._view(r) for r in ordered]

    def available_triggers(self, case_id: str, *, actor: Actor) -> list[str]:
        """Triggers this actor may fire now, in definition order (data they require is supplied
        with the call, so a trigger that needs data is listed)."""
        with self.store.unit_of_work() as uow:
            rec = self._load(uow, case_id, actor)
            defn = self.registry.get(rec.item_id, rec.definition_version)
            out: list[str] = []
            today = self.today()
            for trig in defn.triggers:
                t = defn.transition(trig, rec.state)
                if t is None or not actor.has_any(t.roles) or t.guard_failure(rec.data, partial=True):
                    continue
                if reserved_to_engine(defn, t) and not is_engine(actor):
                    continue
                try:
                    self._check_extensions(rec, t, today)
                    self._check_uses(uow, rec, t)
                except TransitionNotAllowed:
                    continue
                out.append(trig)
        return out

    # -- opening -------------------------------------------------------------------------------

    def open_case(
        self,
        item_id: str,
        *,
        actor: Actor,
        data: Mapping[str, Any] | None = None,
        org: str | None = None,
        idempotency_key: str | None = None,
        started_on: date | None = None,
        reason: str | None = None,
        assignee: str | None = None,
        within: Callable[[UnitOfWork, CaseRecord], None] | None = None,
    ) -> Case:
        """Open a case of the newest version of ``item_id`` in ``org`` (default: the actor's).

        ``started_on`` back-dates the legal start (a postal filing): it needs a ``reason`` and
        cannot be in the future; the clocks count from it. ``within`` runs inside the same unit
        of work with the new case's record, before it commits (an adapter writes its own rows
        there: both commit or neither); an idempotent replay does not run it again."""
        require_outside(actor)
        given = _jsonable(data)
        org = org or actor.org
        fp = old_fp = ""
        if idempotency_key:  # keys stored before the assignee joined the fingerprint: ``old_fp``
            old_fp = _fingerprint("open", item_id, given, org, actor.id, str(started_on), reason)
            fp = _fingerprint("open", item_id, given, org, actor.id, str(started_on), reason, assignee)
        with self.store.unit_of_work() as uow:
            replay = self._replay(uow, actor, "open_case", idempotency_key, fp, old_fp)
            if replay is not None:
                return self._view(replay)
            defn = self.registry.get(item_id)
            specs = (*defn.fields, *(f for c in defn.children for f in self.registry.get(c).fields))
            given = _canonical(specs, given)
            own = {f.name: f for f in defn.fields}
            for spec in specs:  # the item's own declaration of a field wins over a child's
                if own.get(spec.name, spec).default is not None and _empty(given.get(spec.name)):
                    given[spec.name] = own.get(spec.name, spec).default
            if org not in self.orgs:
                raise UnknownItem(f"unknown org {org!r}")
            if not self.orgs.covers(actor.org, org):
                raise Forbidden(f"actor {actor.id} of org {actor.org} cannot open cases for org {org}")
            if not actor.has_any(defn.open_roles):
                raise Forbidden(f"opening {item_id} needs one of the roles {', '.join(defn.open_roles)}")
            ctx = self.field_context()
            names = [f.name for f in specs]
            check_data([f.name for f in defn.fields if f.required], defn.fields, given, given, ctx, names)
            for child_id in defn.children:  # a bundle is one application: its children's data too
                child_def = self.registry.get(child_id)
                check_data([f.name for f in child_def.fields if f.required], child_def.fields, given, given, ctx,
                           names)
            given = _normalised(specs, given)
            now = self.now()
            start_day = now.date()
            if started_on is not None:  # bounded before anything counts from it
                started_on = bounds.legal_start(started_on, start_day, self.settings.max_backdate_days)
                if started_on > start_day:
                    raise MissingData("the legal start date cannot be in the future", {"started_on": "in the future"})
                if started_on < start_day and not (reason or "").strip():
                    raise MissingData("a back-dated opening needs a reason", {"reason": "required"})
                start_day = started_on
            rec = self._new_record(uow, defn, org, given, now, start_day, actor, assignee)
            extra = {"started_on": start_day.isoformat(), "reason": reason} if started_on else {}
            self._append(uow, rec, "opened", None, actor, now, None, defn.initial, {**given, **extra})
            uow.add_case(rec)
            self._write_deadlines(uow, rec, defn)
            if defn.kind == "bundle":
                for child_id in defn.children:
                    child_def = self.registry.get(child_id)
                    child = self._new_record(uow, child_def, org, given, now, start_day, actor, assignee)
                    child.parent_id = rec.id
                    self._append(uow, child, "opened", None, actor, now, None, child_def.initial,
                                 {**given, **extra, "bundle": rec.id})
                    uow.add_case(child)
                    self._write_deadlines(uow, child, child_def)
            if within is not None:
                within(uow, rec)
            self._remember(uow, actor, "open_case", idempotency_key, fp, rec, now)
            uow.commit()
        self._deadlines_changed()
        return self.get_case(rec.id)

    def _new_record(
        self, uow: UnitOfWork, defn: Definition, org: str, data: dict[str, Any], now: datetime,
        start_day: date, actor: Actor, assignee: str | None,
    ) -> CaseRecord:
        seq = uow.next_number(f"{org}:{defn.id}:{start_day.year}")
        pattern = (
            self.settings.number_patterns.get(f"{org}:{defn.id}")
            or self.settings.number_patterns.get(defn.id)
            or self.settings.number_patterns.get(org)
            or self.settings.number_pattern
        )
        number = pattern.format(
            prefix=defn.number_prefix or defn.id.upper(), org=org, item=defn.id,
            year=start_day.year, seq=seq,
        )
        rec = CaseRecord(
            id=uuid.uuid4().hex, number=number, item_id=defn.id, definition_version=defn.version,
            state=defn.initial, version=1, org=org, assignee=assignee, data=dict(data), clocks={},
            opened_at=now, started_on=start_day, created_by=actor.id,
        )
        for name, cdef in defn.clocks.items():
            rec.clocks[name] = ClockState.from_spec(cdef.spec(self._ratio(defn), data))
        self._enter(defn, rec, None, defn.initial, start_day, now)
        self._refresh(rec, defn, now)
        return rec

    # -- firing --------------------------------------------------------------------------------

    def fire(
        self,
        case_id: str,
        trigger: str,
        *,
        actor: Actor,
        data: Mapping[str, Any] | None = None,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> Case:
        require_outside(actor)
        given = _jsonable(data)
        # the call's fingerprint matters only to an idempotent call (a JSON encoding and a hash saved)
        fp = _fingerprint("fire", case_id, trigger, given, actor.id, expected_version) if idempotency_key else ""
        with self.store.unit_of_work() as uow:
            replay = self._replay(uow, actor, "fire", idempotency_key, fp)
            if replay is not None:
                return self._view(replay)
            rec = uow.get_case(case_id, for_update=True)
            if rec is None:
                raise CaseNotFound(f"no case {case_id!r}")
            if expected_version is not None and rec.version != expected_version:
                raise VersionConflict(
                    f"case {rec.number} is at version {rec.version}, not {expected_version}: reload it"
                )
            if not self.orgs.covers(actor.org, rec.org):
                raise CaseNotFound(f"no case {case_id!r}")
            defn = self.registry.get(rec.item_id, rec.definition_version)
            t = defn.transition(trigger, rec.state)
            if t is not None:  # the engine's own transitions fire by themselves, never on request
                refuse_reserved(defn, t, actor)
            now = self.now()
            before = rec.version
            self._transition(uow, rec, defn, trigger, actor, given, now)
            uow.save_case(rec, before)
            self._after_close(uow, rec, defn, now)
            self._remember(uow, actor, "fire", idempotency_key, fp, rec, now)
            children = self._children_ids(uow, rec)
            uow.commit()
        self._deadlines_changed()
        return self._view(rec, children, fresh=True)

    def _transition(
        self, uow: UnitOfWork, rec: CaseRecord, defn: Definition, trigger: str, actor: Actor,
        given: dict[str, Any], now: datetime,
    ) -> None:
        """Check and apply one transition to ``rec`` in place (the caller saves it)."""
        t = defn.transition(trigger, rec.state)
        if t is None:
            if trigger not in defn.triggers:
                raise TransitionNotAllowed(f"{defn.name} has no action {trigger!r}")
            raise TransitionNotAllowed(
                f"{trigger!r} is not allowed while the case is {defn.label_of(rec.state)} ({rec.state})"
            )
        if not actor.has_any(t.roles):
            raise Forbidden(f"{trigger!r} needs one of the roles {', '.join(t.roles)}")
        specs = _with_case_fields(t.fields, defn)
        given = _canonical(specs, dict(given))
        merged = {**rec.data, **given}
        # an extension's reason and approver, a special procedure's kind, approver and expected
        # days come with it, not from an earlier step's data
        fresh = (EXTENSION_FIELDS if t.extend else ()) + (special.FIELD_NAMES if t.special else ())
        present = {k: v for k, v in merged.items() if k in given or k not in fresh}
        check_data(t.required_fields, specs, given, present, self.field_context(rec.started_on))
        given = _normalised(specs, given)
        merged = {**rec.data, **given}
        refusal = t.guard_failure(merged)
        if refusal:
            raise TransitionNotAllowed(f"{t.label or trigger}: {refusal}")
        self._check_uses(uow, rec, t)
        dest = self.registry.machine(defn.id, defn.version).next_state(rec.state, trigger)
        if dest is None:  # the compiled machine and the model disagree: never expected
            raise TransitionNotAllowed(f"{trigger!r} is not allowed from {rec.state}")
        today = now.date()
        # validate extensions before touching anything
        self._check_extensions(rec, t, today)
        before = _snapshot(rec)
        source = rec.state
        earlier, rec.data = rec.data, merged
        if source != dest:
            self._leave(defn, rec, source, dest, today, now)
        # a limit chosen by data given only now (a channel at 受理) follows it, from the same start
        relimited = self._follow_data(defn, rec, earlier, now)
        if source != dest:
            start_on = None
            if trigger == DEEMED_TRIGGER and NOTICE_CLOCK in rec.clocks:  # 一次性告知 missed: accepted as of receipt
                notice = rec.clocks[NOTICE_CLOCK]
                start_on = notice.started_on
                last = self._derive(notice, today).statutory_due
                self._append(uow, rec, DEEMED_EVENT, None, actor, now, source, source, {
                    "clock": NOTICE_CLOCK, "received_on": start_on.isoformat() if start_on else None,
                    "last_day": last.isoformat() if last else None, "note": DEEMED_LABEL,
                })
            self._enter(defn, rec, source, dest, today, now, start_on)
            special.stop(rec, today)  # leaving a special procedure's state ends it
        procedure: dict[str, Any] = {}
        if t.special:  # 特别程序 (workflow/special.py): its expected time on its own clock
            rec.clocks[special.SPECIAL_CLOCK] = started = special.start(
                rec.clocks, defn, dest, str(given["kind"]), int(given["expected_days"]), today)
            procedure = special.record(rec, given, self._derive(started, today).statutory_due, today,
                                       t.special_basis)
        for clock_name, by in t.extend.items():
            st = rec.clocks[clock_name]
            rec.clocks[clock_name] = lt.extend(st, by, today=today, derived=self._derive(st, today))
        rec.state = dest
        rec.version += 1
        closing = defn.states[dest].final and rec.closed_at is None
        if closing:
            rec.closed_at = now
        elif not defn.states[dest].final:
            rec.closed_at = None
        self._refresh(rec, defn, now)
        ext = {"extended": {k: str(v) for k, v in t.extend.items()}} if t.extend else {}
        said = {k: v for k, v in given.items() if k != LIMITS_KEY}  # only the engine says a limit changed
        limits = {LIMITS_KEY: relimited} if relimited else {}
        self._append(uow, rec, "transition", trigger, actor, now, source, dest,
                     {**said, **ext, **limits, **procedure, BEFORE: before})
        self._write_deadlines(uow, rec, defn)
        if closing:  # its open 督办 orders are moot now (workflow/orders.py)
            self._lapse_orders(uow, rec, now)
        if self.observers:
            step = Step(case=rec, definition=defn, transition=t, trigger=trigger, source=source, dest=dest,
                        data=given, actor=actor, at=now)
            for observe in self.observers:
                observe(uow, step)

    def _check_uses(self, uow: UnitOfWork, rec: CaseRecord, t: TransitionDef) -> None:
        if t.max_uses is None:
            return
        used = sum(1 for e in uow.events(rec.id) if e.kind == "transition" and e.trigger == t.trigger)
        corrected = sum(1 for e in uow.events(rec.id) if e.kind == "corrected" and e.data.get("trigger") == t.trigger)
        if used - corrected >= t.max_uses:
            raise TransitionNotAllowed(
                f"{t.label or t.trigger} may be taken {t.max_uses} time(s) per case, and has been"
            )

    def _check_extensions(self, rec: CaseRecord, t: TransitionDef, today: date) -> None:
        for clock_name, by in t.extend.items():
            st = rec.clocks.get(clock_name)
            if st is None:
                raise TransitionNotAllowed(f"no clock {clock_name!r} to extend")
            lt.extend(st, by, today=today, derived=self._derive(st, today))

    # -- the case as callers see it ----------------------------------------------------------

    def _view(self, rec: CaseRecord, children: Iterable[str] = (), *, fresh: bool = False) -> Case:
        """The case as callers see it now. ``fresh``: ``rec`` was refreshed at this instant, so
        its summary level is current."""
        defn = self.registry.get(rec.item_id, rec.definition_version)
        now = self.now()
        today = now.date()
        clocks: dict[str, Clock] = {name: self._clock_view(name, st, now, today) for name, st in rec.clocks.items()}
        return Case(
            id=rec.id, number=rec.number, item_id=rec.item_id,
            definition_version=rec.definition_version, state=rec.state, version=rec.version,
            org=rec.org, assignee=rec.assignee, data=_copy_json(rec.data), clocks=clocks,
            opened_at=rec.opened_at, closed_at=rec.closed_at, state_label=defn.label_of(rec.state),
            item_name=defn.name, kind=defn.kind, final=defn.states[rec.state].final,
            sla=rec.sla if (rec.closed_at or fresh) else self._current_sla(rec, defn, now),
            parent_id=rec.parent_id, children=tuple(children), started_on=rec.started_on,
            main_clock=defn.main_clock,
        )

    # -- bundles -------------------------------------------------------------------------------

    def _children_ids(self, uow: UnitOfWork, rec: CaseRecord) -> list[str]:
        defn = self.registry.get(rec.item_id, rec.definition_version)
        if defn.kind != "bundle":
            return []
        return [c.id for c in uow.query_cases(CaseQuery(parent_id=rec.id))]

    # -- plumbing ------------------------------------------------------------------------------

    def _replay(self, uow: UnitOfWork, actor: Actor, operation: str, key: str | None,
                fingerprint: str, old_fingerprint: str | None = None) -> CaseRecord | None:
        """The result of the call this key (scoped to the actor's user, org and ``operation``)
        made before, or None. A replay passes the same org check as a fresh call: a case outside
        the actor's subtree now (a transfer moves it) is not found. A key stored before keys were scoped (its raw form,
        with the fingerprint of then: ``old_fingerprint``) is honoured only for the same call (its
        fingerprint names the user) and under that check."""
        if not key:
            return None
        found = uow.get_idempotency(scoped_idempotency_key(actor, operation, key))
        if found is not None and found.fingerprint != fingerprint:
            raise IdempotencyMismatch(f"idempotency key {key!r} was used for a different call")
        if found is None:
            found = uow.get_idempotency(key)
            if found is None or found.fingerprint != (old_fingerprint or fingerprint):
                return None
        rec = record_from_dict(found.result)
        now_at = uow.get_case(rec.id)  # where the case is now (it may have been transferred since)
        if now_at is None or not self.orgs.covers(actor.org, now_at.org):
            raise CaseNotFound(f"no case {rec.id!r}")
        return rec

    def _remember(self, uow: UnitOfWork, actor: Actor, operation: str, key: str | None, fingerprint: str,
                  rec: CaseRecord, now: datetime) -> None:
        if key:
            uow.put_idempotency(IdempotencyRecord(scoped_idempotency_key(actor, operation, key), fingerprint,
                                                  rec.id, record_to_dict(rec), now))

    # clock effects (clock_effects.py), the sweep and bundle closing (sweep.py) and office
    # operations (office.py) are mixed in; collaborators, time and plumbing: engine_base.py


def _snapshot(rec: CaseRecord) -> dict[str, Any]:
    return {
        "state": rec.state,
        "data": _copy_json(rec.data),
        "clocks": {k: clock_to_dict(v) for k, v in rec.clocks.items()},
        "closed_at": rec.closed_at.isoformat() if rec.closed_at else None,
    }
