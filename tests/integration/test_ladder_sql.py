"""The office's escalation ladder (issue 18 part 7) on SQLite and PostgreSQL: two engines sweeping
one database send one reminder a working day and none on 元旦; the reassignment asks the people
table; everything survives a reload. Dates as in tests/scenarios/test_escalation_ladder.py."""

from __future__ import annotations

import textwrap

import pytest

from adapters import build_engine
from adapters.directory import Person
from tests.scenarios.conftest import ADMIN, CLERK, ORG, at
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



def test_cases_migrated_to_the_office_s_version_get_its_ladder(sql_url, tmp_path, freezer):
    """On a database a changed rule needs a new version: the office publishes its ladder as v4;
    a case opened on v3 keeps v3's ladder until migrated, and migrating writes its reminder rows
    (with ``apply_new_limits``, the new warning point too)."""
    v4 = tmp_path / "pledge_ladder_v4.yaml"
    v4.write_text(OVERRIDE.replace("reason:", "version: 4\nreason:", 1), encoding="utf-8")
    freezer.move_to(at("2026-12-25 10:00"))
    before = build_engine(sql_url)  # no override yet
    case = before.open_case(ITEM, actor=CLERK, data=PLEDGE)
    before.fire(case.id, "accept", actor=CLERK)
    before.store.dispose()
    after = build_engine(sql_url, overrides=[v4])  # the office loads its ladder (a restart)
    assert after.get_case(case.id).definition_version == 3
    assert after.get_case(case.id).clocks["handling"].warning_at == at("2026-12-29 00:00")  # v3's default
    freezer.move_to(at("2026-12-26 10:00"))
    after.migrate(ITEM, from_version=3, to_version=4, actor=ADMIN, reason="本局升级规则适用于在办案件",
                  apply_new_limits=True)
    assert after.get_case(case.id).clocks["handling"].warning_at == at("2026-12-28 00:00")  # 2 wd before 12-30
    rows = sorted(d.level for d in after.deadlines(case.id) if d.level.startswith("remind:"))
    assert rows == ["remind:2026-12-31", "remind:2027-01-04"]
    got = []
    for when in ("2026-12-28 00:00", "2026-12-31 00:00", "2026-12-31 09:00"):
        freezer.move_to(at(when))
        got += [e.level for e in after.sweep() if e.case_id == case.id]
    assert got == ["warning", "overdue", "remind:2026-12-31"]
    after.store.dispose()
