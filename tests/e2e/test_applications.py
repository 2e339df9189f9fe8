"""The applicant's side over real HTTP (issue 17): every line of the contract, and the attacks.

A service of its own per module (uvicorn on a SQLite file); the province's portal holds a
``portal`` token at the province (420000), a Wuhan portal one at 420100. Clerks, examiners and
supervisors act through their own tokens, as at the window.
"""

from __future__ import annotations

import io
import sqlite3
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from api.auth import issue_token
from api.tokens import tokens_for

from .conftest import Stack, problem, start_stack

PLEDGE = "patent_pledge_registration"
PDF = b"%PDF-1.4\n% a supplement\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
APPLICANT = {"id": "91420100MA4K000001", "name": "武汉光谷智能装备有限公司", "phone": "13800000000",
             "email": "ip@guanggu.example"}
FORM = {"request_type": "registration", "pledgor": "武汉光谷智能装备有限公司", "pledgee": "招商银行武汉分行",
        "patent_numbers": "ZL202310000001.X"}
CONTRACT_KEYS = {"number", "item_name", "status", "commitment_due", "statutory_due", "provisional", "needs", "notices"}


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = start_stack(tmp_path_factory.mktemp("applications"), "apply")
    store = tokens_for(stack.engine)
    for persona, (roles, org) in {"hubei_portal": ("portal", "420000"), "wuhan_portal": ("portal", "420100"),
                                  "yichang_supervisor": ("supervisor", "420500")}.items():
        token, _ = issue_token(store, user=persona, roles=roles, org=org, now=stack.engine.now(), orgs=stack.engine.orgs)
        stack.tokens[persona] = token
    yield stack
    stack.close()


def portal(s: Stack, who: str = "hubei_portal") -> httpx.Client:
    return s.client(who)


def anon(s: Stack, code: str | None = None) -> httpx.Client:
    return s.client(None, **({"X-Query-Code": code} if code is not None else {}))


