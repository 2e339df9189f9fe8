"""专利快速预审: the centre's own 5-wd commitment (office, not compressed again); the applicant's
amendment time is not counted."""

from datetime import date

import pytest

from tests.scenarios.conftest import (
    CLERK,
    EXAMINER,
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

ITEM = "fast_pre_examination"


def open_request(engine):
    return engine.open_case(ITEM, actor=CLERK, data={
        "applicant": "武汉某光电有限公司", "application_type": "invention",
        "invention_title": "一种激光器散热结构", "ipc_class": "H01S",
    })


@pytest.mark.freeze_time("2024-09-09 10:00:00+08:00")
def test_happy_path_the_office_limit_is_its_own_commitment(engine, freezer):
    case = open_request(engine)
    # Mon 09-09: 09-10 1, 09-11 2, 09-12 3, 09-13 4, Sat 09-14 (调休 workday) 5 → 09-14.
    # commitment_ratio 1: the published 5 wd is already the commitment → also 09-14
    assert due(case, "handling") == (date(2024, 9, 14), date(2024, 9, 14))
    assert case.clocks["handling"].commitment_units == 5
    walk(engine, case.id, ("accept", CLERK))
    freezer.move_to("2024-09-14 11:00:00+08:00")
    done = walk(engine, case.id, ("pass", EXAMINER, {"application_number": "202410000003.X"}))
    assert done.state == "passed" and done.clocks["handling"].sla == "met"


@pytest.mark.freeze_time("2024-09-12 10:00:00+08:00")
def test_amendment_pauses_across_mid_autumn(engine, freezer):
    case = walk(engine, open_request(engine).id, ("accept", CLERK))
    # Thu 09-12: 09-13 1, Sat 09-14 2, (09-15..09-17 Mid-Autumn off) 09-18 3, 09-19 4, 09-20 5
    assert due(case, "handling") == (date(2024, 9, 20), date(2024, 9, 20))
    freezer.move_to("2024-09-13 10:00:00+08:00")
    paused = walk(engine, case.id, ("request_amendment", EXAMINER, {"amendment_items": "权利要求1不清楚"}))
    assert paused.state == "awaiting_amendment" and paused.clocks["handling"].status == "paused"
    freezer.move_to("2024-09-18 10:00:00+08:00")
    resumed = walk(engine, case.id, ("resubmit", CLERK))
    # 1 used (09-13); 4 left from Thu 09-19: 09-19, 09-20, 09-23, 09-24
    assert due(resumed, "handling") == (date(2024, 9, 24), date(2024, 9, 24))
    assert resumed.clocks["handling"].remaining_units == 4
    freezer.move_to("2024-09-24 16:00:00+08:00")
    assert walk(engine, case.id, ("pass", EXAMINER)).clocks["handling"].sla == "met"


@pytest.mark.freeze_time("2024-09-09 10:00:00+08:00")
def test_breach_overdue_and_over_statutory_fall_together(engine, freezer):
    case = walk(engine, open_request(engine).id, ("accept", CLERK))
    # the commitment is the limit: overdue and over-statutory are both due at 00:00 after 09-14
    ladder(engine, freezer, [
        ("2024-09-13 00:00", [("handling", "warning")]),
        ("2024-09-15 00:00", [("handling", "overdue"), ("handling", "over_statutory")]),
    ])
    assert escalations(engine, case.id) == levels("handling")
    assert audiences(engine, case.id) == told("handling", "examiner")


@pytest.mark.freeze_time("2024-09-09 10:00:00+08:00")
def test_refused_transitions_leave_the_case_unchanged(engine):
    case = open_request(engine)
    refused(engine, case.id, "pass", EXAMINER, errors.TransitionNotAllowed)  # not yet accepted
    refused(engine, case.id, "fail", CLERK, errors.Forbidden)
    refused(engine, case.id, "fail", EXAMINER, errors.MissingData)
    walk(engine, case.id, ("accept", CLERK))
    refused(engine, case.id, "request_amendment", CLERK, errors.Forbidden)
    refused(engine, case.id, "request_amendment", EXAMINER, errors.MissingData)
    refused(engine, case.id, "publish", EXAMINER, errors.TransitionNotAllowed)  # no such action
