"""Every text field has a most number of characters (QA: a 延期理由 of 340,000 characters was
stored and took the PDF renderer minutes): ``string`` 200, ``text`` 5,000 unless the field
declares ``max_length`` (at most 20,000); implied fields (an extension's reason and approver, a
special procedure's approver) included; a refused step leaves the case as it was. And a date typed
in another ISO form (``20261231``) is stored as ``2026-12-31``."""

from __future__ import annotations

import textwrap
from dataclasses import replace

import pytest

from adapters import build_engine
from api.views import definition_detail
from api.web import present
from tests.unit.test_field_rules import refused
from workflow import Actor, errors
from workflow.definition import load_text
from workflow.engine import check_data
from workflow.fieldrules import MAX_LENGTH, MAX_LENGTH_CEILING, NameRule, max_length
from workflow.overrides import apply_override

ORG = "420100"
CLERK = Actor("clerk-1", {"clerk"}, ORG, "窗口")
EXAMINER = Actor("examiner-1", {"examiner"}, ORG, "审查员")
LEADER = Actor("leader-1", {"leader"}, ORG, "局领导")
ITEM = "patent_infringement_adjudication"

DOC = textwrap.dedent(
    """\
    id: lengths
    version: 1
    name: 样例事项
    kind: dispute_case
    initial: received
    fields:
      - {name: party, type: string, label: 当事人, required: true}
      - {name: claims, type: text, label: 请求事项}
      - {name: short_note, type: text, label: 备注, max_length: 10}
      - {name: long_facts, type: text, label: 事实与理由, max_length: 12000}
      - {name: received_on, type: date, label: 收件日}
    states:
      received: {label: 已接收, roles: [clerk]}
      done: {label: 办结, final: true}
    transitions:
      - {trigger: close, source: received, dest: done, roles: [clerk]}
    clocks:
      handling: {limit: 30 days, start: received, stop: [done]}
    """
)


@pytest.fixture()
def engine(tmp_path):
    (tmp_path / "lengths.yaml").write_text(DOC, encoding="utf-8")
    return build_engine("memory://", definitions=[tmp_path])


@pytest.fixture()
def shipped():
    return build_engine("memory://")


def test_the_defaults_and_a_declared_max_length_load():
    d = load_text(DOC, "lengths.yaml")
    f = {x.name: x for x in d.fields}
    assert (max_length(f["party"]), max_length(f["claims"])) == (200, 5000)
    assert (max_length(f["short_note"]), max_length(f["long_facts"])) == (10, 12000)
    assert max_length(f["received_on"]) is None


@pytest.mark.parametrize(("spec", "says"), [
    ("{name: x, type: integer, max_length: 5}", "max_length bounds a string or text field, not a integer field"),
    ("{name: x, type: text, max_length: 0}", "max_length is a whole number of characters from 1 to 20,000, got 0"),
    ("{name: x, type: text, max_length: 20001}",
     "max_length is a whole number of characters from 1 to 20,000, got 20001"),
    ("{name: x, type: string, max_length: lots}",
     "max_length is a whole number of characters from 1 to 20,000, got 'lots'"),
])
def test_the_loader_names_a_bad_max_length(spec, says):
    line = "  - {name: party, type: string, label: 当事人, required: true}\n"
    with pytest.raises(errors.DefinitionError) as exc:
        load_text(DOC.replace(line, line + f"  - {spec}\n"), "lengths.yaml")
    assert [str(p) for p in exc.value.problems] == [f"line 8: fields[1].max_length: {says}"]


@pytest.mark.freeze_time("2026-03-02 10:00:00+08:00")
@pytest.mark.parametrize(("data", "fields"), [
    ({"party": "甲" * 201}, {"party": "too long: 201 characters (at most 200)"}),
    ({"claims": "长" * 5001}, {"claims": "too long: 5001 characters (at most 5000)"}),
    ({"claims": "长" * 340_000, "short_note": "x" * 11},
     {"claims": "too long: 340000 characters (at most 5000)", "short_note": "too long: 11 characters (at most 10)"}),
    ({"long_facts": "长" * 12001}, {"long_facts": "too long: 12001 characters (at most 12000)"}),
    ({"undeclared": "长" * 5001}, {"undeclared": "too long: 5001 characters (at most 5000)"}),
])
def test_opening_refuses_text_too_long_and_opens_nothing(engine, data, fields):
    with pytest.raises(errors.InvalidData) as exc:
        engine.open_case("lengths", actor=CLERK, data={"party": "甲", **data})
    assert exc.value.fields == fields
    assert engine.list_cases(actor=CLERK) == []


@pytest.mark.freeze_time("2026-03-02 10:00:00+08:00")
def test_text_at_its_limit_passes(engine):
    case = engine.open_case("lengths", actor=CLERK, data={
        "party": "甲" * 200, "claims": "长" * 5000, "short_note": "x" * 10, "long_facts": "长" * 12000})
    assert len(case.data["long_facts"]) == 12000


def test_names_given_as_a_list_count_as_stored():
    d = load_text(DOC, "lengths.yaml")
    spec = replace(next(f for f in d.fields if f.name == "short_note"), names=NameRule())
    check_data([], [spec], {"short_note": ["王", "李", "赵"]}, {})  # 王、李、赵: 5 characters
    with pytest.raises(errors.InvalidData):
        check_data([], [spec], {"short_note": ["王王王", "李李李", "赵赵赵"]}, {})  # 11


