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
    case = engine.open_case("patent_pledge_registration", actor=clerk, data={
        "pledgor": "武汉某科技有限公司", "pledgee": "某银行武汉分行", "patent_numbers": "ZL202310000001.X"})
    case = engine.fire(case.id, "accept", actor=clerk, data={"channel": "paper"})
    assert case.state == "under_review" and case.version == 2 and case.data["channel"] == "paper"
    clock = case.clocks["handling"]
    # paper (and the longer limit while the channel is unknown): 5 working days from Fri 2024-09-27
    # (Sun 09-29 works; 10-01..07 off)
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


@pytest.mark.freeze_time("2024-09-27 10:00:00+08:00")
def test_a_blank_pledge_opens_but_is_not_accepted():
    """Receiving (收件) may be incomplete; accepting (受理) needs the materials the law requires."""
    engine = build_engine("memory://")
    clerk = Actor(id="c1", roles={"clerk"}, org="420100")
    case = engine.open_case("patent_pledge_registration", actor=clerk)
    with pytest.raises(errors.MissingData) as exc:
        engine.fire(case.id, "accept", actor=clerk)
    assert exc.value.fields == {"pledgor": "required", "pledgee": "required", "patent_numbers": "required",
                                "channel": "required"}
    assert engine.get_case(case.id) == case and len(engine.history(case.id)) == 1
    # given in the same call (merged with what the case holds), or already on the case
    case = engine.fire(case.id, "accept", actor=clerk, data={"pledgor": "甲", "pledgee": "乙",
                                                             "patent_numbers": "ZL1", "channel": "online"})
    assert case.state == "under_review"
    assert {k: case.data[k] for k in ("pledgor", "channel")} == {"pledgor": "甲", "channel": "online"}
