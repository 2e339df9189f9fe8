"""The store contract, through the public Engine: every backend behaves the same."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from adapters import build_engine
from adapters.sql import verify_history
from tests.contract.conftest import BOSS, CLERK, EXAMINER
from workflow.errors import IdempotencyMismatch, MissingData, TransitionNotAllowed, VersionConflict
from workflow.legaltime import TZ


def test_open_fire_history_and_chain(engine):
    case = engine.open_case("pledge", actor=CLERK, data={"applicant": "甲公司"})
    assert case.state == "received" and case.version == 1
    assert case.opened_at.tzinfo is not None
    case = engine.fire(case.id, "accept", actor=CLERK)
    case = engine.fire(case.id, "approve", actor=EXAMINER)
    assert (case.state, case.version, case.final) == ("registered", 3, True)
    again = engine.get_case(case.id)
    assert again.to_dict() == case.to_dict()
    history = engine.history(case.id)
    assert [(e.seq, e.kind, e.trigger) for e in history] == [
        (1, "opened", None), (2, "transition", "accept"), (3, "transition", "approve")
    ]
    assert history[0].data == {"applicant": "甲公司"}
    assert history[1].at == engine.now() and history[1].at.utcoffset() == timedelta(hours=8)
    assert all(e.hash == e.compute_hash() for e in history)
    assert [e.prev_hash for e in history[1:]] == [e.hash for e in history[:-1]]
    assert verify_history(engine.store) == []


def test_deadlines_follow_the_case(engine, clock):
    case = engine.open_case("pledge", actor=CLERK)
    pending = [d for d in engine.deadlines(case.id) if d.state == "pending"]
    assert {d.level for d in pending} == {"warning", "overdue", "over_statutory"}
    assert all(d.due_at.tzinfo is not None and d.org == "420100" and d.item_id == "pledge" for d in pending)
    engine.fire(case.id, "accept", actor=CLERK)
    engine.fire(case.id, "request_supplement", actor=EXAMINER, data={"notice": "补正"})
    rows = engine.deadlines(case.id)
    assert rows and all(d.state == "cancelled" for d in rows)  # paused: nothing pending
    clock.advance(days=7)
    engine.fire(case.id, "resubmit", actor=CLERK)
    pending = [d for d in engine.deadlines(case.id) if d.state == "pending"]
    assert {d.level for d in pending} == {"warning", "overdue", "over_statutory"}
    assert min(d.due_at for d in pending) > clock() - timedelta(days=1)
    engine.fire(case.id, "approve", actor=EXAMINER)
    assert all(d.state != "pending" for d in engine.deadlines(case.id))
    assert engine.store.earliest_pending_due() is None


def test_stale_version_conflicts_and_changes_nothing(engine):
    case = engine.open_case("pledge", actor=CLERK)
    engine.fire(case.id, "accept", actor=CLERK, expected_version=1)
    with pytest.raises(VersionConflict):
        engine.fire(case.id, "approve", actor=EXAMINER, expected_version=1)
    assert engine.get_case(case.id).version == 2
    assert len(engine.history(case.id)) == 2


@pytest.mark.parametrize("trigger, actor, data, error", [
    ("approve", EXAMINER, None, TransitionNotAllowed),  # not allowed while received
    ("nonsense", CLERK, None, TransitionNotAllowed),
])
def test_rejected_call_leaves_nothing(engine, trigger, actor, data, error):
    case = engine.open_case("pledge", actor=CLERK)
    before = (engine.get_case(case.id).to_dict(), engine.history(case.id), engine.deadlines(case.id))
    with pytest.raises(error):
        engine.fire(case.id, trigger, actor=actor, data=data)
    assert (engine.get_case(case.id).to_dict(), engine.history(case.id), engine.deadlines(case.id)) == before


def test_rejected_midway_rolls_back(engine):
    case = engine.open_case("pledge", actor=CLERK)
    engine.fire(case.id, "accept", actor=CLERK)
    before = (engine.get_case(case.id).to_dict(), engine.history(case.id), engine.deadlines(case.id))
    with pytest.raises(MissingData):
        engine.fire(case.id, "refuse", actor=EXAMINER)  # needs a reason
    assert (engine.get_case(case.id).to_dict(), engine.history(case.id), engine.deadlines(case.id)) == before


def test_idempotency_keys_replay_the_result(engine):
    case = engine.open_case("pledge", actor=CLERK, idempotency_key="open-1")
    same = engine.open_case("pledge", actor=CLERK, idempotency_key="open-1")
    assert same.id == case.id and len(engine.list_cases()) == 1
    first = engine.fire(case.id, "accept", actor=CLERK, idempotency_key="k-accept")
    replay = engine.fire(case.id, "accept", actor=CLERK, idempotency_key="k-accept")
    assert replay.version == first.version == 2 and replay.state == "under_review"
    assert len(engine.history(case.id)) == 2
    with pytest.raises(IdempotencyMismatch):
        engine.fire(case.id, "approve", actor=CLERK, idempotency_key="k-accept")
    with pytest.raises(IdempotencyMismatch):
        engine.open_case("pledge", actor=CLERK, data={"applicant": "乙"}, idempotency_key="open-1")
    # keys belong to (user, org, operation): the examiner's "k-accept" is a call of its own
    assert engine.fire(case.id, "approve", actor=EXAMINER, idempotency_key="k-accept").state == "registered"


def test_sweep_fires_each_level_once(engine, clock):
    case = engine.open_case("pledge", actor=CLERK)
    engine.fire(case.id, "accept", actor=CLERK)
    assert engine.sweep() == []
    clock.advance(days=30)
    fired = engine.sweep()
    assert [(e.case_id, e.level) for e in fired] == [
        (case.id, "warning"), (case.id, "overdue"), (case.id, "over_statutory")
    ]
    assert all(e.seen == clock() for e in fired)
    assert engine.sweep() == []
    kinds = [e.kind for e in engine.history(case.id)]
    assert kinds.count("escalation") == 3
    with engine.store.unit_of_work() as uow:
        outbox = uow.list_outbox("pending")
        fired_rows = uow.fired_deadlines(clock() - timedelta(minutes=1), clock() + timedelta(minutes=1))
    assert [m.topic for m in outbox] == ["escalation"] * 3
    assert all(m.case_id == case.id and m.id is not None for m in outbox)
    assert sorted(d.level for d in fired_rows) == ["over_statutory", "overdue", "warning"]
    assert engine.get_case(case.id).sla == "over_statutory"
    assert verify_history(engine.store) == []


def test_list_filters_and_cursor(engine, clock):
    other_org = dataclasses.replace(CLERK, org="420200")
    ids = []
    for i in range(7):
        actor = other_org if i % 3 == 2 else CLERK
        ids.append(engine.open_case("pledge", actor=actor).id)
        clock.advance(minutes=1)
    engine.fire(ids[0], "accept", actor=CLERK)
    engine.fire(ids[1], "accept", actor=CLERK)
    engine.fire(ids[1], "approve", actor=EXAMINER)
    everything = engine.list_cases()
    assert [c.id for c in everything] == ids  # oldest first
    pages, after = [], None
    while True:
        page = engine.list_cases(limit=3, after=after)
        if not page:
            break
        pages.append([c.id for c in page])
        after = page[-1].id
    assert pages == [ids[0:3], ids[3:6], ids[6:7]]
    assert [c.id for c in engine.list_cases(org="420200")] == [ids[2], ids[5]]
    assert [c.id for c in engine.list_cases(actor=CLERK)] == [i for n, i in enumerate(ids) if n % 3 != 2]
    assert [c.id for c in engine.list_cases(state="under_review")] == [ids[0]]
    assert [c.id for c in engine.list_cases(open=False)] == [ids[1]]
    assert ids[1] not in [c.id for c in engine.list_cases(open=True)]
    assert [c.id for c in engine.list_cases(opened_from=engine.get_case(ids[5]).opened_at)] == ids[5:]
    assert [c.id for c in engine.list_cases(opened_to=engine.get_case(ids[1]).opened_at)] == ids[:1]
    closed_at = engine.get_case(ids[1]).closed_at
    assert [c.id for c in engine.list_cases(closed_from=closed_at, closed_to=closed_at + timedelta(seconds=1))] == [ids[1]]
    assert engine.list_cases(item_id="nothing") == []
    assert engine.list_cases(after="no-such-case") == []
    urgent = [c.id for c in engine.list_cases(order="urgent")]
    assert urgent[-1] == ids[1]  # closed: no due instant, last
    assert sorted(urgent) == sorted(ids)
    page1 = engine.list_cases(order="urgent", limit=4)
    page2 = engine.list_cases(order="urgent", limit=4, after=page1[-1].id)
    assert [c.id for c in page1 + page2] == urgent


def test_worklist_and_assignee(engine):
    a = engine.open_case("pledge", actor=CLERK)
    b = engine.open_case("pledge", actor=CLERK)
    engine.fire(a.id, "accept", actor=CLERK)
    engine.fire(b.id, "accept", actor=CLERK)
    engine.assign(b.id, "someone-else", actor=BOSS)
    assert [c.id for c in engine.list_cases(assignee="someone-else")] == [b.id]
    assert [c.id for c in engine.worklist(EXAMINER)] == [a.id]


def test_worklist_pages_in_urgency_order_from_its_indexes(engine, clock):
    """Most urgent first, mine and my roles' merged, a page at a time; on SQLite each query reads
    its index (no sort of every open case)."""
    ids = []
    for _ in range(8):
        clock.advance(hours=5)  # different openings: different due instants
        ids.append(engine.open_case("pledge", actor=CLERK).id)
    engine.assign(ids[5], CLERK.id, actor=BOSS)  # mine
    engine.assign(ids[6], "someone-else", actor=BOSS)  # not waiting on me
    engine.fire(ids[7], "accept", actor=CLERK)
    engine.fire(ids[7], "approve", actor=EXAMINER)  # closed
    store = engine.store
    if hasattr(store, "trace"):
        store.trace = trace = []
    page = engine.worklist(CLERK, limit=4)
    whole = engine.worklist(CLERK, limit=100)
    if hasattr(store, "trace"):
        store.trace = None
    expected = [ids[i] for i in (0, 1, 2, 3, 4, 5)]  # opened in that order, due in that order
    assert [c.id for c in whole] == expected
    assert [c.id for c in page] == expected[:4]
    if getattr(store, "is_sqlite", False):
        plans = []
        with store.unit_of_work() as uow:
            for sql, params in trace:
                if sql.startswith("SELECT id,"):
                    plans.append(" ".join(r[3] for r in uow._all("EXPLAIN QUERY PLAN " + sql, params, write=False)))
        mine = [p for p in plans if "ix_cases_open_assignee" in p]
        by_role = [p for p in plans if "ix_cases_open_urgent" in p]
        assert mine and by_role and len(mine) + len(by_role) == len(plans), plans
        assert all("TEMP B-TREE" not in p for p in by_role), by_role  # read in page order


def test_tampering_is_reported(engine):
    case = engine.open_case("pledge", actor=CLERK)
    engine.fire(case.id, "accept", actor=CLERK)
    engine.fire(case.id, "request_supplement", actor=EXAMINER, data={"notice": "n"})
    store = engine.store
    if hasattr(store, "dialect"):
        with store.unit_of_work() as uow:
            uow._exec(store.dialect.prepare("UPDATE events SET actor_id = 'mallory' WHERE case_id = :c AND seq = 2"),
                      {"c": case.id}, write=True)
            uow.commit()
    else:
        evs = store._state.events[case.id]
        store._state.events[case.id] = [evs[0], dataclasses.replace(evs[1], actor_id="mallory"), evs[2]]
    broken = verify_history(store)
    assert [(b.case_id, b.seq) for b in broken] == [(case.id, 2)]
    assert verify_history(store, case_id=case.id)[0].seq == 2


def test_timestamps_are_aware_and_exact(engine, clock):
    clock.at = datetime(2024, 12, 31, 23, 59, 59, 999999, tzinfo=TZ)
    case = engine.open_case("pledge", actor=CLERK)
    got = engine.get_case(case.id)
    assert got.opened_at == clock() and got.opened_at.tzinfo is not None
    assert got.opened_at.isoformat() == "2024-12-31T23:59:59.999999+08:00"
    assert engine.history(case.id)[0].at.isoformat() == clock().isoformat()


CHILD = """\
id: t_lapsing_child
version: 1
name: 答辩（测试）
kind: dispute_case
legal_basis: ["test"]
initial: waiting
states:
  waiting: {label: 待答辩, roles: [clerk]}
  lapsed: {label: 逾期未答辩, final: true}