def apply(s: Stack, item: str = PLEDGE, data: dict[str, Any] | None = None, org: str | None = "420100",
          applicant: dict[str, Any] | None = None, who: str = "hubei_portal") -> dict[str, Any]:
    body: dict[str, Any] = {"item_id": item, "data": FORM if data is None else data,
                            "applicant": applicant or APPLICANT}
    if org is not None:
        body["org"] = org
    r = portal(s, who).post("/api/applications", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def case_of(s: Stack, number: str, who: str = "wuhan_clerk") -> dict[str, Any]:
    r = getattr(s, who).get("/api/cases", params={"limit": 500})
    found = [c for c in r.json()["items"] if c["number"] == number]
    assert len(found) == 1, number
    return found[0]


def fire(s: Stack, case_id: str, trigger: str, who: str, **data: Any) -> dict[str, Any]:
    r = getattr(s, who).post(f"/api/cases/{case_id}/transitions/{trigger}", json={"data": data})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def progress(s: Stack, receipt: dict[str, Any]) -> dict[str, Any]:
    r = anon(s, receipt["query_code"]).get(f"/api/applications/{receipt['number']}")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def files(*items: tuple[str, bytes, str]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", item) for item in items]


# --- the items ----------------------------------------------------------------------------------


def test_items_open_to_online_application_need_no_token(svc: Stack) -> None:
    r = anon(svc).get("/api/applications/items")
    assert r.status_code == 200
    items = {i["id"]: i for i in r.json()["items"]}
    # every service item and the bundle; the dispute requests whose definitions open them
    assert {"patent_pledge_registration", "trademark_pledge_registration", "patent_license_filing",
            "patent_right_transfer_filing", "fast_pre_examination", "rights_protection_assistance",
            "patent_transfer_and_pledge", "patent_dispute_mediation", "patent_infringement_adjudication"} <= set(items)
    engine = svc.engine
    for d in engine.registry.latest():  # every service item and bundle unless closed; disputes only if open
        if d.kind in ("service_item", "bundle") and d.id != "rating_rectification":
            assert d.id in items, d.id
        elif d.kind == "dispute_case":
            assert (d.id in items) == d.online.open, d.id
    assert items[PLEDGE]["name"] == "专利权质押登记"
    assert all(i["id"] and i["name"] for i in items.values())
    closed = {c["id"]: c["reason"] for c in r.json()["closed"]}
    assert set(closed) == {"ip_administrative_penalty", "pre_litigation_mediation", "judicial_confirmation",
                           "rating_rectification"}
    assert all(reason for reason in closed.values())
    form = anon(svc).get(f"/api/applications/items/{PLEDGE}").json()
    assert "channel" not in {f["name"] for f in form["fields"]}  # online is online
    assert [m["label"] for m in form["materials"]][0].startswith("专利权质押登记申请表")
    problem(anon(svc).get("/api/applications/items/ip_administrative_penalty"), 404)


# --- applying -----------------------------------------------------------------------------------


def test_apply_through_the_portal_opens_an_online_case_from_the_day_of_receipt(svc: Stack) -> None:
    receipt = apply(svc)
    assert receipt["number"].startswith("ZYDJ-420100-")
    code = receipt["query_code"]
    assert len(code) >= 8 and code.isalnum()
    case = case_of(svc, receipt["number"])
    today = svc.engine.today().isoformat()
    assert case["data"]["channel"] == "online" and case["started_on"] == today
    assert case["clocks"]["handling"]["started_on"] == today
    assert case["clocks"]["handling"]["limit"] == "2 working days"  # the online limit
    assert receipt["commitment_due"] == case["clocks"]["handling"]["commitment_due"]
    # the code is stored hashed, never as given
    db = svc.db.removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:
        (stored,) = conn.execute("SELECT code_hash FROM applications WHERE number = ?", (receipt["number"],)).fetchone()
        dump = "\n".join(conn.iterdump())
    assert stored.startswith("scrypt$") and code not in dump


def test_the_org_defaults_to_the_tokens_and_stays_in_its_scope(svc: Stack) -> None:
    receipt = apply(svc, who="wuhan_portal", org=None)
    assert receipt["org"] == "420100"
    r = portal(svc, "wuhan_portal").post("/api/applications", json={
        "item_id": PLEDGE, "org": "420500", "data": FORM, "applicant": APPLICANT})
    problem(r, 403)  # a Wuhan portal cannot apply to Yichang


def test_a_retried_application_opens_one_case_with_a_fresh_code(svc: Stack) -> None:
    """The portal lost the answer and retries with its Idempotency-Key: the same number, nothing
    opened twice; only the new code works (only hashes are kept). Another application under the
    same key is 409; another portal's same key is its own."""
    body = {"item_id": PLEDGE, "org": "420100", "data": FORM, "applicant": APPLICANT}
    key = {"Idempotency-Key": "portal-retry-0001"}
    before = len(svc.wuhan_clerk.get("/api/cases", params={"limit": 500}).json()["items"])
    first = portal(svc).post("/api/applications", json=body, headers=key)
    again = portal(svc).post("/api/applications", json=body, headers=key)
    assert first.status_code == 201 and again.status_code == 201, (first.text, again.text)
    assert again.json()["number"] == first.json()["number"]
    assert again.json()["query_code"] != first.json()["query_code"]
    assert len(svc.wuhan_clerk.get("/api/cases", params={"limit": 500}).json()["items"]) == before + 1
    assert anon(svc, again.json()["query_code"]).get(f"/api/applications/{first.json()['number']}").status_code == 200
    assert anon(svc, first.json()["query_code"]).get(f"/api/applications/{first.json()['number']}").status_code == 404
    other = portal(svc).post("/api/applications", json={**body, "data": {**FORM, "pledgee": "汉口银行"}}, headers=key)
    assert other.status_code == 409, other.text
    mine = portal(svc, "wuhan_portal").post("/api/applications", json=body, headers=key)
    assert mine.status_code == 201 and mine.json()["number"] != first.json()["number"]


def test_only_a_portal_token_applies(svc: Stack) -> None:
    body = {"item_id": PLEDGE, "data": FORM, "applicant": APPLICANT}
    problem(anon(svc).post("/api/applications", json=body), 401)
    problem(svc.wuhan_clerk.post("/api/applications", json=body), 403)


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"item_id": "no_such_item"}, 404, None),
    ({"item_id": "ip_administrative_penalty"}, 404, None),  # closed to online application
    ({"applicant": None}, 422, "applicant"),
    ({"applicant": {"name": "无证件号"}}, 422, "applicant.id"),
    ({"applicant": {**APPLICANT, "email": "not-an-address"}}, 422, "applicant.email"),
    ({"applicant": {**APPLICANT, "phone": "call me"}}, 422, "applicant.phone"),
    ({"applicant": {**APPLICANT, "id": "x" * 200}}, 422, "applicant.id"),
    ({"data": {**FORM, "internal_note": "x"}}, 422, "data.internal_note"),  # only the form's fields
    ({"data": {**FORM, "secured_amount": "五百万"}}, 422, "secured_amount"),
    ({"data": {**FORM, "request_type": "anything"}}, 422, "request_type"),
])
def test_bad_applications_are_refused_naming_the_field(svc: Stack, body: dict[str, Any], status: int,
                                                       field: str | None) -> None:
    full = {"item_id": PLEDGE, "org": "420100", "data": FORM, "applicant": APPLICANT, **body}
    before = len(svc.engine.list_cases())
    doc = problem(portal(svc).post("/api/applications", json=full), status)
    if field:
        assert field in doc["fields"]
    assert len(svc.engine.list_cases()) == before  # nothing opened


