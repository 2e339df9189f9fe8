"""Clocks through the engine (DESIGN "Legal time", issue 3) on the fixture definitions: start on
opening, pause and resume, counting afresh, step clocks, extensions by a self-loop, party clocks
from a date in the case data with grace and an automatic transition on expiry, external clocks,
channel-dependent limits, back-dated openings, bundles. Every date hand-checked (see
tests/engine_support.py for the calendar facts)."""

from __future__ import annotations

from datetime import date

import pytest

from tests.engine_support import (
    APPROVED,
    CLERK,
    EXAMINER,
    LEADER,
    WUHAN,
    at,
    make_engine,
    snapshot,
)
from workflow import Engine, errors

pytestmark = pytest.mark.freeze_time("2024-03-04 02:00:00")  # Mon 2024-03-04 10:00 in Shanghai


@pytest.fixture
def engine() -> Engine:
    return make_engine()


def d(text: str) -> date:
    return date.fromisoformat(text)


def dues(engine: Engine, case_id: str, clock: str) -> tuple[date | None, date | None]:
    c = engine.get_case(case_id).clocks[clock]
    return c.statutory_due, c.commitment_due


# --- start, pause, resume ------------------------------------------------------------------


def test_design_worked_example_paused_and_resumed(engine, freezer):
    """2024-03-04 Mon, 5 working days, paused 03-06, resumed 03-11: 2 used (03-05, 03-06), 3 left
    from 03-12 → statutory 03-14; commitment 3 → 03-12."""
    case = engine.open_case("fx_filing", actor=CLERK)
    clock = case.clocks["handling"]
    assert (clock.status, clock.started_on, clock.run) == ("running", d("2024-03-04"), 1)
    assert dues(engine, case.id, "handling") == (d("2024-03-11"), d("2024-03-07"))
    engine.fire(case.id, "accept", actor=CLERK)
    freezer.move_to(at("2024-03-06 15:00"))
    paused = engine.fire(case.id, "request_supplement", actor=EXAMINER, data={"notice": "补正通知书"})
    assert paused.clocks["handling"].status == "paused"
    freezer.move_to(at("2024-03-11 09:00"))
    resumed = engine.fire(case.id, "resubmit", actor=CLERK).clocks["handling"]
    assert resumed.status == "running"
    assert (resumed.statutory_due, resumed.commitment_due) == (d("2024-03-14"), d("2024-03-12"))
    assert resumed.used_units == 2
    assert resumed.paused_spans == ((d("2024-03-06"), d("2024-03-11")),)
    assert (resumed.started_on, resumed.run) == (d("2024-03-04"), 1)  # a resume is no restart


@pytest.mark.parametrize(
    ("opened", "statutory", "commitment"),
    [
        ("2024-09-27 10:00", "2024-10-10", "2024-10-08"),  # Sun 09-29 a workday; 10-01..07 off
        ("2024-03-04 10:00", "2024-03-11", "2024-03-07"),
        # Fri 02-09 worked (1), 02-10..17 off, Sun 02-18 worked (2), 02-19 (3) .. 02-21 (5)
        ("2024-02-08 16:00", "2024-02-21", "2024-02-19"),
    ],
)
def test_five_working_days_on_the_official_calendar(engine, freezer, opened, statutory, commitment):
    freezer.move_to(at(opened))
    case = engine.open_case("fx_filing", actor=CLERK)
    assert dues(engine, case.id, "handling") == (d(statutory), d(commitment))


def test_a_clock_stopped_while_paused(engine, freezer):
    case = engine.fire(engine.open_case("fx_filing", actor=CLERK).id, "accept", actor=CLERK)
    freezer.move_to(at("2024-03-05 10:00"))
    engine.fire(case.id, "request_supplement", actor=EXAMINER, data={"notice": "n"})
    freezer.move_to(at("2024-04-30 10:00"))
    closed = engine.fire(case.id, "withdraw", actor=CLERK)  # "*": from any non-final state
    assert (closed.state, closed.final) == ("refused", True)
    assert closed.clocks["handling"].status == "stopped"
    assert closed.clocks["handling"].sla == "met"  # counting ended at the pause on day 1 of 5


def test_withdraw_from_every_non_final_state_but_not_a_final_one(engine):
    for path in ([], ["accept"], ["accept", "request_supplement"]):
        case = engine.open_case("fx_filing", actor=CLERK)
        for trig in path:
            actor = EXAMINER if trig == "request_supplement" else CLERK
            engine.fire(case.id, trig, actor=actor, data={"notice": "n"})
        assert "withdraw" in engine.available_triggers(case.id, actor=CLERK)
        assert engine.fire(case.id, "withdraw", actor=CLERK).state == "refused"
        with pytest.raises(errors.TransitionNotAllowed):
            engine.fire(case.id, "withdraw", actor=CLERK)


