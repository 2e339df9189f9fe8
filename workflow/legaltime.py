"""Legal time: deadlines counted as the law counts them (DESIGN.md, "Legal time", rules 1-10).

Everything here is a pure function of (start, limit, calendar, pauses, extensions, ratio): no wall
clock, no I/O. A clock's persisted state is a :class:`ClockState`; :func:`evaluate` derives its
deadlines and the instants at which its SLA level changes; :func:`sla_at` reads the level at an
instant. The state changes (start, pause, resume, restart, extend, stop) return new states.

Counting, in short:

* the day of the starting event is not counted (民法典 第二百零一条);
* ``N working days``: the N-th working day after the start date (行政许可法 第八十二条);
* ``N days``: the N-th calendar day after it, moved to the next working day when that is a rest day
  (民法典 第二百零三条, 民事诉讼法 第八十五条);
* ``N months``: the same day-of-month N months on, or the month's last day (民法典 第二百零二条),
  then the rest-day move; for pauses and commitments it is the natural days up to that unmoved day,
  fixed when the clock starts;
* a deadline is the whole last day: overdue from 00:00 of the following day (Asia/Shanghai).
"""

from __future__ import annotations

import calendar as _stdcal
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from fractions import Fraction
from zoneinfo import ZoneInfo

from .calendar import WorkingCalendar
from .errors import CalendarError, TransitionNotAllowed
from .limits import Limit, Unit

TZ = ZoneInfo("Asia/Shanghai")
DEFAULT_RATIO = Fraction(2, 3)
ONE_DAY = timedelta(days=1)
_MAX_SCAN = 3660  # no legal period here spans ten years of days; guards against a broken calendar
# Spans longer than this are not walked day by day (a stored date far out of range, 0001-01-01):
# the days before the last _MAX_SPAN are counted by rule (natural days; working days as 5 of every
# 7), marked provisional. Reading such a clock costs the same as reading one started this year.
_MAX_SPAN = 3660 * 2


class ClockKind(StrEnum):
    OFFICE = "office"  # the office's own work: compressed to the commitment, escalated
    PARTY = "party"  # a party's right (answer, supplement): never compressed or escalated to staff
    EXTERNAL = "external"  # another body's time (a court): tracked like a party clock
    NOTICE = "notice"  # 一次性告知 (行政许可法第三十二条): never compressed; running out is a deemed acceptance
    SPECIAL = "special"  # 特别程序's expected time (行政许可法第四十五条): never compressed; running over warns


class Status(StrEnum):
    NOT_STARTED = "not_started"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


class Level(StrEnum):
    """Escalation levels, in the order they fall due."""

    WARNING = "warning"
    OVERDUE = "overdue"
    OVER_STATUTORY = "over_statutory"
    EXPIRED = "expired"
    DEEMED_ACCEPTED = "deemed_accepted"  # a notice clock ran out: accepted as of receipt
    OVERRUN = "overrun"  # a special procedure ran past its expected last day


class Sla(StrEnum):
    ON_TRACK = "on_track"
    WARNING = "warning"
    OVERDUE = "overdue"
    OVER_STATUTORY = "over_statutory"
    EXPIRED = "expired"
    MET = "met"
    MET_LATE = "met_late"
    MET_OVER_STATUTORY = "met_over_statutory"
    DEEMED_ACCEPTED = "deemed_accepted"  # no 一次性告知 in time: the case counts as accepted from receipt
    OVERRUN = "overrun"  # a special procedure past its expected last day (a warning: the limit is paused)


def midnight(day: date) -> datetime:
    """00:00 of ``day`` in Asia/Shanghai."""
    return datetime.combine(day, time(0), TZ)


def local_date(instant: datetime) -> date:
    """The Asia/Shanghai calendar date of an aware instant (naive ones are taken as Shanghai time)."""
    if instant.tzinfo is None:
        return instant.date()
    return instant.astimezone(TZ).date()


