"""The Engine's use cases as a library user sees them (issue 3, "The library contract"): return
shapes, the order of checks, idempotency, org scope, rejected calls leaving nothing behind,
numbers, assignees, lists and worklists, one shared Machine per definition version."""

from __future__ import annotations

import gc
from datetime import date, datetime

import pytest
from transitions import Machine

from tests.engine_support import (
    CLERK,
    EXAMINER,
    LEADER,
    PROVINCE_STAFF,
    SUPERVISOR,
    WUHAN,
    YICHANG,
    YICHANG_CLERK,
    at,
    make_engine,
    snapshot,
)
from workflow import TZ, Actor, Case, Clock, Engine, EngineSettings, Event, errors

pytestmark = pytest.mark.freeze_time("2024-03-04 02:00:00")  # Mon 2024-03-04 10:00 in Shanghai


@pytest.fixture
def engine() -> Engine:
    return make_engine()


@pytest.fixture
def case(engine: Engine) -> Case:
    """A fx_filing case under review in Wuhan."""
    c = engine.open_case("fx_filing", actor=CLERK, data={"applicant": "某公司"})
    return engine.fire(c.id, "accept", actor=CLERK)


# --- shapes ----------------------------------------------------------------------------------


def test_open_case_returns_the_case_with_its_clocks(engine):
    case = engine.open_case("fx_filing", actor=CLERK, data={"applicant": "某公司"})
    assert isinstance(case, Case)
    assert isinstance(case.id, str) and case.id
    assert case.number == "FXB-420100-2024-00001"
    assert (case.item_id, case.definition_version, case.state, case.version) == ("fx_filing", 1, "received", 1)
    assert (case.org, case.assignee) == (WUHAN, None)
    assert case.data == {"applicant": "某公司"}
    clock = case.clocks["handling"]
    assert isinstance(clock, Clock)
    assert clock.status == "running"
    assert (clock.statutory_due, clock.commitment_due) == (date(2024, 3, 11), date(2024, 3, 7))
    assert type(clock.statutory_due) is not datetime  # a date, the last allowed day
    assert (clock.sla, clock.provisional, clock.party) == ("on_track", False, False)
    assert case.opened_at == at("2024-03-04 10:00")


def test_fire_moves_the_case_and_counts_versions(engine):
    case = engine.open_case("fx_filing", actor=CLERK)
    case = engine.fire(case.id, "accept", actor=CLERK)
    assert (case.state, case.version) == ("under_review", 2)
    case = engine.fire(case.id, "approve", actor=EXAMINER, data={"fee": 100})
    assert (case.state, case.version, case.final) == ("registered", 3, True)
    assert case.clocks["handling"].status == "stopped"
    assert case.clocks["handling"].sla == "met"
    assert case.closed_at == at("2024-03-04 10:00")
    assert case.data == {"fee": 100}
    assert engine.get_case(case.id) == case


def test_history_oldest_first_opening_first(engine, freezer):
    case = engine.open_case("fx_filing", actor=CLERK, data={"applicant": "甲"})
    freezer.move_to(at("2024-03-05 09:00"))
    engine.fire(case.id, "accept", actor=CLERK)
    freezer.move_to(at("2024-03-05 11:00"))
    engine.fire(case.id, "request_supplement", actor=EXAMINER, data={"notice": "补正通知"})
    events = engine.history(case.id)
    assert all(isinstance(e, Event) for e in events)
    assert [(e.trigger, e.from_state, e.to_state, e.actor_id) for e in events] == [
        (None, None, "received", CLERK.id),
        ("accept", "received", "under_review", CLERK.id),
        ("request_supplement", "under_review", "awaiting_supplement", EXAMINER.id),
    ]
    assert [e.at for e in events] == [at("2024-03-04 10:00"), at("2024-03-05 09:00"), at("2024-03-05 11:00")]
    assert events[0].data["applicant"] == "甲"
    assert events[2].data["notice"] == "补正通知"


def test_get_case_unscoped_or_scoped(engine, case):
    assert engine.get_case(case.id).id == case.id
    assert engine.get_case(case.id, actor=CLERK).id == case.id
    assert engine.get_case(case.id, CLERK).id == case.id
    with pytest.raises(errors.CaseNotFound):
        engine.get_case("no-such-case")


def test_definitions_list_every_loaded_version(engine):
    defs = {d.id: d for d in engine.definitions()}
    assert set(defs) == {"fx_bundle", "fx_channel", "fx_dispute", "fx_filing", "fx_restart"}
    d = defs["fx_filing"]
    assert (d.id, d.version, d.name, d.kind, d.legal_basis) == (
        "fx_filing", 1, "测试备案登记", "service_item", ("《测试备案办法》第十条",)
    )
    assert defs["fx_dispute"].kind == "dispute_case"


