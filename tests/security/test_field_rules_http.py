"""Issue 14 class 3 (the input side) and issue 16 (steps with the data the law needs), over real
HTTP on SQLite and PostgreSQL: each field rule is a 422 whose ``fields`` names the field at fault,
the case is left exactly as it was (version and history), and the pages re-show the form with the
message beside the field and what was typed kept."""

from __future__ import annotations

import html
import re
from typing import Any

from tests.security.scope_stack import (
    PLEDGE,
    PLEDGE_DATA,
    at,
    csrf_of,
    problem,
    stack_at,  # noqa: F401 - the fixture
)

ADJUDICATION = "patent_infringement_adjudication"
REQUEST = {"requester": "甲公司", "respondent": "乙公司", "respondent_domicile": "domestic",
           "patent_number": "ZL202010000001.X", "patent_type": "invention", "claims": "停止侵权"}


def _state(c: Any, case_id: str) -> tuple[Any, Any]:
    case = c.get(f"/api/cases/{case_id}")
    assert case.status_code == 200, case.text
    history = c.get(f"/api/cases/{case_id}/history")
    assert history.status_code == 200
    body = case.json()
    return (body["version"], body["state"], body["data"], body["clocks"]), history.json()["items"]


def _refused(c: Any, case_id: str, trigger: str, data: dict[str, Any] | None) -> dict[str, str]:
    before = _state(c, case_id)
    r = c.post(f"/api/cases/{case_id}/transitions/{trigger}", json={"data": data} if data is not None else None)
    body = problem(r, 422)
    assert _state(c, case_id) == before
    return body["fields"]  # type: ignore[no-any-return]


def test_accept_needs_the_materials_given_now_or_before(stack_at, sql_url):  # noqa: F811
    s = stack_at(sql_url, at("2026-03-02T10:00:00"))
    c = s.client("wuhan_clerk")
    r = c.post("/api/cases", json={"item_id": PLEDGE, "data": {}})  # 收件 may be incomplete
    assert r.status_code == 201, r.text
    case = r.json()
    assert "channel" not in case["data"]  # never chosen for the clerk
    assert _refused(c, case["id"], "accept", None) == {
        "pledgor": "required", "pledgee": "required", "patent_numbers": "required", "channel": "required"}
    assert _refused(c, case["id"], "accept", {"pledgor": "甲", "channel": "fax"}) == {
        "pledgee": "required", "patent_numbers": "required", "channel": "must be one of online, paper"}
    r = c.post(f"/api/cases/{case['id']}/transitions/accept",
               json={"data": {k: PLEDGE_DATA[k] for k in ("pledgor", "pledgee", "patent_numbers", "channel")}})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "under_review" and r.json()["data"]["channel"] == "online"
    # the README's way: everything given at opening, accept with no data
    full = c.post("/api/cases", json={"item_id": PLEDGE, "data": PLEDGE_DATA}).json()
    assert c.post(f"/api/cases/{full['id']}/transitions/accept").status_code == 200


def test_each_rule_is_a_422_naming_its_field_and_opens_nothing(stack_at, sql_url):  # noqa: F811
    s = stack_at(sql_url, at("2026-03-02T10:00:00"))
    c = s.client("wuhan_clerk")
    before = c.get("/api/cases").json()["items"]
    for extra, fields in [
        ({"secured_amount": 1.7e308}, {"secured_amount": "must be at most 1000000000000"}),
        ({"secured_amount": -1}, {"secured_amount": "must not be negative"}),
        ({"patent_count": 0}, {"patent_count": "must be at least 1"}),
        ({"debt_term_end": "9999-12-31"}, {"debt_term_end": "out of range (1949-10-01 … 2076-03-02)"}),
        ({"debt_term_end": "0001-01-01", "secured_amount": 1e300},
         {"debt_term_end": "out of range (1949-10-01 … 2076-03-02)", "secured_amount": "must be at most 1000000000000"}),
    ]:
        body = problem(c.post("/api/cases", json={"item_id": PLEDGE, "data": {**PLEDGE_DATA, **extra}}), 422)
        assert body["fields"] == fields and body["code"] == "invalid_data", body
    # a 4,300-digit amount: a number JSON carries, refused by its size without converting it
    raw = b'{"item_id": "%s", "data": {"secured_amount": %s}}' % (PLEDGE.encode(), b"9" * 4300)
    r = c.post("/api/cases", content=raw, headers={"content-type": "application/json"})
    assert problem(r, 422)["fields"] == {"secured_amount": "out of range"}
    assert c.get("/api/cases").json()["items"] == before


