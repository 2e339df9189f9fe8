"""Office overrides, definition versions with explicit migrations, and bundles (issue 4)."""

from datetime import date
from pathlib import Path

import pytest

from adapters import build_engine
from workflow import Actor, errors

FIX = Path(__file__).resolve().parents[1] / "fixtures"
DEFS = [FIX / "pledge.yaml", FIX / "licence.yaml", FIX / "bundle.yaml"]
CLERK = Actor(id="c1", roles={"clerk"}, org="420100")
EXAMINER = Actor(id="e1", roles={"examiner"}, org="420100")
LEADER = Actor(id="l1", roles={"leader"}, org="420100")
ADMIN = Actor(id="a1", roles={"admin"}, org="420000")


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.freeze_time("2024-03-04 10:00:00+08:00")
def test_override_publishes_a_new_version_and_running_cases_keep_theirs():
    engine = build_engine(definitions=DEFS)
    old = engine.open_case("pledge", actor=CLERK)
    engine2 = build_engine(definitions=DEFS, overrides=[FIX / "overrides"])
    assert [(d.id, d.version) for d in engine2.definitions() if d.id == "pledge"] == [("pledge", 1), ("pledge", 2)]
    new = engine2.open_case("pledge", actor=CLERK)
    assert new.definition_version == 2
    # 5 working days from Mon 2024-03-04: statutory 03-11; the office's own commitment is 2 wd
    assert new.clocks["handling"].statutory_due == date(2024, 3, 11)
    assert new.clocks["handling"].commitment_due == date(2024, 3, 6)
    assert old.clocks["handling"].commitment_due == date(2024, 3, 7)  # floor(2/3 x 5) = 3 wd
    assert engine2.definition("pledge", 2).states["under_review"].label == "审核中"
    assert set(engine2.definition("pledge", 2).transition("approve", "under_review").roles) == {"examiner", "leader"}


def test_override_beyond_two_thirds_is_refused_naming_the_file(tmp_path):
    bad = write(tmp_path, "bad.yaml", "override: pledge\nclocks:\n  handling: {commitment: 4 working days}\n")
    with pytest.raises(errors.DefinitionError) as exc:
        build_engine(definitions=DEFS, overrides=[bad])
    assert "bad.yaml" in str(exc.value)
    assert any(p.path == "clocks.handling.commitment" for p in exc.value.problems)


def test_override_of_unknown_things_lists_every_problem(tmp_path):
    bad = write(tmp_path, "bad.yaml", (
        "override: pledge\n"
        "clocks:\n  nothing: {limit: 3 days}\n"
        "states:\n  nowhere: {label: x}\n"
        "transitions:\n  - {trigger: fly, roles: [clerk]}\n"
        "kind: dispute_case\n"
    ))
    with pytest.raises(errors.DefinitionError) as exc:
        build_engine(definitions=DEFS, overrides=[bad])
    paths = {p.path for p in exc.value.problems}
    assert {"clocks.nothing", "states.nowhere", "transitions[0].trigger", "kind"} <= paths


def test_override_of_an_unknown_definition(tmp_path):
    bad = write(tmp_path, "x.yaml", "override: no_such_item\n")
    with pytest.raises(errors.DefinitionError, match="no_such_item"):
        build_engine(definitions=DEFS, overrides=[bad])


def test_override_without_version_replaces_in_place_for_new_cases(tmp_path):
    ov = write(tmp_path, "labels.yaml", "override: pledge\nname: 专利权质押登记（武汉）\nstates:\n  received: {label: 窗口已收件}\n")
    engine = build_engine(definitions=DEFS, overrides=[ov])
    d = engine.definition("pledge")
    assert d.version == 1 and d.name == "专利权质押登记（武汉）"
    assert d.label_of("received") == "窗口已收件"


