"""The office's escalation ladder (issue 18 part 7) on SQLite and PostgreSQL: two engines sweeping
one database send one reminder a working day and none on 元旦; the reassignment asks the people
table; everything survives a reload. Dates as in tests/scenarios/test_escalation_ladder.py."""

from __future__ import annotations

import textwrap

import pytest

from adapters import build_engine
from adapters.directory import Person
from tests.scenarios.conftest import CLERK, ORG, at
from tests.scenarios.test_escalation_ladder import ITEM, OVERRIDE, PLEDGE


@pytest.fixture
def override(tmp_path):
    path = tmp_path / "pledge_ladder.yaml"
    path.write_text(textwrap.dedent(OVERRIDE), encoding="utf-8")
    return path


def test_two_engines_on_one_database_send_one_reminder_a_working_day(sql_url, override, freezer):
    freezer.move_to(at("2026-12-25 10:00"))
    a = build_engine(sql_url, overrides=[override])
    b = build_engine(sql_url, overrides=[override])
    a.people.put(Person("li.kz", "李科长", frozenset({"supervisor"}), ORG))
    case = a.open_case(ITEM, actor=CLERK, data=PLEDGE)
    a.fire(case.id, "accept", actor=CLERK)
    got = []
    for when in ("2026-12-31 09:00", "2026-12-31 09:00", "2026-12-31 16:00", "2027-01-01 09:00",
                 "2027-01-02 09:00", "2027-01-03 09:00", "2027-01-04 09:00", "2027-01-04 09:30",
                 "2027-01-05 00:00", "2027-01-05 09:00"):
        freezer.move_to(at(when))
        for engine in (a, b):
            got += [(when, e.level) for e in engine.sweep() if e.case_id == case.id]
    assert got == [
        ("2026-12-31 09:00", "warning"), ("2026-12-31 09:00", "overdue"), ("2026-12-31 09:00", "remind:2026-12-31"),
        ("2027-01-04 09:00", "remind:2027-01-04"),
        ("2027-01-05 00:00", "over_statutory"), ("2027-01-05 09:00", "remind:2027-01-05"),
    ]
    history = b.history(case.id)
    assert [e.data["day"] for e in history if e.kind == "reminded"] == ["2026-12-31", "2027-01-04", "2027-01-05"]
    assert b.get_case(case.id).assignee == "li.kz"  # reassigned at over_statutory, from the people table
    with b.store.unit_of_work() as uow:
        sent = [m for m in uow.list_outbox(limit=1000) if m.topic == "reminder" and m.case_id == case.id]
    assert len(sent) == 3
    for engine in (a, b):
        engine.store.dispose()
