"""A clerk's and a supervisor's day in a real browser (issue 16), each at 1366 px and on a 390-px
phone: documents offered only when the case can have them, issued in the name of the case's org
with amounts as people write them and no input hints; limits in their own unit and never more
time left than the limit; final actions confirmed with a reason; history in each event's own
words; the header's 黄/红 agreeing with the board; the report's columns the same every month and
the running month saying 截至; the worklist usable on a phone."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from api.web.screenshots import sign_in, viewport
from workflow.legaltime import TZ

from .conftest import PASSWORD, PLEDGE, Stack, pledge_data
from .conftest import submitted as go

WIDTHS = {"desktop": (1366, 768), "phone": (390, 844)}
ADJUDICATION = "patent_infringement_adjudication"


@pytest.fixture(params=list(WIDTHS))
def screen(request: pytest.FixtureRequest, driver: Any) -> Iterator[int]:
    """The browser's viewport for the test: 1366×768, then a 390×844 phone."""
    width, height = WIDTHS[request.param]
    viewport(driver, width, height)
    yield width
    viewport(driver)


def open_action(d: Any, trigger: str) -> None:
    summary = d.find_element(By.CSS_SELECTOR, f'summary[data-trigger="{trigger}"]')
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", summary)
    summary.click()


def fire(d: Any, trigger: str) -> None:
    button = d.find_element(By.CSS_SELECTOR, f'[data-trigger="{trigger}"]')
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    go(d, button.click)


def documents(d: Any) -> list[str]:
    return [li.get_attribute("data-document") for li in d.find_elements(By.CSS_SELECTOR, "#documents li[data-document]")]


def lines_of(d: Any, el: Any) -> int:
    """How many lines the element's text takes on screen."""
    return int(d.execute_script(
        "const r = document.createRange(); r.selectNodeContents(arguments[0]);"
        "const tops = new Set(); for (const x of r.getClientRects()) { if (x.width > 0) tops.add(Math.round(x.top)); }"
        "return tops.size;", el))


def inside_screen(d: Any, el: Any, width: int) -> bool:
    rect = d.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.left, r.right, r.width];", el)
    return rect[2] > 0 and rect[0] >= 0 and rect[1] <= width + 0.5


def timeline_entry(d: Any, kind: str) -> str:
    items = d.find_elements(By.CSS_SELECTOR, f'ol.timeline li[data-kind="{kind}"]')
    assert items, kind
    return str(d.execute_script("return arguments[0].textContent", items[-1]))


