"""知识产权纠纷非诉讼解决转介: the office assesses and refers in 5 wd (its own commitment, paused
while the other party is asked to agree); the arbitration commission decides on acceptance within
5 days of receiving the application (仲裁法 第二十四条: an external clock, tracked, never
escalated to staff); a notary or a mediation body is chased for 10 wd (the office's step); the
outcome reported back is recorded within 120 days (the office's commitment)."""

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
    roles,
    told,
    walk,
)
from workflow import errors

ITEM = "adr_referral"

ARBITRATION = {"receiving_body": "武汉仲裁委员会", "agreed_by": "甲公司、乙公司",
               "arbitration_agreement": True, "application_received_on": "2024-04-03"}


def open_referral(engine):
    return engine.open_case(ITEM, actor=CLERK, data={
        "applicant": "甲公司", "other_party": "乙公司", "dispute_type": "ip_contract",
        "preferred_route": "arbitration", "matter": "专利实施许可合同使用费争议",
    })


@pytest.mark.freeze_time("2024-04-01 10:00:00+08:00")
def test_happy_path_referred_to_arbitration_and_outcome_recorded(engine, freezer):
    case = open_referral(engine)
    # Mon 04-01; 04-04..04-06 off, Sun 04-07 a workday. referral 5 wd: 04-02, 03, 07, 08, 09 → 04-09
    assert due(case, "referral") == (date(2024, 4, 9), date(2024, 4, 9))
    assert case.main_clock == "referral"
    walk(engine, case.id, ("accept", CLERK))
    freezer.move_to("2024-04-03 10:00:00+08:00")
    referred = walk(engine, case.id, ("refer_to_arbitration", EXAMINER, ARBITRATION))
    assert referred.state == "awaiting_arbitration_acceptance" and referred.clocks["referral"].sla == "met"
    # 5 days from the commission's receipt on Wed 04-03: 04-04 .. 04-08 → Mon 04-08 (natural days;
    # the holiday counts, the last day is a working day). Another body's time: not compressed.
    assert due(referred, "arbitration_acceptance") == (date(2024, 4, 8), None)
    freezer.move_to("2024-04-08 11:00:00+08:00")
    accepted = walk(engine, case.id, ("body_accepted", CLERK, {"body_accepted_on": "2024-04-08",
                                                                "body_reference": "（2024）武仲字第1号"}))
    assert accepted.state == "with_receiving_body"
    assert accepted.clocks["arbitration_acceptance"].status == "stopped"
    assert accepted.clocks["outcome_record"].status == "running"
    freezer.move_to("2024-06-20 10:00:00+08:00")
    done = walk(engine, case.id, ("report_outcome", CLERK, {"outcome": "arbitral_mediation",
                                                             "outcome_reported_on": "2024-06-20"}))
    assert done.state == "concluded" and done.closed_at is not None and done.sla == "met"
    assert (done.data["receiving_body"], done.data["agreed_by"]) == ("武汉仲裁委员会", "甲公司、乙公司")
    assert engine.sweep() == []


@pytest.mark.freeze_time("2024-04-01 10:00:00+08:00")
def test_waiting_for_the_other_party_pauses_the_referral(engine, freezer):
    case = walk(engine, open_referral(engine).id, ("accept", CLERK))
    freezer.move_to("2024-04-02 10:00:00+08:00")
    paused = walk(engine, case.id, ("seek_consent", EXAMINER, {"consent_requested_on": "2024-04-02"}))
    assert paused.clocks["referral"].status == "paused"
    freezer.move_to("2024-04-10 10:00:00+08:00")
    resumed = walk(engine, case.id, ("consent_given", EXAMINER, {"agreed_by": "乙公司"}))
    # 1 used (04-02); 4 left from Thu 04-11: 04-11, 04-12, 04-15, 04-16 → 04-16
    assert resumed.state == "assessing" and due(resumed, "referral") == (date(2024, 4, 16), date(2024, 4, 16))
    # the consent already given is enough for the referral
    notary = walk(engine, case.id, ("refer_to_notary", EXAMINER, {"receiving_body": "武汉市琴台公证处",
                                                                   "notarial_matter": "evidence_preservation"}))
    assert notary.state == "awaiting_body_acceptance" and notary.data["agreed_by"] == "乙公司"
    # the office chases the notary: 10 wd from Wed 04-10: 04-11 .. 04-24 (no holiday in between)
    assert due(notary, "awaiting_body_acceptance") == (date(2024, 4, 24), date(2024, 4, 24))
    # the notary declines: back to assessing, referred to mediation instead
    back = walk(engine, case.id, ("body_declined", CLERK, {"body_refusal_reason": "不属于公证事项"}))
    assert back.state == "assessing" and back.clocks["awaiting_body_acceptance"].status == "stopped"
    med = walk(engine, case.id, ("refer_to_mediation", EXAMINER, {
        "receiving_body": "本局知识产权纠纷人民调解委员会", "mediation_item": "patent_dispute_mediation"}))
    assert med.state == "awaiting_body_acceptance" and med.data["mediation_item"] == "patent_dispute_mediation"