def test_unknown_item(engine):
    with pytest.raises(errors.UnknownItem):
        engine.open_case("no_such_item", actor=CLERK)


# --- available triggers ----------------------------------------------------------------------


def test_available_triggers_in_definition_order_and_only_what_would_succeed(engine, case):
    assert engine.available_triggers(case.id, actor=EXAMINER) == [
        "request_supplement", "approve", "refuse", "withdraw",
    ]
    assert engine.available_triggers(case.id, actor=CLERK) == ["withdraw"]
    assert engine.available_triggers(case.id, actor=LEADER) == ["extend"]
    engine.fire(case.id, "extend", actor=LEADER, data={"reason": "疑难", "approver": "局长张三"})
    # 2 of the 3 working days granted: another 2 would exceed the maximum
    assert engine.available_triggers(case.id, actor=LEADER) == []
    with pytest.raises(errors.CaseNotFound):
        engine.available_triggers(case.id, actor=YICHANG_CLERK)


def test_no_triggers_on_a_closed_case(engine, case):
    engine.fire(case.id, "approve", actor=EXAMINER)
    for actor in (CLERK, EXAMINER, LEADER):
        assert engine.available_triggers(case.id, actor=actor) == []


# --- order of checks -------------------------------------------------------------------------


def test_idempotent_fire_replays_without_a_second_event(engine, case):
    first = engine.fire(case.id, "request_supplement", actor=EXAMINER, data={"notice": "n"},
                        idempotency_key="k-1")
    events = engine.history(case.id)
    again = engine.fire(case.id, "request_supplement", actor=EXAMINER, data={"notice": "n"},
                        idempotency_key="k-1")
    assert again == first
    assert engine.history(case.id) == events
    # the replay comes first: the trigger is no longer allowed here, yet the call succeeds
    assert engine.get_case(case.id).state == "awaiting_supplement"


def test_idempotent_open_replays_the_same_case(engine):
    a = engine.open_case("fx_filing", actor=CLERK, data={"applicant": "甲"}, idempotency_key="o-1")
    b = engine.open_case("fx_filing", actor=CLERK, data={"applicant": "甲"}, idempotency_key="o-1")
    assert a == b
    assert len(engine.list_cases()) == 1


def test_a_key_reused_for_a_different_call_is_refused(engine, case):
    engine.fire(case.id, "request_supplement", actor=EXAMINER, data={"notice": "n"}, idempotency_key="k")
    before = snapshot(engine, case.id)
    with pytest.raises(errors.IdempotencyMismatch):
        engine.fire(case.id, "request_supplement", actor=EXAMINER, data={"notice": "other"},
                    idempotency_key="k")
    with pytest.raises(errors.IdempotencyMismatch):
        engine.fire(case.id, "approve", actor=EXAMINER, idempotency_key="k")
    assert snapshot(engine, case.id) == before
    assert issubclass(errors.IdempotencyMismatch, errors.WorkflowError)
    # keys belong to (user, org, operation): another user's "k", or the same user's opening, is a
    # call of its own (issue 14)
    assert engine.fire(case.id, "resubmit", actor=CLERK, idempotency_key="k").state == "under_review"
    with pytest.raises(errors.Forbidden):  # judged as a fresh call (an examiner cannot open), no mismatch
        engine.open_case("fx_filing", actor=EXAMINER, idempotency_key="k")


def test_stale_version_conflicts_even_when_the_trigger_is_no_longer_allowed(engine, case):
    assert case.version == 2
    engine.fire(case.id, "approve", actor=EXAMINER, expected_version=2)
    before = snapshot(engine, case.id)
    with pytest.raises(errors.VersionConflict):
        engine.fire(case.id, "approve", actor=EXAMINER, expected_version=2)
    with pytest.raises(errors.VersionConflict):
        engine.fire(case.id, "no_such_trigger", actor=CLERK, expected_version=2)
    assert snapshot(engine, case.id) == before


def test_current_version_passes(engine, case):
    assert engine.fire(case.id, "approve", actor=EXAMINER, expected_version=case.version).version == 3


def test_scope_comes_before_the_trigger(engine, case):
    before = snapshot(engine, case.id)
    with pytest.raises(errors.CaseNotFound):
        engine.fire(case.id, "no_such_trigger", actor=YICHANG_CLERK)
    with pytest.raises(errors.CaseNotFound):
        engine.fire(case.id, "approve", actor=YICHANG_CLERK)
    assert snapshot(engine, case.id) == before


