"""知识产权维权援助申请: decide whether to assist 5 wd, complete 20 wd (both the office's own
commitments, not compressed again); 补正 pauses both."""

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

ITEM = "rights_protection_assistance"


def open_request(engine):
    return engine.open_case(ITEM, actor=CLERK, data={
        "applicant": "武汉某生物有限公司", "applicant_type": "enterprise", "ip_type": "patent",
        "assistance_type": "infringement_analysis", "matter": "竞争对手产品涉嫌侵犯发明专利",
    })


@pytest.mark.freeze_time("2024-04-01 10:00:00+08:00")
def test_happy_path_two_clocks(engine, freezer):
    case = open_request(engine)
    # Mon 04-01; 04-04..04-06 off, Sun 04-07 and Sun 04-28 workdays.
    # decision 5 wd: 04-02, 04-03, 04-07, 04-08, 04-09 → 04-09.
    # handling 20 wd: 04-02, 03, 07, 08, 09, 10, 11, 12, 15, 16, 17, 18, 19, 22, 23, 24, 25, 26,
    # Sun 04-28 (19), Mon 04-29 (20) → 04-29. commitment_ratio 1: commitments are the limits.
    assert due(case, "decision") == (date(2024, 4, 9), date(2024, 4, 9))
    assert due(case, "handling") == (date(2024, 4, 29), date(2024, 4, 29))
    assert case.main_clock == "handling"
    freezer.move_to("2024-04-08 10:00:00+08:00")
    granted = walk(engine, case.id, ("accept", CLERK), ("grant", SUPERVISOR))
    assert granted.state == "assisting"
    assert granted.clocks["decision"].sla == "met" and granted.clocks["handling"].status == "running"
    freezer.move_to("2024-04-28 15:00:00+08:00")  # a Sunday, but a working day
    done = walk(engine, case.id, ("complete", EXAMINER, {"result": "出具侵权判定参考意见书"}))
    assert done.state == "completed" and done.clocks["handling"].sla == "met" and done.sla == "met"


@pytest.mark.freeze_time("2024-04-01 10:00:00+08:00")
def test_supplement_pauses_both_clocks(engine, freezer):
    case = walk(engine, open_request(engine).id, ("accept", CLERK))
    freezer.move_to("2024-04-02 10:00:00+08:00")
    paused = walk(engine, case.id, ("request_supplement", EXAMINER, {"supplement_items": "专利权评价报告"}))
    assert {n: c.status for n, c in paused.clocks.items()} == {"decision": "paused", "handling": "paused",
                                                            "one_time_notice": "stopped"}
    freezer.move_to("2024-04-10 10:00:00+08:00")
    resumed = walk(engine, case.id, ("resubmit", CLERK))
    # 1 used (04-02). decision: 4 left from Thu 04-11: 04-11, 04-12, 04-15, 04-16 → 04-16.
    # handling: 19 left: 04-11, 12, 15, 16, 17, 18, 19, 22, 23, 24, 25, 26, 28, 29, 30,
    # (05-01..05-05 off) 05-06, 07, 08, 09 → 05-09
    assert due(resumed, "decision") == (date(2024, 4, 16), date(2024, 4, 16))
    assert due(resumed, "handling") == (date(2024, 5, 9), date(2024, 5, 9))


@pytest.mark.freeze_time("2024-04-01 10:00:00+08:00")
def test_breach_of_the_decision_then_of_the_whole(engine, freezer):
    case = walk(engine, open_request(engine).id, ("accept", CLERK))
    ladder(engine, freezer, [
        ("2024-04-08 00:00", [("decision", "warning")]),  # the working day before 04-09
        ("2024-04-10 00:00", [("decision", "overdue"), ("decision", "over_statutory")]),
    ], case.id)
    freezer.move_to("2024-04-10 09:00:00+08:00")
    walk(engine, case.id, ("grant", SUPERVISOR))
    ladder(engine, freezer, [
        ("2024-04-28 00:00", [("handling", "warning")]),  # Sun 04-28 is the working day before 04-29
        ("2024-04-30 00:00", [("handling", "overdue"), ("handling", "over_statutory")]),
    ], case.id)
    assert escalations(engine, case.id) == [
        *levels("decision"),
        *levels("handling"),
    ]
    assert audiences(engine, case.id) == {
        **told("decision", "examiner"),
        **told("handling", "examiner"),  # assisting
    }
    assert engine.get_case(case.id).clocks["decision"].sla == "met_over_statutory"


@pytest.mark.freeze_time("2024-04-01 10:00:00+08:00")
def test_refused_transitions_leave_the_case_unchanged(engine):
    case = walk(engine, open_request(engine).id, ("accept", CLERK))
    refused(engine, case.id, "grant", EXAMINER, errors.Forbidden)  # a supervisor or leader decides
    refused(engine, case.id, "complete", EXAMINER, errors.TransitionNotAllowed)
    refused(engine, case.id, "refuse", SUPERVISOR, errors.MissingData)
    walk(engine, case.id, ("grant", SUPERVISOR))
    refused(engine, case.id, "complete", EXAMINER, errors.MissingData)
