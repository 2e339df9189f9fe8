"""诉前调解（法院委派）: mediation 30 d from accepting the assignment (office, main; longer with
all parties' consent, +30 d each, no cap); appraisal pauses it; the parties' 30 d to apply for
judicial confirmation from the agreement (party; expiry closes the case)."""

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
    sweep_at,
    told,
    walk,
)
from workflow import errors

ITEM = "pre_litigation_mediation"


def open_mediation(engine):
    return engine.open_case(ITEM, actor=CLERK, data={
        "court": "武汉市中级人民法院", "court_reference": "(2024)鄂01民诉前调345号",
        "plaintiff": "甲公司", "defendant": "乙公司", "dispute_type": "patent_infringement",
        "claim_amount": 1_000_000,
    })


def mediating(engine, freezer):
    case = open_mediation(engine)  # received Fri 03-01
    freezer.move_to("2024-03-04 10:00:00+08:00")
    return walk(engine, case.id, ("accept_assignment", EXAMINER))


@pytest.mark.freeze_time("2024-03-01 10:00:00+08:00")
def test_happy_path_agreement_and_application_for_confirmation(engine, freezer):
    case = mediating(engine, freezer)
    # 30 days from Mon 03-04 → Wed 04-03 (a working day; 04-04..04-06 are Qingming);
    # commitment floor(2/3 × 30) = 20 days → Sun 03-24, a rest day → Mon 03-25
    assert due(case, "mediation_period") == (date(2024, 4, 3), date(2024, 3, 25))
    freezer.move_to("2024-03-20 15:00:00+08:00")
    agreed = walk(engine, case.id, ("reach_agreement", EXAMINER,
                                    {"agreement_effective_on": "2024-03-20", "settled_amount": 400_000}))
    assert agreed.clocks["mediation_period"].sla == "met"
    # the parties' 30 days from the agreement (Wed 03-20) → Fri 04-19
    assert agreed.clocks["confirmation_window"].statutory_due == date(2024, 4, 19)
    freezer.move_to("2024-04-01 10:00:00+08:00")
    done = walk(engine, case.id, ("apply_for_confirmation", CLERK))
    assert done.state == "confirmation_applied" and done.final
    assert done.clocks["confirmation_window"].sla == "met" and done.sla == "met"


@pytest.mark.freeze_time("2024-03-01 10:00:00+08:00")
def test_the_parties_do_not_apply_and_the_case_closes_itself(engine, freezer):
    case = mediating(engine, freezer)
    freezer.move_to("2024-03-20 15:00:00+08:00")
    walk(engine, case.id, ("reach_agreement", EXAMINER, {"agreement_effective_on": "2024-03-20"}))
    # last day Fri 04-19, no grace: expired at 00:00 of Sat 04-20
    assert sweep_at(engine, freezer, "2024-04-19 23:59") == []
    assert sweep_at(engine, freezer, "2024-04-20 00:00") == [("confirmation_window", "expired")]
    closed = engine.get_case(case.id)
    assert closed.state == "agreement_closed" and closed.final
    last = engine.history(case.id)[-1]
    assert (last.trigger, last.actor_id) == ("confirmation_window_lapsed", "system")
    assert audiences(engine, case.id) == {("confirmation_window", "expired"): roles("clerk")}


@pytest.mark.freeze_time("2024-03-01 10:00:00+08:00")
def test_appraisal_pauses_the_mediation_period(engine, freezer):
    case = mediating(engine, freezer)
    freezer.move_to("2024-03-11 10:00:00+08:00")
    paused = walk(engine, case.id, ("start_appraisal", EXAMINER))
    assert paused.clocks["mediation_period"].status == "paused"
    assert paused.clocks["mediation_period"].used_units == 7  # 03-05 .. 03-11
    freezer.move_to("2024-04-08 10:00:00+08:00")
    resumed = walk(engine, case.id, ("appraisal_done", EXAMINER))
    # 23 days left from Tue 04-09 → Wed 05-01 (Labour Day) → Mon 05-06;
    # commitment 20 days: 13 left → Sun 04-21 → Mon 04-22
    assert due(resumed, "mediation_period") == (date(2024, 5, 6), date(2024, 4, 22))


@pytest.mark.freeze_time("2024-03-01 10:00:00+08:00")
def test_breach_and_extensions_with_the_parties_consent(engine, freezer):
    case = mediating(engine, freezer)
    ladder(engine, freezer, [
        ("2024-03-22 00:00", [("mediation_period", "warning")]),  # Fri: the working day before 03-25
        ("2024-03-26 00:00", [("mediation_period", "overdue")]),
    ])
    freezer.move_to("2024-03-29 10:00:00+08:00")
    consent = {"parties_consent": True, "reason": "双方均同意继续调解"}  # agreed: no approver
    extended = walk(engine, case.id, ("extend_by_agreement", EXAMINER, consent))
    # 60 days from 03-04 → Fri 05-03 (Labour Day) → Mon 05-06; the commitment follows the new
    # limit: 40 days → Sat 04-13 → Mon 04-15. The overdue already fired stays on the record.
    assert due(extended, "mediation_period") == (date(2024, 5, 6), date(2024, 4, 15))
    assert escalations(engine, case.id) == levels("mediation_period")[:2]
    twice = walk(engine, case.id, ("extend_by_agreement", EXAMINER, consent))  # no cap in the rule
    assert twice.clocks["mediation_period"].extensions == ("30 days", "30 days")
    # 90 days from 03-04 → Sun 06-02 → Mon 06-03
    assert twice.clocks["mediation_period"].statutory_due == date(2024, 6, 3)
    ladder(engine, freezer, [("2024-06-04 00:00", [("mediation_period", "over_statutory")])])
    assert audiences(engine, case.id) == told("mediation_period", "examiner")
    freezer.move_to("2024-06-05 10:00:00+08:00")
    refused(engine, case.id, "extend_by_agreement", EXAMINER, errors.TransitionNotAllowed, consent)


@pytest.mark.freeze_time("2024-03-01 10:00:00+08:00")
def test_refused_transitions_leave_the_case_unchanged(engine, freezer):
    case = open_mediation(engine)
    refused(engine, case.id, "decline_assignment", CLERK, errors.Forbidden)
    refused(engine, case.id, "decline_assignment", SUPERVISOR, errors.MissingData)
    refused(engine, case.id, "reach_agreement", EXAMINER, errors.TransitionNotAllowed)
    walk(engine, case.id, ("accept_assignment", CLERK))
    refused(engine, case.id, "reach_agreement", EXAMINER, errors.MissingData)
    refused(engine, case.id, "extend_by_agreement", EXAMINER, errors.MissingData)  # consent recorded
    # the parties agreed it: the reason is still needed, no approver is
    err = refused(engine, case.id, "extend_by_agreement", EXAMINER, errors.MissingData, {"parties_consent": True})
    assert err.fields == {"reason": "required"}
    refused(engine, case.id, "confirmation_window_lapsed", CLERK, errors.TransitionNotAllowed)
