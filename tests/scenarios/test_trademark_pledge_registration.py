"""注册商标专用权质押登记: review before acceptance 5 wd (office), certificate 2 wd from
registration (main), the applicant's 补正 30 d from receipt of the notice (+7 d grace)."""

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
    roles,
    sweep_at,
    told,
    walk,
)
from workflow import errors

ITEM = "trademark_pledge_registration"


def open_pledge(engine):
    return engine.open_case(ITEM, actor=CLERK, data={
        "request_type": "registration", "channel": "online", "pledgor": "某商贸有限公司",
        "pledgee": "某农商行", "trademark_numbers": "12345678,12345679", "trademark_count": 2,
    })


@pytest.mark.freeze_time("2024-04-03 10:00:00+08:00")
def test_happy_path_across_qingming(engine, freezer):
    case = open_pledge(engine)
    # received Wed 04-03. 04-04..04-06 Qingming off; Sun 04-07 is a workday.
    # acceptance 5 wd: 04-07 1, 04-08 2, 04-09 3, 04-10 4, 04-11 5 → 04-11; commitment 3 wd → 04-09
    assert due(case, "acceptance") == (date(2024, 4, 11), date(2024, 4, 9))
    assert case.clocks["certificate"].status == "not_started"
    freezer.move_to("2024-04-07 09:00:00+08:00")
    walk(engine, case.id, ("accept", CLERK))
    freezer.move_to("2024-04-09 16:00:00+08:00")
    registered = walk(engine, case.id, ("register", EXAMINER))
    assert registered.clocks["acceptance"].sla == "met"
    # certificate 2 wd from registration on Tue 04-09: 04-10 1, 04-11 2 → 04-11;
    # commitment floor(2/3 × 2) = 1 wd → 04-10
    assert due(registered, "certificate") == (date(2024, 4, 11), date(2024, 4, 10))
    freezer.move_to("2024-04-10 10:00:00+08:00")
    done = walk(engine, case.id, ("issue_certificate", CLERK, {"certificate_number": "质字2024-001"}))
    assert done.state == "certificate_issued" and done.final
    assert done.clocks["certificate"].sla == "met" and done.sla == "met"
    assert engine.sweep() == []


@pytest.mark.freeze_time("2024-04-01 10:00:00+08:00")
def test_supplement_pauses_acceptance_while_the_applicants_period_runs(engine, freezer):
    case = open_pledge(engine)
    # Mon 04-01: 5 wd → 04-02, 04-03, (Qingming), 04-07, 04-08, 04-09; commitment 3 wd → 04-07
    assert due(case, "acceptance") == (date(2024, 4, 9), date(2024, 4, 7))
    freezer.move_to("2024-04-02 10:00:00+08:00")
    paused = walk(engine, case.id, ("accept", CLERK), ("request_supplement", EXAMINER, {
        "supplement_items": "质押合同签章页", "notice_received_on": "2024-04-02"}))
    assert paused.clocks["acceptance"].status == "paused" and paused.clocks["acceptance"].used_units == 1
    # the applicant's 30 days count from receipt of the notice (Tue 04-02, handed over at the window; a
    # receipt is never recorded ahead): 05-02 is a Labour Day
    # holiday (05-01..05-05 off) → moved to Mon 05-06; the office's 7-day grace → 05-13
    period = paused.clocks["supplement_period"]
    assert period.party and period.statutory_due == date(2024, 5, 6) and period.commitment_due is None
    assert sweep_at(engine, freezer, "2024-04-10 00:00") == []  # acceptance's old instants pass quietly
    freezer.move_to("2024-04-12 11:00:00+08:00")
    resumed = walk(engine, case.id, ("resubmit", CLERK))
    # 1 wd used (04-02); 4 left from Sat 04-13: 04-15, 04-16, 04-17, 04-18; commitment 3 → 04-16
    assert due(resumed, "acceptance") == (date(2024, 4, 18), date(2024, 4, 16))
    assert resumed.clocks["supplement_period"].sla == "met"
    ladder(engine, freezer, [
        ("2024-04-15 00:00", [("acceptance", "warning")]),
        ("2024-04-17 00:00", [("acceptance", "overdue")]),
        ("2024-04-19 00:00", [("acceptance", "over_statutory")]),
    ])


