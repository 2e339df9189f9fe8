"""调解协议司法确认: the parties' 30 days from the agreement (party; expiry → 逾期未申请), the
court's 3 days to accept and 15 days to decide, +10 with the president's approval (external:
tracked, never compressed, never escalated to staff); an agreement on IP ownership is refused."""

from datetime import date

import pytest

from tests.scenarios.conftest import (
    APPROVED,
    CLERK,
    EXAMINER,
    LEADER,
    audiences,
    refused,
    roles,
    sweep_at,
    walk,
)
from workflow import errors

ITEM = "judicial_confirmation"


def open_confirmation(engine, subject="infringement_compensation"):
    return engine.open_case(ITEM, actor=CLERK, data={
        "applicants": "甲公司、乙公司", "mediation_org": "武汉知识产权纠纷人民调解委员会",
        "agreement_effective_on": "2024-09-02", "agreement_subject": subject,
        "court": "武汉市中级人民法院", "agreement_amount": 200_000,
    })


@pytest.mark.freeze_time("2024-09-03 10:00:00+08:00")
def test_happy_path_application_acceptance_and_confirmation(engine, freezer):
    case = open_confirmation(engine)
    # the parties' 30 days count from the agreement's effect (Mon 09-02), not from the opening:
    # 10-02 falls in the National Day holiday (10-01..10-07) → moved to Tue 10-08
    period = case.clocks["application_period"]
    assert period.party and period.started_on == date(2024, 9, 2)
    assert period.statutory_due == date(2024, 10, 8) and period.commitment_due is None
    assert case.main_clock == "court_decision"
    freezer.move_to("2024-09-10 10:00:00+08:00")
    filed = walk(engine, case.id, ("file_application", CLERK, {"filed_on": "2024-09-10"}))
    assert filed.clocks["application_period"].sla == "met"
    # the court's 3 days from Tue 09-10 → Fri 09-13 (external: no commitment)
    acceptance = filed.clocks["court_acceptance"]
    assert acceptance.external and (acceptance.statutory_due, acceptance.commitment_due) == (date(2024, 9, 13), None)
    freezer.move_to("2024-09-12 10:00:00+08:00")
    reviewing = walk(engine, case.id, ("court_accepts", CLERK, {"court_case_number": "(2024)鄂01民特12号"}))
    # 15 days from Thu 09-12 → Fri 09-27 (a working day: not moved)
    assert reviewing.clocks["court_decision"].statutory_due == date(2024, 9, 27)
    freezer.move_to("2024-09-26 10:00:00+08:00")
    done = walk(engine, case.id, ("court_confirms", CLERK))
    assert done.state == "confirmed" and done.final
    assert {n: c.sla for n, c in done.clocks.items()} == {
        "application_period": "met", "court_acceptance": "met", "court_decision": "met",
    }
    assert engine.sweep() == []


@pytest.mark.freeze_time("2024-09-03 10:00:00+08:00")
def test_the_parties_period_runs_out_and_the_case_lapses(engine, freezer):
    case = open_confirmation(engine)
    # last day Tue 10-08 (moved off the holiday), no grace: expired at 00:00 of 10-09
    assert sweep_at(engine, freezer, "2024-10-08 23:59") == []
    assert sweep_at(engine, freezer, "2024-10-09 00:00") == [("application_period", "expired")]
    assert engine.sweep() == []
    lapsed = engine.get_case(case.id)
    assert lapsed.state == "lapsed" and lapsed.final
    last = engine.history(case.id)[-1]
    assert (last.trigger, last.actor_id) == ("application_period_lapsed", "system")
    assert audiences(engine, case.id) == {("application_period", "expired"): roles("clerk")}


@pytest.mark.freeze_time("2024-09-10 10:00:00+08:00")
def test_the_courts_periods_are_tracked_never_escalated(engine, freezer):
    case = walk(engine, open_confirmation(engine).id, ("file_application", CLERK))
    # no warning, overdue or over-statutory for another body's time: only `expired`, once
    assert sweep_at(engine, freezer, "2024-09-13 23:59") == []
    assert sweep_at(engine, freezer, "2024-09-14 00:00") == [("court_acceptance", "expired")]
    still = engine.get_case(case.id)
    assert still.state == "application_filed"  # no automatic step: the clerk chases the court
    assert still.clocks["court_acceptance"].sla == "expired"
    freezer.move_to("2024-09-18 10:00:00+08:00")
    walk(engine, case.id, ("court_accepts", CLERK))
    # 15 days from Wed 09-18 → Thu 10-03, a holiday → Tue 10-08; expired at 00:00 of 10-09
    assert sweep_at(engine, freezer, "2024-10-08 23:59") == []
    assert sweep_at(engine, freezer, "2024-10-09 00:00") == [("court_decision", "expired")]
    assert engine.sweep() == []
    assert audiences(engine, case.id) == {
        ("court_acceptance", "expired"): roles("clerk"), ("court_decision", "expired"): roles("clerk"),
    }


