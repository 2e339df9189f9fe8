"""一次性告知 (行政许可法第三十二条): materials received, the office must send the 补正 notice (or
accept, or refuse) within five working days (第八十二条); if it does not, the case counts as
accepted from the receipt day: the engine records it once (``deemed_accepted``), moves the case as
the acceptance would, and tells the supervisors.

Dates hand-checked against the official 2024 calendar (tests/scenarios/conftest.py lists the days):
National Day 10-01..10-07 off, Sun 09-29 and Sat 10-12 workdays; Spring Festival 02-10..02-17 off,
Sun 02-18 a workday.
"""

from __future__ import annotations

import textwrap
from datetime import date

import pytest

from adapters import build_engine
from tests.scenarios.conftest import (
    CLERK,
    EXAMINER,
    SUPERVISORS,
    audiences,
    due,
    escalations,
    ladder,
    refused_at_load,
    sweep_at,
    walk,
)
from workflow.errors import Forbidden
from workflow.model import SYSTEM

NOTICE = "one_time_notice"
DEEMED = (NOTICE, "deemed_accepted")
PLEDGE = {
    "request_type": "registration", "channel": "paper", "pledgor": "武汉光谷智能装备有限公司",
    "pledgee": "招商银行武汉分行", "patent_numbers": "ZL202310000001.X", "secured_amount": 5_000_000,
}
LICENSE = {
    "licensor": "某大学", "licensee": "武汉某制造有限公司", "patent_numbers": "ZL202210000002.3",
    "license_type": "exclusive", "contract_effective_on": "2024-01-20", "license_fee": 300_000,
}
TRADEMARK = {
    "request_type": "registration", "channel": "paper", "pledgor": "武汉某食品有限公司", "pledgee": "汉口银行", "trademark_numbers": "12345678",
    "secured_amount": 1_000_000,
}


def deemed_events(engine, case_id):
    return [e for e in engine.history(case_id) if e.kind == "deemed_accepted"]


@pytest.mark.freeze_time("2024-09-27 10:00:00+08:00")
def test_received_the_friday_before_national_day_is_deemed_accepted_after_the_fifth_working_day(engine, freezer):
    case = engine.open_case("patent_pledge_registration", actor=CLERK, data=PLEDGE)
    # Fri 09-27: Sun 09-29 1 (调休 workday), Mon 09-30 2, (10-01..07 off) 10-08 3, 10-09 4, 10-10 5
    assert case.clocks[NOTICE].statutory_due == date(2024, 10, 10)
    assert case.clocks[NOTICE].commitment_due is None  # never compressed
    assert case.clocks[NOTICE].kind == "notice"
    ladder(engine, freezer, [
        ("2024-09-30 00:00", [("handling", "warning")]),  # handling: 5 wd, commitment 3 wd → 10-08
        ("2024-10-09 00:00", [("handling", "overdue")]),
        # 00:00 after the notice's last day 10-10: accepted as of receipt; the same instant the
        # 5-wd handling clock (last day 10-10 too) passes its statutory limit
        ("2024-10-11 00:00", [("handling", "over_statutory"), DEEMED]),
    ], case.id)
    after = engine.get_case(case.id)
    assert after.state == "under_review"  # as the clerk's 受理 would have moved it
    assert after.clocks[NOTICE].status == "stopped" and after.clocks[NOTICE].sla == "deemed_accepted"
    assert after.sla == "deemed_accepted"  # its own kind of breach while the case is open
    # the main clock counted from receipt all along: its dates do not move
    assert due(after, "handling") == (date(2024, 10, 10), date(2024, 10, 8))
    assert after.clocks["handling"].started_on == date(2024, 9, 27)
    history = engine.history(case.id)
    kinds = [(e.kind, e.trigger, e.actor_id) for e in history[-3:]]
    assert kinds == [("escalation", None, SYSTEM.id), ("deemed_accepted", None, SYSTEM.id),
                     ("transition", "deemed_accept", SYSTEM.id)]
    [event] = deemed_events(engine, case.id)
    assert (event.data["received_on"], event.data["last_day"]) == ("2024-09-27", "2024-10-10")
    assert event.data["note"] == "逾期未一次性告知，视为自收到申请材料之日起受理"
    assert (event.from_state, event.to_state) == ("received", "received")
    stages = engine.definition("patent_pledge_registration").stages  # the platform sees a 受理
    assert stages.of("transition", "deemed_accept", "received", "under_review") == "受理"
    assert audiences(engine, case.id)[DEEMED] == SUPERVISORS  # told once, through the ladder
    assert escalations(engine, case.id).count(DEEMED) == 1
    # closed, the case leaves the breach list: its summary is the main clock's again
    freezer.move_to("2024-10-12 09:00:00+08:00")
    done = walk(engine, case.id, ("approve", EXAMINER, {"registration_number": "Z2024420000001"}))
    assert done.sla == "met_over_statutory"


