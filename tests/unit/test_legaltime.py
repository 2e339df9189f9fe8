"""Legal time, hand-checked (DESIGN.md "Legal time", rules 1-10, and the SLA states).

Every expected date below was checked by hand against chinese_calendar 1.11.0
(``get_holidays`` / ``get_workdays``) and the State Council notices it encodes. The facts used:

2024  Spring Festival  off 02-10 (Sat) .. 02-17 (Sat); worked Sun 02-04 and Sun 02-18;
                       02-09 (除夕, Fri) is a working day.
      Labour Day       off 05-01 .. 05-05; worked Sun 04-28 and Sat 05-11.
      National Day     off 10-01 .. 10-07; worked Sun 09-29 and Sat 10-12.
2025  Spring Festival  off 01-28 (Tue) .. 02-04 (Tue); worked Sun 01-26 and Sat 02-08.
      Labour Day       off 05-01 .. 05-05; worked Sun 04-27.
      National Day     off 10-01 .. 10-08 (with Mid-autumn); worked Sun 09-28 and Sat 10-11.
2026  New Year         off 01-01 .. 01-03; worked Sun 01-04.
      Spring Festival  off 02-15 (Sun) .. 02-23 (Mon); worked Sat 02-14 and Sat 02-28.
      Labour Day       off 05-01 .. 05-05; worked Sat 05-09.
      Mid-autumn       off 09-25 (Fri) .. 09-27 (Sun); worked Sun 09-20.
      National Day     off 10-01 .. 10-07; worked Sat 10-10.
2027  not in the library (it raises NotImplementedError): counted by 《全国年节及纪念日放假办法》
      (2024 rev.), provisional. 第二条's days: 元旦 Fri 01-01; 除夕 Fri 02-05 .. 初三 Mon 02-08;
      清明 Mon 04-05; 劳动节 Sat 05-01, Sun 05-02; 端午 Wed 06-09; 中秋 Wed 09-15; 国庆 Fri 10-01 ..
      Sun 10-03. 第六条 (in lieu of those on a weekend): Tue 02-09, Wed 02-10; Mon 05-03, Tue 05-04;
      Mon 10-04, Tue 10-05.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from adapters.calendar import CalendarOverride, ChineseCalendar
from workflow.calendar import SetCalendar, WeekendCalendar, WorkingCalendar
from workflow.errors import CalendarError, TransitionNotAllowed
from workflow.legaltime import (
    TZ,
    ClockKind,
    ClockSpec,
    ClockState,
    Counter,
    Derived,
    Level,
    Segment,
    Sla,
    Status,
    add_months,
    commitment_deadline,
    commitment_for,
    evaluate,
    extend,
    local_date,
    midnight,
    pause,
    remaining_units,
    resume,
    sla_at,
    start,
    statutory_deadline,
    stop,
)
from workflow.limits import Limit, Unit

CAL = ChineseCalendar()
SECOND = timedelta(seconds=1)


def d(text: str) -> date:
    return date.fromisoformat(text)


def at(text: str) -> datetime:
    """00:00 Asia/Shanghai of a date."""
    return midnight(d(text))


def clock(limit: str, **kw: object) -> ClockState:
    return ClockState(name="handling", limit=Limit.parse(limit), **kw)  # type: ignore[arg-type]


def running(limit: str, on: str, **kw: object) -> ClockState:
    return start(clock(limit, **kw), d(on))


def due(limit: str, on: str, cal: WorkingCalendar = CAL) -> tuple[date, date]:
    ev = evaluate(running(limit, on), cal)
    assert ev.statutory_due is not None and ev.commitment_due is not None
    return ev.statutory_due, ev.commitment_due


def test_calendar_facts_used_here() -> None:
    """The holiday facts in the module docstring, as the library gives them."""
    off = [
        "2024-02-10", "2024-02-17", "2024-05-01", "2024-05-05", "2024-10-01", "2024-10-07",
        "2025-01-28", "2025-02-04", "2025-05-05", "2025-10-01", "2025-10-08", "2026-01-02",
        "2026-02-15", "2026-02-23", "2026-05-05", "2026-09-25", "2026-10-07",
    ]
    worked_weekend = [
        "2024-02-04", "2024-02-18", "2024-04-28", "2024-05-11", "2024-09-29", "2024-10-12",
        "2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11", "2026-01-04",
        "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10",
    ]
    for day in map(d, off):
        assert chinese_calendar.is_holiday(day) and not CAL.is_workday(day), day
    for day in map(d, worked_weekend):
        assert day.weekday() >= 5 and chinese_calendar.is_workday(day) and CAL.is_workday(day), day
    assert CAL.is_workday(d("2024-02-09"))  # 除夕 2024 is a working day
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(d("2027-01-04"))


# --- DESIGN.md worked examples ------------------------------------------------------------------


def test_worked_example_1_working_days_across_national_day() -> None:
    # 2024-09-27 Fri + 5 working days: Sun 09-29 (1, 调休), Mon 09-30 (2), 10-01..07 off,
    # 10-08 (3), 10-09 (4), 10-10 (5). Commitment floor(5 x 2/3) = 3 working days: 10-08.
    assert due("5 working days", "2024-09-27") == (d("2024-10-10"), d("2024-10-08"))


def test_worked_example_2_natural_days_ending_in_a_holiday() -> None:
    # 2024-09-20 + 15 days = 10-05 (holiday): moved to the first working day, 10-08.
    # Commitment floor(15 x 2/3) = 10 days: 09-30 (Mon, a working day).
    assert due("15 days", "2024-09-20") == (d("2024-10-08"), d("2024-09-30"))


def test_worked_example_3_month_end() -> None:
    # 2024-01-31 + 1 month: no Feb 31, so Feb's last day 02-29 (Thu, a working day).
    # 29 natural days; commitment floor(29 x 2/3) = 19 days: 02-19 (Mon).
    ev = evaluate(running("1 month", "2024-01-31"), CAL)
    assert (ev.statutory_due, ev.commitment_due) == (d("2024-02-29"), d("2024-02-19"))
    assert (ev.statutory_units, ev.commitment_units) == (29, 19)


def test_worked_example_4_pause_and_resume() -> None:
    # 2024-03-04 Mon, 5 working days; paused 03-06, resumed 03-11: 03-05 and 03-06 are used (2),
    # 3 left from 03-12: 03-12, 03-13, 03-14. Commitment 3: 1 left after the resume: 03-12.
    s = running("5 working days", "2024-03-04")
    s = pause(s, d("2024-03-06"), Sla.ON_TRACK)
    paused = evaluate(s, CAL)
    assert paused.statutory_due is None and paused.used_units == 2  # no due dates while paused
    s = resume(s, d("2024-03-11"))
    ev = evaluate(s, CAL)
    assert (ev.statutory_due, ev.commitment_due) == (d("2024-03-14"), d("2024-03-12"))


def test_worked_example_5_adjusted_saturday_and_minimum_commitment() -> None:
    # 2024-05-10 Fri + 1 working day: Sat 05-11 is a working day (调休).
    # Commitment floor(1 x 2/3) = 0, raised to at least 1: also 05-11.
    assert due("1 working day", "2024-05-10") == (d("2024-05-11"), d("2024-05-11"))
    # the working day before Sat 05-11 is Fri 05-10, the start day: never yellow at birth, so
    # the warning comes at 00:00 of the commitment's last day (was 05-10 00:00, before the start)
    ev = evaluate(running("1 working day", "2024-05-10"), CAL)
    assert ev.warning_at == at("2024-05-11") and ev.overdue_at == at("2024-05-12")


def test_no_yellow_at_birth_two_working_days() -> None:
    # opened Mon 2025-03-03 20:53: 2 wd -> Wed 03-05; commitment floor(4/3) = 1 -> Tue 03-04.
    # The rule's instant (00:00 of the working day before 03-04) is 03-03 00:00, before the
    # opening: the warning comes at 03-04 00:00 instead; overdue from 03-05 00:00.
    opened = datetime(2025, 3, 3, 20, 53, tzinfo=TZ)
    s = running("2 working days", "2025-03-03")
    ev = evaluate(s, CAL)
    assert (ev.statutory_due, ev.commitment_due) == (d("2025-03-05"), d("2025-03-04"))
    assert ev.warning_at == at("2025-03-04") and ev.overdue_at == at("2025-03-05")
    assert sla_at(s, ev, opened) is Sla.ON_TRACK
    assert sla_at(s, ev, at("2025-03-04") - SECOND) is Sla.ON_TRACK
    assert sla_at(s, ev, at("2025-03-04")) is Sla.WARNING
    assert sla_at(s, ev, at("2025-03-05")) is Sla.OVERDUE
    assert sla_at(s, ev, at("2025-03-06")) is Sla.OVER_STATUTORY
    # one more working day and the rule's own instant is after the start again: 3 wd from Mon
    # -> Thu 03-06, commitment 2 -> Wed 03-05, warning 00:00 of Tue 03-04 (the day before)
    assert evaluate(running("3 working days", "2025-03-03"), CAL).warning_at == at("2025-03-04")


# --- hand-checked holidays 2024-2026 ------------------------------------------------------------

HOLIDAY_CASES = [
    # (start, limit, statutory last day, commitment last day, warning day) -- reasoning per row
    # 2024 Spring Festival: 02-08 Thu + 5 wd: 02-09 Fri (1), 02-10..17 off, Sun 02-18 (2, 调休),
    # 02-19 (3), 02-20 (4), 02-21 (5). Commitment 3: 02-19; warning on the working day before,
    # Sun 02-18.
    ("2024-02-08", "5 working days", "2024-02-21", "2024-02-19", "2024-02-18"),
    # 2024 Spring Festival, natural days: 02-01 + 15 = 02-16 (holiday), 02-17 (holiday),
    # Sun 02-18 works: 02-18. Commitment 10 days: 02-11 (holiday) -> also moved to 02-18
    # (the commitment lands in the holiday, never past statutory). Warning: working day before
    # 02-18 is Fri 02-09.
    ("2024-02-01", "15 days", "2024-02-18", "2024-02-18", "2024-02-09"),
    # 2024 Labour Day: 04-26 Fri + 3 wd: Sun 04-28 (1, 调休), 04-29 (2), 04-30 (3).
    # Commitment 2: 04-29; warning Sun 04-28.
    ("2024-04-26", "3 working days", "2024-04-30", "2024-04-29", "2024-04-28"),
    # 2024 Labour Day, natural: 04-20 + 15 = 05-05 (holiday, Sun) -> 05-06 Mon.
    # Commitment 10: 04-30 Tue (working). Warning: Mon 04-29.
    ("2024-04-20", "15 days", "2024-05-06", "2024-04-30", "2024-04-29"),
    # 2024 Labour Day, adjusted Saturday: 04-30 + 6 wd: 05-01..05 off, 05-06 (1) .. 05-10 (5),
    # Sat 05-11 (6, 调休). Commitment floor(12/3) = 4: 05-09; warning 05-08.
    ("2024-04-30", "6 working days", "2024-05-11", "2024-05-09", "2024-05-08"),
    # 2024 National Day: 09-30 + 10 wd: 10-08 (1), 09, 10, 11 (4), Sat 10-12 (5, 调休),
    # 10-14 (6), 15, 16, 17, 18 (10). Commitment 6: 10-14; warning on Sat 10-12.
    ("2024-09-30", "10 working days", "2024-10-18", "2024-10-14", "2024-10-12"),
    # 2025 Spring Festival: 01-24 Fri + 5 wd: Sun 01-26 (1, 调休), 01-27 (2), 01-28..02-04 off,
    # 02-05 (3), 02-06 (4), 02-07 (5). Commitment 3: 02-05; warning: working day before 02-05
    # is 01-27.
    ("2025-01-24", "5 working days", "2025-02-07", "2025-02-05", "2025-01-27"),
    # 2025 Spring Festival, natural: 01-15 + 15 = 01-30 (holiday) .. 02-04 off -> 02-05 Wed.
    # Commitment 10: Sat 01-25 (rest) -> Sun 01-26 (调休 working day). Warning: Fri 01-24.
    ("2025-01-15", "15 days", "2025-02-05", "2025-01-26", "2025-01-24"),
    # 2025 Labour Day: 04-25 Fri + 2 wd: Sun 04-27 (1, 调休), 04-28 (2). Commitment
    # floor(4/3) = 1: Sun 04-27. The working day before it is Fri 04-25, the start day: never
    # yellow at birth, so the warning comes at 00:00 of the commitment's last day, Sun 04-27.
    ("2025-04-25", "2 working days", "2025-04-28", "2025-04-27", "2025-04-27"),
    # 2025 Labour Day: 04-30 + 1 wd: 05-01..05 off -> 05-06 for both. The working day before
    # 05-06 is 04-30, the start day: warning at 00:00 of 05-06.
    ("2025-04-30", "1 working day", "2025-05-06", "2025-05-06", "2025-05-06"),
    # 2025 National Day: 09-26 Fri + 5 wd: Sun 09-28 (1, 调休), 09-29 (2), 09-30 (3), 10-01..08
    # off, 10-09 (4), 10-10 (5). Commitment 3: 09-30; warning 09-29.
    ("2025-09-26", "5 working days", "2025-10-10", "2025-09-30", "2025-09-29"),
    # 2025 National Day, natural: 09-23 + 15 = 10-08 (holiday) -> 10-09 Thu. Commitment 10:
    # 10-03 (holiday) -> 10-09 too. Warning: working day before 10-09 is 09-30.
    ("2025-09-23", "15 days", "2025-10-09", "2025-10-09", "2025-09-30"),
    # 2025 National Day, months: 07-08 + 3 months = 10-08 (holiday) -> 10-09. 92 natural days;
    # commitment floor(92 x 2/3) = 61: 09-07 (Sun) -> 09-08 Mon. Warning: Fri 09-05.
    ("2025-07-08", "3 months", "2025-10-09", "2025-09-08", "2025-09-05"),
    # 2026 New Year: 12-31-2025 + 2 wd: 01-01..03 off, Sun 01-04 (1, 调休), 01-05 (2).
    # Commitment 1: Sun 01-04; the working day before it is 2025-12-31, the start day: warning
    # at 00:00 of Sun 01-04 instead.
    ("2025-12-31", "2 working days", "2026-01-05", "2026-01-04", "2026-01-04"),
    # 2026 Spring Festival: 02-12 Thu + 5 wd: 02-13 (1), Sat 02-14 (2, 调休), 02-15..23 off,
    # 02-24 (3), 02-25 (4), 02-26 (5). Commitment 3: 02-24; warning on Sat 02-14.
    ("2026-02-12", "5 working days", "2026-02-26", "2026-02-24", "2026-02-14"),
    # 2026 Spring Festival, adjusted Saturday: 02-24 + 4 wd: 02-25, 02-26, 02-27, Sat 02-28 (4).
    # Commitment floor(8/3) = 2: 02-26; warning 02-25.
    ("2026-02-24", "4 working days", "2026-02-28", "2026-02-26", "2026-02-25"),
    # 2026 Labour Day: 04-30 + 5 wd: 05-01..05 off, 05-06 (1), 05-07 (2), 05-08 (3),
    # Sat 05-09 (4, 调休), 05-11 (5). Commitment 3: 05-08; warning 05-07.
    ("2026-04-30", "5 working days", "2026-05-11", "2026-05-08", "2026-05-07"),
    # 2026 Labour Day, natural: 04-16 + 15 = 05-01 (holiday) .. 05-05 off -> 05-06.
    # Commitment 10: 04-26 (Sun, a rest day in 2026) -> 04-27 Mon. Warning: Fri 04-24.
    ("2026-04-16", "15 days", "2026-05-06", "2026-04-27", "2026-04-24"),
    # 2026 Mid-autumn + National Day: 09-24 Thu + 5 wd: 09-25..27 off, 09-28 (1), 09-29 (2),
    # 09-30 (3), 10-01..07 off, 10-08 (4), 10-09 (5). Commitment 3: 09-30; warning 09-29.
    ("2026-09-24", "5 working days", "2026-10-09", "2026-09-30", "2026-09-29"),
    # 2026 adjusted Sunday: Sat 09-19 + 1 wd: Sun 09-20 works. The working day before 09-20 is
    # Fri 09-18, before the start day: warning at 00:00 of Sun 09-20 instead.
    ("2026-09-19", "1 working day", "2026-09-20", "2026-09-20", "2026-09-20"),
    # 2026 National Day, adjusted Saturday: 10-08 + 2 wd: 10-09 (1), Sat 10-10 (2). Commitment 1:
    # 10-09; the working day before it is 10-08, the start day: warning at 00:00 of 10-09.
    ("2026-10-08", "2 working days", "2026-10-10", "2026-10-09", "2026-10-09"),
    # 2026 National Day, natural: 09-21 + 10 = 10-01 (holiday) .. 10-07 off -> 10-08.
    # Commitment floor(20/3) = 6: 09-27 (Sun, Mid-autumn holiday) -> 09-28 Mon. Warning:
    # working day before 09-28 is Thu 09-24.
    ("2026-09-21", "10 days", "2026-10-08", "2026-09-28", "2026-09-24"),
]


@pytest.mark.parametrize(("on", "limit", "statutory", "commitment", "warning"), HOLIDAY_CASES)
def test_holidays_2024_to_2026(
    on: str, limit: str, statutory: str, commitment: str, warning: str
) -> None:
    ev = evaluate(running(limit, on), CAL)
    assert ev.statutory_due == d(statutory)
    assert ev.commitment_due == d(commitment)
    assert ev.warning_at == at(warning)
    assert ev.overdue_at == at(commitment) + timedelta(days=1)
    assert ev.over_statutory_at == at(statutory) + timedelta(days=1)
    assert not ev.provisional
    # every last day is a working day, and never the start day itself (rule 1)
    assert CAL.is_workday(ev.statutory_due) and CAL.is_workday(ev.commitment_due)
    assert ev.commitment_due <= ev.statutory_due
    assert ev.commitment_due > d(on)


# --- month ends (rule 4) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        ("2024-01-31", 1, "2024-02-29"),  # leap year: Feb's last day is the 29th
        ("2023-01-31", 1, "2023-02-28"),  # common year
        ("2025-11-30", 3, "2026-02-28"),
        ("2024-03-31", 1, "2024-04-30"),
        ("2024-08-31", 6, "2025-02-28"),
        ("2024-02-29", 12, "2025-02-28"),
        ("2023-12-15", 1, "2024-01-15"),
        ("2024-05-15", 20, "2026-01-15"),
    ],
)
def test_add_months(day: str, months: int, expected: str) -> None:
    assert add_months(d(day), months) == d(expected)


def test_month_end_2023_common_year() -> None:
    # 2023-01-31 + 1 month = 02-28 (Tue, working). 28 days; commitment floor(56/3) = 18 days:
    # Sat 02-18 (rest) -> Mon 02-20.
    ev = evaluate(running("1个月", "2023-01-31"), CAL)
    assert (ev.statutory_due, ev.commitment_due) == (d("2023-02-28"), d("2023-02-20"))
    assert (ev.statutory_units, ev.commitment_units) == (28, 18)


def test_month_end_landing_on_an_adjusted_saturday() -> None:
    # 2025-11-30 + 3 months: no Feb 30 in 2026, so 02-28, a Saturday -- but an adjusted working
    # day (Spring Festival 调休), so it is NOT moved. 90 natural days (31 + 31 + 28); commitment
    # 60 days: 2026-01-29 (Thu). Warning on Wed 01-28.
    ev = evaluate(running("3 months", "2025-11-30"), CAL)
    assert d("2026-02-28").weekday() == 5 and CAL.is_workday(d("2026-02-28"))
    assert (ev.statutory_due, ev.commitment_due) == (d("2026-02-28"), d("2026-01-29"))
    assert (ev.statutory_units, ev.commitment_units) == (90, 60)
    assert ev.warning_at == at("2026-01-28")
    # on a weekends-only calendar the same Saturday is a rest day: moved to Mon 03-02
    assert statutory_deadline(d("2025-11-30"), Limit.parse("3 months"), WeekendCalendar()) == d(
        "2026-03-02"
    )


def test_month_limit_ending_on_a_rest_day_is_moved_once() -> None:
    # 2024-09-05 + 1 month = 10-05 (National Day) -> 10-08. The day count (30) is to the unmoved
    # day: commitment floor(20) = 20 days: 09-25 (Wed).
    ev = evaluate(running("1 month", "2024-09-05"), CAL)
    assert (ev.statutory_due, ev.commitment_due) == (d("2024-10-08"), d("2024-09-25"))
    assert ev.statutory_units == 30


def test_chinese_and_english_forms_count_the_same() -> None:
    for zh, en, on in [
        ("5个工作日", "5 working days", "2024-09-27"),
        ("15日", "15 days", "2024-09-20"),
        ("15天", "15 days", "2025-01-15"),
        ("3个月", "3 months", "2025-11-30"),
    ]:
        assert due(zh, on) == due(en, on)


# --- instants and SLA levels (rule 5 and the SLA states) ----------------------------------------


def example1() -> tuple[ClockState, Derived]:
    s = running("5 working days", "2024-09-27")
    return s, evaluate(s, CAL)


def test_instants_are_midnight_shanghai() -> None:
    _, ev = example1()
    # warning: 00:00 of the last working day before the commitment's last day (10-08):
    # 10-01..07 are off, so Mon 09-30.
    assert ev.warning_at == datetime(2024, 9, 30, tzinfo=TZ)
    # overdue from 00:00 after the commitment's last day; over statutory after the legal one
    assert ev.overdue_at == datetime(2024, 10, 9, tzinfo=TZ)
    assert ev.over_statutory_at == datetime(2024, 10, 11, tzinfo=TZ)
    assert ev.expires_at is None
    assert ev.warning_at.utcoffset() == timedelta(hours=8)
    assert ev.level_instants(ClockKind.OFFICE) == [
        (Level.WARNING, ev.warning_at),
        (Level.OVERDUE, ev.overdue_at),
        (Level.OVER_STATUTORY, ev.over_statutory_at),
    ]


def test_sla_levels_in_order() -> None:
    s, ev = example1()
    assert sla_at(s, ev, at("2024-09-27")) is Sla.ON_TRACK
    assert sla_at(s, ev, at("2024-09-30") - SECOND) is Sla.ON_TRACK
    assert sla_at(s, ev, at("2024-09-30")) is Sla.WARNING
    assert sla_at(s, ev, at("2024-10-08") + timedelta(hours=23, minutes=59)) is Sla.WARNING
    assert sla_at(s, ev, at("2024-10-09")) is Sla.OVERDUE
    assert sla_at(s, ev, at("2024-10-10") + timedelta(hours=23)) is Sla.OVERDUE
    assert sla_at(s, ev, at("2024-10-11")) is Sla.OVER_STATUTORY
    assert sla_at(s, ev, at("2025-06-01")) is Sla.OVER_STATUTORY


def test_sla_reads_instants_in_any_zone() -> None:
    s, ev = example1()
    utc = ZoneInfo("UTC")
    # 2024-10-08 16:00 UTC is 10-09 00:00 in Shanghai: overdue; a second earlier it is not
    assert sla_at(s, ev, datetime(2024, 10, 8, 16, 0, tzinfo=utc)) is Sla.OVERDUE
    assert sla_at(s, ev, datetime(2024, 10, 8, 15, 59, 59, tzinfo=utc)) is Sla.WARNING
    assert local_date(datetime(2024, 10, 8, 16, 0, tzinfo=utc)) == d("2024-10-09")
    assert local_date(datetime(2024, 10, 8, 16, 0)) == d("2024-10-08")  # naive = Shanghai


def test_not_started_clock() -> None:
    s = clock("5 working days")
    ev = evaluate(s, CAL)
    assert ev == Derived()
    assert sla_at(s, ev, at("2024-01-01")) is Sla.ON_TRACK
    assert remaining_units(s, ev, CAL, d("2024-01-01")) is None


@pytest.mark.parametrize(
    ("stopped", "expected"),
    [
        ("2024-09-27", Sla.MET),  # same day
        ("2024-10-08", Sla.MET),  # on the commitment's last day
        ("2024-10-09", Sla.MET_LATE),  # after the commitment, within the law
        ("2024-10-10", Sla.MET_LATE),  # on the statutory last day
        ("2024-10-11", Sla.MET_OVER_STATUTORY),
        ("2024-11-30", Sla.MET_OVER_STATUTORY),
    ],
)
def test_stopped_clock_levels(stopped: str, expected: Sla) -> None:
    s = stop(running("5 working days", "2024-09-27"), d(stopped))
    ev = evaluate(s, CAL)
    assert s.status is Status.STOPPED
    # the deadlines of a stopped clock are the ones it ran against
    assert (ev.statutory_due, ev.commitment_due) == (d("2024-10-10"), d("2024-10-08"))
    for now in (at(stopped), at("2024-09-28"), at("2030-01-01")):  # the level no longer moves
        assert sla_at(s, ev, now) is expected


def test_stop_is_final() -> None:
    s = stop(running("5 working days", "2024-09-27"), d("2024-10-08"))
    assert stop(s, d("2024-12-01")) == s
    assert pause(s, d("2024-12-01"), Sla.ON_TRACK) == s
    assert resume(s, d("2024-12-01")) == s


def test_stopped_while_paused_is_judged_by_the_days_counted() -> None:
    # 2024-03-04 + 5 wd, paused 03-06 (2 used, on track), then refused on 04-20 while still
    # waiting for the supplement: the paused days are not counted (rule 7), so only 2 of 5
    # units were used -- within the commitment (3), not over the statutory limit.
    s = running("5 working days", "2024-03-04")
    s = pause(s, d("2024-03-06"), Sla.ON_TRACK)
    s = stop(s, d("2024-04-20"))
    ev = evaluate(s, CAL)
    assert ev.used_units == 2
    assert sla_at(s, ev, at("2024-05-01")) is Sla.MET


def test_stopped_while_paused_after_the_commitment() -> None:
    # 2024-03-04 + 5 wd (commitment 03-07): paused only on 03-08 (4 used, overdue), then stopped
    # while paused: late, but within the statutory limit.
    s = running("5 working days", "2024-03-04")
    s = pause(s, d("2024-03-08"), Sla.OVERDUE)
    s = stop(s, d("2024-04-20"))
    assert sla_at(s, evaluate(s, CAL), at("2024-05-01")) is Sla.MET_LATE


# --- pauses (rule 7) ------------------------------------------------------------------------------


def test_paused_clock_keeps_its_level() -> None:
    s, ev = example1()
    now = at("2024-10-09") + timedelta(hours=10)
    assert sla_at(s, ev, now) is Sla.OVERDUE
    p = pause(s, local_date(now), sla_at(s, ev, now))
    pev = evaluate(p, CAL)
    assert p.status is Status.PAUSED and p.held_level is Sla.OVERDUE
    # still overdue (not over statutory) long after the statutory day would have passed
    assert sla_at(p, pev, at("2024-12-01")) is Sla.OVERDUE
    # no due dates while paused (the remaining unit is not placed yet): nothing more falls due
    assert pev.statutory_due is None and pev.level_instants(ClockKind.OFFICE) == []
    # resumed 12-02: 4 were used (Sun 09-29, 09-30, 10-08, 10-09), 1 left: the next working day
    # after the resume date, 12-03.
    r = resume(p, d("2024-12-02"))
    rev = evaluate(r, CAL)
    assert r.held_level is None
    assert rev.statutory_due == d("2024-12-03")
    assert rev.commitment_due == d("2024-10-08")  # already used up before the pause
    assert sla_at(r, rev, at("2024-12-02")) is Sla.OVERDUE
    assert sla_at(r, rev, at("2024-12-04")) is Sla.OVER_STATUTORY


def test_paused_on_track_clock_stays_on_track() -> None:
    s = pause(running("5 working days", "2024-03-04"), d("2024-03-05"), Sla.ON_TRACK)
    ev = evaluate(s, CAL)
    assert ev.statutory_due is None and ev.commitment_due is None
    assert ev.level_instants(ClockKind.OFFICE) == []
    assert sla_at(s, ev, at("2025-01-01")) is Sla.ON_TRACK


def test_pause_over_a_holiday_natural_days() -> None:
    # 15 days from 2024-09-20: paused 09-25 (5 used), resumed 10-10: 10 left from 10-11: 10-20
    # (Sun) -> Mon 10-21. Commitment 10: 5 left after the resume: 10-15 (Tue).
    s = running("15 days", "2024-09-20")
    s = resume(pause(s, d("2024-09-25"), Sla.ON_TRACK), d("2024-10-10"))
    ev = evaluate(s, CAL)
    assert (ev.statutory_due, ev.commitment_due) == (d("2024-10-21"), d("2024-10-15"))


def test_two_pauses_add_up() -> None:
    # 2024-03-04 + 10 wd. Run 03-05..03-06 (2), pause, resume 03-11: run 03-12..03-13 (2),
    # pause, resume 03-18: 6 left from 03-19: 03-19, 20, 21, 22, 25, 26 -> 03-26.
    # Commitment floor(20/3) = 6: 2 left after the second resume: 03-20.
    s = running("10 working days", "2024-03-04")
    s = resume(pause(s, d("2024-03-06"), Sla.ON_TRACK), d("2024-03-11"))
    s = resume(pause(s, d("2024-03-13"), Sla.ON_TRACK), d("2024-03-18"))
    ev = evaluate(s, CAL, today=d("2024-03-19"))
    assert (ev.statutory_due, ev.commitment_due) == (d("2024-03-26"), d("2024-03-20"))
    assert ev.used_units == 5
    assert remaining_units(s, ev, CAL, d("2024-03-19")) == 5
    # pause and resume on the same day: that day is counted once, nothing else changes
    same = resume(pause(s, d("2024-03-19"), Sla.ON_TRACK), d("2024-03-19"))
    assert evaluate(same, CAL).statutory_due == d("2024-03-26")


def test_pause_and_resume_ignore_the_wrong_status() -> None:
    s = running("5 working days", "2024-03-04")
    assert resume(s, d("2024-03-05")) == s  # not paused
    p = pause(s, d("2024-03-05"), Sla.ON_TRACK)
    assert pause(p, d("2024-03-06"), Sla.WARNING) == p  # already paused
    assert pause(clock("5 working days"), d("2024-03-05"), Sla.ON_TRACK).status is Status.NOT_STARTED


# --- restart (rule 7, 重新计算) ---------------------------------------------------------------------


def test_restart_counts_afresh_from_zero() -> None:
    s = running("5 working days", "2024-03-04")
    s = pause(s, d("2024-03-06"), Sla.WARNING)
    s = start(s, d("2024-03-11"))  # the supplement arrived: counted afresh from the next day
    ev = evaluate(s, CAL)
    assert s.status is Status.RUNNING and s.run == 2
    assert s.held_level is None and s.segments == (Segment(d("2024-03-11")),)
    assert (ev.statutory_due, ev.commitment_due) == (d("2024-03-18"), d("2024-03-14"))
    assert ev.used_units == 0


def test_restart_drops_extensions_of_the_previous_run() -> None:
    s = running("20 working days", "2024-03-04", max_extension=Limit.parse("10 working days"))
    s = extend(s, Limit.parse("10 working days"), today=d("2024-03-05"), derived=evaluate(s, CAL))
    assert s.extensions
    s = start(s, d("2024-04-01"))
    assert s.extensions == ()
    # 2024-04-01 + 20 wd: 04-04..06 off, Sun 04-07 works; 04-28 Sun works; 05-01..05 off.
    # Count: 04-02, 03 (2), 04-07 (3), 08..12 (8), 15..19 (13), 22..26 (18), 28 (19), 29 (20).
    assert evaluate(s, CAL).statutory_due == d("2024-04-29")


# --- extensions (rule 8) --------------------------------------------------------------------------


def test_extension_in_working_days_and_commitment_follows() -> None:
    # 行政许可法 第四十二条 style: 20 wd + 10 wd. 2024-09-02 + 20 wd: 09-03..06 (4), 09-09..13 (9),
    # Sat 09-14 (10, 调休), 09-15..17 off, 09-18..20 (13), 09-23..27 (18), Sun 09-29 (19), 09-30 (20).
    s = running("20 working days", "2024-09-02", max_extension=Limit.parse("10 working days"))
    ev = evaluate(s, CAL)
    assert ev.statutory_due == d("2024-09-30")
    # extended by 10: 10-08..11 (24), Sat 10-12 (25), 10-14..18 (30). Commitment
    # floor(30 x 2/3) = 20: 09-30.
    s2 = extend(s, Limit.parse("10 working days"), today=d("2024-09-20"), derived=ev)
    ev2 = evaluate(s2, CAL)
    assert (ev2.statutory_due, ev2.commitment_due) == (d("2024-10-18"), d("2024-09-30"))
    assert (ev2.statutory_units, ev2.commitment_units) == (30, 20)


def test_extension_of_a_month_adds_to_the_unmoved_day() -> None:
    # 2024-01-31 + 1 month: unmoved day 02-29. A 1-month extension adds to that day: 03-29 (Fri),
    # not 03-31 (31 Jan + 2 months), which would be a Sunday moved to 04-01.
    s = running("1 month", "2024-01-31", max_extension=Limit.parse("2 months"))
    ev = evaluate(s, CAL)
    s2 = extend(s, Limit.parse("1 month"), today=d("2024-02-20"), derived=ev)
    ev2 = evaluate(s2, CAL)
    assert ev2.statutory_due == d("2024-03-29")
    assert ev2.statutory_units == 58  # 29 + 29 natural days
    assert ev2.commitment_units == 38  # floor(58 x 2/3): 03-09 (Sat) -> Mon 03-11
    assert ev2.commitment_due == d("2024-03-11")
    # a second month (up to the 2-month maximum): 03-29 + 1 month = 04-29 (Mon)
    s3 = extend(s2, Limit.parse("1 month"), today=d("2024-03-01"), derived=ev2)
    assert evaluate(s3, CAL).statutory_due == d("2024-04-29")


def test_extension_of_a_month_after_a_day_limit() -> None:
    # 2024-01-20 + 15 days: unmoved day 02-04 (Sun, a 调休 working day). + 1 month: 03-04 (Mon).
    s = running("15 days", "2024-01-20")
    ev = evaluate(s, CAL)
    assert ev.statutory_due == d("2024-02-04")
    s2 = extend(s, Limit.parse("1 month"), today=d("2024-02-01"), derived=ev)
    assert evaluate(s2, CAL).statutory_due == d("2024-03-04")


def test_extension_of_days_after_a_month_limit() -> None:
    # 2025-11-30 + 3 months = 2026-02-28 (unmoved, a working Saturday) + 15 days = 03-15 (Sun)
    # -> Mon 03-16.
    s = running("3 months", "2025-11-30")
    s2 = extend(s, Limit.parse("15 days"), today=d("2026-02-01"), derived=evaluate(s, CAL))
    assert evaluate(s2, CAL).statutory_due == d("2026-03-16")


def test_extension_beyond_the_maximum_is_refused_not_clamped() -> None:
    s = running("20 working days", "2024-09-02", max_extension=Limit.parse("10 working days"))
    ev = evaluate(s, CAL)
    with pytest.raises(TransitionNotAllowed, match="exceeds its maximum extension of 10"):
        extend(s, Limit.parse("11 working days"), today=d("2024-09-10"), derived=ev)
    s = extend(s, Limit.parse("6 working days"), today=d("2024-09-10"), derived=ev)
    with pytest.raises(TransitionNotAllowed, match=r"already granted: 6 working days"):
        extend(s, Limit.parse("5 working days"), today=d("2024-09-11"), derived=evaluate(s, CAL))
    s = extend(s, Limit.parse("4 working days"), today=d("2024-09-11"), derived=evaluate(s, CAL))
    assert s.extensions == (Limit.parse("6 working days"), Limit.parse("4 working days"))
    # the maximum given at the call wins over the clock's own
    with pytest.raises(TransitionNotAllowed, match="maximum extension of 3 working days"):
        extend(
            running("20 working days", "2024-09-02"),
            Limit.parse("4 working days"),
            today=d("2024-09-10"),
            derived=ev,
            maximum=Limit.parse("3 working days"),
        )


def test_extension_beyond_a_month_maximum_is_refused() -> None:
    s = running("3 months", "2024-01-31", max_extension=Limit.parse("1 month"))
    ev = evaluate(s, CAL)
    with pytest.raises(TransitionNotAllowed, match="maximum extension"):
        extend(s, Limit.parse("2 months"), today=d("2024-02-01"), derived=ev)
    s2 = extend(s, Limit.parse("1 month"), today=d("2024-02-01"), derived=ev)
    with pytest.raises(TransitionNotAllowed, match="maximum extension"):
        extend(s2, Limit.parse("1 day"), today=d("2024-02-02"), derived=evaluate(s2, CAL))


def test_extension_after_the_statutory_deadline_is_refused() -> None:
    s, ev = example1()  # statutory last day 2024-10-10
    # on the last day itself it may still be approved
    assert extend(s, Limit.parse("2 working days"), today=d("2024-10-10"), derived=ev).extensions
    with pytest.raises(TransitionNotAllowed, match=r"\(2024-10-10\) has passed"):
        extend(s, Limit.parse("2 working days"), today=d("2024-10-11"), derived=ev)


def test_extension_refuses_wrong_units_or_states() -> None:
    s, ev = example1()
    # overdue (10-09) but before the statutory day: still allowed; the overdue instant stays
    s2 = extend(s, Limit.parse("5 working days"), today=d("2024-10-09"), derived=ev)
    ev2 = evaluate(s2, CAL)
    # 10 wd from 09-27: 09-29, 09-30, 10-08..11 (6), Sat 10-12 (7), 10-14..16 (10)
    assert ev2.statutory_due == d("2024-10-16")
    # commitment floor(20/3) = 6: 10-11
    assert ev2.commitment_due == d("2024-10-11")
    with pytest.raises(TransitionNotAllowed, match="counts working days"):
        extend(s, Limit.parse("1 month"), today=d("2024-10-09"), derived=ev)
    with pytest.raises(TransitionNotAllowed, match="not running"):
        extend(clock("5 working days"), Limit.parse("1 working day"), today=d("2024-10-09"),
               derived=Derived())
    stopped = stop(s, d("2024-10-09"))
    with pytest.raises(TransitionNotAllowed, match="not running"):
        extend(stopped, Limit.parse("1 working day"), today=d("2024-10-09"), derived=ev)


def test_extension_while_paused() -> None:
    # 2024-03-04 + 5 wd, paused 03-06 (2 used); + 5 wd while paused; resumed 03-11: 8 left
    # from 03-12: 03-12..15 (4), 03-18..21 (8) -> 03-21. Commitment floor(20/3) = 6: 4 left: 03-15.
    s = pause(running("5 working days", "2024-03-04"), d("2024-03-06"), Sla.ON_TRACK)
    s = extend(s, Limit.parse("5 working days"), today=d("2024-03-08"), derived=evaluate(s, CAL))
    ev = evaluate(resume(s, d("2024-03-11")), CAL)
    assert (ev.statutory_due, ev.commitment_due) == (d("2024-03-21"), d("2024-03-15"))


# --- commitment rule (rule 6) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "units"),
    [("1 working day", 1), ("2 working days", 1), ("3 working days", 2), ("5 working days", 3),
     ("20 working days", 13), ("15 days", 10), ("60日", 40), ("7 days", 4)],
)
def test_commitment_units_floor_two_thirds_at_least_one(limit: str, units: int) -> None:
    assert commitment_for(Limit.parse(limit), Fraction(2, 3)) == units
    ev = evaluate(running(limit, "2024-03-04"), CAL)
    assert ev.commitment_units == units


def test_commitment_for_months_uses_the_start() -> None:
    assert commitment_for(Limit.parse("1 month"), Fraction(2, 3), d("2024-01-31")) == 19
    assert commitment_for(Limit.parse("1 month"), Fraction(2, 3), d("2023-01-31")) == 18
    assert commitment_for(Limit.parse("1 month"), Fraction(2, 3)) == 20  # a 31-day month


def test_other_ratio_and_explicit_commitment() -> None:
    # ratio 1/2 of 10 wd from 2024-09-27: 5 wd: Sun 09-29, 09-30, 10-08, 10-09, 10-10.
    assert commitment_deadline(
        d("2024-09-27"), Limit.parse("10 working days"), CAL, Fraction(1, 2)
    ) == d("2024-10-10")
    # a definition's own shorter commitment: 2 wd of 5 from 2024-09-27: Sun 09-29, 09-30.
    s = running("5 working days", "2024-09-27", commitment=Limit.parse("2 working days"))
    ev = evaluate(s, CAL)
    assert (ev.commitment_units, ev.commitment_due) == (2, d("2024-09-30"))
    # ratio 1: the commitment is the statutory limit
    s = running("15 days", "2024-09-20", ratio=Fraction(1))
    ev = evaluate(s, CAL)
    assert ev.commitment_due == ev.statutory_due == d("2024-10-08")


def test_convenience_functions() -> None:
    assert statutory_deadline(d("2024-09-27"), Limit.parse("5个工作日"), CAL) == d("2024-10-10")
    assert commitment_deadline(d("2024-09-27"), Limit.parse("5个工作日"), CAL) == d("2024-10-08")


# --- consumed and remaining units -----------------------------------------------------------------


def test_used_and_remaining_units_example1() -> None:
    s, _ = example1()
    ev = evaluate(s, CAL, today=d("2024-09-30"))
    assert ev.used_units == 2  # Sun 09-29 (调休) and 09-30
    assert remaining_units(s, ev, CAL, d("2024-09-30")) == 3  # 10-08, 10-09, 10-10
    assert remaining_units(s, ev, CAL, d("2024-10-05")) == 3  # nothing counted in the holiday
    assert remaining_units(s, ev, CAL, d("2024-10-10")) == 0
    # past the last day: negative, counted in working days (10-11, Sat 10-12, 10-14)
    assert remaining_units(s, ev, CAL, d("2024-10-14")) == -3


def test_used_units_natural_days() -> None:
    s = running("15 days", "2024-09-20")
    ev = evaluate(s, CAL, today=d("2024-10-05"))
    assert ev.used_units == 15
    # the move to 10-08 gives three more days than the limit
    assert remaining_units(s, ev, CAL, d("2024-10-05")) == 3


# --- party and external clocks (rule 9) ---------------------------------------------------------


def test_party_clock_expires_after_the_moved_last_day() -> None:
    # a respondent's 15 days from service on 2024-09-20: 10-05 (holiday) -> 10-08; expires at
    # 00:00 on 10-09. Never compressed: no commitment, no warning, no overdue.
    s = running("15 days", "2024-09-20", kind=ClockKind.PARTY)
    ev = evaluate(s, CAL)
    assert ev.statutory_due == d("2024-10-08")
    assert ev.commitment_due is None and ev.commitment_units is None
    assert ev.warning_at is None and ev.overdue_at is None and ev.over_statutory_at is None
    assert ev.expires_at == at("2024-10-09")
    assert ev.level_instants(ClockKind.PARTY) == [(Level.EXPIRED, at("2024-10-09"))]
    assert sla_at(s, ev, at("2024-10-08") + timedelta(hours=23)) is Sla.ON_TRACK
    assert sla_at(s, ev, at("2024-10-09")) is Sla.EXPIRED
    # answered on the last day: met; after it: expired
    assert sla_at(stop(s, d("2024-10-08")), ev, at("2024-12-01")) is Sla.MET
    late = stop(s, d("2024-10-09"))
    assert sla_at(late, evaluate(late, CAL), at("2024-12-01")) is Sla.EXPIRED


def test_party_clock_with_grace_days_for_the_post() -> None:
    # the same 15 days plus a grace of 3 days for documents in the post: 10-08 + 3 = 10-11;
    # expires at 00:00 on 10-12.
    s = running("15 days", "2024-09-20", kind=ClockKind.PARTY, grace=Limit.parse("3 days"))
    ev = evaluate(s, CAL)
    assert ev.statutory_due == d("2024-10-08")
    assert ev.expires_at == at("2024-10-12")
    assert sla_at(s, ev, at("2024-10-11")) is Sla.ON_TRACK
    assert sla_at(s, ev, at("2024-10-12")) is Sla.EXPIRED


def test_party_clock_grace_in_working_days() -> None:
    # 15 days from 2024-09-20 -> 10-08, + 3 working days: 10-09, 10-10, 10-11 -> expires 10-12.
    s = running("15 days", "2024-09-20", kind=ClockKind.PARTY, grace=Limit.parse("3 working days"))
    assert evaluate(s, CAL).expires_at == at("2024-10-12")
    s = running("5 working days", "2024-09-27", kind=ClockKind.PARTY,
                grace=Limit.parse("3 working days"))
    # statutory 10-10, + 3 working days: 10-11, Sat 10-12 (调休), Mon 10-14 -> expires 10-15
    # (3 natural days would give 10-14)
    assert evaluate(s, CAL).expires_at == at("2024-10-15")


def test_party_clock_started_from_a_date_in_the_data() -> None:
    # the clock starts on the date of service (taken from the case data), not the transition day
    spec = ClockSpec(name="answer", limit=Limit.parse("15日"), kind=ClockKind.PARTY)
    s = start(ClockState.from_spec(spec), d("2025-09-23"))
    ev = evaluate(s, CAL)
    # 09-23 + 15 = 10-08 (holiday) -> 10-09
    assert ev.statutory_due == d("2025-10-09") and ev.expires_at == at("2025-10-10")
    assert not s.compressed and s.name == "answer"


def test_external_clock_is_tracked_like_a_party_clock() -> None:
    s = running("3 months", "2025-07-08", kind=ClockKind.EXTERNAL)
    ev = evaluate(s, CAL)
    assert ev.statutory_due == d("2025-10-09")  # 10-08 (holiday) moved
    assert ev.commitment_due is None and ev.warning_at is None
    assert ev.level_instants(ClockKind.EXTERNAL) == [(Level.EXPIRED, at("2025-10-10"))]
    assert sla_at(s, ev, at("2025-10-09")) is Sla.ON_TRACK
    assert sla_at(s, ev, at("2025-10-10")) is Sla.EXPIRED


# --- a year with no data (rule 10) --------------------------------------------------------------


def test_unknown_year_counts_the_statutory_holidays_and_is_provisional() -> None:
    # 2026-12-28 Mon + 5 wd: 12-29, 12-30, 12-31 (3, official), then 2027 unknown: Fri 01-01 is
    # 元旦 (a rest day by law), Sat/Sun off, Mon 01-04 (4), Tue 01-05 (5).
    ev = evaluate(running("5 working days", "2026-12-28"), CAL)
    assert ev.statutory_due == d("2027-01-05")
    assert ev.provisional is True and ev.statutory_provisional is True
    # the commitment (3 wd) and its warning stay in 2026: those dates are certain
    assert ev.commitment_due == d("2026-12-31") and ev.commitment_provisional is False
    assert ev.warning_at == at("2026-12-30")
    # wholly in 2027, away from any holiday: weekends only
    ev = evaluate(running("5 working days", "2027-03-01"), CAL)
    assert ev.statutory_due == d("2027-03-08") and ev.provisional and ev.statutory_provisional


def test_unknown_year_natural_days_move_off_new_year() -> None:
    # 60 days from 2026-11-02: November has 28 more days (-> 11-30), December 31 (-> 12-31, 59),
    # the 60th is Fri 2027-01-01, 元旦: moved past Sat 01-02 and Sun 01-03 to Mon 01-04.
    ev = evaluate(running("60 days", "2026-11-02"), CAL)
    assert ev.statutory_due == d("2027-01-04") and ev.statutory_provisional
    # commitment floor(60 x 2/3) = 40 days: 2026-12-12, a Saturday (official 2026) -> Mon 12-14
    assert ev.commitment_due == d("2026-12-14") and not ev.commitment_provisional


def test_unknown_year_party_period_does_not_end_on_new_year() -> None:
    # a party's 30 days served 2026-12-02: the 30th day is Fri 2027-01-01 (元旦), so the last
    # day is Mon 2027-01-04 and the period expires at 2027-01-05 00:00, not 01-02.
    party = start(clock("30 days", kind=ClockKind.PARTY), d("2026-12-02"))
    ev = evaluate(party, CAL)
    assert ev.statutory_due == d("2027-01-04")
    assert ev.expires_at == at("2027-01-05")
    assert ev.statutory_provisional and ev.expiry_provisional
    assert sla_at(party, ev, at("2027-01-02")) is Sla.ON_TRACK
    assert sla_at(party, ev, at("2027-01-05")) is Sla.EXPIRED


def test_provisional_flags_per_date() -> None:
    # a party clock whose last day is in 2026 and whose grace for the post may reach 2027:
    # the last day is certain; the expiry is provisional only when the grace touches 2027.
    party = start(clock("15 days", kind=ClockKind.PARTY, grace=Limit.parse("3 working days")),
                  d("2026-12-10"))
    ev = evaluate(party, CAL)
    # 12-25 Fri; 3 wd of grace: 12-28, 12-29, 12-30 (2026, official) -> certain
    assert ev.statutory_due == d("2026-12-25") and ev.expires_at == at("2026-12-31")
    assert not ev.statutory_provisional and not ev.expiry_provisional and not ev.provisional
    party = replace(party, grace=Limit.parse("5 working days"))
    ev = evaluate(party, CAL)
    # 12-28, 29, 30, 31 (4), 2027: 01-01 元旦, 01-04 (5) -> expires 2027-01-05 00:00, provisional
    assert ev.expires_at == at("2027-01-05")
    assert not ev.statutory_provisional and ev.expiry_provisional and ev.provisional
    # an office clock whose commitment (1 wd: at least 1) lands in 2027 too: both provisional
    ev = evaluate(running("1 working day", "2026-12-31"), CAL)
    assert ev.statutory_due == ev.commitment_due == d("2027-01-04")
    assert ev.statutory_provisional and ev.commitment_provisional


def test_known_year_is_not_provisional() -> None:
    assert evaluate(running("5 working days", "2026-12-01"), CAL).provisional is False


def test_unknown_year_in_strict_mode_is_refused() -> None:
    with pytest.raises(CalendarError, match="2027"):
        evaluate(running("5 working days", "2026-12-28"), ChineseCalendar(strict=True))
    with pytest.raises(CalendarError, match="no official working-day calendar for 2027"):
        evaluate(running("5 working days", "2026-12-28"), CAL, strict=True)
    # a strict setting is fine where every day counted is known
    ev = evaluate(running("5 working days", "2026-12-01"), CAL, strict=True)
    assert ev.statutory_due == d("2026-12-08")


def test_an_override_makes_the_year_official() -> None:
    # the office loads the 2027 notice (here: 01-01 a holiday): no longer provisional, and the
    # deadline changes: 12-29, 12-30, 12-31 (3), 01-01 off, 01-04 (4), 01-05 (5).
    cal = ChineseCalendar()
    cal.add_override(
        CalendarOverride(2027, "国务院办公厅关于2027年部分节假日安排的通知",
                         frozenset({d("2027-01-01")}), frozenset())
    )
    ev = evaluate(running("5 working days", "2026-12-28"), cal)
    assert ev.statutory_due == d("2027-01-05")
    assert ev.provisional is False
    # and a strict calendar now accepts it
    strict = ChineseCalendar(strict=True, overrides=dict(cal.overrides))
    assert evaluate(running("5 working days", "2026-12-28"), strict).statutory_due == d("2027-01-05")


def test_counter_records_provisional_years() -> None:
    cal = SetCalendar(official_years={2024})
    counter = Counter(cal)
    assert counter.nth_after(d("2024-12-27"), 1, Unit.WORKING_DAYS) == d("2024-12-30")
    assert counter.provisional is False
    assert counter.nth_after(d("2024-12-27"), 3, Unit.WORKING_DAYS) == d("2025-01-01")
    assert counter.provisional is True
    with pytest.raises(CalendarError):
        Counter(cal, strict=True).off_rest(d("2025-01-04"))


def test_counter_helpers() -> None:
    counter = Counter(CAL)
    assert counter.nth_after(d("2024-09-27"), 0, Unit.WORKING_DAYS) == d("2024-09-27")
    assert counter.nth_after(d("2024-09-27"), 3, Unit.DAYS) == d("2024-09-30")
    assert counter.count_between(d("2024-09-27"), d("2024-10-10"), Unit.WORKING_DAYS) == 5
    assert counter.count_between(d("2024-09-27"), d("2024-10-10"), Unit.DAYS) == 13
    assert counter.count_between(d("2024-10-10"), d("2024-09-27"), Unit.DAYS) == 0
    assert counter.off_rest(d("2024-10-01")) == d("2024-10-08")
    assert counter.off_rest(d("2024-09-29")) == d("2024-09-29")
    assert counter.previous_workday(d("2024-10-08")) == d("2024-09-30")
    assert counter.previous_workday(d("2024-09-30")) == d("2024-09-29")


def test_a_broken_calendar_is_refused_not_looped_forever() -> None:
    class NeverWorks:
        def is_workday(self, day: date, /) -> bool:
            return False

        def is_official(self, year: int, /) -> bool:
            return True

    with pytest.raises(CalendarError):
        evaluate(running("1 working day", "2024-01-01"), NeverWorks())
    with pytest.raises(CalendarError):
        evaluate(running("1 day", "2024-01-01"), NeverWorks())


def test_clock_state_from_spec_and_replace() -> None:
    spec = ClockSpec(name="handling", limit=Limit.parse("5 working days"), ratio=Fraction(1, 2))
    s = ClockState.from_spec(spec)
    assert (s.name, s.limit, s.ratio, s.status) == ("handling", spec.limit, Fraction(1, 2),
                                                    Status.NOT_STARTED)
    s2 = ClockState.from_spec(spec, Limit.parse("10 working days"))
    assert s2.limit == Limit.parse("10 working days")
    assert replace(s, kind=ClockKind.PARTY).compressed is False
    assert s.counting_unit is Unit.WORKING_DAYS
    assert ClockState(name="x", limit=Limit.parse("1 month")).counting_unit is Unit.DAYS
