"""The joint-handling cap over HTTP and on the pages (TestClient over a memory engine on the
fixtures of ``tests/fixtures/joint``): the extension refused without its reason or approver (422
naming each, the case unchanged), refused a second time (409); the cap on the bundle's case page
and on the board."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.auth import issue_token
from api.tokens import tokens_for
from api.web.security import hash_password
from tests.web_support import signed_in as signed_in_as
from tests.web_support import web_stack
from workflow.legaltime import TZ
from workflow.model import Actor

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "joint"
PW = "Joint-test-2027!"
PEOPLE = {"zhang": ("张伟", "clerk", "420100"), "li": ("李娜", "supervisor", "420100"),
          "zhao": ("赵强", "leader", "420100")}
URL = "/api/cases/{}/transitions/extend_joint_handling"


@pytest.fixture
def env() -> Any:
    engine, app, clock = web_stack(PEOPLE, hash_password(PW), secret="joint-tests-secret-0123456789",
                                   definitions=[FIX])
    clock.at = datetime(2026, 12, 21, 10, 0, tzinfo=TZ)
    bundle = engine.open_case("fx_joint", actor=Actor("zhang", {"clerk"}, "420100", "张伟"),
                              data={"applicant": "武汉某生物医药有限公司"})
    return engine, app, clock, bundle


def api(engine: Any, app: Any, user: str) -> TestClient:
    _, role, org = PEOPLE[user]
    token, _ = issue_token(tokens_for(engine), user=user, roles=role, org=org, now=engine.now(), orgs=engine.orgs)
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})


def signed_in(app: Any, user: str) -> TestClient:
    return signed_in_as(app, user, PW)  # type: ignore[no-any-return]


def test_the_extension_needs_its_reason_and_approver_and_is_granted_once(env: Any) -> None:
    engine, app, clock, bundle = env
    leader = api(engine, app, "zhao")
    clock.at = datetime(2027, 2, 26, 16, 0, tzinfo=TZ)
    before = leader.get(f"/api/cases/{bundle.id}").json()
    assert before["clocks"]["joint_handling"]["statutory_due"] == "2027-03-01"
    r = leader.post(URL.format(bundle.id), json={"data": {}})
    assert r.status_code == 422, r.text
    assert r.json()["fields"] == {"reason": "required", "approver": "required"}
    r = leader.post(URL.format(bundle.id), json={"data": {"reason": "涉及三个部门现场核查"}})
    assert r.status_code == 422 and r.json()["fields"] == {"approver": "required"}
    assert leader.get(f"/api/cases/{bundle.id}").json() == before  # unchanged
    body = {"data": {"reason": "涉及三个部门现场核查", "approver": "副市长 王强"}}
    r = leader.post(URL.format(bundle.id), json=body)
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["clocks"]["joint_handling"]["statutory_due"] == "2027-03-22"
    r = leader.post(URL.format(bundle.id), json=body)
    assert r.status_code == 409, r.text
    assert leader.get(f"/api/cases/{bundle.id}").json() == after  # unchanged
    clerk = api(engine, app, "zhang")
    assert clerk.post(URL.format(bundle.id), json=body).status_code == 403


def test_the_cap_is_on_the_bundles_case_page_and_on_the_board(env: Any) -> None:
    engine, app, clock, bundle = env
    clock.at = datetime(2027, 2, 26, 16, 0, tzinfo=TZ)  # within the 45 days: the approval may be recorded
    fire = f'/web/cases/{bundle.id}/fire/extend_joint_handling"'
    page = signed_in(app, "zhang").get(f"/web/cases/{bundle.id}").text
    assert fire not in page and "经本级人民政府负责人批准延长（需要局领导办理）" in page  # not a clerk's
    page = signed_in(app, "zhao").get(f"/web/cases/{bundle.id}").text  # the leader's form asks both
    form = page[page.index(fire):page.index("</form>", page.index(fire))]
    assert 'name="f_reason"' in form and 'name="f_approver"' in form
    clock.at = datetime(2027, 3, 2, 9, 0, tzinfo=TZ)
    engine.sweep()
    page = signed_in(app, "zhang").get(f"/web/cases/{bundle.id}").text
    start = page.index('data-clock="joint_handling"')
    block = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page[start:page.index("</article>", start)]))
    assert "联合办理时限（行政许可法第四十二条第二款）" in block and "45个工作日" in block
    assert "法定期限 2027-03-01 （暂定）" in block and "承诺期限 2027-02-02 （暂定）" in block
    assert "已用 46 / 承诺 30 个工作日 / 法定 45 个工作日" in block
    assert 'class="clock clock-darkred" data-clock="joint_handling"' in page
    assert fire not in signed_in(app, "zhao").get(f"/web/cases/{bundle.id}").text  # past the last day: no extension
    board = api(engine, app, "li").get("/api/sla/board").json()
    row = next(r for r in board["items"] if r["item_id"] == "fx_joint")
    assert (row["over_statutory"], row["total"]) == (1, 1)
    web_board = signed_in(app, "li").get("/web/board")
    assert web_board.status_code == 200 and "测试联合办理（多部门）" in web_board.text


def test_the_applicant_is_told_the_reason_of_the_extension(env: Any) -> None:
    """第四十二条第二款: 并应当将延长期限的理由告知申请人 — the 延期 notice of an online application
    carries the reason (not who approved it)."""
    engine, app, clock, _ = env
    token, _ = issue_token(tokens_for(engine), user="portal", roles="portal", org="420000", now=engine.now(),
                           orgs=engine.orgs)
    portal = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    r = portal.post("/api/applications", json={
        "item_id": "fx_joint", "org": "420100", "data": {"applicant": "武汉某生物医药有限公司"},
        "applicant": {"id": "91420100MA4K000009", "name": "武汉某生物医药有限公司"}})
    assert r.status_code == 201, r.text
    receipt = r.json()
    case = next(c for c in engine.list_cases(Actor("zhao", {"leader"}, "420100", "赵强"), item_id="fx_joint")
                if c.number == receipt["number"])
    clock.at = datetime(2027, 2, 26, 16, 0, tzinfo=TZ)
    r = api(engine, app, "zhao").post(URL.format(case.id), json={"data": {
        "reason": "涉及三个部门现场核查", "approver": "副市长 王强"}})
    assert r.status_code == 200, r.text
    progress = TestClient(app, headers={"X-Query-Code": receipt["query_code"]}).get(
        f"/api/applications/{receipt['number']}").json()
    notice = progress["notices"][-1]
    assert notice["kind"] == "extended" and "涉及三个部门现场核查" in notice["text"]
    assert "王强" not in notice["text"]
