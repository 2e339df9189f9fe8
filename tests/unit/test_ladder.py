"""The warning point of an office's ladder (workflow/ladder.py, legaltime.WarningRule), counted on
the official 2024 calendar (Qingming 04-04..06 off, Sun 04-07 a workday; Mon 03-04 .. Fri 03-15 plain
weeks), and the reminder days it schedules."""

from __future__ import annotations

from datetime import date, datetime, time
from fractions import Fraction

from adapters.calendar import ChineseCalendar
from workflow.ladder import Ladder, Rung, next_reminders
from workflow.legaltime import TZ, ClockState, WarningRule, evaluate, midnight, start
from workflow.limits import Limit

CAL = ChineseCalendar()


def clock(limit: str, day: str, rule: WarningRule | None = None) -> ClockState:
    return start(ClockState(name="handling", limit=Limit.parse(limit), warning=rule), date.fromisoformat(day))


def test_the_default_is_the_last_working_day_before_the_commitment():
    d = evaluate(clock("15 working days", "2024-03-04"), CAL)
    # commitment 10 wd: 03-05 .. 03-08 (4), 03-11 .. 03-15 (9), Mon 03-18 (10); Fri 03-15 the day before
    assert d.commitment_due == date(2024, 3, 18)
    assert d.warning_at == midnight(date(2024, 3, 15))
    assert evaluate(clock("15 working days", "2024-03-04", WarningRule(before=1)), CAL) == d


def test_n_working_days_before_the_commitment_skip_rest_days():
    d = evaluate(clock("15 working days", "2024-03-04", WarningRule(before=3)), CAL)
    assert d.warning_at == midnight(date(2024, 3, 13))  # 03-15 (1), 03-14 (2), Wed 03-13 (3)
    # across Qingming: from Mon 04-01, 5 wd → commitment 3 wd: 04-02, 04-03, Sun 04-07 (调休)
    q = evaluate(clock("5 working days", "2024-04-01", WarningRule(before=2)), CAL)
    assert q.commitment_due == date(2024, 4, 7)
    assert q.warning_at == midnight(date(2024, 4, 2))  # 1 before: 04-03; 2 before: 04-02 (04-04..06 off)


def test_a_point_at_or_before_the_start_falls_on_the_first_working_day_after_it():
    # 3 wd from Mon 03-04: commitment 2 wd → Wed 03-06; 3 before: 03-05, 03-04 (start), 03-01 → too early
    d = evaluate(clock("3 working days", "2024-03-04", WarningRule(before=3)), CAL)
    assert d.commitment_due == date(2024, 3, 6)
    assert d.warning_at == midnight(date(2024, 3, 5))


def test_a_share_of_the_commitment_used_up():
    # commitment 10 wd; ⌈0.75 × 10⌉ = 8 used up on Thu 03-14: yellow from 00:00 of Fri 03-15
    d = evaluate(clock("15 working days", "2024-03-04", WarningRule(share=Fraction(3, 4))), CAL)
    assert d.warning_at == midnight(date(2024, 3, 15))
    # ⌈0.5 × 10⌉ = 5: Mon 03-11 → from Tue 03-12 00:00
    half = evaluate(clock("15 working days", "2024-03-04", WarningRule(share=Fraction(1, 2))), CAL)
    assert half.warning_at == midnight(date(2024, 3, 12))
    # never later than 00:00 of the commitment's last day: ⌈0.9 × 2⌉ = 2 = all of it
    late = evaluate(clock("3 working days", "2024-03-04", WarningRule(share=Fraction(9, 10))), CAL)
    assert late.warning_at == midnight(date(2024, 3, 6))


def test_reminder_days_are_working_days_from_the_level_on():
    ladder = Ladder(rungs={"overdue": Rung(remind=time(9, 0))})
    overdue = datetime(2024, 4, 3, 0, 0, tzinfo=TZ)
    days = next_reminders(ladder, {"overdue": overdue}, date(2024, 4, 3), CAL.is_workday)
    assert [(d, lv) for d, lv, _ in days] == [(date(2024, 4, 3), "overdue"), (date(2024, 4, 7), "overdue")]
    assert days[0][2] == datetime(2024, 4, 3, 9, 0, tzinfo=TZ)
    # a level reached after that day's reminder time reminds from the next working day
    late = next_reminders(ladder, {"overdue": datetime(2024, 4, 3, 10, 0, tzinfo=TZ)}, date(2024, 4, 3),
                          CAL.is_workday)
    assert [d for d, _, _ in late] == [date(2024, 4, 7), date(2024, 4, 8)]
    assert next_reminders(Ladder(), {"overdue": overdue}, date(2024, 4, 3), CAL.is_workday) == []