@pytest.mark.freeze_time("2024-04-02 10:00:00+08:00")
def test_supplement_period_runs_out_and_the_system_moves_the_case(engine, freezer):
    case = walk(engine, open_pledge(engine).id, ("accept", CLERK), ("request_supplement", EXAMINER, {
        "supplement_items": "质押合同签章页", "notice_received_on": "2024-04-02"}))
    assert case.clocks["supplement_period"].expires_at.isoformat() == "2024-05-14T00:00:00+08:00"
    # last day 05-06 (moved off Labour Day) + 7 days grace = 05-13: expired at 00:00 of 05-14
    assert sweep_at(engine, freezer, "2024-05-13 23:59") == []
    assert sweep_at(engine, freezer, "2024-05-14 00:00") == [("supplement_period", "expired")]
    assert engine.sweep() == []
    lapsed = engine.get_case(case.id)
    assert lapsed.state == "supplement_overdue"
    last = engine.history(case.id)[-1]
    assert (last.kind, last.trigger, last.actor_id) == ("transition", "supplement_lapsed", "system")
    assert lapsed.clocks["supplement_period"].sla == "expired"
    assert audiences(engine, case.id) == {("supplement_period", "expired"): roles("clerk")}
    # the examiner decides now: acceptance runs again from the lapse (Tue 05-14); nothing was used
    # (received and sent back the same day), so 5 wd from Wed 05-15: 05-15, 16, 17, 20, 21;
    # commitment 3 wd → 05-17
    assert lapsed.clocks["acceptance"].status == "running"
    assert due(lapsed, "acceptance") == (date(2024, 5, 21), date(2024, 5, 17))
    done = walk(engine, case.id, ("refuse", EXAMINER, {"reason": "逾期未补正"}))
    assert done.state == "refused" and done.clocks["acceptance"].sla == "met"


@pytest.mark.freeze_time("2024-04-22 10:00:00+08:00")
def test_breach_of_acceptance_and_of_the_certificate(engine, freezer):
    case = walk(engine, open_pledge(engine).id, ("accept", CLERK))
    # Mon 04-22: 5 wd → 04-23, 04-24, 04-25, 04-26, Sun 04-28 (调休 workday) → 04-28;
    # commitment 3 wd → 04-25; warning from 04-24 00:00
    assert due(case, "acceptance") == (date(2024, 4, 28), date(2024, 4, 25))
    ladder(engine, freezer, [
        ("2024-04-24 00:00", [("acceptance", "warning")]),
        ("2024-04-26 00:00", [("acceptance", "overdue")]),
        ("2024-04-29 00:00", [("acceptance", "over_statutory")]),
    ])
    freezer.move_to("2024-04-30 10:00:00+08:00")
    late = walk(engine, case.id, ("register", EXAMINER))
    assert late.clocks["acceptance"].sla == "met_over_statutory"
    # certificate from Tue 04-30: 05-01..05-05 off → Mon 05-06 1, Tue 05-07 2; commitment 1 wd
    # → 05-06, whose previous working day is 04-30, the start day: no yellow at birth, the
    # warning comes at 00:00 of 05-06
    assert due(late, "certificate") == (date(2024, 5, 7), date(2024, 5, 6))
    assert late.clocks["certificate"].sla == "on_track"
    assert sweep_at(engine, freezer, "2024-04-30 10:01") == []
    ladder(engine, freezer, [
        ("2024-05-06 00:00", [("certificate", "warning")]),
        ("2024-05-07 00:00", [("certificate", "overdue")]),
        ("2024-05-08 00:00", [("certificate", "over_statutory")]),
    ])
    assert escalations(engine, case.id) == [
        *levels("acceptance"),
        *levels("certificate"),
    ]
    assert audiences(engine, case.id) == {
        **told("acceptance", "examiner"),
        **told("certificate", "clerk"),  # registered: the window issues the certificate
    }


@pytest.mark.freeze_time("2024-04-22 10:00:00+08:00")
def test_refused_transitions_leave_the_case_unchanged(engine):
    case = walk(engine, open_pledge(engine).id, ("accept", CLERK))
    refused(engine, case.id, "register", CLERK, errors.Forbidden)
    refused(engine, case.id, "issue_certificate", CLERK, errors.TransitionNotAllowed)
    refused(engine, case.id, "request_supplement", EXAMINER, errors.MissingData,
            {"supplement_items": "签章页"})  # the date of receipt starts the party's period
    err = refused(engine, case.id, "request_supplement", EXAMINER, errors.MissingData,
                  {"supplement_items": "签章页", "notice_received_on": "四月三日"})
    assert err.fields == {"notice_received_on": "must be a date (YYYY-MM-DD)"}
    walk(engine, case.id, ("request_supplement", EXAMINER, {
        "supplement_items": "签章页", "notice_received_on": "2024-04-22"}))
    refused(engine, case.id, "supplement_lapsed", CLERK, errors.Forbidden)  # the system's alone
