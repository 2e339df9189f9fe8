"""知识产权行政处罚（普通程序）: verify the lead 15 wd (+15 wd, head); decide 90 d from 立案 (main;
+30 d per approval, no cap), not counting testing, suspension, publication, hearing; legal review
10 wd (step); the party's 5 wd to state a defence or ask for a hearing (party; expiry → decision);
serve the decision 7 wd (step)."""

from datetime import date

import pytest

from tests.scenarios.conftest import (
    APPROVED,
    CLERK,
    EXAMINER,
    LEADER,
    SUPERVISOR,
    audiences,
    due,
    escalations,
    ladder,
    levels,
    refused,
    roles,
    sweep_at,
    told,
    walk,
)
from workflow import errors

ITEM = "ip_administrative_penalty"


def open_lead(engine):
    return engine.open_case(ITEM, actor=CLERK, data={
        "case_type": "counterfeit_patent", "party": "某五金经营部", "lead_source": "complaint",
        "lead_summary": "产品包装标注已失效专利号",
    })


def investigating(engine, freezer, case=None):
    """Lead received Mon 04-01 (or ``case``); 立案 Wed 04-10."""
    case = case or open_lead(engine)
    freezer.move_to("2024-04-10 10:00:00+08:00")
    return walk(engine, case.id, ("file_case", LEADER, {"investigators": "张三、李四"}))


def notified(engine, freezer, case=None):
    """Investigation concluded Mon 05-27; notice sent Wed 05-29, received by the party Thu 05-30."""
    case = investigating(engine, freezer, case)
    freezer.move_to("2024-05-27 10:00:00+08:00")
    walk(engine, case.id, ("conclude_investigation", EXAMINER))
    freezer.move_to("2024-05-30 10:00:00+08:00")  # recorded once received (never ahead)
    return walk(engine, case.id, ("notify_intended_penalty", EXAMINER, {
        "notice_served_on": "2024-05-30", "intended_penalty": "责令改正，罚款五万元"}))


@pytest.mark.freeze_time("2024-04-01 10:00:00+08:00")
def test_happy_path_lead_to_served_decision(engine, freezer):
    case = open_lead(engine)
    # Mon 04-01 (04-04..04-06 off, Sun 04-07 a workday): 15 wd → 04-02, 03, 07, 08, 09, 10, 11,
    # 12, 15, 16, 17, 18, 19, 22, 23 → 04-23; commitment 10 wd → 04-16
    assert due(case, "verification") == (date(2024, 4, 23), date(2024, 4, 16))
    case = investigating(engine, freezer, case)
    assert case.clocks["verification"].sla == "met"
    # 90 days from Wed 04-10 → Tue 07-09; commitment 60 days → Sun 06-09, then Mon 06-10 is
    # Dragon Boat: moved to Tue 06-11
    assert due(case, "handling") == (date(2024, 7, 9), date(2024, 6, 11))
    freezer.move_to("2024-05-27 10:00:00+08:00")
    walk(engine, case.id, ("conclude_investigation", EXAMINER))
    freezer.move_to("2024-05-30 10:00:00+08:00")  # recorded once received (never ahead)
    case = walk(engine, case.id, ("notify_intended_penalty", EXAMINER, {
        "notice_served_on": "2024-05-30", "intended_penalty": "责令改正，罚款五万元"}))
    assert case.clocks["legal_review"].sla == "met"  # 05-27 → 05-29, well within 10 wd
    # the party's 5 wd from receipt (Thu 05-30): 05-31, 06-03, 06-04, 06-05, 06-06 → 06-06
    assert case.clocks["defence_period"].statutory_due == date(2024, 6, 6)
    freezer.move_to("2024-06-03 10:00:00+08:00")
    walk(engine, case.id, ("receive_defence", CLERK))
    freezer.move_to("2024-06-05 10:00:00+08:00")
    decided = walk(engine, case.id, ("decide_penalty", LEADER, {"penalty": "罚款五万元", "fine_amount": 50_000}))
    assert decided.clocks["handling"].sla == "met"
    # serve within 7 wd of Wed 06-05: 06-06, 06-07, (06-10 off) 06-11, 12, 13, 14, 17 → 06-17
    assert decided.clocks["decided"].statutory_due == date(2024, 6, 17)
    freezer.move_to("2024-06-07 10:00:00+08:00")
    done = walk(engine, case.id, ("serve_decision", CLERK, {"decision_served_on": "2024-06-07"}))
    assert done.state == "closed" and done.final and done.sla == "met"
    assert done.data["fine_amount"] == 50_000
    assert engine.sweep() == []  # nothing else was left running


@pytest.mark.freeze_time("2024-04-01 10:00:00+08:00")
def test_the_hearing_is_not_counted(engine, freezer):
    case = notified(engine, freezer)
    freezer.move_to("2024-06-03 10:00:00+08:00")
    hearing = walk(engine, case.id, ("request_hearing", CLERK,
                                     {"kind": "hearing", "approver": "副局长 刘强", "expected_days": 45}))
    assert hearing.clocks["handling"].status == "paused"
    assert hearing.clocks["handling"].used_units == 54  # 04-11 .. 06-03
    assert hearing.clocks["defence_period"].sla == "met"
    assert sweep_at(engine, freezer, "2024-07-10 00:00") == []  # the old statutory day passes
    freezer.move_to("2024-06-20 10:00:00+08:00")
    back = walk(engine, case.id, ("hearing_concluded", EXAMINER))
    # 36 days left from Fri 06-21 → Fri 07-26; commitment: 6 left → Wed 06-26
    assert due(back, "handling") == (date(2024, 7, 26), date(2024, 6, 26))


