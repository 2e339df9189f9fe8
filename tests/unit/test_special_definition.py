"""特别程序 in the definition format (workflow/special.py): a transition's ``special`` names the kinds
of procedure it starts (or ``{kinds, basis}``); the loader implies kind, approver and expected days,
and checks every problem with its path; the expected days count as the paused clock counts."""

from __future__ import annotations

import pytest

from adapters import build_engine
from api.web.history import timeline
from tests.scenarios.conftest import EXAMINER
from tests.scenarios.test_special_procedures import APPRAISAL, ITEM, examining
from tests.unit.test_definition_validation import BASE, only, problems
from workflow.definition import load_text
from workflow.limits import Unit
from workflow.special import unit_for

PAUSING = BASE.replace("  done: {label: 办结, final: true}",
                       "  testing: {label: 检测中, pauses: [handling]}\n  done: {label: 办结, final: true}")


def with_step(special: str, extra: str = "") -> str:
    return PAUSING.replace("\nclocks:", "\n  - {trigger: start_testing, source: under_review, dest: testing, "
                           f"roles: [examiner], special: {special}{extra}}}\n"
                           "  - {trigger: testing_done, source: testing, dest: under_review, roles: [examiner]}\n"
                           "clocks:", 1)


def test_a_special_step_implies_kind_approver_and_expected_days():
    d = load_text(with_step("[testing, appraisal]"), "sample.yaml")
    t = d.transition("start_testing", "under_review")
    assert t is not None and t.special == ("testing", "appraisal") and t.special_basis is None
    assert t.required_fields == ("kind", "approver", "expected_days")
    kind, approver, days = t.fields
    assert (kind.type, kind.choices, kind.label) == ("choice", ("testing", "appraisal"), "特别程序种类")
    assert (approver.type, approver.label) == ("text", "批准人")
    assert (days.type, days.min, days.max) == ("integer", 1, 365)
    assert unit_for(d, "testing") is Unit.WORKING_DAYS  # the paused clock counts working days
    months = load_text(with_step("[testing]").replace("limit: 5 working days", "limit: 3 months"), "sample.yaml")
    assert unit_for(months, "testing") is Unit.DAYS
    named = load_text(with_step("{kinds: [hearing], basis: 《某规定》第一条}"), "sample.yaml")
    assert named.transition("start_testing", "under_review").special_basis == "《某规定》第一条"


@pytest.mark.parametrize(("special", "extra", "path", "words"), [
    ("[tasting]", "", "transitions[2].special", "unknown kind 'tasting'"),
    ("[testing, testing]", "", "transitions[2].special", "listed twice"),
    ("[]", "", "transitions[2].special", "lists the kinds"),
    ("[testing]", ", extend: {handling: 2 working days}", "transitions[2].special", "one step does one or the other"),
    ("[testing]", ", fields: [{name: approver, type: text}]", "transitions[2].fields", "implied by special"),
    ("{kinds: [testing], basis: ' '}", "", "transitions[2].special.basis", "the text of the law"),
    ("{kinds: [testing], law: x}", "", "transitions[2].special.law", "unknown key 'law'"),
])
def test_each_problem_is_named_with_its_path(special, extra, path, words):
    found = [p for p in problems(with_step(special, extra)) if p.path.startswith("transitions[2]")]
    assert [p.path for p in found] == [path] and words in found[0].message, found


def test_a_special_step_enters_a_pausing_state():
    text = BASE.replace("  - {trigger: accept, source: received, dest: under_review, roles: [clerk]}",
                        "  - {trigger: accept, source: received, dest: under_review, roles: [clerk], special: [hearing]}")
    path, message, _ = only(text)
    assert path == "transitions[0].special" and "pauses the limit" in message


def test_the_clock_name_is_reserved():
    text = with_step("[testing]").replace("  handling: {limit: 5 working days, start: received, stop: [done]}",
                                          "  handling: {limit: 5 working days, start: received, stop: [done]}\n"
                                          "  special_procedure: {limit: 5 days, start: received, stop: [done]}")
    path, message, _ = only(text)
    assert path == "clocks.special_procedure" and "rename this clock" in message
    load_text(text.replace(", special: [testing]", ""), "sample.yaml")  # no special step: the name is free


@pytest.mark.freeze_time("2026-11-30 10:00:00+08:00")
def test_the_history_page_shows_the_procedure(freezer):
    engine = build_engine("memory://")
    case = examining(engine, freezer)
    freezer.move_to("2027-01-18 10:00:00+08:00")
    paused = engine.fire(case.id, "start_appraisal", actor=EXAMINER, data=APPRAISAL)
    defn = engine.definition(ITEM, paused.definition_version)
    entry = timeline(engine.history(case.id), defn, paused, who=str, org_name=str)[-1]
    assert [("特别程序种类", "鉴定"), ("批准人", "副局长 刘强"), ("预计届满", "2027-02-11"),
            ("依据", "《行政许可法》第四十五条")] == [r for r in entry.fields if r[0] != "预计所需时间"]
