"""The store contract, on the unit of work directly: every backend behaves the same."""

from __future__ import annotations

import copy
from datetime import date, datetime, timedelta

import pytest

from workflow.errors import VersionConflict
from workflow.legaltime import TZ
from workflow.model import CaseRecord, Deadline, Event, OutboxMessage
from workflow.ports import CaseQuery, IdempotencyRecord

T0 = datetime(2024, 5, 6, 10, 0, 0, 250000, tzinfo=TZ)


def rec(i: int, **kw) -> CaseRecord:
    base = dict(
        id=f"case-{i:03d}", number=f"N-{i}", item_id="pledge", definition_version=1, state="received",
        version=1, org="420100", assignee=None, data={"n": i, "名称": "甲"}, clocks={},
        opened_at=T0 + timedelta(minutes=i), started_on=date(2024, 5, 6),
    )
    base.update(kw)
    return CaseRecord(**base)


def ev(case_id: str, seq: int, prev: str = "") -> Event:
    e = Event(case_id=case_id, seq=seq, kind="opened" if seq == 1 else "transition", trigger=None,
              actor_id="a", at=T0, from_state=None, to_state="received", data={"x": [1, 2.5, "三"]},
              prev_hash=prev)
    return Event(**{**e.__dict__, "hash": e.compute_hash()})


def dl(case_id: str, level: str, due: datetime, clock: str = "handling", run: int = 1) -> Deadline:
    return Deadline(case_id, clock, run, level, due, org="420100", item_id="pledge")


def test_without_commit_nothing_stays(store):
    with store.unit_of_work() as uow:
        uow.add_case(rec(1))
        uow.append_event(ev("case-001", 1))
        uow.replace_deadlines("case-001", [dl("case-001", "warning", T0)])
        uow.add_outbox([OutboxMessage("transition", "case-001", {"a": 1}, T0)])
        uow.put_idempotency(IdempotencyRecord("k", "fp", "case-001", {"id": "case-001"}, T0))
        assert uow.next_number("seq") == 1
    with pytest.raises(RuntimeError):
        with store.unit_of_work() as uow:
            uow.add_case(rec(2))
            raise RuntimeError("boom")
    with store.unit_of_work() as uow:
        assert uow.get_case("case-001") is None and uow.get_case("case-002") is None
        assert uow.events("case-001") == [] and uow.deadlines("case-001") == []
        assert uow.list_outbox() == [] and uow.get_idempotency("k") is None
        assert uow.query_cases(CaseQuery()) == []
        assert uow.next_number("seq") == 1  # the rolled-back number was not used
    assert store.earliest_pending_due() is None


def test_cases_round_trip_and_version_check(store):
    r = rec(1, assignee="x", parent_id=None, due_at=T0 + timedelta(days=3), sla="warning", created_by="c",
            last_hash="h" * 64, seq=4)
    with store.unit_of_work() as uow:
        uow.add_case(r)
        uow.commit()
    with store.unit_of_work() as uow:
        got = uow.get_case(r.id, for_update=True)
        assert got == r
        assert got.opened_at.tzinfo is not None and got.due_at.utcoffset() == timedelta(hours=8)
        got.state, got.version, got.data = "under_review", 2, {**got.data, "k": "v"}
        got.closed_at = T0 + timedelta(hours=1)
        uow.save_case(got, 1)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.get_case(r.id) == got
        stale = copy.deepcopy(got)
        stale.version = 3
        with pytest.raises(VersionConflict):
            uow.save_case(stale, 1)  # stored version is 2
    with store.unit_of_work() as uow:
        assert uow.get_case(r.id).version == 2
        assert uow.lock_case(r.id) == got
        assert uow.lock_case("nope") is None


def test_events_in_order(store):
    with store.unit_of_work() as uow:
        uow.add_case(rec(1))
        e1 = ev("case-001", 1)
        e2 = ev("case-001", 2, e1.hash)
        uow.append_event(e1)
        uow.append_event(e2)
        uow.commit()
    with store.unit_of_work() as uow:
        got = uow.events("case-001")
    assert got == [e1, e2]
    assert [e.compute_hash() for e in got] == [e1.hash, e2.hash]


