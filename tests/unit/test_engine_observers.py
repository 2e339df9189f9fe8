"""The engine's two seams for adapters that write with a step: ``Engine.observers`` (told of every
transition inside its unit of work) and ``open_case(within=…)`` (rows written with the opening).
Both commit with the step or not at all."""

from __future__ import annotations

import pytest

from adapters import build_engine
from workflow import Actor
from workflow.errors import TransitionNotAllowed, WorkflowError
from workflow.ports import Step

CLERK = Actor("c1", {"clerk"}, "420100")
EXAMINER = Actor("e1", {"examiner"}, "420100")
PLEDGE = "patent_pledge_registration"
DATA = {"pledgor": "甲", "pledgee": "乙", "patent_numbers": "ZL1", "channel": "paper"}


@pytest.fixture(params=["memory", "sqlite"])
def engine(request, tmp_path):
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'obs.db'}"
    from adapters.sql import upgrade

    if request.param == "sqlite":
        upgrade(url)
    e = build_engine(url)
    yield e
    dispose = getattr(e.store, "dispose", None)
    if dispose:
        dispose()


def test_an_observer_sees_each_transition_after_the_engine_applied_it(engine):
    seen: list[Step] = []
    engine.observers.append(lambda uow, step: seen.append(step))
    case = engine.open_case(PLEDGE, actor=CLERK, data=DATA)
    assert seen == []  # an opening is not a transition
    engine.fire(case.id, "accept", actor=CLERK)
    engine.fire(case.id, "request_supplement", actor=EXAMINER, data={"supplement_items": "合同原件"})
    assert [(s.trigger, s.source, s.dest) for s in seen] == [
        ("accept", "received", "under_review"), ("request_supplement", "under_review", "awaiting_supplement")]
    last = seen[-1]
    assert last.case.state == "awaiting_supplement" and last.case.clocks["handling"].status.value == "paused"
    assert last.data == {"supplement_items": "合同原件"} and last.actor == EXAMINER
    assert last.transition.label == "通知补正" and last.definition.id == PLEDGE


def test_an_observer_that_raises_refuses_the_whole_step(engine):
    case = engine.open_case(PLEDGE, actor=CLERK, data=DATA)

    def refuse(uow, step):
        raise TransitionNotAllowed("the observer says no")

    engine.observers.append(refuse)
    before, history = engine.get_case(case.id), engine.history(case.id)
    with pytest.raises(TransitionNotAllowed):
        engine.fire(case.id, "accept", actor=CLERK)
    assert engine.get_case(case.id) == before and engine.history(case.id) == history


def test_within_runs_in_the_opening_unit_of_work_and_fails_it_whole(engine):
    got = []
    case = engine.open_case(PLEDGE, actor=CLERK, data=DATA, within=lambda uow, rec: got.append(rec.number))
    assert got == [case.number]

    def boom(uow, rec):
        raise WorkflowError("no")

    with pytest.raises(WorkflowError):
        engine.open_case(PLEDGE, actor=CLERK, data=DATA, within=boom)
    assert [c.id for c in engine.list_cases()] == [case.id]  # nothing of the refused opening stays


def test_a_replayed_opening_does_not_run_within_again(engine):
    calls = []
    first = engine.open_case(PLEDGE, actor=CLERK, data=DATA, idempotency_key="k1",
                             within=lambda uow, rec: calls.append(rec.id))
    again = engine.open_case(PLEDGE, actor=CLERK, data=DATA, idempotency_key="k1",
                             within=lambda uow, rec: calls.append(rec.id))
    assert again.id == first.id and calls == [first.id]