# --- progress and identity ----------------------------------------------------------------------


def test_progress_by_number_and_code(svc: Stack) -> None:
    receipt = apply(svc)
    p = progress(svc, receipt)
    assert CONTRACT_KEYS <= set(p)
    assert p["number"] == receipt["number"] and p["item_name"] == "专利权质押登记"
    assert p["status"] == "received" and p["needs"] == [] and p["notices"] == []
    assert p["commitment_due"] == receipt["commitment_due"] and p["provisional"] is False
    assert p["steps"][0]["label"] == "收到网上申请"
    # the code is forgiving of how people type it
    spaced = " ".join([receipt["query_code"][:4].lower(), receipt["query_code"][4:]])
    assert anon(svc, spaced).get(f"/api/applications/{receipt['number']}").status_code == 200


def test_unknown_numbers_wrong_codes_and_other_cases_codes_are_the_same_404(svc: Stack) -> None:
    mine = apply(svc)
    yichang = apply(svc, org="420500")  # another city's case, with its own valid code
    wrong = anon(svc, "ABCDEFGHJKMN").get(f"/api/applications/{mine['number']}")
    unknown = anon(svc, mine["query_code"]).get("/api/applications/ZYDJ-420100-2099-99999")
    crossed = anon(svc, mine["query_code"]).get(f"/api/applications/{yichang['number']}")
    crossed_back = anon(svc, yichang["query_code"]).get(f"/api/applications/{mine['number']}")
    missing = anon(svc).get(f"/api/applications/{mine['number']}")
    docs = [problem(r, 404) for r in (wrong, unknown, crossed, crossed_back, missing)]
    assert {d["code"] for d in docs} == {"case_not_found"}
    assert {d["title"] for d in docs} == {"Case not found"}


def test_failed_lookups_are_limited_per_client(timed: Stack) -> None:
    token, _ = issue_token(tokens_for(timed.engine), user="p", roles="portal", org="420000",
                           now=timed.engine.now(), orgs=timed.engine.orgs)
    timed.tokens["p"] = token
    target = apply(timed, who="p")
    url = f"/api/applications/{target['number']}"
    from api.ratelimit import RateLimits

    burst = RateLimits().failures.burst  # the API's limit of failed secret look-ups (20 by default)
    for _ in range(burst):
        problem(anon(timed, "ABCDEFGHJKMN").get(url), 404)
    limited = anon(timed, "ABCDEFGHJKMN").get(url)
    problem(limited, 429)
    assert 0 < int(limited.headers["Retry-After"]) <= 60
    # the guessing client is held back, even with the right code …
    problem(anon(timed, target["query_code"]).get(url), 429)
    problem(anon(timed, target["query_code"]).post(f"{url}/rating", json={"grade": 5}), 429)
    # … while another client (another address) is not
    other = httpx.Client(base_url=timed.url, headers={"X-Query-Code": target["query_code"]},
                         transport=httpx.HTTPTransport(local_address="127.0.0.2"))
    with other:
        assert other.get(url).status_code == 200


