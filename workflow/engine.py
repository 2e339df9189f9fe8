"""The ``Engine``: the use cases every caller goes through (library, HTTP API, scheduler).

One call is one unit of work: replay a known idempotency key → load the case → expected version →
org scope → trigger allowed here → role → required data → next state from the compiled machine →
clocks start / pause / resume / stop / extend → deadlines recomputed → audit event appended →
outbox rows → case written with a version check → commit → listeners told the earliest deadline.
A rejected call leaves the case exactly as it was, history included.
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

from . import legaltime as lt
from .calendar import WorkingCalendar
from .definition import ClockDef, Definition, FieldSpec, TransitionDef
from .errors import (
    CaseNotFound,
    Forbidden,
    IdempotencyMismatch,
    MissingData,
    TransitionNotAllowed,
    UnknownItem,
    VersionConflict,
)
from .escalation import EscalationPolicy
from .legaltime import TZ, ClockKind, ClockState, Level, Sla, Status
from .model import (
    SYSTEM,
    Actor,
    Case,
    CaseRecord,
    Clock,
    Deadline,
    Escalation,
    Event,
    OutboxMessage,
    clock_from_dict,
    clock_to_dict,
)
from .orgs import OrgTree
from .ports import CaseQuery, DeadlineListener, IdempotencyRecord, Store, UnitOfWork
from .registry import Registry

_SLA_RANK = {
    "on_track": 0, "met": 0, "warning": 1, "met_late": 1, "expired": 1,
    "overdue": 2, "over_statutory": 3, "met_over_statutory": 3,
}


@dataclass(frozen=True, kw_only=True)
class EngineSettings:
    """Typed, frozen configuration (environment variables are read only at the edge)."""

    commitment_ratio: Fraction = lt.DEFAULT_RATIO
    strict_calendar: bool = False
    number_pattern: str = "{prefix}-{org}-{year}-{seq:05d}"
    number_patterns: Mapping[str, str] = field(default_factory=dict)  # by "org:item", "org" or "item"
    sweep_batch: int = 200  # cases per sweep transaction: small enough that clerks wait < 100 ms
    escalation: EscalationPolicy = field(default_factory=EscalationPolicy)


def _default_now() -> datetime:
    return datetime.now(TZ)


def _fingerprint(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
        return None if isinstance(value, str) else "must be text"
    if t == "date":
        if isinstance(value, date):
            return None
        if isinstance(value, str):
            try:
                date.fromisoformat(value)
                return None
            except ValueError:
                pass
        return "must be a date (YYYY-MM-DD)"
    if t == "integer":
        return None if isinstance(value, int) and not isinstance(value, bool) else "must be a whole number"
    if t in ("number", "money"):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return "must not be negative" if t == "money" and value < 0 else None
        return "must be a number"
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
    required: Iterable[str], specs: Iterable[FieldSpec], given: Mapping[str, Any], merged: Mapping[str, Any]
) -> None:
    """Raise MissingData naming every absent required field and every value of the wrong type."""
    problems: dict[str, str] = {}
    for name in required:
        if _empty(merged.get(name)):
            problems[name] = "required"
    for spec in specs:
        if spec.name in given and not _empty(given[spec.name]):
            err = _check_value(spec, given[spec.name])
            if err:
                problems[spec.name] = err
    if problems:
        detail = "; ".join(f"{k}: {v}" for k, v in problems.items())
        raise MissingData(f"data missing or invalid: {detail}", problems)


def _jsonable(data: Mapping[str, Any] | None) -> dict[str, Any]:
    if not data:
        return {}
    if not isinstance(data, Mapping):
        raise MissingData("data must be a mapping of field names to values", {"data": "must be an object"})
    return json.loads(json.dumps(dict(data), ensure_ascii=False, default=str))


_ATOMS = (str, int, float, bool, type(None))


def _copy_json(value: Any) -> Any:
    """A deep copy of JSON-shaped data (what ``_jsonable`` makes and stores load): dicts, lists
    and immutable scalars, anything else by ``copy.deepcopy``. A third of deepcopy's cost."""
    t = type(value)
    if t is dict:
        return {k: _copy_json(v) for k, v in value.items()}
    if t is list:
        return [_copy_json(v) for v in value]
    if t in _ATOMS:
        return value
    return copy.deepcopy(value)


# --- the engine -----------------------------------------------------------------------------------