def test_unknown_or_disallowed_trigger(engine, case):
    before = snapshot(engine, case.id)
    with pytest.raises(errors.TransitionNotAllowed, match="no action"):
        engine.fire(case.id, "fly_away", actor=EXAMINER)
    with pytest.raises(errors.TransitionNotAllowed, match="not allowed"):
        engine.fire(case.id, "resubmit", actor=CLERK)  # only from awaiting_supplement
    with pytest.raises(errors.TransitionNotAllowed):
        engine.fire(case.id, "accept", actor=CLERK)  # already accepted
    assert snapshot(engine, case.id) == before


def test_trigger_comes_before_role(engine, case):
    # the clerk lacks the examiner role, but the trigger is not even allowed here
    with pytest.raises(errors.TransitionNotAllowed):
        engine.fire(case.id, "resubmit", actor=EXAMINER)


def test_role_comes_before_data(engine, case):
    before = snapshot(engine, case.id)
    with pytest.raises(errors.Forbidden):
        engine.fire(case.id, "refuse", actor=CLERK)  # lacks both the role and the reason
    with pytest.raises(errors.MissingData) as exc:
        engine.fire(case.id, "refuse", actor=EXAMINER)
    assert exc.value.fields == {"reason": "required"}
    assert snapshot(engine, case.id) == before


def test_any_one_role_suffices(engine, case):
    both = Actor("both", {"clerk", "supervisor"}, WUHAN)
    assert engine.fire(case.id, "withdraw", actor=both).state == "refused"


def test_missing_data_names_every_field(engine, case):
    with pytest.raises(errors.MissingData) as exc:
        engine.fire(case.id, "refuse", actor=EXAMINER, data={"reason": "   "})
    assert exc.value.fields == {"reason": "required"}
    with pytest.raises(errors.MissingData) as exc:
        engine.fire(case.id, "extend", actor=LEADER)
    assert exc.value.fields == {"reason": "required", "approver": "required"}
    with pytest.raises(errors.MissingData) as exc:
        engine.fire(case.id, "approve", actor=EXAMINER, data={"fee": -5})
    assert set(exc.value.fields) == {"fee"}
    with pytest.raises(errors.MissingData) as exc:
        engine.fire(case.id, "approve", actor=EXAMINER, data={"fee": "a lot"})
    assert set(exc.value.fields) == {"fee"}


def test_data_given_earlier_satisfies_requires(engine):
    c = engine.open_case("fx_filing", actor=CLERK, data={"reason": "材料不全"})
    engine.fire(c.id, "accept", actor=CLERK)
    assert engine.fire(c.id, "refuse", actor=EXAMINER).state == "refused"


def test_rejected_calls_leave_the_case_exactly_as_it_was(engine, case, freezer):
    engine.fire(case.id, "extend", actor=LEADER, data={"reason": "疑难", "approver": "局长张三"})
    before = snapshot(engine, case.id)
    outbox = list(engine.store.outbox())
    attempts = [
        (errors.TransitionNotAllowed, dict(trigger="extend", actor=LEADER, data={"reason": "再延", "approver": "局长张三"})),
        (errors.Forbidden, dict(trigger="approve", actor=CLERK)),
        (errors.MissingData, dict(trigger="request_supplement", actor=EXAMINER)),
        (errors.VersionConflict, dict(trigger="approve", actor=EXAMINER, expected_version=1)),
        (errors.CaseNotFound, dict(trigger="approve", actor=YICHANG_CLERK)),
        (errors.TransitionNotAllowed, dict(trigger="resubmit", actor=CLERK)),
    ]
    for error, kw in attempts:
        freezer.tick()
        with pytest.raises(error):
            engine.fire(case.id, **kw)
        assert snapshot(engine, case.id) == before, error
    assert engine.store.outbox() == outbox


# --- org scope ---------------------------------------------------------------------------------


def test_a_wuhan_clerk_cannot_see_a_yichang_case(engine):
    yc = engine.open_case("fx_filing", actor=YICHANG_CLERK)
    assert yc.org == YICHANG
    wh = engine.open_case("fx_filing", actor=CLERK)
    for call in (
        lambda: engine.get_case(yc.id, actor=CLERK),
        lambda: engine.history(yc.id, actor=CLERK),
        lambda: engine.available_triggers(yc.id, actor=CLERK),
        lambda: engine.fire(yc.id, "accept", actor=CLERK),
    ):
        with pytest.raises(errors.CaseNotFound):
            call()
    assert [c.id for c in engine.list_cases(actor=CLERK)] == [wh.id]
    assert engine.worklist(CLERK) == [engine.get_case(wh.id)]
    assert [c.id for c in engine.list_cases(actor=YICHANG_CLERK)] == [yc.id]


