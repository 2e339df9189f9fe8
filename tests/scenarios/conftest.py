"""Shared scenario helpers: one actor per role in org 420100 (Wuhan, under the province 420000),
an engine on the shipped definitions, and the checks every scenario file repeats.

Every date in the scenarios is hand-checked against the official calendar (国务院办公厅 notices);
the 2024 days they rely on:

* New Year: Mon 01-01 off.
* Spring Festival: 02-10 .. 02-17 off; Sun 02-04 and Sun 02-18 workdays.
* Qingming: 04-04 .. 04-06 off; Sun 04-07 workday.
* Labour Day: 05-01 .. 05-05 off; Sun 04-28 and Sat 05-11 workdays.
* Dragon Boat: Mon 06-10 off.
* Mid-Autumn: 09-15 .. 09-17 off; Sat 09-14 workday.
* National Day: 10-01 .. 10-07 off; Sun 09-29 and Sat 10-12 workdays.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import pytest

from adapters import build_engine
from workflow import TZ, Actor, Case, Engine

ORG = "420100"
PROVINCE = "420000"
CLERK = Actor("clerk-1", {"clerk"}, ORG, "窗口")
EXAMINER = Actor("examiner-1", {"examiner"}, ORG, "审查员")
SUPERVISOR = Actor("supervisor-1", {"supervisor"}, ORG, "科长")
LEADER = Actor("leader-1", {"leader"}, ORG, "局领导")
ADMIN = Actor("admin-1", {"admin"}, PROVINCE, "管理员")
# what every approved extension carries (行政许可法 第四十二条): the reason and the approver
APPROVED = {"reason": "案情复杂，需进一步核实", "approver": "局长 张明"}

# who hears of each level by default (workflow.escalation.DEFAULT_LADDER)
SUPERVISORS = [{"role": "supervisor", "org": ORG}]
LEADERS = [{"role": "leader", "org": ORG}, {"role": "leader", "org": PROVINCE}]


def roles(*names: str) -> list[dict[str, str]]:
    """The audience ``state_roles`` gives: each role of the state in the case's org."""
    return [{"role": n, "org": ORG} for n in names]


def levels(clock: str) -> list[tuple[str, str]]:
    """An office clock's three escalation levels, in the order they fall due."""
    return [(clock, "warning"), (clock, "overdue"), (clock, "over_statutory")]


def told(clock: str, *warned: str) -> dict[tuple[str, str], list[dict[str, str]]]:
    """Who the default ladder tells of a clock's three levels: the roles ``warned`` of the state
    it warned in, then the org's supervisors, then the leaders of the org and of the province."""
    return {(clock, "warning"): roles(*warned), (clock, "overdue"): SUPERVISORS,
            (clock, "over_statutory"): LEADERS}


def at(text: str) -> datetime:
    """``"2024-03-04 10:00"`` as an aware Asia/Shanghai instant."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.fixture
def engine() -> Engine:
    """An in-memory engine on the shipped definitions (definitions/*.yaml)."""
    return build_engine("memory://")


def walk(engine: Engine, case_id: str, *steps: tuple[Any, ...]) -> Case:
    """Fire ``(trigger, actor)`` or ``(trigger, actor, data)`` steps in order; the case after."""
    case = engine.get_case(case_id)
    for step in steps:
        trigger, actor, *rest = step
        case = engine.fire(case_id, trigger, actor=actor, data=rest[0] if rest else None)
    return case


def refused(engine: Engine, case_id: str, trigger: str, actor: Actor, error: type[Exception],
            data: Mapping[str, Any] | None = None) -> Exception:
    """Fire and expect ``error``; the case, its history and its deadlines are left as they were."""
    case, history, deadlines = engine.get_case(case_id), engine.history(case_id), engine.deadlines(case_id)
    with pytest.raises(error) as exc:
        engine.fire(case_id, trigger, actor=actor, data=data)
    assert engine.get_case(case_id) == case
    assert engine.history(case_id) == history
    assert engine.deadlines(case_id) == deadlines
    return exc.value


def sweep_at(engine: Engine, freezer: Any, when: str | datetime,
             case_id: str | None = None) -> list[tuple[str, str]]:
    """Move the frozen clock to ``when`` and sweep: the (clock, level) pairs fired, oldest first
    (only ``case_id``'s when given)."""
    freezer.move_to(at(when) if isinstance(when, str) else when)
    return [(e.clock, e.level) for e in engine.sweep() if case_id in (None, e.case_id)]


def ladder(engine: Engine, freezer: Any, steps: Iterable[tuple[str, list[tuple[str, str]]]],
           case_id: str | None = None) -> None:
    """For each ``(instant, expected)``: a sweep one minute before fires nothing, a sweep at the
    instant fires exactly ``expected``, and a second sweep at it fires nothing (exactly once)."""
    for when, expected in steps:
        assert sweep_at(engine, freezer, at(when) - timedelta(minutes=1), case_id) == [], f"early at {when}"
        assert sweep_at(engine, freezer, when, case_id) == expected, f"at {when}"
        assert engine.sweep() == [], f"twice at {when}"


def escalations(engine: Engine, case_id: str) -> list[tuple[str, str]]:
    """The (clock, level) escalation events in the case's history, in order."""
    return [(e.data["clock"], e.data["level"]) for e in engine.history(case_id) if e.kind == "escalation"]


def audiences(engine: Engine, case_id: str) -> dict[tuple[str, str], list[dict[str, str]]]:
    """Who the outbox tells of each (clock, level) of the case (each must be there once)."""
    out: dict[tuple[str, str], list[dict[str, str]]] = {}
    for m in engine.store.outbox():
        if m.topic == "escalation" and m.case_id == case_id:
            key = (m.payload["clock"], m.payload["level"])
            assert key not in out, f"{key} told twice"
            out[key] = m.payload["audience"]
    return out


def due(case: Case, clock: str) -> tuple[Any, Any]:
    """(statutory last day, commitment last day) of a clock."""
    c = case.clocks[clock]
    return c.statutory_due, c.commitment_due


def refused_at_load(text: str, source: str, path: str, words: str, line: str) -> None:
    """Loading ``text`` as ``source`` is refused with a problem at ``path`` whose message has
    ``words``, on the line whose text is ``line``, naming the file."""
    from workflow.definition import load_text
    from workflow.errors import DefinitionError

    with pytest.raises(DefinitionError) as exc:
        load_text(text, source)
    found = [p for p in exc.value.problems if p.path == path]
    assert found, exc.value.problems
    assert words in found[0].message
    assert found[0].line == text.splitlines().index(line) + 1
    assert source in str(exc.value)
