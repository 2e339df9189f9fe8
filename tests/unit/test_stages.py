"""Platform stages for 办件 reporting (issue 19): the definition keys, their validation, the
stage each step reaches, and the shipped definitions' mapping."""

from __future__ import annotations

import pytest

from adapters import build_engine
from workflow.definition import content_hash, load_text
from workflow.errors import DefinitionError
from workflow.stages import STAGES, StageMap

BASE = """
id: stage_probe
version: 1
name: 阶段测试
kind: service_item
initial: received
states:
  received: {label: 已接收}
  under_review: {label: 审查中}
  awaiting_supplement: {label: 待补正, pauses: [handling]}
  done: {label: 办结, final: true}
transitions:
  - {trigger: accept, source: received, dest: under_review, roles: [clerk]}
  - {trigger: request_supplement, source: under_review, dest: awaiting_supplement, roles: [clerk]}
  - {trigger: resubmit, source: awaiting_supplement, dest: under_review, roles: [clerk]}
  - {trigger: extend, source: under_review, dest: under_review, roles: [clerk]}
  - {trigger: finish, source: under_review, dest: done, roles: [clerk]}
clocks:
  handling: {limit: 5 working days, start: received, stop: [done]}
"""
MAPPING = """
item_code: 11420000MB0000000X4000112400001
stages: {received: 申办, under_review: 审批环节, awaiting_supplement: 补正告知, done: 办结}
trigger_stages: {accept: 受理, resubmit: 补正受理, extend: 特别程序}
"""


def test_the_stage_each_step_reaches():
    d = load_text(BASE + MAPPING)
    of = d.stages.of
    assert d.stages.item_code == "11420000MB0000000X4000112400001"
    assert of("opened", None, None, "received") == "申办"
    assert of("transition", "accept", "received", "under_review") == "受理"  # the trigger wins
    assert of("transition", "request_supplement", "under_review", "awaiting_supplement") == "补正告知"
    assert of("transition", "resubmit", "awaiting_supplement", "under_review") == "补正受理"
    assert of("transition", "extend", "under_review", "under_review") == "特别程序"
    assert of("transition", "finish", "under_review", "done") == "办结"
    # events that enter no state reach no stage
    assert of("assigned", None, "under_review", "under_review") is None
    assert of("escalation", None, "under_review", "under_review") is None
    assert StageMap().of("opened", None, None, "received") is None
    assert list(STAGES) == ["申办", "受理", "审批环节", "补正告知", "补正受理", "特别程序", "办结"]


def test_every_problem_is_reported():
    bad = """
item_code: "事项 编码"
stages: {received: 申办, nowhere: 受理, under_review: 审批, done: 受理}
trigger_stages: {accept: 受理, no_trigger: 办结}
"""
    with pytest.raises(DefinitionError) as exc:
        load_text(BASE + bad, "probe.yaml")
    text = str(exc.value)
    for needle in ("item_code", "stages.nowhere: unknown state", "stages.under_review: unknown stage '审批'",
                   "stages.done: done is final: its stage is 办结", "trigger_stages.no_trigger: unknown trigger"):
        assert needle in text, text
    with pytest.raises(DefinitionError, match="stages maps a state"):
        load_text(BASE + "stages: [申办]\n")


def test_reporting_keys_do_not_change_the_content_hash():
    """An office adds its item code and stages to a registered version without a new version."""
    assert load_text(BASE).content_hash == load_text(BASE + MAPPING).content_hash
    assert content_hash({"id": "x", "stages": {"a": "申办"}}) == content_hash({"id": "x"})


def test_an_override_sets_the_item_code_and_changes_a_stage(tmp_path):
    over = tmp_path / "pledge-override.yaml"
    over.write_text("override: patent_pledge_registration\nitem_code: 11420000MB0000000X4000112400009\n"
                    "stages: {awaiting_supplement: 特别程序}\n", encoding="utf-8")
    engine = build_engine("memory://", overrides=[over])
    d = engine.definition("patent_pledge_registration")
    assert d.stages.item_code == "11420000MB0000000X4000112400009"
    assert d.stages.states["awaiting_supplement"] == "特别程序"
    assert d.stages.states["received"] == "申办"  # merged, not replaced


def test_the_shipped_definitions_map_every_state():
    engine = build_engine("memory://")
    unmapped = []
    for d in engine.definitions():
        if d.id == "rating_rectification":  # the office's own follow-up of a bad rating: no 办件
            assert not d.stages.mapped
            continue
        assert set(d.stages.states) == set(d.states), d.id
        assert all(d.stages.states[s] == "办结" for s in d.final_states), d.id
        assert d.stages.item_code is None  # each office sets its own code (override)
        if not d.stages.of("opened", None, None, d.initial):
            unmapped.append(d.id)
    assert unmapped == []


def test_any_value_in_the_stage_keys_is_a_definition_error():
    for bad in ("stages: {received: [申办]}", "stages: {received: {a: b}}", "trigger_stages: {accept: 1}",
                "stages: {[1]: 申办}", "item_code: [1]", "item_code: 12", "trigger_stages: 受理"):
        with pytest.raises(DefinitionError):
            load_text(BASE + bad + "\n")