def test_replace_deadlines_semantics(store):
    a, b, c = T0 + timedelta(days=1), T0 + timedelta(days=2), T0 + timedelta(days=3)
    with store.unit_of_work() as uow:
        uow.add_case(rec(1))
        uow.replace_deadlines("case-001", [dl("case-001", "warning", a), dl("case-001", "overdue", b)])
        uow.commit()
    with store.unit_of_work() as uow:
        (warning,) = uow.pending_due("case-001", a)
        uow.mark_deadline(warning, "fired", a)
        # warning is fired: wanting it again neither re-creates nor re-arms it;
        # overdue moves; over_statutory is new
        uow.replace_deadlines("case-001", [
            dl("case-001", "warning", a), dl("case-001", "overdue", c), dl("case-001", "over_statutory", c),
        ])
        uow.commit()
    with store.unit_of_work() as uow:
        rows = {d.level: d for d in uow.deadlines("case-001")}
        assert (rows["warning"].state, rows["warning"].seen_at) == ("fired", a)
        assert (rows["overdue"].state, rows["overdue"].due_at) == ("pending", c)
        assert rows["over_statutory"].state == "pending"
        uow.replace_deadlines("case-001", [dl("case-001", "overdue", c)])  # over_statutory unwanted
        uow.commit()
    with store.unit_of_work() as uow:
        states = {d.level: d.state for d in uow.deadlines("case-001")}
        assert states == {"warning": "fired", "overdue": "pending", "over_statutory": "cancelled"}
        # a cancelled row wanted again is pending again, at its new instant
        uow.replace_deadlines("case-001", [dl("case-001", "overdue", c), dl("case-001", "over_statutory", b)])
        uow.commit()
    with store.unit_of_work() as uow:
        rows = {d.level: d for d in uow.deadlines("case-001")}
        assert (rows["over_statutory"].state, rows["over_statutory"].due_at) == ("pending", b)
        assert [d.level for d in uow.deadlines("case-001")] == ["warning", "over_statutory", "overdue"]
        # a new run of the clock is a new set of rows
        uow.replace_deadlines("case-001", [dl("case-001", "overdue", c, run=2)])
        uow.commit()
    with store.unit_of_work() as uow:
        rows = uow.deadlines("case-001")
        assert {(d.run, d.level, d.state) for d in rows} == {
            (1, "warning", "fired"), (1, "overdue", "cancelled"), (1, "over_statutory", "cancelled"),
            (2, "overdue", "pending"),
        }
    assert store.earliest_pending_due() == c


def _warned_cases(store, due_in_days: dict[int, int]) -> None:
    """Cases ``case-00i``, each with a warning due after its days and an overdue a day later."""
    with store.unit_of_work() as uow:
        for i, days in due_in_days.items():
            cid = f"case-{i:03d}"
            uow.add_case(rec(i))
            uow.replace_deadlines(cid, [dl(cid, "warning", T0 + timedelta(days=days)),
                                        dl(cid, "overdue", T0 + timedelta(days=days + 1))])
        uow.commit()


def test_due_cases_earliest_first(store):
    _warned_cases(store, {1: 3, 2: 1, 3: 2, 4: 9})
    now = T0 + timedelta(days=5)
    with store.unit_of_work() as uow:
        assert uow.due_case_ids(now, 10) == ["case-002", "case-003", "case-001"]
        assert uow.due_case_ids(now, 2) == ["case-002", "case-003"]
        assert {d.level for d in uow.pending_due("case-001", now)} == {"warning", "overdue"}
        assert [d.level for d in uow.pending_due("case-003", T0 + timedelta(days=2))] == ["warning"]
        for d in uow.pending_due("case-002", now):
            uow.mark_deadline(d, "fired", now)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.due_case_ids(now, 10) == ["case-003", "case-001"]
        fired = uow.fired_deadlines(now, now + timedelta(seconds=1))
        assert [(d.case_id, d.state, d.seen_at) for d in fired] == [("case-002", "fired", now)] * 2
        assert uow.fired_deadlines(now + timedelta(seconds=1), now + timedelta(days=1)) == []
    assert store.earliest_pending_due() == T0 + timedelta(days=2)


