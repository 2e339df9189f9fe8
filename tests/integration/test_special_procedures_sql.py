"""特别程序 on every store (memory, SQLite, PostgreSQL): the procedure's clock, its overrun row
fired once, the case's stored level (the board's counters) and the report's figures read back from
the database as the scenario computed them (tests/scenarios/test_special_procedures.py)."""

from __future__ import annotations

from datetime import date

from adapters import build_engine
from adapters.reports import ReportService
from api.routes.office import _COLUMN, sla_counts
from tests.scenarios.conftest import EXAMINER, ORG
from tests.scenarios.test_special_procedures import APPRAISAL, ITEM, examining


def test_an_overrun_appraisal_on_every_store(store_url, freezer):
    freezer.move_to("2026-11-30 10:00:00+08:00")
    engine = build_engine(store_url)
    again = engine
    try:
        case = examining(engine, freezer)
        freezer.move_to("2027-01-18 10:00:00+08:00")
        engine.fire(case.id, "start_appraisal", actor=EXAMINER, data=APPRAISAL)
        freezer.move_to("2027-02-11 23:59:00+08:00")
        assert engine.sweep() == []
        freezer.move_to("2027-02-12 00:00:00+08:00")
        assert [(e.clock, e.level) for e in engine.sweep()] == [("special_procedure", "overrun")]
        assert engine.sweep() == []
        again = build_engine(store_url) if store_url != "memory://" else engine  # read back from the database
        late = again.get_case(case.id)
        assert late.sla == "overrun" and late.clocks["special_procedure"].statutory_due == date(2027, 2, 11)
        counts = sla_counts(again, frozenset({ORG}), ITEM)
        assert counts[(ORG, ITEM, "overrun")] == 1 and _COLUMN["overrun"] == "warning"  # the board's 黄
        freezer.move_to("2027-02-22 10:00:00+08:00")
        back = again.fire(case.id, "appraisal_done", actor=EXAMINER)
        assert back.clocks["handling"].statutory_due == date(2027, 4, 6)
        assert sla_counts(again, frozenset({ORG}), ITEM)[(ORG, ITEM, "overrun")] == 0
        freezer.move_to("2027-03-01 10:00:00+08:00")
        line = ReportService(again).generate(2027, 2).line(ORG, ITEM)
        assert line is not None and line.measures["escalations"]["overrun"] == 1
        assert {k: v for k, v in line.measures["figures"].items() if k.startswith("special.")} == {
            "special.appraisal.ended": 1, "special.appraisal.days": 35, "special.appraisal.avg_days": 35,
            "special.appraisal.overrun": 1}
    finally:
        for used in {id(engine): engine, id(again): again}.values():
            dispose = getattr(used.store, "dispose", None)
            if dispose is not None:
                dispose()
