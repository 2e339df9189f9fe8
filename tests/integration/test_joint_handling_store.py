"""The joint-handling cap (行政许可法第四十二条第二款) on the SQL stores: the bundle's cap, its
escalations and its one extension stored and read back like any clock (SQLite always,
PostgreSQL when ``CASECLOCK_TEST_PG`` names a server). Dates as in
tests/scenarios/test_joint_handling.py (2027 by law, provisional)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from adapters import build_engine
from workflow import Actor, errors

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "joint"
CLERK = Actor("c1", {"clerk"}, "420100", "窗口")
LEADER = Actor("l1", {"leader"}, "420100", "局领导")
APPROVAL = {"reason": "涉及三个部门现场核查", "approver": "副市长 王强"}


def test_the_cap_escalates_and_extends_once_on_the_store(sql_url, freezer):
    url = sql_url
    freezer.move_to("2026-12-21 10:00:00+08:00")
    engine = build_engine(url, definitions=[FIX])
    bundle = engine.open_case("fx_joint", actor=CLERK)
    freezer.move_to("2027-02-03 00:00:00+08:00")
    assert [(e.clock, e.level) for e in engine.sweep() if e.case_id == bundle.id] == [
        ("joint_handling", "warning"), ("joint_handling", "overdue")]
    freezer.move_to("2027-02-26 16:00:00+08:00")
    engine.fire(bundle.id, "extend_joint_handling", actor=LEADER, data=APPROVAL)
    again = build_engine(url, definitions=[FIX])  # another process reads it back
    clock = again.get_case(bundle.id).clocks["joint_handling"]
    assert (clock.statutory_due, clock.commitment_due, clock.extensions) == (
        date(2027, 3, 22), date(2027, 2, 22), ("15 working days",))
    before = again.get_case(bundle.id)
    with pytest.raises(errors.TransitionNotAllowed):
        again.fire(bundle.id, "extend_joint_handling", actor=LEADER, data=APPROVAL)
    assert again.get_case(bundle.id) == before
    freezer.move_to("2027-03-23 00:00:00+08:00")
    assert [(e.clock, e.level) for e in again.sweep() if e.case_id == bundle.id] == [
        ("joint_handling", "over_statutory")]
    for e in (engine, again):
        dispose = getattr(e.store, "dispose", None)
        if dispose is not None:
            dispose()