def test_outbox_claim_update_list(store):
    msgs = [OutboxMessage("escalation", f"c{i}", {"i": i, "文字": "中"}, T0 + timedelta(minutes=i)) for i in range(4)]
    msgs[1].next_attempt_at = T0 + timedelta(hours=1)  # backing off
    with store.unit_of_work() as uow:
        uow.add_outbox(msgs)
        uow.commit()
    assert all(m.id is not None for m in msgs) and len({m.id for m in msgs}) == 4
    with store.unit_of_work() as uow:
        claimed = uow.claim_outbox(T0 + timedelta(minutes=10), 10)
        assert [m.case_id for m in claimed] == ["c0", "c2", "c3"]
        assert uow.claim_outbox(T0 + timedelta(minutes=10), 2)[-1].case_id == "c2"
        first = claimed[0]
        first.state, first.attempts = "delivered", 1
        second = claimed[1]
        second.attempts, second.last_error, second.next_attempt_at = 1, "timeout", T0 + timedelta(days=1)
        uow.update_outbox(first)
        uow.update_outbox(second)
        uow.commit()
    with store.unit_of_work() as uow:
        assert [m.case_id for m in uow.claim_outbox(T0 + timedelta(hours=2), 10)] == ["c1", "c3"]
        assert [m.case_id for m in uow.list_outbox("delivered")] == ["c0"]
        assert len(uow.list_outbox()) == 4 and len(uow.list_outbox(limit=2)) == 2
        got = {m.case_id: m for m in uow.list_outbox()}
    assert got["c2"].last_error == "timeout" and got["c2"].next_attempt_at == T0 + timedelta(days=1)
    assert got["c0"].payload == {"i": 0, "文字": "中"} and got["c0"].created_at == T0


def test_next_number_per_key(store):
    with store.unit_of_work() as uow:
        assert [uow.next_number("a") for _ in range(3)] == [1, 2, 3]
        assert uow.next_number("b") == 1
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.next_number("a") == 4


def test_idempotency_records(store):
    record = IdempotencyRecord("key-1", "f" * 64, "case-001", {"id": "case-001", "data": {"x": "乙"}}, T0)
    with store.unit_of_work() as uow:
        assert uow.get_idempotency("key-1") is None
        uow.put_idempotency(record)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.get_idempotency("key-1") == record


def test_query_filters(store):
    rows = [
        rec(1), rec(2, org="420200", state="under_review"),
        rec(3, sla="overdue", due_at=T0 + timedelta(days=1), assignee="u1"),
        rec(4, parent_id="case-001", closed_at=T0 + timedelta(days=2), state="registered", sla="met"),
        rec(5, item_id="licence", state="under_review", due_at=T0 + timedelta(hours=5)),
    ]
    with store.unit_of_work() as uow:
        for r in rows:
            uow.add_case(r)
        uow.commit()

    def ids(**kw):
        with store.unit_of_work() as uow:
            return [r.id[-1] for r in uow.query_cases(CaseQuery(**kw))]

    assert ids() == ["1", "2", "3", "4", "5"]
    assert ids(orgs=frozenset({"420200"})) == ["2"]
    assert ids(orgs=frozenset()) == []
    assert ids(item_id="licence") == ["5"]
    assert ids(state="under_review") == ["2", "5"]
    assert ids(states=frozenset({("pledge", "under_review"), ("licence", "under_review")})) == ["2", "5"]
    assert ids(states=frozenset({("pledge", "under_review"), ("pledge", "received")})) == ["1", "2", "3"]
    assert ids(states=frozenset()) == []
    assert ids(sla="overdue") == ["3"]
    assert ids(assignee="u1") == ["3"]
    assert ids(parent_id="case-001") == ["4"]
    assert ids(open=True) == ["1", "2", "3", "5"]
    assert ids(open=False) == ["4"]
    assert ids(opened_from=T0 + timedelta(minutes=2), opened_to=T0 + timedelta(minutes=4)) == ["2", "3"]
    assert ids(closed_from=T0, closed_to=T0 + timedelta(days=3)) == ["4"]
    assert ids(closed_to=T0 + timedelta(days=2)) == []
    assert ids(order="urgent") == ["5", "3", "1", "2", "4"]
    assert ids(order="urgent", after="case-003") == ["1", "2", "4"]
    assert ids(order="urgent", after="case-003", limit=1) == ["1"]
    assert ids(after="case-002", limit=2) == ["3", "4"]
    assert ids(after="case-002", state="received") == []  # the cursor no longer matches: empty
    assert ids(limit=0) == []