def test_a_date_of_service_and_the_panel_on_a_dispute(stack_at, sql_url):  # noqa: F811
    s = stack_at(sql_url, at("2024-09-12T10:00:00"))
    clerk, examiner = s.client("wuhan_clerk"), s.client("wuhan_examiner")
    case = clerk.post("/api/cases", json={"item_id": ADJUDICATION, "data": REQUEST}).json()
    for panel in ("王、李", "王、李、赵、钱", ["王"], "王、王、李"):
        fields = _refused(examiner, case["id"], "file_case", {"panel": panel})
        assert list(fields) == ["panel"], fields
    r = examiner.post(f"/api/cases/{case['id']}/transitions/file_case", json={"data": {"panel": "王，李, 赵"}})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["panel"] == "王、李、赵"
    s.clock.at = at("2024-09-16T10:00:00")
    assert _refused(clerk, case["id"], "serve", {"served_on": "2024-09-17"}) == {"served_on": "after today"}
    assert _refused(clerk, case["id"], "serve", {"served_on": "2024-09-11"}) == {
        "served_on": "before the case's legal start 2024-09-12"}
    assert _refused(clerk, case["id"], "serve", {"served_on": "9999-12-31"}) == {
        "served_on": "out of range (1949-10-01 … 2074-09-16)"}
    r = clerk.post(f"/api/cases/{case['id']}/transitions/serve", json={"data": {"served_on": "2024-09-16"}})
    assert r.status_code == 200, r.text
    # 15 days from 09-16 end on 10-01 (National Day) → moved to Tue 10-08: 22 days away, but what
    # is left never exceeds the limit itself
    answer = r.json()["clocks"]["answer_period"]
    assert answer["statutory_due"] == "2024-10-08"
    assert (answer["statutory_units"], answer["remaining_units"]) == (15, 15)


def _field_block(page: str, name: str) -> str:
    found = re.search(rf'<div class="field[^"]*" data-field="{name}">(.*?)</div>', page, flags=re.S)
    assert found is not None, name
    return found.group(1)


def test_the_opening_form_marks_required_fields_and_never_picks_the_channel(stack_at, sql_url):  # noqa: F811
    s = stack_at(sql_url, at("2026-03-02T10:00:00"))
    c = s.page_client("wuhan_clerk")
    page = c.get(f"/web/cases/new?item={ADJUDICATION}").text
    assert "*必填" in _field_block(page, "requester") and " required" in _field_block(page, "requester")
    page = c.get(f"/web/cases/new?item={PLEDGE}").text
    channel = _field_block(page, "channel")
    assert "selected" not in channel and '<option value="">请选择</option>' in channel
    assert "受理时必填" in channel and "决定办理时限" in channel
    assert "受理时必填" in _field_block(page, "pledgor")
    # a rule broken: the form comes back, the message beside the field, what was typed kept
    r = c.post("/web/cases/new", data={"csrf": csrf_of(page), "item": PLEDGE, "f_pledgor": "武汉某公司",
                                       "f_channel": "online", "f_secured_amount": "9" * 5000,
                                       "f_debt_term_end": "9999-12-31"})
    assert r.status_code == 422
    amount = _field_block(r.text, "secured_amount")
    assert 'data-field-error="secured_amount">数值超出允许范围' in amount and 'aria-invalid="true"' in amount
    assert "应在 1949-10-01 至 2076-03-02 之间" in _field_block(r.text, "debt_term_end")
    assert 'value="武汉某公司"' in _field_block(r.text, "pledgor")
    assert re.search(r'<option value="online" selected>', _field_block(r.text, "channel"))
    assert s.client("wuhan_clerk").get("/api/cases").json()["items"] == []
    # text too long: the input says its most characters, the refusal says it in Chinese
    assert 'maxlength="200"' in _field_block(page, "pledgor")
    assert 'maxlength="5000"' in _field_block(page, "patent_numbers")
    r = c.post("/web/cases/new", data={"csrf": csrf_of(page), "item": PLEDGE, "f_pledgor": "甲" * 201,
                                       "f_channel": "online"})
    assert r.status_code == 422
    assert 'data-field-error="pledgor">过长：共 201 字，最多 200 字' in _field_block(r.text, "pledgor")
    assert s.client("wuhan_clerk").get("/api/cases").json()["items"] == []


