"""A supervisor's day: yellow and red on the board, breaches, the monthly report, definitions,
the calendar, metrics. Time moves through the engine's injected clock; sweeps run in-process."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from workflow.legaltime import TZ

from .conftest import PLEDGE, Stack, open_pledge, problem


def _board_row(board: dict, org: str, item: str = PLEDGE) -> dict:
    rows = [r for r in board["items"] if r["org"] == org and r["item_id"] == item]
    assert len(rows) == 1, board
    return rows[0]


def test_supervisor_day(timed: Stack) -> None:
    sup, leader = timed.wuhan_supervisor, timed.province_leader
    # Friday 2024-09-27: Wuhan receives two paper pledges; Yichang one
    timed.clock.at = datetime(2024, 9, 27, 10, 0, tzinfo=TZ)
    late = open_pledge(timed.wuhan_clerk, channel="paper", pledgor="迟办公司")
    quick = open_pledge(timed.wuhan_clerk, channel="paper", pledgor="速办公司")
    yichang = open_pledge(timed.yichang_clerk, channel="paper", pledgor="宜昌三峡新材料股份有限公司")
    timed.wuhan_clerk.post(f"/api/cases/{quick['id']}/transitions/accept")
    # the late ones are accepted at once (a late decision, not a missed 一次性告知: see below)
    timed.wuhan_clerk.post(f"/api/cases/{late['id']}/transitions/accept")
    timed.yichang_clerk.post(f"/api/cases/{yichang['id']}/transitions/accept")
    r = timed.wuhan_examiner.post(f"/api/cases/{quick['id']}/transitions/approve")
    assert r.json()["clocks"]["handling"]["sla"] == "met"

    # Monday 09-30, 09:00: the last working day before the commitment (10-08): yellow
    timed.clock.at = datetime(2024, 9, 30, 9, 0, tzinfo=TZ)
    fired = timed.engine.sweep()
    assert {(e.case_id, e.level) for e in fired} >= {(late["id"], "warning"), (yichang["id"], "warning")}
    row = _board_row(sup.get("/api/sla/board").json(), "420100")
    assert (row["warning"], row["overdue"], row["total"]) == (1, 0, 1)
    assert sup.get("/api/sla/breaches").json()["items"] == []

    # Wednesday 10-09: past the commitment: red; Friday 10-11: past the statutory limit
    timed.clock.at = datetime(2024, 10, 9, 8, 0, tzinfo=TZ)
    assert [e.level for e in timed.engine.sweep() if e.case_id == late["id"]] == ["overdue"]
    board = sup.get("/api/sla/board").json()
    assert _board_row(board, "420100")["overdue"] == 1
    assert board["totals"]["overdue"] == 1  # the supervisor sees Wuhan only
    assert all(r["org"] == "420100" for r in board["items"])
    timed.clock.at = datetime(2024, 10, 11, 8, 0, tzinfo=TZ)
    timed.engine.sweep()
    breaches = sup.get("/api/sla/breaches").json()
    assert [c["id"] for c in breaches["items"]] == [late["id"]]
    assert breaches["items"][0]["sla"] == "over_statutory"
    assert breaches["items"][0]["clocks"]["handling"]["sla"] == "over_statutory"

    # the province leader sees both cities, rolled into one board
    pboard = leader.get("/api/sla/board").json()
    assert _board_row(pboard, "420500")["over_statutory"] == 1
    assert pboard["totals"]["over_statutory"] == 2
    only_yichang = leader.get("/api/sla/board", params={"org": "420500"}).json()
    assert {r["org"] for r in only_yichang["items"]} == {"420500"}
    assert {c["id"] for c in leader.get("/api/sla/breaches", params={"level": "over_statutory"}).json()["items"]} == {
        late["id"], yichang["id"]}

    # the escalations are on the case's record, once each
    kinds = [(e["kind"], e["data"].get("level")) for e in sup.get(f"/api/cases/{late['id']}/history").json()["items"]]
    assert kinds.count(("escalation", "warning")) == 1
    assert kinds.count(("escalation", "overdue")) == 1
    assert kinds.count(("escalation", "over_statutory")) == 1

    # November: the report for September (JSON, CSV, Excel), Wuhan's lines only
    timed.clock.at = datetime(2024, 11, 4, 9, 0, tzinfo=TZ)
    rep = sup.get("/api/reports/monthly", params={"month": "2024-09"})
    assert rep.status_code == 200, rep.text
    body = rep.json()
    assert body["month"] == "2024-09"
    assert body["lines"] and {ln["org"] for ln in body["lines"]} == {"420100"}
    total = next(ln for ln in body["lines"] if ln["item_id"] == "*" and ln["scope"] == "total")
    assert total["opened"] == 2 and total["closed"] == 1
    csv_r = sup.get("/api/reports/monthly", params={"month": "2024-09"}, headers={"Accept": "text/csv"})
    assert csv_r.headers["content-type"].startswith("text/csv")
    header = next(csv.reader(io.StringIO(csv_r.text.lstrip("\ufeff"))))
    assert "按时办结率" in header and "新收件数" in header
    xlsx = sup.get("/api/reports/monthly", params={"month": "2024-09", "format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert "spreadsheetml" in xlsx.headers["content-type"]
    assert leader.get("/api/reports/monthly", params={"month": "2024-09"}).json()["lines"][0]["org"] == "420000"
    problem(sup.get("/api/reports/monthly", params={"month": "2024-13"}), 400)
    problem(timed.wuhan_clerk.get("/api/reports/monthly", params={"month": "2024-09"}), 403)


def test_definitions_and_diagram(live: Stack) -> None:
    c = live.wuhan_supervisor
    items = c.get("/api/definitions").json()["items"]
    assert PLEDGE in {d["id"] for d in items}
    d = c.get(f"/api/definitions/{PLEDGE}").json()
    assert d["initial"] == "received" and "handling" in d["clocks"] and d["versions"] == [3]
    assert d["states"]["awaiting_supplement"]["pauses"] == ["handling"]
    r = c.get(f"/api/definitions/{PLEDGE}/diagram")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert text.startswith("stateDiagram-v2")
    assert "received --> under_review: accept" in text
    assert "awaiting_supplement" in text and "handling" in text  # the pausing state, the clock
    problem(c.get("/api/definitions/no_such_item"), 404)
    problem(c.get("/api/definitions/no_such_item/diagram"), 404)
    problem(c.get(f"/api/definitions/{PLEDGE}", params={"version": 99}), 404)


def test_calendar_status_and_override(timed: Stack) -> None:
    timed.clock.at = datetime(2026, 11, 20, 9, 0, tzinfo=TZ)
    cal = timed.wuhan_clerk.get("/api/calendar").json()
    assert 2024 in cal["known"] and 2027 in cal["provisional"] and cal["overridden"] == []
    assert any("2027" in w for w in cal["warnings"])
    # a case whose deadline runs into 2027 is provisional until the notice is loaded
    timed.clock.at = datetime(2026, 12, 28, 9, 0, tzinfo=TZ)
    case = open_pledge(timed.wuhan_clerk, channel="paper")
    assert case["clocks"]["handling"]["provisional"] is True
    override = {"year": 2027, "source": "国务院办公厅关于2027年部分节假日安排的通知（测试）",
                "holidays": ["2027-01-01", "2027-01-04"], "workdays": []}
    problem(timed.wuhan_supervisor.post("/api/calendar", json=override), 403)
    bad = problem(timed.admin.post("/api/calendar", json={**override, "workdays": ["2027-01-05"]}), 400)
    assert "weekday" in bad["detail"]
    r = timed.admin.post("/api/calendar", json=override)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["year"] == 2027 and case["id"] in body["recomputed"]
    assert 2027 in body["calendar"]["overridden"]
    after = timed.wuhan_clerk.get(f"/api/cases/{case['id']}").json()["clocks"]["handling"]
    assert after["provisional"] is False
    assert after["statutory_due"] != case["clocks"]["handling"]["statutory_due"]  # 01-01 and 01-04 off
    kinds = [e["kind"] for e in timed.wuhan_clerk.get(f"/api/cases/{case['id']}/history").json()["items"]]
    assert "calendar_recomputed" in kinds


def test_health_and_metrics(live: Stack) -> None:
    anon = live.client()
    h = anon.get("/api/health")
    assert h.status_code == 200 and h.json()["status"] == "ok" and h.json()["store"] == "SqlStore"
    open_pledge(live.wuhan_clerk)
    m = anon.get("/metrics")
    assert m.status_code == 200
    assert 'caseclock_http_requests_total{method="POST",route="/api/cases",status="201"}' in m.text
    assert 'caseclock_cases_opened_total{item="patent_pledge_registration"}' in m.text
    assert "caseclock_http_request_duration_seconds_bucket" in m.text


def test_a_missed_one_time_notice_is_a_breach_of_its_own_kind(timed: Stack) -> None:
    """行政许可法第三十二条: a pledge received Fri 2024-09-27 and left at the window with no 补正
    notice is accepted as of receipt at 00:00 after its fifth working day (10-10; 09-29 is a
    调休 workday, 10-01..07 off): the board has a column for it and the breach list its level."""
    sup, leader = timed.wuhan_supervisor, timed.province_leader
    timed.clock.at = datetime(2024, 9, 27, 10, 0, tzinfo=TZ)
    held = open_pledge(timed.wuhan_clerk, channel="paper", pledgor="压件公司")
    noticed = open_pledge(timed.wuhan_clerk, channel="paper", pledgor="补正公司")
    r = timed.wuhan_clerk.post(f"/api/cases/{noticed['id']}/transitions/request_supplement",
                               json={"data": {"supplement_items": "质押合同原件"}})
    assert r.status_code == 200, r.text
    timed.clock.at = datetime(2024, 10, 10, 23, 59, tzinfo=TZ)
    assert [e.level for e in timed.engine.sweep() if e.case_id == held["id"]] == ["warning", "overdue"]
    timed.clock.at = datetime(2024, 10, 11, 0, 0, tzinfo=TZ)
    assert sorted(e.level for e in timed.engine.sweep() if e.case_id == held["id"]) == [
        "deemed_accepted", "over_statutory"]
    assert timed.engine.sweep() == []
    row = _board_row(sup.get("/api/sla/board").json(), "420100")
    assert (row["deemed_accepted"], row["total"]) == (1, 2)
    breaches = sup.get("/api/sla/breaches", params={"level": "deemed_accepted"}).json()["items"]
    assert [c["id"] for c in breaches] == [held["id"]]
    assert breaches[0]["sla"] == "deemed_accepted" and breaches[0]["state"] == "under_review"
    assert breaches[0]["clocks"]["one_time_notice"]["sla"] == "deemed_accepted"
    assert breaches[0]["clocks"]["handling"]["sla"] == "over_statutory"  # the clock keeps its own level
    assert held["id"] in [c["id"] for c in sup.get("/api/sla/breaches").json()["items"]]
    assert leader.get("/api/sla/board").json()["totals"]["deemed_accepted"] == 1
    history = sup.get(f"/api/cases/{held['id']}/history").json()["items"]
    deemed = [e for e in history if e["kind"] == "deemed_accepted"]
    assert len(deemed) == 1 and deemed[0]["data"]["received_on"] == "2024-09-27"
    assert [e["trigger"] for e in history if e["kind"] == "transition"][-1] == "deemed_accept"
    assert noticed["id"] not in [c["id"] for c in sup.get("/api/sla/breaches").json()["items"]]
