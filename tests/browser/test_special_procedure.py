"""特别程序 in the browser (issue 18 part 2): a Wuhan examiner enters an appraisal on the case page —
the form asks the kind (a select, none chosen), the approver and the expected days, each *必填 — and
the case page then shows the procedure with its expected end, the statutory clock paused."""

from __future__ import annotations

from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from api.web.screenshots import sign_in, wait_for

from .conftest import PASSWORD, Stack

ITEM = "patent_infringement_adjudication"


def test_an_examiner_enters_an_appraisal(driver: Any, stack: Stack) -> None:
    zhang, wang = stack.actor("zhang"), stack.actor("wang")
    e = stack.engine
    case = e.open_case(ITEM, actor=zhang, data={
        "requester": "浏览器测试科技有限公司", "respondent": "乙制造有限公司", "respondent_domicile": "domestic",
        "patent_number": "ZL201810000006.7", "patent_type": "invention", "claims": "停止侵权"})
    e.fire(case.id, "file_case", actor=wang, data={"panel": "王、李、赵"})
    e.fire(case.id, "serve", actor=zhang, data={"served_on": e.today().isoformat()})
    e.fire(case.id, "receive_answer", actor=zhang)
    e.fire(case.id, "forward_answer", actor=zhang)
    sign_in(driver, stack.url, "wang", PASSWORD)
    driver.get(f"{stack.url}/web/cases/{case.id}")
    driver.find_element(By.CSS_SELECTOR, 'summary[data-trigger="start_appraisal"]').click()
    form = driver.find_element(By.CSS_SELECTOR, 'form[action$="/fire/start_appraisal"]')
    kind = Select(form.find_element(By.ID, "start_appraisal-f_kind"))
    assert kind.first_selected_option.get_attribute("value") == ""  # never preselected
    assert [o.text for o in kind.options][1:] == ["检验", "鉴定"]  # the kinds this step declares
    for name in ("kind", "approver", "expected_days"):
        box = form.find_element(By.ID, f"start_appraisal-f_{name}")
        assert box.get_attribute("required") is not None, name
        label = form.find_element(By.CSS_SELECTOR, f'label[for="start_appraisal-f_{name}"]').text
        assert "*必填" in label, (name, label)
    kind.select_by_visible_text("鉴定")
    form.find_element(By.ID, "start_appraisal-f_approver").send_keys("副局长 刘强")
    form.find_element(By.ID, "start_appraisal-f_expected_days").send_keys("20")
    before = driver.find_element(By.TAG_NAME, "body").get_attribute("data-version")
    driver.find_element(By.CSS_SELECTOR, 'button[data-confirm="start_appraisal"]').click()
    wait_for(driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-version") != before)
    now = e.get_case(case.id)
    assert now.state == "appraisal"
    expected_end = now.clocks["special_procedure"].statutory_due
    block = driver.find_element(By.CSS_SELECTOR, '[data-clock="special_procedure"]')
    shown = block.find_element(By.CSS_SELECTOR, "p.special-procedure")
    assert shown.get_attribute("data-special") == "appraisal"
    assert "鉴定" in shown.text and "副局长 刘强" in shown.text and "20日" in shown.text
    assert shown.find_element(By.CSS_SELECTOR, '[data-field="expected_end"]').text == expected_end.isoformat()
    assert f"预计届满 {expected_end.isoformat()}" in block.text
    handling = driver.find_element(By.CSS_SELECTOR, '[data-clock="handling"]')
    assert handling.get_attribute("data-status") == "paused"
