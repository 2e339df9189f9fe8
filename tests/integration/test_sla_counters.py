"""The SLA board's counters (table ``sla_counts``, adapters/sql/counters.py) always equal a
GROUP BY over the open cases: after random openings, transitions, sweeps (escalations change a
case's level), corrections, transfers, assignments, withdrawals and rolled-back writes, on SQLite
and PostgreSQL."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from adapters import build_engine
from adapters.sql import counters
from api.demo import SimClock
from workflow import TZ, Actor
from workflow.errors import WorkflowError

PLEDGE = "patent_pledge_registration"
ORGS = ("420100", "420500", "420600")
BOSS = Actor("boss", {"clerk", "examiner", "supervisor", "leader", "admin"}, "420000", "省局")
DATA = {"request_type": "registration", "pledgor": "甲公司", "pledgee": "乙银行",
        "patent_numbers": "ZL202310000001.X"}
FIRE_DATA = {"request_supplement": {"supplement_items": "质押合同原件"}, "refuse": {"reason": "材料不全"}}


def _check(engine) -> dict:
    diff = counters.differences(engine.store)
    assert diff == {}, diff
    return counters.counted(engine.store)


def test_counters_follow_every_case_write(sql_url: str) -> None:
    clock = SimClock()
    clock.at = datetime(2024, 3, 4, 9, 30, tzinfo=TZ)
    engine = build_engine(sql_url, now=clock)
    rng = random.Random(10)
    ids: list[str] = []
    ops = {"open": 0, "fire": 0, "sweep": 0, "escalations": 0, "correct": 0, "transfer": 0, "assign": 0,
           "refused": 0}
    try:
        for round_ in range(12):
            for _ in range(6):
                actor = Actor(f"clerk{round_}", {"clerk", "examiner"}, rng.choice(ORGS))
                ids.append(engine.open_case(PLEDGE, actor=actor,
                                            data={**DATA, "channel": rng.choice(["online", "paper"])}).id)
                ops["open"] += 1
            for cid in rng.sample(ids, min(len(ids), 10)):
                op = rng.random()
                try:
                    if op < 0.55:
                        triggers = engine.available_triggers(cid, actor=BOSS)
                        if triggers:
                            trig = rng.choice(triggers)
                            engine.fire(cid, trig, actor=BOSS, data=FIRE_DATA.get(trig))
                            ops["fire"] += 1
                    elif op < 0.7:
                        engine.correct(cid, actor=BOSS, reason="录入错误")
                        ops["correct"] += 1
                    elif op < 0.85:
                        case = engine.get_case(cid)
                        engine.transfer(cid, rng.choice([o for o in ORGS if o != case.org]), actor=BOSS,
                                        reason="管辖调整")
                        ops["transfer"] += 1
                    else:
                        engine.assign(cid, f"officer{rng.randrange(3)}", actor=BOSS)
                        ops["assign"] += 1
                except WorkflowError:
                    ops["refused"] += 1  # not allowed here (closed, nothing to correct…): nothing changed
            # time passes: levels move to warning, overdue, over the statutory limit
            clock.at += timedelta(days=rng.choice([1, 2, 3]), hours=rng.randrange(8))
            ops["escalations"] += len(engine.sweep())
            ops["sweep"] += 1
            _check(engine)
        # a write rolled back leaves the counters alone
        store = engine.store
        with store.unit_of_work() as uow:
            rec = next(r for r in (uow.get_case(i, for_update=True) for i in ids) if r and r.closed_at is None)
            before = rec.version
            rec.sla, rec.version = "over_statutory", rec.version + 1
            uow.save_case(rec, before)
            # no commit: rolled back on leaving the block
        counted = _check(engine)
        levels = {k[2] for k in counted}
        assert ops["escalations"] > 0 and len(levels) >= 3, (ops, counted)
        assert ops["correct"] and ops["transfer"] and ops["fire"] > 20, ops
        assert sum(counted.values()) == len(engine.list_cases(open=True))
        # the board's figures are the counters
        assert sorted(store.count_open_by_sla(orgs=frozenset(ORGS))) == sorted(
            (o, i, lvl, n) for (o, i, lvl), n in counted.items())
        assert store.count_open_by_sla(orgs=frozenset({"420100"}), item_id="nothing") == []
        # a bulk load that bypassed the store is repaired by a recount
        with store.unit_of_work() as uow:
            uow.execute("DELETE FROM sla_counts")
            uow.commit()
        assert counters.differences(store)
        assert counters.recount(store) == sum(counted.values())
        assert _check(engine) == counted
    finally:
        engine.store.dispose()


def test_save_case_without_a_prior_read_moves_the_counter(sql_url: str) -> None:
    """``save_case`` of a record this unit of work did not read still moves the right counter."""
    engine = build_engine(sql_url)
    try:
        case = engine.open_case(PLEDGE, actor=BOSS, data={**DATA, "channel": "paper"})
        store = engine.store
        with store.unit_of_work() as uow:
            rec = uow.get_case(case.id)
        with store.unit_of_work() as uow:  # a fresh unit of work: nothing read
            rec.sla, before = "warning", rec.version
            rec.version += 1
            uow.save_case(rec, before)
            uow.commit()
        assert counters.counted(store) == {("420000", PLEDGE, "warning"): 1}
        _check(engine)
    finally:
        engine.store.dispose()


@pytest.mark.parametrize("level", ["overdue", "over_statutory", "deemed_accepted"])  # the list's three
@pytest.mark.parametrize("orgs", [ORGS, ("420500",)])
def test_breach_query_uses_a_partial_index(sql_url: str, level: str, orgs: tuple[str, ...]) -> None:
    from adapters.sql.query import case_query
    from workflow.ports import CaseQuery

    engine = build_engine(sql_url)
    try:
        store = engine.store
        sql, params = case_query(CaseQuery(orgs=frozenset(orgs), sla=level, open=True, limit=50), store.dialect)
        with store.unit_of_work() as uow:
            if store.is_sqlite:
                uow.execute("ANALYZE", write=False)  # statistics must not lead the planner astray
                plan = " ".join(str(r[-1]) for r in uow.fetch_all("EXPLAIN QUERY PLAN " + sql, params))
            else:
                uow.execute("SET LOCAL enable_seqscan = off", write=False)
                plan = " ".join(r[0] for r in uow.fetch_all("EXPLAIN " + sql, params))
            assert "_breaches" in plan and "SORT" not in plan.upper(), plan
    finally:
        engine.store.dispose()
