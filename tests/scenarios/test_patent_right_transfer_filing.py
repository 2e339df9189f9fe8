"""专利权转让登记: the window's own 5-wd commitment (office); 补正 not counted."""

from datetime import date

import pytest

from tests.scenarios.conftest import (
    CLERK,
    EXAMINER,
    audiences,
    due,
    ladder,
    refused,
    told,
    walk,
)
from workflow import errors

ITEM = "patent_right_transfer_filing"


def open_transfer(engine):
    return engine.open_case(ITEM, actor=CLERK, data={
        "transferor": "某研究院", "transferee": "武汉某科技有限公司",
        "patent_numbers": "ZL202010000004.5", "channel": "paper", "transfer_price": 800_000,
    })


@pytest.mark.freeze_time("2024-02-09 10:00:00+08:00")
def test_happy_path_across_spring_festival(engine, freezer):
    case = open_transfer(engine)
    # Fri 02-09; 02-10..02-17 Spring Festival off; Sun 02-18 a workday: 02-18 1, 02-19 2,
    # 02-20 3, 02-21 4, 02-22 5 → 02-22; commitment_ratio 1 → the same day
    assert due(case, "handling") == (date(2024, 2, 22), date(2024, 2, 22))
    freezer.move_to("2024-02-18 09:00:00+08:00")
    walk(engine, case.id, ("accept", CLERK))
    freezer.move_to("2024-02-21 09:00:00+08:00")
    done = walk(engine, case.id, ("approve", EXAMINER))
    assert done.state == "registered" and done.clocks["handling"].sla == "met"
    assert done.clocks["handling"].used_units == 4


@pytest.mark.freeze_time("2024-02-07 10:00:00+08:00")
def test_supplement_pauses_over_the_holiday(engine, freezer):
    case = walk(engine, open_transfer(engine).id, ("accept", CLERK))
    # Wed 02-07: 02-08 1, 02-09 2, (holiday) 02-18 3, 02-19 4, 02-20 5
    assert due(case, "handling") == (date(2024, 2, 20), date(2024, 2, 20))
    freezer.move_to("2024-02-08 10:00:00+08:00")
    walk(engine, case.id, ("request_supplement", CLERK, {"supplement_items": "转让合同公证件"}))
    freezer.move_to("2024-02-19 10:00:00+08:00")
    resumed = walk(engine, case.id, ("resubmit", CLERK))
    # 1 used (02-08); 4 left from Tue 02-20: 02-20, 02-21, 02-22, 02-23
    assert due(resumed, "handling") == (date(2024, 2, 23), date(2024, 2, 23))
    assert resumed.clocks["handling"].paused_spans == ((date(2024, 2, 8), date(2024, 2, 19)),)


@pytest.mark.freeze_time("2024-02-09 10:00:00+08:00")
def test_breach(engine, freezer):
    case = walk(engine, open_transfer(engine).id, ("accept", CLERK))
    ladder(engine, freezer, [
        ("2024-02-21 00:00", [("handling", "warning")]),
        ("2024-02-23 00:00", [("handling", "overdue"), ("handling", "over_statutory")]),
    ])
    assert audiences(engine, case.id) == told("handling", "examiner")


@pytest.mark.freeze_time("2024-02-09 10:00:00+08:00")
def test_refused_transitions_leave_the_case_unchanged(engine):
    case = open_transfer(engine)
    refused(engine, case.id, "approve", EXAMINER, errors.TransitionNotAllowed)
    refused(engine, case.id, "refuse", CLERK, errors.Forbidden)
    refused(engine, case.id, "refuse", EXAMINER, errors.MissingData, {"reason": ""})
