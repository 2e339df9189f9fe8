"""专利纠纷调解: notice to the respondent 5 wd from receipt (counted afresh after 补正); the
respondent's 15 d to reply (party, +7 d grace; expiry → 待通知不予立案); 立案 5 wd after consent
(step); 结案 2 m from 立案, +1 m with the head's approval (main); copy to CNIPA 5 wd (step)."""

from datetime import date

import pytest

from tests.scenarios.conftest import (
    APPROVED,
    CLERK,
    EXAMINER,
    LEADER,
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

ITEM = "patent_dispute_mediation"


def open_request(engine):
    return engine.open_case(ITEM, actor=CLERK, data={
        "requester": "甲公司", "respondent": "乙公司", "patent_number": "ZL201910000005.6",
        "dispute_type": "ownership", "claims": "确认专利权归请求人所有",
    })


def served(engine, freezer, case=None):
    """Received Mon 07-01 (or ``case``); notice served Wed 07-03, received by the respondent Thu 07-04."""
    case = case or open_request(engine)
    freezer.move_to("2024-07-04 10:00:00+08:00")  # recorded once received (never ahead)
    return walk(engine, case.id, ("serve_notice", CLERK, {"served_on": "2024-07-04"}))


def mediating(engine, freezer, case=None):
    """Consent received Wed 07-10; 立案 Fri 07-12."""
    case = served(engine, freezer, case)
    freezer.move_to("2024-07-10 10:00:00+08:00")
    walk(engine, case.id, ("receive_consent", CLERK))
    freezer.move_to("2024-07-12 10:00:00+08:00")
    return walk(engine, case.id, ("file_case", EXAMINER, {"mediation_date": "2024-07-19"}))


@pytest.mark.freeze_time("2024-07-01 10:00:00+08:00")
def test_happy_path_to_an_agreement_copied_to_cnipa(engine, freezer):
    case = open_request(engine)
    # Mon 07-01: notice 5 wd → 07-02, 03, 04, 05, 08 → Mon 07-08; commitment 3 wd → Thu 07-04
    assert due(case, "notify") == (date(2024, 7, 8), date(2024, 7, 4))
    case = served(engine, freezer, case)
    assert case.clocks["notify"].sla == "met"
    # the reply period counts from receipt (Thu 07-04): 15 days → Fri 07-19 (never compressed)
    assert case.clocks["reply_period"].statutory_due == date(2024, 7, 19)
    freezer.move_to("2024-07-10 10:00:00+08:00")
    consent = walk(engine, case.id, ("receive_consent", CLERK))
    assert consent.clocks["reply_period"].sla == "met"
    # step: 立案 within 5 wd of the reply (Wed 07-10) → 07-11, 12, 15, 16, 17; commitment → 07-15
    assert due(consent, "consent_received") == (date(2024, 7, 17), date(2024, 7, 15))
    freezer.move_to("2024-07-12 10:00:00+08:00")
    case = walk(engine, case.id, ("file_case", EXAMINER, {"mediation_date": "2024-07-19"}))
    assert case.clocks["consent_received"].sla == "met"
    # 2 months from Fri 07-12 → Thu 09-12; 62 natural days, commitment floor(2/3 × 62) = 41 → 08-22
    assert due(case, "handling") == (date(2024, 9, 12), date(2024, 8, 22))
    freezer.move_to("2024-08-20 10:00:00+08:00")
    agreed = walk(engine, case.id, ("reach_agreement", EXAMINER, {"agreement_summary": "专利权归甲公司"}))
    assert agreed.clocks["handling"].sla == "met"
    assert agreed.clocks["agreement_reached"].statutory_due == date(2024, 8, 27)  # copy: 5 wd
    freezer.move_to("2024-08-22 10:00:00+08:00")
    done = walk(engine, case.id, ("close_agreement", CLERK))
    assert done.state == "agreement_closed" and done.final and done.sla == "met"
    assert engine.sweep() == []  # nothing else was left running


@pytest.mark.freeze_time("2024-07-01 10:00:00+08:00")
def test_supplement_counts_the_notice_period_afresh(engine, freezer):
    case = open_request(engine)
    freezer.move_to("2024-07-03 10:00:00+08:00")
    waiting = walk(engine, case.id, ("request_supplement", CLERK, {"supplement_items": "专利权属证明"}))
    assert waiting.clocks["notify"].status == "paused"
    freezer.move_to("2024-07-08 10:00:00+08:00")
    again = walk(engine, case.id, ("resubmit", CLERK))
    # counted afresh from the complete request (Mon 07-08), the 2 days used before are forgotten:
    # 07-09, 10, 11, 12, 15 → 07-15; commitment 3 wd → 07-11
    assert due(again, "notify") == (date(2024, 7, 15), date(2024, 7, 11))
    assert again.clocks["notify"].started_on == date(2024, 7, 8) and again.clocks["notify"].used_units == 0


@pytest.mark.freeze_time("2024-07-01 10:00:00+08:00")
def test_the_respondent_does_not_reply(engine, freezer):
    case = served(engine, freezer)
    # last day Fri 07-19 + 7 days' grace (post) = 07-26: expired at 00:00 of Sat 07-27
    assert sweep_at(engine, freezer, "2024-07-26 23:59") == []
    assert sweep_at(engine, freezer, "2024-07-27 00:00") == [("reply_period", "expired")]
    pending = engine.get_case(case.id)
    assert pending.state == "refusal_pending"
    assert engine.history(case.id)[-1].actor_id == "system"
    assert audiences(engine, case.id) == {("reply_period", "expired"): roles("clerk")}
    # step: tell the requester within 5 wd of the lapse (Sat 07-27) → 07-29 .. 08-02
    assert pending.clocks["refusal_pending"].statutory_due == date(2024, 8, 2)
    done = walk(engine, case.id, ("notify_refusal", CLERK, {"reason": "被请求人逾期未提交意见陈述书"}))
    assert done.state == "not_filed" and done.clocks["refusal_pending"].sla == "met"


@pytest.mark.freeze_time("2024-07-01 10:00:00+08:00")
def test_breach_of_the_mediation_period(engine, freezer):
    case = mediating(engine, freezer)
    ladder(engine, freezer, [
        ("2024-08-21 00:00", [("handling", "warning")]),
        ("2024-08-23 00:00", [("handling", "overdue")]),
        ("2024-09-13 00:00", [("handling", "over_statutory")]),
    ], case.id)
    assert escalations(engine, case.id) == levels("handling")
    assert audiences(engine, case.id) == told("handling", "examiner")


@pytest.mark.freeze_time("2024-07-01 10:00:00+08:00")
def test_extension_once_with_the_heads_approval(engine, freezer):
    case = mediating(engine, freezer)
    freezer.move_to("2024-09-10 10:00:00+08:00")
    refused(engine, case.id, "extend", EXAMINER, errors.Forbidden, APPROVED)
    longer = walk(engine, case.id, ("extend", LEADER, APPROVED))
    # +1 month on the unmoved day: 3 months from 07-12 → Sat 10-12, a 调休 workday: not moved
    assert longer.clocks["handling"].statutory_due == date(2024, 10, 12)
    err = refused(engine, case.id, "extend", LEADER, errors.TransitionNotAllowed, APPROVED)
    assert "maximum extension of 1 month" in str(err)


@pytest.mark.freeze_time("2024-07-01 10:00:00+08:00")
def test_extension_after_the_deadline_is_refused(engine, freezer):
    case = mediating(engine, freezer)
    freezer.move_to("2024-09-13 09:00:00+08:00")  # the statutory 09-12 has passed
    err = refused(engine, case.id, "extend", LEADER, errors.TransitionNotAllowed, APPROVED)
    assert "has passed" in str(err)


@pytest.mark.freeze_time("2024-07-01 10:00:00+08:00")
def test_refused_transitions_leave_the_case_unchanged(engine, freezer):
    case = served(engine, freezer)
    refused(engine, case.id, "reply_period_lapsed", CLERK, errors.Forbidden)  # the system's
    refused(engine, case.id, "file_case", EXAMINER, errors.TransitionNotAllowed)
    walk(engine, case.id, ("receive_consent", CLERK))
    refused(engine, case.id, "file_case", CLERK, errors.Forbidden)
    refused(engine, case.id, "file_case", EXAMINER, errors.MissingData)
    refused(engine, case.id, "serve_notice", CLERK, errors.TransitionNotAllowed, {"served_on": "2024-07-04"})
