"""A pledge received blank and completed at 受理, over real HTTP (QA of issue 16, D1 and D2): the
channel chosen at acceptance sets the limit from receipt (online: 2 working days, not the 5 it
counted while unknown), and the receipt, the 受理通知书 and the 决定书 print the parties, the patent
numbers and the channel given at acceptance, with the dates of that limit."""

from __future__ import annotations

from datetime import datetime

from workflow.legaltime import TZ

from .conftest import PLEDGE, Stack

PARTIES = {"pledgor": "武汉测试光电有限公司", "pledgee": "招商银行武汉分行", "patent_numbers": "ZL202310000001.X"}


def cell(page: str, name: str) -> str:
    """The printed value of ``received.<name>`` (empty when the document leaves it out)."""
    marker = f'data-field="received.{name}">'
    if marker not in page:
        return ""
    return page.split(marker, 1)[1].split("<", 1)[0]


def test_blank_pledge_accepted_online(timed: Stack) -> None:
    clerk, examiner = timed.wuhan_clerk, timed.wuhan_examiner
    timed.clock.at = datetime(2026, 12, 8, 10, 0, tzinfo=TZ)  # Tue
    r = clerk.post("/api/cases", json={"item_id": PLEDGE, "data": {}})
    assert r.status_code == 201, r.text
    case = r.json()
    cid = case["id"]
    handling = case["clocks"]["handling"]
    assert (handling["limit"], handling["statutory_due"]) == ("5 working days", "2026-12-15")
    receipt = clerk.get(f"/api/cases/{cid}/receipt").text
    assert cell(receipt, "pledgor") == ""  # nothing was given yet

    timed.clock.at = datetime(2026, 12, 8, 15, 0, tzinfo=TZ)
    r = clerk.post(f"/api/cases/{cid}/transitions/accept", json={"data": {**PARTIES, "channel": "online"}})
    assert r.status_code == 200, r.text
    handling = r.json()["clocks"]["handling"]
    assert (handling["limit"], handling["started_on"], handling["statutory_due"], handling["commitment_due"]) == (
        "2 working days", "2026-12-08", "2026-12-10", "2026-12-09")
    assert clerk.get(f"/api/cases/{cid}").json()["clocks"]["handling"]["statutory_due"] == "2026-12-10"
    history = clerk.get(f"/api/cases/{cid}/history").json()
    events = history["items"] if isinstance(history, dict) else history
    accept = next(e for e in events if e.get("trigger") == "accept")
    assert accept["data"]["limits_changed"]["handling"]["to"] == "2 working days"

    notice = clerk.get(f"/api/cases/{cid}/documents/acceptance_notice").text
    assert "法定时限2个工作日" in notice and 'datetime="2026-12-10"' in notice and "2026年12月10日" in notice
    assert "2026年12月15日" not in notice
    assert PARTIES["pledgor"] in notice
    receipt = clerk.get(f"/api/cases/{cid}/receipt").text
    assert (cell(receipt, "pledgor"), cell(receipt, "pledgee"), cell(receipt, "channel")) == (
        PARTIES["pledgor"], PARTIES["pledgee"], "网上提交")

    timed.clock.at = datetime(2026, 12, 9, 10, 0, tzinfo=TZ)
    r = examiner.post(f"/api/cases/{cid}/transitions/approve", json={"data": {"registration_number": "Y2026420000999"}})
    assert r.status_code == 200, r.text
    decision = clerk.get(f"/api/cases/{cid}/documents/decision").text
    assert (cell(decision, "pledgor"), cell(decision, "pledgee"), cell(decision, "patent_numbers"),
            cell(decision, "channel")) == (PARTIES["pledgor"], PARTIES["pledgee"], PARTIES["patent_numbers"], "网上提交")
    assert "Y2026420000999" in decision
    assert "2026年12月10日" in decision and "2026年12月15日" not in decision  # the online limit's last day
