"""Extensions with reasons (行政许可法 第四十二条, issue 18 part 3): every transition with ``extend``
requires the reason and the approver, given with the call itself; one the parties agreed
(``extend_by: agreement``) requires the reason only; the history page shows both."""

from __future__ import annotations

import pytest

from api.web.history import timeline
from tests.engine_support import CLERK, LEADER, make_engine, snapshot
from tests.unit.test_definition_validation import BASE, only
from workflow import errors
from workflow.definition import load_text

EXTEND = "  - {trigger: extend, source: under_review, dest: under_review, roles: [leader], extend: {handling: 2 working days}"


def with_extension(extra: str = "") -> str:
    return BASE.replace("\nclocks:", "\n" + EXTEND + extra + "}\nclocks:", 1)


def test_an_extension_implies_a_required_reason_and_approver() -> None:
    t = load_text(with_extension(), "sample.yaml").transitions[-1]
    assert t.trigger == "extend"
    assert t.required_fields == ("reason", "approver")
    assert {f.name: f.label for f in t.fields} == {"reason": "延期理由", "approver": "批准人"}
    plain = load_text(BASE, "sample.yaml").transitions[-1]
    assert plain.required_fields == ()  # a transition without extend gains nothing


def test_an_extension_the_parties_agreed_needs_the_reason_only() -> None:
    t = load_text(with_extension(", extend_by: agreement"), "sample.yaml").transitions[-1]
    assert t.required_fields == ("reason",)


def test_extend_by_is_checked() -> None:
    path, message, _ = only(with_extension(", extend_by: consensus"))
    assert path == "transitions[2].extend_by" and "approval or agreement" in message
    lone = BASE.replace("dest: done, roles: [examiner]}", "dest: done, roles: [examiner], extend_by: agreement}")
    path, message, _ = only(lone)
    assert path == "transitions[1].extend_by" and "only goes with extend" in message


def test_a_missing_reason_or_approver_is_named_and_the_case_is_unchanged() -> None:
    engine = make_engine()
    # a reason the case already holds from its opening does not count for the extension
    case = engine.fire(engine.open_case("fx_filing", actor=CLERK, data={"reason": "材料不全"}).id, "accept",
                       actor=CLERK)
    before = snapshot(engine, case.id)
    with pytest.raises(errors.MissingData) as exc:
        engine.fire(case.id, "extend", actor=LEADER)
    assert exc.value.fields == {"reason": "required", "approver": "required"}
    with pytest.raises(errors.MissingData) as exc:
        engine.fire(case.id, "extend", actor=LEADER, data={"reason": "案情复杂", "approver": "  "})
    assert exc.value.fields == {"approver": "required"}
    assert snapshot(engine, case.id) == before
    done = engine.fire(case.id, "extend", actor=LEADER, data={"reason": "案情复杂", "approver": "局长 张明"})
    assert done.clocks["handling"].extensions == ("2 working days",)
    event = engine.history(case.id)[-1]
    assert (event.data["reason"], event.data["approver"]) == ("案情复杂", "局长 张明")
    # the history page's words for the event
    defn = engine.registry.get(done.item_id, done.definition_version)
    entry = timeline(engine.history(case.id), defn, done, who=str, org_name=str)[-1]
    assert ("延期理由", "案情复杂") in entry.fields and ("批准人", "局长 张明") in entry.fields