# --- counted afresh (重新计算) ---------------------------------------------------------------


def test_a_supplement_restarts_the_clock_from_zero(engine, freezer):
    case = engine.open_case("fx_restart", actor=CLERK)
    engine.fire(case.id, "accept", actor=CLERK)
    # 10 working days from Mon 03-04 → Mon 03-18; commitment floor(20/3) = 6 → Tue 03-12
    assert dues(engine, case.id, "handling") == (d("2024-03-18"), d("2024-03-12"))
    freezer.move_to(at("2024-03-06 10:00"))
    waiting = engine.fire(case.id, "request_supplement", actor=EXAMINER).clocks["handling"]
    assert waiting.status == "paused"
    freezer.move_to(at("2024-03-11 10:00"))
    clock = engine.fire(case.id, "resubmit", actor=CLERK).clocks["handling"]
    # counted afresh from Mon 03-11: 10 working days → Mon 03-25; commitment 6 → Tue 03-19
    assert (clock.status, clock.started_on, clock.run, clock.used_units) == (
        "running", d("2024-03-11"), 2, 0)
    assert (clock.statutory_due, clock.commitment_due) == (d("2024-03-25"), d("2024-03-19"))
    pending = [x for x in engine.deadlines(case.id) if x.state == "pending"]
    assert {x.run for x in pending} == {2}
    assert {x.level for x in engine.deadlines(case.id) if x.run == 1} == {"warning", "overdue", "over_statutory"}
    assert {x.state for x in engine.deadlines(case.id) if x.run == 1} == {"cancelled"}


# --- step clocks (a state's own limit) -------------------------------------------------------


def test_a_step_clock_runs_while_the_case_is_in_its_state(engine, freezer):
    case = engine.open_case("fx_dispute", actor=CLERK)
    assert case.clocks["hearing"].status == "not_started"
    engine.fire(case.id, "serve", actor=CLERK, data={"served_on": "2024-03-04"})
    freezer.move_to(at("2024-03-05 10:00"))
    case = engine.fire(case.id, "answer_received", actor=CLERK)
    step = case.clocks["hearing"]
    # 10 working days from Tue 03-05 → Tue 03-19; commitment 6 → Wed 03-13
    assert (step.status, step.started_on, step.run) == ("running", d("2024-03-05"), 1)
    assert (step.statutory_due, step.commitment_due) == (d("2024-03-19"), d("2024-03-13"))
    assert step.label == "审理中"
    freezer.move_to(at("2024-03-07 10:00"))
    case = engine.fire(case.id, "refer_court", actor=EXAMINER)
    assert case.clocks["hearing"].status == "stopped"
    assert case.clocks["handling"].status == "paused"  # the court's time is not the office's
    assert case.clocks["court"].status == "running"
    freezer.move_to(at("2024-03-12 10:00"))
    case = engine.fire(case.id, "court_returned", actor=CLERK)
    step = case.clocks["hearing"]
    # entered again: a fresh run from Tue 03-12 → Tue 03-26
    assert (step.status, step.started_on, step.run, step.statutory_due) == (
        "running", d("2024-03-12"), 2, d("2024-03-26"))
    assert case.clocks["court"].status == "stopped"
    assert case.clocks["handling"].status == "running"
    case = engine.fire(case.id, "decide", actor=EXAMINER)
    assert {n: c.status for n, c in case.clocks.items()} == {
        "handling": "stopped", "answer": "stopped", "court": "stopped", "hearing": "stopped"}


def test_a_step_clock_escalates_like_any_office_clock(engine, freezer):
    case = engine.open_case("fx_dispute", actor=CLERK)
    engine.fire(case.id, "serve", actor=CLERK, data={"served_on": "2024-03-04"})
    engine.fire(case.id, "answer_received", actor=CLERK)
    freezer.move_to(at("2024-03-20 10:00"))
    # hearing from 03-04: commitment 03-12 (warning 03-11), statutory 03-18
    fired = [(e.clock, e.level, e.due) for e in engine.sweep()]
    assert fired == [
        ("hearing", "warning", at("2024-03-11 00:00")),
        ("hearing", "overdue", at("2024-03-13 00:00")),
        ("hearing", "over_statutory", at("2024-03-19 00:00")),
    ]


