"""Field rules (issues 14 class 3 and 16): declared per field in the definition, validated at load
with file, line and field, checked by the library wherever data comes in; an office's override adds
rules but never loosens the law's."""

from __future__ import annotations

import textwrap
import time
from datetime import date

import pytest

from adapters import build_engine
from workflow import Actor, errors
from workflow.definition import load_text
from workflow.engine import EngineSettings
from workflow.overrides import apply_override

CLERK = Actor("c1", {"clerk"}, "420100")
EXAMINER = Actor("e1", {"examiner"}, "420100")

DOC = textwrap.dedent(
    """\
    id: ruled
    version: 1
    name: 样例事项
    kind: dispute_case
    initial: received
    fields:
      - {name: party, type: string, label: 当事人, required: true}
      - {name: amount, type: money, label: 金额}
      - {name: count, type: integer, label: 件数, min: 1, max: 50}
      - {name: ratio, type: number, label: 比例, min: 0, max: 1.5}
      - {name: term_end, type: date, label: 届满日, min: 2000-01-01}
      - {name: received_on, type: date, label: 收件日, past: true}
    states:
      received: {label: 已接收, roles: [clerk]}
      filed: {label: 已立案, roles: [clerk]}
      served: {label: 已送达, roles: [examiner]}
      done: {label: 办结, final: true}
    transitions:
      - trigger: file_case
        source: received
        dest: filed
        roles: [clerk]
        requires: [amount]
        fields:
          - {name: panel, type: string, label: 合议组, required: true, names: {min: 3, odd: true}}
      - trigger: serve
        source: filed
        dest: served
        roles: [clerk]
        fields:
          - {name: served_on, type: date, label: 送达日, required: true, past: true}
      - {trigger: close, source: served, dest: done, roles: [examiner]}
    clocks:
      handling: {limit: 30 days, start: received, stop: [done]}
    """
)


@pytest.fixture()
def engine(tmp_path):
    (tmp_path / "ruled.yaml").write_text(DOC, encoding="utf-8")
    return build_engine("memory://", definitions=[tmp_path])


def refused(engine, case_id, trigger, data, actor=CLERK) -> dict[str, str]:
    before, history = engine.get_case(case_id), engine.history(case_id)
    with pytest.raises(errors.InvalidData) as exc:
        engine.fire(case_id, trigger, actor=actor, data=data)
    assert engine.get_case(case_id) == before and engine.history(case_id) == history
    return exc.value.fields


# --- the loader ----------------------------------------------------------------------------------


def _problems(extra_field: str) -> list[str]:
    line = "  - {name: party, type: string, label: 当事人, required: true}\n"
    assert line in DOC
    text = DOC.replace(line, line + extra_field)
    with pytest.raises(errors.DefinitionError) as exc:
        load_text(text, "ruled.yaml")
    return [str(p) for p in exc.value.problems]


@pytest.mark.parametrize(("spec", "says"), [
    ("{name: x, type: string, min: 1}", "line 8: fields[1].min: min bounds a number, money or date field, not a string field"),
    ("{name: x, type: integer, max: .inf}", "line 8: fields[1].max: max is a finite number of at most 1,000,000,000,000,000 in size, got inf"),
    ("{name: x, type: integer, max: 1.5}", "line 8: fields[1].max: max of a whole-number field is a whole number, got 1.5"),
    ("{name: x, type: money, min: -1}", "line 8: fields[1].min: an amount in yuan is not negative, got -1"),
    ("{name: x, type: number, min: 5, max: 1}", "line 8: fields[1].min: min 5 is above max 1"),
    ("{name: x, type: date, min: 0001-01-01}", "line 8: fields[1].min: min of a date field is a date (YYYY-MM-DD) from 1949-10-01, got datetime.date(1, 1, 1)"),
    ("{name: x, type: date, max: soon}", "line 8: fields[1].max: max of a date field is a date (YYYY-MM-DD) from 1949-10-01, got 'soon'"),
    ("{name: x, type: string, past: true}", "line 8: fields[1].past: past marks a date of service or receipt, not a string field"),
    ("{name: x, type: date, past: yes please}", "line 8: fields[1].past: past is true or false, got 'yes please'"),
    ("{name: x, type: integer, names: true}", "line 8: fields[1].names: names is a rule of a string or text field, not a integer field"),
    ("{name: x, type: string, names: {min: 0}}", "line 8: fields[1].names.min: min is a whole number from 1 to 1000, got 0"),
    ("{name: x, type: string, names: {least: 3}}", "line 8: fields[1].names.least: unknown key 'least' (allowed: max, min, odd)"),
    ("{name: x, type: string, names: {min: 5, max: 3}}", "line 8: fields[1].names.min: min 5 is above max 3"),
    ("{name: x, type: string, names: {odd: maybe}}", "line 8: fields[1].names.odd: odd is true or false, got 'maybe'"),
    ("{name: x, type: string, names: 3}", "line 8: fields[1].names: names is true or {min, max, odd}, got 3"),
])
def test_the_loader_names_file_line_and_field_of_a_bad_rule(spec, says):
    assert _problems(f"  - {spec}\n") == [says]


