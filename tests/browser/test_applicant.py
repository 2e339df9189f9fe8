"""The applicant's side in a real browser on a 390-px phone screen (issue 17): apply for a patent
pledge registration online → the receipt with the query code → the clerk asks for 补正 → the
applicant sees what is needed and uploads it → approved → the notices → rated 不满意 → the
supervisor sees the rectification on the board and closes it on time with a reply → the
applicant sees the reply. The office's people work on their own pages, at the same width."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from api.web.screenshots import sign_in, sign_out, wait_for

from .conftest import PASSWORD, Stack

PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}
PDF = b"%PDF-1.4\n% caseclock browser test\n"


@pytest.fixture
def phone(driver: Any) -> Iterator[Any]:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    try:
        yield driver
    finally:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": 1366, "height": 768, "deviceScaleFactor": 1, "mobile": False})


def fits(d: Any) -> None:
    """Nothing wider than the phone: no sideways scrolling."""
    width = d.execute_script("return document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{d.current_url} is {width}px wide"


def body_text(d: Any) -> str:
    return d.find_element(By.TAG_NAME, "body").text  # type: ignore[no-any-return]


def advance(d: Any, trigger: str, reason: str = "", **fields: str) -> None:
    """On a case page: take an action (its form's fields filled in; a final one confirmed with its
    reason), and wait for the new version."""
    before = d.find_element(By.TAG_NAME, "body").get_attribute("data-version")
    d.find_element(By.CSS_SELECTOR, f'[data-trigger="{trigger}"]').click()
    for name, value in fields.items():
        d.find_element(By.ID, f"{trigger}-f_{name}").send_keys(value)
    forms = d.find_elements(By.CSS_SELECTOR, f'form[action$="/fire/{trigger}"]')
    if forms and forms[0].find_elements(By.CSS_SELECTOR, "[data-confirm]"):
        form = forms[0]
        for box in form.find_elements(By.NAME, "f_reason"):
            if not box.get_attribute("value"):
                box.send_keys(reason or "材料齐全，符合规定")
        for box in form.find_elements(By.CSS_SELECTOR, "[data-final-confirm]"):
            d.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)
            box.click()
        form.find_element(By.CSS_SELECTOR, f'[data-confirm="{trigger}"]').click()
    wait_for(d, lambda x: x.find_element(By.TAG_NAME, "body").get_attribute("data-version") != before)


def test_apply_supplement_hear_rate_and_get_the_reply_on_a_phone(phone: Any, stack: Stack, tmp_path: Path) -> None:
    d = phone
    files = {}
    for name in ("申请表", "质押合同", "营业执照", "补正-质押合同原件"):
        files[name] = tmp_path / f"{name}.pdf"
        files[name].write_bytes(PDF)

    # -- the applicant applies ---------------------------------------------------------------------
    d.get(stack.url + "/apply")
    fits(d)
    assert "网上办事" in d.find_element(By.TAG_NAME, "h1").text
    d.find_element(By.CSS_SELECTOR, '[data-item="patent_pledge_registration"]').click()
    wait_for(d, lambda x: "专利权质押登记" in x.find_element(By.TAG_NAME, "h1").text)
    fits(d)
    d.find_element(By.ID, "a_name").send_keys("武汉光谷智能装备有限公司")
    d.find_element(By.ID, "a_id").send_keys("91420100MA4K000001")
    d.find_element(By.ID, "a_phone").send_keys("13800000000")
    d.find_element(By.ID, "a_email").send_keys("ip@guanggu.example")
    Select(d.find_element(By.ID, "org")).select_by_visible_text("武汉市")
    Select(d.find_element(By.ID, "f_request_type")).select_by_visible_text("设立登记")
    d.find_element(By.ID, "f_pledgor").send_keys("武汉光谷智能装备有限公司")
    d.find_element(By.ID, "f_pledgee").send_keys("招商银行武汉分行")
    d.find_element(By.ID, "f_patent_numbers").send_keys("ZL202310000001.X")
    d.find_element(By.ID, "f_secured_amount").send_keys("5000000")
    d.find_element(By.ID, "m_application_form").send_keys(str(files["申请表"]))
    d.find_element(By.ID, "m_pledge_contract").send_keys(str(files["质押合同"]))
    d.find_element(By.ID, "m_identity").send_keys(str(files["营业执照"]))
    d.find_element(By.ID, "consent").click()
    d.find_element(By.ID, "submit").click()

    # -- the receipt: number, query code, committed date -------------------------------------------
    wait_for(d, lambda x: "/apply/receipt" in x.current_url)
    fits(d)
    number = d.find_element(By.ID, "receipt-number").text
    code = d.find_element(By.ID, "receipt-code").text
    assert number.startswith("ZYDJ-420100-") and len(code) >= 8
    case = next(c for c in stack.engine.list_cases() if c.number == number)
    main = case.clocks["handling"]
    assert d.find_element(By.ID, "receipt-commitment").text.startswith(main.commitment_due.isoformat())
    assert case.data["channel"] == "online" and main.limit == "2 working days"
    assert ("暂定" in d.find_element(By.ID, "receipt-commitment").text) == main.provisional

    # -- the clerk accepts and asks for 补正 -------------------------------------------------------
    d.delete_all_cookies()
    sign_in(d, stack.url, "zhang", PASSWORD)
    d.get(f"{stack.url}/web/cases/{case.id}")
    assert "武汉光谷智能装备有限公司" in body_text(d)
    advance(d, "accept")
    advance(d, "request_supplement", supplement_items="1、质押合同原件扫描件；2、质权人营业执照")
    sign_out(d)

    # -- the applicant sees what is needed (with the number and code) and uploads it -------------
    d.get(stack.url + "/apply/progress")
    d.find_element(By.ID, "number").send_keys(number)
    d.find_element(By.ID, "code").send_keys(code.lower())  # typed as people type it
    d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for(d, lambda x: x.find_elements(By.ID, "needs"))
    fits(d)
    assert d.find_element(By.ID, "status").get_attribute("data-status") == "awaiting_supplement"
    needs = d.find_element(By.ID, "needs").text
    assert "质押合同原件扫描件" in needs and "质权人营业执照" in needs
    d.find_element(By.ID, "supplement-files").send_keys(str(files["补正-质押合同原件"]))
    d.find_element(By.ID, "send-supplement").click()
    wait_for(d, lambda x: "done=supplement" in x.current_url)
    assert "补正材料已提交" in d.find_element(By.CSS_SELECTOR, ".flash").text
    assert not d.find_elements(By.ID, "needs")
    assert d.find_element(By.ID, "status").get_attribute("data-status") == "in_progress"
    assert stack.engine.get_case(case.id).clocks["handling"].status == "running"

    # -- the examiner approves ---------------------------------------------------------------------
    d.delete_all_cookies()
    sign_in(d, stack.url, "wang", PASSWORD)
    d.get(f"{stack.url}/web/cases/{case.id}")
    advance(d, "approve", registration_number="2026420000123")
    sign_out(d)

    # -- the applicant reads the notices and rates 不满意 ------------------------------------------
    d.get(stack.url + "/apply/progress")
    d.find_element(By.ID, "number").send_keys(number)
    d.find_element(By.ID, "code").send_keys(code)
    d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for(d, lambda x: x.find_elements(By.ID, "rating"))
    fits(d)
    assert d.find_element(By.ID, "status").get_attribute("data-status") == "closed"
    kinds = [n.get_attribute("data-kind") for n in d.find_elements(By.CSS_SELECTOR, "#notices .notice")]
    assert kinds == ["closed", "supplement", "accepted"]  # newest first
    notices = d.find_element(By.ID, "notices").text
    assert "受理" in notices and "1. 质押合同原件扫描件" in notices and "准予登记" in notices
    assert "2026420000123" in notices
    d.find_element(By.ID, "grade-2").click()
    d.find_element(By.ID, "comment").send_keys("补正要求第一次没有讲清楚，跑了两趟")
    d.find_element(By.ID, "send-rating").click()
    wait_for(d, lambda x: "done=rated" in x.current_url)
    assert d.find_element(By.ID, "my-grade").text == "不满意"
    assert d.find_element(By.ID, "rating-pending").is_displayed()

    # -- the supervisor sees the rectification on the board and closes it on time with a reply ---
    d.delete_all_cookies()
    sign_in(d, stack.url, "li", PASSWORD)
    d.get(stack.url + "/web/board")
    header = [th.text for th in d.find_elements(By.CSS_SELECTOR, "table.board thead th")]
    assert "差评核实整改" in header
    d.find_element(By.CSS_SELECTOR, 'td[data-cell="420100|rating_rectification"] a').click()
    rect_link = wait_for(d, lambda x: x.find_element(By.XPATH, '//a[starts-with(text(), "CPZG-420100-")]'))
    rect_link.click()
    wait_for(d, lambda x: x.find_elements(By.CSS_SELECTOR, '[data-trigger="verify"]'))
    assert number in body_text(d)  # the rated case's number, on the rectification
    advance(d, "verify", finding="属实：第一次补正告知不完整")
    advance(d, "revisit", revisit_note="电话回访，申请人认可")
    advance(d, "reply", rectification="统一使用一次性告知清单",
            reply="经核实情况属实，已统一一次性告知清单并对窗口人员进行培训，感谢您的监督。")
    rect = next(c for c in stack.engine.list_cases(item_id="rating_rectification") if c.data["rated_case_number"] == number)
    assert rect.state == "replied" and rect.clocks["handling"].sla == "met"  # on time
    sign_out(d)

    # -- the applicant sees the reply --------------------------------------------------------------
    d.get(stack.url + "/apply/progress")
    d.find_element(By.ID, "number").send_keys(number)
    d.find_element(By.ID, "code").send_keys(code)
    d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    reply = wait_for(d, lambda x: x.find_element(By.ID, "rating-reply"))
    fits(d)
    assert "已统一一次性告知清单" in reply.text
    assert d.find_elements(By.CSS_SELECTOR, '#notices .notice')[0].get_attribute("data-kind") == "rating_reply"


def test_a_wrong_code_is_refused_without_saying_which_part_is_wrong(phone: Any, stack: Stack) -> None:
    d = phone
    d.get(stack.url + "/apply/progress")
    d.find_element(By.ID, "number").send_keys("ZYDJ-420100-2026-00001")
    d.find_element(By.ID, "code").send_keys("ABCDEFGHJKMN")
    d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    err = wait_for(d, lambda x: x.find_element(By.ID, "query-error"))
    assert "编号或查询码不正确" in err.text


def test_the_form_shows_every_mistake_at_once(phone: Any, stack: Stack) -> None:
    d = phone
    d.get(stack.url + "/apply/items/patent_pledge_registration")
    # the browser's own checks taken away: the server's are the ones that count
    d.execute_script("document.querySelector('form.apply-form').setAttribute('novalidate', '')")
    d.find_element(By.ID, "a_email").send_keys("not-an-address")
    d.find_element(By.ID, "f_secured_amount").send_keys("五百万")
    d.find_element(By.ID, "submit").click()
    errors = wait_for(d, lambda x: x.find_element(By.ID, "form-errors")).text
    fits(d)
    for words in ("申请人名称：必填", "证件号码：必填", "电子邮箱：请填写正确的电子邮箱地址", "办理单位：必填",
                  "被担保债权数额：应为数字", "专利权质押合同：必填"):
        assert words in errors
    assert d.find_element(By.ID, "a_email").get_attribute("value") == "not-an-address"  # kept
