"""Long values with no break (patent numbers joined by commas without spaces, as the form's
专利号（多件以逗号分隔） invites; a long company name) wrap inside their cell on the case page and the
printed receipt: no sideways scrolling on a 390-px phone, label columns keep their width, the
clock bars stay in sight (QA D3: 40 numbers made the case page 5,000 px wide and the receipt's
labels one character wide, 登/记/类/型)."""

from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver.common.by import By

from api.web.screenshots import sign_in, viewport

from .conftest import PASSWORD, PLEDGE, Stack, pledge_data

NUMBERS = ",".join(f"ZL2023100000{i:02d}.X" for i in range(40))
NAME = "武汉" + "光谷智能装备" * 30 + "有限公司"  # ~190 characters


@pytest.fixture
def long_case(stack: Stack) -> Any:
    return stack.engine.open_case(PLEDGE, actor=stack.actor("zhang"), data=pledge_data(
        patent_numbers=NUMBERS, pledgor=NAME, secured_amount=123456789.5))


def widths(driver: Any) -> dict[str, Any]:
    return driver.execute_script("""
        const labels = [...document.querySelectorAll('th[scope=row]')].map(e => e.getBoundingClientRect().width);
        const clocks = [...document.querySelectorAll('.clock')].map(e => e.getBoundingClientRect().right);
        return {page: document.documentElement.scrollWidth, labels: labels, clocks: clocks,
                view: window.innerWidth};""")


@pytest.mark.parametrize("width", [390, 1366])
def test_long_values_wrap_on_the_case_page_and_the_receipt(driver: Any, stack: Stack, long_case: Any,
                                                          width: int) -> None:
    viewport(driver, width, 844 if width < 600 else 768)
    try:
        sign_in(driver, stack.url, "zhang", PASSWORD)
        driver.get(f"{stack.url}/web/cases/{long_case.id}")
        driver.find_element(By.ID, "data")
        w = widths(driver)
        assert w["page"] <= width, f"the case page is {w['page']}px wide at {width}"
        assert w["clocks"] and max(w["clocks"]) <= width, w  # the clock bars in sight
        assert min(w["labels"]) >= 48, w  # 出质人, 专利号: never one character a line
        text = driver.find_element(By.ID, "data").text
        assert "ZL202310000039.X" in text and "ZL202310000000.X" in text  # the value whole

        driver.get(f"{stack.url}/web/cases/{long_case.id}/receipt")
        w = widths(driver)
        assert w["page"] <= width, f"the receipt is {w['page']}px wide at {width}"
        assert min(w["labels"]) >= (48 if width < 600 else 150), w  # 登记类型 on one line at 1366
        body = driver.find_element(By.TAG_NAME, "body").text
        assert "登记类型" in body and "出质人" in body
    finally:
        viewport(driver, 1366, 768)