# --- extensions (延长) -----------------------------------------------------------------------


def test_an_extension_adds_to_the_running_clock_without_restarting_it(engine, freezer):
    case = engine.fire(engine.open_case("fx_filing", actor=CLERK).id, "accept", actor=CLERK)
    freezer.move_to(at("2024-03-05 10:00"))
    ext = engine.fire(case.id, "extend", actor=LEADER, data={"reason": "情况复杂", "approver": "局长张三"})
    clock = ext.clocks["handling"]
    assert ext.state == "under_review" and ext.version == case.version + 1
    # 5 + 2 = 7 working days from 03-04 → Wed 03-13; commitment floor(14/3) = 4 → Fri 03-08
    assert (clock.statutory_due, clock.commitment_due) == (d("2024-03-13"), d("2024-03-08"))
    assert (clock.started_on, clock.run, clock.extensions) == (d("2024-03-04"), 1, ("2 working days",))
    assert clock.used_units == 1
    last = engine.history(case.id)[-1]
    assert (last.trigger, last.from_state, last.to_state) == ("extend", "under_review", "under_review")
    assert last.data["extended"] == {"handling": "2 working days"}
    assert (last.data["reason"], last.data["approver"]) == ("情况复杂", "局长张三")


def test_an_extension_beyond_the_maximum_is_refused_never_clamped(engine):
    case = engine.fire(engine.open_case("fx_filing", actor=CLERK).id, "accept", actor=CLERK)
    engine.fire(case.id, "extend", actor=LEADER, data={"reason": "一", "approver": "局长张三"})
    before = snapshot(engine, case.id)
    with pytest.raises(errors.TransitionNotAllowed, match="maximum"):
        engine.fire(case.id, "extend", actor=LEADER, data={"reason": "二", "approver": "局长张三"})
    assert snapshot(engine, case.id) == before
    assert engine.get_case(case.id).clocks["handling"].statutory_due == d("2024-03-13")


def test_an_extension_after_the_statutory_deadline_is_refused(engine, freezer):
    case = engine.fire(engine.open_case("fx_filing", actor=CLERK).id, "accept", actor=CLERK)
    freezer.move_to(at("2024-03-11 23:59"))  # the last allowed day: still in time
    assert "extend" in engine.available_triggers(case.id, actor=LEADER)
    freezer.move_to(at("2024-03-12 00:00"))
    assert engine.available_triggers(case.id, actor=LEADER) == []
    before = snapshot(engine, case.id)
    with pytest.raises(errors.TransitionNotAllowed, match="passed"):
        engine.fire(case.id, "extend", actor=LEADER, data={"reason": "迟了", "approver": "局长张三"})
    assert snapshot(engine, case.id) == before


def test_escalations_already_fired_stay_on_the_record_after_an_extension(engine, freezer):
    case = engine.fire(engine.open_case("fx_filing", actor=CLERK).id, "accept", actor=CLERK)
    freezer.move_to(at("2024-03-08 10:00"))
    assert [e.level for e in engine.sweep()] == ["warning", "overdue"]
    engine.fire(case.id, "extend", actor=LEADER, data={"reason": "延期", "approver": "局长张三"})
    assert engine.get_case(case.id).clocks["handling"].commitment_due == d("2024-03-08")
    rows = {x.level: x.state for x in engine.deadlines(case.id)}
    assert rows == {"warning": "fired", "overdue": "fired", "over_statutory": "pending"}
    levels = [e.data["level"] for e in engine.history(case.id) if e.kind == "escalation"]
    assert levels == ["warning", "overdue"]
    freezer.move_to(at("2024-03-20 10:00"))
    # each level once per clock: only the statutory one is left, now after Wed 03-13
    assert [(e.level, e.due) for e in engine.sweep()] == [("over_statutory", at("2024-03-14 00:00"))]


def test_a_month_extension_adds_to_the_unmoved_day(engine):
    case = engine.open_case("fx_dispute", actor=CLERK)
    # 2 months from 03-04 → Sat 05-04, a Labour Day holiday → Mon 05-06
    assert case.clocks["handling"].statutory_due == d("2024-05-06")
    engine.fire(case.id, "serve", actor=CLERK, data={"served_on": "2024-03-04"})
    engine.fire(case.id, "answer_received", actor=CLERK)
    clock = engine.fire(case.id, "extend", actor=LEADER, data=APPROVED).clocks["handling"]
    # + 1 month on the unmoved 05-04 → Tue 06-04 (92 days); commitment floor(2/3 × 92) = 61
    # days → Sat 05-04 → Mon 05-06
    assert (clock.statutory_due, clock.commitment_due) == (d("2024-06-04"), d("2024-05-06"))
    assert (clock.statutory_units, clock.commitment_units) == (92, 61)
    with pytest.raises(errors.TransitionNotAllowed, match="maximum"):
        engine.fire(case.id, "extend", actor=LEADER, data=APPROVED)