@pytest.mark.freeze_time("2024-07-01 10:00:00+08:00")
def test_an_extensions_implied_reason_and_approver_are_bounded(shipped):
    """QA's case: extend_filing with a 340,000-character reason and a 100,000-character approver."""
    case = shipped.open_case(ITEM, actor=CLERK, data={
        "requester": "甲科技有限公司", "respondent": "乙制造有限公司", "respondent_domicile": "domestic",
        "patent_number": "ZL201810000006.7", "patent_type": "invention", "claims": "停止制造、销售侵权产品"})
    assert refused(shipped, case.id, "extend_filing", {"reason": "长" * 340_000, "approver": "x" * 100_000},
                   LEADER) == {"reason": "too long: 340000 characters (at most 5000)",
                               "approver": "too long: 100000 characters (at most 200)"}
    assert refused(shipped, case.id, "extend_filing", {"reason": "复杂", "approver": "x" * 201}, LEADER) == {
        "approver": "too long: 201 characters (at most 200)"}
    fields = {f.name: f for f in shipped.definition(ITEM).transition("extend_filing", "received").fields}
    assert (max_length(fields["reason"]), max_length(fields["approver"])) == (5000, 200)
    longer = shipped.fire(case.id, "extend_filing", actor=LEADER, data={"reason": "复杂", "approver": "局长 张明"})
    assert longer.state == "received"


@pytest.mark.freeze_time("2024-07-01 10:00:00+08:00")
def test_a_special_procedures_approver_is_bounded(shipped):
    d = shipped.definition(ITEM)
    t = next(t for t in d.transitions if t.special)
    approver = next(f for f in t.fields if f.name == "approver")
    assert max_length(approver) == 200
    with pytest.raises(errors.InvalidData) as exc:
        check_data(t.required_fields, t.fields, {"kind": t.special[0], "approver": "x" * 201, "expected_days": 30},
                   {"kind": t.special[0], "approver": "x" * 201, "expected_days": 30})
    assert exc.value.fields == {"approver": "too long: 201 characters (at most 200)"}


def test_an_override_may_tighten_or_raise_max_length_up_to_the_ceiling():
    base = load_text(DOC, "lengths.yaml")
    d = apply_override(base, {"override": "lengths", "version": 2,
                              "field_rules": {"party": {"max_length": 50}, "claims": {"max_length": 8000}}},
                       "office.yaml")
    f = {x.name: x for x in d.fields}
    assert (max_length(f["party"]), max_length(f["claims"])) == (50, 8000)
    with pytest.raises(errors.DefinitionError) as exc:
        apply_override(base, {"override": "lengths", "version": 2,
                              "field_rules": {"claims": {"max_length": MAX_LENGTH_CEILING + 1}}}, "office.yaml")
    assert [p.path for p in exc.value.problems] == ["fields[1].max_length"]


def test_the_definition_view_and_the_forms_carry_the_limit():
    d = load_text(DOC, "lengths.yaml")
    view = {f["name"]: f["rules"] for f in definition_detail(d, [1])["fields"]}
    assert view["party"] == {"max_length": 200} and view["claims"] == {"max_length": 5000}
    assert view["short_note"] == {"max_length": 10} and "max_length" not in view["received_on"]
    inputs = {i.name: i for i in present.inputs_for(d.fields, ("reason",))}
    assert (inputs["party"].maxlength, inputs["short_note"].maxlength) == (200, 10)
    assert inputs["reason"].maxlength == MAX_LENGTH["text"] and inputs["received_on"].maxlength is None
    assert present.problem_words("too long: 5001 characters (at most 5000)") == "过长：共 5001 字，最多 5000 字"


@pytest.mark.freeze_time("2026-03-02 10:00:00+08:00")
def test_old_data_longer_than_the_limit_still_reads(engine):
    """A case stored before the limit (written straight through the store) still loads and takes
    steps that do not give that field again."""
    case = engine.open_case("lengths", actor=CLERK, data={"party": "甲"})
    with engine.store.unit_of_work() as uow:
        rec = uow.get_case(case.id, for_update=True)
        rec.data["claims"] = "长" * 340_000
        rec.version += 1
        uow.save_case(rec, rec.version - 1)
        uow.commit()
    assert len(engine.get_case(case.id).data["claims"]) == 340_000
    assert engine.fire(case.id, "close", actor=CLERK).state == "done"


# --- dates ----------------------------------------------------------------------------------------


@pytest.mark.freeze_time("2026-03-02 10:00:00+08:00")
def test_a_compact_date_is_stored_as_iso(engine, shipped):
    case = engine.open_case("lengths", actor=CLERK, data={"party": "甲", "received_on": "20260301"})
    assert case.data["received_on"] == "2026-03-01"
    opened = shipped.open_case(ITEM, actor=CLERK, data={
        "requester": "甲科技有限公司", "respondent": "乙制造有限公司", "respondent_domicile": "domestic",
        "patent_number": "ZL201810000006.7", "patent_type": "invention", "claims": "停止制造"})
    asked = shipped.fire(opened.id, "request_supplement", actor=CLERK,
                         data={"supplement_items": "专利证书", "supplement_deadline": "20261231"})
    assert asked.data["supplement_deadline"] == "2026-12-31"
    assert shipped.history(opened.id)[-1].data.get("supplement_deadline", "2026-12-31") == "2026-12-31"


def test_undeclared_data_is_bounded_unless_another_item_of_the_bundle_declares_it():
    with pytest.raises(errors.InvalidData) as exc:
        check_data([], [], {"note": "长" * 5001}, {})
    assert exc.value.fields == {"note": "too long: 5001 characters (at most 5000)"}
    check_data([], [], {"note": "长" * 5001}, {}, None, ["note"])  # a child's field: its own rule holds
