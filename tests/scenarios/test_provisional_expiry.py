"""A party's right is never taken on a guess (DESIGN rule 10, issue 15 points 2 and 4).

A party clock whose last day is provisional (its year has no notice loaded) does not fire its
``on_expire`` transition: the sweep holds the expiry (an event, a notice to the clerk, a mark on
the clock), and the transition fires once the year is loaded and the confirmed last day has passed,
or when a clerk confirms it with a reason. Office clocks keep escalating on provisional dates.

Dates worked by hand: 2099-12-17 is a Thursday; 15 days later is Fri 2100-01-01 (元旦 by law), so
the last day moves to Mon 2100-01-04 and the period expires at 2100-01-05 00:00. 30 days from
2026-12-02 is Fri 2027-01-01 (元旦), so that party's last day is Mon 2027-01-04.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from adapters import build_engine
from adapters.notify import render
from tests.engine_support import CLERK, EXAMINER, SUPERVISOR, at, snapshot
from workflow import Actor, Engine, errors

ADMIN = Actor("admin-1", {"admin"}, "420000", "管理员")

ANSWER = """\
id: t_answer
version: 1
name: 测试答辩
kind: dispute_case
legal_basis: ["《测试办法》第一条"]
number_prefix: TDB
initial: filed
states:
  filed: {label: 已立案, roles: [clerk]}
  awaiting_answer: {label: 待答辩, roles: [clerk]}
  hearing: {label: 审理中, roles: [examiner]}
  closed: {label: 已结案, final: true}
transitions:
  - trigger: serve
    source: filed
    dest: awaiting_answer
    roles: [clerk]
    fields:
      - {name: served_on, type: date, label: 送达日期, required: true}
  - {trigger: answer_received, source: awaiting_answer, dest: hearing, roles: [clerk]}
  - {trigger: no_answer, source: awaiting_answer, dest: hearing, roles: [system], label: 逾期未答辩}
  - {trigger: close, source: hearing, dest: closed, roles: [examiner]}
clocks:
  handling: {limit: 5 working days, start: filed, stop: [closed], label: 办理期限}
  answer: {limit: LIMIT, start: awaiting_answer, stop: [hearing, closed], party: true,
           start_from: served_on, on_expire: no_answer, label: 答辩期}
"""


def override(tmp_path: Path, year: int, holidays: list[str], name: str = "") -> Path:
    path = tmp_path / (name or f"{year}.yaml")
    path.write_text(
        f"year: {year}\nsource: 国务院办公厅关于{year}年部分节假日安排的通知（测试）\n"
        f"holidays: [{', '.join(holidays)}]\nworkdays: []\n", encoding="utf-8")
    return path


@pytest.fixture
def defs(tmp_path: Path) -> Path:
    folder = tmp_path / "defs"
    folder.mkdir()
    (folder / "t_answer.yaml").write_text(ANSWER.replace("LIMIT", "15 days"), encoding="utf-8")
    (folder / "t_answer30.yaml").write_text(
        ANSWER.replace("LIMIT", "30 days").replace("t_answer", "t_answer30").replace("TDB", "TDC"),
        encoding="utf-8")
    return folder


@pytest.fixture
def engine(defs: Path, store_url: str) -> Engine:
    """On every store: a held expiry is a deadline row in state ``held`` (memory, SQLite,
    PostgreSQL), taken back to ``pending`` when the case's deadlines are rewritten."""
    return build_engine(store_url, definitions=[defs])


def served(engine: Engine, item: str, on: str) -> str:
    case = engine.open_case(item, actor=CLERK)
    engine.fire(case.id, "serve", actor=CLERK, data={"served_on": on})
    return case.id


def kinds(engine: Engine, case_id: str) -> list[str]:
    return [e.kind for e in engine.history(case_id)]