@pytest.mark.freeze_time("2024-09-27 10:00:00+08:00")
def test_a_late_acceptance_before_any_sweep_is_still_shown_as_the_breach(engine, freezer):
    case = engine.open_case("patent_pledge_registration", actor=CLERK, data=PLEDGE)
    freezer.move_to("2024-10-11 09:00:00+08:00")  # past the notice's last day 10-10; no sweep ran
    late = walk(engine, case.id, ("accept", CLERK))
    assert late.clocks[NOTICE].sla == "deemed_accepted" and late.sla == "deemed_accepted"
    assert deemed_events(engine, case.id) == []  # the clerk's step is the record
    assert DEEMED not in sweep_at(engine, freezer, "2024-10-11 09:01", case.id)


@pytest.mark.freeze_time("2024-02-09 15:00:00+08:00")
def test_received_before_spring_festival_counts_the_sunday_workday(engine, freezer):
    case = engine.open_case("patent_license_filing", actor=CLERK, data=LICENSE)
    # Fri 02-09, then 02-10..17 off: Sun 02-18 1, 02-19 2, 02-20 3, 02-21 4, Thu 02-22 5
    assert case.clocks[NOTICE].statutory_due == date(2024, 2, 22)
    assert DEEMED not in sweep_at(engine, freezer, "2024-02-22 23:59", case.id)
    assert sweep_at(engine, freezer, "2024-02-23 00:00", case.id) == [DEEMED]
    assert engine.sweep() == []  # a second sweep records nothing more
    after = engine.get_case(case.id)
    assert after.state == "under_review"
    # handling 7 wd from receipt: 02-18, 19, 20, 21, 22, 23, Mon 02-26; commitment 4 wd → 02-21
    assert due(after, "handling") == (date(2024, 2, 26), date(2024, 2, 21))
    assert len(deemed_events(engine, case.id)) == 1


@pytest.mark.freeze_time("2024-03-04 10:00:00+08:00")
def test_a_supplement_notice_on_the_fifth_working_day_is_never_deemed(engine, freezer):
    case = engine.open_case("trademark_pledge_registration", actor=CLERK, data=TRADEMARK)
    # Mon 03-04: 03-05 1, 03-06 2, 03-07 3, 03-08 4, Mon 03-11 5
    assert case.clocks[NOTICE].statutory_due == date(2024, 3, 11)
    freezer.move_to("2024-03-11 17:30:00+08:00")
    sent = walk(engine, case.id, ("request_supplement", CLERK,
                                  {"supplement_items": "质权合同原件", "notice_received_on": "2024-03-11"}))
    assert sent.clocks[NOTICE].status == "stopped" and sent.clocks[NOTICE].sla == "met"
    fired = sweep_at(engine, freezer, "2024-03-12 00:00", case.id) + sweep_at(engine, freezer, "2024-06-01 00:00", case.id)
    assert DEEMED not in fired
    assert deemed_events(engine, case.id) == [] and engine.get_case(case.id).sla != "deemed_accepted"
    # the supplement comes back: the case returns to examination, the notice clock stays stopped
    assert engine.get_case(case.id).clocks[NOTICE].status == "stopped"


@pytest.mark.freeze_time("2024-03-04 10:00:00+08:00")
def test_accepted_on_the_third_working_day_is_never_deemed(engine, freezer):
    case = engine.open_case("patent_right_transfer_filing", actor=CLERK, data={
        "patent_numbers": "ZL202010000003.1", "transferor": "某大学", "transferee": "武汉某公司", "channel": "paper"})
    freezer.move_to("2024-03-07 11:00:00+08:00")  # Thu 03-07: the third working day
    accepted = walk(engine, case.id, ("accept", CLERK))
    assert accepted.clocks[NOTICE].sla == "met"
    assert DEEMED not in sweep_at(engine, freezer, "2024-03-12 00:00", case.id)
    assert DEEMED not in sweep_at(engine, freezer, "2024-04-01 00:00", case.id)
    assert deemed_events(engine, case.id) == []


