"""The monthly report against a hand-computed month: March 2024 (issue 6).

March 2024 has no holiday and no worked weekend: every Monday–Friday is a working day (Fri 1;
Mon 4–Fri 8; 11–15; 18–22; 25–29; Sat 30, Sun 31). Early April: Mon 1, Tue 2, Wed 3 work;
Thu 4–Sat 6 are Qingming. The item below has a 6 working-day limit, so its commitment is
floor(⅔ × 6) = 4 working days. Every action happens at 10:00; the day of an event is not counted.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from openpyxl import load_workbook

from adapters import build_engine
from adapters.reports import ReportService, to_csv, to_json, to_xlsx
from adapters.scheduler import Scheduler
from workflow import Actor
from workflow.calendar import WeekendCalendar
from workflow.legaltime import ClockState, Segment, Sla, Status
from workflow.limits import Limit
from workflow.reports import MonthlyReport, as_of, level_at_end_of

ITEM = """\
id: pledge_r
version: 1
name: 质押登记（报表测试）
kind: service_item
initial: received
fields:
  - {name: amount, type: money, label: 担保金额}
figures:
  - {name: amount, label: 质押担保金额, field: amount, agg: sum}
  - {name: registered, label: 准予登记数, field: reg_no, agg: count}
states:
  received: {label: 已接收, roles: [clerk]}
  awaiting_supplement: {label: 待补正, pauses: [handling]}
  registered: {label: 准予登记, final: true}
  refused: {label: 不予登记, final: true}
transitions:
  - {trigger: request_supplement, source: received, dest: awaiting_supplement, roles: [clerk]}
  - {trigger: resubmit, source: awaiting_supplement, dest: received, roles: [clerk]}
  - {trigger: extend, source: received, dest: received, roles: [leader], extend: {handling: 3 working days}}
  - {trigger: approve, source: received, dest: registered, roles: [examiner]}
  - {trigger: refuse, source: received, dest: refused, roles: [examiner]}
clocks:
  handling: {limit: 6 working days, start: received, stop: [registered, refused], max_extension: 3 working days}
