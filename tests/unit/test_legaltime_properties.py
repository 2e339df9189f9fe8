"""Invariants of legal time (DESIGN.md "Legal time"), checked with hypothesis.

Two calendars: the official one (ChineseCalendar, chinesecalendar's 2004-2026 data; the start
dates below keep every deadline inside the known years) and random SetCalendars (random holidays
and adjusted weekend workdays), so the invariants do not depend on one year's notice.
"""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from adapters.calendar import ChineseCalendar
from workflow.calendar import SetCalendar, WorkingCalendar
from workflow.legaltime import (
    ClockKind,
    ClockState,
    Counter,
    Sla,
    evaluate,
    extend,
    midnight,
    pause,
    remaining_units,
    resume,
    sla_at,
    start,
    stop,
)
from workflow.limits import Limit, Unit

SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
OFFICIAL = ChineseCalendar(strict=True)  # strict: a deadline leaving 2004-2026 would fail loudly

# from February 2004: the warning day looks back to the working day before the commitment
starts = st.dates(min_value=date(2004, 2, 1), max_value=date(2025, 6, 30))
limits = st.one_of(
    st.builds(Limit, st.integers(1, 60), st.just(Unit.WORKING_DAYS)),
    st.builds(Limit, st.integers(1, 90), st.just(Unit.DAYS)),
    st.builds(Limit, st.integers(1, 6), st.just(Unit.MONTHS)),
)
ratios = st.sampled_from([Fraction(2, 3), Fraction(1, 2), Fraction(1, 3), Fraction(3, 4), Fraction(1)])


@st.composite
def set_calendars(draw: st.DrawFn) -> SetCalendar:
    """Random holidays (any day) and adjusted workdays (weekend days) over 2024-2026."""
    base = date(2024, 1, 1)
    offsets = st.integers(0, 3 * 366)
    holidays = {base + timedelta(days=o) for o in draw(st.sets(offsets, max_size=120))}
    weekend = {
        base + timedelta(days=o)
        for o in draw(st.sets(offsets, max_size=40))
        if (base + timedelta(days=o)).weekday() >= 5
    }
    return SetCalendar(holidays - weekend, weekend, official_years={2024, 2025, 2026, 2027})


set_starts = st.dates(min_value=date(2024, 1, 1), max_value=date(2025, 12, 31))
calendars_and_starts = st.one_of(
    st.tuples(st.just(OFFICIAL), starts),
    st.tuples(set_calendars(), set_starts),
)


def run(limit: Limit, on: date, ratio: Fraction = Fraction(2, 3), **kw: object) -> ClockState:
    return start(ClockState(name="p", limit=limit, ratio=ratio, **kw), on)  # type: ignore[arg-type]


def paused(s: ClockState, pause_after: int, pause_days: int) -> ClockState:
    """Pause ``pause_after`` days after the start, resume ``pause_days`` later."""
    assert s.started_on is not None
    p = s.started_on + timedelta(days=pause_after)
    return resume(pause(s, p, Sla.ON_TRACK), p + timedelta(days=pause_days))


@SETTINGS
@given(calendars_and_starts, limits, ratios)
def test_commitment_never_after_statutory(cs: tuple[WorkingCalendar, date], limit: Limit,
                                          ratio: Fraction) -> None:
    cal, on = cs
    ev = evaluate(run(limit, on, ratio), cal)
    assert ev.commitment_due is not None and ev.statutory_due is not None
    assert on < ev.commitment_due <= ev.statutory_due
    assert ev.statutory_units is not None and ev.commitment_units is not None
    assert 1 <= ev.commitment_units <= ev.statutory_units
    assert ev.commitment_units == max(1, int(ratio * ev.statutory_units))


@SETTINGS
@given(calendars_and_starts, limits)
def test_deadlines_are_working_days(cs: tuple[WorkingCalendar, date], limit: Limit) -> None:
    cal, on = cs
    ev = evaluate(run(limit, on), cal)
    assert ev.statutory_due is not None and ev.commitment_due is not None
    # after the move, every last day is a working day, whatever the unit
    assert cal.is_workday(ev.statutory_due)
    assert cal.is_workday(ev.commitment_due)
    if limit.unit is Unit.WORKING_DAYS:
        # the N-th working day: exactly N working days in (start, due]
        counter = Counter(cal)
        assert counter.count_between(on, ev.statutory_due, Unit.WORKING_DAYS) == limit.n
    else:
        # the unmoved day, then only rest days up to the moved one (rule 3, applied once)
        raw = on + timedelta(days=ev.statutory_units or 0)
        assert raw <= ev.statutory_due
        for i in range((ev.statutory_due - raw).days):
            assert not cal.is_workday(raw + timedelta(days=i))


