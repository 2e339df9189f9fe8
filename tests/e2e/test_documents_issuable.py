"""Documents that are true, over real HTTP: a document is offered and served only when the case can
have it (a 决定书 after a decision, 409 before), it is issued in the name of the case's org and
dated by the step that allows it, and amounts, hints and long cells print as people read them."""

from __future__ import annotations

import io
from datetime import datetime

import pypdf

from adapters.documents import cn_date
from workflow.legaltime import TZ

from .conftest import PLEDGE, Stack, open_pledge, pledge_data, problem


def names(client, case_id: str) -> list[str]:
    r = client.get(f"/api/cases/{case_id}/documents")
    assert r.status_code == 200, r.text
    return [d["name"] for d in r.json()["items"]]


def pdf_text(blob: bytes) -> str:
    assert blob.startswith(b"%PDF-")
    return "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(blob)).pages)


def test_a_decision_only_after_a_decision(timed: Stack) -> None:
    clerk, examiner, boss = timed.wuhan_clerk, timed.wuhan_examiner, timed.wuhan_supervisor
    timed.clock.at = datetime(2024, 3, 4, 9, 0, tzinfo=TZ)
    case = open_pledge(clerk, channel="paper")
    cid = case["id"]
    assert names(clerk, cid) == ["receipt"]
    for doc in ("decision", "acceptance_notice", "supplement_notice"):
        for params in ({}, {"format": "pdf"}):
            body = problem(clerk.get(f"/api/cases/{cid}/documents/{doc}", params=params), 409)
            assert body["code"] == "document_not_issuable" and body["document"] == doc
    body = problem(clerk.get(f"/api/cases/{cid}/documents/decision"), 409)
    assert "approve" in body["issuable_after"] and "refuse" in body["issuable_after"]
    assert "withdraw" not in body["issuable_after"]  # a withdrawal decides nothing
    assert "准予质押登记" in body["reason"] and "不予登记" in body["reason"]
    assert clerk.get(f"/api/cases/{cid}/receipt").status_code == 200

    clerk.post(f"/api/cases/{cid}/transitions/accept")
    assert names(clerk, cid) == ["receipt", "acceptance_notice"]
    problem(clerk.get(f"/api/cases/{cid}/documents/decision"), 409)

    timed.clock.at = datetime(2024, 3, 5, 15, 0, tzinfo=TZ)
    r = examiner.post(f"/api/cases/{cid}/transitions/request_supplement",
                      json={"data": {"supplement_items": "质押合同原件"}})
    assert r.status_code == 200, r.text
    timed.clock.at = datetime(2024, 3, 7, 9, 0, tzinfo=TZ)
    clerk.post(f"/api/cases/{cid}/transitions/resubmit")
    listed = clerk.get(f"/api/cases/{cid}/documents").json()["items"]
    assert [d["name"] for d in listed] == ["receipt", "acceptance_notice", "supplement_notice"]
    assert listed[2]["after"]["trigger"] == "request_supplement"
    # the notice is dated by the step that asked for the supplement, not by the last step
    page = clerk.get(f"/api/cases/{cid}/documents/supplement_notice").text
    assert 'data-field="issued_on" datetime="2024-03-05"' in page

    timed.clock.at = datetime(2024, 3, 8, 10, 0, tzinfo=TZ)
    r = examiner.post(f"/api/cases/{cid}/transitions/approve", json={"data": {"registration_number": "Y2024420000123"}})
    assert r.status_code == 200, r.text
    assert names(clerk, cid) == ["receipt", "acceptance_notice", "supplement_notice", "decision"]
    page = clerk.get(f"/api/cases/{cid}/documents/decision").text
    assert 'data-field="decision">准予质押登记<' in page
    assert 'data-field="issued_on" datetime="2024-03-08"' in page
    assert "已接收" not in page.split('data-field="decision"')[1][:40]
    text = pdf_text(clerk.get(f"/api/cases/{cid}/documents/decision", params={"format": "pdf"}).content)
    assert "准予质押登记" in text and "2024年3月8日" in text

    # a supervisor undoes the approval: the decision is no longer there to print
    r = boss.post(f"/api/cases/{cid}/correct", json={"reason": "审查员误点准予登记"})
    assert r.status_code == 200, r.text
    assert "decision" not in names(clerk, cid)
    problem(clerk.get(f"/api/cases/{cid}/documents/decision"), 409)
    # the refusal that follows is the decision, with its reason
    timed.clock.at = datetime(2024, 3, 11, 10, 0, tzinfo=TZ)
    r = examiner.post(f"/api/cases/{cid}/transitions/refuse", json={"data": {"reason": "质押合同未经双方签章"}})
    assert r.status_code == 200, r.text
    page = clerk.get(f"/api/cases/{cid}/documents/decision").text
    assert 'data-field="decision">不予登记<' in page and "质押合同未经双方签章" in page
    assert 'datetime="2024-03-11"' in page


