"""专利权质押登记: paper 5 wd / online 2 wd from receipt, 补正 pauses the clock."""

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
    sweep_at,
    told,
    walk,
)
from workflow import errors

ITEM = "patent_pledge_registration"


def open_pledge(engine, channel="paper", request_type="registration"):
    return engine.open_case(ITEM, actor=CLERK, data={
        "request_type": request_type, "channel": channel, "pledgor": "武汉某科技有限公司",
        "pledgee": "某银行武汉分行", "patent_numbers": "ZL202310000001.2", "secured_amount": 5_000_000,
    })


@pytest.mark.freeze_time("2024-09-27 10:00:00+08:00")
def test_happy_path_over_national_day_on_paper(engine, freezer):
    case = open_pledge(engine)
    # received Fri 09-27 (not counted). Working days: Sun 09-29 (调休 workday) 1, Mon 09-30 2,
    # 10-01..10-07 National Day off, Tue 10-08 3, Wed 10-09 4, Thu 10-10 5.
    # Statutory 5 wd → 10-10; commitment floor(2/3 × 5) = 3 wd → 10-08.
    assert due(case, "handling") == (date(2024, 10, 10), date(2024, 10, 8))
    assert case.clocks["handling"].limit == "5 working days"
    freezer.move_to("2024-09-29 09:00:00+08:00")  # the Sunday is a working day
    walk(engine, case.id, ("accept", CLERK))
    freezer.move_to("2024-10-08 15:00:00+08:00")
    done = walk(engine, case.id, ("approve", EXAMINER, {"registration_number": "Y2024420000123"}))
    assert done.state == "registered" and done.final and done.closed_at is not None
    assert done.clocks["handling"].status == "stopped"
    assert done.clocks["handling"].sla == "met" and done.sla == "met"
    assert done.clocks["handling"].used_units == 3  # 09-29, 09-30, 10-08
    assert [e.trigger for e in engine.history(case.id) if e.kind == "transition"] == ["accept", "approve"]


@pytest.mark.freeze_time("2024-09-27 10:00:00+08:00")
def test_channel_chooses_the_limit_online_two_paper_five(engine, freezer):
    online, paper = open_pledge(engine, "online"), open_pledge(engine, "paper")
    # online: 2 wd from Fri 09-27 → Sun 09-29 (workday) 1, Mon 09-30 2 → 09-30;
    # commitment floor(2/3 × 2) = 1 wd → 09-29.
    assert online.clocks["handling"].limit == "2 working days"
    assert due(online, "handling") == (date(2024, 9, 30), date(2024, 9, 29))
    assert due(paper, "handling") == (date(2024, 10, 10), date(2024, 10, 8))
    freezer.move_to("2024-09-30 11:00:00+08:00")
    for case in (online, paper):
        walk(engine, case.id, ("accept", CLERK), ("approve", EXAMINER))
    # the same day is late for the online filing (past its 1-wd commitment) and early on paper
    assert engine.get_case(online.id).clocks["handling"].sla == "met_late"
    assert engine.get_case(paper.id).clocks["handling"].sla == "met"


@pytest.mark.freeze_time("2024-09-27 10:00:00+08:00")
def test_online_filing_breaches_within_days(engine, freezer):
    case = walk(engine, open_pledge(engine, "online").id, ("accept", CLERK))
    # commitment Sun 09-29 (调休): the working day before it is Fri 09-27, the start day, so the
    # warning comes at 00:00 of 09-29 instead (never yellow at birth); overdue 09-30 00:00, over
    # statutory 10-01 00:00
    assert case.clocks["handling"].sla == "on_track"
    assert sweep_at(engine, freezer, "2024-09-27 10:01") == []
    ladder(engine, freezer, [
        ("2024-09-29 00:00", [("handling", "warning")]),
        ("2024-09-30 00:00", [("handling", "overdue")]),
        ("2024-10-01 00:00", [("handling", "over_statutory")]),
    ])


@pytest.mark.freeze_time("2025-03-03 20:53:00+08:00")
def test_no_yellow_at_birth_for_an_online_filing_opened_in_the_evening(engine, freezer):
    # issue 15: 2 wd from Mon 2025-03-03 -> Wed 03-05; commitment floor(4/3) = 1 -> Tue 03-04.
    # The rule's instant (00:00 of the working day before 03-04) is 03-03 00:00, before the
    # opening at 20:53: the warning comes at 03-04 00:00, overdue at 03-05 00:00.
    case = open_pledge(engine, "online")
    assert due(case, "handling") == (date(2025, 3, 5), date(2025, 3, 4))
    assert case.clocks["handling"].sla == "on_track" and case.sla == "on_track"
    assert sweep_at(engine, freezer, "2025-03-03 20:54") == []
    ladder(engine, freezer, [
        ("2025-03-04 00:00", [("handling", "warning")]),
        ("2025-03-05 00:00", [("handling", "overdue")]),
        ("2025-03-06 00:00", [("handling", "over_statutory")]),
    ])