def test_an_extension_needs_its_role(engine):
    case = engine.fire(engine.open_case("fx_filing", actor=CLERK).id, "accept", actor=CLERK)
    with pytest.raises(errors.Forbidden):
        engine.fire(case.id, "extend", actor=EXAMINER, data={"reason": "x", "approver": "局长张三"})


# --- party clocks ------------------------------------------------------------------------------


def served(engine: Engine, freezer, on: str = "2024-03-06") -> str:
    case = engine.open_case("fx_dispute", actor=CLERK)
    freezer.move_to(at("2024-03-08 10:00"))
    engine.fire(case.id, "serve", actor=CLERK, data={"served_on": on})
    return case.id


def test_a_party_clock_starts_on_the_date_in_the_data(engine, freezer):
    case_id = served(engine, freezer)
    answer = engine.get_case(case_id).clocks["answer"]
    # 15 days from the date of service Wed 03-06 → Thu 03-21; grace 3 days → expired from 03-25
    assert (answer.status, answer.started_on, answer.party, answer.kind) == (
        "running", d("2024-03-06"), True, "party")
    assert (answer.statutory_due, answer.commitment_due) == (d("2024-03-21"), None)  # never compressed
    assert answer.expires_at == at("2024-03-25 00:00")
    assert answer.warning_at is None and answer.overdue_at is None
    rows = [(x.clock, x.level, x.due_at) for x in engine.deadlines(case_id) if x.clock == "answer"]
    assert rows == [("answer", "expired", at("2024-03-25 00:00"))]  # never escalated to staff


def test_the_date_of_service_is_required_and_must_be_a_date(engine):
    case = engine.open_case("fx_dispute", actor=CLERK)
    before = snapshot(engine, case.id)
    with pytest.raises(errors.MissingData) as exc:
        engine.fire(case.id, "serve", actor=CLERK)
    assert exc.value.fields == {"served_on": "required"}
    with pytest.raises(errors.MissingData) as exc:
        engine.fire(case.id, "serve", actor=CLERK, data={"served_on": "上周三"})
    assert set(exc.value.fields) == {"served_on"}
    assert snapshot(engine, case.id) == before


def test_a_party_clock_expires_after_its_grace_and_fires_on_expire_as_the_system(engine, freezer):
    case_id = served(engine, freezer)
    freezer.move_to(at("2024-03-24 23:59"))  # past the last day 03-21, inside the grace
    assert engine.sweep() == []
    assert engine.get_case(case_id).clocks["answer"].sla == "on_track"
    freezer.move_to(at("2024-03-25 08:00"))
    (esc,) = engine.sweep()
    assert (esc.case_id, esc.clock, esc.level, esc.due, esc.seen) == (
        case_id, "answer", "expired", at("2024-03-25 00:00"), at("2024-03-25 08:00"))
    case = engine.get_case(case_id)
    assert case.state == "hearing"  # on_expire: no_answer, in the same sweep
    assert case.clocks["answer"].status == "stopped" and case.clocks["answer"].sla == "expired"
    assert case.clocks["hearing"].started_on == d("2024-03-25")
    tail = [(e.kind, e.trigger, e.actor_id, e.from_state, e.to_state) for e in engine.history(case_id)][-2:]
    assert tail == [
        ("escalation", None, "system", "awaiting_answer", "awaiting_answer"),
        ("transition", "no_answer", "system", "awaiting_answer", "hearing"),
    ]
    # the clerk is told (the state's roles: awaiting_answer is worked by clerks)
    (row,) = [m for m in engine.store.outbox() if m.topic == "escalation"]
    assert row.payload["level"] == "expired"
    assert row.payload["audience"] == [{"role": "clerk", "org": WUHAN}]
    assert engine.sweep() == []


