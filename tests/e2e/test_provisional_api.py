"""Issue 15 over real HTTP: provisional flags per date, a party's period held on a provisional
last day, the clerk's confirmation route, and who loaded the notice (SQLite file, uvicorn)."""

from __future__ import annotations

from datetime import datetime

from tests.e2e.conftest import problem
from workflow.legaltime import TZ

JUDICIAL = {"applicants": "甲公司、乙公司", "mediation_org": "武汉市知识产权纠纷人民调解委员会",
            "agreement_effective_on": "2026-12-02", "agreement_subject": "license_fee"}


def test_provisional_dates_hold_and_confirm_over_http(timed) -> None:
    clock = timed.clock
    clock.at = datetime(2026, 12, 2, 10, 0, tzinfo=TZ)
    r = timed.wuhan_clerk.post("/api/cases", json={"item_id": "judicial_confirmation", "data": JUDICIAL})
    assert r.status_code == 201, r.text
    case = r.json()
    period = case["clocks"]["application_period"]
    # the parties' 30 days from 2026-12-02 end on 元旦 2027: the last day is Mon 2027-01-04, 暂定
    assert period["statutory_due"] == "2027-01-04"
    assert period["statutory_provisional"] is True and period["expiry_provisional"] is True
    assert period["awaiting_calendar"] is False
    url = f"/api/cases/{case['id']}/clocks/application_period/confirm-expiry"
    problem(timed.wuhan_clerk.post(url, json={"reason": "已届满"}), 409)  # not waiting yet

    clock.at = datetime(2027, 1, 5, 9, 0, tzinfo=TZ)
    timed.engine.sweep()
    held = timed.wuhan_clerk.get(f"/api/cases/{case['id']}").json()
    assert held["state"] == "agreement_signed" and held["clocks"]["application_period"]["awaiting_calendar"]
    cal = timed.wuhan_supervisor.get("/api/calendar").json()
    assert cal["provisional_cases"]["awaiting_calendar"] == 1
    assert cal["provisional_cases"]["by_year"] == {"2027": 1}
    assert timed.yichang_clerk.get("/api/calendar").json()["provisional_cases"]["open_cases"] == 0

    problem(timed.wuhan_clerk.post(url, json={"reason": ""}), 400)  # the body schema requires one
    problem(timed.wuhan_examiner.post(url, json={"reason": "已届满"}), 403)
    problem(timed.yichang_clerk.post(url, json={"reason": "已届满"}), 404)
    problem(timed.wuhan_clerk.post(url, json={"reason": "已届满"}, headers={"If-Match": '"1"'}), 412)
    r = timed.wuhan_clerk.post(url, json={"reason": "双方未在期限内申请"},
                               headers={"If-Match": f'"{held["version"]}"'})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "lapsed" and r.headers["ETag"] == f'"{r.json()["version"]}"'
    events = timed.wuhan_clerk.get(f"/api/cases/{case['id']}/history").json()["items"]
    kinds = [(e["kind"], e["actor_id"]) for e in events][-4:]
    assert kinds == [("expiry_pending_calendar", "system"), ("escalation", "system"),
                     ("expiry_confirmed", "wuhan_clerk"), ("transition", "system")]


def test_loading_the_notice_records_who_and_which_notice(timed) -> None:
    timed.clock.at = datetime(2026, 12, 28, 10, 0, tzinfo=TZ)
    r = timed.wuhan_clerk.post("/api/cases", json={"item_id": "patent_pledge_registration", "data": {
        "request_type": "registration", "channel": "paper", "pledgor": "甲", "pledgee": "乙",
        "patent_numbers": "ZL1"}})
    case = r.json()
    h = case["clocks"]["handling"]
    # 5 wd from Mon 2026-12-28 -> Tue 2027-01-05 (元旦 off by law), 暂定; commitment 12-31, certain
    assert (h["statutory_due"], h["statutory_provisional"]) == ("2027-01-05", True)
    assert (h["commitment_due"], h["commitment_provisional"]) == ("2026-12-31", False)
    r = timed.admin.post("/api/calendar", json={
        "year": 2027, "source": "国务院办公厅关于2027年部分节假日安排的通知", "holidays": ["2027-01-01"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert case["id"] in body["recomputed"]
    assert any(w.startswith("2027-02-05 农历除夕") for w in body["warnings"])  # loaded as given
    h = timed.wuhan_clerk.get(f"/api/cases/{case['id']}").json()["clocks"]["handling"]
    assert (h["statutory_due"], h["statutory_provisional"]) == ("2027-01-05", False)
    ev = timed.wuhan_clerk.get(f"/api/cases/{case['id']}/history").json()["items"][-1]
    assert (ev["kind"], ev["actor_id"]) == ("calendar_recomputed", "admin")
    assert ev["data"]["source"] == "国务院办公厅关于2027年部分节假日安排的通知"
    assert "caseclock-calendar-" not in str(ev["data"])  # never the temporary file's path
