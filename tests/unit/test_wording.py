"""Wording that does not contradict itself, on the pages (TestClient over a memory engine): limits
in their own unit, remaining time never above the limit, 尚未起算, each kind of history event in
its own words, the header's 黄/红 agreeing with the board, final actions confirmed with a reason."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.web import present
from api.web.security import hash_password
from tests.web_support import web_stack
from workflow.legaltime import TZ
from workflow.model import Actor, Clock

PLEDGE = "patent_pledge_registration"
ADJUDICATION = "patent_infringement_adjudication"
PW = "Wording-test-2024!"
PW_HASH = hash_password(PW)
DATA = {"request_type": "registration", "channel": "paper", "pledgor": "甲公司", "pledgee": "乙银行",
        "patent_numbers": "ZL1"}
PEOPLE = {"zhang": ("张伟", "clerk", "420100"), "wang": ("王芳", "examiner", "420100"),
          "li": ("李娜", "supervisor", "420100"), "liu": ("刘洋", "clerk", "420500")}


def actor(pid: str) -> Actor:
    name, role, org = PEOPLE[pid]
    return Actor(id=pid, roles={role}, org=org, name=name)


@pytest.fixture
def env() -> Any:
    return web_stack(PEOPLE, PW_HASH, secret="wording-tests-secret-0123456789")


def signed_in(app: Any, user: str) -> TestClient:
    c = TestClient(app)
    token = re.search(r'name="csrf" value="([^"]+)"', c.get("/web/login").text).group(1)  # type: ignore[union-attr]
    r = c.post("/web/login", data={"user": user, "password": PW, "csrf": token}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return c


def csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def clock_block(html: str, name: str) -> str:
    start = html.index(f'data-clock="{name}"')
    return text_of(html[start:html.index("</article>", start)])


def test_a_three_month_limit_reads_as_months_and_never_more_left_than_the_limit(env: Any) -> None:
    engine, app, clock = env
    # 2024-12-01 + 3 months = Sat 2025-03-01 (90 days), moved to Mon 03-03: 92 days away today
    clock.at = datetime(2024, 12, 1, 10, 0, tzinfo=TZ)
    case = engine.open_case(ADJUDICATION, actor=actor("zhang"), data={
        "requester": "甲公司", "respondent": "乙公司", "respondent_domicile": "domestic",
        "patent_number": "ZL201910000001.X", "patent_type": "invention", "claims": "停止侵权"})
    case = engine.fire(case.id, "file_case", actor=actor("wang"), data={"panel": "王芳、赵强、孙丽"})
    h = case.clocks["handling"]
    # the library and the API say what the pages say: never more left than the limit (not 92)
    assert (h.statutory_units, h.statutory_due, h.remaining_units) == (90, date(2025, 3, 3), 90)
    page = signed_in(app, "zhang").get(f"/web/cases/{case.id}").text
    block = clock_block(page, "handling")
    assert "法定 3个月" in block and "90 日" not in block.split("剩余")[0].split("法定")[-1]
    assert "剩余 90 日" in block and "剩余 92" not in block
    # as days pass the count goes down from the limit; the moved last day still counts at the end
    clock.at = datetime(2025, 3, 1, 10, 0, tzinfo=TZ)
    page = signed_in(app, "zhang").get(f"/web/cases/{case.id}").text
    assert "剩余 2 日" in clock_block(page, "handling")


def _clock(**kw: Any) -> Clock:
    base = dict(name="answer_period", label="答辩期", kind="party", status="running",
                statutory_due=date(2024, 10, 25), commitment_due=None, sla="on_track", provisional=False,
                party=True, external=False, limit="15 days", started_on=date(2024, 10, 10),
                statutory_units=15, used_units=0, remaining_units=20, unit="days")
    return Clock(**{**base, **kw})


def test_a_clock_whose_start_lies_ahead_shows_not_started_yet() -> None:
    c = _clock()
    assert present.days_left(c, date(2024, 10, 5)) == "尚未起算（2024-10-10 起算）"
    assert present.days_left(c, date(2024, 10, 10)) == "剩余 15 日"  # the limit, not 20
    assert present.days_left(_clock(remaining_units=3), date(2024, 10, 22)) == "剩余 3 日"
    assert present.days_left(_clock(remaining_units=0), date(2024, 10, 25)) == "今日届满"
    assert present.days_left(_clock(remaining_units=-2), date(2024, 10, 27)) == "已超 2 日"
    assert present.statutory_text(_clock(limit="3 months", extensions=("1 month",))) == "3个月（延长1个月）"
    assert present.statutory_text(_clock(limit="5 working days", unit="working_days", statutory_units=7,
                                         extensions=("2 working days",))) == "7 个工作日（含延长2个工作日）"


def test_each_kind_of_event_in_its_own_words(env: Any) -> None:
    engine, app, clock = env
    case = engine.open_case(PLEDGE, actor=actor("zhang"), data=DATA)
    engine.assign(case.id, "wang", actor=actor("li"), reason="按专利类型分案")
    engine.fire(case.id, "accept", actor=actor("zhang"))
    engine.fire(case.id, "approve", actor=actor("wang"), data={"registration_number": "Y1"})
    engine.correct(case.id, actor=actor("li"), reason="审查员误点准予登记")
    engine.fire(case.id, "refuse", actor=actor("wang"), data={"reason": "质押合同未签章"})
    page = signed_in(app, "li").get(f"/web/cases/{case.id}").text
    timeline = page[page.index('<ol class="timeline">'):page.index("</ol>", page.index('<ol class="timeline">'))]
    items = [text_of(x) for x in timeline.split("<li")[1:]]
    assigned = next(x for x in items if "指定承办人" in x)
    assert "原承办人 未指定" in assigned and "新承办人 王芳（wang）" in assigned
    assert "说明 按专利类型分案" in assigned and "不予登记理由" not in assigned
    assert "李娜（li）" in assigned  # who did it: a name with the id
    corrected = next(x for x in items if "更正" in x)
    assert "撤销的步骤 准予质押登记（" in corrected and "王芳（wang）" in corrected
    assert "理由 审查员误点准予登记" in corrected and "撤销记录" not in corrected
    assert not re.search(r"撤销\S* \d+\b", corrected)  # no sequence number
    refused = next(x for x in items if x.strip().split(" ")[2:3] == ["不予登记"] or "不予登记理由" in x)
    assert "不予登记理由 质押合同未签章" in refused
    opened = next(x for x in items if "收件" in x)
    assert "张伟（zhang）" in opened


def test_header_badges_say_what_they_count_and_agree_with_the_board(env: Any) -> None:
    engine, app, clock = env
    clock.at = datetime.now(TZ) - timedelta(days=25)
    for _ in range(2):
        engine.open_case(PLEDGE, actor=actor("zhang"), data=DATA)  # red after the sweep
    clock.at = datetime.now(TZ) - timedelta(days=6)
    engine.open_case(PLEDGE, actor=actor("zhang"), data={**DATA, "channel": "online"})
    clock.at = None
    engine.open_case(PLEDGE, actor=actor("liu"), data=DATA)  # Yichang: not in Wuhan's scope
    engine.sweep()
    boss = signed_in(app, "li")
    board = boss.get("/web/board").text
    totals = {k: int(v) for k, v in re.findall(r'data-live-total="(\w+)">(\d+)<', board)}
    head = board[board.index('class="signals"'):board.index("</a>", board.index('class="signals"'))]
    assert "武汉市（含下级）未办结" in head and "黄·预警" in head and "红·超期" in head
    assert "与预警看板的口径相同" in head
    warning = int(re.search(r'data-live="hdr_warning">(\d+)<', head).group(1))  # type: ignore[union-attr]
    red = int(re.search(r'data-live="hdr_red">(\d+)<', head).group(1))  # type: ignore[union-attr]
    assert warning == totals["warning"]
    assert red == totals["overdue"] + totals["over_statutory"] + totals["deemed_accepted"] and red >= 2
    live = boss.get("/web/live.json?view=board").json()
    assert (live["counts"]["hdr_warning"], live["counts"]["hdr_red"]) == (warning, red)
    # a clerk's header counts their own worklist, and says so
    clerk = signed_in(app, "zhang").get("/web/worklist").text
    head = clerk[clerk.index('class="signals"'):clerk.index("</a>", clerk.index('class="signals"'))]
    assert "我的待办" in head
    summary = text_of(clerk[clerk.index('class="summary"'):clerk.index("</p>", clerk.index('class="summary"'))])
    n_red = int(re.search(r'data-live="hdr_red">(\d+)<', head).group(1))  # type: ignore[union-attr]
    assert f"红·超期（超承诺时限或法定时限） {n_red} 件" in summary


def test_final_actions_ask_for_a_confirmation_and_a_reason(env: Any) -> None:
    engine, app, clock = env
    case = engine.open_case(PLEDGE, actor=actor("zhang"), data=DATA)
    c = signed_in(app, "zhang")
    page = c.get(f"/web/cases/{case.id}").text
    form = page[page.index('action="/web/cases/' + case.id + '/fire/withdraw"'):]
    form = form[:form.index("</form>")]
    assert 'name="confirm"' in form and 'name="f_reason"' in form and "required" in form
    assert "办结" in form
    url = f"/web/cases/{case.id}/fire/withdraw"
    token = csrf(page)
    r = c.post(url, data={"csrf": token, "version": "1"})
    assert r.status_code == 422 and "请勾选确认" in r.text and "理由：必填" in r.text
    r = c.post(url, data={"csrf": token, "version": "1", "confirm": "yes"})
    assert r.status_code == 422 and "理由：必填" in r.text
    r = c.post(url, data={"csrf": token, "version": "1", "f_reason": "申请人书面撤回"})
    assert r.status_code == 422 and "请勾选确认" in r.text
    assert engine.get_case(case.id).state == "received"  # nothing happened
    r = c.post(url, data={"csrf": token, "version": "1", "confirm": "yes", "f_reason": "申请人书面撤回"},
               follow_redirects=False)
    assert r.status_code == 303
    assert engine.get_case(case.id).state == "withdrawn"
    last = engine.history(case.id)[-1]
    assert last.trigger == "withdraw" and last.data["reason"] == "申请人书面撤回"
    page = c.get(f"/web/cases/{case.id}").text
    assert "理由（申请人撤回） 申请人书面撤回" in text_of(page) or "理由 申请人书面撤回" in text_of(page)
    assert "不予登记理由" not in text_of(page)
    # a step that does not close the case is one click, as before
    other = engine.open_case(PLEDGE, actor=actor("zhang"), data=DATA)
    page = c.get(f"/web/cases/{other.id}").text
    accept = page[page.index(f'action="/web/cases/{other.id}/fire/accept"'):]
    assert 'name="confirm"' not in accept[:accept.index("</form>")]


def test_a_withdrawn_case_reads_withdrawn_in_the_list(env: Any) -> None:
    """QA D4: the list's badge said 按时办结 for a withdrawn case; the report counts it as 撤回."""
    engine, app, clock = env
    case = engine.open_case(PLEDGE, actor=actor("zhang"), data=DATA)
    engine.fire(case.id, "withdraw", actor=actor("zhang"), data={"reason": "申请人书面撤回"})
    assert engine.get_case(case.id).sla == "withdrawn"
    c = signed_in(app, "zhang")
    page = c.get("/web/cases", params={"q": case.number, "open": "all"}).text
    row = page[page.index(f'data-case="{case.id}"'):]
    row = row[:row.index("</tr>")]
    assert '<span class="badge grey" >已撤回</span>' in row and "按时办结" not in row