@pytest.mark.freeze_time("2024-03-04 10:00:00+08:00")
def test_refused_or_withdrawn_at_the_window_is_never_deemed(engine, freezer):
    refused_case = engine.open_case("patent_license_filing", actor=CLERK, data=LICENSE)
    withdrawn = engine.open_case("patent_license_filing", actor=CLERK, data=LICENSE)
    freezer.move_to("2024-03-05 10:00:00+08:00")
    walk(engine, refused_case.id, ("refuse", EXAMINER, {"reason": "不属于本局受理范围"}))
    walk(engine, withdrawn.id, ("withdraw", CLERK))
    assert sweep_at(engine, freezer, "2024-03-12 00:00") == []
    assert deemed_events(engine, refused_case.id) == deemed_events(engine, withdrawn.id) == []


@pytest.mark.freeze_time("2024-03-04 10:00:00+08:00")
def test_nobody_can_fire_the_deemed_acceptance(engine):
    case = engine.open_case("patent_pledge_registration", actor=CLERK, data=PLEDGE)
    for actor in (CLERK, EXAMINER):
        with pytest.raises(Forbidden):
            engine.fire(case.id, "deemed_accept", actor=actor)
    assert "deemed_accept" not in engine.available_triggers(case.id, actor=CLERK)
    assert engine.get_case(case.id).state == "received"


# --- a clock that starts at acceptance counts from receipt ------------------------------------------

LICENSING = textwrap.dedent(
    """\
    states:
      received: {label: 已收件, roles: [clerk]}
      accepted: {label: 已受理, roles: [examiner]}
      granted: {label: 准予许可, final: true}
      refused: {label: 不予受理, final: true}
      awaiting_supplement: {label: 待补正}
    transitions:
      - {trigger: accept, source: received, dest: accepted, roles: [clerk]}
      - {trigger: grant, source: accepted, dest: granted, roles: [examiner]}
      - {trigger: refuse, source: [received, accepted], dest: refused, roles: [examiner]}
      - {trigger: request_supplement, source: received, dest: awaiting_supplement, roles: [clerk]}
      - {trigger: resubmit, source: awaiting_supplement, dest: accepted, roles: [clerk]}
    one_time_notice: {accept: accept, status: verified, basis: 行政许可法第三十二条}
    clocks:
      decision: {limit: 20 working days, start: accepted, stop: [granted, refused], main: true}
    initial: received
    name: 样例行政许可
    id: sample_licence
    """
)


def test_a_main_clock_starting_at_acceptance_counts_from_the_receipt_day(tmp_path, freezer):
    (tmp_path / "sample_licence.yaml").write_text(LICENSING, encoding="utf-8")
    engine = build_engine("memory://", definitions=[tmp_path])
    freezer.move_to("2024-09-27 10:00:00+08:00")
    case = engine.open_case("sample_licence", actor=CLERK, data={})
    assert case.clocks["decision"].status == "not_started"
    # the service was down: the first sweep after the notice's last day (10-10) runs Mon 10-14
    assert sweep_at(engine, freezer, "2024-10-14 09:00", case.id) == [DEEMED]
    after = engine.get_case(case.id)
    assert after.state == "accepted"
    assert after.clocks["decision"].started_on == date(2024, 9, 27)  # the receipt day, not 10-14
    # 20 wd from Fri 09-27: 09-29, 09-30, 10-08, 09, 10, 11, Sat 10-12, 14, 15, 16, 17, 18, 21, 22,
    # 23, 24, 25, 28, 29, 30 → 10-30; commitment floor(2/3 × 20) = 13 wd → 10-21
    assert due(after, "decision") == (date(2024, 10, 30), date(2024, 10, 21))
    [event] = deemed_events(engine, case.id)
    assert event.data["last_day"] == "2024-10-10" and event.at.date() == date(2024, 10, 14)


def test_a_definition_without_the_block_behaves_as_before(tmp_path, freezer):
    plain = LICENSING.replace("one_time_notice: {accept: accept, status: verified, basis: 行政许可法第三十二条}\n", "")
    (tmp_path / "sample_licence.yaml").write_text(plain, encoding="utf-8")
    engine = build_engine("memory://", definitions=[tmp_path])
    freezer.move_to("2024-09-27 10:00:00+08:00")
    case = engine.open_case("sample_licence", actor=CLERK, data={})
    assert NOTICE not in case.clocks
    assert sweep_at(engine, freezer, "2024-12-31 00:00") == []
    assert engine.get_case(case.id).state == "received"