def test_contract_a_provisional_last_day_holds_until_the_year_is_loaded(engine, tmp_path, freezer):
    freezer.move_to(at("2099-12-17 10:00"))
    cid = served(engine, "t_answer", "2099-12-17")
    clock = engine.get_case(cid).clocks["answer"]
    assert clock.statutory_due == date(2100, 1, 4)  # 元旦 Fri 01-01 moved to the next working day
    assert clock.expires_at == at("2100-01-05 00:00")
    assert clock.statutory_provisional and clock.expiry_provisional and not clock.awaiting_calendar

    freezer.move_to(at("2100-01-05 09:00"))
    fired = engine.sweep()  # the office clock's levels fire; the party's expiry is held
    assert [e for e in fired if e.clock == "answer"] == []
    case = engine.get_case(cid)
    assert case.state == "awaiting_answer"  # the party keeps its right for now
    assert case.clocks["answer"].awaiting_calendar and case.clocks["answer"].sla == "expired"
    pending = [e for e in engine.history(cid) if e.kind == "expiry_pending_calendar"]
    assert len(pending) == 1
    assert pending[0].data["clock"] == "answer" and pending[0].data["last_day"] == "2100-01-04"
    assert pending[0].actor_id == "system"
    with engine.store.unit_of_work() as uow:
        notices = [m for m in uow.claim_outbox(at("2100-01-05 09:00"), 50)
                   if m.topic == "expiry_pending_calendar"]
    assert len(notices) == 1 and notices[0].payload["number"] == case.number
    assert notices[0].payload["audience"] == [{"role": "clerk", "org": CLERK.org}]
    subject, body = render(notices[0])  # what the clerk reads (mail, webhook text)
    assert subject == f"【期间届满待确认】{case.number} 测试答辩"
    assert "答辩期已届满" in body and "2100-01-04（暂定）" in body and "「逾期未答辩」" in body
    assert "2100年节假日安排尚未载入" in body
    assert [d.state for d in engine.deadlines(cid) if d.clock == "answer"] == ["held"]
    # later sweeps, and a rewrite of the case's deadlines, add nothing
    freezer.move_to(at("2100-01-06 09:00"))
    engine.sweep()
    engine.assign(cid, "clerk-wh", actor=SUPERVISOR)
    engine.sweep()
    assert kinds(engine, cid).count("expiry_pending_calendar") == 1
    assert engine.get_case(cid).state == "awaiting_answer"

    # the office loads 2099 (no changes) and 2100 (元旦 listed): the last day is confirmed
    engine.load_calendar(override(tmp_path, 2099, []))
    changed = engine.load_calendar(override(tmp_path, 2100, ["2100-01-01"]), actor=ADMIN)
    assert cid in changed
    clock = engine.get_case(cid).clocks["answer"]
    assert clock.statutory_due == date(2100, 1, 4) and not clock.expiry_provisional
    assert not clock.awaiting_calendar
    recomputed = engine.history(cid)[-1]
    assert recomputed.kind == "calendar_recomputed" and recomputed.actor_id == ADMIN.id
    assert recomputed.data["source"] == "国务院办公厅关于2100年部分节假日安排的通知（测试）"
    # the next sweep fires on_expire, as the engine's own actor
    fired = engine.sweep()
    assert [(e.case_id, e.clock, e.level) for e in fired] == [(cid, "answer", "expired")]
    case = engine.get_case(cid)
    assert case.state == "hearing"
    last = engine.history(cid)[-2:]
    assert [(e.kind, e.trigger, e.actor_id) for e in last] == [
        ("escalation", None, "system"), ("transition", "no_answer", "system")]


def test_the_30_day_period_served_2026_12_02_does_not_lapse_on_2027_01_02(engine, freezer):
    freezer.move_to(at("2026-12-02 10:00"))
    cid = served(engine, "t_answer30", "2026-12-02")
    clock = engine.get_case(cid).clocks["answer"]
    assert clock.statutory_due == date(2027, 1, 4) and clock.expiry_provisional
    for moment in ("2027-01-02 00:00", "2027-01-02 09:00", "2027-01-04 23:59"):
        freezer.move_to(at(moment))
        engine.sweep()
        assert engine.get_case(cid).state == "awaiting_answer", moment
        assert "expiry_pending_calendar" not in kinds(engine, cid), moment
    # after the (provisional) last day the expiry is held, not fired
    freezer.move_to(at("2027-01-05 00:00"))
    engine.sweep()
    case = engine.get_case(cid)
    assert case.state == "awaiting_answer" and case.clocks["answer"].awaiting_calendar


def test_a_notice_that_moves_the_last_day_later_gives_the_party_the_days(engine, tmp_path, freezer):
    freezer.move_to(at("2099-12-17 10:00"))
    cid = served(engine, "t_answer", "2099-12-17")
    freezer.move_to(at("2100-01-05 09:00"))
    engine.sweep()
    assert engine.get_case(cid).clocks["answer"].awaiting_calendar
    # a (made-up) notice that also gives Mon 01-04 off: the last day is Tue 01-05, today
    engine.load_calendar(override(tmp_path, 2100, ["2100-01-01", "2100-01-04"]))
    clock = engine.get_case(cid).clocks["answer"]
    assert clock.statutory_due == date(2100, 1, 5) and clock.sla == "on_track"
    assert not clock.awaiting_calendar and not clock.expiry_provisional
    assert engine.sweep() == []
    assert engine.get_case(cid).state == "awaiting_answer"
    freezer.move_to(at("2100-01-06 00:00"))
    assert [(e.clock, e.level) for e in engine.sweep()] == [("answer", "expired")]
    assert engine.get_case(cid).state == "hearing"