@pytest.mark.freeze_time("2024-03-04 10:00:00+08:00")
def test_supplement_pauses_and_the_rest_counts_after_resubmission(engine, freezer):
    case = open_pledge(engine)
    # Mon 03-04: 5 wd → Mon 03-11; commitment 3 wd → Thu 03-07; warning from Wed 03-06 00:00
    assert due(case, "handling") == (date(2024, 3, 11), date(2024, 3, 7))
    walk(engine, case.id, ("accept", CLERK))
    assert sweep_at(engine, freezer, "2024-03-06 00:00") == [("handling", "warning")]
    freezer.move_to("2024-03-06 10:00:00+08:00")
    paused = walk(engine, case.id, ("request_supplement", EXAMINER, {"supplement_items": "质押合同原件"}))
    clock = paused.clocks["handling"]
    assert paused.state == "awaiting_supplement"
    assert clock.status == "paused" and clock.sla == "warning"  # keeps the level it had reached
    assert clock.statutory_due is None and clock.used_units == 2  # 03-05 and 03-06 are used
    # the former overdue (03-08) and over-statutory (03-12) instants pass quietly while paused
    assert sweep_at(engine, freezer, "2024-03-08 00:00") == []
    assert sweep_at(engine, freezer, "2024-03-12 00:00") == []
    freezer.move_to("2024-03-11 09:00:00+08:00")
    # (the freezer may go back: the resubmission is dated Mon 03-11)
    resumed = walk(engine, case.id, ("resubmit", CLERK))
    # DESIGN worked example: 2 used; 3 left from Tue 03-12 → 03-12, 03-13, 03-14;
    # commitment 3 wd: 1 left → 03-12
    assert due(resumed, "handling") == (date(2024, 3, 14), date(2024, 3, 12))
    assert resumed.clocks["handling"].paused_spans == ((date(2024, 3, 6), date(2024, 3, 11)),)
    ladder(engine, freezer, [
        ("2024-03-13 00:00", [("handling", "overdue")]),
        ("2024-03-15 00:00", [("handling", "over_statutory")]),
    ])
    # the warning fired before the pause is not fired again
    assert escalations(engine, case.id) == levels("handling")


@pytest.mark.freeze_time("2024-03-04 10:00:00+08:00")
def test_breach_escalates_each_level_once_to_the_right_people(engine, freezer):
    case = walk(engine, open_pledge(engine).id, ("accept", CLERK))
    ladder(engine, freezer, [
        ("2024-03-06 00:00", [("handling", "warning")]),  # working day before the commitment 03-07
        ("2024-03-08 00:00", [("handling", "overdue")]),  # past the commitment
        ("2024-03-12 00:00", [("handling", "over_statutory")]),  # past the statutory 03-11
    ])
    assert escalations(engine, case.id) == levels("handling")
    assert all(e.actor_id == "system" for e in engine.history(case.id) if e.kind == "escalation")
    assert audiences(engine, case.id) == told("handling", "examiner")  # under_review is worked by examiners
    assert engine.get_case(case.id).sla == "over_statutory"
    freezer.move_to("2024-03-12 10:00:00+08:00")
    late = walk(engine, case.id, ("approve", EXAMINER))
    assert late.clocks["handling"].sla == "met_over_statutory"


@pytest.mark.freeze_time("2024-03-04 10:00:00+08:00")
def test_change_and_cancellation_close_in_their_own_states(engine):
    change = walk(engine, open_pledge(engine, request_type="change").id,
                  ("accept", CLERK), ("approve_change", EXAMINER))
    cancel = walk(engine, open_pledge(engine, request_type="cancellation").id,
                  ("accept", CLERK), ("approve_cancellation", EXAMINER))
    assert (change.state, cancel.state) == ("change_registered", "cancelled")
    assert change.clocks["handling"].sla == cancel.clocks["handling"].sla == "met"


@pytest.mark.freeze_time("2024-03-04 10:00:00+08:00")
def test_refused_transitions_leave_the_case_unchanged(engine):
    case = open_pledge(engine)
    refused(engine, case.id, "accept", EXAMINER, errors.Forbidden)  # accepting is the clerk's
    refused(engine, case.id, "approve", EXAMINER, errors.TransitionNotAllowed)  # not yet under review
    refused(engine, case.id, "refuse", EXAMINER, errors.MissingData)  # no reason given
    err = refused(engine, case.id, "request_supplement", CLERK, errors.MissingData, {"supplement_items": " "})
    assert err.fields == {"supplement_items": "required"}
    with pytest.raises(errors.MissingData):  # the opening checks its own required data
        engine.open_case(ITEM, actor=CLERK, data={"request_type": "registration", "channel": "fax"})
    walk(engine, case.id, ("withdraw", CLERK))
    refused(engine, case.id, "accept", CLERK, errors.TransitionNotAllowed)  # closed