"""

WUHAN, HUANGSHI, PROVINCE = "420100", "420200", "420000"
STAFF = Actor(id="x", roles={"clerk", "examiner", "leader"}, org=PROVINCE)


@pytest.fixture
def march(tmp_path, freezer):
    """Play the month. Returns (engine, case ids by letter)."""
    path = tmp_path / "pledge_r.yaml"
    path.write_text(ITEM, encoding="utf-8")
    engine = build_engine(definitions=[path])
    c: dict[str, str] = {}

    def at(when: str) -> None:
        freezer.move_to(f"2024-{when}+08:00")

    def open_(letter: str, org: str, **data) -> None:
        c[letter] = engine.open_case("pledge_r", actor=STAFF, org=org, data=data or None).id

    def fire(letter: str, trigger: str, **data) -> None:
        engine.fire(c[letter], trigger, actor=STAFF, data=data or None)

    timeline = [
        ("02-26 10:00", lambda: open_("J", PROVINCE)),
        ("02-29 10:00", lambda: open_("M", HUANGSHI, amount=300)),
        ("02-29 12:00", engine.sweep),  # J's warning (due 02-29 00:00) is seen in February
        ("03-04 10:00", lambda: [open_(x, WUHAN) for x in "ABCDEFP"]),
        ("03-04 10:00", lambda: fire("M", "approve", reg_no="R4")),
        ("03-05 10:00", lambda: fire("E", "request_supplement")),
        ("03-06 10:00", lambda: fire("A", "approve", amount=100, reg_no="R1")),
        ("03-08 10:00", lambda: fire("B", "approve", amount=200, reg_no="R2")),
        ("03-08 10:00", lambda: fire("F", "extend", reason="案情复杂", approver="局长")),
        ("03-11 10:00", lambda: fire("C", "approve", amount=50.5)),
        ("03-11 10:00", lambda: fire("E", "resubmit")),
        ("03-11 10:00", lambda: fire("P", "request_supplement")),
        ("03-13 10:00", lambda: fire("D", "refuse")),
        ("03-14 10:00", lambda: fire("E", "approve", amount=1000)),
        ("03-14 10:00", lambda: fire("F", "approve")),
        ("03-18 10:00", lambda: open_("I", WUHAN)),
        ("03-18 10:00", lambda: open_("K", HUANGSHI)),
        ("03-19 10:00", lambda: fire("I", "request_supplement")),
        ("03-25 10:00", lambda: open_("G", HUANGSHI)),
        ("03-27 10:00", lambda: open_("H", HUANGSHI)),
        ("03-31 23:00", engine.sweep),
        ("04-02 10:00", lambda: fire("K", "approve")),
    ]
    for when, action in timeline:
        at(when)
        action()
    at("04-19 01:00")
    return engine, c


def test_march_2024_by_hand(march):
    engine, c = march
    report = Scheduler(engine, reports=ReportService(engine)).monthly_report()  # the cron job: last month
    assert report.month == "2024-03"

    # --- Wuhan 420100: A B C D E F P opened 03-04, I opened 03-18 -------------------------------
    # A approved Wed 03-06: used 03-05, 03-06 = 2 of 6; commitment last day Fri 03-08 (05,06,07,08):
    #   within commitment, within statutory, and before the commitment's last day (early).
    # B approved Fri 03-08: used 4; on the commitment's last day: met, on time, not early.
    # C approved Mon 03-11: used 5; after the commitment (03-08), within statutory (Tue 03-12).
    # D refused Wed 03-13: used 7; past the statutory last day 03-12: not on time.
    # E paused Tue 03-05 (that day counts: 1 used), resumed Mon 03-11, approved Thu 03-14:
    #   used 1 + (12, 13, 14) = 4; commitment = 4th unit = 03-14: met, on time, not early.
    # F extended by 3 working days on Fri 03-08: statutory 9 units → Fri 03-15; commitment
    #   floor(⅔ × 9) = 6 → Tue 03-12; approved Thu 03-14: used 8: late, but on time.
    # P paused Mon 03-11 when already overdue (overdue from 00:00 Sat 03-09) and still paused on
    #   03-31: keeps "overdue" → an open breach. I paused Tue 03-19 while on track: not a breach.
    # closed 6 (A B C D E F); on time 5 (not D); commitment 3 (A B E); early 1 (A)
    # compression: (2 + 4 + 5 + 7 + 4)/6 + 8/9 = 22/6 + 8/9 = 41/9 over 6 cases → 41/54 ≈ 0.7593
    #   > ⅔: the target is not met
    # figures: amount 100 + 200 + 50.5 + 1000 = 1350.5; registration numbers given: A, B → 2
    wuhan = report.line(WUHAN, "pledge_r")
    assert wuhan.measures == {
        "opened": 8, "closed": 6, "withdrawn": 0, "measured": 6,
        "on_time": 5, "on_time_rate": round(5 / 6, 4),
        "commitment_met": 3, "commitment_rate": 0.5,
        "early": 1, "early_rate": round(1 / 6, 4),
        "avg_compression": round(41 / 54, 4), "compression_target": "2/3", "compression_met": False,
        "open_breaches": 1,
        "provisional": 0,  # every date of March 2024 is on the official calendar
        "escalations": {"warning": 0, "overdue": 0, "over_statutory": 0, "expired": 0, "deemed_accepted": 0, "overrun": 0},
        "ratings": 0, "satisfied_rate": None, "bad_ratings": 0, "bad_rectified_on_time": 0,  # no 好差评 this month
        "orders_issued": 0, "orders_answered_on_time": 0, "orders_overdue": 0,  # no 督办 this month
        "figures": {"amount": 1350.5, "registered": 2},
    }
    assert report.line(WUHAN, "pledge_r", scope="own") is None  # no org under it has data
    assert report.line(WUHAN, "*").measures == wuhan.measures

    # --- Huangshi 420200: M (opened Thu 02-29), K (03-18), G (03-25), H (03-27) -----------------
    # M: 6 wd from 02-29 → 03-08, commitment Mar 1, 4, 5, 6 → 03-06; approved Mon 03-04: used
    #   03-01 + 03-04 = 2: early, met, on time; 2/6 = ⅓ ≤ ⅔. Opened in February: not "opened".
    # K: commitment 19–22 → Fri 03-22, statutory 19–22, 25, 26 → Tue 03-26; still open on 03-31
    #   (approved 04-02): over the statutory limit at the month's end → breach.
    # G: commitment 26–29 → Fri 03-29: overdue from 00:00 Sat 03-30 → breach.
    # H: commitment 28, 29, Apr 1, Apr 2: on track on 03-31.
    # The sweep of Sun 03-31 23:00 fired K's warning (03-21), overdue (03-23), over_statutory
    #   (03-27) and G's warning (00:00 Thu 03-28) and overdue (03-30): warning 2, overdue 2,
    #   over_statutory 1. H's warning (Mon 04-01 00:00) was not due yet.
    huangshi = report.line(HUANGSHI, "pledge_r")
    assert huangshi.measures == {
        "opened": 3, "closed": 1, "withdrawn": 0, "measured": 1,
        "on_time": 1, "on_time_rate": 1.0, "commitment_met": 1, "commitment_rate": 1.0,
        "early": 1, "early_rate": 1.0,
        "avg_compression": round(1 / 3, 4), "compression_target": "2/3", "compression_met": True,
        "open_breaches": 2,
        "provisional": 0,  # every date of March 2024 is on the official calendar
        "escalations": {"warning": 2, "overdue": 2, "over_statutory": 1, "expired": 0, "deemed_accepted": 0, "overrun": 0},
        "ratings": 0, "satisfied_rate": None, "bad_ratings": 0, "bad_rectified_on_time": 0,  # no 好差评 this month
        "orders_issued": 0, "orders_answered_on_time": 0, "orders_overdue": 0,  # no 督办 this month
        "figures": {"amount": 300, "registered": 1},
    }

    # --- the province's own case J (opened Mon 02-26, never handled) ----------------------------
    # statutory 27, 28, 29, Mar 1, 4, 5 → 03-05; commitment → Fri 03-01. Its warning (02-29 00:00)
    # was seen by the sweep of 02-29 (February); overdue (03-02) and over_statutory (03-06) were
    # seen on 03-31. Open on 03-31 and over the statutory limit: a breach.
    own = report.line(PROVINCE, "pledge_r", scope="own")
    assert own.measures == {
        "opened": 0, "closed": 0, "withdrawn": 0, "measured": 0,
        "on_time": 0, "on_time_rate": None, "commitment_met": 0, "commitment_rate": None,
        "early": 0, "early_rate": None,
        "avg_compression": None, "compression_target": "2/3", "compression_met": None,
        "open_breaches": 1,
        "provisional": 0,  # every date of March 2024 is on the official calendar
        "escalations": {"warning": 0, "overdue": 1, "over_statutory": 1, "expired": 0, "deemed_accepted": 0, "overrun": 0},
        "ratings": 0, "satisfied_rate": None, "bad_ratings": 0, "bad_rectified_on_time": 0,  # no 好差评 this month
        "orders_issued": 0, "orders_answered_on_time": 0, "orders_overdue": 0,  # no 督办 this month
        "figures": {},
    }

    # --- rolled up to the province: own + Wuhan + Huangshi ---------------------------------------
    # opened 0 + 8 + 3 = 11; closed 7; on time 6/7; commitment 4/7; early 2/7;
    # compression (41/9 + 1/3) / 7 = (44/9) / 7 = 44/63 ≈ 0.6984 > ⅔: not met;
    # breaches 1 + 1 + 2 = 4; escalations: warning 2, overdue 3, over_statutory 2
    province = report.line(PROVINCE, "pledge_r")
    assert province.measures == {
        "opened": 11, "closed": 7, "withdrawn": 0, "measured": 7,
        "on_time": 6, "on_time_rate": round(6 / 7, 4),
        "commitment_met": 4, "commitment_rate": round(4 / 7, 4),
        "early": 2, "early_rate": round(2 / 7, 4),
        "avg_compression": round(44 / 63, 4), "compression_target": "2/3", "compression_met": False,
        "open_breaches": 4,
        "provisional": 0,  # every date of March 2024 is on the official calendar
        "escalations": {"warning": 2, "overdue": 3, "over_statutory": 2, "expired": 0, "deemed_accepted": 0, "overrun": 0},
        "ratings": 0, "satisfied_rate": None, "bad_ratings": 0, "bad_rectified_on_time": 0,  # no 好差评 this month
        "orders_issued": 0, "orders_answered_on_time": 0, "orders_overdue": 0,  # no 督办 this month
        "figures": {"amount": 1650.5, "registered": 3},
    }
    assert report.line(PROVINCE, "*").measures == province.measures
    assert [(ln.org, ln.item_id, ln.scope) for ln in report.lines] == [
        (PROVINCE, "*", "total"), (PROVINCE, "*", "own"),
        (PROVINCE, "pledge_r", "total"), (PROVINCE, "pledge_r", "own"),
        (WUHAN, "*", "total"), (WUHAN, "pledge_r", "total"),
        (HUANGSHI, "*", "total"), (HUANGSHI, "pledge_r", "total"),
    ]
    assert report.line(HUANGSHI).org_name == "黄石市" and province.item_name == "质押登记（报表测试）"

    # stored, and not made twice by the cron job
    service = ReportService(engine)
    assert Scheduler(engine, reports=service).monthly_report() is None
    again = ReportService(engine, storage=service.storage)
    assert again.compute(2024, 3).lines == report.lines


def test_exports_have_chinese_headings(march, tmp_path):
    engine, _ = march
    report = ReportService(engine).generate(2024, 3)
    data = json.loads(to_json(report))
    assert data["month"] == "2024-03" and MonthlyReport.from_dict(data).lines == report.lines
    text = to_csv(report)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    head = rows[0]
    for h in ("统计月份", "单位", "事项", "范围", "新收件数", "办结数", "撤回数", "按时办结率", "承诺时限内办结率",
              "提前办结率", "平均用时比（已用÷法定）", "期末超期未结数", "超法定时限次数"):
        assert h in head
    assert "质押担保金额" not in head  # an item's figures are on a sheet of their own
    first = dict(zip(head, rows[1], strict=True))
    assert first["单位"] == "湖北省知识产权局" and first["范围"] == "合计（含下级）" and first["新收件数"] == "11"
    figures = list(csv.reader(io.StringIO(to_csv(report, "figures")[1:])))
    assert figures[0] == ["统计月份", "单位代码", "单位", "范围", "事项代码", "事项", "指标代码", "指标", "数值", "说明"]
    assert ["2024-03", "420000", "湖北省知识产权局", "合计（含下级）", "pledge_r", "质押登记（报表测试）",
            "amount", "质押担保金额", "1650.5", ""] in figures
    out = tmp_path / "march.xlsx"
    to_xlsx(report, out)
    wb = load_workbook(out)
    ws = wb["月报"]
    cells = [c.value for c in ws[1]]
    assert cells == head
    row = {h: c.value for h, c in zip(cells, ws[2], strict=True)}
    assert row["按时办结率"] == round(6 / 7, 4) and ws.cell(2, cells.index("按时办结率") + 1).number_format == "0.00%"
    assert row["达到压缩目标"] == "否"
    figs = [[c.value for c in r] for r in wb["事项指标"].iter_rows()]
    assert figs[0] == figures[0] and figs[1][-3:] == ["质押担保金额", 1650.5, None]
    notes = {r[0].value: r[1].value for r in wb["说明"].iter_rows() if r[0].value}
    assert notes["统计月份"] == "2024-03" and "截至" not in notes  # March is over
    assert notes["生成时间"] == "2024-04-19 01:00"  # as people write it


# --- the clock as it stood at a month's end (pure) -------------------------------------------------


def test_clock_as_of_a_day():
    cal = WeekendCalendar()
    st = ClockState(name="h", limit=Limit.parse("6 working days"), status=Status.STOPPED,
                    started_on=date(2024, 3, 4),
                    segments=(Segment(date(2024, 3, 4), date(2024, 3, 5)), Segment(date(2024, 3, 11), date(2024, 3, 14))),
                    stopped_on=date(2024, 3, 14), run=1)
    assert as_of(st, date(2024, 3, 3)) is None  # not started yet
    paused = as_of(st, date(2024, 3, 8))
    assert paused.status is Status.PAUSED and paused.segments == (Segment(date(2024, 3, 4), date(2024, 3, 5)),)
    running = as_of(st, date(2024, 3, 12))
    assert running.status is Status.RUNNING and running.segments[-1] == Segment(date(2024, 3, 11), None)
    assert as_of(st, date(2024, 3, 31)).status is Status.STOPPED
    # levels at 24:00: on 03-13 it ran with commitment 03-14 → warning (from 00:00 03-13)
    assert level_at_end_of(st, date(2024, 3, 13), cal) is Sla.WARNING
    assert level_at_end_of(st, date(2024, 3, 8), cal) is Sla.ON_TRACK  # paused on track


def test_december_2026_counts_the_cases_whose_dates_are_provisional(tmp_path, freezer):
    """Issue 15: a report says how many of its cases rest on 暂定 dates (2027 not loaded)."""
    path = tmp_path / "pledge_r.yaml"
    path.write_text(ITEM, encoding="utf-8")
    engine = build_engine(definitions=[path])
    freezer.move_to("2026-12-01 10:00+08:00")
    done = engine.open_case("pledge_r", actor=STAFF, org=WUHAN).id
    freezer.move_to("2026-12-03 10:00+08:00")
    engine.fire(done, "approve", actor=STAFF)  # closed in December, all dates in 2026
    # 6 wd from Mon 2026-12-28: 12-29, 30, 31, then 2027 by law (元旦 off): 01-04 (4, the
    # commitment), 05, 06 (6): both dates 暂定
    freezer.move_to("2026-12-28 10:00+08:00")
    late = engine.open_case("pledge_r", actor=STAFF, org=WUHAN)
    assert late.clocks["handling"].statutory_due == date(2027, 1, 6)
    assert late.clocks["handling"].commitment_provisional
    freezer.move_to("2027-01-02 10:00+08:00")
    report = ReportService(engine).generate(2026, 12)
    line = report.line(WUHAN, "pledge_r")
    assert (line.measures["closed"], line.measures["provisional"]) == (1, 1)
    assert "其中期限暂定数" in to_csv(report).splitlines()[0]
