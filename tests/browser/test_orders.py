"""督办 in the browser (issue 18 part 6): a Wuhan supervisor issues an order on the case page (事由,
要求, 答复期限); the clerk sees the mark on the worklist and the order on the case, and replies; the
supervisor sees it answered on the case page and no longer waiting on the board."""

from __future__ import annotations

from typing import Any

from selenium.webdriver.common.by import By

from api.web.screenshots import sign_in

from .conftest import PASSWORD, PLEDGE, Stack, pledge_data, submitted


def _board_orders(driver: Any) -> tuple[int, int]:
    return (int(driver.find_element(By.CSS_SELECTOR, "[data-orders-open]").text),
            int(driver.find_element(By.CSS_SELECTOR, "[data-orders-overdue]").text))


def test_supervisor_orders_clerk_replies_supervisor_sees_answered(driver: Any, stack: Stack) -> None:
    case = stack.engine.open_case(PLEDGE, actor=stack.actor("zhang"), data=pledge_data(pledgor="督办测试有限公司"))
    sign_in(driver, stack.url, "li", PASSWORD)
    waiting_before = _board_orders(driver)[0]
    driver.get(f"{stack.url}/web/cases/{case.id}")
    driver.find_element(By.CSS_SELECTOR, "#orders details.order-new summary").click()
    driver.find_element(By.ID, "order-reason").send_keys("申请人反映材料已齐但未受理")
    driver.find_element(By.ID, "order-action").send_keys("当日核实并受理，书面说明原因")
    days = driver.find_element(By.ID, "order-days")
    days.clear()
    days.send_keys("2")
    submitted(driver, lambda: driver.find_element(By.CSS_SELECTOR, "[data-order-submit]").click())
    assert "督办已发出" in driver.page_source
    (order,) = stack.engine.case_orders(case.id)
    block = driver.find_element(By.CSS_SELECTOR, f'[data-order="{order.id}"]')
    assert "待答复" in block.text and "申请人反映材料已齐但未受理" in block.text
    assert f"2 个工作日，至 {order.due.isoformat()}" in block.text
    assert not block.find_elements(By.CSS_SELECTOR, "form.order-reply")  # a supervisor does not reply
    assert "督办" in driver.find_element(By.CSS_SELECTOR, "ol.timeline").text
    driver.get(stack.url + "/web/board")
    assert _board_orders(driver)[0] == waiting_before + 1

    driver.delete_all_cookies()
    sign_in(driver, stack.url, "zhang", PASSWORD)
    driver.get(stack.url + "/web/worklist")
    mark = driver.find_element(By.CSS_SELECTOR, f'[data-ordered="{case.id}"]')
    assert mark.text == "督办"
    submitted(driver, mark.click)
    block = driver.find_element(By.CSS_SELECTOR, f'[data-order="{order.id}"]')
    assert "当日核实并受理" in block.text
    assert not driver.find_elements(By.CSS_SELECTOR, "#orders details.order-new")  # a clerk does not issue
    block.find_element(By.NAME, "text").send_keys("已核实：材料齐全，今日受理")
    submitted(driver, lambda: block.find_element(By.CSS_SELECTOR, f'[data-reply="{order.id}"]').click())
    assert "督办已答复" in driver.page_source
    driver.get(stack.url + "/web/worklist")
    assert not driver.find_elements(By.CSS_SELECTOR, f'[data-ordered="{case.id}"]')

    driver.delete_all_cookies()
    sign_in(driver, stack.url, "li", PASSWORD)
    assert _board_orders(driver)[0] == waiting_before
    driver.get(f"{stack.url}/web/cases/{case.id}")
    block = driver.find_element(By.CSS_SELECTOR, f'[data-order="{order.id}"]')
    assert block.get_attribute("data-order-status") == "answered"
    assert "已答复" in block.text and "已核实：材料齐全，今日受理" in block.text and "张伟" in block.text
    assert "督办答复" in driver.find_element(By.CSS_SELECTOR, "ol.timeline").text


def test_a_refused_order_keeps_what_was_typed(driver: Any, stack: Stack) -> None:
    case = stack.engine.open_case(PLEDGE, actor=stack.actor("zhang"), data=pledge_data())
    sign_in(driver, stack.url, "li", PASSWORD)
    driver.get(f"{stack.url}/web/cases/{case.id}")
    driver.find_element(By.CSS_SELECTOR, "#orders details.order-new summary").click()
    driver.find_element(By.ID, "order-reason").send_keys("事由")
    driver.find_element(By.ID, "order-action").send_keys("   ")  # blank: the browser lets it through
    submitted(driver, lambda: driver.find_element(By.CSS_SELECTOR, "[data-order-submit]").click())
    error = driver.find_element(By.CSS_SELECTOR, "#orders .error").text
    assert "要求" in error and "必填" in error
    assert driver.find_element(By.ID, "order-reason").get_attribute("value") == "事由"
    assert stack.engine.case_orders(case.id) == []


def test_a_long_unbroken_reason_wraps_on_a_phone(driver: Any, stack: Stack) -> None:
    """A reason or action with no break opportunity (a link, a long code) wraps inside the order
    instead of widening the whole case page (390 px: no sideways scrolling)."""
    case = stack.engine.open_case(PLEDGE, actor=stack.actor("zhang"), data=pledge_data())
    stack.engine.issue_order(case.id, actor=stack.actor("li"), reason="见 https://example.org/" + "x" * 300,
                             action="ABCDEFGHIJ" * 40, reply_days=3)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
    try:
        sign_in(driver, stack.url, "zhang", PASSWORD)
        driver.get(f"{stack.url}/web/cases/{case.id}")
        driver.find_element(By.CSS_SELECTOR, "#orders [data-order-reason]")
        width = driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390, f"the case page is {width}px wide"
    finally:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": 1366, "height": 768, "deviceScaleFactor": 1, "mobile": False})