def test_an_answer_in_time_stops_the_party_clock(engine, freezer):
    case_id = served(engine, freezer)
    freezer.move_to(at("2024-03-21 16:00"))
    case = engine.fire(case_id, "answer_received", actor=CLERK)
    assert (case.clocks["answer"].status, case.clocks["answer"].sla) == ("stopped", "met")
    freezer.move_to(at("2024-03-26 10:00"))
    assert [e for e in engine.sweep() if e.clock == "answer"] == []
    assert engine.get_case(case_id).state == "hearing"


def test_a_party_clock_never_counts_against_the_office(engine, freezer):
    case_id = served(engine, freezer, on="2024-03-08")
    freezer.move_to(at("2024-03-20 10:00"))
    assert engine.get_case(case_id).sla == "on_track"


# --- external clocks ---------------------------------------------------------------------------


def test_an_external_clock_expires_and_closes_the_case_as_the_system(engine, freezer):
    case = engine.open_case("fx_dispute", actor=CLERK)
    engine.fire(case.id, "serve", actor=CLERK, data={"served_on": "2024-03-04"})
    engine.fire(case.id, "answer_received", actor=CLERK)
    freezer.move_to(at("2024-03-06 10:00"))
    court = engine.fire(case.id, "refer_court", actor=EXAMINER).clocks["court"]
    # 30 days from 03-06 → Fri 04-05 (Qingming, off) → Sun 04-07 (a workday)
    assert (court.external, court.party, court.kind) == (True, False, "external")
    assert (court.statutory_due, court.commitment_due) == (d("2024-04-07"), None)
    freezer.move_to(at("2024-04-07 23:00"))
    assert engine.sweep() == []
    freezer.move_to(at("2024-04-08 09:00"))
    assert [(e.clock, e.level) for e in engine.sweep()] == [("court", "expired")]
    case = engine.get_case(case.id)
    assert (case.state, case.final, case.closed_at) == ("dismissed", True, at("2024-04-08 09:00"))
    assert case.clocks["handling"].status == "stopped"
    assert engine.history(case.id)[-1].actor_id == "system"


# --- limits chosen by a data field -------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "limit", "statutory"),
    [
        ({"channel": "online"}, "3 working days", "2024-03-07"),
        ({"channel": "paper"}, "10 working days", "2024-03-18"),
        ({}, "10 working days", "2024-03-18"),
    ],
)
def test_a_limit_chosen_by_the_filing_channel(engine, data, limit, statutory):
    clock = engine.open_case("fx_channel", actor=CLERK, data=data).clocks["handling"]
    assert (clock.limit, clock.statutory_due) == (limit, d(statutory))


def test_an_unknown_channel_is_refused(engine):
    with pytest.raises(errors.MissingData) as exc:
        engine.open_case("fx_channel", actor=CLERK, data={"channel": "fax"})
    assert set(exc.value.fields) == {"channel"}


# --- back-dated opening ------------------------------------------------------------------------


def test_a_back_dated_opening_counts_from_the_legal_start(engine):
    case = engine.open_case("fx_filing", actor=CLERK, started_on=d("2024-03-01"), reason="邮寄件，3月1日收到")
    assert case.started_on == d("2024-03-01")
    assert case.opened_at == at("2024-03-04 10:00")
    clock = case.clocks["handling"]
    # 5 working days from Fri 03-01 → Fri 03-08; commitment 3 → Wed 03-06
    assert (clock.started_on, clock.statutory_due, clock.commitment_due) == (
        d("2024-03-01"), d("2024-03-08"), d("2024-03-06"))
    assert clock.used_units == 1  # 03-04 already counted
    opened = engine.history(case.id)[0]
    assert opened.data["started_on"] == "2024-03-01" and opened.data["reason"] == "邮寄件，3月1日收到"
    assert case.number.endswith("2024-00001")


def test_a_back_dated_opening_needs_a_reason_and_cannot_be_in_the_future(engine):
    with pytest.raises(errors.MissingData) as exc:
        engine.open_case("fx_filing", actor=CLERK, started_on=d("2024-03-01"))
    assert exc.value.fields == {"reason": "required"}
    with pytest.raises(errors.MissingData) as exc:
        engine.open_case("fx_filing", actor=CLERK, started_on=d("2024-03-05"), reason="x")
    assert set(exc.value.fields) == {"started_on"}
    assert engine.list_cases() == []
    same_day = engine.open_case("fx_filing", actor=CLERK, started_on=d("2024-03-04"))
    assert same_day.clocks["handling"].statutory_due == d("2024-03-11")


# --- bundles (一件事一次办) ---------------------------------------------------------------------


