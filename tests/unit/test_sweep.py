"""The escalation sweep (DESIGN "Life of a deadline", issue 3): each level once per clock, every
level a gap covered recorded oldest first with its due and seen instants, paused and stopped
clocks silent, outbox rows for the escalation ladder, batches repeated until nothing is due."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.engine_support import CLERK, EXAMINER, PROVINCE, SUPERVISOR, WUHAN, at, make_engine
from workflow import Engine, Escalation

pytestmark = pytest.mark.freeze_time("2024-03-04 02:00:00")  # Mon 2024-03-04 10:00 in Shanghai

# fx_filing opened Mon 03-04: 5 working days → statutory 03-11, commitment 3 → 03-07;
# warning from 00:00 of the last working day before the commitment's last day (03-06),
# overdue from 00:00 after the commitment (03-08), over_statutory after the statutory (03-12).
WARNING, OVERDUE, OVER = at("2024-03-06 00:00"), at("2024-03-08 00:00"), at("2024-03-12 00:00")


@pytest.fixture
def engine() -> Engine:
    return make_engine()


def review(engine: Engine) -> str:
    case = engine.open_case("fx_filing", actor=CLERK)
    return engine.fire(case.id, "accept", actor=CLERK).id


def pairs(fired: list[Escalation]) -> list[tuple[str, str]]:
    return [(e.clock, e.level) for e in fired]


def test_each_level_fires_once_at_its_instant(engine, freezer):
    case_id = review(engine)
    for instant, level in ((WARNING, "warning"), (OVERDUE, "overdue"), (OVER, "over_statutory")):
        freezer.move_to(instant - timedelta(seconds=1))
        assert engine.sweep() == [], level
        freezer.move_to(instant)
        (esc,) = engine.sweep()
        assert (esc.case_id, esc.clock, esc.level, esc.due, esc.seen) == (
            case_id, "handling", level, instant, instant)
        assert engine.sweep() == []
        assert engine.get_case(case_id).clocks["handling"].sla == level
    freezer.move_to(at("2024-06-01 10:00"))
    assert engine.sweep() == []


def test_a_sweep_after_a_gap_records_every_level_oldest_first(engine, freezer):
    case_id = review(engine)
    seen = at("2024-03-20 08:30")
    freezer.move_to(seen)
    fired = engine.sweep()
    assert [(e.level, e.due, e.seen) for e in fired] == [
        ("warning", WARNING, seen), ("overdue", OVERDUE, seen), ("over_statutory", OVER, seen)]
    assert {e.case_id for e in fired} == {case_id}
    assert engine.sweep() == []
    events = [e for e in engine.history(case_id) if e.kind == "escalation"]
    assert [(e.actor_id, e.trigger, e.data["level"], e.data["due"], e.data["seen"]) for e in events] == [
        ("system", None, "warning", WARNING.isoformat(), seen.isoformat()),
        ("system", None, "overdue", OVERDUE.isoformat(), seen.isoformat()),
        ("system", None, "over_statutory", OVER.isoformat(), seen.isoformat()),
    ]
    rows = {d.level: d for d in engine.deadlines(case_id)}
    assert {lvl: (d.state, d.seen_at) for lvl, d in rows.items()} == {
        "warning": ("fired", seen), "overdue": ("fired", seen), "over_statutory": ("fired", seen)}


def test_sweeps_either_side_of_a_level(engine, freezer):
    case_id = review(engine)
    freezer.move_to(at("2024-03-07 12:00"))
    assert pairs(engine.sweep()) == [("handling", "warning")]
    freezer.move_to(at("2024-03-13 12:00"))
    assert pairs(engine.sweep()) == [("handling", "overdue"), ("handling", "over_statutory")]
    levels = [e.data["level"] for e in engine.history(case_id) if e.kind == "escalation"]
    assert levels == ["warning", "overdue", "over_statutory"]


def test_the_sweep_returns_every_case_oldest_due_first(engine, freezer):
    first = review(engine)
    freezer.move_to(at("2024-03-05 10:00"))
    second = review(engine)  # one working day later: each level one day later
    freezer.move_to(at("2024-03-30 10:00"))
    fired = engine.sweep()
    assert [e.due for e in fired] == sorted(e.due for e in fired)
    assert [(e.case_id, e.level) for e in fired] == [
        (first, "warning"), (second, "warning"), (first, "overdue"), (second, "overdue"),
        (first, "over_statutory"), (second, "over_statutory"),
    ]


def test_one_sweep_repeats_its_batches_until_nothing_is_due(engine, freezer):
    ids = {review(engine) for _ in range(7)}
    freezer.move_to(at("2024-03-20 10:00"))
    fired = engine.sweep(batch=2)
    assert len(fired) == 21
    assert {e.case_id for e in fired} == ids
    assert [e.due for e in fired] == sorted(e.due for e in fired)
    assert engine.sweep(batch=2) == []


def test_the_settings_batch_is_the_default(freezer):
    from workflow import EngineSettings

    engine = make_engine(settings=EngineSettings(sweep_batch=1))
    for _ in range(3):
        review(engine)
    freezer.move_to(at("2024-03-20 10:00"))
    assert len(engine.sweep()) == 9


def test_a_paused_clock_does_not_escalate(engine, freezer):
    case_id = review(engine)
    freezer.move_to(at("2024-03-05 10:00"))
    engine.fire(case_id, "request_supplement", actor=EXAMINER, data={"notice": "补正"})
    freezer.move_to(at("2024-04-30 10:00"))
    assert engine.sweep() == []
    assert engine.get_case(case_id).clocks["handling"].status == "paused"
    assert {d.state for d in engine.deadlines(case_id)} == {"cancelled"}


def test_a_paused_clock_keeps_the_level_it_reached(engine, freezer):
    case_id = review(engine)
    freezer.move_to(at("2024-03-06 10:00"))
    assert pairs(engine.sweep()) == [("handling", "warning")]
    engine.fire(case_id, "request_supplement", actor=EXAMINER, data={"notice": "补正"})
    freezer.move_to(at("2024-03-29 10:00"))
    clock = engine.get_case(case_id).clocks["handling"]
    assert (clock.status, clock.sla) == ("paused", "warning")
    assert engine.sweep() == []
    # resumed Fri 03-29: 2 used (03-05, 03-06), 3 left → Tue 04-03 (Qingming 04-04..06 off)
    engine.fire(case_id, "resubmit", actor=CLERK)
    clock = engine.get_case(case_id).clocks["handling"]
    assert clock.statutory_due.isoformat() == "2024-04-03"
    freezer.move_to(at("2024-04-10 10:00"))
    # the warning already fired stays fired: only the later levels come
    assert pairs(engine.sweep()) == [("handling", "overdue"), ("handling", "over_statutory")]


def test_a_closed_case_does_not_escalate(engine, freezer):
    case_id = review(engine)
    freezer.move_to(at("2024-03-05 10:00"))
    engine.fire(case_id, "approve", actor=EXAMINER)
    freezer.move_to(at("2024-05-01 10:00"))
    assert engine.sweep() == []
    assert engine.get_case(case_id).clocks["handling"].sla == "met"


def test_outbox_rows_follow_the_escalation_ladder(engine, freezer):
    case_id = review(engine)
    freezer.move_to(at("2024-03-20 10:00"))
    engine.sweep()
    rows = [m for m in engine.store.outbox() if m.topic == "escalation"]
    assert [(m.case_id, m.payload["level"]) for m in rows] == [
        (case_id, "warning"), (case_id, "overdue"), (case_id, "over_statutory")]
    audience = {m.payload["level"]: m.payload["audience"] for m in rows}
    assert audience == {
        "warning": [{"role": "examiner", "org": WUHAN}],  # who works the state (no assignee)
        "overdue": [{"role": "supervisor", "org": WUHAN}],
        "over_statutory": [{"role": "leader", "org": WUHAN}, {"role": "leader", "org": PROVINCE}],
    }
    m = rows[0]
    assert m.payload["number"] == engine.get_case(case_id).number
    assert m.payload["clock_label"] == "办理时限" and m.payload["state"] == "under_review"
    assert m.payload["due"] == WARNING.isoformat()


def test_the_assignee_hears_the_warning(engine, freezer):
    case_id = review(engine)
    engine.assign(case_id, "examiner-9", actor=SUPERVISOR)
    freezer.move_to(WARNING)
    engine.sweep()
    (row,) = [m for m in engine.store.outbox() if m.topic == "escalation"]
    assert row.payload["audience"] == [{"user": "examiner-9"}]


def test_a_clock_counted_afresh_escalates_again_in_its_new_run(engine, freezer):
    # fx_restart: a supplement counts the period afresh; the new run escalates on its own
    case = engine.open_case("fx_restart", actor=CLERK)
    engine.fire(case.id, "accept", actor=CLERK)
    freezer.move_to(at("2024-03-18 10:00"))  # 10 working days from 03-04: statutory 03-18
    fired = engine.sweep()
    assert pairs(fired) == [("handling", "warning"), ("handling", "overdue")]
    engine.fire(case.id, "request_supplement", actor=EXAMINER)
    freezer.move_to(at("2024-03-19 10:00"))
    engine.fire(case.id, "resubmit", actor=CLERK)
    clock = engine.get_case(case.id).clocks["handling"]
    assert (clock.run, clock.sla, clock.statutory_due.isoformat()) == (2, "on_track", "2024-04-02")
    freezer.move_to(at("2024-04-30 10:00"))
    fired = engine.sweep()
    assert pairs(fired) == [("handling", "warning"), ("handling", "overdue"), ("handling", "over_statutory")]


GUARDED = """\
id: fx_guarded
version: 1
name: 带条件的期满自动流转
kind: dispute_case
initial: awaiting_answer
states:
  awaiting_answer: {label: 待答辩, roles: [clerk]}
  hearing: {label: 审理中, roles: [examiner]}
  closed: {label: 结案, final: true}
