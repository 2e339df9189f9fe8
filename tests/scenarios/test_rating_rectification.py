"""差评核实整改: opened by the engine's own actor for a 差评; verify, 回访, rectify and reply within
the office's 10 working days (not compressed: commitment ratio 1)."""

from datetime import date

import pytest

from tests.scenarios.conftest import (
    CLERK,
    LEADER,
    ORG,
    SUPERVISOR,
    audiences,
    due,
    ladder,
    refused,
    told,
    walk,
)
from workflow import SYSTEM, errors

ITEM = "rating_rectification"
DATA = {"rated_case_number": "ZYDJ-420100-2024-00007", "grade": 2, "grade_label": "不满意",
        "comment": "窗口让我跑了两趟", "applicant_name": "武汉光谷智能装备有限公司"}
REPLY = {"rectification": "窗口一次性告知清单已更新", "reply": "已核实并整改，感谢您的监督。"}


def open_rectification(engine):
    return engine.open_case(ITEM, actor=SYSTEM, org=ORG, data=DATA)


@pytest.mark.freeze_time("2024-06-03 10:00:00+08:00")
def test_happy_path_across_dragon_boat(engine, freezer):
    case = open_rectification(engine)
    # Mon 06-03: 06-04 1, 06-05 2, 06-06 3, 06-07 4, (06-10 Dragon Boat off) 06-11 5, 06-12 6,
    # 06-13 7, 06-14 8, 06-17 9, 06-18 10 → 06-18; ratio 1: the commitment is the limit
    assert due(case, "handling") == (date(2024, 6, 18), date(2024, 6, 18))
    assert case.org == ORG and case.state == "verifying"
    freezer.move_to("2024-06-05 10:00:00+08:00")
    walk(engine, case.id, ("verify", SUPERVISOR, {"finding": "经调取录像，属实"}),
         ("revisit", SUPERVISOR, {"revisit_note": "06-05 电话回访，申请人认可"}))
    freezer.move_to("2024-06-14 16:00:00+08:00")
    done = walk(engine, case.id, ("reply", LEADER, REPLY))
    assert done.state == "replied" and done.final
    assert done.clocks["handling"].sla == "met" and done.clocks["handling"].used_units == 8


@pytest.mark.freeze_time("2024-06-03 10:00:00+08:00")
def test_breach_goes_to_the_supervisors_and_leaders(engine, freezer):
    case = open_rectification(engine)
    ladder(engine, freezer, [
        ("2024-06-17 00:00", [("handling", "warning")]),  # the working day before 06-18
        ("2024-06-19 00:00", [("handling", "overdue"), ("handling", "over_statutory")]),
    ])
    assert audiences(engine, case.id) == told("handling", "supervisor", "leader")


@pytest.mark.freeze_time("2024-06-03 10:00:00+08:00")
def test_refused_steps_and_openings(engine):
    case = open_rectification(engine)
    refused(engine, case.id, "verify", CLERK, errors.Forbidden)  # a supervisor's work
    refused(engine, case.id, "verify", SUPERVISOR, errors.MissingData)  # 核实情况 required
    refused(engine, case.id, "reply", SUPERVISOR, errors.TransitionNotAllowed, REPLY)  # not verified yet
    walk(engine, case.id, ("verify", SUPERVISOR, {"finding": "属实"}))
    refused(engine, case.id, "dismiss", SUPERVISOR, errors.MissingData)  # the reply is required
    with pytest.raises(errors.Forbidden):  # never applied for: only the engine opens one
        engine.open_case(ITEM, actor=CLERK, data=DATA)
    assert not engine.definition(ITEM).online.open