def test_the_portal_sees_an_applicant_s_own_applications_only(svc: Stack) -> None:
    other = {**APPLICANT, "id": "91420100MA4K000099", "name": "另一家公司"}
    first, second = apply(svc, applicant={**APPLICANT, "id": "A-own-1"}), apply(svc, applicant=other)
    listed = portal(svc).get("/api/applications", params={"applicant_id": "A-own-1"}).json()["items"]
    assert [i["number"] for i in listed] == [first["number"]]
    h = {"X-Applicant-Id": "A-own-1"}
    assert portal(svc).get(f"/api/applications/{first['number']}", headers=h).status_code == 200
    problem(portal(svc).get(f"/api/applications/{second['number']}", headers=h), 404)
    problem(portal(svc).get(f"/api/applications/{first['number']}"), 400)  # whose? X-Applicant-Id
    yichang = apply(svc, org="420500", applicant={**APPLICANT, "id": "A-own-1"})
    problem(portal(svc, "wuhan_portal").get(f"/api/applications/{yichang['number']}", headers=h), 404)
    problem(svc.wuhan_clerk.get(f"/api/applications/{first['number']}", headers=h), 403)


# --- supplements --------------------------------------------------------------------------------


def _request_supplement(s: Stack, receipt: dict[str, Any], items: str = "1、质押合同原件扫描件；2、出质人营业执照") -> str:
    case = case_of(s, receipt["number"])
    fire(s, case["id"], "accept", "wuhan_clerk")
    fire(s, case["id"], "request_supplement", "wuhan_examiner", supplement_items=items,
         supplement_deadline=(s.engine.today() + timedelta(days=10)).isoformat())
    return case["id"]  # type: ignore[no-any-return]


def test_a_supplement_resumes_the_clock_as_the_applicant(svc: Stack) -> None:
    receipt = apply(svc)
    client = anon(svc, receipt["query_code"])
    url = f"/api/applications/{receipt['number']}/supplements"
    problem(client.post(url, files=files(("a.pdf", PDF, "application/pdf"))), 409)  # nothing awaited
    case_id = _request_supplement(svc, receipt)
    p = progress(svc, receipt)
    assert p["status"] == "awaiting_supplement"
    assert p["needs"] == ["质押合同原件扫描件", "出质人营业执照"] and p["needs_by"]
    assert svc.wuhan_clerk.get(f"/api/cases/{case_id}").json()["clocks"]["handling"]["status"] == "paused"
    r = client.post(url, files=files(("质押合同.pdf", PDF, "application/pdf"), ("执照.png", PNG, "image/png")))
    assert r.status_code == 200, r.text
    assert r.json()["needs"] == [] and r.json()["status"] == "in_progress"
    case = svc.wuhan_clerk.get(f"/api/cases/{case_id}").json()
    assert case["state"] == "under_review" and case["clocks"]["handling"]["status"] == "running"
    history = svc.wuhan_clerk.get(f"/api/cases/{case_id}/history").json()["items"]
    resubmit = [e for e in history if e["trigger"] == "resubmit"]
    assert resubmit and resubmit[0]["actor_id"] == f"applicant:{APPLICANT['id']}"
    att = svc.wuhan_clerk.get(f"/api/cases/{case_id}/attachments").json()["items"]
    assert sorted(a["filename"] for a in att) == ["执照.png", "质押合同.pdf"]
    assert {a["label"] for a in att} == {"补正材料"}
    problem(client.post(url, files=files(("again.pdf", PDF, "application/pdf"))), 409)  # nothing awaited now


def _xlsx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    return buf.getvalue()


