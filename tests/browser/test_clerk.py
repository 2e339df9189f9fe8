"""A Wuhan window clerk in a real browser: sign in by keyboard, open a case, advance it through a
pause (补正) and back, and watch its clock change; refused actions are explained in place."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from api.web.screenshots import sign_in, viewport, wait_for

from .conftest import PASSWORD, PLEDGE, Stack
from .test_day import inside_screen, lines_of


def clock_status(d: Any, name: str = "handling") -> str:
    return d.find_element(By.CSS_SELECTOR, f'[data-clock="{name}"]').get_attribute("data-status")


def state(d: Any) -> str:
    return d.find_element(By.CSS_SELECTOR, "[data-state]").get_attribute("data-state")


def fire(d: Any, trigger: str) -> None:
    before = d.find_element(By.TAG_NAME, "body").get_attribute("data-version")
    d.find_element(By.CSS_SELECTOR, f'[data-trigger="{trigger}"]').click()
    wait_for(d, lambda x: x.find_element(By.TAG_NAME, "body").get_attribute("data-version") != before)


def test_sign_in_with_the_keyboard_only(driver: Any, stack: Stack) -> None:
    driver.get(stack.url + "/web/worklist")
    assert "/web/login" in driver.current_url  # not signed in: sent to the sign-in page
    user = driver.switch_to.active_element  # the user box has autofocus
    assert user.get_attribute("id") == "user"
    user.send_keys("zhang", Keys.TAB)
    driver.switch_to.active_element.send_keys(PASSWORD, Keys.ENTER)
    wait_for(driver, lambda d: "/web/worklist" in d.current_url
             and "我的待办" in d.find_element(By.TAG_NAME, "h1").text)  # the new page, not the old one
    # the first Tab reaches the skip link, which is visible when focused
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    assert driver.switch_to.active_element.get_attribute("class") == "skip"


def test_wrong_password_is_refused(driver: Any, stack: Stack) -> None:
    driver.get(stack.url + "/web/login")
    driver.find_element(By.ID, "user").send_keys("zhang")
    driver.find_element(By.ID, "password").send_keys("not-the-password", Keys.ENTER)
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".error"))
    assert "用户名或密码不正确" in driver.find_element(By.CSS_SELECTOR, ".error").text
    assert not driver.get_cookie("cc_session")


def test_open_a_case_pause_it_and_resume_it(driver: Any, stack: Stack) -> None:
    sign_in(driver, stack.url, "zhang", PASSWORD)
    driver.find_element(By.LINK_TEXT, "立案").click()
    driver.find_element(By.LINK_TEXT, "专利权质押登记").click()
    Select(driver.find_element(By.ID, "f_request_type")).select_by_visible_text("设立登记")
    Select(driver.find_element(By.ID, "f_channel")).select_by_visible_text("纸件提交")
    driver.find_element(By.ID, "f_pledgor").send_keys("武汉东湖光电子有限公司")
    driver.find_element(By.ID, "f_pledgee").send_keys("汉口银行光谷支行")
    driver.find_element(By.ID, "f_patent_numbers").send_keys("ZL202410000002.X")
    driver.find_element(By.CSS_SELECTOR, "form.case-form button[type=submit]").click()
    wait_for(driver, lambda d: "done=opened" in d.current_url)
    flash = driver.find_element(By.CSS_SELECTOR, ".flash").text
    assert "已收件" in flash and "立案" not in flash  # a window item is received, not 立案
    number = driver.find_element(By.TAG_NAME, "h1").text.split()[0]
    assert number.startswith("ZYDJ-420100-")
    assert state(driver) == "received"
    assert clock_status(driver) == "running"
    bar_text = driver.find_element(By.CSS_SELECTOR, '[data-clock="handling"] .bar-text').text
    assert "法定 5 个工作日" in bar_text and "剩余" in bar_text
    assert not driver.find_elements(By.CSS_SELECTOR, ".span-paused")

    fire(driver, "accept")
    assert state(driver) == "under_review"

    # 通知补正 needs 补正内容: submitted empty (the browser's own check taken away), the engine's
    # refusal is shown beside the form and nothing changes
    driver.find_element(By.CSS_SELECTOR, '[data-trigger="request_supplement"]').click()
    box = driver.find_element(By.ID, "request_supplement-f_supplement_items")
    driver.execute_script("arguments[0].removeAttribute('required')", box)
    driver.find_element(By.CSS_SELECTOR, '[data-confirm="request_supplement"]').click()
    error = wait_for(driver, lambda d: d.find_element(By.CSS_SELECTOR, '[data-error="request_supplement"]'))
    assert "一次性告知的补正内容：必填" in error.text
    assert state(driver) == "under_review" and clock_status(driver) == "running"

    box = driver.find_element(By.ID, "request_supplement-f_supplement_items")
    box.send_keys("请补交质押合同原件")
    before = driver.find_element(By.TAG_NAME, "body").get_attribute("data-version")
    driver.find_element(By.CSS_SELECTOR, '[data-confirm="request_supplement"]').click()
    wait_for(driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-version") != before)
    assert state(driver) == "awaiting_supplement"
    assert clock_status(driver) == "paused"  # 补正 is not counted: the clock stops
    assert "已暂停" in driver.find_element(By.CSS_SELECTOR, '[data-clock="handling"] .status').text
    spans = driver.find_elements(By.CSS_SELECTOR, ".span-paused")
    assert len(spans) == 1 and "仍在暂停" in spans[0].text

    fire(driver, "resubmit")
    assert state(driver) == "under_review"
    assert clock_status(driver) == "running"  # and counts again
    spans = driver.find_elements(By.CSS_SELECTOR, ".span-paused")
    assert len(spans) == 1 and "仍在暂停" not in spans[0].text and "不计入时限" in spans[0].text
    timeline = driver.find_element(By.CSS_SELECTOR, "ol.timeline").text
    for step in ("收件", "受理", "通知补正", "提交补正材料", "请补交质押合同原件"):
        assert step in timeline

    # the examiner's decision is not the clerk's: listed, with who may take it
    assert not driver.find_elements(By.CSS_SELECTOR, '[data-trigger="approve"]')
    assert "准予质押登记（需要审查员办理）" in driver.find_element(By.CSS_SELECTOR, ".others").text

    # now the examiner's: off the clerk's worklist, in the case list with its days left as the
    # law counts them
    driver.get(stack.url + "/web/worklist")
    assert number not in driver.find_element(By.CSS_SELECTOR, "table.cases").text
    driver.find_element(By.LINK_TEXT, "案件查询").click()
    row = driver.find_element(By.XPATH, f'//tr[td/a[text()="{number}"]]')
    assert "办理时限：剩余" in row.text and "个工作日" in row.text


def test_receipt_prints_from_the_case_page(driver: Any, stack: Stack) -> None:
    sign_in(driver, stack.url, "zhang", PASSWORD)
    case = stack.engine.open_case(PLEDGE, actor=stack.actor("zhang"),
                                  data={"request_type": "registration", "channel": "online", "pledgor": "甲",
                                        "pledgee": "乙", "patent_numbers": "ZL1"})
    driver.get(f"{stack.url}/web/cases/{case.id}/receipt")
    assert "受理回执" in driver.page_source and case.number in driver.page_source


def test_counts_update_without_reload(driver: Any, stack: Stack) -> None:
    sign_in(driver, stack.url, "zhang", PASSWORD)
    driver.get(stack.url + "/web/worklist")
    count = driver.find_element(By.CSS_SELECTOR, 'nav [data-live="worklist"]')
    before = int(count.text)
    driver.execute_script("document.body.setAttribute('data-marker', 'same page')")
    stack.engine.open_case(PLEDGE, actor=stack.actor("zhang"),
                           data={"request_type": "change", "channel": "online", "pledgor": "丙",
                                 "pledgee": "丁", "patent_numbers": "ZL2"})
    driver.execute_script("window.caseclockPoll()")
    wait_for(driver, lambda d: d.find_element(By.CSS_SELECTOR, 'nav [data-live="worklist"]').text == str(before + 1))
    assert driver.find_element(By.TAG_NAME, "body").get_attribute("data-marker") == "same page"  # no reload
    assert driver.find_element(By.CSS_SELECTOR, "[data-live-stale]").is_displayed()


@pytest.fixture(params=["default", "phone"])
def screen(request: pytest.FixtureRequest, driver: Any) -> Iterator[int | None]:
    """The browser's width for the test: its default, then a 390×844 phone (None: the default)."""
    if request.param == "default":
        yield None
        return
    viewport(driver, 390, 844)
    yield 390
    viewport(driver)