def test_a_clerks_day(driver: Any, stack: Stack, screen: int) -> None:
    engine = stack.engine
    # a red case on this clerk's worklist: an online pledge (2 working days) received three working
    # days ago and never handled (still inside its 5-working-day 一次性告知 period: at the window)
    day = engine.today()
    for _ in range(3):
        day -= timedelta(days=1)
        while not engine.calendar.is_workday(day):
            day -= timedelta(days=1)
    stack.clock.at = datetime.combine(day, time(10, 0), TZ)
    red = engine.open_case(PLEDGE, actor=stack.actor("zhang"),
                           data=pledge_data(pledgor=f"逾期测试{screen}有限公司", channel="online"))
    stack.clock.at = None
    engine.sweep()

    sign_in(driver, stack.url, "zhang", PASSWORD)
    go(driver, lambda: driver.get(stack.url + "/web/worklist"))
    # the header says what its 黄/红 count: this clerk's own worklist, as the summary counts it
    signals = driver.find_element(By.CSS_SELECTOR, ".signals")
    assert "我的待办" in signals.text and "黄·预警" in signals.text and "红·超期" in signals.text
    red_n = driver.find_element(By.CSS_SELECTOR, '.signals [data-live="hdr_red"]').text
    assert red_n == driver.find_element(By.CSS_SELECTOR, '.summary [data-live="red"]').text and int(red_n) >= 1
    # the worklist on this screen: the clock column in sight, numbers and days on one line
    row = driver.find_element(By.CSS_SELECTOR, f'tr[data-case="{red.id}"]')
    clock = row.find_element(By.CSS_SELECTOR, "td.c-clock")
    assert clock.is_displayed() and inside_screen(driver, clock, screen)
    assert "已超" in clock.text and lines_of(driver, clock) == 1
    for cell in ("td.c-number", "td.c-statutory", "td.c-commit"):
        el = row.find_element(By.CSS_SELECTOR, cell)
        assert el.is_displayed() and inside_screen(driver, el, screen) and lines_of(driver, el) == 1, cell
    assert driver.execute_script("return document.documentElement.scrollWidth") <= screen + 1  # no sideways scroll

    # a new pledge with an amount and several patents
    go(driver, lambda: driver.get(stack.url + f"/web/cases/new?item={PLEDGE}"))
    Select(driver.find_element(By.ID, "f_request_type")).select_by_visible_text("设立登记")
    Select(driver.find_element(By.ID, "f_channel")).select_by_visible_text("纸件提交")
    driver.find_element(By.ID, "f_pledgor").send_keys(f"武汉东湖光电子{screen}有限公司")
    driver.find_element(By.ID, "f_pledgee").send_keys("汉口银行光谷支行")
    driver.find_element(By.ID, "f_patent_numbers").send_keys(
        "ZL202410000002.X、ZL202410000003.5、ZL202410000004.7、ZL202410000005.9")
    driver.find_element(By.ID, "f_secured_amount").send_keys("5000000")
    submit = driver.find_element(By.CSS_SELECTOR, "form.case-form button[type=submit]")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", submit)
    go(driver, submit.click)
    assert "done=opened" in driver.current_url
    case_url = driver.current_url.split("?")[0]
    case_id = case_url.rsplit("/", 1)[1]
    # the amount as people write it; the case offers only what it can have now: the receipt
    assert "5,000,000元（500万元）" in driver.find_element(By.ID, "data").text
    assert documents(driver) == ["receipt"]
    bar = driver.find_element(By.CSS_SELECTOR, '[data-clock="handling"] .bar-text').text
    assert "法定 5 个工作日" in bar and "剩余 5 个工作日" in bar

    # the receipt: issued by Wuhan's own office, no input hint, dates whole on their lines
    go(driver, lambda: driver.get(f"{case_url}/receipt"))
    page = driver.find_element(By.TAG_NAME, "body").text
    assert "武汉市知识产权局" in page and "湖北省知识产权局" not in page
    assert "5,000,000元（500万元）" in page and "多件以逗号分隔" not in page
    dates = driver.find_elements(By.CSS_SELECTOR, "tr[data-clock] time")
    assert dates and all(lines_of(driver, t) == 1 for t in dates)
    # a decision before any decision: refused, in words
    go(driver, lambda: driver.get(f"{case_url}/documents/decision"))
    assert "现在不能出具决定书" in driver.find_element(By.TAG_NAME, "h1").text
    assert "准予质押登记" in driver.find_element(By.TAG_NAME, "main").text

    # accepted: the acceptance notice appears; the examiner's approval brings the decision
    go(driver, lambda: driver.get(case_url))
    fire(driver, "accept")
    assert documents(driver) == ["receipt", "acceptance_notice"]
    engine.fire(case_id, "approve", actor=stack.actor("wang"), data={"registration_number": "Y2024420000123"})
    go(driver, lambda: driver.get(case_url))
    assert documents(driver) == ["receipt", "acceptance_notice", "decision"]
    go(driver, lambda: driver.get(f"{case_url}/documents/decision"))
    decision = driver.find_element(By.TAG_NAME, "body").text
    assert "准予质押登记" in decision and "武汉市知识产权局" in decision and "已接收" not in decision

    # a withdrawal closes the case: it asks for a confirmation and a reason on the page
    other = engine.open_case(PLEDGE, actor=stack.actor("zhang"), data=pledge_data(pledgor=f"撤回测试{screen}有限公司"))
    go(driver, lambda: driver.get(f"{stack.url}/web/cases/{other.id}"))
    open_action(driver, "withdraw")
    form = driver.find_element(By.CSS_SELECTOR, 'form[action$="/fire/withdraw"]')
    box = form.find_element(By.CSS_SELECTOR, "[data-final-confirm]")
    reason = form.find_element(By.NAME, "f_reason")
    assert box.get_attribute("required") is not None and reason.get_attribute("required") is not None
    assert "办结" in form.text
    # sent without them (the browser's own checks taken away): refused in place, nothing changes
    driver.execute_script("arguments[0].removeAttribute('required'); arguments[1].removeAttribute('required')",
                          box, reason)
    go(driver, form.find_element(By.CSS_SELECTOR, '[data-confirm="withdraw"]').click)
    err = driver.find_element(By.CSS_SELECTOR, '[data-error="withdraw"]').text
    assert "请勾选确认" in err and "理由：必填" in err
    assert engine.get_case(other.id).state == "received"
    form = driver.find_element(By.CSS_SELECTOR, 'form[action$="/fire/withdraw"]')
    form.find_element(By.NAME, "f_reason").send_keys("申请人书面申请撤回")
    box = form.find_element(By.CSS_SELECTOR, "[data-final-confirm]")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)
    box.click()
    go(driver, form.find_element(By.CSS_SELECTOR, '[data-confirm="withdraw"]').click)
    assert engine.get_case(other.id).state == "withdrawn"
    entry = timeline_entry(driver, "transition")
    assert "申请人撤回" in entry and "申请人书面申请撤回" in entry and "张伟（zhang）" in entry
    assert "不予登记理由" not in driver.find_element(By.TAG_NAME, "main").text
    assert "decision" not in documents(driver)  # a withdrawal decides nothing

    # a three-month limit reads as months, with never more time left than the limit
    adj = engine.open_case(ADJUDICATION, actor=stack.actor("zhang"), data={
        "requester": f"请求人{screen}公司", "respondent": "被请求人公司", "respondent_domicile": "domestic",
        "patent_number": "ZL201910000001.X", "patent_type": "invention", "claims": "停止侵权"})
    adj = engine.fire(adj.id, "file_case", actor=stack.actor("wang"), data={"panel": "王芳、赵强、孙丽"})
    go(driver, lambda: driver.get(f"{stack.url}/web/cases/{adj.id}"))
    bar = driver.find_element(By.CSS_SELECTOR, '[data-clock="handling"] .bar-text').text
    assert "法定 3个月" in bar
    left = int(bar.split("剩余")[1].split("日")[0])
    assert left <= adj.clocks["handling"].statutory_units
    status = driver.find_element(By.CSS_SELECTOR, '[data-live-clock="handling"]')
    assert lines_of(driver, status) == 1


