"""Transfer (移送), correction, office-wide suspension, assignment and back-dated openings."""

from datetime import date
from pathlib import Path

import pytest

from adapters import build_engine
from workflow import Actor, errors

FIX = Path(__file__).resolve().parents[1] / "fixtures"
CLERK = Actor(id="c1", roles={"clerk"}, org="420100")
EXAMINER = Actor(id="e1", roles={"examiner"}, org="420100")
SUPERVISOR = Actor(id="s1", roles={"supervisor"}, org="420100")
YICHANG_CLERK = Actor(id="c9", roles={"clerk"}, org="420500")
ADMIN = Actor(id="a1", roles={"admin"}, org="420000")


@pytest.fixture
def engine():
    return build_engine("memory://", definitions=[FIX / "pledge.yaml"])


@pytest.mark.freeze_time("2024-03-04 10:00:00+08:00")
def test_transfer_moves_the_case_keeps_clocks_and_old_org_loses_access(engine):
    case = engine.open_case("pledge", actor=CLERK)
    case = engine.fire(case.id, "accept", actor=CLERK)
    due = case.clocks["handling"].statutory_due
    moved = engine.transfer(case.id, "420500", actor=SUPERVISOR, reason="属宜昌管辖")
    assert moved.org == "420500" and moved.clocks["handling"].statutory_due == due
    assert moved.clocks["handling"].status == "running"
    with pytest.raises(errors.CaseNotFound):
        engine.get_case(case.id, actor=CLERK)
    ev = engine.history(case.id, actor=YICHANG_CLERK)[-1]
    assert ev.kind == "transferred" and ev.data["from_org"] == "420100" and ev.data["to_org"] == "420500"
    note = [m for m in engine.store.outbox() if m.topic == "transferred"][-1]
    assert {a["org"] for a in note.payload["audience"]} == {"420100", "420500"}


def test_transfer_refusals_leave_the_case_as_it_was(engine):
    case = engine.open_case("pledge", actor=CLERK)
    with pytest.raises(errors.Forbidden):
        engine.transfer(case.id, "420500", actor=CLERK, reason="x")
    with pytest.raises(errors.MissingData):
        engine.transfer(case.id, "999999", actor=SUPERVISOR, reason="x")
    with pytest.raises(errors.MissingData):
        engine.transfer(case.id, "420500", actor=SUPERVISOR, reason="")
    with pytest.raises(errors.CaseNotFound):
        engine.transfer(case.id, "420100", actor=Actor("s9", {"supervisor"}, "420500"), reason="x")
    assert engine.get_case(case.id) == case
    assert len(engine.history(case.id)) == 1


@pytest.mark.freeze_time("2024-03-04 10:00:00+08:00")
def test_correction_restores_state_data_and_clocks_and_keeps_both_in_history(engine, freezer):
    case = engine.open_case("pledge", actor=CLERK)
    engine.fire(case.id, "accept", actor=CLERK)
    before = engine.get_case(case.id)
    freezer.move_to("2024-03-05 10:00:00+08:00")
    engine.fire(case.id, "refuse", actor=EXAMINER, data={"reason": "误点"})
    assert engine.get_case(case.id).clocks["handling"].status == "stopped"
    fixed = engine.correct(case.id, actor=SUPERVISOR, reason="审查员误操作")
    assert fixed.state == "under_review" and fixed.closed_at is None
    h, b = fixed.clocks["handling"], before.clocks["handling"]
    assert (h.status, h.statutory_due, h.commitment_due, h.run, h.stopped_on) == (
        b.status, b.statutory_due, b.commitment_due, b.run, None)
    assert "reason" not in fixed.data
    assert fixed.version == before.version + 2
    kinds = [(e.kind, e.trigger) for e in engine.history(case.id)]
    assert kinds[-2:] == [("transition", "refuse"), ("corrected", None)]
    pending = [d for d in engine.deadlines(case.id) if d.state == "pending"]
    assert {d.level for d in pending} == {"warning", "overdue", "over_statutory"}
    with pytest.raises(errors.TransitionNotAllowed, match="correction"):
        engine.correct(case.id, actor=SUPERVISOR, reason="again")


def test_correction_refusals(engine):
    case = engine.open_case("pledge", actor=CLERK)
    with pytest.raises(errors.TransitionNotAllowed):
        engine.correct(case.id, actor=SUPERVISOR, reason="nothing to correct")
    engine.fire(case.id, "accept", actor=CLERK)
    with pytest.raises(errors.Forbidden):
        engine.correct(case.id, actor=CLERK, reason="x")
    with pytest.raises(errors.VersionConflict):
        engine.correct(case.id, actor=SUPERVISOR, reason="x", expected_version=1)


@pytest.mark.freeze_time("2024-03-04 10:00:00+08:00")
def test_office_wide_suspension_does_not_count_its_days(engine):
    wuhan = engine.open_case("pledge", actor=CLERK)
    yichang = engine.open_case("pledge", actor=YICHANG_CLERK)
    assert wuhan.clocks["handling"].statutory_due == date(2024, 3, 11)
    touched = engine.suspend("420100", date(2024, 3, 5), date(2024, 3, 6), actor=ADMIN, reason="系统停机")
    assert touched == [wuhan.id]
    # 03-05 and 03-06 are not counted: 5 working days run 03-07, 08, 11, 12, 13
    assert engine.get_case(wuhan.id).clocks["handling"].statutory_due == date(2024, 3, 13)
    assert engine.get_case(yichang.id).clocks["handling"].statutory_due == date(2024, 3, 11)
    ev = engine.history(wuhan.id)[-1]
    assert ev.kind == "suspended" and ev.data["first"] == "2024-03-05"
    with pytest.raises(errors.Forbidden):
        engine.suspend("420100", date(2024, 3, 5), date(2024, 3, 6), actor=SUPERVISOR, reason="x")
    with pytest.raises(errors.MissingData):
        engine.suspend("420100", date(2024, 3, 6), date(2024, 3, 5), actor=ADMIN, reason="x")


def test_assignment_by_supervisors_feeds_worklists(engine):
    case = engine.open_case("pledge", actor=CLERK)
    engine.fire(case.id, "accept", actor=CLERK)
    other = Actor(id="e2", roles={"examiner"}, org="420100")
    assert {c.id for c in engine.worklist(EXAMINER)} == {case.id}
    with pytest.raises(errors.Forbidden):
        engine.assign(case.id, "e2", actor=CLERK)
    assigned = engine.assign(case.id, "e2", actor=SUPERVISOR)
    assert assigned.assignee == "e2"
    assert engine.worklist(EXAMINER) == []
    assert [c.id for c in engine.worklist(other)] == [case.id]
    assert engine.history(case.id)[-1].data == {"from": None, "to": "e2", "reason": None}


@pytest.mark.freeze_time("2024-03-11 10:00:00+08:00")
def test_back_dated_opening_counts_from_the_legal_start(engine):
    case = engine.open_case("pledge", actor=CLERK, started_on=date(2024, 3, 4), reason="邮寄申请，3月4日收件")
    assert case.started_on == date(2024, 3, 4)
    assert case.clocks["handling"].statutory_due == date(2024, 3, 11)
    assert engine.history(case.id)[0].data["reason"] == "邮寄申请，3月4日收件"
    with pytest.raises(errors.MissingData):
        engine.open_case("pledge", actor=CLERK, started_on=date(2024, 3, 4))
    with pytest.raises(errors.MissingData):
        engine.open_case("pledge", actor=CLERK, started_on=date(2024, 3, 12), reason="future")
