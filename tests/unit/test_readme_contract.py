"""The library contract of issue 3 and the README, run verbatim on the bundled definitions."""

from datetime import date

import pytest

from adapters import build_engine
from workflow import Actor, errors


@pytest.mark.freeze_time("2024-09-27 10:00:00+08:00")
def test_issue_contract_runs_on_the_bundled_definitions():
    engine = build_engine("memory://")
    clerk = Actor(id="c1", roles={"clerk"}, org="420100")
    examiner = Actor(id="e1", roles={"examiner"}, org="420100")
    case = engine.open_case("patent_pledge_registration", actor=clerk)
    case = engine.fire(case.id, "accept", actor=clerk)
    assert case.state == "under_review" and case.version == 2
    clock = case.clocks["handling"]
    # paper filing by default: 5 working days from Fri 2024-09-27 (Sun 09-29 works; 10-01..07 off)
    assert (clock.statutory_due, clock.commitment_due) == (date(2024, 10, 10), date(2024, 10, 8))
    assert (clock.status, clock.sla, clock.provisional, clock.party) == ("running", "on_track", False, False)
    assert engine.available_triggers(case.id, actor=examiner)[:2] == ["request_supplement", "approve"]
    assert engine.get_case(case.id) == case
    assert [e.trigger for e in engine.history(case.id)] == [None, "accept"]
    assert [c.id for c in engine.list_cases(actor=clerk)] == [case.id]
    assert [c.id for c in engine.worklist(examiner)] == [case.id]
    assert {d.id for d in engine.definitions()} >= {"patent_pledge_registration", "judicial_confirmation"}
    assert engine.sweep() == []
    # DESIGN's example data names are accepted: `notice` for the supplement, `reason` for a refusal
    paused = engine.fire(case.id, "request_supplement", actor=examiner, data={"notice": "补正通知书"})
    assert paused.clocks["handling"].status == "paused"
    assert paused.data["supplement_items"] == "补正通知书"
    with pytest.raises(errors.MissingData):
        engine.fire(case.id, "refuse", actor=examiner)
    assert engine.fire(case.id, "refuse", actor=examiner, data={"reason": "材料不全"}).state == "refused"