@pytest.mark.freeze_time("2024-04-01 10:00:00+08:00")
def test_the_party_says_nothing_and_the_case_goes_to_decision(engine, freezer):
    case = notified(engine, freezer)
    # last day Thu 06-06, no grace: expired at 00:00 of Fri 06-07
    assert sweep_at(engine, freezer, "2024-06-06 23:59", case.id) == []
    # (the case duration's warning falls at the same instant: its commitment is Tue 06-11)
    assert sweep_at(engine, freezer, "2024-06-07 00:00", case.id) == [
        ("defence_period", "expired"), ("handling", "warning"),
    ]
    deciding = engine.get_case(case.id)
    assert deciding.state == "deliberating"
    last = engine.history(case.id)[-1]
    assert (last.trigger, last.actor_id) == ("defence_period_lapsed", "system")
    assert audiences(engine, case.id)[("defence_period", "expired")] == roles("clerk")


@pytest.mark.freeze_time("2024-04-01 10:00:00+08:00")
def test_breach_of_the_case_duration(engine, freezer):
    case = investigating(engine, freezer)
    ladder(engine, freezer, [
        ("2024-06-07 00:00", [("handling", "warning")]),  # Fri: the working day before 06-11
        ("2024-06-12 00:00", [("handling", "overdue")]),
        ("2024-07-10 00:00", [("handling", "over_statutory")]),
    ], case.id)
    assert escalations(engine, case.id) == levels("handling")
    assert audiences(engine, case.id) == told("handling", "examiner")


@pytest.mark.freeze_time("2024-04-01 10:00:00+08:00")
def test_extensions(engine, freezer):
    case = open_lead(engine)
    freezer.move_to("2024-04-22 10:00:00+08:00")
    longer = walk(engine, case.id, ("extend_verification", LEADER, APPROVED))
    # 30 wd from 04-01: … 04-23 (15), 24, 25, 26, Sun 28, 29, 30, (05-01..05-05 off) 05-06, 07,
    # 08, 09, 10, Sat 05-11 (调休), 13, 14, 15 → 05-15; commitment 20 wd → 04-29
    assert due(longer, "verification") == (date(2024, 5, 15), date(2024, 4, 29))
    err = refused(engine, case.id, "extend_verification", LEADER, errors.TransitionNotAllowed, APPROVED)
    assert "maximum extension of 15 working days" in str(err)
    freezer.move_to("2024-04-24 10:00:00+08:00")
    walk(engine, case.id, ("file_case", LEADER, {"investigators": "张三、李四"}))
    freezer.move_to("2024-07-01 10:00:00+08:00")
    once = walk(engine, case.id, ("extend", LEADER, APPROVED))
    # 90 + 30 = 120 days from Wed 04-24 → Thu 08-22
    assert once.clocks["handling"].statutory_due == date(2024, 8, 22)
    refused(engine, case.id, "extend_by_collective_decision", LEADER, errors.MissingData)
    again = walk(engine, case.id, ("extend_by_collective_decision", LEADER, {"meeting_minutes_ref": "局务会纪要〔2024〕9号", **APPROVED}))
    assert again.clocks["handling"].extensions == ("30 days", "30 days")  # no cap in the rule
    freezer.move_to("2024-09-23 10:00:00+08:00")  # 150 days → Sat 09-21 → Mon 09-23: still in time
    walk(engine, case.id, ("extend", LEADER, APPROVED))
    freezer.move_to("2024-10-24 10:00:00+08:00")  # 180 days → Mon 10-21: passed
    err = refused(engine, case.id, "extend", LEADER, errors.TransitionNotAllowed, APPROVED)
    assert "has passed" in str(err)


@pytest.mark.freeze_time("2024-04-01 10:00:00+08:00")
def test_refused_transitions_leave_the_case_unchanged(engine, freezer):
    case = open_lead(engine)
    refused(engine, case.id, "file_case", EXAMINER, errors.Forbidden)  # 立案 is the head's
    refused(engine, case.id, "file_case", LEADER, errors.MissingData)
    refused(engine, case.id, "decide_penalty", LEADER, errors.TransitionNotAllowed)
    investigating(engine, freezer, case)
    refused(engine, case.id, "extend", SUPERVISOR, errors.Forbidden, APPROVED)
    walk(engine, case.id, ("conclude_investigation", EXAMINER))
    refused(engine, case.id, "notify_intended_penalty", EXAMINER, errors.MissingData,
            {"intended_penalty": "罚款"})  # the date of service starts the party's period
    walk(engine, case.id, ("notify_intended_penalty", EXAMINER,
                           {"notice_served_on": "2024-04-10", "intended_penalty": "罚款"}))
    refused(engine, case.id, "defence_period_lapsed", CLERK, errors.Forbidden)  # the system's
