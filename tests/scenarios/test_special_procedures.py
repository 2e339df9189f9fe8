"""特别程序 (行政许可法第四十五条; 令第81号 第三十七条) on the patent infringement adjudication: the
periods the 3 months leave out are typed, approved special procedures — kind, approver and the
expected days declared at the start; the expected end is its own clock that warns once on overrun;
the statutory clock stays paused for exactly the days the procedure took.

Dates hand-checked. 2024 (the penalty): Qingming 04-04 .. 04-06 off, Sun 04-07 a workday; Labour Day
05-01 .. 05-05 off, Sun 04-28 a workday. 2026: 12-02 is a Wednesday. 2027 has no official notice loaded yet, so its rest
days are the law's (《全国年节及纪念日放假办法》): 元旦 Fri 01-01; 春节 除夕 Fri 02-05 to 初三 Mon 02-08,
with 初一 (Sat 02-06) and 初二 (Sun 02-07) given in lieu on Tue 02-09 and Wed 02-10 (第六条): 02-05 ..
02-10 off, Thu 02-11 the first working day; 2027 dates are provisional (暂定).
"""

from datetime import date

import pytest

from tests.scenarios.conftest import (
    CLERK,
    EXAMINER,
    SUPERVISORS,
    audiences,
    escalations,
    ladder,
    refused,
    walk,
)
from workflow import errors

ITEM = "patent_infringement_adjudication"
APPRAISAL = {"kind": "appraisal", "approver": "副局长 刘强", "expected_days": 20}


def examining(engine, freezer):
    """Received Mon 2026-11-30, 立案 Wed 12-02, served Fri 12-04, answered Mon 12-14, its copy
    forwarded Tue 12-15: under examination."""
    case = engine.open_case(ITEM, actor=CLERK, data={
        "requester": "甲科技有限公司", "respondent": "乙制造有限公司", "respondent_domicile": "domestic",
        "patent_number": "ZL201810000006.7", "patent_type": "invention", "claims": "停止制造、销售侵权产品",
    })
    freezer.move_to("2026-12-02 10:00:00+08:00")
    walk(engine, case.id, ("file_case", EXAMINER, {"panel": "王、李、赵"}))
    freezer.move_to("2026-12-04 10:00:00+08:00")
    walk(engine, case.id, ("serve", CLERK, {"served_on": "2026-12-04"}))
    freezer.move_to("2026-12-14 10:00:00+08:00")
    walk(engine, case.id, ("receive_answer", CLERK))
    freezer.move_to("2026-12-15 10:00:00+08:00")
    return walk(engine, case.id, ("forward_answer", CLERK))