def add_months(day: date, months: int) -> date:
    """Same day-of-month ``months`` later, or that month's last day where it has none."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, _stdcal.monthrange(year, month)[1]))


class Counter:
    """Counts days on a calendar and remembers whether it touched a year with no official data.

    ``provisional`` stays set once any count touched such a year; :meth:`touched` reports (and
    clears) whether the counts since its last call did, so each date gets its own flag.
    With ``strict=True`` it refuses (``CalendarError``) instead of counting such a year on the
    calendar's guess (weekends and the statutory holidays). ``excluded`` days (an office-wide
    suspension) are never counted, in either unit, and a deadline never lands on one.
    """

    def __init__(
        self, calendar: WorkingCalendar, *, strict: bool = False, excluded: frozenset[date] = frozenset()
    ) -> None:
        self.calendar = calendar
        self.strict = strict
        self.excluded = excluded
        self.provisional = False
        self._touched = False
        self._official: dict[int, bool] = {}

    def touched(self) -> bool:
        """Whether the counts since the last call touched a year with no official data."""
        flag, self._touched = self._touched, False
        return flag

    def is_workday(self, day: date) -> bool:
        official = self._official.get(day.year)
        if official is None:
            official = self._official[day.year] = bool(self.calendar.is_official(day.year))
        if not official:
            if self.strict:
                raise CalendarError(
                    f"no official working-day calendar for {day.year}: load the State Council "
                    f"notice as an override file (strict calendar refuses to guess)"
                )
            self.provisional = self._touched = True
        return bool(self.calendar.is_workday(day))

    def counts(self, day: date, unit: Unit) -> bool:
        if day in self.excluded:
            return False
        return unit is not Unit.WORKING_DAYS or self.is_workday(day)

    def nth_after(self, start: date, n: int, unit: Unit) -> date:
        """The ``n``-th counted day after ``start`` (working days, or natural days unmoved)."""
        if n <= 0:
            return start
        if unit is not Unit.WORKING_DAYS and not self.excluded:
            return start + timedelta(days=n)
        day, found = start, 0
        for _ in range(_MAX_SCAN * 2):
            day += ONE_DAY
            if self.counts(day, unit):
                found += 1
                if found == n:
                    return day
        raise CalendarError(f"no {n} counted days found after {start}")

    def count_between(self, after: date, upto: date, unit: Unit) -> int:
        """Counted days in (after, upto]."""
        if upto <= after:
            return 0
        if unit is not Unit.WORKING_DAYS and not self.excluded:
            return (upto - after).days
        head = 0
        if (upto - after).days > _MAX_SPAN:  # a date far out of range: not walked day by day
            cut = upto - timedelta(days=_MAX_SPAN)
            far = (cut - after).days
            head = far * 5 // 7 if unit is Unit.WORKING_DAYS else far
            head -= sum(1 for d in self.excluded if after < d <= cut)
            self.provisional = self._touched = True
            after = cut
        return head + sum(1 for i in range(1, (upto - after).days + 1) if self.counts(after + timedelta(i), unit))

    def off_rest(self, day: date) -> date:
        """``day`` if it is a working day, else the first working day after it (rule 3)."""
        for _ in range(_MAX_SCAN):
            if self.is_workday(day) and day not in self.excluded:
                return day
            day += ONE_DAY
        raise CalendarError(f"no working day found from {day}")

    def previous_workday(self, day: date) -> date:
        """The last working day strictly before ``day``."""
        for _ in range(_MAX_SCAN):
            day -= ONE_DAY
            if self.is_workday(day) and day not in self.excluded:
                return day
        raise CalendarError(f"no working day found before {day}")


def excluded_days(spans: Iterable[tuple[date, date]]) -> frozenset[date]:
    """Every day of the given inclusive spans."""
    out: set[date] = set()
    for a, b in spans:
        out.update(a + timedelta(days=i) for i in range((b - a).days + 1))
    return frozenset(out)


# --- the clock's persisted state ---------------------------------------------------------------


@dataclass(frozen=True)
class WarningRule:
    """When an office clock turns yellow (an office's escalation ladder, workflow/ladder.py).

    ``before``: from 00:00 of the ``before``-th working day before the commitment's last day (1,
    the default: the last working day before it). ``share`` (instead): from 00:00 after the day
    on which ``ceil(share × commitment units)`` counted units are used up. Either way never at or
    before the clock's start, never after 00:00 of the commitment's last day."""

    before: int = 1
    share: Fraction | None = None

    def __str__(self) -> str:
        if self.share is not None:
            return f"share_of_commitment {self.share}"
        return f"before_commitment {self.before} working day{'s' if self.before != 1 else ''}"


@dataclass(frozen=True)
class ClockSpec:
    """What a definition says about a clock (a plain value; the definition model builds it)."""

    name: str
    limit: Limit
    kind: ClockKind = ClockKind.OFFICE
    commitment: Limit | None = None
    ratio: Fraction = DEFAULT_RATIO
    grace: Limit | None = None
    max_extension: Limit | None = None
    label: str = ""
    warning: WarningRule | None = None  # None: the default (one working day before the commitment)


@dataclass(frozen=True)
class Segment:
    """A running span: consumes the counted days in (start, stop]; ``stop`` None while running."""

    start: date
    stop: date | None = None


@dataclass(frozen=True)
class ClockState:
    """Everything needed to recompute a clock's deadlines; stored with the case."""

    name: str
    limit: Limit
    kind: ClockKind = ClockKind.OFFICE
    commitment: Limit | None = None
    ratio: Fraction = DEFAULT_RATIO
    grace: Limit | None = None
    max_extension: Limit | None = None
    status: Status = Status.NOT_STARTED
    started_on: date | None = None
    segments: tuple[Segment, ...] = ()
    extensions: tuple[Limit, ...] = ()
    stopped_on: date | None = None
    run: int = 0
    held_level: Sla | None = None  # the level a paused clock keeps
    label: str = ""
    suspended: tuple[tuple[date, date], ...] = ()  # office-wide suspensions: days not counted
    # party/external: the period ran out on a provisional last day, and its on_expire transition
    # waits for the year's calendar or a clerk's confirmation (rule 10)
    awaiting_calendar: bool = False
    warning: WarningRule | None = None  # the definition's (or office's) warning point; None: default

    @classmethod
    def from_spec(cls, spec: ClockSpec, limit: Limit | None = None) -> ClockState:
        return cls(
            name=spec.name,
            limit=limit or spec.limit,
            kind=spec.kind,
            commitment=spec.commitment,
            ratio=spec.ratio,
            grace=spec.grace,
            max_extension=spec.max_extension,
            label=spec.label,
            warning=spec.warning,
        )

    @property
    def counting_unit(self) -> Unit:
        """Working days for working-day limits, natural days otherwise."""
        return Unit.WORKING_DAYS if self.limit.unit is Unit.WORKING_DAYS else Unit.DAYS

    @property
    def compressed(self) -> bool:
        return self.kind is ClockKind.OFFICE