def test_the_province_sees_and_acts_on_every_city(engine):
    yc = engine.open_case("fx_filing", actor=YICHANG_CLERK)
    wh = engine.open_case("fx_filing", actor=CLERK)
    assert {c.id for c in engine.list_cases(actor=PROVINCE_STAFF)} == {yc.id, wh.id}
    assert [c.id for c in engine.list_cases(actor=PROVINCE_STAFF, org=YICHANG)] == [yc.id]
    assert engine.get_case(yc.id, actor=PROVINCE_STAFF).id == yc.id
    assert engine.history(yc.id, actor=PROVINCE_STAFF)[0].to_state == "received"
    assert engine.fire(yc.id, "accept", actor=PROVINCE_STAFF).state == "under_review"


def test_opening_for_an_org_outside_ones_subtree(engine):
    with pytest.raises(errors.Forbidden):
        engine.open_case("fx_filing", actor=CLERK, org=YICHANG)
    case = engine.open_case("fx_filing", actor=PROVINCE_STAFF, org=YICHANG)
    assert case.org == YICHANG and case.number == "FXB-420500-2024-00001"
    assert engine.list_cases(actor=CLERK) == []


def test_opening_needs_an_open_role(engine):
    with pytest.raises(errors.Forbidden):
        engine.open_case("fx_filing", actor=EXAMINER)


# --- numbers and assignees ---------------------------------------------------------------------


def test_numbers_per_org_item_and_year(engine, freezer):
    n = [engine.open_case("fx_filing", actor=CLERK).number for _ in range(2)]
    n.append(engine.open_case("fx_restart", actor=CLERK).number)
    n.append(engine.open_case("fx_filing", actor=YICHANG_CLERK).number)
    freezer.move_to(at("2025-01-02 10:00"))
    n.append(engine.open_case("fx_filing", actor=CLERK).number)
    assert n == [
        "FXB-420100-2024-00001", "FXB-420100-2024-00002", "FX_RESTART-420100-2024-00001",
        "FXB-420500-2024-00001", "FXB-420100-2025-00001",
    ]


def test_number_patterns_are_configurable():
    engine = make_engine(settings=EngineSettings(
        number_pattern="{org}{year}{seq:04d}",
        number_patterns={"fx_dispute": "鄂知裁字〔{year}〕{seq}号", f"{YICHANG}:fx_filing": "YC-{seq}"},
    ))
    assert engine.open_case("fx_filing", actor=CLERK).number == "42010020240001"
    assert engine.open_case("fx_dispute", actor=CLERK).number == "鄂知裁字〔2024〕1号"
    assert engine.open_case("fx_filing", actor=YICHANG_CLERK).number == "YC-1"


def test_supervisors_set_and_change_the_assignee(engine, case):
    with pytest.raises(errors.Forbidden):
        engine.assign(case.id, "examiner-wh", actor=CLERK)
    c = engine.assign(case.id, "examiner-wh", actor=SUPERVISOR, expected_version=case.version)
    assert (c.assignee, c.version) == ("examiner-wh", case.version + 1)
    c = engine.assign(case.id, "examiner-2", actor=SUPERVISOR, reason="调岗")
    assert c.assignee == "examiner-2"
    last = engine.history(case.id)[-1]
    assert (last.kind, last.trigger, last.data["from"], last.data["to"]) == (
        "assigned", None, "examiner-wh", "examiner-2")
    with pytest.raises(errors.VersionConflict):
        engine.assign(case.id, "x", actor=SUPERVISOR, expected_version=case.version)
    with pytest.raises(errors.CaseNotFound):
        engine.assign(case.id, "x", actor=Actor("s-yc", {"supervisor"}, YICHANG))


# --- lists and worklists -----------------------------------------------------------------------


def test_list_filters(engine):
    a = engine.open_case("fx_filing", actor=CLERK)
    b = engine.open_case("fx_filing", actor=CLERK)
    engine.fire(b.id, "accept", actor=CLERK)
    c = engine.open_case("fx_restart", actor=CLERK)
    engine.fire(a.id, "withdraw", actor=CLERK)
    ids = lambda cases: [x.id for x in cases]  # noqa: E731
    assert set(ids(engine.list_cases(actor=CLERK))) == {a.id, b.id, c.id}
    assert ids(engine.list_cases(actor=CLERK, item_id="fx_restart")) == [c.id]
    assert ids(engine.list_cases(actor=CLERK, state="under_review")) == [b.id]
    assert set(ids(engine.list_cases(actor=CLERK, open=True))) == {b.id, c.id}
    assert ids(engine.list_cases(actor=CLERK, open=False)) == [a.id]
    assert len(engine.list_cases(actor=CLERK, limit=2)) == 2
    with pytest.raises(TypeError):
        engine.list_cases(actor=CLERK, colour="red")


