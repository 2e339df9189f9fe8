"""What every shipped definition owes its scenarios (STYLE 8) and its escalations."""

from pathlib import Path

import pytest

from adapters import build_engine

HERE = Path(__file__).resolve().parent
SHIPPED = build_engine("memory://").registry.latest()


def running_in(defn, clock):
    """The states a clock can be running in: reachable from its start without passing a stop
    state, less the states that pause or restart it (a step clock: its own state)."""
    c = defn.clocks[clock]
    if c.step:
        return {c.start}
    seen, todo = {c.start}, [c.start]
    while todo:
        for t in defn.transitions_from(todo.pop()):
            if t.dest not in seen and t.dest not in c.stop:
                seen.add(t.dest)
                todo.append(t.dest)
    return {s for s in seen if clock not in defn.states[s].pauses + defn.states[s].restarts}


@pytest.mark.parametrize("defn", SHIPPED, ids=lambda d: d.id)
def test_every_shipped_definition_has_its_scenarios(defn):
    assert (HERE / f"test_{defn.id}.py").exists()


@pytest.mark.parametrize("defn", SHIPPED, ids=lambda d: d.id)
def test_someone_hears_of_every_clock_that_can_run_in_a_state(defn):
    """A warning or an expiry goes to the assignee, else to the roles of the case's state: a
    state in which a clock runs must name them, or the escalation reaches nobody (and the case
    is on nobody's worklist)."""
    silent = {
        (s, clock)
        for clock in defn.clocks
        for s in running_in(defn, clock)
        if not defn.states[s].final and not defn.states[s].roles
    }
    assert silent == set()