# --- units ---------------------------------------------------------------------------------------


def _units(start: date, limits: Iterable[Limit]) -> int:
    """Counted units of several limits of one family, months fixed as natural days from ``start``.

    Natural days and months are walked in order from ``start``: each month limit is added to the
    unmoved day reached so far (rule 4; rule 8: an extension adds to the unmoved last day).
    """
    units, day = 0, start
    for lim in limits:
        if lim.unit is Unit.MONTHS:
            day = add_months(day, lim.n)
        elif lim.unit is Unit.DAYS:
            day += timedelta(days=lim.n)
        else:
            units += lim.n
    return units + (day - start).days


def statutory_units(state: ClockState) -> int:
    """The statutory limit in counted units, extensions included (rule 4 and rule 8)."""
    assert state.started_on is not None
    return _units(state.started_on, (state.limit, *state.extensions))


def commitment_units(state: ClockState) -> int:
    """floor(ratio x statutory), at least 1, or the definition's own (shorter) commitment (rule 6)."""
    assert state.started_on is not None
    total = statutory_units(state)
    if state.commitment is not None:
        base = _units(state.started_on, [state.commitment])
        extra = total - _units(state.started_on, [state.limit])
        units = base + int(state.ratio * extra)
    else:
        units = int(state.ratio * total)  # Fraction truncates toward zero: floor for positives
    return max(1, min(units, total))


def commitment_for(limit: Limit, ratio: Fraction, start: date | None = None) -> int:
    """floor(ratio x units) (at least 1) for a limit; months use ``start`` (default: a 31-day month)."""
    units = _units(start or date(2024, 1, 1), [limit])
    return max(1, int(ratio * units))


