"""The clock effects of a state change: entering and leaving states (starting, pausing,
resuming, stopping, extending clocks), deriving the dates, the SLA level, and refreshing and
writing a case's deadlines. Mixed into ``Engine``."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime
from fractions import Fraction
from typing import Any

from . import legaltime as lt
from .definition import ClockDef, Definition
from .engine_base import EngineBase
from .errors import MissingData, UnknownItem
from .ladder import Ladder, next_reminders, reminder_level
from .legaltime import ClockKind, ClockState, Sla, Status
from .model import CaseRecord, Clock, Deadline
from .ports import UnitOfWork

_SLA_RANK = {
    "on_track": 0, "met": 0, "warning": 1, "met_late": 1, "expired": 1,
    "overrun": 1,  # a special procedure past its expected end: a warning (the statutory limit is paused)
    "overdue": 2, "over_statutory": 3, "met_over_statutory": 3,
    "deemed_accepted": 4,  # no 一次性告知 in time (第三十二条): shown as its own breach while the case is open
}
WITHDRAWN = "withdrawn"  # the summary level of a case closed by a withdrawal (Definition.withdrawal)


class ClockEffectsMixin(EngineBase):
    """Clock effects and derived values of the ``Engine``."""

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

    def _enter(self, defn: Definition, rec: CaseRecord, source: str | None, dest: str, today: date, now: datetime,
               start_on: date | None = None) -> None:
        """``start_on``: the day the clocks this step starts count from, where it is not ``today`` (a
        deemed acceptance: the receipt day)."""
        d = defn.states[dest]
        for name, cdef in defn.clocks.items():
            st = rec.clocks[name]
            if cdef.step:
                if name == dest:  # a step clock counts from the step's legal day too (a deemed acceptance: receipt)
                    fresh = ClockState.from_spec(cdef.spec(self._ratio(defn), rec.data))
                    rec.clocks[name] = lt.start(fresh, start_on if start_on is not None else today)
                    rec.clocks[name] = _keep_run(rec.clocks[name], st)
                continue
            if dest in cdef.stop:
                rec.clocks[name] = lt.stop(st, today)
            elif dest == cdef.start and (st.status is Status.NOT_STARTED or (
                st.status is Status.STOPPED and cdef.kind is not ClockKind.NOTICE  # 一次性告知 runs once, from receipt
            )):
                fresh = ClockState.from_spec(cdef.spec(self._ratio(defn), rec.data))
                day = start_on if start_on is not None and not cdef.start_from else self._start_day(cdef, rec, today)
                rec.clocks[name] = _keep_run(lt.start(fresh, day), st)
        for name in (*d.pauses, *d.restarts):
            st = rec.clocks[name]
            if st.status is Status.RUNNING:
                level = self._sla(st, now, today)
                rec.clocks[name] = lt.pause(st, today, level)

    def _follow_data(self, defn: Definition, rec: CaseRecord, earlier: Mapping[str, Any],
                     now: datetime) -> dict[str, dict[str, Any]]:
        """Limits chosen by a data field (``limit: {field, cases, default}``) follow the data a
        step gives or changes while their clock counts (started, not stopped): the limit the data
        now chooses replaces the one ``earlier`` data chose, still counted from the clock's own
        start (its pauses and extensions kept), so its statutory and commitment days, its level
        and its deadline rows follow. A clock already past its new limit is overdue at once, and
        the sweep escalates it as any other (each level once). Returns, per clock changed, what
        the transition's event records: the field, the limit before and after, and the dates."""
        changed: dict[str, dict[str, Any]] = {}
        for name, cdef in defn.clocks.items():
            choice = cdef.limit_choice
            st = rec.clocks.get(name)
            if choice is None or cdef.step or st is None or st.status not in (Status.RUNNING, Status.PAUSED):
                continue
            limit = choice.pick(rec.data)
            if limit == choice.pick(earlier) or limit == st.limit:
                continue
            was = self._dates_of(st)
            new = replace(st, limit=limit)
            if new.status is Status.PAUSED:  # it keeps the level it had reached, under the limit it has now
                new = replace(new, held_level=self._level_at_pause(new))
            rec.clocks[name] = new
            changed[name] = {"field": choice.field, "value": rec.data.get(choice.field),
                             "from": str(st.limit), "to": str(limit),
                             "before": was, "after": self._dates_of(new)}
        return changed

    def _level_at_pause(self, st: ClockState) -> Sla | None:
        """The level a paused clock had reached on the day it was paused (that day still counts)."""
        last = st.segments[-1] if st.segments else None
        if last is None or last.stop is None:
            return st.held_level
        running = replace(st, status=Status.RUNNING, held_level=None,
                          segments=(*st.segments[:-1], lt.Segment(last.start)))
        return lt.sla_at(running, self._derive(running), lt.midnight(last.stop))

    def _dates_of(self, st: ClockState) -> dict[str, Any]:
        """A counting clock's dates as events record them (ISO), its expiry for a party's or an
        external clock."""
        d = self._derive(st)
        out: dict[str, Any] = {
            "statutory_due": d.statutory_due.isoformat() if d.statutory_due else None,
            "commitment_due": d.commitment_due.isoformat() if d.commitment_due else None,
            "provisional": d.provisional,
        }
        if st.kind is not ClockKind.OFFICE:
            out["expires_at"] = d.expires_at.isoformat() if d.expires_at else None
        return out

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
        # first by the clock object itself: one step asks about the same objects several times
        # (_refresh, the deadlines, the view), and hashing a ClockState hashes all its fields
        by_id = self._derived_by_id
        seen = by_id.get((id(st), today))
        if seen is not None and seen[0] is st and seen[1] == generation:
            return seen[2]
        key = (st, today, generation)
        hit = self._derived.get(key)
        if hit is None:
            if len(self._derived) >= 20_000:
                self._derived.clear()
            hit = self._derived[key] = lt.evaluate(
                st, self.calendar, strict=self.settings.strict_calendar, today=today
            )
        if len(by_id) >= 4_096:
            by_id.clear()
        by_id[(id(st), today)] = (st, generation, hit)  # holds st: its id is not reused meanwhile
        return hit

    def _remaining(self, st: ClockState, derived: lt.Derived, today: date) -> int | None:
        generation = getattr(self.calendar, "generation", None)
        if generation is None:
            return lt.remaining_units(st, derived, self.calendar, today)
        key = ("remaining", st, today, generation)
        if key not in self._derived:
            self._derived[key] = lt.remaining_units(st, derived, self.calendar, today)  # type: ignore[assignment]
        return self._derived[key]  # type: ignore[return-value]

    def _clock_view(self, name: str, st: ClockState, now: datetime, today: date) -> Clock:
        """A clock as callers see it at ``now``. Everything in it but the level depends only on the
        clock state, the day and the calendar: the view is remembered by clock object, day,
        calendar generation and level (a Clock is frozen, so it is shared safely)."""
        derived = self._derive(st, today)
        sla = lt.sla_at(st, derived, now).value
        generation = getattr(self.calendar, "generation", None)
        key = ("view", id(st), name, today, sla)
        if generation is not None:
            seen = self._derived_by_id.get(key)
            if seen is not None and seen[0] is st and seen[1] == generation:
                return seen[2]
        view = Clock(
            name=name,
            label=st.label or name,
            kind=st.kind.value,
            status=st.status.value,
            statutory_due=derived.statutory_due,
            commitment_due=derived.commitment_due,
            sla=sla,
            provisional=derived.provisional,
            party=st.kind is ClockKind.PARTY,
            external=st.kind is ClockKind.EXTERNAL,
            limit=str(st.limit),
            started_on=st.started_on,
            stopped_on=st.stopped_on,
            statutory_units=derived.statutory_units,
            commitment_units=derived.commitment_units,
            used_units=derived.used_units,
            remaining_units=_capped(self._remaining(st, derived, today), derived.statutory_units)
            if st.status is Status.RUNNING else None,
            unit=st.counting_unit.value,
            warning_at=derived.warning_at,
            overdue_at=derived.overdue_at,
            over_statutory_at=derived.over_statutory_at,
            expires_at=derived.expires_at,
            extensions=tuple(str(e) for e in st.extensions),
            paused_spans=_paused_spans(st),
            run=st.run,
            statutory_provisional=derived.statutory_provisional,
            commitment_provisional=derived.commitment_provisional,
            expiry_provisional=derived.expiry_provisional,
            awaiting_calendar=st.awaiting_calendar,
        )
        if generation is not None:
            if len(self._derived_by_id) >= 4_096:
                self._derived_by_id.clear()
            self._derived_by_id[key] = (st, generation, view)
        return view

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
            if st.status is Status.STOPPED and name != main and not (
                level == Sla.DEEMED_ACCEPTED.value and rec.closed_at is None  # 一次性告知 missed: a breach while open
            ):
                continue
            rank = _SLA_RANK.get(level, 0)
            if rank > worst_rank or (rank == worst_rank and name == main):
                worst, worst_rank = level, rank
            if st.status is Status.RUNNING:
                at = derived.overdue_at if st.kind is ClockKind.OFFICE else derived.expires_at
                if at is not None and (due is None or at < due):
                    due = at
        if rec.closed_at is not None and defn.withdrawal(rec.state):
            worst = WITHDRAWN  # counted as withdrawn (as the report does), never as on time
        rec.sla = worst
        rec.due_at = due

    def _wanted_deadlines(self, rec: CaseRecord, defn: Definition | None) -> list[Deadline]:
        """The case's deadline rows; ``defn``: its definition, as the caller already holds it (its
        ladder's reminders; None where the case's definition is unknown: no reminders)."""
        out: list[Deadline] = []
        ladder = defn.escalation if defn is not None and defn.escalation.reminds else None
        for name, st in rec.clocks.items():
            if st.status is not Status.RUNNING:
                continue
            derived = self._derive(st)
            instants = derived.level_instants(st.kind)
            for level, at in instants:
                out.append(Deadline(rec.id, name, st.run, level.value, at, org=rec.org, item_id=rec.item_id))
            if ladder is not None and st.kind is ClockKind.OFFICE:  # the office's reminders while overdue
                for day, _level, at in self._reminders(ladder, {lv.value: t for lv, t in instants}):
                    out.append(Deadline(rec.id, name, st.run, reminder_level(day), at, org=rec.org,
                                        item_id=rec.item_id))
        return out

    def _definition_or_none(self, rec: CaseRecord) -> Definition | None:
        """The case's definition, for a caller that does not hold it (None when it is unknown)."""
        try:
            return self.registry.get(rec.item_id, rec.definition_version)
        except UnknownItem:
            return None

    def _reminders(self, ladder: Ladder, instants: dict[str, datetime]) -> list[tuple[date, str, datetime]]:
        counter = lt.Counter(self.calendar)
        return next_reminders(ladder, instants, self.today(), counter.is_workday)

    def _write_deadlines(self, uow: UnitOfWork, rec: CaseRecord, defn: Definition) -> None:
        uow.replace_deadlines(rec.id, self._wanted_deadlines(rec, defn))

    def _current_sla(self, rec: CaseRecord, defn: Definition, now: datetime) -> str:
        probe = copy.copy(rec)
        self._refresh(probe, defn, now)
        return probe.sla


def _keep_run(new: ClockState, old: ClockState) -> ClockState:
    """A clock started again continues its run numbering (so deadline rows never collide)."""
    return replace(new, run=old.run + 1)


def _capped(remaining: int | None, limit: int | None) -> int | None:
    """What is left never exceeds the limit itself (issue 16): a last day moved off a rest day, or
    a start that lies ahead, adds days at the end, not to what anyone is told is left."""
    if remaining is None or limit is None:
        return remaining
    return min(remaining, limit)


def _paused_spans(st: ClockState) -> tuple[tuple[date, date | None], ...]:
    spans: list[tuple[date, date | None]] = []
    segs = st.segments
    for a, b in zip(segs, segs[1:], strict=False):
        if a.stop is not None:
            spans.append((a.stop, b.start))
    if st.status is Status.PAUSED and segs and segs[-1].stop is not None:
        spans.append((segs[-1].stop, None))
    return tuple(spans)