transitions:
  - {trigger: no_answer, source: awaiting_answer, dest: hearing, roles: [system], when: {respondent_abroad: false}}
  - {trigger: answer_received, source: awaiting_answer, dest: hearing, roles: [clerk]}
  - {trigger: close, source: hearing, dest: closed, roles: [examiner]}
clocks:
  handling: {limit: 2 months, start: awaiting_answer, stop: [closed]}
  answer: {limit: 15 days, start: awaiting_answer, stop: [hearing, closed], party: true, on_expire: no_answer}
"""


def test_an_automatic_transition_its_guard_refuses_is_skipped_not_stuck(tmp_path, freezer):
    (tmp_path / "fx_guarded.yaml").write_text(GUARDED, encoding="utf-8")
    engine = make_engine(definitions=[tmp_path])
    abroad = engine.open_case("fx_guarded", actor=CLERK, data={"respondent_abroad": True})
    home = engine.open_case("fx_guarded", actor=CLERK, data={"respondent_abroad": False})
    # 15 days from Mon 03-04 → Tue 03-19: expired from 03-20
    freezer.move_to(at("2024-03-20 10:00"))
    fired = engine.sweep()
    assert sorted((e.case_id, e.level) for e in fired) == sorted([(abroad.id, "expired"), (home.id, "expired")])
    assert engine.get_case(home.id).state == "hearing"  # fired by the system
    kept = engine.get_case(abroad.id)
    assert kept.state == "awaiting_answer"  # the guard refused: the expiry alone is recorded
    assert kept.clocks["answer"].sla == "expired"
    assert [e.kind for e in engine.history(abroad.id)] == ["opened", "escalation"]
    assert engine.sweep() == []
    freezer.move_to(at("2024-04-30 10:00"))
    assert {e.case_id for e in engine.sweep()} == {abroad.id, home.id}  # later levels still fire


class _OldUnitOfWork:
    """A store written before the batch methods: only ``lock_case`` and ``pending_due``."""

    def __init__(self, inner) -> None:
        self._inner = inner

    def __enter__(self):
        self._inner.__enter__()
        return self

    def __exit__(self, *exc):
        return self._inner.__exit__(*exc)

    def __getattr__(self, name):
        if name in ("lock_cases", "pending_due_many"):
            raise AttributeError(name)
        return getattr(self._inner, name)


class _OldStore:
    def __init__(self, inner) -> None:
        self._inner = inner

    def unit_of_work(self):
        return _OldUnitOfWork(self._inner.unit_of_work())

    def __getattr__(self, name):
        return getattr(self._inner, name)


def test_a_store_without_the_batch_methods_is_swept_a_case_at_a_time(engine, freezer):
    old = make_engine()
    old.store = _OldStore(old.store)
    for eng in (engine, old):
        review(eng)
        review(eng)
    seen = at("2024-03-20 08:30")
    freezer.move_to(seen)
    assert not hasattr(old.store.unit_of_work(), "lock_cases")
    got, want = old.sweep(), engine.sweep()
    assert len(got) == 6  # two cases, three levels each
    assert [(e.clock, e.level, e.due) for e in got] == [(e.clock, e.level, e.due) for e in want]
    assert old.sweep() == []  # each level once