# --- derived values ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Derived:
    """Deadlines of a clock at its current state. Dates are last allowed days."""

    statutory_due: date | None = None
    commitment_due: date | None = None
    warning_at: datetime | None = None
    overdue_at: datetime | None = None
    over_statutory_at: datetime | None = None
    expires_at: datetime | None = None
    statutory_units: int | None = None
    commitment_units: int | None = None
    used_units: int = 0
    provisional: bool = False  # any count of this clock touched a year with no official data
    statutory_provisional: bool = False  # statutory_due depends on such a year (暂定)
    commitment_provisional: bool = False  # commitment_due (and the warning) depends on one
    expiry_provisional: bool = False  # party/external: the last day, grace included, depends on one

    def level_instants(self, kind: ClockKind) -> list[tuple[Level, datetime]]:
        """The escalation levels this clock will reach, with the instant each falls due."""
        if kind is ClockKind.NOTICE:
            return [(Level.DEEMED_ACCEPTED, self.expires_at)] if self.expires_at else []
        if kind is ClockKind.SPECIAL:
            return [(Level.OVERRUN, self.expires_at)] if self.expires_at else []
        if kind is not ClockKind.OFFICE:
            return [(Level.EXPIRED, self.expires_at)] if self.expires_at else []
        pairs = [
            (Level.WARNING, self.warning_at),
            (Level.OVERDUE, self.overdue_at),
            (Level.OVER_STATUTORY, self.over_statutory_at),
        ]
        return [(lvl, at) for lvl, at in pairs if at is not None]


def _locate(
    segments: Sequence[Segment], units: int, unit: Unit, counter: Counter, project: bool
) -> date | None:
    """The day on which ``units`` counted days are used up, walking the running segments."""
    remaining = units
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg.stop is None or (last and project):
            return counter.nth_after(seg.start, remaining, unit)
        used = counter.count_between(seg.start, seg.stop, unit)
        if used >= remaining:
            return counter.nth_after(seg.start, remaining, unit)
        remaining -= used
    return None


def used_units(state: ClockState, counter: Counter, today: date | None = None) -> int:
    """Counted units consumed so far (pauses excluded); an open segment counts up to ``today``."""
    unit = state.counting_unit
    total = 0
    for seg in state.segments:
        end = seg.stop if seg.stop is not None else today
        if end is not None:
            total += counter.count_between(seg.start, end, unit)
    return total


def evaluate(
    state: ClockState, calendar: WorkingCalendar, *, strict: bool = False, today: date | None = None
) -> Derived:
    """Deadlines and level instants of a clock. A paused clock has no due dates until it resumes.
    A clock whose dates run past the last date there is (9999-12-31: a stored date far out of
    range) has no due dates either, and is marked provisional; it never raises OverflowError."""
    if state.status is Status.NOT_STARTED or state.started_on is None:
        return Derived()
    try:
        return _evaluate(state, calendar, strict=strict, today=today)
    except (OverflowError, ValueError):  # a date past 9999-12-31 (timedelta, or date() of a month)
        return Derived(provisional=True)


def _evaluate(
    state: ClockState, calendar: WorkingCalendar, *, strict: bool = False, today: date | None = None
) -> Derived:
    counter = Counter(calendar, strict=strict, excluded=excluded_days(state.suspended))
    unit = state.counting_unit
    project = state.status is not Status.PAUSED
    s_units = statutory_units(state)
    used = used_units(state, counter, today)
    counter.touched()
    raw = _locate(state.segments, s_units, unit, counter, project)
    if raw is None:
        return Derived(
            statutory_units=s_units,
            commitment_units=commitment_units(state) if state.compressed else None,
            used_units=used,
            provisional=counter.provisional,
        )
    statutory_due = counter.off_rest(raw) if unit is Unit.DAYS else raw
    s_prov = counter.touched()
    if not state.compressed:
        last = statutory_due
        if state.grace is not None:
            g_unit = Unit.WORKING_DAYS if state.grace.unit is Unit.WORKING_DAYS else Unit.DAYS
            last = counter.nth_after(last, _units(last, [state.grace]), g_unit)
        return Derived(
            statutory_due=statutory_due,
            expires_at=midnight(last + ONE_DAY),
            statutory_units=s_units,
            used_units=used,
            provisional=counter.provisional,
            statutory_provisional=s_prov,
            expiry_provisional=counter.touched() or s_prov,
        )
    c_units = commitment_units(state)
    c_raw = _locate(state.segments, c_units, unit, counter, True)
    assert c_raw is not None
    c_moved = counter.off_rest(c_raw) if unit is Unit.DAYS else c_raw
    commitment_due = min(c_moved, statutory_due)
    c_prov = counter.touched()
    if c_moved > statutory_due:  # never past the statutory deadline: it is that date, and its flag
        c_prov = s_prov
    warning_at = warning_instant(state, commitment_due, counter, c_units)
    c_prov = counter.touched() or c_prov  # the warning day looked back from the commitment
    return Derived(
        statutory_due=statutory_due,
        commitment_due=commitment_due,
        warning_at=warning_at,
        overdue_at=midnight(commitment_due + ONE_DAY),
        over_statutory_at=midnight(statutory_due + ONE_DAY),
        statutory_units=s_units,
        commitment_units=c_units,
        used_units=used,
        provisional=counter.provisional,
        statutory_provisional=s_prov,
        commitment_provisional=c_prov,
    )