@pytest.mark.freeze_time("2024-04-01 10:00:00+08:00")
def test_breach_of_the_referral_then_the_commission_silent(engine, freezer):
    case = walk(engine, open_referral(engine).id, ("accept", CLERK))
    ladder(engine, freezer, [
        ("2024-04-08 00:00", [("referral", "warning")]),  # the working day before 04-09
        ("2024-04-10 00:00", [("referral", "overdue"), ("referral", "over_statutory")]),
    ], case.id)
    freezer.move_to("2024-04-10 10:00:00+08:00")
    referred = walk(engine, case.id, ("refer_to_arbitration", EXAMINER,
                                      {**ARBITRATION, "application_received_on": "2024-04-10"}))
    assert referred.clocks["referral"].sla == "met_over_statutory"
    # 5 days from 04-10: 04-11 .. 04-15 (Mon) → expired from 00:00 of 04-16; the clerk is told
    ladder(engine, freezer, [("2024-04-16 00:00", [("arbitration_acceptance", "expired")])], case.id)
    assert escalations(engine, case.id) == [*levels("referral"), ("arbitration_acceptance", "expired")]
    assert audiences(engine, case.id) == {
        **told("referral", "examiner"),
        ("arbitration_acceptance", "expired"): roles("clerk"),
    }
    assert engine.get_case(case.id).state == "awaiting_arbitration_acceptance"  # nothing fired


@pytest.mark.freeze_time("2024-04-01 10:00:00+08:00")
def test_refused_transitions_leave_the_case_unchanged(engine):
    case = open_referral(engine)
    refused(engine, case.id, "refer_to_arbitration", EXAMINER, errors.TransitionNotAllowed, ARBITRATION)
    walk(engine, case.id, ("accept", CLERK))
    # no arbitration agreement: not referred to arbitration
    refused(engine, case.id, "refer_to_arbitration", EXAMINER, errors.TransitionNotAllowed,
            {**ARBITRATION, "application_received_on": "2024-04-01", "arbitration_agreement": False})
    refused(engine, case.id, "refer_to_arbitration", CLERK, errors.Forbidden, ARBITRATION)
    refused(engine, case.id, "refer_to_notary", EXAMINER, errors.MissingData, {"receiving_body": "某公证处"})
    refused(engine, case.id, "report_outcome", CLERK, errors.TransitionNotAllowed,
            {"outcome": "arbitral_award", "outcome_reported_on": "2024-04-01"})
    refused(engine, case.id, "not_refer", SUPERVISOR, errors.MissingData)
    refused(engine, case.id, "not_refer", EXAMINER, errors.Forbidden, {"reason": "对方不同意"})
    # a date of receipt is never ahead of today (04-01), nor before the case's legal start
    err = refused(engine, case.id, "refer_to_arbitration", EXAMINER, errors.InvalidData, ARBITRATION)
    assert err.fields == {"application_received_on": "after today"}
    err = refused(engine, case.id, "refer_to_arbitration", EXAMINER, errors.InvalidData,
                  {**ARBITRATION, "application_received_on": "2024-03-29"})
    assert err.fields == {"application_received_on": "before the case's legal start 2024-04-01"}
    walk(engine, case.id, ("refer_to_arbitration", EXAMINER, {**ARBITRATION, "application_received_on": "2024-04-01"}))
    refused(engine, case.id, "report_outcome", CLERK, errors.TransitionNotAllowed,
            {"outcome": "arbitral_award", "outcome_reported_on": "2024-04-01"})
    refused(engine, case.id, "body_declined", CLERK, errors.MissingData)