def test_worklist_waits_on_the_actors_roles(engine):
    received = engine.open_case("fx_filing", actor=CLERK)
    review = engine.fire(engine.open_case("fx_filing", actor=CLERK).id, "accept", actor=CLERK)
    others = engine.fire(engine.open_case("fx_filing", actor=CLERK).id, "accept", actor=CLERK)
    engine.assign(others.id, "examiner-2", actor=SUPERVISOR)
    mine = engine.fire(engine.open_case("fx_filing", actor=CLERK).id, "accept", actor=CLERK)
    engine.assign(mine.id, EXAMINER.id, actor=SUPERVISOR)
    closed = engine.fire(engine.open_case("fx_filing", actor=CLERK).id, "accept", actor=CLERK)
    engine.fire(closed.id, "approve", actor=EXAMINER)
    assert [c.id for c in engine.worklist(CLERK)] == [received.id]
    assert {c.id for c in engine.worklist(EXAMINER)} == {review.id, mine.id}
    assert engine.worklist(LEADER) == []
    assert {c.id for c in engine.worklist(Actor("examiner-2", {"examiner"}, WUHAN))} == {review.id, others.id}


def test_worklist_most_urgent_first(engine, freezer):
    old = engine.fire(engine.open_case("fx_filing", actor=CLERK).id, "accept", actor=CLERK)
    freezer.move_to(at("2024-03-05 10:00"))
    new = engine.fire(engine.open_case("fx_filing", actor=CLERK).id, "accept", actor=CLERK)
    freezer.move_to(at("2024-03-05 11:00"))
    slow = engine.fire(engine.open_case("fx_dispute", actor=CLERK).id, "serve", actor=CLERK,
                       data={"served_on": "2024-03-05"})
    assert [c.id for c in engine.worklist(Actor("e", {"examiner", "clerk"}, WUHAN))] == [
        old.id, new.id, slow.id]


# --- one shared Machine per definition version ------------------------------------------------


def test_one_machine_per_definition_version_shared_by_every_case(engine):
    m = engine.registry.machine("fx_filing", 1)
    assert engine.registry.machine("fx_filing", 1) is m
    assert engine.registry.machine("fx_restart", 1) is not m

    def machines() -> int:
        gc.collect()
        return sum(1 for o in gc.get_objects() if isinstance(o, Machine))

    engine.open_case("fx_filing", actor=CLERK)  # warm up: every definition used below compiled
    c = engine.open_case("fx_filing", actor=CLERK)
    engine.fire(c.id, "accept", actor=CLERK)
    count = machines()
    for _ in range(2000):
        c = engine.open_case("fx_filing", actor=CLERK)
        engine.fire(c.id, "accept", actor=CLERK)
    assert machines() == count
    assert engine.registry.machine("fx_filing", 1) is m
    assert m.machine.models == []  # the shared machine holds no case


def test_the_machine_is_asked_once_per_state_and_trigger(engine):
    """``next_state`` keeps the shared machine's answers (it has no conditions): the same as
    asking it each time, for the definition's own pairs only."""
    m = engine.registry.machine("fx_filing", 1)
    defn = engine.registry.get("fx_filing", 1)
    for state in defn.states:
        for trigger in defn.triggers:
            t = defn.transition(trigger, state)
            assert m.next_state(state, trigger) == (t.dest if t else None)
            assert m.next_state(state, trigger) == (t.dest if t else None)  # from the cache
    pairs = len(m._next)
    assert pairs == len(defn.states) * len(defn.triggers)
    assert m.next_state("no_such_state", "accept") is None
    assert m.next_state("received", "no_such_trigger") is None
    assert len(m._next) == pairs  # unknown names are not kept


def test_build_engine_starts_nothing():
    import threading

    before = threading.active_count()
    engine = make_engine()
    assert threading.active_count() == before
    assert engine.listeners == []
    assert engine.sweep() == []


def test_the_engine_reads_the_injected_clock():
    now = datetime(2024, 3, 6, 15, 0, tzinfo=TZ)
    engine = make_engine(now=lambda: now)
    case = engine.open_case("fx_filing", actor=CLERK)
    assert case.opened_at == now and case.clocks["handling"].started_on == date(2024, 3, 6)