def warning_instant(state: ClockState, commitment_due: date, counter: Counter,
                    commitment_units: int | None = None) -> datetime:
    """Yellow from 00:00 of the last working day before the commitment's last day, but never at
    or before the clock's start: where that instant is (the day before the commitment is the
    start day or earlier), from 00:00 of the commitment's last day instead ("due today").

    The clock starts during its start day, so 00:00 of any day after it is after the start.
    A clock's ``warning`` rule (:class:`WarningRule`) moves the point: ``before`` N working days
    (where the N-th lies at or before the start: the first working day after the start), or a
    ``share`` of the commitment's units used; never later than 00:00 of the commitment's last day.
    """
    rule = state.warning
    if rule is not None and rule.share is not None and commitment_units:
        k = max(1, math.ceil(rule.share * commitment_units))
        used_up = _locate(state.segments, k, state.counting_unit, counter, True)
        if used_up is not None:
            return min(midnight(used_up + ONE_DAY), midnight(commitment_due))
    before = rule.before if rule is not None and rule.share is None else 1
    day = commitment_due
    for _ in range(before):
        day = counter.previous_workday(day)
    if state.started_on is not None and day <= state.started_on:
        if before == 1:
            day = commitment_due
        else:  # as early as the rule asks, but after the start: the first working day after it
            day = min(counter.off_rest(state.started_on + ONE_DAY), commitment_due)
    return midnight(day)


def sla_at(state: ClockState, derived: Derived, now: datetime) -> Sla:
    """The SLA level of a clock at ``now``."""
    if state.status is Status.NOT_STARTED:
        return Sla.ON_TRACK
    if state.status is Status.PAUSED:
        return state.held_level or Sla.ON_TRACK
    if state.status is Status.STOPPED:
        return _stopped_sla(state, derived)
    level = Sla.ON_TRACK
    for lvl, at in derived.level_instants(state.kind):
        if now >= at:
            level = Sla(lvl.value)
    return level


def _stopped_sla(state: ClockState, derived: Derived) -> Sla:
    stop = state.stopped_on
    if stop is None or derived.statutory_due is None:
        return Sla.MET
    if state.segments and state.segments[-1].stop is not None:
        stop = min(stop, state.segments[-1].stop)  # stopped while paused: counting ended at the pause
    if not state.compressed:
        assert derived.expires_at is not None
        if midnight(stop) < derived.expires_at:
            return Sla.MET
        return {ClockKind.NOTICE: Sla.DEEMED_ACCEPTED, ClockKind.SPECIAL: Sla.OVERRUN}.get(state.kind, Sla.EXPIRED)
    if derived.commitment_due is not None and stop <= derived.commitment_due:
        return Sla.MET
    if stop <= derived.statutory_due:
        return Sla.MET_LATE
    return Sla.MET_OVER_STATUTORY


def remaining_units(
    state: ClockState, derived: Derived, calendar: WorkingCalendar, today: date
) -> int | None:
    """Counted units left after ``today`` up to the statutory last day (negative when past)."""
    if derived.statutory_due is None:
        return None
    counter = Counter(calendar, excluded=excluded_days(state.suspended))
    unit = state.counting_unit
    if derived.statutory_due >= today:
        return counter.count_between(today, derived.statutory_due, unit)
    return -counter.count_between(derived.statutory_due, today, unit)