def test_a_supervisors_day(driver: Any, stack: Stack, screen: int) -> None:
    engine = stack.engine
    stack.clock.at = engine.now() - timedelta(days=21)
    engine.open_case(PLEDGE, actor=stack.actor("zhang"), data=pledge_data(pledgor=f"主管逾期{screen}有限公司"))
    stack.clock.at = None
    case = engine.open_case(PLEDGE, actor=stack.actor("zhang"), data=pledge_data(pledgor=f"主管测试{screen}有限公司"))
    engine.fire(case.id, "accept", actor=stack.actor("zhang"))
    gone = engine.open_case(PLEDGE, actor=stack.actor("zhang"), data=pledge_data(pledgor=f"撤回统计{screen}有限公司"))
    engine.fire(gone.id, "withdraw", actor=stack.actor("zhang"), data={"reason": "申请人撤回"})
    engine.sweep()

    sign_in(driver, stack.url, "li", PASSWORD)
    assert "/web/board" in driver.current_url
    # the header's 黄/红 count what the board counts, for the same scope, and say so
    signals = driver.find_element(By.CSS_SELECTOR, ".signals")
    assert "武汉市（含下级）未办结" in signals.text
    assert "与预警看板的口径相同" in signals.get_attribute("title")
    total = {k: int(driver.find_element(By.CSS_SELECTOR, f'[data-live-total="{k}"]').text)
             for k in ("warning", "overdue", "over_statutory", "deemed_accepted")}
    assert int(driver.find_element(By.CSS_SELECTOR, '[data-live="hdr_warning"]').text) == total["warning"]
    assert int(driver.find_element(By.CSS_SELECTOR, '[data-live="hdr_red"]').text) == (
        total["overdue"] + total["over_statutory"] + total["deemed_accepted"])  # 视为受理 is red too
    assert total["overdue"] + total["over_statutory"] >= 1

    # reassign with a reason, then undo the acceptance: each in its own words in the history
    case_url = f"{stack.url}/web/cases/{case.id}"
    go(driver, lambda: driver.get(case_url))
    Select(driver.find_element(By.ID, "assignee")).select_by_value("zhang")
    driver.find_element(By.ID, "assign-reason").send_keys("按片区分案")
    button = driver.find_element(By.CSS_SELECTOR, 'form[action$="/assign"] button')
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    go(driver, button.click)
    entry = timeline_entry(driver, "assigned")
    assert "原承办人未指定" in entry.replace(" ", "") and "新承办人张伟（zhang）" in entry.replace(" ", "")
    assert "说明按片区分案" in entry.replace(" ", "") and "李娜（li）" in entry and "不予登记理由" not in entry
    driver.find_element(By.ID, "correct-reason").send_keys("受理前材料未核对")
    button = driver.find_element(By.CSS_SELECTOR, 'form[action$="/correct"] button')
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    go(driver, button.click)
    entry = timeline_entry(driver, "corrected").replace(" ", "")
    assert "撤销的步骤受理（" in entry and "张伟（zhang）" in entry and "受理前材料未核对" in entry
    assert "撤销记录" not in entry

    # the month's report: the running month says 截至, withdrawn cases counted as withdrawn
    go(driver, lambda: driver.get(stack.url + "/web/reports"))
    note = driver.find_element(By.CSS_SELECTOR, "[data-as-of]").text
    assert note.startswith("截至") and "本月尚未结束" in note
    heads = [th.text for th in driver.find_elements(By.CSS_SELECTOR, "table.report:not(.figures) thead th")]
    assert "其中撤回" in heads and "期末超期未结" in heads
    # the downloads: the first row is the header, the same columns as last month's
    cookie = driver.get_cookie("cc_session")["value"]
    today = engine.today()
    last = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    with httpx.Client(base_url=stack.url, cookies={"cc_session": cookie}) as http:
        got = {}
        for month in (today.strftime("%Y-%m"), last):
            r = http.get("/web/reports/monthly.csv", params={"month": month})
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
            got[month] = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    this, before = got[today.strftime("%Y-%m")], got[last]
    assert this[0] == before[0] and this[0][0] == "统计月份" and "撤回数" in this[0]
    assert not any("截至" in cell for row in this for cell in row)
    wuhan = dict(zip(this[0], next(r for r in this[1:] if r[1] == "420100" and r[4] == "*"), strict=True))
    assert int(wuhan["撤回数"]) >= 1

    # on this screen the worklist's clock column stays in sight
    go(driver, lambda: driver.get(stack.url + "/web/worklist"))
    assert driver.execute_script("return document.documentElement.scrollWidth") <= screen + 1