def test_a_report_month_that_has_not_begun_is_refused_on_the_pages(env: Any) -> None:
    """QA D6: the pages showed this month instead (the API said 本月尚未结束 with month-end counts)."""
    engine, app, clock = env
    clock.at = datetime(2024, 12, 1, 10, 0, tzinfo=TZ)
    c = signed_in(app, "li")
    for url in ("/web/reports?month=2025-01", "/web/charts?month=2100-01", "/web/reports/monthly.csv?month=2025-01"):
        r = c.get(url)
        assert r.status_code == 422 and "月份尚未开始" in r.text and "2024-12" in r.text, url
    page = c.get("/web/reports?month=2024-12")
    assert page.status_code == 200 and 'max="2024-12"' in page.text
    r = c.post("/web/reports", data={"csrf": csrf(page.text), "month": "2025-01"})
    assert r.status_code == 422 and "月份尚未开始" in r.text


def test_each_opening_is_named_in_its_own_words(env: Any) -> None:
    """QA D5: every opening read 立案, so an adjudication's history said 立案 and later 立案并组成合议组."""
    engine, app, clock = env
    dispute = engine.open_case(ADJUDICATION, actor=actor("zhang"), data={
        "requester": "甲公司", "respondent": "乙公司", "respondent_domicile": "domestic",
        "patent_number": "ZL201910000001.X", "patent_type": "invention", "claims": "停止侵权"})
    dispute = engine.fire(dispute.id, "file_case", actor=actor("wang"), data={"panel": "王芳、赵强、孙丽"})
    pledge = engine.open_case(PLEDGE, actor=actor("zhang"), data=DATA)
    c = signed_in(app, "li")
    firsts = {}
    for case in (dispute, pledge):
        page = c.get(f"/web/cases/{case.id}").text
        timeline = page[page.index('<ol class="timeline">'):page.index("</ol>", page.index('<ol class="timeline">'))]
        items = [text_of(x).strip() for x in timeline.split("<li")[1:]]
        opened = next(x for x in items if "张伟（zhang）" in x and "→ 已" in x and "立案并" not in x)
        firsts[case.item_id] = opened
        assert "收件时间" in text_of(page) and "立案时间" not in text_of(page)
    assert "收到请求书 → 已收到请求书" in firsts[ADJUDICATION] and "立案" not in firsts[ADJUDICATION]
    assert "收件 → 已接收" in firsts[PLEDGE] and "立案" not in firsts[PLEDGE]