transitions:
  - {trigger: lapse, source: waiting, dest: lapsed, roles: [system]}
clocks:
  answer: {limit: 1 day, start: waiting, stop: [lapsed], party: true, on_expire: lapse, label: 答辩期}
"""
PARENT = """\
id: t_bundle
version: 1
name: 一件事（测试）
kind: bundle
legal_basis: ["test"]
children: [t_lapsing_child]
initial: processing
states:
  processing: {label: 办理中}
  completed: {label: 已办结, final: true}
transitions:
  - {trigger: children_closed, source: processing, dest: completed, roles: [system]}
clocks:
  handling: {limit: 60 days, start: processing, stop: [completed], label: 一次办时限}
"""


def test_a_sweep_batch_reads_again_a_bundle_its_child_closed(store_url, clock, tmp_path):
    """The sweep reads a batch of cases at once; a child's expiry that closes its bundle changes
    the bundle, which is later in the same batch: it is read again, so its clock's deadlines
    (cancelled by the close) do not fire and nothing conflicts."""
    (tmp_path / "child.yaml").write_text(CHILD, encoding="utf-8")
    (tmp_path / "parent.yaml").write_text(PARENT, encoding="utf-8")
    eng = build_engine(store_url, definitions=[tmp_path], now=clock)
    try:
        bundle = eng.open_case("t_bundle", actor=CLERK)
        (child,) = bundle.children
        clock.advance(days=90)  # the child's 1 day and the bundle's 60 are both long past
        due = [d for c in (child, bundle.id) for d in eng.deadlines(c)]
        assert min(d.due_at for d in due if d.case_id == bundle.id) > max(
            d.due_at for d in due if d.case_id == child)  # the child comes first in the batch
        fired = eng.sweep(batch=50)
        assert [(e.case_id, e.level) for e in fired] == [(child, "expired")]
        assert eng.get_case(child).state == "lapsed"
        closed = eng.get_case(bundle.id)
        assert closed.state == "completed" and closed.clocks["handling"].status == "stopped"
        assert {d.state for d in eng.deadlines(bundle.id)} == {"cancelled"}
        assert eng.sweep() == []
    finally:
        getattr(eng.store, "dispose", lambda: None)()