def test_batch_lock_and_pending_due(store):
    """The sweep's batch reads answer exactly what the one-case reads answer."""
    _warned_cases(store, {1: 3, 2: 1, 3: 9})
    now = T0 + timedelta(days=2)
    with store.unit_of_work() as uow:
        locked = uow.lock_cases(["case-002", "nope", "case-001", "case-003"])
        assert [r.id for r in locked] == ["case-002", "case-001", "case-003"]  # the order given
        assert locked[0] == uow.get_case("case-002")
        assert uow.lock_cases([]) == []
        many = uow.pending_due_many(["case-001", "case-002", "case-003", "nope"], now)
        assert set(many) == {"case-002"}  # cases with nothing due are left out
        assert sorted(d.level for d in many["case-002"]) == ["overdue", "warning"]
        assert sorted(many["case-002"], key=lambda d: d.level) == sorted(
            uow.pending_due("case-002", now), key=lambda d: d.level)
        assert uow.pending_due_many([], now) == {}


def test_appends_are_seen_by_the_same_unit_of_work_and_rolled_back_whole(store):
    """A store may hold appends and marks back (the SQL store does, to batch them): the unit of
    work still reads its own writes, outbox messages get their ids at once, and a rollback drops
    all."""
    with store.unit_of_work() as uow:
        uow.add_case(rec(1))
        uow.replace_deadlines("case-001", [dl("case-001", "warning", T0)])
        uow.commit()
    msgs = [OutboxMessage("escalation", "case-001", {"i": i}, T0) for i in range(3)]
    with store.unit_of_work() as uow:
        e1 = ev("case-001", 1)
        uow.append_event(e1)
        (due,) = uow.pending_due("case-001", T0)
        uow.mark_deadline(due, "fired", T0)
        uow.add_outbox(msgs)
        ids = [m.id for m in msgs]
        assert None not in ids and len(set(ids)) == 3  # at once, not only at commit
        assert uow.events("case-001") == [e1]
        assert [d.state for d in uow.deadlines("case-001")] == ["fired"]
        assert uow.pending_due_many(["case-001"], T0) == {}
        assert len(uow.list_outbox()) == 3
        # then the case row itself, and more appends after a read
        got = uow.get_case("case-001", for_update=True)
        got.version = 2
        uow.save_case(got, 1)
        e2 = ev("case-001", 2, e1.hash)
        uow.append_event(e2)
        uow.add_outbox([OutboxMessage("transition", "case-001", {"i": 3}, T0)])
        uow.commit()
    assert [m.id for m in msgs] == ids == sorted(ids)
    with store.unit_of_work() as uow:
        assert uow.events("case-001") == [e1, e2]
        assert [m.payload["i"] for m in uow.list_outbox()] == [0, 1, 2, 3]
    # rolled back: nothing of it stays
    lost = OutboxMessage("transition", "case-001", {"i": 4}, T0)
    with store.unit_of_work() as uow:
        uow.append_event(ev("case-001", 3, e2.hash))
        uow.add_outbox([lost])
    with store.unit_of_work() as uow:
        assert len(uow.events("case-001")) == 2 and len(uow.list_outbox()) == 4
        again = OutboxMessage("transition", "case-001", {"i": 5}, T0)
        uow.add_outbox([again])
        uow.commit()
    assert again.id > max(m.id for m in msgs)


def test_a_duplicate_append_fails_the_unit_of_work(store):
    with store.unit_of_work() as uow:
        uow.add_case(rec(1))
        e1 = ev("case-001", 1)
        uow.append_event(e1)
        uow.commit()
    msg = OutboxMessage("transition", "case-001", {}, T0)
    with pytest.raises(VersionConflict):
        with store.unit_of_work() as uow:
            uow.append_event(e1)  # seq 1 again: held back, refused when written
            uow.add_outbox([msg])
            uow.commit()
    with store.unit_of_work() as uow:
        assert uow.events("case-001") == [e1] and uow.list_outbox() == []
    if hasattr(store, "dialect"):  # the SQL store takes back the id it gave (no row has it)
        assert msg.id is None