def test_a_clerk_confirms_the_expiry_with_a_reason(engine, freezer):
    freezer.move_to(at("2099-12-17 10:00"))
    cid = served(engine, "t_answer", "2099-12-17")
    # nothing to confirm before the sweep held the expiry
    with pytest.raises(errors.TransitionNotAllowed, match="not waiting for the calendar"):
        engine.confirm_expiry(cid, "answer", actor=CLERK, reason="已过期")
    freezer.move_to(at("2100-01-05 09:00"))
    engine.sweep()
    before = snapshot(engine, cid)
    # refusals leave the case exactly as it was
    with pytest.raises(errors.MissingData, match="reason"):
        engine.confirm_expiry(cid, "answer", actor=CLERK, reason="  ")
    with pytest.raises(errors.Forbidden):
        engine.confirm_expiry(cid, "answer", actor=EXAMINER, reason="已过期")
    with pytest.raises(errors.TransitionNotAllowed, match="no party or external clock"):
        engine.confirm_expiry(cid, "handling", actor=CLERK, reason="已过期")
    with pytest.raises(errors.VersionConflict):
        engine.confirm_expiry(cid, "answer", actor=CLERK, reason="已过期", expected_version=1)
    assert snapshot(engine, cid) == before

    case = engine.confirm_expiry(cid, "answer", actor=CLERK,
                                 reason="国务院2100年通知已发布，元旦仅放1月1日一天")
    assert case.state == "hearing" and case.clocks["answer"].status == "stopped"
    assert not case.clocks["answer"].awaiting_calendar
    tail = engine.history(cid)[-3:]
    assert [(e.kind, e.trigger, e.actor_id) for e in tail] == [
        ("escalation", None, "system"), ("expiry_confirmed", None, CLERK.id),
        ("transition", "no_answer", "system")]
    assert tail[1].data["reason"] == "国务院2100年通知已发布，元旦仅放1月1日一天"
    assert tail[1].data["last_day"] == "2100-01-04" and tail[1].data["provisional"] is True
    assert [d.state for d in engine.deadlines(cid) if d.clock == "answer"] == ["fired"]
    # done once: the next sweep has nothing for it, and it cannot be confirmed again
    assert engine.sweep() == []
    with pytest.raises(errors.TransitionNotAllowed):
        engine.confirm_expiry(cid, "answer", actor=CLERK, reason="再次确认")


def test_office_clocks_keep_escalating_on_provisional_dates(tmp_path, freezer):
    from tests.engine_support import make_engine

    engine = make_engine()
    # Mon 2027-01-11 + 5 wd (2027 by law: no holiday in January after 元旦): 12, 13, 14 (3:
    # commitment), 15, 18 -> statutory Mon 01-18; warning Wed 01-13, overdue Fri 01-15
    freezer.move_to(at("2027-01-11 10:00"))
    case = engine.open_case("fx_filing", actor=CLERK)
    clock = case.clocks["handling"]
    assert (clock.statutory_due, clock.commitment_due) == (date(2027, 1, 18), date(2027, 1, 14))
    assert clock.commitment_provisional and clock.statutory_provisional
    freezer.move_to(at("2027-01-15 09:00"))
    assert [e.level for e in engine.sweep()] == ["warning", "overdue"]
    # a (made-up) notice giving Wed 01-13 off: commitment 01-15, statutory 01-19; the fired
    # escalations stay on the record, the pending one moves
    engine.load_calendar(override(tmp_path, 2027, ["2027-01-01", "2027-01-13"]), actor=ADMIN)
    clock = engine.get_case(case.id).clocks["handling"]
    assert (clock.statutory_due, clock.commitment_due) == (date(2027, 1, 19), date(2027, 1, 15))
    assert not clock.statutory_provisional
    rows = {d.level: (d.state, d.due_at) for d in engine.deadlines(case.id)}
    assert rows["warning"][0] == rows["overdue"][0] == "fired"
    assert rows["over_statutory"] == ("pending", at("2027-01-20 00:00"))
    assert [e.kind for e in engine.history(case.id)].count("escalation") == 2
    ev = engine.history(case.id)[-1]
    assert (ev.kind, ev.actor_id) == ("calendar_recomputed", ADMIN.id)
    assert ev.data["source"] == "国务院办公厅关于2027年部分节假日安排的通知（测试）"
    assert str(tmp_path) not in str(ev.data)


def test_a_notice_taken_in_without_a_recompute_releases_the_hold_on_the_next_sweep(engine, freezer):
    """The calendar may change without this engine's ``load_calendar`` (another process stored
    the notice; a library user added it to the calendar): the next sweep looks at the held
    expiries once and fires those whose confirmed last day has passed."""
    from adapters.calendar import parse_override

    freezer.move_to(at("2099-12-17 10:00"))
    cid = served(engine, "t_answer", "2099-12-17")
    freezer.move_to(at("2100-01-05 09:00"))
    engine.sweep()
    assert engine.get_case(cid).clocks["answer"].awaiting_calendar
    engine.sweep()  # nothing changed: nothing to release
    assert engine.get_case(cid).state == "awaiting_answer"
    engine.calendar.add_override(parse_override(
        {"year": 2100, "source": "2100年通知（测试）", "holidays": ["2100-01-01"]}))
    fired = engine.sweep()
    assert [(e.case_id, e.clock, e.level) for e in fired] == [(cid, "answer", "expired")]
    case = engine.get_case(cid)
    assert case.state == "hearing" and not case.clocks["answer"].awaiting_calendar