@pytest.mark.parametrize(("upload", "status"), [
    (files(("empty.pdf", b"", "application/pdf")), 422),
    (files(("virus.exe", b"MZ\x90\x00", "application/octet-stream")), 415),
    (files(("fake.pdf", PNG, "application/pdf")), 415),  # content is not what the name says
    (files(("note.txt", b"hello", "text/plain")), 415),
    (files(("declared.png", PDF, "image/png")), 415),
    ([], 422),  # no files at all
])
def test_bad_supplements_leave_the_case_waiting(svc: Stack, upload: list[Any], status: int) -> None:
    receipt = apply(svc)
    case_id = _request_supplement(svc, receipt)
    url = f"/api/applications/{receipt['number']}/supplements"
    client = anon(svc, receipt["query_code"])
    r = client.post(url, files=upload) if upload else client.post(url, data={"other": "x"})
    problem(r, status)
    case = svc.wuhan_clerk.get(f"/api/cases/{case_id}").json()
    assert case["state"] == "awaiting_supplement" and case["clocks"]["handling"]["status"] == "paused"
    assert svc.wuhan_clerk.get(f"/api/cases/{case_id}/attachments").json()["items"] == []
    # and the good file still goes through afterwards
    ok = client.post(url, files=files(("ok.xlsx", _xlsx(), "application/octet-stream")))
    assert ok.status_code == 200, ok.text


def test_a_huge_upload_is_refused_before_it_is_read(svc: Stack) -> None:
    receipt = apply(svc)
    _request_supplement(svc, receipt)
    big = PDF + b"0" * (20 * 1024 * 1024)
    r = anon(svc, receipt["query_code"]).post(f"/api/applications/{receipt['number']}/supplements",
                                               files=files(("big.pdf", big, "application/pdf")))
    problem(r, 413)
    assert progress(svc, receipt)["status"] == "awaiting_supplement"


# --- notices ------------------------------------------------------------------------------------