def test_a_step_asks_for_what_the_case_lacks_and_refuses_in_place(stack_at, sql_url):  # noqa: F811
    s = stack_at(sql_url, at("2026-03-02T10:00:00"))
    api = s.client("wuhan_clerk")
    case = api.post("/api/cases", json={"item_id": PLEDGE, "data": {"pledgor": "武汉某公司"}}).json()
    c = s.page_client("wuhan_clerk")
    page = c.get(f"/web/cases/{case['id']}").text
    assert 'name="f_pledgor"' not in page  # on the case already
    channel = _field_block(page, "channel")
    assert "*必填" in channel and "selected" not in channel and "<select" in channel
    before = _state(api, case["id"])
    r = c.post(f"/web/cases/{case['id']}/fire/accept",
               data={"csrf": csrf_of(page), "version": "1", "f_pledgee": "某银行", "f_channel": ""})
    assert r.status_code == 422
    assert 'data-field-error="channel">必填' in _field_block(r.text, "channel")
    assert 'data-field-error="patent_numbers">必填' in _field_block(r.text, "patent_numbers")
    assert 'value="某银行"' in _field_block(r.text, "pledgee")
    assert _state(api, case["id"]) == before
    r = c.post(f"/web/cases/{case['id']}/fire/accept",
               data={"csrf": csrf_of(page), "version": "1", "f_pledgee": "某银行", "f_channel": "paper",
                     "f_patent_numbers": "ZL1"})
    assert r.status_code == 303, html.unescape(r.text)[:300]
    assert api.get(f"/api/cases/{case['id']}").json()["state"] == "under_review"


def test_a_definition_says_its_rules_and_required_data(stack_at, sql_url):  # noqa: F811
    s = stack_at(sql_url, at("2026-03-02T10:00:00"))
    d = s.client("wuhan_clerk").get(f"/api/definitions/{ADJUDICATION}").json()
    filing = next(t for t in d["transitions"] if t["trigger"] == "file_case")
    assert next(f for f in filing["fields"] if f["name"] == "panel")["rules"] == {
        "names": {"min": 3, "max": None, "odd": True}, "max_length": 200}
    serve = next(t for t in d["transitions"] if t["trigger"] == "serve")
    assert serve["fields"][0]["rules"] == {"past": True}
    pledge = s.client("wuhan_clerk").get(f"/api/definitions/{PLEDGE}").json()
    assert next(f for f in pledge["fields"] if f["name"] == "patent_count")["rules"] == {"min": 1, "max": 10000}
    accept = next(t for t in pledge["transitions"] if t["trigger"] == "accept")
    assert accept["requires"] == ["pledgor", "pledgee", "patent_numbers", "channel"]


def test_the_applicants_form_has_the_same_marks_and_rules(stack_at, sql_url):  # noqa: F811
    import httpx

    s = stack_at(sql_url, at("2026-03-02T10:00:00"))
    with httpx.Client(base_url=s.url, timeout=30) as c:
        assert "*必填" in c.get("/apply/items/patent_license_filing").text
        page = c.get(f"/apply/items/{PLEDGE}").text
        assert re.search(r'出质人<span class="hint">（受理时必填）</span>', page)
        r = c.post(f"/apply/items/{PLEDGE}", data={"csrf": csrf_of(page), "f_pledgor": "武汉某公司",
                                                  "f_secured_amount": "1.7e308", "f_debt_term_end": "9999-12-31"})
        assert r.status_code == 422
        assert "被担保债权数额：不能大于 1000000000000" in r.text
        assert "债务履行期限届满日：应在 1949-10-01 至 2076-03-02 之间" in r.text
        assert 'value="武汉某公司"' in r.text
    assert s.client("wuhan_clerk").get("/api/cases").json()["items"] == []