# --- state changes (each returns a new state) ----------------------------------------------------


def start(state: ClockState, on: date) -> ClockState:
    """Start (or start afresh) a clock on the event day ``on`` (not counted)."""
    return replace(
        state,
        status=Status.RUNNING,
        started_on=on,
        segments=(Segment(on),),
        extensions=(),
        stopped_on=None,
        run=state.run + 1,
        held_level=None,
        awaiting_calendar=False,
    )


def pause(state: ClockState, on: date, level: Sla) -> ClockState:
    """Pause a running clock on ``on`` (that day is still counted); it keeps ``level``."""
    if state.status is not Status.RUNNING:
        return state
    last = state.segments[-1]
    return replace(
        state,
        status=Status.PAUSED,
        segments=(*state.segments[:-1], Segment(last.start, max(on, last.start))),
        held_level=level,
    )


def resume(state: ClockState, on: date) -> ClockState:
    """Resume a paused clock: the remaining units count from the day after ``on``."""
    if state.status is not Status.PAUSED:
        return state
    return replace(
        state,
        status=Status.RUNNING,
        segments=(*state.segments, Segment(on)),
        held_level=None,
    )


def stop(state: ClockState, on: date) -> ClockState:
    """Stop a clock for good on ``on``."""
    if state.status is Status.RUNNING:
        last = state.segments[-1]
        segments = (*state.segments[:-1], Segment(last.start, max(on, last.start)))
    elif state.status is Status.PAUSED:
        segments = state.segments
    else:
        return state
    return replace(state, status=Status.STOPPED, segments=segments, stopped_on=on, held_level=None,
                   awaiting_calendar=False)


def extend(
    state: ClockState, by: Limit, *, today: date, derived: Derived, maximum: Limit | None = None
) -> ClockState:
    """Add an approved extension (rule 8). Refused, never clamped, beyond the cumulative maximum
    or once the current statutory deadline has passed."""
    if state.status not in (Status.RUNNING, Status.PAUSED) or state.started_on is None:
        raise TransitionNotAllowed(f"clock {state.name!r} is not running: nothing to extend")
    if by.unit.family != state.limit.unit.family:
        raise TransitionNotAllowed(
            f"clock {state.name!r} counts {state.limit.unit.family} days; cannot extend it by {by}"
        )
    if derived.statutory_due is not None and today > derived.statutory_due:
        raise TransitionNotAllowed(
            f"the statutory deadline of {state.name!r} ({derived.statutory_due}) has passed: "
            "an extension must be approved before it"
        )
    cap = maximum or state.max_extension
    if cap is not None:
        base = _units(state.started_on, [state.limit])
        asked = _units(state.started_on, (state.limit, *state.extensions, by)) - base
        allowed = _units(state.started_on, (state.limit, cap)) - base
        if asked > allowed:
            granted = " + ".join(str(e) for e in state.extensions) or "nothing"
            raise TransitionNotAllowed(
                f"extending {state.name!r} by {by} exceeds its maximum extension of {cap} "
                f"(already granted: {granted})"
            )
    return replace(state, extensions=(*state.extensions, by))


def suspend(state: ClockState, first: date, last: date) -> ClockState:
    """Exclude the days ``first``..``last`` (inclusive) from the clock's count (office-wide
    suspension: force majeure, system outage)."""
    if last < first:
        raise ValueError(f"a suspension ends on or after it starts: {first} .. {last}")
    return replace(state, suspended=(*state.suspended, (first, last)))


def statutory_deadline(start_on: date, limit: Limit, calendar: WorkingCalendar) -> date:
    """Convenience: the statutory last day of ``limit`` counted from the event day ``start_on``."""
    d = evaluate(start(ClockState(name="_", limit=limit), start_on), calendar)
    assert d.statutory_due is not None
    return d.statutory_due


def commitment_deadline(
    start_on: date, limit: Limit, calendar: WorkingCalendar, ratio: Fraction = DEFAULT_RATIO
) -> date:
    """Convenience: the committed last day (⅔ by default) of ``limit`` from ``start_on``."""
    d = evaluate(start(ClockState(name="_", limit=limit, ratio=ratio), start_on), calendar)
    assert d.commitment_due is not None
    return d.commitment_due