@pytest.mark.freeze_time("2024-03-04 10:00:00+08:00")
def test_migration_maps_states_records_history_and_keeps_old_limits_unless_cited(freezer):
    engine = build_engine(definitions=DEFS, overrides=[FIX / "overrides"])
    # open two cases on version 1 by migrating them back first is awkward: open on v2, move to v1 and back
    case = engine.open_case("pledge", actor=CLERK)
    engine.fire(case.id, "accept", actor=CLERK)
    moved = engine.migrate("pledge", from_version=2, to_version=1, actor=ADMIN, reason="回退测试")
    assert moved == [case.id]
    after = engine.get_case(case.id)
    assert after.definition_version == 1 and after.state == "under_review"
    # limits in force when the case started keep governing: still the v2 commitment of 2 wd
    assert after.clocks["handling"].commitment_due == date(2024, 3, 6)
    last = engine.history(case.id)[-1]
    assert last.kind == "migrated" and last.data["from_version"] == 2 and last.data["to_version"] == 1
    # now apply the new (v1) limits, citing why
    engine.migrate("pledge", from_version=1, to_version=2, actor=ADMIN, reason="x")
    engine.migrate("pledge", from_version=2, to_version=1, actor=ADMIN, apply_new_limits=True,
                   reason="新规定适用于未办结案件")
    assert engine.get_case(case.id).clocks["handling"].commitment_due == date(2024, 3, 7)


def test_migration_that_cannot_map_a_state_is_refused_whole():
    engine = build_engine(definitions=DEFS, overrides=[FIX / "overrides"])
    a = engine.open_case("pledge", actor=CLERK)
    b = engine.open_case("pledge", actor=CLERK)
    engine.fire(b.id, "accept", actor=CLERK)
    before = [engine.get_case(a.id), engine.get_case(b.id)]
    with pytest.raises(errors.DefinitionError, match="under_review"):
        engine.migrate("pledge", from_version=2, to_version=1, actor=ADMIN, reason="x",
                       state_map={"under_review": "gone"})
    assert [engine.get_case(a.id), engine.get_case(b.id)] == before
    assert all(ev.kind != "migrated" for ev in engine.history(a.id))


def test_migration_needs_admin_and_a_reason():
    engine = build_engine(definitions=DEFS, overrides=[FIX / "overrides"])
    with pytest.raises(errors.Forbidden):
        engine.migrate("pledge", from_version=2, to_version=1, actor=CLERK, reason="x")
    with pytest.raises(errors.MissingData):
        engine.migrate("pledge", from_version=2, to_version=1, actor=ADMIN, reason=" ")


@pytest.mark.freeze_time("2024-03-04 10:00:00+08:00")
def test_bundle_opens_children_in_one_unit_and_closes_with_the_last_child():
    engine = build_engine(definitions=DEFS)
    bundle = engine.open_case("pledge_bundle", actor=CLERK, data={"applicant": "某公司"})
    assert len(bundle.children) == 2
    kids = {engine.get_case(k).item_id: engine.get_case(k) for k in bundle.children}
    assert set(kids) == {"pledge", "licence"}
    assert all(k.parent_id == bundle.id and k.org == bundle.org for k in kids.values())
    # the bundle's own clock is as long as its longest child's (7 working days)
    assert bundle.clocks["handling"].limit == "7 working days"
    assert bundle.clocks["handling"].statutory_due == date(2024, 3, 13)
    engine.fire(kids["licence"].id, "refuse", actor=EXAMINER, data={"reason": "合同不全"})
    assert engine.get_case(bundle.id).state == "received"  # still open: one child to go
    engine.fire(kids["pledge"].id, "accept", actor=CLERK)
    engine.fire(kids["pledge"].id, "approve", actor=EXAMINER)
    done = engine.get_case(bundle.id)
    assert done.state == "completed" and done.closed_at is not None
    assert done.data["children_outcomes"] == {"licence": "refused", "pledge": "registered"}  # refusal visible
    assert done.clocks["handling"].sla == "met"
    assert engine.history(bundle.id)[-1].actor_id == "system"


def test_bundle_with_unknown_child_is_refused(tmp_path):
    bad = write(tmp_path, "b.yaml", (FIX / "bundle.yaml").read_text(encoding="utf-8").replace("licence]", "ghost]"))
    with pytest.raises(errors.DefinitionError, match="ghost"):
        build_engine(definitions=[FIX / "pledge.yaml", bad])