@pytest.mark.parametrize(("block", "path", "words"), [
    ("one_time_notice: {accept: approve, status: office}", "one_time_notice.accept", "out of the initial state"),
    ("one_time_notice: {accept: refuse, status: office}", "one_time_notice.accept", "closes the case"),
    ("one_time_notice: {accept: accept}", "one_time_notice.status", "status must be one of"),
    ("one_time_notice: {accept: accept, status: office, limit: 5 weeks}", "one_time_notice.limit", ""),
    ("one_time_notice: {accept: accept, status: office, within: 5}", "one_time_notice.within", "unknown key"),
    ("one_time_notice: accept", "one_time_notice", "a mapping"),
])
def test_the_block_is_validated_at_load_with_its_path_and_line(block, path, words):
    text = LICENSING.replace("one_time_notice: {accept: accept, status: verified, basis: 行政许可法第三十二条}", block)
    refused_at_load(text, "sample_licence.yaml", path, words, block)


def test_the_shipped_items_that_take_applications_opt_in_as_the_office_s_own_rule(engine):
    opted = {d.id: d.clocks[NOTICE] for d in engine.definitions() if NOTICE in d.clocks}
    assert set(opted) == {
        "patent_pledge_registration", "patent_license_filing", "trademark_pledge_registration",
        "patent_right_transfer_filing", "rights_protection_assistance", "overseas_dispute_guidance",
    }
    for item, clock in opted.items():
        assert clock.status == "office", item  # registrations, filings and services: not 行政许可
        assert str(clock.limit) == "5 working days" and clock.start == "received"


@pytest.mark.freeze_time("2026-12-28 10:00:00+08:00")
def test_a_provisional_last_day_waits_for_the_calendar_or_a_clerk(engine, freezer):
    case = engine.open_case("patent_license_filing", actor=CLERK, data=LICENSE)
    # Mon 2026-12-28: 12-29 1, 12-30 2, 12-31 3, (Fri 2027-01-01 元旦 by law, weekend) 01-04 4,
    # 01-05 5: 2027 has no official calendar yet, so the last day is provisional
    notice = case.clocks[NOTICE]
    assert notice.statutory_due == date(2027, 1, 5) and notice.expiry_provisional
    assert DEEMED not in sweep_at(engine, freezer, "2027-01-06 00:00", case.id)
    held = engine.get_case(case.id)
    assert held.state == "received" and held.clocks[NOTICE].awaiting_calendar
    assert deemed_events(engine, case.id) == []
    confirmed = engine.confirm_expiry(case.id, NOTICE, actor=CLERK, reason="逾期未告知补正，确认视为受理")
    assert confirmed.state == "under_review" and confirmed.sla == "deemed_accepted"
    assert len(deemed_events(engine, case.id)) == 1 and escalations(engine, case.id).count(DEEMED) == 1
    assert engine.sweep() == []


def test_a_step_clock_entered_by_the_deemed_acceptance_counts_from_the_receipt_day(engine, freezer):
    """海外纠纷应对指导: 受理后二个工作日内指派专家 (the ``accepted`` state's own limit). Deemed accepted
    as of receipt (第三十二条: 自收到申请材料之日起即为受理), that step counts from the receipt day too,
    not from the day the sweep happened to run."""
    freezer.move_to("2024-09-27 10:00:00+08:00")
    case = engine.open_case("overseas_dispute_guidance", actor=CLERK, data={
        "applicant": "武汉某激光有限公司", "country": "德国", "other_party": "某欧洲竞争企业",
        "dispute_type": "trade_fair_complaint", "ip_type": "patent", "matter": "展会投诉",
    })
    # notice: Fri 09-27 → Sun 09-29 1, 09-30 2, (10-01..07 off) 10-08 3, 10-09 4, 10-10 5; the
    # service was down until Mon 10-14 09:00
    fired = sweep_at(engine, freezer, "2024-10-14 09:00", case.id)
    assert DEEMED in fired
    after = engine.get_case(case.id)
    assert after.state == "accepted"
    step = after.clocks["accepted"]
    assert step.started_on == date(2024, 9, 27)  # the receipt day, not the sweep's 10-14
    # 2 wd from Fri 09-27: Sun 09-29 (调休), Mon 09-30 → 09-30 (ratio 1: the commitment too);
    # counted from 10-14 it would have been 10-16
    assert due(after, "accepted") == (date(2024, 9, 30), date(2024, 9, 30))
    assert after.clocks["accepted"].sla == "over_statutory"