@pytest.mark.freeze_time("2026-11-30 10:00:00+08:00")
def test_an_appraisal_across_the_spring_festival(engine, freezer):
    case = examining(engine, freezer)
    # 3 months from Wed 12-02 → Tue 2027-03-02: 29 + 31 + 28 + 2 = 90 natural days
    assert case.clocks["handling"].statutory_due == date(2027, 3, 2)
    assert case.clocks["handling"].statutory_units == 90
    freezer.move_to("2027-01-18 10:00:00+08:00")
    paused = walk(engine, case.id, ("start_appraisal", EXAMINER, APPRAISAL))
    assert paused.state == "appraisal" and paused.clocks["handling"].status == "paused"
    # 47 days used: 12-03 .. 12-31 (29) and 01-01 .. 01-18 (18), the day of the pause counted
    assert paused.clocks["handling"].used_units == 47
    special = paused.clocks["special_procedure"]
    assert (special.kind, special.status, special.limit, special.unit) == ("special", "running", "20 days", "days")
    assert special.label == "特别程序预计期限（鉴定）"
    # 20 natural days (the adjudication counts days and months) from Mon 01-18 → Sun 02-07, in the
    # Spring Festival: the next working day, Thu 02-11 (provisional: 2027's notice is not loaded)
    assert special.statutory_due == date(2027, 2, 11) and special.statutory_provisional
    assert special.commitment_due is None  # an expected time is never compressed
    event = engine.history(case.id)[-1]
    assert event.data["special_procedure"] == {
        "kind": "appraisal", "label": "鉴定", "basis": "《行政许可法》第四十五条", "approver": "副局长 刘强", "expected_days": 20,
        "expected_end": "2027-02-11",
    }
    # the expected end passes: one warning, at 00:00 after the (moved) last day, never again
    ladder(engine, freezer, [("2027-02-12 00:00", [("special_procedure", "overrun")])], case.id)
    late = engine.get_case(case.id)
    assert late.clocks["special_procedure"].sla == "overrun"
    assert late.clocks["handling"].sla == "on_track" and late.clocks["handling"].status == "paused"
    assert late.sla == "overrun"  # the case shows the warning (yellow) while the limit is paused
    assert escalations(engine, case.id) == [("special_procedure", "overrun")]
    # the state has no roles and nobody is assigned: the org's supervisors hear of it
    assert audiences(engine, case.id) == {("special_procedure", "overrun"): SUPERVISORS}
    freezer.move_to("2027-02-22 10:00:00+08:00")
    back = walk(engine, case.id, ("appraisal_done", EXAMINER))
    assert back.clocks["special_procedure"].status == "stopped"
    assert back.clocks["special_procedure"].sla == "overrun"  # ended past its expected end
    # paused 01-19 .. 02-22: 35 days; the last day moves by exactly those: 03-02 + 35 → Tue 04-06
    # (43 days left from Mon 02-22: 02-23 .. 02-28 (6), March (31), 04-01 .. 04-06 (6))
    assert back.clocks["handling"].statutory_due == date(2027, 4, 6)
    assert back.clocks["handling"].paused_spans == ((date(2027, 1, 18), date(2027, 2, 22)),)
    assert back.sla == "on_track"
    assert engine.sweep() == []
    # the case's log, which the monthly report counts: 35 natural days, past the expected end
    assert back.data["_special_procedures"] == [{
        "kind": "appraisal", "started_on": "2027-01-18", "expected_end": "2027-02-11",
        "ended_on": "2027-02-22", "days": 35, "overrun": True,
    }]


@pytest.mark.freeze_time("2026-11-30 10:00:00+08:00")
def test_a_procedure_ended_in_time_never_warns(engine, freezer):
    case = examining(engine, freezer)
    freezer.move_to("2027-01-18 10:00:00+08:00")
    walk(engine, case.id, ("start_settlement", EXAMINER,
                           {"kind": "settlement", "approver": "审查员 王", "expected_days": 10}))
    # 10 days from Mon 01-18 → Thu 01-28
    assert engine.get_case(case.id).clocks["special_procedure"].statutory_due == date(2027, 1, 28)
    freezer.move_to("2027-01-28 16:00:00+08:00")  # the expected last day: still in time
    done = walk(engine, case.id, ("settlement_failed", EXAMINER))
    assert done.clocks["special_procedure"].sla == "met"
    freezer.move_to("2027-01-29 00:00:00+08:00")
    assert [e for e in engine.sweep() if e.clock == "special_procedure"] == []
    # 47 used to 01-18, resumed 01-28: 43 left → 01-28 + 43 = Fri 03-12 (03-02 + 10 paused days)
    assert done.clocks["handling"].statutory_due == date(2027, 3, 12)


@pytest.mark.freeze_time("2026-11-30 10:00:00+08:00")
def test_a_second_procedure_is_a_new_run_and_warns_for_itself(engine, freezer):
    case = examining(engine, freezer)
    freezer.move_to("2027-01-04 10:00:00+08:00")
    walk(engine, case.id, ("start_appraisal", EXAMINER, {**APPRAISAL, "kind": "verification", "expected_days": 3}))
    ladder(engine, freezer, [("2027-01-08 00:00", [("special_procedure", "overrun")])], case.id)  # 01-07 + 1
    freezer.move_to("2027-01-11 10:00:00+08:00")
    walk(engine, case.id, ("appraisal_done", EXAMINER),
         ("suspend", EXAMINER, {"suspension_ground": "invalidation_pending", "kind": "suspension",
                                "approver": "局长 张明", "expected_days": 5}))
    again = engine.get_case(case.id).clocks["special_procedure"]
    assert (again.run, again.label, again.statutory_due) == (2, "特别程序预计期限（中止）", date(2027, 1, 18))
    ladder(engine, freezer, [("2027-01-17 00:00", []), ("2027-01-19 00:00", [("special_procedure", "overrun")])],
           case.id)
    assert escalations(engine, case.id) == [("special_procedure", "overrun")] * 2


