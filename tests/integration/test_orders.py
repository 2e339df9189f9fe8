"""督办 (supervision orders, issue 18 part 6) in the engine, on memory, SQLite and PostgreSQL:
the reply's last day on the working-day calendar, the reply, the escalation to the leaders
exactly once through the sweep, the history and the scope."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from adapters import build_engine
from workflow import Actor
from workflow.errors import (
    CaseNotFound,
    Forbidden,
    IdempotencyMismatch,
    MissingData,
    TransitionNotAllowed,
)

PLEDGE = Path(__file__).resolve().parents[1] / "fixtures" / "pledge.yaml"
CLERK = Actor("c1", {"clerk"}, "420100")
EXAMINER = Actor("e1", {"examiner"}, "420100")
SUPERVISOR = Actor("s1", {"supervisor"}, "420100")
LEADER = Actor("l1", {"leader"}, "420000")
YICHANG_SUPERVISOR = Actor("s5", {"supervisor"}, "420500")
YICHANG_CLERK = Actor("c5", {"clerk"}, "420500")
PROVINCE_CLERK = Actor("c0", {"clerk"}, "420000")
PORTAL = Actor("hubei.portal", {"portal"}, "420000")


@pytest.fixture
def engine(store_url, freezer):
    freezer.move_to("2024-03-04 10:00:00+08:00")  # Monday
    return build_engine(store_url, definitions=[PLEDGE])


def _issue(engine, case_id, days=3, actor=SUPERVISOR, **kw):
    return engine.issue_order(case_id, actor=actor, reason="群众反映办理缓慢", action="说明进展并加快办理",
                              reply_days=days, **kw)


def test_due_counts_working_days_from_the_day_after(engine, freezer):
    case = engine.open_case("pledge", actor=CLERK)
    order = _issue(engine, case.id, 3)
    assert (order.status, order.due) == ("open", date(2024, 3, 7))  # Mon → Tue, Wed, Thu
    freezer.move_to("2024-03-08 15:00:00+08:00")  # Friday: Mon 03-11, Tue 03-12
    assert _issue(engine, case.id, 2).due == date(2024, 3, 12)
    freezer.move_to("2024-04-03 09:00:00+08:00")  # Wed before Qingming (04-04..06 off, Sun 04-07 worked)
    assert _issue(engine, case.id, 2, actor=LEADER).due == date(2024, 4, 8)


def test_reply_answers_once_and_history_records_both(engine):
    case = engine.open_case("pledge", actor=CLERK)
    order = _issue(engine, case.id)
    answered = engine.answer_order(case.id, order.id, actor=EXAMINER, text="已补齐材料，明日办结")
    assert (answered.status, answered.reply, answered.on_time) == ("answered", "已补齐材料，明日办结", True)
    with pytest.raises(TransitionNotAllowed):
        engine.answer_order(case.id, order.id, actor=CLERK, text="再次答复")
    kinds = [e.kind for e in engine.history(case.id)]
    assert kinds[-2:] == ["order_issued", "order_answered"]
    issued = engine.history(case.id)[-2]
    assert issued.data["reason"] == "群众反映办理缓慢" and issued.actor_id == "s1"
    assert [o.status for o in engine.case_orders(case.id, CLERK)] == ["answered"]
    assert engine.orders(SUPERVISOR, status="open") == []


def test_roles_scope_and_bad_input(engine):
    case = engine.open_case("pledge", actor=CLERK)
    before = engine.history(case.id)
    with pytest.raises(Forbidden):
        _issue(engine, case.id, actor=CLERK)
    with pytest.raises(CaseNotFound):
        _issue(engine, case.id, actor=YICHANG_SUPERVISOR)
    with pytest.raises(MissingData) as bad:
        engine.issue_order(case.id, actor=SUPERVISOR, reason=" ", action="", reply_days=0)
    assert set(bad.value.fields) == {"reason", "action", "reply_days"}
    for days in (61, -1, True, 2.5, "x", "3", 3.0, None):
        with pytest.raises(MissingData):
            _issue(engine, case.id, days)
    assert engine.history(case.id) == before  # nothing written by a refused call
    order = _issue(engine, case.id)
    with pytest.raises(CaseNotFound):  # another city
        engine.answer_order(case.id, order.id, actor=YICHANG_CLERK, text="答复")
    with pytest.raises(CaseNotFound):  # the province sees the case, but the order is Wuhan's to answer
        engine.answer_order(case.id, order.id, actor=PROVINCE_CLERK, text="答复")
    with pytest.raises(Forbidden):
        engine.answer_order(case.id, order.id, actor=SUPERVISOR, text="答复")
    with pytest.raises(MissingData):
        engine.answer_order(case.id, order.id, actor=CLERK, text="  ")
    assert [o.id for o in engine.orders(LEADER, status="open")] == [order.id]
    assert engine.orders(YICHANG_SUPERVISOR) == []


def test_idempotent_issue_and_reply(engine):
    case = engine.open_case("pledge", actor=CLERK)
    first = _issue(engine, case.id, idempotency_key="k1")
    again = _issue(engine, case.id, idempotency_key="k1")
    assert again.id == first.id and len(engine.case_orders(case.id)) == 1
    with pytest.raises(IdempotencyMismatch):
        _issue(engine, case.id, 5, idempotency_key="k1")
    a = engine.answer_order(case.id, first.id, actor=CLERK, text="好", idempotency_key="r1")
    b = engine.answer_order(case.id, first.id, actor=CLERK, text="好", idempotency_key="r1")
    assert a.answered_at == b.answered_at and b.status == "answered"


def test_unanswered_order_escalates_to_the_leaders_once(engine, freezer):
    case = engine.open_case("pledge", actor=CLERK)
    late = _issue(engine, case.id, 1)  # due Tue 03-05
    answered = _issue(engine, case.id, 1)
    engine.answer_order(case.id, answered.id, actor=CLERK, text="已办")
    engine.fire(case.id, "accept", actor=CLERK)  # rewriting the case's deadlines keeps the order's
    freezer.move_to("2024-03-05 23:59:59+08:00")
    assert [e for e in engine.sweep() if e.clock.startswith("order:")] == []
    freezer.move_to("2024-03-06 00:00:00+08:00")
    fired = [e for e in engine.sweep() if e.clock.startswith("order:")]
    assert [(e.clock, e.level) for e in fired] == [(f"order:{late.id}", "overdue")]
    freezer.move_to("2024-03-07 10:00:00+08:00")
    assert [e for e in engine.sweep() if e.clock.startswith("order:")] == []  # a second sweep: nothing
    assert [e.kind for e in engine.history(case.id)].count("order_escalated") == 1
    (order,) = [o for o in engine.case_orders(case.id) if o.id == late.id]
    assert order.escalated_at is not None and order.overdue_at(engine.now())
    with engine.store.unit_of_work() as uow:
        sent = [m for m in uow.list_outbox(limit=1000) if m.topic == "order_overdue"]
    assert len(sent) == 1
    from adapters.notify import render

    subject, body = render(sent[0])
    assert subject.startswith("【督办逾期未答复】") and "群众反映办理缓慢" in body
    assert {"role": "leader", "org": "420100"} in sent[0].payload["audience"]
    assert engine.open_order_counts(SUPERVISOR) == {"open": 1, "overdue": 1}
    late_reply = engine.answer_order(case.id, late.id, actor=CLERK, text="迟复")
    assert late_reply.on_time is False


def test_a_transferred_case_takes_its_orders(engine):
    case = engine.open_case("pledge", actor=CLERK)
    order = _issue(engine, case.id)
    engine.transfer(case.id, "420500", actor=LEADER, reason="管辖")
    assert [o.id for o in engine.orders(YICHANG_SUPERVISOR)] == [order.id]
    assert engine.orders(SUPERVISOR) == []
    assert engine.answer_order(case.id, order.id, actor=YICHANG_CLERK, text="已接手").status == "answered"


def test_0009_adds_the_orders_table_and_downgrades(sql_url):
    from adapters.sql import upgrade
    from adapters.sql.migrate import HEAD
    from tests.backends import downgrade

    engine = build_engine(sql_url, definitions=[PLEDGE])
    case = engine.open_case("pledge", actor=CLERK)
    _issue(engine, case.id)
    engine.store.dispose()
    names = downgrade(sql_url, "0008")
    assert "@0008" in names and "cases" in names
    assert not {"orders", "ix_orders_case_id"} & names
    assert upgrade(sql_url) == HEAD
    again = build_engine(sql_url, definitions=[PLEDGE])
    assert again.case_orders(case.id) == []  # the table is back, empty
    assert _issue(again, case.id).status == "open"


def test_monthly_report_counts_orders_issued_on_time_and_overdue(engine, freezer):
    from adapters.reports import ReportService, columns, to_csv

    case = engine.open_case("pledge", actor=CLERK)
    on_time, late, silent = (_issue(engine, case.id, 1) for _ in range(3))  # due Tue 03-05
    engine.answer_order(case.id, on_time.id, actor=CLERK, text="按时")
    freezer.move_to("2024-03-06 09:00:00+08:00")
    engine.sweep()
    engine.answer_order(case.id, late.id, actor=CLERK, text="迟复")
    freezer.move_to("2024-04-02 09:00:00+08:00")
    reports = ReportService(engine)
    march = reports.generate(2024, 3)
    line = march.line("420100")
    assert line is not None
    assert {k: line.measures[k] for k in ("orders_issued", "orders_answered_on_time", "orders_overdue")} == {
        "orders_issued": 3, "orders_answered_on_time": 1, "orders_overdue": 2}
    assert line.measures["escalations"]["overdue"] == 0  # an order's escalation is no clock's breach
    assert silent.status == "open"
    april = reports.generate(2024, 4)  # a month with no order: the same columns, in the same order
    assert to_csv(april).splitlines()[0] == to_csv(march).splitlines()[0]
    assert [h for _, h in columns()][-3:] == ["督办数", "督办按时答复数", "督办逾期数"]


def test_closing_the_case_lapses_its_open_orders_which_never_escalate(engine, freezer):
    case = engine.open_case("pledge", actor=CLERK)
    open_one = _issue(engine, case.id, 1)  # due Tue 03-05
    answered = _issue(engine, case.id, 1)
    engine.answer_order(case.id, answered.id, actor=CLERK, text="已办")
    engine.fire(case.id, "accept", actor=CLERK)
    engine.fire(case.id, "approve", actor=EXAMINER)  # closed on Mon 03-04, before the order's last day
    orders = {o.id: o for o in engine.case_orders(case.id)}
    lapsed = orders[open_one.id]
    assert (lapsed.status, lapsed.on_time, lapsed.answered_by) == ("lapsed", None, "system")
    assert lapsed.overdue_at(engine.now()) is False and lapsed.to_dict()["status_label"] == "已失效（案件已办结）"
    assert orders[answered.id].status == "answered"  # an answered one stays answered
    kinds = [e.kind for e in engine.history(case.id)]
    assert kinds[-1] == "order_lapsed" and kinds.count("order_lapsed") == 1
    assert [d.state for d in engine.deadlines(case.id) if d.clock == open_one.clock] == ["cancelled"]
    freezer.move_to("2024-03-06 00:00:00+08:00")
    assert [e for e in engine.sweep() if e.clock.startswith("order:")] == []
    assert "order_escalated" not in [e.kind for e in engine.history(case.id)]
    assert engine.open_order_counts(SUPERVISOR) == {"open": 0, "overdue": 0}
    assert [o.status for o in engine.orders(SUPERVISOR, status="lapsed")] == ["lapsed"]


def test_the_sweep_lapses_an_open_order_it_finds_on_a_closed_case(engine, freezer):
    """An order left open on a case closed before closing lapsed orders: moot, never escalated."""
    from dataclasses import replace

    case = engine.open_case("pledge", actor=CLERK)
    order = _issue(engine, case.id, 1)
    engine.fire(case.id, "accept", actor=CLERK)
    engine.fire(case.id, "approve", actor=EXAMINER)
    with engine.store.unit_of_work() as uow:  # as the data of before the fix left it
        engine.order_store.save(uow, replace(engine.order_store.get(uow, order.id), status="open",
                                             answered_at=None, answered_by=None))
        for dl in uow.deadlines(case.id):
            if dl.clock == order.clock:
                uow.replace_deadlines(case.id, [replace(dl, state="pending")])
        uow.commit()
    assert [d.state for d in engine.deadlines(case.id) if d.clock == order.clock] == ["pending"]
    freezer.move_to("2024-03-06 00:00:00+08:00")
    assert [e for e in engine.sweep() if e.clock.startswith("order:")] == []
    assert engine.case_orders(case.id)[0].status == "lapsed"
    assert "order_escalated" not in [e.kind for e in engine.history(case.id)]


def _count_deadline_writes(engine, monkeypatch) -> list[str]:
    """The case ids of every ``replace_deadlines`` from now on (the store's units of work)."""
    calls: list[str] = []
    uow_class = type(engine.store.unit_of_work())
    real = uow_class.replace_deadlines

    def counting(uow, case_id, wanted):
        calls.append(case_id)
        return real(uow, case_id, wanted)

    monkeypatch.setattr(uow_class, "replace_deadlines", counting)
    return calls


def test_loading_a_calendar_recounts_an_open_order_s_reply_deadline(engine, freezer, tmp_path, monkeypatch):
    freezer.move_to("2026-12-28 10:00:00+08:00")  # Mon; 2027 is not in the official data yet
    case = engine.open_case("pledge", actor=CLERK)
    order = _issue(engine, case.id, 5)
    # 12-29, 12-30, 12-31, (元旦 01-01 off by law) Mon 01-04, Tue 01-05: provisional
    assert (order.due, order.provisional) == (date(2027, 1, 5), True)
    path = tmp_path / "2027.yaml"
    path.write_text("year: 2027\nsource: 国务院办公厅关于2027年部分节假日安排的通知（测试）\n"
                    "holidays: [2027-01-01, 2027-01-04]\nworkdays: []\n", encoding="utf-8")
    freezer.move_to("2026-12-29 09:00:00+08:00")
    writes = _count_deadline_writes(engine, monkeypatch)
    assert case.id in engine.load_calendar(path)
    assert writes.count(case.id) == 1  # the case's rows and its moved order's, written once
    (moved,) = engine.case_orders(case.id)
    # 01-04 off too: Tue 01-05 is the 4th working day, Wed 01-06 the 5th
    assert (moved.due, moved.provisional, moved.status) == (date(2027, 1, 6), False, "open")
    assert moved.due_at.isoformat() == "2027-01-07T00:00:00+08:00"
    ev = [e for e in engine.history(case.id) if e.kind == "calendar_recomputed"][-1]
    assert ev.data["orders"][order.id] == {"before": {"due": "2027-01-05", "provisional": True},
                                           "after": {"due": "2027-01-06", "provisional": False}}
    # a portal sees the recount of the case's clocks, not the order it moved (the office's own)
    (seen,) = [e for e in engine.history(case.id, PORTAL) if e.kind == "calendar_recomputed"]
    assert "orders" not in seen.data and seen.data["year"] == 2027 and order.id not in str(seen)
    assert not {e.kind for e in engine.history(case.id, PORTAL)} & {"order_issued"}
    assert "orders" in engine.history(case.id, CLERK)[-1].data
    freezer.move_to("2027-01-06 23:59:00+08:00")  # the old due_at (01-06 00:00) has passed: nothing
    assert [e for e in engine.sweep() if e.clock.startswith("order:")] == []
    freezer.move_to("2027-01-07 00:00:00+08:00")
    assert [e.clock for e in engine.sweep() if e.clock.startswith("order:")] == [order.clock]


def test_orders_page_after_the_last_one_handed_out(engine, freezer):
    case = engine.open_case("pledge", actor=CLERK)
    first = _issue(engine, case.id)
    freezer.move_to("2024-03-04 11:00:00+08:00")
    same_instant = [_issue(engine, case.id) for _ in range(2)]  # frozen time: ordered by id
    freezer.move_to("2024-03-05 10:00:00+08:00")
    later = _issue(engine, case.id)
    everything = [o.id for o in engine.orders(SUPERVISOR)]
    assert everything[0] == first.id and everything[-1] == later.id and len(everything) == 4
    assert sorted(everything[1:3]) == everything[1:3] == sorted(o.id for o in same_instant)
    page = engine.orders(SUPERVISOR, limit=2)
    rest = engine.orders(SUPERVISOR, limit=2, after=(page[-1].issued_at, page[-1].id))
    assert [o.id for o in page + rest] == everything
    assert engine.orders(SUPERVISOR, after=(later.issued_at, later.id)) == []


def test_replying_to_a_lapsed_order_says_it_lapsed(engine):
    case = engine.open_case("pledge", actor=CLERK)
    order = _issue(engine, case.id)
    engine.fire(case.id, "accept", actor=CLERK)
    engine.fire(case.id, "approve", actor=EXAMINER)
    with pytest.raises(TransitionNotAllowed, match="已失效（案件已办结）"):
        engine.answer_order(case.id, order.id, actor=CLERK, text="答复")
