"""海外知识产权纠纷应对指导: acceptance 2 wd, expert assigned 2 wd after acceptance (a step),
first response 3 wd after the assignment (a step), written guidance opinion 15 wd from receipt;
all the office's own commitments, not compressed again. 补正 pauses acceptance and the whole."""

from datetime import date

import pytest

from tests.scenarios.conftest import (
    CLERK,
    EXAMINER,
    SUPERVISOR,
    audiences,
    due,
    escalations,
    ladder,
    levels,
    refused,
    told,
    walk,
)
from workflow import errors

ITEM = "overseas_dispute_guidance"


def open_request(engine):
    return engine.open_case(ITEM, actor=CLERK, data={
        "applicant": "武汉某激光有限公司", "country": "德国", "other_party": "某欧洲竞争企业",
        "dispute_type": "trade_fair_complaint", "ip_type": "patent",
        "matter": "在汉诺威展会被投诉侵犯欧洲专利，展品被要求撤展", "response_deadline": "2024-04-20",
    })


@pytest.mark.freeze_time("2024-04-01 10:00:00+08:00")
def test_happy_path_acceptance_expert_first_response_opinion(engine, freezer):
    case = open_request(engine)
    # Mon 04-01; 04-04..04-06 off, Sun 04-07 a workday. acceptance 2 wd: 04-02, 04-03 → 04-03.
    # opinion 15 wd: 04-02, 03, 07, 08, 09, 10, 11, 12, 15, 16, 17, 18, 19, 22, 23 → 04-23.
    assert due(case, "acceptance") == (date(2024, 4, 3), date(2024, 4, 3))
    assert due(case, "handling") == (date(2024, 4, 23), date(2024, 4, 23))
    assert case.main_clock == "handling"
    assert (case.data["country"], case.data["other_party"], case.data["dispute_type"]) == (
        "德国", "某欧洲竞争企业", "trade_fair_complaint")
    freezer.move_to("2024-04-02 10:00:00+08:00")
    accepted = walk(engine, case.id, ("accept", CLERK))
    assert accepted.clocks["acceptance"].sla == "met"
    assert due(accepted, "accepted") == (date(2024, 4, 7), date(2024, 4, 7))  # 04-03, Sun 04-07
    freezer.move_to("2024-04-03 10:00:00+08:00")
    assigned = walk(engine, case.id, ("assign_expert", SUPERVISOR, {"expert": "王专家", "expert_field": "欧洲专利"}))
    assert assigned.clocks["accepted"].sla == "met"
    assert due(assigned, "expert_assigned") == (date(2024, 4, 9), date(2024, 4, 9))  # 04-07, 08, 09
    freezer.move_to("2024-04-08 10:00:00+08:00")
    responded = walk(engine, case.id, ("first_response", EXAMINER, {"first_response_summary": "建议提交不侵权抗辩"}))
    assert responded.state == "drafting_opinion" and responded.clocks["expert_assigned"].sla == "met"
    freezer.move_to("2024-04-19 16:00:00+08:00")
    done = walk(engine, case.id, ("issue_opinion", EXAMINER, {"guidance_opinion": "应对指导意见", "opinion_number": "HW-1"}))
    assert done.state == "completed" and done.clocks["handling"].sla == "met" and done.sla == "met"


@pytest.mark.freeze_time("2024-04-01 10:00:00+08:00")
def test_supplement_pauses_acceptance_and_the_whole(engine, freezer):
    case = open_request(engine)
    freezer.move_to("2024-04-02 10:00:00+08:00")
    paused = walk(engine, case.id, ("request_supplement", CLERK, {"supplement_items": "展会投诉函原件"}))
    assert {n: c.status for n, c in paused.clocks.items()} == {
        "acceptance": "paused", "handling": "paused", "accepted": "not_started", "expert_assigned": "not_started",
        "one_time_notice": "stopped"}  # 补正 notified on day 1: never deemed accepted
    freezer.move_to("2024-04-10 10:00:00+08:00")
    resumed = walk(engine, case.id, ("resubmit", CLERK))
    # 1 used (04-02). acceptance: 1 left → Thu 04-11. opinion: 14 left: 04-11, 12, 15, 16, 17, 18,
    # 19, 22, 23, 24, 25, 26, Sun 28, Mon 29 → 04-29
    assert resumed.state == "received"
    assert resumed.clocks["one_time_notice"].status == "stopped"  # back at the window: it runs once, from receipt
    assert due(resumed, "acceptance") == (date(2024, 4, 11), date(2024, 4, 11))
    assert due(resumed, "handling") == (date(2024, 4, 29), date(2024, 4, 29))


@pytest.mark.freeze_time("2024-04-01 10:00:00+08:00")
def test_breach_of_the_first_response(engine, freezer):
    case = walk(engine, open_request(engine).id, ("accept", CLERK),
                ("assign_expert", SUPERVISOR, {"expert": "王专家"}))
    # first response 3 wd from Mon 04-01: 04-02, 04-03, Sun 04-07 → 04-07
    ladder(engine, freezer, [
        ("2024-04-03 00:00", [("expert_assigned", "warning")]),  # the working day before 04-07
        ("2024-04-08 00:00", [("expert_assigned", "overdue"), ("expert_assigned", "over_statutory")]),
    ], case.id)
    freezer.move_to("2024-04-08 09:00:00+08:00")
    responded = walk(engine, case.id, ("first_response", EXAMINER, {"first_response_summary": "初步意见"}))
    assert responded.clocks["expert_assigned"].sla == "met_over_statutory"
    assert escalations(engine, case.id) == levels("expert_assigned")
    assert audiences(engine, case.id) == told("expert_assigned", "examiner")


@pytest.mark.freeze_time("2024-04-01 10:00:00+08:00")
def test_refused_transitions_leave_the_case_unchanged(engine):
    case = open_request(engine)
    refused(engine, case.id, "assign_expert", SUPERVISOR, errors.TransitionNotAllowed, {"expert": "王专家"})
    refused(engine, case.id, "refuse", SUPERVISOR, errors.MissingData)
    walk(engine, case.id, ("accept", CLERK))
    refused(engine, case.id, "assign_expert", EXAMINER, errors.Forbidden, {"expert": "王专家"})
    refused(engine, case.id, "assign_expert", SUPERVISOR, errors.MissingData)
    refused(engine, case.id, "refuse", SUPERVISOR, errors.TransitionNotAllowed, {"reason": "x"})
    walk(engine, case.id, ("assign_expert", SUPERVISOR, {"expert": "王专家"}))
    refused(engine, case.id, "issue_opinion", EXAMINER, errors.TransitionNotAllowed, {"guidance_opinion": "x"})
    refused(engine, case.id, "first_response", EXAMINER, errors.MissingData)