def test_a_withdrawal_is_not_a_decision(timed: Stack) -> None:
    clerk = timed.wuhan_clerk
    case = open_pledge(clerk)
    r = clerk.post(f"/api/cases/{case['id']}/transitions/withdraw")
    assert r.status_code == 200 and r.json()["final"] is True
    assert "decision" not in names(clerk, case["id"])
    problem(clerk.get(f"/api/cases/{case['id']}/documents/decision"), 409)


def test_issued_in_the_name_of_the_cases_org(timed: Stack) -> None:
    wuhan = open_pledge(timed.wuhan_clerk)
    page = timed.wuhan_clerk.get(f"/api/cases/{wuhan['id']}/receipt").text
    assert "武汉市知识产权局" in page and "湖北省知识产权局" not in page
    assert 'data-field="seal">武汉市知识产权局<' in page
    text = pdf_text(timed.wuhan_clerk.get(f"/api/cases/{wuhan['id']}/receipt", params={"format": "pdf"}).content)
    assert "武汉市知识产权局" in text and "湖北省知识产权局" not in text
    yichang = timed.yichang_clerk.post("/api/cases", json={"item_id": PLEDGE, "data": pledge_data()}).json()
    page = timed.yichang_clerk.get(f"/api/cases/{yichang['id']}/receipt").text
    assert "宜昌市知识产权局" in page and "武汉" not in page.split("受理机关")[1][:80]
    province = timed.admin.post("/api/cases", json={"item_id": PLEDGE, "data": pledge_data()}).json()
    assert province["org"] == "420000"
    assert "湖北省知识产权局" in timed.admin.get(f"/api/cases/{province['id']}/receipt").text


def test_amounts_hints_and_long_cells_print_as_people_read_them(timed: Stack) -> None:
    clerk = timed.wuhan_clerk
    numbers = "、".join(f"ZL2023100000{i:02d}.X" for i in range(1, 9))
    case = open_pledge(clerk, secured_amount=5_000_000, patent_numbers=numbers, patent_count=8)
    page = clerk.get(f"/api/cases/{case['id']}/receipt").text
    assert "5,000,000元（500万元）" in page and "5000000" not in page
    assert "多件以逗号分隔" not in page  # the form's input hint is not on paper
    assert ">专利号<" in page
    text = pdf_text(clerk.get(f"/api/cases/{case['id']}/receipt", params={"format": "pdf"}).content)
    assert "5,000,000元（500万元）" in text and "多件以逗号分隔" not in text
    # the limits table's dates stay whole, each on one line (no column of one character)
    clock = case["clocks"]["handling"]
    lines = [ln.strip() for ln in text.splitlines()]
    for due in (clock["statutory_due"], clock["commitment_due"]):
        assert any(cn_date(due) in ln for ln in lines), (due, lines)
    assert "承诺办结日" in text