@SETTINGS
@given(calendars_and_starts, limits)
def test_instants_in_order(cs: tuple[WorkingCalendar, date], limit: Limit) -> None:
    cal, on = cs
    s = run(limit, on)
    ev = evaluate(s, cal)
    assert ev.warning_at and ev.overdue_at and ev.over_statutory_at
    assert ev.commitment_due and ev.statutory_due
    assert ev.warning_at < ev.overdue_at <= ev.over_statutory_at
    assert ev.overdue_at == midnight(ev.commitment_due + timedelta(days=1))
    assert ev.over_statutory_at == midnight(ev.statutory_due + timedelta(days=1))
    warn_day = ev.warning_at.date()
    # never yellow at birth: the warning is after every instant of the start day
    assert warn_day > on and cal.is_workday(warn_day) and warn_day <= ev.commitment_due
    if warn_day < ev.commitment_due:
        # no working day strictly between the warning day and the commitment's last day
        for i in range(1, (ev.commitment_due - warn_day).days):
            assert not cal.is_workday(warn_day + timedelta(days=i))
    else:
        # "due today": the rule's day (the working day before the commitment's) was the start
        # day or earlier, so no working day lies strictly between the start and the commitment
        assert all(
            not cal.is_workday(on + timedelta(days=i))
            for i in range(1, (ev.commitment_due - on).days)
        )
    # the level never goes back as time passes
    order = [Sla.ON_TRACK, Sla.WARNING, Sla.OVERDUE, Sla.OVER_STATUTORY]
    seen = [
        order.index(sla_at(s, ev, midnight(on + timedelta(days=i))))
        for i in range(0, (ev.statutory_due - on).days + 3)
    ]
    assert seen == sorted(seen)
    assert seen[-1] == order.index(Sla.OVER_STATUTORY)


@SETTINGS
@given(calendars_and_starts, limits, st.integers(0, 40), st.integers(0, 60))
def test_a_pause_never_makes_a_deadline_earlier(
    cs: tuple[WorkingCalendar, date], limit: Limit, pause_after: int, pause_days: int
) -> None:
    cal, on = cs
    s = run(limit, on)
    plain = evaluate(s, cal)
    with_pause = evaluate(paused(s, pause_after, pause_days), cal)
    assert plain.statutory_due and with_pause.statutory_due
    assert plain.commitment_due and with_pause.commitment_due
    assert with_pause.statutory_due >= plain.statutory_due
    assert with_pause.commitment_due >= plain.commitment_due
    assert with_pause.commitment_due <= with_pause.statutory_due
    assert cal.is_workday(with_pause.statutory_due) and cal.is_workday(with_pause.commitment_due)


@SETTINGS
@given(calendars_and_starts, limits)
def test_one_more_unit_never_ends_sooner(cs: tuple[WorkingCalendar, date], limit: Limit) -> None:
    cal, on = cs
    a = evaluate(run(limit, on), cal)
    b = evaluate(run(Limit(limit.n + 1, limit.unit), on), cal)
    assert a.statutory_due and b.statutory_due and a.commitment_due and b.commitment_due
    assert b.statutory_due >= a.statutory_due
    assert b.commitment_due >= a.commitment_due
    if limit.unit is Unit.WORKING_DAYS:
        assert b.statutory_due > a.statutory_due  # one more working day is a later working day


@SETTINGS
@given(calendars_and_starts, limits)
def test_a_later_start_never_moves_the_deadline_earlier(
    cs: tuple[WorkingCalendar, date], limit: Limit
) -> None:
    cal, on = cs
    a = evaluate(run(limit, on), cal)
    b = evaluate(run(limit, on + timedelta(days=1)), cal)
    assert a.statutory_due and b.statutory_due and a.commitment_due and b.commitment_due
    assert b.statutory_due >= a.statutory_due
    assert b.commitment_due >= a.commitment_due


@SETTINGS
@given(calendars_and_starts, limits, st.integers(0, 40), st.integers(0, 30), st.integers(0, 200),
       st.booleans())