def on_screen(d: Any, el: Any, width: int | None) -> None:
    """``el`` is shown, and on a phone wholly inside the screen's width."""
    assert el.is_displayed(), el.get_attribute("outerHTML")[:120]
    if width is not None:
        assert inside_screen(d, el, width), el.get_attribute("outerHTML")[:120]


def test_accepting_a_blank_pledge_asks_for_what_the_law_needs(driver: Any, stack: Stack, screen: int | None) -> None:
    """Issue 16: receiving may be incomplete, accepting may not. The opening form leaves the
    channel (which sets the limit) to be chosen; the accept form marks what accepting needs
    (*必填); a refusal — the browser's own check taken away, as a hand-made post would — comes back
    beside the field with what was typed kept, and the case has not moved. At the default width
    and on a 390-px phone: there every field, its *必填 and its refusal are in sight without
    scrolling sideways, and the worklist's clock column keeps its numbers on one line."""
    sign_in(driver, stack.url, "zhang", PASSWORD)
    driver.find_element(By.LINK_TEXT, "立案").click()
    driver.find_element(By.LINK_TEXT, "专利权质押登记").click()
    channel = Select(driver.find_element(By.ID, "f_channel"))
    assert channel.first_selected_option.get_attribute("value") == ""  # never preselected
    assert channel.first_selected_option.text == "请选择"
    no_sideways_scroll(driver, screen)
    submit = driver.find_element(By.CSS_SELECTOR, "form.case-form button[type=submit]")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", submit)
    submit.click()
    wait_for(driver, lambda d: "done=opened" in d.current_url)
    assert state(driver) == "received"  # a blank form is received (收件)
    case_id = driver.current_url.split("/web/cases/")[1].split("?")[0]

    summary = driver.find_element(By.CSS_SELECTOR, 'summary[data-trigger="accept"]')
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", summary)
    summary.click()
    form = driver.find_element(By.CSS_SELECTOR, 'form[action$="/fire/accept"]')
    if screen is not None:
        on_screen(driver, form, screen)
    for name in ("pledgor", "pledgee", "patent_numbers", "channel"):
        box = form.find_element(By.ID, f"accept-f_{name}")
        assert box.get_attribute("required") is not None, name
        label = form.find_element(By.CSS_SELECTOR, f'label[for="accept-f_{name}"]')
        assert "*必填" in label.text, (name, label.text)
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)
        on_screen(driver, box, screen)
        on_screen(driver, label, screen)
    no_sideways_scroll(driver, screen)
    form.find_element(By.ID, "accept-f_pledgor").send_keys("武汉东湖光电子有限公司")
    driver.execute_script("arguments[0].querySelectorAll('[required]').forEach(e => e.removeAttribute('required'))",
                          form)
    before = driver.find_element(By.TAG_NAME, "body").get_attribute("data-version")
    button = form.find_element(By.CSS_SELECTOR, "button[type=submit]")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    button.click()
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-field-error="pledgee"]'))
    for name in ("pledgee", "patent_numbers", "channel"):
        error = driver.find_element(By.CSS_SELECTOR, f'[data-field-error="{name}"]')
        assert error.text, name
        box = driver.find_element(By.ID, f"accept-f_{name}")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)
        on_screen(driver, error, screen)
        # beside its field: in the field's own block, right under it, not at the top of the page
        assert driver.execute_script("return arguments[0].parentElement === arguments[1].parentElement",
                                     error, box), name
        gap = driver.execute_script("return arguments[0].getBoundingClientRect().top"
                                    " - arguments[1].getBoundingClientRect().bottom", error, box)
        assert -1 <= gap <= 40, (name, gap)
    no_sideways_scroll(driver, screen)
    assert not driver.find_elements(By.CSS_SELECTOR, '[data-field-error="pledgor"]')
    assert driver.find_element(By.ID, "accept-f_pledgor").get_attribute("value") == "武汉东湖光电子有限公司"
    assert state(driver) == "received"
    assert driver.find_element(By.TAG_NAME, "body").get_attribute("data-version") == before

    driver.find_element(By.ID, "accept-f_pledgee").send_keys("汉口银行光谷支行")
    driver.find_element(By.ID, "accept-f_patent_numbers").send_keys("ZL202410000002.X")
    Select(driver.find_element(By.ID, "accept-f_channel")).select_by_visible_text("纸件提交")
    confirm = driver.find_element(By.CSS_SELECTOR, 'button[data-confirm="accept"]')
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", confirm)
    confirm.click()
    wait_for(driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-version") != before)
    assert state(driver) == "under_review"

    # the examiner's worklist on this screen: the accepted case's clock column in sight, its
    # numbers on one line
    driver.delete_all_cookies()
    sign_in(driver, stack.url, "wang", PASSWORD)
    driver.get(stack.url + "/web/worklist")
    row = driver.find_element(By.CSS_SELECTOR, f'tr[data-case="{case_id}"]')
    clock = row.find_element(By.CSS_SELECTOR, "td.c-clock")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", clock)
    on_screen(driver, clock, screen)
    assert any(ch.isdigit() for ch in clock.text) and lines_of(driver, clock) == 1, clock.text
    no_sideways_scroll(driver, screen)


def no_sideways_scroll(d: Any, width: int | None) -> None:
    if width is not None:
        assert d.execute_script("return document.documentElement.scrollWidth") <= width + 1, d.current_url
