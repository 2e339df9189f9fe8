"""A Wuhan supervisor finds a red case on the board and in the breach list; a Wuhan clerk's pages
never show a Yichang case; forged CSRF tokens are refused (403)."""

from __future__ import annotations

from typing import Any

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from api.web.screenshots import sign_in, wait_for

from .conftest import PASSWORD, PLEDGE, Stack


def test_red_case_on_the_board_and_in_the_breach_list(driver: Any, stack: Stack) -> None:
    red = stack.cases["red"]
    sign_in(driver, stack.url, "li", PASSWORD)
    assert "/web/board" in driver.current_url  # a supervisor's home is the board
    cell = driver.find_element(By.CSS_SELECTOR, f'td[data-cell="420100|{PLEDGE}"]')
    assert cell.get_attribute("data-level") in ("overdue", "over_statutory")
    assert "cell-red" in cell.get_attribute("class") or "cell-darkred" in cell.get_attribute("class")
    # Yichang is not under Wuhan: its cell is not on a Wuhan supervisor's board
    assert not driver.find_elements(By.CSS_SELECTOR, 'td[data-cell^="420500|"]')

    cell.find_element(By.TAG_NAME, "a").click()  # the cell opens the cases behind it
    wait_for(driver, lambda d: "/web/cases?" in d.current_url)
    assert red.number in driver.find_element(By.CSS_SELECTOR, "table.cases").text

    driver.find_element(By.LINK_TEXT, "超期清单").click()
    table = driver.find_element(By.CSS_SELECTOR, "table.cases").text
    assert red.number in table and stack.cases["yichang"].number not in table
    Select(driver.find_element(By.ID, "level")).select_by_value("over_statutory")
    Select(driver.find_element(By.ID, "item")).select_by_value(PLEDGE)
    driver.find_element(By.CSS_SELECTOR, "form.filters button").click()
    wait_for(driver, lambda d: "level=over_statutory" in d.current_url)
    row = driver.find_element(By.XPATH, f'//tr[td/a[text()="{red.number}"]]')
    assert "超法定时限" in row.text and "已超" in row.text
    row.find_element(By.TAG_NAME, "a").click()
    assert "超法定时限" in driver.find_element(By.CSS_SELECTOR, "h1 .badge").text
    timeline = driver.find_element(By.CSS_SELECTOR, "ol.timeline").text
    assert "黄色预警" in timeline and "超承诺时限" in timeline and "超法定时限" in timeline
    # the supervisor's operations are on the case page
    assert driver.find_element(By.ID, "supervise").is_displayed()


def test_wuhan_clerk_never_sees_a_yichang_case(driver: Any, stack: Stack) -> None:
    yichang = stack.cases["yichang"]
    sign_in(driver, stack.url, "zhang", PASSWORD)
    for path in ("/web/worklist", "/web/cases", "/web/cases?state=all", "/web/cases?org=420500&state=all"):
        driver.get(stack.url + path)
        assert yichang.number not in driver.page_source
        assert "宜昌三峡" not in driver.page_source
    driver.get(f"{stack.url}/web/cases/{yichang.id}")
    assert "找不到案件" in driver.find_element(By.TAG_NAME, "h1").text
    assert yichang.number not in driver.page_source
    driver.get(f"{stack.url}/web/cases/{yichang.id}/receipt")
    assert yichang.number not in driver.page_source
    driver.get(f"{stack.url}/web/live.json?view=case&id={yichang.id}")
    assert '"case":null' in driver.page_source.replace(" ", "")
    driver.get(stack.url + "/web/board")
    assert "没有权限" in driver.find_element(By.TAG_NAME, "h1").text  # the board is for supervisors


def test_forged_csrf_tokens_are_refused(driver: Any, stack: Stack) -> None:
    case = stack.engine.open_case(PLEDGE, actor=stack.actor("zhang"),
                                  data={"request_type": "registration", "channel": "online", "pledgor": "甲",
                                        "pledgee": "乙", "patent_numbers": "ZL3"})
    sign_in(driver, stack.url, "zhang", PASSWORD)
    driver.get(f"{stack.url}/web/cases/{case.id}")
    form = driver.find_element(By.CSS_SELECTOR, 'form[action$="/fire/accept"]')
    driver.execute_script("arguments[0].querySelector('[name=csrf]').value = 'forged-token'", form)
    form.find_element(By.CSS_SELECTOR, "button").click()
    wait_for(driver, lambda d: "表单无效" in d.find_element(By.TAG_NAME, "h1").text)
    assert stack.engine.get_case(case.id).state == "received"  # nothing happened

    # the same over plain HTTP with the browser's own session cookie: 403 for a forged token,
    # for a missing one, and for another session's token; the right one works
    cookie = driver.get_cookie("cc_session")["value"]
    with httpx.Client(base_url=stack.url, cookies={"cc_session": cookie}) as http:
        page = http.get(f"/web/cases/{case.id}").text
        token = page.split('name="csrf" value="')[1].split('"')[0]
        url = f"/web/cases/{case.id}/fire/accept"
        assert http.post(url, data={"csrf": "forged", "version": "1"}).status_code == 403
        assert http.post(url, data={"version": "1"}).status_code == 403
        assert http.post(f"/web/cases/{case.id}/correct", data={"csrf": token[:-2] + "xx", "reason": "x"}).status_code == 403
        assert http.post("/web/logout", data={"csrf": "forged"}).status_code == 403
        assert stack.engine.get_case(case.id).state == "received"
        done = http.post(url, data={"csrf": token, "version": "1"}, follow_redirects=False)
        assert done.status_code == 303
        assert stack.engine.get_case(case.id).state == "under_review"
    # sign-in itself carries a token bound to a pre-session cookie
    with httpx.Client(base_url=stack.url) as anon:
        assert anon.post("/web/login", data={"user": "zhang", "password": PASSWORD, "csrf": "x"}).status_code == 403


def test_session_cookie_is_httponly_and_lax(driver: Any, stack: Stack) -> None:
    sign_in(driver, stack.url, "zhang", PASSWORD)
    c = driver.get_cookie("cc_session")
    assert c["httpOnly"] is True and c["sameSite"] == "Lax"
    assert driver.execute_script("return document.cookie").find("cc_session") == -1
    driver.find_element(By.CSS_SELECTOR, ".who form button").click()  # sign out
    wait_for(driver, lambda d: "/web/login" in d.current_url)
    driver.get(stack.url + "/web/worklist")
    assert "/web/login" in driver.current_url