def test_consumed_plus_remaining(
    cs: tuple[WorkingCalendar, date], limit: Limit, pause_after: int, pause_days: int,
    today_offset: int, with_pause: bool,
) -> None:
    cal, on = cs
    s = run(limit, on)
    if with_pause:
        s = paused(s, pause_after, pause_days)
    counting_from = s.segments[-1].start  # the last resume (or the start)
    ev0 = evaluate(s, cal)
    assert ev0.statutory_due is not None and ev0.statutory_units is not None
    today = counting_from + timedelta(days=today_offset)
    assume(today <= ev0.statutory_due)
    ev = evaluate(s, cal, today=today)
    used = ev.used_units
    left = remaining_units(s, ev, cal, today)
    assert left is not None and left >= 0
    if limit.unit is Unit.WORKING_DAYS:
        assert used + left == ev.statutory_units
    else:
        # natural days: the move off a rest day adds only rest days after the unmoved last day
        extra = used + left - ev.statutory_units
        assert extra >= 0
        for i in range(extra):
            assert not cal.is_workday(ev0.statutory_due - timedelta(days=i + 1))
    # past the last day, remaining is negative and keeps falling
    later = ev0.statutory_due + timedelta(days=today_offset % 20 + 1)
    r_later = remaining_units(s, ev0, cal, later)
    assert r_later is not None and r_later <= 0


@SETTINGS
@given(calendars_and_starts, limits, st.integers(0, 30))
def test_restart_equals_a_fresh_start(cs: tuple[WorkingCalendar, date], limit: Limit,
                                      days_later: int) -> None:
    cal, on = cs
    s = pause(run(limit, on), on + timedelta(days=3), Sla.WARNING)
    again = start(s, on + timedelta(days=days_later))
    fresh = run(limit, on + timedelta(days=days_later))
    assert evaluate(again, cal) == evaluate(fresh, cal)
    assert again.run == 2 and fresh.run == 1


@SETTINGS
@given(calendars_and_starts, limits, st.integers(1, 30))
def test_an_extension_never_makes_a_deadline_earlier(
    cs: tuple[WorkingCalendar, date], limit: Limit, n: int
) -> None:
    cal, on = cs
    s = run(limit, on)
    ev = evaluate(s, cal)
    by = Limit(n, Unit.WORKING_DAYS) if limit.unit is Unit.WORKING_DAYS else Limit(
        n % 3 + 1, Unit.MONTHS) if n % 2 else Limit(n, Unit.DAYS)
    ext = extend(s, by, today=on, derived=ev)
    ev2 = evaluate(ext, cal)
    assert ev.statutory_due and ev2.statutory_due and ev.commitment_due and ev2.commitment_due
    assert ev2.statutory_due > ev.statutory_due or (
        limit.unit is not Unit.WORKING_DAYS and ev2.statutory_due >= ev.statutory_due
    )
    assert ev2.commitment_due >= ev.commitment_due
    assert ev2.statutory_units and ev.statutory_units and ev2.statutory_units > ev.statutory_units


@SETTINGS
@given(calendars_and_starts, limits, st.integers(0, 120))
def test_stopped_levels_agree_with_the_deadlines(
    cs: tuple[WorkingCalendar, date], limit: Limit, after: int
) -> None:
    cal, on = cs
    s = run(limit, on)
    ev = evaluate(s, cal)
    assert ev.commitment_due and ev.statutory_due
    end = on + timedelta(days=after)
    done = stop(s, end)
    level = sla_at(done, evaluate(done, cal), midnight(end))
    if end <= ev.commitment_due:
        assert level is Sla.MET
    elif end <= ev.statutory_due:
        assert level is Sla.MET_LATE
    else:
        assert level is Sla.MET_OVER_STATUTORY


@SETTINGS
@given(calendars_and_starts, limits, st.integers(0, 10))
def test_party_clocks_expire_after_the_last_day_plus_grace(
    cs: tuple[WorkingCalendar, date], limit: Limit, grace: int
) -> None:
    cal, on = cs
    office = evaluate(run(limit, on), cal)
    kw: dict[str, object] = {"kind": ClockKind.PARTY}
    if grace:
        kw["grace"] = Limit(grace, Unit.DAYS)
    party = evaluate(run(limit, on, **kw), cal)
    # the same legal last day, never compressed
    assert party.statutory_due == office.statutory_due
    assert party.commitment_due is None and party.warning_at is None
    assert party.statutory_due is not None
    assert party.expires_at == midnight(party.statutory_due + timedelta(days=grace + 1))
