"""Issue 21: the plan's three services are shipped items like the others: they load with their
kind and legal basis, are listed by `caseclock items`, counted on the SLA board and in the
monthly report, and open to online application (the dispute case by its own `online` key)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from adapters import build_engine
from adapters.reports import ReportService
from api.cli import app
from api.routes.office import sla_counts
from workflow import Actor

PLAN_ITEMS = {"adr_referral": "dispute_case", "overseas_dispute_guidance": "service_item",
              "ip_service_request": "service_item"}
CLERK = Actor("clerk-1", {"clerk"}, "420100", "窗口")
DATA = {
    "adr_referral": {"applicant": "甲公司", "other_party": "乙公司", "dispute_type": "ip_contract",
                     "matter": "许可费争议"},
    "overseas_dispute_guidance": {"applicant": "丙公司", "country": "美国", "other_party": "丁公司",
                                  "dispute_type": "section_337", "ip_type": "patent", "matter": "337调查"},
    "ip_service_request": {"applicant": "戊大学", "contact": "张三", "channel": "tisc",
                           "service_type": "training", "request": "专利检索培训"},
}


def test_they_load_with_kind_legal_basis_and_are_open_online():
    engine = build_engine("memory://")
    for item, kind in PLAN_ITEMS.items():
        d = engine.definition(item)
        assert d.kind == kind and d.legal_basis and d.name
        assert d.online.open, item
        assert all(c.status in ("verified", "secondary", "unverified", "office") for c in d.clocks.values())
        assert all(c.basis for c in d.clocks.values()), item


def test_caseclock_items_lists_them():
    r = CliRunner().invoke(app, ["items"], env={"COLUMNS": "400"})
    assert r.exit_code == 0, r.output
    for item, kind in PLAN_ITEMS.items():
        line = next(ln for ln in r.output.splitlines() if f" {item} " in ln)
        assert kind in line


@pytest.mark.freeze_time("2024-04-01 10:00:00+08:00")
def test_on_the_board_and_in_the_monthly_report(freezer):
    engine = build_engine("memory://")
    ids = {item: engine.open_case(item, actor=CLERK, data=DATA[item]).id for item in PLAN_ITEMS}
    engine.sweep()
    counts = sla_counts(engine, frozenset({"420100"}), None)
    assert {i for (_o, i, _level) in counts} >= set(PLAN_ITEMS)
    engine.fire(ids["ip_service_request"], "decline", actor=Actor("s", {"supervisor"}, "420100", "科长"),
                data={"reason": "不属于服务范围"})
    freezer.move_to("2024-05-06 10:00:00+08:00")
    report = ReportService(engine).compute(2024, 4)
    for item in PLAN_ITEMS:
        line = report.line("420100", item)
        assert line is not None and line.measures["opened"] == 1 and line.item_name == engine.definition(item).name
    assert report.line("420100", "ip_service_request").measures["closed"] == 1
    assert report.figure_labels["ip_service_request"]["tisc"] == "TISC服务数"
