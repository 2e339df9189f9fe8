"""Data guards (when / unless), max_uses and field defaults on transitions and fields."""

from pathlib import Path

import pytest

from adapters import build_engine
from workflow import Actor, errors
from workflow.definition import load_text

DOC = """
id: guarded
version: 1
name: 测试事项
initial: received
fields:
  - {name: subject, type: choice, choices: [money, ownership], required: true}
  - {name: channel, type: choice, choices: [online, paper], default: paper}
states:
  received: {label: 已接收, roles: [clerk]}
  done: {label: 办结, final: true}
  refused: {label: 不予受理, final: true}
transitions:
  - {trigger: accept, source: received, dest: done, roles: [clerk], unless: {subject: ownership}}
  - {trigger: refuse, source: received, dest: refused, roles: [clerk], when: {subject: [ownership]}}
  - {trigger: remind, source: received, dest: received, roles: [clerk], max_uses: 2}
clocks:
  handling: {limit: 5 working days, start: received, stop: [done, refused]}
"""
CLERK = Actor(id="c1", roles={"clerk"}, org="420100")


@pytest.fixture
def engine(tmp_path: Path):
    (tmp_path / "guarded.yaml").write_text(DOC, encoding="utf-8")
    return build_engine(definitions=[tmp_path])


def test_unless_and_when_guards_refuse_and_hide_triggers(engine):
    own = engine.open_case("guarded", actor=CLERK, data={"subject": "ownership"})
    assert engine.available_triggers(own.id, actor=CLERK) == ["refuse", "remind"]
    with pytest.raises(errors.TransitionNotAllowed, match="subject"):
        engine.fire(own.id, "accept", actor=CLERK)
    assert engine.get_case(own.id) == own
    money = engine.open_case("guarded", actor=CLERK, data={"subject": "money"})
    assert engine.available_triggers(money.id, actor=CLERK) == ["accept", "remind"]
    with pytest.raises(errors.TransitionNotAllowed):
        engine.fire(money.id, "refuse", actor=CLERK)
    assert engine.fire(money.id, "accept", actor=CLERK).state == "done"


def test_max_uses_counts_per_case(engine):
    case = engine.open_case("guarded", actor=CLERK, data={"subject": "money"})
    engine.fire(case.id, "remind", actor=CLERK)
    engine.fire(case.id, "remind", actor=CLERK)
    assert "remind" not in engine.available_triggers(case.id, actor=CLERK)
    with pytest.raises(errors.TransitionNotAllowed, match="2 time"):
        engine.fire(case.id, "remind", actor=CLERK)
    other = engine.open_case("guarded", actor=CLERK, data={"subject": "money"})
    assert engine.fire(other.id, "remind", actor=CLERK).version == 2


def test_field_default_fills_absent_data(engine):
    case = engine.open_case("guarded", actor=CLERK, data={"subject": "money"})
    assert case.data["channel"] == "paper"
    online = engine.open_case("guarded", actor=CLERK, data={"subject": "money", "channel": "online"})
    assert online.data["channel"] == "online"


def test_bad_guards_and_max_uses_are_reported_with_their_paths():
    bad = DOC.replace("unless: {subject: ownership}", "unless: ownership").replace("max_uses: 2", "max_uses: 0")
    with pytest.raises(errors.DefinitionError) as exc:
        load_text(bad, "guarded.yaml")
    paths = {p.path for p in exc.value.problems}
    assert {"transitions[0].unless", "transitions[2].max_uses"} <= paths
    assert all(p.line for p in exc.value.problems)
