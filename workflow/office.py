"""Office operations on cases beyond firing triggers: assigning, transferring, correcting,
office-wide suspensions, recording non-transition events, migrating definition versions, and
loading a calendar override with the recomputation of open clocks. Mixed into ``Engine``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import bounds
from . import legaltime as lt
from .authority import PORTAL_ROLE, require_admin_over, require_outside, require_root_admin
from .clock_effects import ClockEffectsMixin
from .engine_base import BEFORE, ENGINE_EVENT_KINDS, _copy_json, _jsonable
from .errors import Forbidden, MissingData, TransitionNotAllowed
from .legaltime import ClockState, Status
from .model import SYSTEM, Actor, Case, CaseRecord, Deadline, Event, OutboxMessage, clock_from_dict
from .ports import CaseQuery, UnitOfWork
from .special import SPECIAL_CLOCK


class OfficeMixin(ClockEffectsMixin):
    """Supervisors' and administrators' operations of the ``Engine``."""

    if TYPE_CHECKING:  # defined by ``Engine`` (the reading use cases) and ``OrdersMixin``
        def get_case(self, case_id: str, actor: Actor | None = None) -> Case: ...

        def _recount_orders(self, uow: UnitOfWork, rec: CaseRecord) -> tuple[dict[str, Any], list[Deadline]]: ...

    def assign(self, case_id: str, assignee: str | None, *, actor: Actor,
               expected_version: int | None = None, reason: str | None = None) -> Case:
        """Set or change the officer in charge (承办人). Supervisors, leaders and admins only."""
        require_outside(actor)
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
        require_outside(actor)
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
            orders = getattr(self, "order_store", None)
            if orders is not None:  # its supervision orders go with it
                for order in orders.of_case(uow, rec.id):
                    orders.save(uow, replace(order, org=to_org))
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
        require_outside(actor)
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
        require_outside(actor)
        if not actor.has_any(("admin",)):
            raise Forbidden("declaring a suspension needs the admin role")
        if org not in self.orgs:
            raise MissingData(f"unknown org {org!r}", {"org": "unknown org"})
        require_admin_over(self.orgs, actor, org, "declaring a suspension")  # a city admin: the city only
        if not (reason or "").strip():
            raise MissingData("a suspension needs a reason", {"reason": "required"})
        if isinstance(first, date) and isinstance(last, date) and last < first:
            raise MissingData("a suspension ends on or after its first day", {"last": "before first"})
        first, last = bounds.suspension(first, last, self.today())  # before any day is counted
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
        require_outside(actor)
        if not actor.has_any(("clerk", "examiner", "supervisor", "leader", "admin", PORTAL_ROLE)):
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
        require_outside(actor)
        # the definition's versions are the office's: a city admin cannot move cases between them
        require_root_admin(self.orgs, actor, "migrating cases to another definition version")
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
                            warning=spec.warning,
                        )
                for name in [n for n in rec.clocks if n not in new.clocks and n != SPECIAL_CLOCK]:
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

    def load_calendar(self, path: str | Path, actor: Actor | None = None) -> list[str]:
        """Load an override file (one year's State Council notice) into the calendar and
        recompute every open clock it touches. Returns the ids of the cases whose deadlines or
        provisional marks changed; each gets a ``calendar_recomputed`` event by ``actor`` (the
        engine's own when absent) with the notice's title (``source``) and the old and new dates.
        Escalations already fired stay on the record; a held expiry whose last day is now
        confirmed fires on the next sweep once that day has passed. The calendar is the whole
        office's: ``actor`` must be an admin at the root of the org tree (Forbidden otherwise,
        before anything is read or changed)."""
        if actor is not None:
            require_outside(actor)
            require_root_admin(self.orgs, actor, "loading a calendar")
        loader = getattr(self.calendar, "load_file", None)
        if loader is None:
            raise TransitionNotAllowed("this engine's calendar does not take override files")
        before = self._open_clock_dates()
        year = int(loader(path))
        return self._recompute(before, year, self._notice_title(year, path), actor or SYSTEM)

    def recompute_calendar(self, year: int, *, source: str = "",
                           before: Mapping[str, dict[str, Any]] | None = None,
                           actor: Actor | None = None) -> list[str]:
        """Recompute open clocks after the calendar changed by other means (``before``: the
        dates from ``_open_clock_dates()`` taken before the change; without it, every open clock
        that reaches into ``year`` is rewritten). ``actor``: as for :meth:`load_calendar`."""
        if actor is not None:
            require_outside(actor)
            require_root_admin(self.orgs, actor, "recomputing the calendar")
        return self._recompute(before, year, source, actor or SYSTEM)

    def provisional_summary(self, actor: Actor | None = None) -> dict[str, Any]:
        """How many open cases (in the actor's org subtree; all when None) carry a provisional
        date (暂定: a statutory, commitment or expiry date depending on a year whose notice is not
        loaded), by the year of their latest provisional date, and how many wait for the calendar
        before a party's period can be held to have run out (``awaiting_calendar``)."""
        by_year: dict[int, int] = {}
        carrying = awaiting = 0
        with self.store.unit_of_work() as uow:
            records = uow.query_cases(self._query(actor, open=True))
        for rec in records:
            years: list[int] = []
            waits = False
            for st in rec.clocks.values():
                if st.status not in (Status.RUNNING, Status.PAUSED):
                    continue
                waits = waits or st.awaiting_calendar
                d = self._derive(st)
                flagged = [(d.statutory_provisional, d.statutory_due),
                           (d.commitment_provisional, d.commitment_due),
                           (d.expiry_provisional, d.expires_at.date() if d.expires_at else None)]
                years.extend(day.year for flag, day in flagged if flag and day is not None)
            if years:
                carrying += 1
                by_year[max(years)] = by_year.get(max(years), 0) + 1
            awaiting += waits
        return {"open_cases": carrying, "by_year": dict(sorted(by_year.items())),
                "awaiting_calendar": awaiting}

    def _notice_title(self, year: int, path: str | Path) -> str:
        """The loaded override's ``source`` (the notice's title), never the file's path: an
        upload is read from a temporary file whose path means nothing later."""
        overrides = getattr(self.calendar, "overrides", None)
        found = overrides.get(year) if isinstance(overrides, Mapping) else None
        title = getattr(found, "source", None)
        return str(title) if title else Path(path).name

    def _clock_dates(self, rec: CaseRecord) -> dict[str, Any]:
        return {name: self._dates_of(st) for name, st in rec.clocks.items()
                if st.status in (Status.RUNNING, Status.PAUSED)}

    def _open_clock_dates(self) -> dict[str, dict[str, Any]]:
        with self.store.unit_of_work() as uow:
            return {r.id: self._clock_dates(r) for r in uow.query_cases(CaseQuery(open=True))}

    def _recompute(self, before: Mapping[str, dict[str, Any]] | None, year: int, source: str,
                   actor: Actor) -> list[str]:
        changed: list[str] = []
        now = self.now()
        with self.store.unit_of_work() as uow:
            for r in uow.query_cases(CaseQuery(open=True)):
                rec = uow.get_case(r.id, for_update=True) or r
                new_dates = self._clock_dates(rec)
                orders, order_rows = self._recount_orders(uow, rec)  # its open 督办 orders' reply deadlines too
                if before is not None:
                    old_dates = before.get(rec.id, {})
                    if new_dates == old_dates and not orders:
                        continue
                else:
                    old_dates = {}
                    if not orders and not any(v["statutory_due"] and int(v["statutory_due"][:4]) >= year
                                              for v in new_dates.values()):
                        continue
                defn = self.registry.get(rec.item_id, rec.definition_version)
                for name, st in list(rec.clocks.items()):
                    if st.awaiting_calendar and not self._derive(st).expiry_provisional:
                        # the calendar came: the held expiry fires on the sweep once the
                        # confirmed last day has passed (the row is set pending again below)
                        rec.clocks[name] = replace(st, awaiting_calendar=False)
                self._refresh(rec, defn, now)
                clocks = {
                    name: {"before": old_dates.get(name), "after": new}
                    for name, new in new_dates.items() if old_dates.get(name) != new
                }
                self._append(uow, rec, "calendar_recomputed", None, actor, now, rec.state, rec.state,
                             {"year": year, "source": source, "clocks": clocks, **({"orders": orders} if orders else {})})
                uow.replace_deadlines(rec.id, [*self._wanted_deadlines(rec, defn), *order_rows])  # once a case
                uow.save_case(rec, rec.version)
                changed.append(rec.id)
            uow.commit()
        self._deadlines_changed()
        return changed