class Engine:
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
    ) -> None:
        self.store = store
        self.registry = registry
        self.calendar = calendar
        self._now = now or _default_now
        self.orgs = orgs or OrgTree()
        self.settings = settings or EngineSettings()
        self.listeners: list[DeadlineListener] = []
        self._derived: dict[tuple[Any, ...], lt.Derived] = {}

    # -- time ----------------------------------------------------------------------------------

    def now(self) -> datetime:
        t = self._now()
        if t.tzinfo is None:  # freezegun and naive clocks give UTC wall time
            t = t.replace(tzinfo=lt.ZoneInfo("UTC"))
        return t.astimezone(TZ)

    def today(self) -> date:
        return self.now().date()

    # -- definitions ---------------------------------------------------------------------------

    def definitions(self) -> list[Definition]:
        """Every loaded definition (each version), by id then version."""
        return self.registry.all()

    def definition(self, item_id: str, version: int | None = None) -> Definition:
        return self.registry.get(item_id, version)

    # -- reading -------------------------------------------------------------------------------

    def get_case(self, case_id: str, actor: Actor | None = None) -> Case:
        with self.store.unit_of_work() as uow:
            rec = self._load(uow, case_id, actor)
            children = self._children_ids(uow, rec)
        return self._view(rec, children)

    def history(self, case_id: str, actor: Actor | None = None) -> list[Event]:
        with self.store.unit_of_work() as uow:
            self._load(uow, case_id, actor)
            return uow.events(case_id)

    def deadlines(self, case_id: str, actor: Actor | None = None) -> list[Deadline]:
        with self.store.unit_of_work() as uow:
            self._load(uow, case_id, actor)
            return uow.deadlines(case_id)

    def list_cases(self, actor: Actor | None = None, **filters: Any) -> list[Case]:
        """Cases in the actor's org subtree (all when ``actor`` is None), filtered by ``item_id``,
        ``state``, ``org`` (that org's subtree), ``sla``, ``assignee``, ``open``, ``parent_id``,
        ``opened_from``/``opened_to``, ``closed_from``/``closed_to``, ``order``, ``after``,
        ``limit``."""
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
    ) -> Case:
        """Open a case of the newest version of ``item_id`` in ``org`` (default: the actor's).

        ``started_on`` back-dates the legal start (a postal filing): it needs a ``reason`` and
        cannot be in the future; the clocks count from it."""
        given = _jsonable(data)
        org = org or actor.org
        fp = _fingerprint("open", item_id, given, org, actor.id, str(started_on), reason) if idempotency_key else ""
        with self.store.unit_of_work() as uow:
            replay = self._replay(uow, idempotency_key, fp)
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
            check_data([f.name for f in defn.fields if f.required], defn.fields, given, given)
            for child_id in defn.children:  # a bundle is one application: its children's data too
                child_def = self.registry.get(child_id)
                check_data([f.name for f in child_def.fields if f.required], child_def.fields, given, given)
            now = self.now()
            start_day = now.date()
            if started_on is not None:
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
            self._remember(uow, idempotency_key, fp, rec, now)
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
        given = _jsonable(data)
        # the call's fingerprint matters only to an idempotent call (a JSON encoding and a hash saved)
        fp = _fingerprint("fire", case_id, trigger, given, actor.id, expected_version) if idempotency_key else ""
        with self.store.unit_of_work() as uow:
            replay = self._replay(uow, idempotency_key, fp)
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
            now = self.now()
            before = rec.version
            self._transition(uow, rec, defn, trigger, actor, given, now)
            uow.save_case(rec, before)
            self._after_close(uow, rec, defn, now)
            self._remember(uow, idempotency_key, fp, rec, now)
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
        given = _canonical(t.fields, dict(given))
        merged = {**rec.data, **given}
        check_data(t.required_fields, t.fields, given, merged)
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
        rec.data = merged
        if source != dest:
            self._leave(defn, rec, source, dest, today, now)
            self._enter(defn, rec, source, dest, today, now)
        for clock_name, by in t.extend.items():
            st = rec.clocks[clock_name]
            rec.clocks[clock_name] = lt.extend(st, by, today=today, derived=self._derive(st, today))
        rec.state = dest
        rec.version += 1
        if defn.states[dest].final and rec.closed_at is None:
            rec.closed_at = now
        elif not defn.states[dest].final:
            rec.closed_at = None
        self._refresh(rec, defn, now)
        ext = {"extended": {k: str(v) for k, v in t.extend.items()}} if t.extend else {}
        self._append(uow, rec, "transition", trigger, actor, now, source, dest,
                     {**given, **ext, BEFORE: before})
        self._write_deadlines(uow, rec, defn)

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

    # -- clock effects of a state change ------------------------------------------------------

    def _leave(self, defn: Definition, rec: CaseRecord, source: str, dest: str, today: date, now: datetime) -> None:
        s = defn.states[source]
        d = defn.states[dest]
        for name in s.restarts:
            st = rec.clocks[name]
            # only a clock still counting (paused here) starts afresh: a stopped one stays stopped
            if dest not in defn.clocks[name].stop and name not in d.pauses and st.status in (Status.RUNNING, Status.PAUSED):
                rec.clocks[name] = lt.start(st, today)
        for name in s.pauses:
            st = rec.clocks[name]
            if name not in d.pauses and name not in d.restarts and dest not in defn.clocks[name].stop:
                rec.clocks[name] = lt.resume(st, today)
        if s.limit is not None and source in rec.clocks:
            rec.clocks[source] = lt.stop(rec.clocks[source], today)

    def _enter(self, defn: Definition, rec: CaseRecord, source: str | None, dest: str, today: date, now: datetime) -> None:
        d = defn.states[dest]
        for name, cdef in defn.clocks.items():
            st = rec.clocks[name]
            if cdef.step:
                if name == dest:
                    rec.clocks[name] = lt.start(ClockState.from_spec(cdef.spec(self._ratio(defn), rec.data)), today)
                    rec.clocks[name] = _keep_run(rec.clocks[name], st)
                continue
            if dest in cdef.stop:
                rec.clocks[name] = lt.stop(st, today)
            elif dest == cdef.start and st.status in (Status.NOT_STARTED, Status.STOPPED):
                fresh = ClockState.from_spec(cdef.spec(self._ratio(defn), rec.data))
                rec.clocks[name] = _keep_run(lt.start(fresh, self._start_day(cdef, rec, today)), st)
        for name in (*d.pauses, *d.restarts):
            st = rec.clocks[name]
            if st.status is Status.RUNNING:
                level = self._sla(st, now, today)
                rec.clocks[name] = lt.pause(st, today, level)

    def _start_day(self, cdef: ClockDef, rec: CaseRecord, today: date) -> date:
        if cdef.start_from:
            raw = rec.data.get(cdef.start_from)
            if isinstance(raw, str):
                try:
                    return date.fromisoformat(raw)
                except ValueError:
                    raise MissingData(
                        f"{cdef.start_from} must be a date (YYYY-MM-DD)", {cdef.start_from: "must be a date"}
                    ) from None
            if isinstance(raw, date):
                return raw
        if rec.version == 1 and cdef.start == rec.state:
            return rec.started_on
        return today

    def _ratio(self, defn: Definition) -> Fraction:
        if "commitment_ratio" in defn.raw:
            return defn.commitment_ratio
        return self.settings.commitment_ratio

    # -- derived values ----------------------------------------------------------------------

    def _derive(self, st: ClockState, today: date | None = None) -> lt.Derived:
        """``legaltime.evaluate``, memoised: clock states are immutable values, and the cache is
        keyed by the calendar's generation (it changes when an override is loaded)."""
        generation = getattr(self.calendar, "generation", None)
        if generation is None:  # a calendar that cannot say when it changed is never cached
            return lt.evaluate(st, self.calendar, strict=self.settings.strict_calendar, today=today)
        key = (st, today, generation)
        hit = self._derived.get(key)
        if hit is None:
            if len(self._derived) >= 20_000:
                self._derived.clear()
            hit = self._derived[key] = lt.evaluate(
                st, self.calendar, strict=self.settings.strict_calendar, today=today
            )
        return hit

    def _remaining(self, st: ClockState, derived: lt.Derived, today: date) -> int | None:
        generation = getattr(self.calendar, "generation", None)
        if generation is None:
            return lt.remaining_units(st, derived, self.calendar, today)
        key = ("remaining", st, today, generation)
        if key not in self._derived:
            self._derived[key] = lt.remaining_units(st, derived, self.calendar, today)  # type: ignore[assignment]
        return self._derived[key]  # type: ignore[return-value]

    def _sla(self, st: ClockState, now: datetime, today: date) -> Sla:
        return lt.sla_at(st, self._derive(st, today), now)

    def _refresh(self, rec: CaseRecord, defn: Definition, now: datetime) -> None:
        """Recompute the case's summary level and its most urgent instant."""
        today = now.date()
        worst, worst_rank, due = "on_track", -1, None
        main = defn.main_clock
        for name, st in rec.clocks.items():
            if st.status is Status.NOT_STARTED:
                continue
            derived = self._derive(st, today)
            level = lt.sla_at(st, derived, now).value
            if st.status is Status.STOPPED and name != main:
                continue
            rank = _SLA_RANK.get(level, 0)
            if rank > worst_rank or (rank == worst_rank and name == main):
                worst, worst_rank = level, rank
            if st.status is Status.RUNNING:
                at = derived.overdue_at if st.kind is ClockKind.OFFICE else derived.expires_at
                if at is not None and (due is None or at < due):
                    due = at
        rec.sla = worst
        rec.due_at = due

    def _wanted_deadlines(self, rec: CaseRecord) -> list[Deadline]:
        out: list[Deadline] = []
        for name, st in rec.clocks.items():
            if st.status is not Status.RUNNING:
                continue
            derived = self._derive(st)
            for level, at in derived.level_instants(st.kind):
                out.append(Deadline(rec.id, name, st.run, level.value, at, org=rec.org, item_id=rec.item_id))
        return out

    def _write_deadlines(self, uow: UnitOfWork, rec: CaseRecord, defn: Definition) -> None:
        uow.replace_deadlines(rec.id, self._wanted_deadlines(rec))

    def _view(self, rec: CaseRecord, children: Iterable[str] = (), *, fresh: bool = False) -> Case:
        """The case as callers see it now. ``fresh``: ``rec`` was refreshed at this instant, so
        its summary level is current."""
        defn = self.registry.get(rec.item_id, rec.definition_version)
        now = self.now()
        today = now.date()
        clocks: dict[str, Clock] = {}
        for name, st in rec.clocks.items():
            derived = self._derive(st, today)
            clocks[name] = Clock(
                name=name,
                label=st.label or name,
                kind=st.kind.value,
                status=st.status.value,
                statutory_due=derived.statutory_due,
                commitment_due=derived.commitment_due,
                sla=lt.sla_at(st, derived, now).value,
                provisional=derived.provisional,
                party=st.kind is ClockKind.PARTY,
                external=st.kind is ClockKind.EXTERNAL,
                limit=str(st.limit),
                started_on=st.started_on,
                stopped_on=st.stopped_on,
                statutory_units=derived.statutory_units,
                commitment_units=derived.commitment_units,
                used_units=derived.used_units,
                remaining_units=self._remaining(st, derived, today) if st.status is Status.RUNNING else None,
                unit=st.counting_unit.value,
                warning_at=derived.warning_at,
                overdue_at=derived.overdue_at,
                over_statutory_at=derived.over_statutory_at,
                expires_at=derived.expires_at,
                extensions=tuple(str(e) for e in st.extensions),
                paused_spans=_paused_spans(st),
                run=st.run,
            )
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

    def _current_sla(self, rec: CaseRecord, defn: Definition, now: datetime) -> str:
        probe = copy.copy(rec)
        self._refresh(probe, defn, now)
        return probe.sla

    # -- other operations ----------------------------------------------------------------------

    def assign(self, case_id: str, assignee: str | None, *, actor: Actor,
               expected_version: int | None = None, reason: str | None = None) -> Case:
        """Set or change the officer in charge (承办人). Supervisors, leaders and admins only."""
        if not actor.has_any(("supervisor", "leader", "admin")):
            raise Forbidden("assigning a case needs the supervisor, leader or admin role")
        with self.store.unit_of_work() as uow:
            rec = self._load_for_update(uow, case_id, actor, expected_version)
            before, old = rec.version, rec.assignee
            rec.assignee = assignee or None
            rec.version += 1
            self._append(uow, rec, "assigned", None, actor, self.now(), rec.state, rec.state,
                         {"from": old, "to": rec.assignee, "reason": reason})
            uow.save_case(rec, before)
            uow.commit()
        return self.get_case(case_id)

    def transfer(self, case_id: str, to_org: str, *, actor: Actor, reason: str,
                 expected_version: int | None = None) -> Case:
        """Move a case to another org (移送) with a reason. Its clocks go on; the history and a
        notification to both orgs record it; the old org loses access."""
        if not actor.has_any(("supervisor", "leader", "admin")):
            raise Forbidden("transferring a case needs the supervisor, leader or admin role")
        if not (reason or "").strip():
            raise MissingData("a transfer needs a reason", {"reason": "required"})
        if to_org not in self.orgs:
            raise MissingData(f"unknown org {to_org!r}", {"to_org": "unknown org"})
        now = self.now()
        with self.store.unit_of_work() as uow:
            rec = self._load_for_update(uow, case_id, actor, expected_version)
            if rec.closed_at is not None:
                raise TransitionNotAllowed(f"case {rec.number} is closed: it cannot be transferred")
            if to_org == rec.org:
                raise TransitionNotAllowed(f"case {rec.number} is already in org {to_org}")
            before, from_org = rec.version, rec.org
            rec.org, rec.assignee = to_org, None
            rec.version += 1
            self._append(uow, rec, "transferred", None, actor, now, rec.state, rec.state,
                         {"from_org": from_org, "to_org": to_org, "reason": reason})
            uow.save_case(rec, before)
            self._write_deadlines(uow, rec, self.registry.get(rec.item_id, rec.definition_version))
            uow.add_outbox([OutboxMessage(
                topic="transferred", case_id=rec.id, created_at=now,
                payload={"case_id": rec.id, "number": rec.number, "from_org": from_org, "to_org": to_org,
                         "reason": reason, "audience": [{"role": "supervisor", "org": from_org},
                                                        {"role": "supervisor", "org": to_org}]},
            )])
            uow.commit()
        return self.get_case(case_id)

    def correct(self, case_id: str, *, actor: Actor, reason: str,
                expected_version: int | None = None) -> Case:
        """Reverse the case's last transition (a supervisor's correction of a mistake). History
        keeps both the mistake and the correction; state, data and clocks return to what they
        were; escalations already fired stay on the record. A correction cannot be corrected."""
        if not actor.has_any(("supervisor", "leader", "admin")):
            raise Forbidden("correcting a case needs the supervisor, leader or admin role")
        if not (reason or "").strip():
            raise MissingData("a correction needs a reason", {"reason": "required"})
        now = self.now()
        with self.store.unit_of_work() as uow:
            rec = self._load_for_update(uow, case_id, actor, expected_version)
            last = next((e for e in reversed(uow.events(case_id)) if e.kind in ("transition", "corrected")), None)
            if last is None:
                raise TransitionNotAllowed(f"case {rec.number} has no transition to correct")
            if last.kind == "corrected":
                raise TransitionNotAllowed("the last change was a correction: a correction cannot be corrected")
            snap = last.data.get(BEFORE)
            if not isinstance(snap, dict):
                raise TransitionNotAllowed("this transition was recorded without what came before it")
            defn = self.registry.get(rec.item_id, rec.definition_version)
            before, wrong = rec.version, rec.state
            rec.state = snap["state"]
            rec.data = _copy_json(snap["data"])
            rec.clocks = {k: clock_from_dict(v) for k, v in snap["clocks"].items()}
            rec.closed_at = datetime.fromisoformat(snap["closed_at"]) if snap.get("closed_at") else None
            rec.version += 1
            self._refresh(rec, defn, now)
            self._append(uow, rec, "corrected", None, actor, now, wrong, rec.state,
                         {"reverses": last.seq, "trigger": last.trigger, "reason": reason})
            uow.save_case(rec, before)
            self._write_deadlines(uow, rec, defn)
            uow.commit()
        self._deadlines_changed()
        return self.get_case(case_id)

    def suspend(self, org: str, first: date, last: date, *, actor: Actor, reason: str) -> list[str]:
        """Declare an office-wide suspension (force majeure, system outage): the days ``first`` to
        ``last`` are not counted by any clock of the org's open cases (the org and its subtree).
        Recorded on each case; returns the ids of the cases it touched."""
        if not actor.has_any(("admin",)):
            raise Forbidden("declaring a suspension needs the admin role")
        if not (reason or "").strip():
            raise MissingData("a suspension needs a reason", {"reason": "required"})
        if org not in self.orgs or not self.orgs.covers(actor.org, org):
            raise MissingData(f"unknown org {org!r} or outside your orgs", {"org": "unknown org"})
        if last < first:
            raise MissingData("a suspension ends on or after its first day", {"last": "before first"})
        now = self.now()
        touched: list[str] = []
        with self.store.unit_of_work() as uow:
            for r in uow.query_cases(CaseQuery(open=True, orgs=self.orgs.subtree(org))):
                rec = uow.get_case(r.id, for_update=True) or r
                changed = False
                for name, st in rec.clocks.items():
                    if st.status in (Status.RUNNING, Status.PAUSED):
                        rec.clocks[name] = lt.suspend(st, first, last)
                        changed = True
                if not changed:
                    continue
                defn = self.registry.get(rec.item_id, rec.definition_version)
                self._refresh(rec, defn, now)
                self._append(uow, rec, "suspended", None, actor, now, rec.state, rec.state,
                             {"org": org, "first": first.isoformat(), "last": last.isoformat(), "reason": reason})
                uow.save_case(rec, rec.version)
                self._write_deadlines(uow, rec, defn)
                touched.append(rec.id)
            uow.commit()
        self._deadlines_changed()
        return touched

    def record_event(self, case_id: str, kind: str, data: Mapping[str, Any], *, actor: Actor,
                     within: Callable[[UnitOfWork], None] | None = None) -> Event:
        """Append an event that is not a transition (``attached``: a file on the case;
        ``document_issued``) to the case's hash-chained history. Staff of an org covering the
        case only; the engine's own kinds cannot be recorded this way. ``within`` runs inside the
        same unit of work before it commits (an adapter writes its own row there)."""
        if kind in ENGINE_EVENT_KINDS or not kind.replace("_", "").isalnum() or not kind.islower():
            raise TransitionNotAllowed(f"events of kind {kind!r} cannot be recorded by hand")
        if not actor.has_any(("clerk", "examiner", "supervisor", "leader", "admin", "system")):
            raise Forbidden("recording on a case needs a staff role")
        with self.store.unit_of_work() as uow:
            rec = self._load_for_update(uow, case_id, actor, None)
            ev = self._append(uow, rec, kind, None, actor, self.now(), rec.state, rec.state, _jsonable(data))
            if within is not None:
                within(uow)
            uow.save_case(rec, rec.version)
            uow.commit()
        return ev

    def migrate(
        self,
        item_id: str,
        *,
        from_version: int,
        to_version: int,
        actor: Actor,
        reason: str,
        state_map: Mapping[str, str] | None = None,
        apply_new_limits: bool = False,
        case_ids: Iterable[str] | None = None,
    ) -> list[str]:
        """Move running cases of ``item_id`` from one definition version to another.

        Each case's state is mapped (``state_map``, else the same name); if any case's state
        cannot be mapped the whole migration is refused. The limits in force when a case started
        keep governing it, unless ``apply_new_limits`` is set — then ``reason`` must cite why
        (e.g. a new rule that applies to pending cases). Each case gets a ``migrated`` event."""
        if not actor.has_any(("admin",)):
            raise Forbidden("migrating cases needs the admin role")
        if not (reason or "").strip():
            raise MissingData("a migration needs a reason", {"reason": "required"})
        self.registry.get(item_id, from_version)  # UnknownItem when the source version is absent
        new = self.registry.get(item_id, to_version)
        mapping = dict(state_map or {})
        wanted = set(case_ids) if case_ids is not None else None
        now = self.now()
        moved: list[str] = []
        with self.store.unit_of_work() as uow:
            records = [
                r for r in uow.query_cases(CaseQuery(item_id=item_id, open=True, orgs=self.orgs.subtree(actor.org)))
                if r.definition_version == from_version and (wanted is None or r.id in wanted)
            ]
            problems = []
            for r in records:
                dest = mapping.get(r.state, r.state)
                if dest not in new.states:
                    problems.append(f"case {r.number}: state {r.state!r} has no counterpart in version {to_version}")
            if problems:
                from .errors import DefinitionError, Problem

                raise DefinitionError(
                    f"migration of {item_id} v{from_version}→v{to_version}",
                    [Problem("state_map", p) for p in problems],
                )
            for r in records:
                rec = uow.get_case(r.id, for_update=True) or r
                before, source = rec.version, rec.state
                rec.state = mapping.get(rec.state, rec.state)
                rec.definition_version = to_version
                for name, cdef in new.clocks.items():
                    st = rec.clocks.get(name)
                    spec = cdef.spec(self._ratio(new), rec.data)
                    if st is None:
                        rec.clocks[name] = ClockState.from_spec(spec)
                    elif apply_new_limits:
                        from dataclasses import replace as _replace

                        rec.clocks[name] = _replace(
                            st, limit=spec.limit, commitment=spec.commitment, ratio=spec.ratio,
                            grace=spec.grace, max_extension=spec.max_extension, kind=spec.kind,
                        )
                for name in [n for n in rec.clocks if n not in new.clocks]:
                    del rec.clocks[name]
                rec.version += 1
                self._refresh(rec, new, now)
                self._append(uow, rec, "migrated", None, actor, now, source, rec.state, {
                    "from_version": from_version, "to_version": to_version, "reason": reason,
                    "new_limits": apply_new_limits,
                })
                uow.save_case(rec, before)
                self._write_deadlines(uow, rec, new)
                moved.append(rec.id)
            uow.commit()
        self._deadlines_changed()
        return moved

    def load_calendar(self, path: str | Path) -> list[str]:
        """Load an override file into the calendar and recompute every open clock it touches.
        Returns the ids of the cases whose deadlines or provisional marks changed; each gets a
        ``calendar_recomputed`` event with the old and new dates."""
        loader = getattr(self.calendar, "load_file", None)
        if loader is None:
            raise TransitionNotAllowed("this engine's calendar does not take override files")
        before = self._open_clock_dates()
        year = int(loader(path))
        return self._recompute(before, year, str(path))

    def recompute_calendar(self, year: int, *, source: str = "",
                           before: Mapping[str, dict[str, Any]] | None = None) -> list[str]:
        """Recompute open clocks after the calendar changed by other means (``before``: the
        dates from ``_open_clock_dates()`` taken before the change; without it, every open clock
        that reaches into ``year`` is rewritten)."""
        return self._recompute(before, year, source)

    def _clock_dates(self, rec: CaseRecord) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, st in rec.clocks.items():
            if st.status in (Status.RUNNING, Status.PAUSED):
                d = self._derive(st)
                out[name] = {
                    "statutory_due": d.statutory_due.isoformat() if d.statutory_due else None,
                    "commitment_due": d.commitment_due.isoformat() if d.commitment_due else None,
                    "provisional": d.provisional,
                }
        return out

    def _open_clock_dates(self) -> dict[str, dict[str, Any]]:
        with self.store.unit_of_work() as uow:
            return {r.id: self._clock_dates(r) for r in uow.query_cases(CaseQuery(open=True))}

    def _recompute(self, before: Mapping[str, dict[str, Any]] | None, year: int, source: str) -> list[str]:
        changed: list[str] = []
        now = self.now()
        with self.store.unit_of_work() as uow:
            for r in uow.query_cases(CaseQuery(open=True)):
                rec = uow.get_case(r.id, for_update=True) or r
                new_dates = self._clock_dates(rec)
                if before is not None:
                    old_dates = before.get(rec.id, {})
                    if new_dates == old_dates:
                        continue
                else:
                    old_dates = {}
                    if not any(v["statutory_due"] and int(v["statutory_due"][:4]) >= year
                               for v in new_dates.values()):
                        continue
                defn = self.registry.get(rec.item_id, rec.definition_version)
                self._refresh(rec, defn, now)
                clocks = {
                    name: {"before": old_dates.get(name), "after": new}
                    for name, new in new_dates.items() if old_dates.get(name) != new
                }
                self._append(uow, rec, "calendar_recomputed", None, SYSTEM, now, rec.state, rec.state,
                             {"year": year, "source": source, "clocks": clocks})
                uow.replace_deadlines(rec.id, self._wanted_deadlines(rec))
                uow.save_case(rec, rec.version)
                changed.append(rec.id)
            uow.commit()
        self._deadlines_changed()
        return changed

    # -- the sweep -----------------------------------------------------------------------------

    def sweep(self, *, batch: int | None = None) -> list[Escalation]:
        """Fire every level that has come due, each exactly once, oldest first. Party and external
        clocks' ``on_expire`` transitions run in the same unit of work (as the system actor)."""
        size = batch or self.settings.sweep_batch
        pause = float(getattr(self.store, "sweep_pause", 0.0) or 0.0)
        fired: list[Escalation] = []
        while True:
            progressed = False
            with self.store.unit_of_work() as uow:
                now = self.now()
                ids = uow.due_case_ids(now, size)
                if not ids:
                    break
                recs, due = _lock_due(uow, ids, now)  # one statement each for the batch
                touched: set[str] = set()  # changed by an earlier case of this batch: read again
                for rec in recs:
                    rows = due.get(rec.id, [])
                    if rec.id in touched:
                        again = uow.lock_case(rec.id)
                        if again is None:
                            continue
                        rec, rows = again, uow.pending_due(rec.id, now)
                    progressed |= self._sweep_case(uow, rec, now, fired, rows, touched)
                uow.commit()
            if not progressed:
                break
            if pause:  # let writers queued behind this batch (clerks) in before the next one
                time.sleep(pause)
        if fired:
            self._deadlines_changed()
        fired.sort(key=lambda e: (e.due, e.case_id, e.clock, _LEVEL_ORDER[e.level]))
        return fired

    def _sweep_case(self, uow: UnitOfWork, rec: CaseRecord, now: datetime, fired: list[Escalation],
                    rows: list[Deadline], touched: set[str]) -> bool:
        due = sorted(rows, key=lambda d: (d.due_at, _LEVEL_ORDER[d.level]))
        if not due:
            return False
        defn = self.registry.get(rec.item_id, rec.definition_version)
        before = rec.version
        rewrite = False  # the deadline rows need rewriting (a due time moved)
        messages: list[OutboxMessage] = []
        for dl in due:
            st = rec.clocks.get(dl.clock)
            if st is None or st.run != dl.run or st.status is not Status.RUNNING:
                uow.mark_deadline(dl, "cancelled", now)
                continue
            instants = dict(self._derive(st).level_instants(st.kind))
            at = instants.get(Level(dl.level))
            if at is None or at > now:  # the calendar moved it: the rewrite below re-arms it
                uow.mark_deadline(dl, "cancelled", now)
                rewrite = True
                continue
            uow.mark_deadline(dl, "fired", now)
            esc = Escalation(case_id=rec.id, clock=dl.clock, level=dl.level, due=at, seen=now,
                             org=rec.org, item_id=rec.item_id, number=rec.number, run=dl.run)
            fired.append(esc)
            self._append(uow, rec, "escalation", None, SYSTEM, now, rec.state, rec.state,
                         {"clock": dl.clock, "level": dl.level, "due": at.isoformat(),
                          "seen": now.isoformat(), "run": dl.run})
            audience = self.settings.escalation.audience(
                dl.level, rec=rec, state_roles=defn.states[rec.state].roles,
                parent_org=self.orgs.parent(rec.org),
            )
            messages.append(OutboxMessage(
                topic="escalation", case_id=rec.id, created_at=now,
                payload={**esc.to_dict(), "item_name": defn.name, "state": rec.state,
                         "state_label": defn.label_of(rec.state), "clock_label": st.label or dl.clock,
                         "audience": audience},
            ))
            cdef = defn.clocks.get(dl.clock)
            if dl.level == Level.EXPIRED.value and cdef is not None and cdef.on_expire:
                t = defn.transition(cdef.on_expire, rec.state)
                # not allowed now (its guards or max_uses refuse it): the expiry alone is recorded
                if t is not None and t.guard_failure(rec.data) is not None:
                    t = None
                if t is not None:
                    try:
                        self._check_uses(uow, rec, t)
                    except TransitionNotAllowed:
                        t = None
                if t is not None:
                    if messages:
                        uow.add_outbox(messages)
                        messages = []
                    self._transition(uow, rec, defn, cdef.on_expire, SYSTEM, {}, now)
        if messages:
            uow.add_outbox(messages)
        self._refresh(rec, defn, now)
        uow.save_case(rec, before)
        if rewrite:
            self._write_deadlines(uow, rec, defn)
        if rec.version != before:
            if rec.parent_id is not None:  # its bundle may close now (below)
                touched.add(rec.parent_id)
            self._after_close(uow, rec, defn, now)
        return True

    # -- bundles -------------------------------------------------------------------------------

    def _children_ids(self, uow: UnitOfWork, rec: CaseRecord) -> list[str]:
        defn = self.registry.get(rec.item_id, rec.definition_version)
        if defn.kind != "bundle":
            return []
        return [c.id for c in uow.query_cases(CaseQuery(parent_id=rec.id))]

    def _after_close(self, uow: UnitOfWork, rec: CaseRecord, defn: Definition, now: datetime) -> None:
        """When a bundle's last child closes, fire the bundle's ``children_closed`` (system)."""
        if rec.parent_id is None or not defn.states[rec.state].final:
            return
        parent = uow.get_case(rec.parent_id, for_update=True)
        if parent is None:
            return
        siblings = uow.query_cases(CaseQuery(parent_id=parent.id))
        outcomes = {}
        for sib in siblings:
            s = sib if sib.id != rec.id else rec
            sdef = self.registry.get(s.item_id, s.definition_version)
            if not sdef.states[s.state].final:
                return
            outcomes[s.item_id] = s.state
        pdef = self.registry.get(parent.item_id, parent.definition_version)
        if pdef.transition("children_closed", parent.state) is None:
            return
        before = parent.version
        self._transition(uow, parent, pdef, "children_closed", SYSTEM, {"children_outcomes": outcomes}, now)
        uow.save_case(parent, before)

    # -- plumbing ------------------------------------------------------------------------------

    def _load_for_update(self, uow: UnitOfWork, case_id: str, actor: Actor,
                         expected_version: int | None) -> CaseRecord:
        rec = uow.get_case(case_id, for_update=True)
        if rec is None:
            raise CaseNotFound(f"no case {case_id!r}")
        if expected_version is not None and rec.version != expected_version:
            raise VersionConflict(f"case {rec.number} is at version {rec.version}, not {expected_version}: reload it")
        if not self.orgs.covers(actor.org, rec.org):
            raise CaseNotFound(f"no case {case_id!r}")
        return rec

    def _load(self, uow: UnitOfWork, case_id: str, actor: Actor | None) -> CaseRecord:
        rec = uow.get_case(case_id)
        if rec is None or (actor is not None and not self.orgs.covers(actor.org, rec.org)):
            raise CaseNotFound(f"no case {case_id!r}")
        return rec

    def _query(self, actor: Actor | None, **filters: Any) -> CaseQuery:
        allowed = set(CaseQuery.__dataclass_fields__) - {"orgs"}
        unknown = set(filters) - allowed - {"org"}
        if unknown:
            raise TypeError(f"unknown filters: {', '.join(sorted(unknown))}")
        org = filters.pop("org", None)
        scope: frozenset[str] | None = None
        if actor is not None:
            scope = self.orgs.subtree(actor.org)
        if org is not None:
            sub = self.orgs.subtree(org)
            scope = sub if scope is None else scope & sub
        return CaseQuery(orgs=scope, **filters)

    def _append(self, uow: UnitOfWork, rec: CaseRecord, kind: str, trigger: str | None, actor: Actor,
                at: datetime, from_state: str | None, to_state: str | None, data: Mapping[str, Any]) -> Event:
        ev = Event(case_id=rec.id, seq=rec.seq + 1, kind=kind, trigger=trigger, actor_id=actor.id,
                   at=at, from_state=from_state, to_state=to_state, data=dict(data),
                   prev_hash=rec.last_hash)
        ev = Event(**{**ev.__dict__, "hash": ev.compute_hash()})
        rec.seq, rec.last_hash = ev.seq, ev.hash
        uow.append_event(ev)
        return ev

    def _replay(self, uow: UnitOfWork, key: str | None, fingerprint: str) -> CaseRecord | None:
        if not key:
            return None
        found = uow.get_idempotency(key)
        if found is None:
            return None
        if found.fingerprint != fingerprint:
            raise IdempotencyMismatch(f"idempotency key {key!r} was used for a different call")
        return record_from_dict(found.result)

    def _remember(self, uow: UnitOfWork, key: str | None, fingerprint: str, rec: CaseRecord, now: datetime) -> None:
        if key:
            uow.put_idempotency(IdempotencyRecord(key, fingerprint, rec.id, record_to_dict(rec), now))

    def _deadlines_changed(self) -> None:
        if not self.listeners:
            return
        earliest = self.store.earliest_pending_due()
        for listener in self.listeners:
            try:
                listener(earliest)
            except Exception:  # noqa: BLE001 - a listener never breaks a committed call
                pass