@pytest.mark.freeze_time("2024-09-10 10:00:00+08:00")
def test_court_asks_for_materials_then_extends_once(engine, freezer):
    case = walk(engine, open_confirmation(engine).id, ("file_application", CLERK))
    freezer.move_to("2024-09-12 10:00:00+08:00")
    walk(engine, case.id, ("court_accepts", CLERK))
    freezer.move_to("2024-09-20 10:00:00+08:00")
    paused = walk(engine, case.id, ("court_requests_materials", CLERK))
    assert paused.clocks["court_decision"].status == "paused"
    assert paused.clocks["court_decision"].used_units == 8  # 09-13 .. 09-20
    assert sweep_at(engine, freezer, "2024-09-28 00:00") == []  # the old expiry passes quietly
    freezer.move_to("2024-10-08 10:00:00+08:00")
    resumed = walk(engine, case.id, ("materials_submitted", CLERK))
    # 7 days left from Wed 10-09 → Tue 10-15
    assert resumed.clocks["court_decision"].statutory_due == date(2024, 10, 15)
    freezer.move_to("2024-10-10 10:00:00+08:00")
    extended = walk(engine, case.id, ("record_court_extension", CLERK, APPROVED))
    # +10 days (the president's approval): 17 left from 10-09 → Fri 10-25
    assert extended.clocks["court_decision"].statutory_due == date(2024, 10, 25)
    assert extended.clocks["court_decision"].extensions == ("10 days",)
    err = refused(engine, case.id, "record_court_extension", CLERK, errors.TransitionNotAllowed, APPROVED)
    assert "maximum extension" in str(err)  # 10 days at most, refused, never clamped


@pytest.mark.freeze_time("2024-09-10 10:00:00+08:00")
def test_an_extension_after_the_courts_deadline_is_refused(engine, freezer):
    case = walk(engine, open_confirmation(engine).id, ("file_application", CLERK), ("court_accepts", CLERK))
    assert case.clocks["court_decision"].statutory_due == date(2024, 9, 25)  # 15 days from 09-10
    freezer.move_to("2024-09-26 09:00:00+08:00")
    err = refused(engine, case.id, "record_court_extension", CLERK, errors.TransitionNotAllowed, APPROVED)
    assert "has passed" in str(err)


@pytest.mark.freeze_time("2024-09-03 10:00:00+08:00")
def test_an_agreement_on_ip_ownership_is_refused(engine, freezer):
    case = open_confirmation(engine, subject="ownership")
    refused(engine, case.id, "refuse_ownership", EXAMINER, errors.MissingData)  # cite the rule
    done = walk(engine, case.id, ("refuse_ownership", EXAMINER, {"reason": "涉及专利权属确认（民诉法解释第三百五十五条）"}))
    assert done.state == "not_accepted_ownership" and done.final
    assert done.clocks["application_period"].status == "stopped"
    assert sweep_at(engine, freezer, "2024-10-09 00:00") == []  # nothing left to expire
    # an ownership agreement cannot be filed at all (the guard `unless: {agreement_subject: ownership}`)
    other = open_confirmation(engine, subject="ownership")
    err = refused(engine, other.id, "file_application", CLERK, errors.TransitionNotAllowed)
    assert "agreement_subject" in str(err)
    assert "file_application" not in engine.available_triggers(other.id, actor=CLERK)
    # and one found to concern ownership once filed is refused before the court accepts
    filed = walk(engine, open_confirmation(engine, subject="other").id, ("file_application", CLERK))
    out = walk(engine, filed.id, ("refuse_ownership", CLERK, {"reason": "协议内容实际涉及确权"}))
    assert out.state == "not_accepted_ownership" and out.clocks["court_acceptance"].status == "stopped"


@pytest.mark.freeze_time("2024-09-03 10:00:00+08:00")
def test_refused_transitions_leave_the_case_unchanged(engine):
    case = open_confirmation(engine)
    refused(engine, case.id, "application_period_lapsed", CLERK, errors.Forbidden)  # the system's
    refused(engine, case.id, "refuse_ownership", LEADER, errors.Forbidden)
    refused(engine, case.id, "court_confirms", CLERK, errors.TransitionNotAllowed)
    refused(engine, case.id, "file_application", CLERK, errors.MissingData, {"filed_on": "九月十日"})
    with pytest.raises(errors.MissingData):
        engine.open_case(ITEM, actor=CLERK, data={"applicants": "甲、乙", "mediation_org": "某调委会",
                                                  "agreement_subject": "other"})