@pytest.mark.freeze_time("2026-11-30 10:00:00+08:00")
def test_a_procedure_needs_its_kind_approver_and_expected_days(engine, freezer):
    case = examining(engine, freezer)
    err = refused(engine, case.id, "start_appraisal", EXAMINER, errors.MissingData)
    assert err.fields == {"kind": "required", "approver": "required", "expected_days": "required"}
    err = refused(engine, case.id, "start_appraisal", EXAMINER, errors.MissingData, {**APPRAISAL, "kind": "hearing"})
    assert err.fields == {"kind": "must be one of verification, appraisal"}  # the kinds the step declares
    for days, message in ((0, "must be at least 1"), (366, "must be at most 365")):
        err = refused(engine, case.id, "start_appraisal", EXAMINER, errors.InvalidData,
                      {**APPRAISAL, "expected_days": days})
        assert err.fields == {"expected_days": message}
    # an earlier procedure's kind, approver and days are never taken for a new one
    freezer.move_to("2027-01-04 10:00:00+08:00")
    walk(engine, case.id, ("start_appraisal", EXAMINER, APPRAISAL), ("appraisal_done", EXAMINER))
    err = refused(engine, case.id, "start_settlement", EXAMINER, errors.MissingData)
    assert err.fields == {"kind": "required", "approver": "required", "expected_days": "required"}


@pytest.mark.freeze_time("2024-04-01 10:00:00+08:00")
def test_a_penalty_lead_tested_counts_working_days(engine, freezer):
    """The penalty's 核查 counts 15 working days (《市场监督管理行政处罚程序规定》第十八条), so its
    检测 procedure's expected days are working days too; its basis is the step's own."""
    case = engine.open_case("ip_administrative_penalty", actor=CLERK, data={
        "case_type": "counterfeit_patent", "party": "某五金经营部", "lead_source": "complaint",
        "lead_summary": "产品包装标注已失效专利号"})
    # 15 wd from Mon 04-01: 04-02, 03, 07 (Sun, worked), 08 .. 12, 15 .. 19, 22, 23 → Tue 04-23
    assert case.clocks["verification"].statutory_due == date(2024, 4, 23)
    freezer.move_to("2024-04-02 10:00:00+08:00")
    testing = walk(engine, case.id, ("start_lead_testing", EXAMINER,
                                     {"kind": "testing", "approver": "科长 李娜", "expected_days": 5}))
    special = testing.clocks["special_procedure"]
    # 5 wd from Tue 04-02: 04-03, 04-07 (Sun, worked), 04-08, 04-09, 04-10 → Wed 04-10
    assert (special.unit, special.statutory_due, special.label) == ("working_days", date(2024, 4, 10),
                                                                     "特别程序预计期限（检测）")
    assert engine.history(case.id)[-1].data["special_procedure"]["basis"].startswith(
        "《市场监督管理行政处罚程序规定》第十八条")
    ladder(engine, freezer, [("2024-04-11 00:00", [("special_procedure", "overrun")])], case.id)
    freezer.move_to("2024-04-15 10:00:00+08:00")
    back = walk(engine, case.id, ("lead_testing_done", EXAMINER))
    # paused 04-03 .. 04-15: 8 working days (04-03, 07, 08, 09, 10, 11, 12, 15); 04-23 + 8 wd:
    # 04-24, 25, 26, 28 (Sun, worked), 29, 30, (05-01 .. 05 off) 05-06, 05-07 → Tue 05-07
    assert back.clocks["verification"].statutory_due == date(2024, 5, 7)
    assert back.data["_special_procedures"][-1]["days"] == 13  # natural days, for the report
