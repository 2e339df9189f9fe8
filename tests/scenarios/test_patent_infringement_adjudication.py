"""专利侵权纠纷行政裁决 (令第81号): 立案 5 wd from receipt (+5 wd, head; afresh after 补正);
service 5 wd (step); the respondent's 15 d / 30 d from receipt (party, +7 d grace; expiry → 审理);
the answer copy 5 wd (step); the evidence period ≥ 15 d (party); 结案 3 m from 立案 (main; +1 m
head, +2 m next-higher department, 3 m at most), not counting 中止, 公告, 鉴定, 管辖异议, 和解;
publication 20 wd from the decision (step)."""

from datetime import date

import pytest

# the SQL tables, imported before a test freezes time: built under freezegun, their models fail on
# FakeDatetime (the version-2 test builds a SQLite engine; it failed when api was imported first)
import adapters.sql.tables  # noqa: F401
from tests.scenarios.conftest import (
    APPROVED,
    CLERK,
    EXAMINER,
    LEADER,
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

ITEM = "patent_infringement_adjudication"
# what every excluded period (第三十七条) carries as a special procedure: its approver, expected days
SPECIAL = {"approver": "副局长 刘强", "expected_days": 60}


def open_request(engine, domicile="domestic"):
    return engine.open_case(ITEM, actor=CLERK, data={
        "requester": "甲科技有限公司", "respondent": "乙制造有限公司", "respondent_domicile": domicile,
        "patent_number": "ZL201810000006.7", "patent_type": "invention", "claims": "停止制造、销售侵权产品",
    })


def filed(engine, freezer, domicile="domestic", case=None):
    """Request received Mon 07-01 (or ``case``); 立案 Wed 07-03."""
    case = case or open_request(engine, domicile)
    freezer.move_to("2024-07-03 10:00:00+08:00")
    return walk(engine, case.id, ("file_case", EXAMINER, {"panel": "王、李、赵"}))


def answering(engine, freezer, domicile="domestic", case=None):
    """Copy sent Fri 07-05, received by the respondent Mon 07-08."""
    case = filed(engine, freezer, domicile, case)
    freezer.move_to("2024-07-08 10:00:00+08:00")  # recorded when the receipt is back (never ahead)
    return walk(engine, case.id, ("serve", CLERK, {"served_on": "2024-07-08"}))


def examining(engine, freezer, case=None):
    """Answer received Fri 07-19, its copy forwarded Mon 07-22."""
    case = answering(engine, freezer, case=case)
    freezer.move_to("2024-07-19 10:00:00+08:00")
    walk(engine, case.id, ("receive_answer", CLERK))
    freezer.move_to("2024-07-22 10:00:00+08:00")
    return walk(engine, case.id, ("forward_answer", CLERK))


@pytest.mark.freeze_time("2024-07-01 10:00:00+08:00")
def test_happy_path_from_request_to_published_decision(engine, freezer):
    case = open_request(engine)
    # Mon 07-01: 立案 5 wd → 07-02, 03, 04, 05, 08 → 07-08; commitment 3 wd → 07-04
    assert due(case, "filing") == (date(2024, 7, 8), date(2024, 7, 4))
    case = filed(engine, freezer, case=case)
    assert case.clocks["filing"].sla == "met"
    # step: serve within 5 wd of 立案 (Wed 07-03) → 07-04, 05, 08, 09, 10 → 07-10
    assert due(case, "filed") == (date(2024, 7, 10), date(2024, 7, 8))
    # 3 months from 07-03 → 10-03, National Day → Tue 10-08; 92 natural days to 10-03,
    # commitment floor(2/3 × 92) = 61 days → Mon 09-02
    assert due(case, "handling") == (date(2024, 10, 8), date(2024, 9, 2))
    freezer.move_to("2024-07-08 10:00:00+08:00")  # the receipt is back: service recorded
    case = walk(engine, case.id, ("serve", CLERK, {"served_on": "2024-07-08"}))
    assert case.clocks["filed"].sla == "met"
    # 15 days from receipt (Mon 07-08) → Tue 07-23: the respondent's, never compressed
    assert due(case, "answer_period") == (date(2024, 7, 23), None)
    freezer.move_to("2024-07-19 10:00:00+08:00")
    walk(engine, case.id, ("receive_answer", CLERK))
    freezer.move_to("2024-07-22 10:00:00+08:00")
    case = walk(engine, case.id, ("forward_answer", CLERK))
    assert case.clocks["answer_period"].sla == "met" and case.clocks["answer_received"].sla == "met"
    freezer.move_to("2024-07-29 10:00:00+08:00")
    walk(engine, case.id, ("schedule_hearing", EXAMINER, {"hearing_date": "2024-08-12"}))
    freezer.move_to("2024-08-12 16:00:00+08:00")
    walk(engine, case.id, ("hold_hearing", EXAMINER))
    freezer.move_to("2024-08-26 10:00:00+08:00")
    decided = walk(engine, case.id, ("decide", LEADER, {"outcome": "infringement_found", "decision_number": "鄂知裁〔2024〕3号"}))
    assert decided.clocks["handling"].sla == "met"
    # step: publish within 20 wd of Mon 08-26: 08-27 .. 09-13 (14), Sat 09-14 (调休, 15),
    # (09-15..09-17 off) 09-18, 19, 20, 23, 24 → 09-24
    assert decided.clocks["decided"].statutory_due == date(2024, 9, 24)
    freezer.move_to("2024-09-10 10:00:00+08:00")
    done = walk(engine, case.id, ("publish", CLERK, {"published_on": "2024-09-10"}))
    assert done.state == "published" and done.final and done.sla == "met"
    assert engine.sweep() == []


@pytest.mark.freeze_time("2024-07-01 10:00:00+08:00")
def test_a_respondent_abroad_has_thirty_days(engine, freezer):
    case = answering(engine, freezer, domicile="abroad")
    assert case.clocks["answer_period"].limit == "30 days"
    assert case.clocks["answer_period"].statutory_due == date(2024, 8, 7)  # 07-08 + 30, a Wednesday


@pytest.mark.freeze_time("2024-07-01 10:00:00+08:00")
def test_supplement_counts_filing_afresh(engine, freezer):
    case = open_request(engine)
    freezer.move_to("2024-07-02 10:00:00+08:00")
    walk(engine, case.id, ("request_supplement", CLERK,
                           {"supplement_items": "专利权评价报告", "supplement_deadline": "2024-07-09"}))
    freezer.move_to("2024-07-10 10:00:00+08:00")
    again = walk(engine, case.id, ("resubmit", CLERK))
    # counted afresh from the complete request (Wed 07-10): 07-11, 12, 15, 16, 17; commitment → 07-15
    assert due(again, "filing") == (date(2024, 7, 17), date(2024, 7, 15))
    assert again.clocks["filing"].used_units == 0


@pytest.mark.freeze_time("2024-07-01 10:00:00+08:00")
def test_suspension_while_an_invalidation_is_pending(engine, freezer):
    case = examining(engine, freezer)
    freezer.move_to("2024-08-01 10:00:00+08:00")
    paused = walk(engine, case.id, ("suspend", EXAMINER, {"suspension_ground": "invalidation_pending",
                                                           **SPECIAL, "kind": "suspension"}))
    assert paused.clocks["handling"].status == "paused" and paused.clocks["handling"].used_units == 29
    assert sweep_at(engine, freezer, "2024-09-03 00:00") == []  # the old overdue instant
    freezer.move_to("2024-09-20 10:00:00+08:00")
    back = walk(engine, case.id, ("resume", EXAMINER))
    # 29 of 92 days used (07-04 .. 08-01): 63 left from Sat 09-21 → Fri 11-22;
    # commitment 61: 32 left → Tue 10-22
    assert due(back, "handling") == (date(2024, 11, 22), date(2024, 10, 22))
    assert back.clocks["handling"].paused_spans == ((date(2024, 8, 1), date(2024, 9, 20)),)


@pytest.mark.freeze_time("2024-07-01 10:00:00+08:00")
def test_the_respondent_does_not_answer(engine, freezer):
    case = answering(engine, freezer)
    # last day Tue 07-23 + 7 days' grace = 07-30: expired at 00:00 of Wed 07-31
    assert sweep_at(engine, freezer, "2024-07-30 23:59", case.id) == []
    assert sweep_at(engine, freezer, "2024-07-31 00:00", case.id) == [("answer_period", "expired")]
    assert engine.sweep() == []
    moved = engine.get_case(case.id)
    assert moved.state == "under_examination"  # 逾期不答辩不影响处理
    last = engine.history(case.id)[-1]
    assert (last.trigger, last.actor_id) == ("answer_period_lapsed", "system")
    assert audiences(engine, case.id)[("answer_period", "expired")] == roles("clerk")


@pytest.mark.freeze_time("2024-07-01 10:00:00+08:00")
def test_the_evidence_period_runs_out(engine, freezer):
    case = examining(engine, freezer)
    freezer.move_to("2024-08-01 10:00:00+08:00")  # recorded once received (a receipt is never ahead)
    waiting = walk(engine, case.id, ("set_evidence_period", EXAMINER,
                                     {"evidence_period": "20", "evidence_notice_received_on": "2024-08-01"}))
    # 20 days chosen in the notice, from receipt (Thu 08-01) → Wed 08-21; + 7 days' grace → 08-28
    assert waiting.clocks["evidence_period"].statutory_due == date(2024, 8, 21)
    assert sweep_at(engine, freezer, "2024-08-28 23:59", case.id) == []
    assert sweep_at(engine, freezer, "2024-08-29 00:00", case.id) == [("evidence_period", "expired")]
    assert engine.get_case(case.id).state == "under_examination"
    assert audiences(engine, case.id)[("evidence_period", "expired")] == roles("clerk", "examiner")


@pytest.mark.freeze_time("2024-07-01 10:00:00+08:00")
def test_a_step_runs_over_while_the_case_is_on_time(engine, freezer):
    case = filed(engine, freezer)  # never served
    ladder(engine, freezer, [
        ("2024-07-05 00:00", [("filed", "warning")]),  # commitment 07-08: warn from Fri 07-05
        ("2024-07-09 00:00", [("filed", "overdue")]),
        ("2024-07-11 00:00", [("filed", "over_statutory")]),  # past the 5 wd (07-10)
    ], case.id)
    late = engine.get_case(case.id)
    assert late.clocks["handling"].sla == "on_track" and late.clocks["filed"].sla == "over_statutory"
    assert audiences(engine, case.id) == told("filed", "clerk")


@pytest.mark.freeze_time("2024-07-01 10:00:00+08:00")
def test_breach_of_the_case_duration(engine, freezer):
    case = examining(engine, freezer)
    ladder(engine, freezer, [
        ("2024-08-30 00:00", [("handling", "warning")]),  # Fri: the working day before Mon 09-02
        ("2024-09-03 00:00", [("handling", "overdue")]),
        ("2024-10-09 00:00", [("handling", "over_statutory")]),  # past Tue 10-08
    ], case.id)
    assert [x for x in escalations(engine, case.id) if x[0] == "handling"] == levels("handling")
    assert {k: v for k, v in audiences(engine, case.id).items() if k[0] == "handling"} == told("handling", "examiner")


@pytest.mark.freeze_time("2024-07-01 10:00:00+08:00")
def test_filing_extension_once_with_the_heads_approval(engine, freezer):
    case = open_request(engine)
    freezer.move_to("2024-07-05 10:00:00+08:00")
    reason = APPROVED  # one reason (v3): the transition's own field is the implied reason
    refused(engine, case.id, "extend_filing", EXAMINER, errors.Forbidden, reason)
    err = refused(engine, case.id, "extend_filing", LEADER, errors.MissingData)
    assert sorted(err.fields) == ["approver", "reason"]
    fields = engine.definition(ITEM).transition("extend_filing", "received").fields
    assert [f.name for f in fields] == ["reason", "approver"]
    longer = walk(engine, case.id, ("extend_filing", LEADER, reason))
    # 10 wd from Mon 07-01 → 07-15; commitment floor(2/3 × 10) = 6 wd → 07-09
    assert due(longer, "filing") == (date(2024, 7, 15), date(2024, 7, 9))
    err = refused(engine, case.id, "extend_filing", LEADER, errors.TransitionNotAllowed, reason)
    assert "maximum extension of 5 working days" in str(err)


@pytest.mark.freeze_time("2024-07-01 10:00:00+08:00")
def test_case_extensions_head_then_higher_department_three_months_at_most(engine, freezer):
    case = examining(engine, freezer)
    freezer.move_to("2024-10-08 10:00:00+08:00")  # the last day: still in time
    refused(engine, case.id, "extend_by_head", EXAMINER, errors.Forbidden, APPROVED)
    head = walk(engine, case.id, ("extend_by_head", SUPERVISOR, APPROVED))
    # +1 month on the unmoved day: 4 months from 07-03 → Sun 11-03 → Mon 11-04
    assert head.clocks["handling"].statutory_due == date(2024, 11, 4)
    # the head approves one month, once (第三十七条); more needs the next-higher department
    err = refused(engine, case.id, "extend_by_head", LEADER, errors.TransitionNotAllowed, APPROVED)
    assert "1 time(s) per case" in str(err)
    ref = {"higher_approval_ref": "鄂知保〔2024〕21号", **APPROVED}
    refused(engine, case.id, "extend_by_higher_department", SUPERVISOR, errors.Forbidden, ref)
    refused(engine, case.id, "extend_by_higher_department", LEADER, errors.MissingData)
    higher = walk(engine, case.id, ("extend_by_higher_department", LEADER, ref))
    # +2 months: 6 months from 07-03 → Fri 2025-01-03 (only 01-01 is off)
    assert higher.clocks["handling"].statutory_due == date(2025, 1, 3)
    assert higher.clocks["handling"].extensions == ("1 month", "2 months")
    err = refused(engine, case.id, "extend_by_higher_department", LEADER, errors.TransitionNotAllowed, ref)
    assert "maximum extension of 3 months" in str(err)


@pytest.mark.freeze_time("2024-07-01 10:00:00+08:00")
def test_an_extension_after_the_deadline_is_refused(engine, freezer):
    case = examining(engine, freezer)
    freezer.move_to("2024-10-09 09:00:00+08:00")
    err = refused(engine, case.id, "extend_by_head", LEADER, errors.TransitionNotAllowed, APPROVED)
    assert "has passed" in str(err)


@pytest.mark.freeze_time("2024-07-01 10:00:00+08:00")
def test_refused_transitions_leave_the_case_unchanged(engine, freezer):
    case = open_request(engine)
    refused(engine, case.id, "file_case", CLERK, errors.Forbidden)
    refused(engine, case.id, "file_case", EXAMINER, errors.MissingData)  # the panel
    refused(engine, case.id, "decide", LEADER, errors.TransitionNotAllowed)
    answering(engine, freezer, case=case)
    refused(engine, case.id, "answer_period_lapsed", CLERK, errors.Forbidden)  # the system's
    freezer.move_to("2024-07-19 10:00:00+08:00")
    walk(engine, case.id, ("receive_answer", CLERK), ("forward_answer", CLERK))
    err = refused(engine, case.id, "set_evidence_period", EXAMINER, errors.MissingData,
                  {"evidence_period": "10", "evidence_notice_received_on": "2024-07-19"})
    assert err.fields == {"evidence_period": "must be one of 15, 20, 30"}  # at least 15 days
    refused(engine, case.id, "suspend", EXAMINER, errors.MissingData,
            {"suspension_ground": "tired", **SPECIAL, "kind": "suspension"})


@pytest.mark.freeze_time("2024-07-01 10:00:00+08:00")
def test_a_case_on_version_2_keeps_its_two_reasons_after_the_upgrade(tmp_path, freezer):
    """Version 3 (and 4) asks one reason for the filing extension; a case opened on version 2 (its own
    field and the implied reason) still loads from the database and keeps its version's rule."""
    from pathlib import Path

    from adapters import build_engine

    shipped = Path(__file__).resolve().parents[2] / "definitions" / f"{ITEM}.yaml"
    text = shipped.read_text(encoding="utf-8")
    one = "      - {name: reason, type: text, label: 延长理由（案情特别复杂或其他特殊情况）, required: true}\n"
    assert "version: 4 " in text and one in text
    v2 = tmp_path / "v2" / f"{ITEM}.yaml"
    v2.parent.mkdir()
    v2.write_text(text.replace("version: 4 ", "version: 2 ", 1).replace(
        one, "      - {name: filing_extension_reason, type: text, label: 案情特别复杂或其他特殊情况, required: true}\n"),
        encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    old = build_engine(url, definitions=[v2])
    case = open_request(old)
    assert case.definition_version == 2
    old.store.dispose()
    new = build_engine(url, definitions=[shipped])
    try:
        assert [d.version for d in new.definitions() if d.id == ITEM] == [2, 4]
        assert open_request(new).definition_version == 4
        freezer.move_to("2024-07-05 10:00:00+08:00")
        err = refused(new, case.id, "extend_filing", LEADER, errors.MissingData, APPROVED)
        assert list(err.fields) == ["filing_extension_reason"]
        longer = walk(new, case.id, ("extend_filing", LEADER, {"filing_extension_reason": "涉及多项专利", **APPROVED}))
        assert longer.definition_version == 2
        assert due(longer, "filing") == (date(2024, 7, 15), date(2024, 7, 9))
    finally:
        new.store.dispose()