BEFORE = "_before"  # key of a transition event's data holding the case as it was (for corrections)

ENGINE_EVENT_KINDS = frozenset({
    "opened", "transition", "corrected", "assigned", "transferred", "suspended", "migrated",
    "escalation", "calendar_recomputed",
})  # kinds only the engine writes (``record_event`` refuses them)


def _snapshot(rec: CaseRecord) -> dict[str, Any]:
    return {
        "state": rec.state,
        "data": _copy_json(rec.data),
        "clocks": {k: clock_to_dict(v) for k, v in rec.clocks.items()},
        "closed_at": rec.closed_at.isoformat() if rec.closed_at else None,
    }


_LEVEL_ORDER = {"warning": 0, "overdue": 1, "over_statutory": 2, "expired": 3}


def _lock_due(uow: UnitOfWork, ids: list[str], now: datetime) -> tuple[list[CaseRecord], dict[str, list[Deadline]]]:
    """A sweep batch's cases, locked, and their due rows: with the batch methods where the store
    has them (stores written before them keep working, a case at a time)."""
    lock_many = getattr(uow, "lock_cases", None)
    due_many = getattr(uow, "pending_due_many", None)
    if lock_many is not None and due_many is not None:
        recs = lock_many(ids)
        return recs, due_many([r.id for r in recs], now)
    recs = [r for r in (uow.lock_case(i) for i in ids) if r is not None]
    found = {r.id: uow.pending_due(r.id, now) for r in recs}
    return recs, {k: v for k, v in found.items() if v}


def _keep_run(new: ClockState, old: ClockState) -> ClockState:
    """A clock started again continues its run numbering (so deadline rows never collide)."""
    from dataclasses import replace

    return replace(new, run=old.run + 1)


def _paused_spans(st: ClockState) -> tuple[tuple[date, date | None], ...]:
    spans: list[tuple[date, date | None]] = []
    segs = st.segments
    for a, b in zip(segs, segs[1:], strict=False):
        if a.stop is not None:
            spans.append((a.stop, b.start))
    if st.status is Status.PAUSED and segs and segs[-1].stop is not None:
        spans.append((segs[-1].stop, None))
    return tuple(spans)