def test_a_bundle_opens_its_children_and_closes_with_the_last(engine, freezer):
    bundle = engine.open_case("fx_bundle", actor=CLERK, data={"applicant": "某公司"})
    assert len(bundle.children) == 2
    kids = {engine.get_case(k).item_id: engine.get_case(k) for k in bundle.children}
    assert set(kids) == {"fx_filing", "fx_restart"}
    assert all(k.parent_id == bundle.id and k.data["applicant"] == "某公司" for k in kids.values())
    # no clock of its own: one as long as the longest child's main clock (10 working days)
    clock = bundle.clocks["handling"]
    assert (clock.limit, clock.statutory_due) == ("10 working days", d("2024-03-18"))
    assert bundle.main_clock == "handling"
    freezer.move_to(at("2024-03-06 10:00"))
    f = kids["fx_filing"].id
    engine.fire(f, "accept", actor=CLERK)
    engine.fire(f, "approve", actor=EXAMINER)
    assert engine.get_case(bundle.id).state == "processing"
    r = kids["fx_restart"].id
    engine.fire(r, "accept", actor=CLERK)
    freezer.move_to(at("2024-03-07 10:00"))
    engine.fire(r, "approve", actor=EXAMINER)
    closed = engine.get_case(bundle.id)
    assert (closed.state, closed.final, closed.closed_at) == ("completed", True, at("2024-03-07 10:00"))
    assert closed.clocks["handling"].status == "stopped"
    last = engine.history(bundle.id)[-1]
    assert (last.trigger, last.actor_id) == ("children_closed", "system")
    assert last.data["children_outcomes"] == {"fx_filing": "registered", "fx_restart": "done"}


TWO_PHASES = """\
id: fx_two_phases
version: 1
name: 立案后仍可补正
kind: dispute_case
initial: received
states:
  received: {label: 已收到, roles: [clerk]}
  examining: {label: 审查中, roles: [examiner]}
  awaiting_supplement: {label: 待补正, restarts: [filing]}
  reviewing: {label: 审查补正材料, roles: [examiner]}
  decided: {label: 已裁决, final: true}
transitions:
  - {trigger: file_case, source: [received, reviewing], dest: examining, roles: [clerk]}
  - {trigger: request_supplement, source: [received, examining], dest: awaiting_supplement, roles: [examiner]}
  - {trigger: resubmit, source: awaiting_supplement, dest: reviewing, roles: [clerk]}
  - {trigger: decide, source: [examining, reviewing], dest: decided, roles: [examiner]}
clocks:
  filing: {limit: 5 working days, start: received, stop: [examining, decided]}
  handling: {limit: 2 months, start: received, stop: [decided]}
"""


def test_a_stopped_clock_is_not_counted_afresh(tmp_path, freezer):
    """A supplement after 立案 leaves the 立案 clock stopped: only a clock still counting is
    counted afresh when the case leaves a restarting state."""
    (tmp_path / "fx_two_phases.yaml").write_text(TWO_PHASES, encoding="utf-8")
    engine = make_engine(definitions=[tmp_path])
    case = engine.open_case("fx_two_phases", actor=CLERK)
    freezer.move_to(at("2024-03-05 10:00"))
    engine.fire(case.id, "file_case", actor=CLERK)
    freezer.move_to(at("2024-03-07 10:00"))
    engine.fire(case.id, "request_supplement", actor=EXAMINER)
    freezer.move_to(at("2024-03-11 10:00"))
    filing = engine.fire(case.id, "resubmit", actor=CLERK).clocks["filing"]
    assert (filing.status, filing.run, filing.sla, filing.stopped_on) == ("stopped", 1, "met", d("2024-03-05"))
    assert [x for x in engine.deadlines(case.id) if x.clock == "filing" and x.state == "pending"] == []


def test_a_supplement_before_filing_counts_the_filing_clock_afresh(tmp_path, freezer):
    (tmp_path / "fx_two_phases.yaml").write_text(TWO_PHASES, encoding="utf-8")
    engine = make_engine(definitions=[tmp_path])
    case = engine.open_case("fx_two_phases", actor=CLERK)
    freezer.move_to(at("2024-03-05 10:00"))
    engine.fire(case.id, "request_supplement", actor=EXAMINER)
    freezer.move_to(at("2024-03-11 10:00"))
    filing = engine.fire(case.id, "resubmit", actor=CLERK).clocks["filing"]
    # counted afresh from Mon 03-11: 5 working days → Mon 03-18
    assert (filing.status, filing.run, filing.started_on, filing.statutory_due) == (
        "running", 2, d("2024-03-11"), d("2024-03-18"))