def test_rules_load_into_the_field_spec():
    d = load_text(DOC, "ruled.yaml")
    f = {x.name: x for x in d.fields}
    assert (f["count"].min, f["count"].max, f["ratio"].max) == (1, 50, 1.5)
    assert f["term_end"].min == date(2000, 1, 1) and f["received_on"].past
    panel = d.transitions[0].fields[0]
    assert (panel.names.min, panel.names.odd) == (3, True)


# --- the library -----------------------------------------------------------------------------------


@pytest.mark.freeze_time("2026-03-02 10:00:00+08:00")
@pytest.mark.parametrize(("data", "fields"), [
    ({"amount": 10**4300 - 1}, {"amount": "out of range"}),
    ({"amount": 1.7e308}, {"amount": "must be at most 1000000000000"}),
    ({"amount": float("nan")}, {"amount": "must be a finite number"}),
    ({"amount": float("inf")}, {"amount": "must be a finite number"}),
    ({"amount": -1}, {"amount": "must not be negative"}),
    ({"amount": "9" * 30}, {"amount": "out of range"}),
    ({"count": 0, "ratio": 2}, {"count": "must be at least 1", "ratio": "must be at most 1.5"}),
    ({"count": 51}, {"count": "must be at most 50"}),
    ({"term_end": "9999-12-31"}, {"term_end": "out of range (1949-10-01 … 2076-03-02)"}),
    ({"term_end": "0001-01-01"}, {"term_end": "out of range (1949-10-01 … 2076-03-02)"}),
    ({"term_end": "1999-12-31"}, {"term_end": "must not be before 2000-01-01"}),
    ({"received_on": "2026-03-03"}, {"received_on": "after today"}),
    ({"received_on": "2025-02-28"}, {"received_on": "more than 366 days ago"}),
])
def test_opening_refuses_each_field_at_fault_and_opens_nothing(engine, data, fields):
    with pytest.raises(errors.InvalidData) as exc:
        engine.open_case("ruled", actor=CLERK, data={"party": "甲", **data})
    assert exc.value.fields == fields and exc.value.code == "invalid_data"
    assert isinstance(exc.value, errors.MissingData)  # the same 422 family
    assert engine.list_cases(actor=CLERK) == []


@pytest.mark.freeze_time("2026-03-02 10:00:00+08:00")
def test_lawful_values_pass(engine):
    case = engine.open_case("ruled", actor=CLERK, data={
        "party": "甲", "amount": 10**12, "count": 50, "ratio": 1.5, "term_end": "2060-01-01",
        "received_on": "2025-03-02"})
    assert case.data["amount"] == 10**12


def test_a_huge_number_costs_nothing():
    d = load_text(DOC, "ruled.yaml")
    from workflow.engine import check_data

    spec = next(f for f in d.fields if f.name == "amount")
    huge = 10**4299
    start = time.perf_counter()
    for _ in range(1000):
        with pytest.raises(errors.InvalidData):
            check_data([], [spec], {"amount": huge}, {"amount": huge})
        with pytest.raises(errors.InvalidData):
            check_data([], [spec], {"amount": "9" * 100_000}, {"amount": "9" * 100_000})
    assert time.perf_counter() - start < 1.0


@pytest.mark.freeze_time("2026-03-02 10:00:00+08:00")
def test_required_data_and_the_panel_on_a_transition(engine):
    case = engine.open_case("ruled", actor=CLERK, data={"party": "甲"})
    with pytest.raises(errors.MissingData) as exc:
        engine.fire(case.id, "file_case", actor=CLERK)
    assert exc.value.fields == {"amount": "required", "panel": "required"}
    assert type(exc.value) is errors.MissingData
    # a case field given with the call obeys its rule too
    assert refused(engine, case.id, "file_case", {"amount": -5, "panel": "王、李、赵"}) == {
        "amount": "must not be negative"}
    for panel in ("王、李", "王、李、赵、钱", ["王", "李"], "王"):
        assert refused(engine, case.id, "file_case", {"amount": 5, "panel": panel}) == {
            "panel": "must be an odd number of names, at least 3"}
    assert refused(engine, case.id, "file_case", {"amount": 5, "panel": "王、王、李"}) == {
        "panel": "names a person twice"}
    # a space is inside a name (Mary Smith, 欧阳 修), never between names
    assert refused(engine, case.id, "file_case", {"amount": 5, "panel": "张三 李四 王五"}) == {
        "panel": "must be an odd number of names, at least 3"}
    filed = engine.fire(case.id, "file_case", actor=CLERK, data={"amount": 5, "panel": "Mary Smith，李,赵\n钱；孙"})
    assert filed.data["panel"] == "Mary Smith、李、赵、钱、孙"
    other = engine.open_case("ruled", actor=CLERK, data={"party": "乙", "amount": 1})
    assert engine.fire(other.id, "file_case", actor=CLERK,
                       data={"panel": ["王", "李", "赵", "钱", "孙"]}).data["panel"] == "王、李、赵、钱、孙"