def test_a_huge_upload_from_a_page_is_told_in_a_page(svc: Stack) -> None:
    """The applicant's supplement form (multipart, /apply/…) over the limit: a page in Chinese
    saying the limit and the way back, not the API's JSON; the API keeps its problem document."""
    big = PDF + b"0" * (21 * 1024 * 1024)
    r = anon(svc).post("/apply/progress/supplement", files=files(("big.pdf", big, "application/pdf")))
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("text/html")
    assert "提交的内容过大" in r.text and "21 MB" in r.text and 'href="/apply/progress/supplement"' in r.text
    r = anon(svc).post("/web/login", content=b"user=" + b"x" * (2 * 1024 * 1024),
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413 and "1 MB" in r.text and r.headers["content-type"].startswith("text/html")
    problem(anon(svc).post("/api/applications", content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                           headers={"Content-Type": "application/json"}), 413)


def test_notices_at_acceptance_supplement_and_closing(svc: Stack) -> None:
    receipt = apply(svc)
    case_id = _request_supplement(svc, receipt, "请补交质押合同原件；请补交评估报告")
    anon(svc, receipt["query_code"]).post(f"/api/applications/{receipt['number']}/supplements",
                                          files=files(("c.pdf", PDF, "application/pdf")))
    fire(svc, case_id, "approve", "wuhan_examiner", registration_number="2026420000001")
    p = progress(svc, receipt)
    kinds = [n["kind"] for n in p["notices"]]
    assert kinds == ["accepted", "supplement", "closed"]  # the 补正 list once; nothing for the resubmission
    accepted, supplement, closed = p["notices"]
    assert "受理" in accepted["text"] and receipt["number"] in accepted["text"]
    assert "1. 请补交质押合同原件\n2. 请补交评估报告" in supplement["text"]
    assert supplement["data"]["needs"] == ["请补交质押合同原件", "请补交评估报告"]
    assert "准予登记" in closed["text"] and "2026420000001" in closed["text"]
    assert p["status"] == "closed" and p["can_rate"] is True
    # through the outbox to the applicant's own contacts (email and SMS channels)
    with svc.engine.store.unit_of_work() as uow:
        outbox = [m for m in uow.list_outbox(limit=10_000) if m.topic == "applicant_notice" and m.case_id == case_id]
    assert [m.payload["kind"] for m in outbox] == kinds
    assert outbox[0].payload["audience"][0]["person"]["contacts"] == {"phone": APPLICANT["phone"],
                                                                      "email": APPLICANT["email"]}
    # what the office noted internally stays there
    assert all("registration_number" not in s for s in map(str, p["steps"]))


def test_refused_before_acceptance_is_not_accepted(svc: Stack) -> None:
    receipt = apply(svc)
    case = case_of(svc, receipt["number"])
    fire(svc, case["id"], "refuse", "wuhan_examiner", reason="出质专利已终止")
    p = progress(svc, receipt)
    assert p["status"] == "not_accepted"
    assert [n["kind"] for n in p["notices"]] == ["not_accepted"]
    assert "出质专利已终止" in p["notices"][0]["text"]


def test_an_extension_tells_its_reason(svc: Stack) -> None:
    data = {"requester": "武汉光谷智能装备有限公司", "respondent": "某侵权公司", "respondent_domicile": "domestic",
            "patent_number": "ZL202010000001.1", "patent_type": "invention", "claims": "停止侵权"}
    receipt = apply(svc, item="patent_infringement_adjudication", data=data)
    case = case_of(svc, receipt["number"])
    leader = svc.client("province_leader")
    url = f"/api/cases/{case['id']}/transitions/extend_filing"
    doc = f"/api/cases/{case['id']}/documents/extension_notice"
    assert leader.get(doc).status_code == 409  # no extension yet
    # 行政许可法 第四十二条: the reason and the approver come with the extension, or nothing moves
    r = leader.post(url, json={"data": {"approver": "副局长 李强"}})
    assert r.status_code == 422, r.text
    assert set(r.json()["fields"]) == {"reason"}
    assert leader.get(f"/api/cases/{case['id']}").json()["version"] == case["version"]
    r = leader.post(url, json={"data": {"reason": "涉案专利较多，需核对权属",
                                        "approver": "副局长 李强"}})
    assert r.status_code == 200, r.text
    due = r.json()["clocks"]["filing"]["statutory_due"]
    notice = progress(svc, receipt)["notices"][-1]
    assert notice["kind"] == "extended"
    assert "理由：涉案专利较多，需核对权属" in notice["text"] and "5个工作日" in notice["text"]
    assert "李强" not in notice["text"]  # who approved it is the office's record, not the applicant's notice
    # the 延期通知书: the reason, the approver, the new statutory last day, the case's org as issuer
    page = leader.get(doc)
    assert page.status_code == 200, page.text
    assert 'data-field="reason">涉案专利较多，需核对权属<' in page.text
    assert 'data-field="approver">副局长 李强<' in page.text
    assert f'data-field="statutory_due" datetime="{due}"' in page.text
    assert 'data-field="issuer">武汉市知识产权局<' in page.text
    history = leader.get(f"/api/cases/{case['id']}/history").json()["items"][-1]
    assert (history["data"]["reason"], history["data"]["approver"]) == ("涉案专利较多，需核对权属", "副局长 李强")


# --- ratings ------------------------------------------------------------------------------------


def _closed(s: Stack) -> tuple[dict[str, Any], str]:
    receipt = apply(s)
    case = case_of(s, receipt["number"])
    fire(s, case["id"], "accept", "wuhan_clerk")
    fire(s, case["id"], "approve", "wuhan_examiner")
    return receipt, case["id"]


def test_rating_once_after_closing(svc: Stack) -> None:
    receipt = apply(svc)
    url = f"/api/applications/{receipt['number']}/rating"
    client = anon(svc, receipt["query_code"])
    problem(client.post(url, json={"grade": 5}), 409)  # not closed yet
    case = case_of(svc, receipt["number"])
    fire(svc, case["id"], "accept", "wuhan_clerk")
    fire(svc, case["id"], "approve", "wuhan_examiner")
    for bad in (0, 6, -1, "5x", 4.5, True, None, [5]):
        problem(client.post(url, json={"grade": bad}), 422)
    problem(client.post(url, json={"grade": 5, "comment": "长" * 501}), 422)
    r = client.post(url, json={"grade": 5, "comment": "很快，谢谢"})
    assert r.status_code == 201, r.text
    assert r.json()["grade_label"] == "非常满意" and r.json()["rectification"] is None
    problem(client.post(url, json={"grade": 4}), 409)  # 一事一评
    p = progress(svc, receipt)
    assert p["rating"]["grade"] == 5 and p["can_rate"] is False
    history = svc.wuhan_clerk.get(f"/api/cases/{case['id']}/history").json()["items"]
    assert history[-1]["kind"] == "rated" and history[-1]["data"]["grade"] == 5
    assert not [c for c in svc.wuhan_supervisor.get("/api/cases", params={"item": "rating_rectification"}).json()["items"]
                if c["data"]["rated_case_number"] == receipt["number"]]


def test_a_bad_rating_opens_a_rectification_for_the_org_s_supervisor(svc: Stack) -> None:
    receipt, case_id = _closed(svc)
    r = anon(svc, receipt["query_code"]).post(f"/api/applications/{receipt['number']}/rating",
                                              json={"grade": 2, "comment": "材料要求前后不一致"})
    assert r.status_code == 201, r.text
    rect_number = r.json()["rectification"]["number"]
    listed = svc.wuhan_supervisor.get("/api/cases", params={"item": "rating_rectification"}).json()["items"]
    mine = [c for c in listed if c["number"] == rect_number]
    assert len(mine) == 1
    rect = mine[0]
    assert rect["org"] == "420100" and rect["data"]["rated_case_number"] == receipt["number"]
    assert rect["data"]["grade"] == 2 and rect["data"]["comment"] == "材料要求前后不一致"
    other = svc.client("yichang_supervisor").get("/api/cases", params={"item": "rating_rectification"}).json()["items"]
    assert rect_number not in [c["number"] for c in other]
    # the supervisor verifies, calls the applicant back, rectifies and replies
    boss = "wuhan_supervisor"
    fire(svc, rect["id"], "verify", boss, finding="属实：窗口两次告知的材料不一致")
    fire(svc, rect["id"], "revisit", boss, revisit_note="电话回访，申请人认可处理意见")
    done = fire(svc, rect["id"], "reply", boss, rectification="统一一次性告知清单",
                reply="经核实情况属实，已统一材料清单并对窗口人员进行了培训。")
    assert done["state"] == "replied" and done["clocks"]["handling"]["sla"] == "met"
    p = progress(svc, receipt)
    assert p["rating"]["rectification"]["reply"].startswith("经核实情况属实")
    assert p["notices"][-1]["kind"] == "rating_reply" and "已统一材料清单" in p["notices"][-1]["text"]


def test_a_rating_through_the_portal(svc: Stack) -> None:
    receipt, _ = _closed(svc)
    r = portal(svc).post(f"/api/applications/{receipt['number']}/rating", json={"grade": 1},
                         headers={"X-Applicant-Id": APPLICANT["id"]})
    assert r.status_code == 201 and r.json()["grade_label"] == "非常不满意" and r.json()["rectification"]


# --- a bundle -----------------------------------------------------------------------------------


def test_a_bundle_application_waits_on_its_child_and_resumes_it(svc: Stack) -> None:
    data = {"transferor": "某大学", "transferee": "武汉光谷智能装备有限公司", "pledgor": "武汉光谷智能装备有限公司",
            "pledgee": "招商银行武汉分行", "patent_numbers": "ZL202310000002.X"}
    receipt = apply(svc, item="patent_transfer_and_pledge", data=data)
    bundle = case_of(svc, receipt["number"])
    children = {c["item_id"]: c for c in svc.wuhan_clerk.get("/api/cases", params={"limit": 500}).json()["items"]
                if c["parent_id"] == bundle["id"]}
    assert all(c["data"]["channel"] == "online" for c in children.values())
    pledge = children[PLEDGE]
    fire(svc, pledge["id"], "request_supplement", "wuhan_examiner", supplement_items="质押合同")
    p = progress(svc, receipt)
    assert p["status"] == "awaiting_supplement" and p["needs"] == ["专利权质押登记：质押合同"]
    r = anon(svc, receipt["query_code"]).post(f"/api/applications/{receipt['number']}/supplements",
                                              files=files(("合同.pdf", PDF, "application/pdf")))
    assert r.status_code == 200, r.text
    assert svc.wuhan_clerk.get(f"/api/cases/{pledge['id']}").json()["state"] == "under_review"


def test_receipts_and_progress_are_not_cached(svc: Stack) -> None:
    receipt = apply(svc)
    r = anon(svc, receipt["query_code"]).get(f"/api/applications/{receipt['number']}")
    assert r.headers["Cache-Control"] == "no-store"


def test_a_special_procedure_is_typed_approved_and_told(svc: Stack) -> None:
    """特别程序 (行政许可法第四十五条; 令第81号 第三十七条) over HTTP: the kind, the approver and the
    expected days come with the step, or nothing moves (422 naming each); another city's examiner
    does not see the case (404); the applicant is told the kind and the expected time through their
    channels; the 特别程序告知书 can be issued while it is under way."""
    data = {"requester": "武汉光谷智能装备有限公司", "respondent": "某侵权公司", "respondent_domicile": "domestic",
            "patent_number": "ZL202010000002.1", "patent_type": "invention", "claims": "停止侵权"}
    receipt = apply(svc, item="patent_infringement_adjudication", data=data)
    case = case_of(svc, receipt["number"])
    today = svc.engine.now().date().isoformat()
    fire(svc, case["id"], "file_case", "wuhan_examiner", panel="王、李、赵")
    fire(svc, case["id"], "serve", "wuhan_clerk", served_on=today)
    fire(svc, case["id"], "receive_answer", "wuhan_clerk")
    before = fire(svc, case["id"], "forward_answer", "wuhan_clerk")
    examiner = svc.client("wuhan_examiner")
    url = f"/api/cases/{case['id']}/transitions/start_appraisal"
    doc = f"/api/cases/{case['id']}/documents/special_procedure_notice"
    assert examiner.get(doc).status_code == 409  # no procedure under way
    steps = examiner.get("/api/definitions/patent_infringement_adjudication").json()["transitions"]
    step = next(t for t in steps if t["trigger"] == "start_appraisal")
    assert step["special"] == [{"kind": "verification", "label": "检验"}, {"kind": "appraisal", "label": "鉴定"}]
    assert step["requires"] == ["kind", "approver", "expected_days"]
    r = examiner.post(url, json={"data": {}})
    assert r.status_code == 422, r.text
    assert r.json()["fields"] == {"kind": "required", "approver": "required", "expected_days": "required"}
    r = examiner.post(url, json={"data": {"kind": "auction", "approver": "副局长 李强", "expected_days": 400}})
    assert r.status_code == 422, r.text
    assert set(r.json()["fields"]) == {"kind", "expected_days"}
    after = examiner.get(f"/api/cases/{case['id']}").json()
    assert (after["version"], after["state"]) == (before["version"], "under_examination")
    assert "special_procedure" not in after["clocks"]
    good = {"kind": "appraisal", "approver": "副局长 李强", "expected_days": 20}
    r = svc.client("yichang_examiner").post(url, json={"data": good})
    assert r.status_code == 404, r.text  # another city's examiner: no such case
    r = examiner.post(url, json={"data": good})
    assert r.status_code == 200, r.text
    moved = r.json()
    clock = moved["clocks"]["special_procedure"]
    assert (clock["kind"], clock["status"], clock["limit"], clock["sla"]) == ("special", "running", "20 days", "on_track")
    assert moved["clocks"]["handling"]["status"] == "paused"
    notice = progress(svc, receipt)["notices"][-1]
    assert notice["kind"] == "special"
    assert "鉴定" in notice["text"] and "20日" in notice["text"] and "不计算在办理期限内" in notice["text"]
    assert "李强" not in notice["text"]  # who approved it is on the office's notice, not the message
    page = examiner.get(doc)
    assert page.status_code == 200, page.text
    assert 'data-field="kind">鉴定<' in page.text and 'data-field="approver">副局长 李强<' in page.text
    assert f'data-field="expected_end" datetime="{clock["statutory_due"]}"' in page.text
    assert 'data-field="basis">《行政许可法》第四十五条<' in page.text
    history = examiner.get(f"/api/cases/{case['id']}/history").json()["items"][-1]
    assert history["data"]["special_procedure"]["expected_end"] == clock["statutory_due"]
    fire(svc, case["id"], "appraisal_done", "wuhan_examiner")
    assert examiner.get(doc).status_code == 409  # over: nothing to tell any more
