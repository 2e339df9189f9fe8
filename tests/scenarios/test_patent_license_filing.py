"""专利实施许可合同备案: decide on the filing 7 wd from receipt; 补正 not counted."""

from datetime import date

import pytest

from tests.scenarios.conftest import (
    CLERK,
    EXAMINER,
    SUPERVISORS,
    audiences,
    due,
    ladder,
    refused,
    sweep_at,
    told,
    walk,
)
from workflow import errors

ITEM = "patent_license_filing"
DATA = {
    "licensor": "某大学", "licensee": "武汉某制造有限公司", "patent_numbers": "ZL202210000002.3",
    "license_type": "exclusive", "contract_effective_on": "2024-04-20", "license_fee": 300_000,
}


def open_filing(engine, **changes):
    return engine.open_case(ITEM, actor=CLERK, data={**DATA, **changes})


@pytest.mark.freeze_time("2024-05-10 10:00:00+08:00")
def test_happy_path_with_a_saturday_workday(engine, freezer):
    case = open_filing(engine)
    # received Fri 05-10; Sat 05-11 is a 调休 workday. 7 wd: 05-11 1, 05-13 2, 05-14 3, 05-15 4,
    # 05-16 5, 05-17 6, 05-20 7 → 05-20; commitment floor(2/3 × 7) = 4 wd → 05-15
    assert due(case, "handling") == (date(2024, 5, 20), date(2024, 5, 15))
    freezer.move_to("2024-05-11 09:30:00+08:00")
    walk(engine, case.id, ("accept", CLERK))
    freezer.move_to("2024-05-15 17:00:00+08:00")
    done = walk(engine, case.id, ("approve", EXAMINER, {"filing_number": "2024420000012"}))
    assert done.state == "filed" and done.final and done.data["filing_number"] == "2024420000012"
    assert done.clocks["handling"].sla == "met" and done.clocks["handling"].used_units == 4


@pytest.mark.freeze_time("2024-06-03 10:00:00+08:00")
def test_supplement_pauses_across_dragon_boat(engine, freezer):
    case = walk(engine, open_filing(engine).id, ("accept", CLERK))
    # Mon 06-03: 06-04 1, 06-05 2, 06-06 3, 06-07 4, (06-10 Dragon Boat off) 06-11 5, 06-12 6,
    # 06-13 7 → 06-13; commitment 4 wd → 06-07
    assert due(case, "handling") == (date(2024, 6, 13), date(2024, 6, 7))
    freezer.move_to("2024-06-05 15:00:00+08:00")
    paused = walk(engine, case.id, ("request_supplement", EXAMINER, {"supplement_items": "合同备案申请表"}))
    assert paused.clocks["handling"].status == "paused" and paused.clocks["handling"].used_units == 2
    assert sweep_at(engine, freezer, "2024-06-08 00:00") == []  # the old overdue instant
    freezer.move_to("2024-06-12 10:00:00+08:00")
    resumed = walk(engine, case.id, ("resubmit", CLERK))
    # 2 used (06-04, 06-05); 5 left from Thu 06-13: 06-13, 06-14, 06-17, 06-18, 06-19;
    # commitment: 2 left → 06-14
    assert due(resumed, "handling") == (date(2024, 6, 19), date(2024, 6, 14))
    ladder(engine, freezer, [
        ("2024-06-13 00:00", [("handling", "warning")]),
        ("2024-06-15 00:00", [("handling", "overdue")]),
        ("2024-06-20 00:00", [("handling", "over_statutory")]),
    ])


@pytest.mark.freeze_time("2024-06-03 10:00:00+08:00")
def test_breach_while_still_at_the_window(engine, freezer):
    case = open_filing(engine)  # never accepted: the clerk holds it in `received`
    ladder(engine, freezer, [
        ("2024-06-06 00:00", [("handling", "warning")]),  # working day before the commitment 06-07
        ("2024-06-08 00:00", [("handling", "overdue")]),
        # no 补正 notice within 5 wd of Mon 06-03 (06-04, 05, 06, 07, (06-10 off) 06-11): deemed
        # accepted as of receipt (一次性告知, 第三十二条) at 00:00 after 06-11
        ("2024-06-12 00:00", [("one_time_notice", "deemed_accepted")]),
        ("2024-06-14 00:00", [("handling", "over_statutory")]),  # past the statutory 06-13
    ])
    assert audiences(engine, case.id) == {**told("handling", "clerk"),
                                          ("one_time_notice", "deemed_accepted"): SUPERVISORS}
    held = engine.get_case(case.id)
    assert held.state == "under_review"
    assert held.sla == "deemed_accepted"  # its own kind of breach on the board while open
    assert held.clocks["handling"].sla == "over_statutory"


@pytest.mark.freeze_time("2024-06-03 10:00:00+08:00")
def test_refused_transitions_leave_the_case_unchanged(engine):
    case = open_filing(engine)
    refused(engine, case.id, "accept", EXAMINER, errors.Forbidden)
    refused(engine, case.id, "resubmit", CLERK, errors.TransitionNotAllowed)  # nothing asked for
    refused(engine, case.id, "refuse", EXAMINER, errors.MissingData)
    walk(engine, case.id, ("accept", CLERK))
    refused(engine, case.id, "approve", CLERK, errors.Forbidden)
    err = refused(engine, case.id, "approve", EXAMINER, errors.MissingData, {"filing_number": 12})
    assert err.fields == {"filing_number": "must be text"}
    with pytest.raises(errors.MissingData) as exc:
        open_filing(engine, license_type="perpetual", contract_effective_on="2024-13-01")
    assert set(exc.value.fields) == {"license_type", "contract_effective_on"}