def test_a_date_of_service_is_not_ahead_nor_before_the_legal_start(engine, freezer):
    freezer.move_to("2026-03-02 10:00:00+08:00")
    case = engine.open_case("ruled", actor=CLERK, data={"party": "甲", "amount": 1})
    case = engine.fire(case.id, "file_case", actor=CLERK, data={"panel": "王、李、赵"})
    freezer.move_to("2026-03-10 10:00:00+08:00")
    assert refused(engine, case.id, "serve", {"served_on": "2026-03-11"}) == {"served_on": "after today"}
    assert refused(engine, case.id, "serve", {"served_on": "2026-03-01"}) == {
        "served_on": "before the case's legal start 2026-03-02"}
    assert refused(engine, case.id, "serve", {"served_on": "9999-12-31"}) == {
        "served_on": "out of range (1949-10-01 … 2076-03-10)"}
    assert engine.fire(case.id, "serve", actor=CLERK, data={"served_on": "2026-03-10"}).state == "served"


def test_the_back_dating_span_is_an_engine_setting(tmp_path, freezer):
    freezer.move_to("2026-03-02 10:00:00+08:00")
    (tmp_path / "ruled.yaml").write_text(DOC, encoding="utf-8")
    engine = build_engine("memory://", definitions=[tmp_path], settings=EngineSettings(max_backdate_days=30))
    with pytest.raises(errors.InvalidData) as exc:
        engine.open_case("ruled", actor=CLERK, data={"party": "甲", "received_on": "2026-01-30"})
    assert exc.value.fields == {"received_on": "more than 30 days ago"}
    assert engine.open_case("ruled", actor=CLERK, data={"party": "甲", "received_on": "2026-01-31"})


# --- overrides -------------------------------------------------------------------------------------


def _override(extra: dict) -> object:
    base = load_text(DOC, "ruled.yaml")
    return apply_override(base, {"override": "ruled", "version": 2, **extra}, "office.yaml")


def test_an_override_adds_rules():
    d = _override({"field_rules": {"amount": {"max": 500_000}, "party": {"names": True},
                                   "served_on": {"min": "2020-01-01"}}})
    f = {x.name: x for x in d.fields}
    assert f["amount"].max == 500_000 and f["party"].names is not None
    assert d.transitions[1].fields[0].min == date(2020, 1, 1) and d.transitions[1].fields[0].past


@pytest.mark.parametrize(("extra", "says"), [
    ({"field_rules": {"count": {"max": 100}}}, "fields.count: an override cannot loosen the law's rule: it raises max above 50"),
    ({"field_rules": {"count": {"min": 0}}}, "fields.count: an override cannot loosen the law's rule: it lowers min below 1"),
    ({"field_rules": {"received_on": {"past": False}}}, "fields.received_on: an override cannot loosen the law's rule: it drops past"),
    ({"field_rules": {"party": {"required": False}}}, "fields.party: an override cannot loosen the law's rule: it makes a required field optional"),
    ({"field_rules": {"panel": {"names": {"min": 1}}}},
     "transitions.file_case.fields.panel: an override cannot loosen the law's rule: it loosens names"),
    ({"transitions": [{"trigger": "file_case", "requires": []}]},
     "transitions.file_case.requires: an override cannot drop required data: amount"),
    ({"field_rules": {"nobody": {"max": 1}}}, "field_rules.nobody: ruled has no field 'nobody'"),
    ({"field_rules": {"amount": {"label": "x"}}},
     "field_rules.amount: an override adds only rules (min, max, past, names, max_length, required), not label"),
])
def test_an_override_never_loosens_the_law(extra, says):
    with pytest.raises(errors.DefinitionError) as exc:
        _override(extra)
    assert [f"{p.path}: {p.message}" for p in exc.value.problems] == [says]
    assert exc.value.source == "office.yaml"
