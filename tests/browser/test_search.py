"""案件查询 in a real browser (issue 16): a Wuhan clerk types a company's name or part of a number,
finds open and closed cases beyond the first page, pages to the end with the filters kept, and
never sees a Yichang case."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from api.web.screenshots import sign_in

from .conftest import PASSWORD, PLEDGE, Stack, pledge_data, submitted


def listed(d: Any) -> list[str]:
    return [a.text for a in d.find_elements(By.CSS_SELECTOR, "table.cases tbody td:nth-child(2) a")]


def search(d: Any, text: str) -> None:
    box = d.find_element(By.ID, "q")
    box.clear()
    submitted(d, lambda: box.send_keys(text, Keys.ENTER))
    assert d.find_element(By.ID, "q").get_attribute("value") == text


def test_a_clerk_finds_any_case(driver: Any, stack: Stack) -> None:
    engine, clock = stack.engine, stack.clock
    clock.at = engine.now() - timedelta(days=5)
    made = []
    for i in range(60):
        clock.at += timedelta(minutes=1)
        made.append(engine.open_case(PLEDGE, actor=stack.actor("zhang"),
                                     data=pledge_data(pledgor=f"武汉长江第{i:02d}精工有限公司")))
    engine.fire(made[2].id, "withdraw", actor=stack.actor("zhang"))
    clock.at = None
    sign_in(driver, stack.url, "zhang", PASSWORD)
    submitted(driver, driver.find_element(By.LINK_TEXT, "案件查询").click)

    # a company's name: 60 cases, two pages, the closed one among them
    search(driver, "长江第")
    first = listed(driver)
    assert len(first) == 50 and first[:3] == [m.number for m in made[:3]]
    submitted(driver, driver.find_element(By.CSS_SELECTOR, "a[rel=next]").click)
    assert "第 2 页" in driver.find_element(By.CSS_SELECTOR, "table.cases caption").text
    assert listed(driver) == [m.number for m in made[50:]]
    assert driver.find_element(By.ID, "q").get_attribute("value") == "长江第"
    assert "已到最后一页" in driver.find_element(By.CSS_SELECTOR, ".pager").text

    # part of a number (its end), then the closed case only when asked for closed ones
    search(driver, made[57].number[-5:])
    assert made[57].number in listed(driver)
    search(driver, "长江第02精工")
    assert listed(driver) == [made[2].number]
    Select(driver.find_element(By.ID, "state")).select_by_value("open")
    submitted(driver, driver.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click)
    assert "没有案件" in driver.find_element(By.CSS_SELECTOR, "table.cases").text

    # Yichang's case: not by its number, not by its company
    yichang = stack.cases["yichang"]
    Select(driver.find_element(By.ID, "state")).select_by_value("all")
    for text in (yichang.number, "宜昌三峡新材料"):
        search(driver, text)
        assert listed(driver) == []
