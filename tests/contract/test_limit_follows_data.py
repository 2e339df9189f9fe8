"""A limit chosen by a data field follows the data a later step gives (QA of issue 16, D1), on
every store: a pledge received blank and accepted as online has 2 working days from receipt, not
the 5 it counted while the channel was unknown; its dates, deadline rows and event say so, a
correction puts the old limit back, a pause is kept, and a clock the shorter limit leaves past its
days is escalated by the sweep, each level once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest

from adapters import build_engine
from adapters.sql import verify_history
from tests.contract.conftest import BOSS, CLERK, EXAMINER, Clock
from workflow.legaltime import TZ

PLEDGE = "patent_pledge_registration"
PARTIES = {"pledgor": "武汉测试公司", "pledgee": "招商银行武汉分行", "patent_numbers": "ZL1"}


@pytest.fixture
def shipped(store_url: str) -> Iterator[tuple[Any, Clock]]:
    """The shipped definitions on the store under test, at Tue 2026-12-08 10:00."""
    clock = Clock(datetime(2026, 12, 8, 10, 0, tzinfo=TZ))
    eng = build_engine(store_url, now=clock)
    yield eng, clock
    dispose = getattr(eng.store, "dispose", None)
    if dispose:
        dispose()


def pending(engine: Any, case_id: str, clock: str = "handling") -> dict[str, datetime]:
    return {d.level: d.due_at for d in engine.deadlines(case_id) if d.clock == clock and d.state == "pending"}


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=TZ)


def test_a_channel_given_at_acceptance_sets_the_limit_from_receipt(shipped):
    engine, clock = shipped
    case = engine.open_case(PLEDGE, actor=CLERK, data={})
    h = case.clocks["handling"]
    assert (h.limit, h.statutory_due) == ("5 working days", date(2026, 12, 15))  # unknown: the longer
    clock.advance(hours=2)
    case = engine.fire(case.id, "accept", actor=CLERK, data={**PARTIES, "channel": "online"})
    h = case.clocks["handling"]
    assert (h.limit, h.started_on, h.statutory_due, h.commitment_due) == (
        "2 working days", date(2026, 12, 8), date(2026, 12, 10), date(2026, 12, 9))
    assert engine.get_case(case.id).clocks["handling"] == h  # as stored
    assert pending(engine, case.id) == {
        "warning": at("2026-12-09"), "overdue": at("2026-12-10"), "over_statutory": at("2026-12-11")}
    accept = engine.history(case.id)[-1]
    assert accept.trigger == "accept"
    assert accept.data["limits_changed"] == {"handling": {
        "field": "channel", "value": "online", "from": "5 working days", "to": "2 working days",
        "before": {"statutory_due": "2026-12-15", "commitment_due": "2026-12-11", "provisional": False},
        "after": {"statutory_due": "2026-12-10", "commitment_due": "2026-12-09", "provisional": False},
    }}
    # a supervisor's correction undoes the acceptance and its limit with it
    case = engine.correct(case.id, actor=BOSS, reason="渠道选错")
    assert (case.state, case.clocks["handling"].limit, case.clocks["handling"].statutory_due) == (
        "received", "5 working days", date(2026, 12, 15))
    assert pending(engine, case.id)["over_statutory"] == at("2026-12-16")
    # paper chooses the limit the clock already counts: nothing changes, nothing is recorded
    case = engine.fire(case.id, "accept", actor=CLERK, data={**PARTIES, "channel": "paper"})
    assert case.clocks["handling"].statutory_due == date(2026, 12, 15)
    assert "limits_changed" not in engine.history(case.id)[-1].data
    assert verify_history(engine.store) == []


def test_a_shorter_limit_already_past_escalates_once(shipped, store_url):
    engine, clock = shipped
    case = engine.open_case(PLEDGE, actor=CLERK, data={})
    clock.at = datetime(2026, 12, 11, 9, 0, tzinfo=TZ)  # Fri: 3 working days after receipt
    # under 5 working days (commitment Fri 12-11) it is yellow since Thu 00:00
    assert [(e.clock, e.level) for e in engine.sweep()] == [("handling", "warning")]
    assert engine.get_case(case.id).clocks["handling"].sla == "warning"
    case = engine.fire(case.id, "accept", actor=CLERK, data={**PARTIES, "channel": "online"})
    h = case.clocks["handling"]
    assert (h.statutory_due, h.sla, case.sla) == (date(2026, 12, 10), "over_statutory", "over_statutory")
    assert pending(engine, case.id) == {"overdue": at("2026-12-10"), "over_statutory": at("2026-12-11")}
    fired = [(e.clock, e.level) for e in engine.sweep()]  # the warning has fired already: not again
    assert fired == [("handling", "overdue"), ("handling", "over_statutory")]
    assert engine.sweep() == []
    clock.advance(days=3)
    assert engine.sweep() == []
    kinds = [(e.kind, e.data.get("level")) for e in engine.history(case.id) if e.kind == "escalation"]
    assert kinds == [("escalation", "warning"), ("escalation", "overdue"), ("escalation", "over_statutory")]
    if not store_url.startswith("memory"):  # the board's counters saw the case turn red
        from adapters.sql import counters

        assert counters.differences(engine.store) == {}
    # decided late: judged against the limit the law gives an online filing
    clock.advance(days=1)
    case = engine.fire(case.id, "approve", actor=EXAMINER)
    assert case.clocks["handling"].sla == "met_over_statutory"


def test_a_channel_given_while_paused_keeps_the_pause(shipped):
    engine, clock = shipped
    case = engine.open_case(PLEDGE, actor=CLERK, data={})
    clock.at = datetime(2026, 12, 9, 10, 0, tzinfo=TZ)  # Wed: one working day used
    case = engine.fire(case.id, "request_supplement", actor=CLERK,
                       data={"supplement_items": "质押合同原件", "channel": "online"})
    h = case.clocks["handling"]
    # it holds the level it reached on its pause day under 2 working days (commitment Wed 12-09:
    # yellow from its 00:00), not the green it had under 5
    assert (h.status, h.limit, h.sla) == ("paused", "2 working days", "warning")
    assert pending(engine, case.id) == {}
    clock.at = datetime(2026, 12, 14, 10, 0, tzinfo=TZ)  # Mon: the supplement comes
    case = engine.fire(case.id, "resubmit", actor=CLERK)
    h = case.clocks["handling"]
    # one working day used before the pause (12-09), one left from the resume: Tue 12-15; the
    # commitment's one day was the one used
    assert (h.status, h.used_units, h.statutory_due, h.commitment_due, h.sla) == (
        "running", 1, date(2026, 12, 15), date(2026, 12, 9), "overdue")
    assert pending(engine, case.id) == {
        "warning": at("2026-12-09"), "overdue": at("2026-12-10"), "over_statutory": at("2026-12-16")}


def test_any_field_chosen_limit_follows_its_field(shipped):
    """Not a pledge rule: a TISC request's kind of service, changed at assignment, sets its limit."""
    engine, clock = shipped
    case = engine.open_case("ip_service_request", actor=CLERK, data={
        "applicant": "武汉某公司", "contact": "张三 13800000000", "channel": "tisc",
        "service_type": "consultation", "request": "咨询"})
    assert (case.clocks["handling"].limit, case.clocks["handling"].statutory_due) == (
        "5 working days", date(2026, 12, 15))
    case = engine.fire(case.id, "accept", actor=CLERK)
    case = engine.fire(case.id, "assign", actor=BOSS, data={"provider": "李四", "service_type": "patent_search"})
    h = case.clocks["handling"]
    assert (h.limit, h.started_on, h.statutory_due) == ("10 working days", date(2026, 12, 8), date(2026, 12, 22))
    assert engine.history(case.id)[-1].data["limits_changed"]["handling"]["to"] == "10 working days"
    assert pending(engine, case.id)["over_statutory"] == at("2026-12-23")
