"""A year the calendar does not know (DESIGN "Legal time" rule 10): deadlines in 2027 are counted
with weekends and the statutory holidays the law fixes, and marked provisional; loading the office's 2027 override file recomputes
every open clock it touches, with a ``calendar_recomputed`` event, and moves the dates where the
notice declares a holiday."""

from __future__ import annotations

from datetime import date

import pytest

from tests.engine_support import CLERK, EXAMINER, at, make_engine
from workflow import Engine, errors

pytestmark = pytest.mark.freeze_time("2026-12-28 02:00:00")  # Mon 2026-12-28 10:00 in Shanghai


@pytest.fixture
def engine() -> Engine:
    return make_engine()


def override(tmp_path, holidays=(), workdays=()):
    path = tmp_path / "2027.yaml"
    path.write_text(
        "year: 2027\n"
        "source: 国务院办公厅关于2027年部分节假日安排的通知（测试）\n"
        f"holidays: [{', '.join(holidays)}]\n"
        f"workdays: [{', '.join(workdays)}]\n",
        encoding="utf-8",
    )
    return path


def test_a_deadline_in_an_unknown_year_is_provisional_and_recomputed_on_load(engine, tmp_path, freezer):
    case = engine.open_case("fx_filing", actor=CLERK)
    inside = engine.open_case("fx_channel", actor=CLERK, data={"channel": "online"})
    clock = case.clocks["handling"]
    # Mon 2026-12-28 + 5 working days, 2027 by law: 12-29, 12-30, 12-31, Fri 01-01 元旦 off,
    # Mon 01-04, Tue 01-05
    assert (clock.statutory_due, clock.commitment_due, clock.provisional) == (
        date(2027, 1, 5), date(2026, 12, 31), True)
    # 3 working days, all in 2026: official
    assert inside.clocks["handling"].statutory_due == date(2026, 12, 31)
    assert inside.clocks["handling"].provisional is False
    events_before = engine.history(case.id)

    freezer.move_to(at("2026-12-29 09:00"))
    # a made-up notice that also gives Mon 01-04 off (the real one is not out yet)
    changed = engine.load_calendar(override(tmp_path, holidays=["2027-01-01", "2027-01-04"]))

    assert changed == [case.id]
    clock = engine.get_case(case.id).clocks["handling"]
    # 12-29, 12-30, 12-31, 01-01 and 01-04 off, Tue 01-05, Wed 01-06
    assert (clock.statutory_due, clock.commitment_due, clock.provisional) == (
        date(2027, 1, 6), date(2026, 12, 31), False)
    history = engine.history(case.id)
    assert history[: len(events_before)] == events_before
    (ev,) = history[len(events_before):]
    assert (ev.kind, ev.trigger, ev.actor_id, ev.at) == ("calendar_recomputed", None, "system", at("2026-12-29 09:00"))
    assert ev.from_state == ev.to_state == "received"
    # the notice's title, never the file's path; no actor given: the engine's own
    assert ev.data["year"] == 2027 and ev.data["source"] == "国务院办公厅关于2027年部分节假日安排的通知（测试）"
    assert str(tmp_path) not in str(ev.data)
    change = ev.data["clocks"]["handling"]
    assert change["before"]["statutory_due"] == "2027-01-05" and change["before"]["provisional"] is True
    assert change["after"]["statutory_due"] == "2027-01-06" and change["after"]["provisional"] is False
    assert [e.kind for e in engine.history(inside.id)] == ["opened"]
    # the deadline rows follow: over_statutory now after Wed 01-06
    pending = {x.level: x.due_at for x in engine.deadlines(case.id) if x.state == "pending"}
    assert pending["over_statutory"] == at("2027-01-07 00:00")
    freezer.move_to(at("2027-01-05 12:00"))
    assert [e.level for e in engine.sweep() if e.case_id == case.id] == ["warning", "overdue"]


def test_an_override_that_changes_no_date_still_confirms_the_dates(engine, tmp_path):
    case = engine.open_case("fx_filing", actor=CLERK)
    changed = engine.load_calendar(override(tmp_path, holidays=["2027-01-01", "2027-10-01"]))
    assert changed == [case.id]
    clock = engine.get_case(case.id).clocks["handling"]
    assert (clock.statutory_due, clock.provisional) == (date(2027, 1, 5), False)
    ev = engine.history(case.id)[-1]
    assert ev.kind == "calendar_recomputed"
    assert ev.data["clocks"]["handling"]["after"]["provisional"] is False


def test_closed_cases_are_left_alone(engine, tmp_path):
    case = engine.open_case("fx_filing", actor=CLERK)
    engine.fire(case.id, "accept", actor=CLERK)
    engine.fire(case.id, "approve", actor=EXAMINER)
    events = engine.history(case.id)
    assert engine.load_calendar(override(tmp_path, holidays=["2027-01-01"])) == []
    assert engine.history(case.id) == events


def test_an_invalid_override_changes_nothing(engine, tmp_path):
    case = engine.open_case("fx_filing", actor=CLERK)
    bad = tmp_path / "bad.yaml"
    bad.write_text("year: 2027\nholidays: [2026-05-01]\n", encoding="utf-8")
    with pytest.raises(errors.CalendarError):
        engine.load_calendar(bad)
    assert engine.get_case(case.id).clocks["handling"].provisional is True
    assert [e.kind for e in engine.history(case.id)] == ["opened"]


def test_a_strict_calendar_refuses_to_guess():
    engine = make_engine(strict_calendar=True)
    with pytest.raises(errors.CalendarError):
        engine.open_case("fx_filing", actor=CLERK)
    assert engine.list_cases() == []
