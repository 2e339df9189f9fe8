"""The monthly report counts special procedures (特别程序, 行政许可法第四十五条) by kind and length, on
the items' own sheet; their overrun warnings are one more escalation column, the same every month.

Patent adjudication (natural days). Case A: 鉴定 from Mon 2027-01-18, 20 days expected (last day
Thu 02-11 after 春节), ended Mon 02-22: 35 days, overran (warned 00:00 Fri 02-12). Case B: 和解 from
Mon 2027-02-01, 10 days expected (Thu 02-11), ended Fri 02-05: 4 days, in time.
"""

from __future__ import annotations

import csv
import io

import pytest

from adapters import build_engine
from adapters.reports import ReportService, to_csv
from tests.scenarios.conftest import EXAMINER, ORG
from tests.scenarios.test_special_procedures import APPRAISAL, examining


@pytest.mark.freeze_time("2026-11-30 10:00:00+08:00")
def test_special_procedures_by_kind_and_length(freezer):
    engine = build_engine("memory://")
    a = examining(engine, freezer).id
    freezer.move_to("2026-11-30 10:00:00+08:00")
    b = examining(engine, freezer).id
    freezer.move_to("2027-01-18 10:00:00+08:00")
    engine.fire(a, "start_appraisal", actor=EXAMINER, data=APPRAISAL)
    freezer.move_to("2027-02-01 10:00:00+08:00")
    engine.fire(b, "start_settlement", actor=EXAMINER,
                data={"kind": "settlement", "approver": "审查员 王", "expected_days": 10})
    freezer.move_to("2027-02-05 10:00:00+08:00")
    engine.fire(b, "settlement_failed", actor=EXAMINER)
    freezer.move_to("2027-02-12 00:00:00+08:00")
    assert [(e.case_id, e.level) for e in engine.sweep() if e.clock == "special_procedure"] == [(a, "overrun")]
    freezer.move_to("2027-02-22 10:00:00+08:00")
    engine.fire(a, "appraisal_done", actor=EXAMINER)
    freezer.move_to("2027-03-01 10:00:00+08:00")
    service = ReportService(engine)
    feb = service.generate(2027, 2)
    line = feb.line(ORG, "patent_infringement_adjudication")
    assert line is not None
    figures = {k: v for k, v in line.measures["figures"].items() if k.startswith("special.")}
    assert figures == {
        "special.appraisal.ended": 1, "special.appraisal.days": 35, "special.appraisal.avg_days": 35,
        "special.appraisal.overrun": 1,
        "special.settlement.started": 1, "special.settlement.ended": 1, "special.settlement.days": 4,
        "special.settlement.avg_days": 4, "special.settlement.overrun": 0,
    }
    assert line.measures["escalations"]["overrun"] == 1
    jan = service.generate(2027, 1)
    jan_line = jan.line(ORG, "patent_infringement_adjudication")
    assert jan_line is not None
    assert {k: v for k, v in jan_line.measures["figures"].items() if k.startswith("special.")} == {
        "special.appraisal.started": 1}
    # one set of columns in one order, every month; the kinds are rows of the figures sheet
    heads = [to_csv(r).splitlines()[0] for r in (jan, feb)]
    assert heads[0] == heads[1] and heads[0].count("特别程序超出预计期限次数") == 1 and "鉴定" not in heads[0]
    rows = list(csv.reader(io.StringIO(to_csv(feb, "figures").lstrip("\ufeff"))))
    mine = {(r[7], r[8]) for r in rows[1:] if r[1] == ORG and r[4] == "patent_infringement_adjudication"}
    assert ("特别程序（鉴定）平均用时（日）", "35") in mine and ("特别程序（和解）合计用时（日）", "4") in mine
    assert ("特别程序（鉴定）超出预计期限次数", "1") in mine
