"""The web pages without a browser (TestClient over a memory engine): passwords, sessions, CSRF,
org scope, and every page and operation answering as it should."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adapters import build_engine
from adapters.directory import Person
from api import web
from api.app import create_app
from api.web.security import Signer, hash_password, verify_password
from tests.web_support import web_stack
from workflow.legaltime import TZ
from workflow.model import Actor

PLEDGE = "patent_pledge_registration"
PW = "Pages-test-2024!"
PW_HASH = hash_password(PW)  # once: scrypt is slow on purpose
DATA = {"request_type": "registration", "channel": "paper", "pledgor": "甲公司", "pledgee": "乙银行",
        "patent_numbers": "ZL1"}
PEOPLE = {
    "clerk": ("clerk", "420100"), "examiner": ("examiner", "420100"), "boss": ("supervisor", "420100"),
    "yc": ("clerk", "420500"), "admin": ("admin", "420000"),
}


def actor(pid: str) -> Actor:
    role, org = PEOPLE[pid]
    return Actor(id=pid, roles={role}, org=org)


@pytest.fixture
def env() -> Any:
    return web_stack({pid: (pid.upper(), role, org) for pid, (role, org) in PEOPLE.items()}, PW_HASH)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def signed_in(app: Any, user: str) -> TestClient:
    c = TestClient(app)
    token = csrf_of(c.get("/web/login").text)
    r = c.post("/web/login", data={"user": user, "password": PW, "csrf": token}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return c


def test_password_hash_is_scrypt_salted_and_verifies() -> None:
    h = hash_password("秘密 password")
    assert h.startswith("scrypt$32768$8$1$") and h != hash_password("秘密 password")
    assert verify_password("秘密 password", h)
    assert not verify_password("秘密 passwort", h)
    assert not verify_password("x", None) and not verify_password("x", "md5$abc")
    with pytest.raises(ValueError):
        hash_password("")


def test_session_cookies_are_signed() -> None:
    s = Signer(b"0123456789abcdef0123")
    session, cookie = s.new_session("clerk", "fp", 60)
    assert s.read_session(cookie) == session
    body, mac = cookie.split(".")
    assert s.read_session(body + "." + mac[:-1] + ("A" if mac[-1] != "A" else "B")) is None
    assert Signer(b"another-secret-of-20-bytes").read_session(cookie) is None
    assert s.read_session("garbage") is None
    s.end_session(session)
    assert s.read_session(cookie) is None  # signed out
    assert s.check_csrf("sid", s.csrf("sid")) and not s.check_csrf("sid2", s.csrf("sid"))


def test_sign_in_sets_httponly_lax_cookie_and_wrong_password_fails(env: Any) -> None:
    _, app, _ = env
    c = TestClient(app)
    r = c.get("/web/worklist", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/web/login?next=")
    token = csrf_of(c.get("/web/login").text)
    bad = c.post("/web/login", data={"user": "clerk", "password": "nope", "csrf": token})
    assert bad.status_code == 401 and "用户名或密码不正确" in bad.text
    unknown = c.post("/web/login", data={"user": "nobody", "password": PW, "csrf": token})
    assert unknown.status_code == 401
    r = c.post("/web/login", data={"user": "clerk", "password": PW, "csrf": token}, follow_redirects=False)
    cookie = r.headers["set-cookie"]
    assert "cc_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    page = c.get("/web/worklist")
    assert page.status_code == 200 and "我的待办" in page.text
    assert "Content-Security-Policy" in page.headers and "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_secure_cookie_when_configured() -> None:
    engine = build_engine("memory://")
    app = create_app(engine)
    if not any(getattr(r, "path", "") == "/web/login" for r in app.routes):
        app.include_router(web.router)
    web.configure(app, web.WebSettings(secret="s" * 32, secure_cookie=True))
    web.add_person(web.accounts_for(engine), Person(id="c", roles=frozenset({"clerk"}), org="420100"), PW)
    c = TestClient(app, base_url="https://testserver")
    token = csrf_of(c.get("/web/login").text)
    r = c.post("/web/login", data={"user": "c", "password": PW, "csrf": token}, follow_redirects=False)
    assert "Secure" in r.headers["set-cookie"]


def test_changing_the_password_ends_old_sessions(env: Any) -> None:
    engine, app, _ = env
    c = signed_in(app, "clerk")
    assert c.get("/web/worklist", follow_redirects=False).status_code == 200
    web.set_password(web.accounts_for(engine), "clerk", "a-new-password-2024")
    assert c.get("/web/worklist", follow_redirects=False).status_code == 303


def test_repeated_failures_are_throttled(env: Any) -> None:
    _, app, _ = env
    c = TestClient(app)
    token = csrf_of(c.get("/web/login").text)
    for _ in range(10):
        c.post("/web/login", data={"user": "boss", "password": "wrong", "csrf": token})
    r = c.post("/web/login", data={"user": "boss", "password": PW, "csrf": token})
    assert r.status_code == 429


def test_every_post_needs_the_csrf_token(env: Any) -> None:
    engine, app, _ = env
    case = engine.open_case(PLEDGE, actor=actor("clerk"), data=DATA)
    c = signed_in(app, "boss")
    posts = [f"/web/cases/{case.id}/fire/accept", f"/web/cases/{case.id}/assign",
             f"/web/cases/{case.id}/transfer", f"/web/cases/{case.id}/correct",
             f"/web/cases/{case.id}/documents/receipt", "/web/cases/new", "/web/reports", "/web/logout"]
    for url in posts:
        r = c.post(url, data={"csrf": "forged", "reason": "x", "to_org": "420500", "item": PLEDGE})
        assert r.status_code == 403, url
        assert "CSRF" in r.text
    r = c.post(f"/web/cases/{case.id}/attachments", data={"csrf": "forged"},
               files={"file": ("a.pdf", b"%PDF-1.4\n", "application/pdf")})
    assert r.status_code == 403
    assert engine.get_case(case.id).version == case.version


def test_wuhan_never_sees_yichang(env: Any) -> None:
    engine, app, _ = env
    yc = engine.open_case(PLEDGE, actor=actor("yc"), data={**DATA, "pledgor": "宜昌某公司"})
    mine = engine.open_case(PLEDGE, actor=actor("clerk"), data=DATA)
    c = signed_in(app, "clerk")
    for url in ("/web/worklist", "/web/cases?state=all", "/web/cases?org=420500", "/web/live.json?view=worklist"):
        body = c.get(url).text
        assert yc.number not in body and yc.id not in body and "宜昌某公司" not in body
    assert mine.number in c.get("/web/worklist").text
    for url in (f"/web/cases/{yc.id}", f"/web/cases/{yc.id}/receipt", f"/web/cases/{yc.id}/documents/decision"):
        r = c.get(url)
        assert r.status_code == 404 and yc.number not in r.text
    token = csrf_of(c.get(f"/web/cases/{mine.id}").text)
    r = c.post(f"/web/cases/{yc.id}/fire/accept", data={"csrf": token, "version": "1"})
    assert r.status_code == 404
    assert engine.get_case(yc.id).state == "received"


def test_clerk_flow_with_refusal_in_place(env: Any) -> None:
    engine, app, _ = env
    c = signed_in(app, "clerk")
    new = c.get(f"/web/cases/new?item={PLEDGE}").text
    token = csrf_of(new)
    r = c.post("/web/cases/new", data={"csrf": token, "item": PLEDGE, "f_channel": "fax"})
    assert r.status_code == 422 and "办理渠道：应从选项中选择" in r.text
    r = c.post("/web/cases/new", data={"csrf": token, "item": PLEDGE, "idem": "k1", **{f"f_{k}": v for k, v in DATA.items()}},
               follow_redirects=False)
    assert r.status_code == 303
    case_id = r.headers["location"].split("/")[3].split("?")[0]
    page = c.get(f"/web/cases/{case_id}").text
    assert "已收件" not in page  # no flash without ?done
    assert "已收件。可在下方" in c.get(f"/web/cases/{case_id}?done=opened").text
    # a dispute is not 立案 when it comes in: that is a later step of its own
    dispute = engine.open_case("patent_infringement_adjudication", actor=actor("clerk"), data={
        "requester": "甲公司", "respondent": "乙公司", "respondent_domicile": "domestic",
        "patent_number": "ZL201910000001.X", "patent_type": "invention", "claims": "停止侵权"})
    flash = re.search(r'class="flash[^"]*"[^>]*>([^<]+)<', c.get(f"/web/cases/{dispute.id}?done=opened").text)
    assert flash is not None and flash.group(1).startswith("已收到请求书。") and "立案" not in flash.group(1)
    r = c.post(f"/web/cases/{case_id}/fire/request_supplement", data={"csrf": token, "version": "1"})
    assert r.status_code == 422 and "一次性告知的补正内容：必填" in r.text
    r = c.post(f"/web/cases/{case_id}/fire/request_supplement",
               data={"csrf": token, "version": "1", "f_supplement_items": "补交合同"}, follow_redirects=False)
    assert r.status_code == 303
    assert engine.get_case(case_id).clocks["handling"].status == "paused"
    stale = c.post(f"/web/cases/{case_id}/fire/resubmit", data={"csrf": token, "version": "1"})
    assert stale.status_code == 409 and "已被他人更新" in stale.text
    r = c.post(f"/web/cases/{case_id}/fire/approve", data={"csrf": token, "version": "2"})
    assert r.status_code == 409  # not allowed in this state: explained in place
    r = c.post(f"/web/cases/{case_id}/fire/resubmit", data={"csrf": token, "version": "2"}, follow_redirects=False)
    assert r.status_code == 303
    case = engine.get_case(case_id)
    assert case.state == "under_review" and len(case.clocks["handling"].paused_spans) == 1


def test_bundle_opens_children(env: Any) -> None:
    engine, app, _ = env
    c = signed_in(app, "clerk")
    token = csrf_of(c.get("/web/cases/new?item=patent_transfer_and_pledge").text)
    data = {"transferor": "甲", "transferee": "乙", "pledgor": "乙", "pledgee": "丙银行",
            "patent_numbers": "ZL9", "channel": "online"}
    r = c.post("/web/cases/new", data={"csrf": token, "item": "patent_transfer_and_pledge",
                                       **{f"f_{k}": v for k, v in data.items()}}, follow_redirects=False)
    assert r.status_code == 303
    page = c.get(r.headers["location"]).text
    assert "子事项" in page and "专利权质押登记" in page and "专利权转让登记" in page
    # each child holds the whole form; what its own item does not declare (the transfer's
    # 出质人, 质权人, an amount) is labelled as the 一件事's form labels it, never by its key
    bundle = engine.get_case(engine.list_cases(actor("clerk"), item_id="patent_transfer_and_pledge")[0].id)
    transfer = next(cid for cid in bundle.children
                    if engine.get_case(cid).item_id == "patent_right_transfer_filing")
    assert engine.get_case(transfer).data["pledgor"] == "乙"  # the transfer case holds the pledge's parties
    page = c.get(f"/web/cases/{transfer}").text
    rows = re.findall(r'<th scope="row">([^<]+)</th>', page)
    assert "出质人（通常即受让人）" in rows and "质权人" in rows
    applied = page.split('id="h-data"')[1].split("办理中录入的信息")[0]  # came with the application
    assert "出质人（通常即受让人）" in applied and "办理中录入的信息" not in page
    assert not {"pledgor", "pledgee", "secured_amount", "request_type"} & set(rows), rows


def test_supervisor_operations(env: Any) -> None:
    engine, app, _ = env
    case = engine.open_case(PLEDGE, actor=actor("clerk"), data=DATA)
    engine.fire(case.id, "accept", actor=actor("clerk"))
    c = signed_in(app, "boss")
    page = c.get(f"/web/cases/{case.id}").text
    token = csrf_of(page)
    assert "主管操作" in page and "撤销上一步：“受理”" in page
    r = c.post(f"/web/cases/{case.id}/assign", data={"csrf": token, "assignee": "examiner", "version": "2"},
               follow_redirects=False)
    assert r.status_code == 303 and engine.get_case(case.id).assignee == "examiner"
    r = c.post(f"/web/cases/{case.id}/correct", data={"csrf": token, "reason": "", "version": "3"})
    assert r.status_code == 422 and "理由：必填" in r.text
    r = c.post(f"/web/cases/{case.id}/correct", data={"csrf": token, "reason": "误点受理", "version": "3"},
               follow_redirects=False)
    assert r.status_code == 303 and engine.get_case(case.id).state == "received"
    r = c.post(f"/web/cases/{case.id}/transfer", data={"csrf": token, "to_org": "420500", "reason": "管辖", "version": "4"},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/web/?done=transferred")
    assert engine.get_case(case.id).org == "420500"
    assert c.get(f"/web/cases/{case.id}").status_code == 404  # Wuhan lost it


def test_clerk_cannot_assign(env: Any) -> None:
    engine, app, _ = env
    case = engine.open_case(PLEDGE, actor=actor("clerk"), data=DATA)
    c = signed_in(app, "clerk")
    page = c.get(f"/web/cases/{case.id}").text
    assert "主管操作" not in page
    r = c.post(f"/web/cases/{case.id}/assign", data={"csrf": csrf_of(page), "assignee": "clerk"})
    assert r.status_code == 403 and "没有权限" in r.text


def test_attachments_and_documents(env: Any) -> None:
    engine, app, _ = env
    case = engine.open_case(PLEDGE, actor=actor("clerk"), data=DATA)
    c = signed_in(app, "clerk")
    token = csrf_of(c.get(f"/web/cases/{case.id}").text)
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    r = c.post(f"/web/cases/{case.id}/attachments", data={"csrf": token, "label": "申请书"},
               files={"file": ("申请书.pdf", pdf, "application/pdf")}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = c.get(f"/web/cases/{case.id}").text
    assert "申请书.pdf" in page
    href = re.search(r'href="(/web/cases/[^"]+/attachments/[^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert c.get(href).content == pdf
    bad = c.post(f"/web/cases/{case.id}/attachments", data={"csrf": token},
                 files={"file": ("x.exe", b"MZ\x90\x00", "application/octet-stream")})
    assert bad.status_code in (415, 422) and "附件未上传" in bad.text
    receipt = c.get(f"/web/cases/{case.id}/receipt")
    assert receipt.status_code == 200 and "受理回执" in receipt.text and case.number in receipt.text
    assert c.get(f"/web/cases/{case.id}/receipt?format=pdf").content.startswith(b"%PDF")
    # not accepted yet: the acceptance notice is neither offered nor issued, nor the decision
    page = c.get(f"/web/cases/{case.id}").text
    assert 'data-document="receipt"' in page and 'data-document="acceptance_notice"' not in page
    r = c.post(f"/web/cases/{case.id}/documents/acceptance_notice", data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 409 and "现在不能出具受理通知书" in r.text and "受理" in r.text
    assert c.get(f"/web/cases/{case.id}/documents/decision").status_code == 409
    assert c.get(f"/web/cases/{case.id}/documents/decision?format=pdf").status_code == 409
    assert "document_issued" not in [e.kind for e in engine.history(case.id)]
    engine.fire(case.id, "accept", actor=actor("clerk"))
    page = c.get(f"/web/cases/{case.id}").text
    assert 'data-document="acceptance_notice"' in page and 'data-document="decision"' not in page
    r = c.post(f"/web/cases/{case.id}/documents/acceptance_notice", data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 303
    kinds = [e.kind for e in engine.history(case.id)]
    assert "attached" in kinds and "document_issued" in kinds


def test_supervisor_pages_and_downloads(env: Any) -> None:
    engine, app, clock = env
    clock.at = datetime.now(TZ) - timedelta(days=25)
    red = engine.open_case(PLEDGE, actor=actor("clerk"), data=DATA)
    engine.fire(red.id, "accept", actor=actor("clerk"))  # accepted at once: a late decision, no missed 一次性告知
    done = engine.open_case(PLEDGE, actor=actor("clerk"), data=DATA)
    engine.fire(done.id, "accept", actor=actor("clerk"))
    engine.fire(done.id, "approve", actor=actor("examiner"))
    clock.at = None
    engine.sweep()
    c = signed_in(app, "boss")
    board = c.get("/web/board").text
    assert f'data-cell="420100|{PLEDGE}"' in board and "cell-darkred" in board
    assert red.number in c.get("/web/breaches").text
    assert red.number in c.get("/web/breaches?level=over_statutory&org=420100").text
    assert red.number not in c.get("/web/breaches?level=overdue").text
    charts = c.get("/web/charts")
    assert charts.status_code == 200 and charts.text.count("<svg") >= 4
    month = (datetime.now(TZ) - timedelta(days=25)).strftime("%Y-%m")
    report = c.get(f"/web/reports?month={month}")
    assert report.status_code == 200 and "武汉市" in report.text
    csv = c.get(f"/web/reports/monthly.csv?month={month}")
    assert csv.status_code == 200 and "按时办结率" in csv.content.decode("utf-8-sig")
    xlsx = c.get(f"/web/reports/monthly.xlsx?month={month}")
    assert xlsx.content[:2] == b"PK"
    live = c.get("/web/live.json?view=board").json()
    assert live["cells"][f"420100|{PLEDGE}"]["level"] == "over_statutory"
    for url in ("/web/calendar", "/web/definitions", f"/web/definitions/{PLEDGE}", "/web/cases"):
        assert c.get(url).status_code == 200, url
    assert signed_in(app, "clerk").get("/web/board").status_code == 403


def test_a_deemed_acceptance_shows_on_the_board_the_breaches_and_the_history(env: Any) -> None:
    engine, app, clock = env
    clock.at = datetime.now(TZ) - timedelta(days=25)
    held = engine.open_case(PLEDGE, actor=actor("clerk"), data=DATA)  # no 补正 notice, never accepted
    clock.at = None
    engine.sweep()
    c = signed_in(app, "boss")
    board = c.get("/web/board").text
    assert "视为受理1" in board and 'data-live-total="deemed_accepted">1<' in board
    assert held.number in c.get("/web/breaches").text
    assert held.number in c.get("/web/breaches?level=deemed_accepted").text
    assert held.number not in c.get("/web/breaches?level=over_statutory").text
    page = c.get(f"/web/cases/{held.id}").text
    assert "逾期未一次性告知，视为自收到申请材料之日起受理" in page
    assert c.get("/web/live.json?view=board").json()["cells"][f"420100|{PLEDGE}"]["level"] == "deemed_accepted"


def test_definitions_show_diagram_and_limits(env: Any) -> None:
    _, app, _ = env
    c = signed_in(app, "clerk")
    page = c.get(f"/web/definitions/{PLEDGE}").text
    assert '<svg class="diagram"' in page and "stateDiagram-v2" in page
    assert "网上提交 2个工作日" in page and "纸件提交 3个工作日" in page  # commitment: floor(2/3 × 5)
    assert "任何未办结环节" in page and "申请人撤回" in page
    listing = c.get("/web/definitions").text
    for d in ("专利权质押登记", "专利侵权纠纷行政裁决", "专利转让与质押登记一件事"):
        assert d in listing


def test_calendar_override_upload_is_admin_only(env: Any) -> None:
    _, app, _ = env
    year = datetime.now(TZ).year + 2
    doc = f"year: {year}\nsource: 国办发明电〔{year - 1}〕1号\nholidays: ['{year}-01-01']\nworkdays: []\n"
    c = signed_in(app, "admin")
    token = csrf_of(c.get("/web/calendar").text)
    r = c.post("/web/calendar", data={"csrf": token}, files={"file": ("c.yaml", io.BytesIO(doc.encode()), "text/yaml")},
               follow_redirects=False)
    assert r.status_code == 303, r.text
    assert f'data-year="{year}"' in c.get("/web/calendar").text
    clerk = signed_in(app, "clerk")
    r = clerk.post("/web/calendar", data={"csrf": csrf_of(clerk.get("/web/calendar").text)},
                   files={"file": ("c.yaml", io.BytesIO(doc.encode()), "text/yaml")})
    assert r.status_code == 403


def test_static_files_are_local(env: Any) -> None:
    _, app, _ = env
    c = signed_in(app, "clerk")
    page = c.get("/web/worklist").text
    assert "http://" not in page and "https://" not in page  # no CDN
    assert c.get("/web/static/app.css").status_code == 200
    assert "javascript" in c.get("/web/static/app.js").headers["content-type"]
    assert c.get("/web/static/..%2Fweb%2Froutes.py").status_code == 404


JUDICIAL = {"applicants": "甲公司、乙公司", "mediation_org": "武汉市知识产权纠纷人民调解委员会",
            "agreement_effective_on": "2026-12-02", "agreement_subject": "license_fee"}


def test_provisional_dates_are_marked_and_a_clerk_confirms_a_held_expiry(env: Any) -> None:
    """Issue 15: 暂定 wherever a person reads a provisional date; a party's period that ran out
    on a provisional last day waits on the worklist and the case page until confirmed."""
    engine, app, clock = env
    clock.at = datetime(2026, 12, 2, 10, 0, tzinfo=TZ)
    # the parties' 30 days from 2026-12-02: the 30th day is 元旦 2027 -> Mon 2027-01-04 (暂定)
    case = engine.open_case("judicial_confirmation", actor=actor("clerk"), data=JUDICIAL)
    pledge = engine.open_case(PLEDGE, actor=actor("clerk"), data=DATA)  # 5 wd, all in 2026
    c = signed_in(app, "clerk")
    page = c.get(f"/web/cases/{case.id}").text
    assert re.search(r"期间最后一日 2027-01-04<abbr[^>]*data-provisional=\"statutory\"[^>]*>（暂定）", page)
    assert "暂定" not in c.get(f"/web/cases/{pledge.id}").text.split('id="h-clocks"')[1].split("</section>")[0]
    assert "2027-01-04 <abbr" in c.get("/web/").text  # the worklist row
    # after the provisional last day the sweep holds the expiry: marked, not lapsed
    clock.at = datetime(2027, 1, 5, 9, 0, tzinfo=TZ)
    engine.sweep()
    assert engine.get_case(case.id).state == "agreement_signed"
    assert f'data-awaiting="{case.id}"' in c.get("/web/").text
    page = c.get(f"/web/cases/{case.id}").text
    assert 'data-awaiting="application_period"' in page and "确认期间届满" in page
    token = csrf_of(page)
    url = f"/web/cases/{case.id}/clocks/application_period/confirm-expiry"
    version = str(engine.get_case(case.id).version)
    r = c.post(url, data={"csrf": token, "version": version, "reason": " "})
    assert r.status_code == 422 and "理由" in r.text and engine.get_case(case.id).state == "agreement_signed"
    examiner = signed_in(app, "examiner")
    r = examiner.post(url, data={"csrf": csrf_of(examiner.get("/web/").text), "version": version, "reason": "x"})
    assert r.status_code == 403
    r = c.post(url, data={"csrf": token, "version": version, "reason": "双方确认未在期限内申请"},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("done=expiry_confirmed")
    assert engine.get_case(case.id).state == "lapsed"
    page = c.get(f"/web/cases/{case.id}?done=expiry_confirmed").text
    assert "已确认期间届满" in page and "确认期间届满" in page and "双方确认未在期限内申请" in page


def test_calendar_page_counts_provisional_cases_and_offers_the_template(env: Any) -> None:
    engine, app, clock = env
    clock.at = datetime(2026, 12, 7, 10, 0, tzinfo=TZ)
    engine.open_case("judicial_confirmation", actor=actor("clerk"), data=JUDICIAL)
    engine.open_case(PLEDGE, actor=actor("clerk"), data=DATA)
    engine.open_case("judicial_confirmation", actor=actor("yc"), data=JUDICIAL)  # Yichang
    c = signed_in(app, "boss")
    page = c.get("/web/calendar").text
    assert 'data-year="2027"' in page and "按法定节假日推算（暂定）" in page
    assert 'data-provisional-cases="1"' in page and "2027年 1 件" in page  # Wuhan's only
    assert 'href="/web/calendar/template/2027"' in page
    r = c.get("/web/calendar/template/2027")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/yaml")
    assert "  - 2027-01-01   # 元旦（周五）" in r.text and 'source: ""' in r.text
    assert c.get("/web/calendar/template/27").status_code == 404
    # the admin loads a notice that leaves 除夕 a working day: loaded as given, with a warning
    admin = signed_in(app, "admin")
    doc = "year: 2027\nsource: 国务院办公厅关于2027年部分节假日安排的通知\nholidays: [2027-01-01]\n"
    r = admin.post("/web/calendar", data={"csrf": csrf_of(admin.get("/web/calendar").text)},
                   files={"file": ("c.yaml", io.BytesIO(doc.encode()), "text/yaml")}, follow_redirects=False)
    assert r.status_code == 303
    page = admin.get("/web/calendar?done=calendar").text
    assert "data-law-warnings" in page and "2027-02-05 农历除夕" in page
    ev = [e for e in engine.history(engine.list_cases(item_id="judicial_confirmation")[0].id)
          if e.kind == "calendar_recomputed"][0]
    assert ev.actor_id == "admin" and ev.data["source"] == "国务院办公厅关于2027年部分节假日安排的通知"
    assert 'data-provisional-cases="0"' in c.get("/web/calendar").text


def _alerts(html: str) -> list[str]:
    return re.findall(r"data-page-alert>([^<]+)<", html)


def test_order_refusals_are_said_even_when_their_form_is_gone(env: Any, monkeypatch: Any) -> None:
    """督办 on the case page: a refusal whose form the page no longer shows (a second reply, a
    reply to a lapsed order, a clerk's order, a step that is not the clerk's) is said at the top;
    a value the engine refuses is a 422 naming the field, with what was typed kept. A refused
    reply reads the case's orders once (why it was refused and the page it is said on)."""
    engine, app, _ = env
    reads: list[str] = []
    real_case_orders = engine.case_orders

    def case_orders(case_id: str, *args: Any, **kw: Any) -> Any:
        reads.append(case_id)
        return real_case_orders(case_id, *args, **kw)

    monkeypatch.setattr(engine, "case_orders", case_orders)
    case = engine.open_case(PLEDGE, actor=actor("clerk"), data=DATA)
    boss, clerk = signed_in(app, "boss"), signed_in(app, "clerk")
    token = csrf_of(boss.get(f"/web/cases/{case.id}").text)
    long_reason = "理" * 1500
    r = boss.post(f"/web/cases/{case.id}/orders",
                  data={"csrf": token, "reason": long_reason, "action": "说明进展", "reply_days": "3"})
    assert r.status_code == 422 and "督办事由：不能超过 1000 字" in r.text and long_reason in r.text
    r = boss.post(f"/web/cases/{case.id}/orders",
                  data={"csrf": token, "reason": "进度慢", "action": "说明进展", "reply_days": "00000003x"})
    assert r.status_code == 422 and "答复期限（工作日）：应为 1 至 60 的整数（工作日）" in r.text
    assert "00000003x" in r.text and "进度慢" in r.text and engine.case_orders(case.id) == []
    r = boss.post(f"/web/cases/{case.id}/orders", data={"csrf": token, "reason": "进度慢", "action": "说明进展",
                                                          "reply_days": "3"}, follow_redirects=False)
    assert r.status_code == 303
    (order,) = engine.case_orders(case.id)

    ctoken = csrf_of(clerk.get(f"/web/cases/{case.id}").text)
    r = clerk.post(f"/web/cases/{case.id}/orders", data={"csrf": ctoken, "reason": "a", "action": "b", "reply_days": "3"})
    assert r.status_code == 403 and any("无权进行此操作" in a for a in _alerts(r.text)), _alerts(r.text)
    r = clerk.post(f"/web/cases/{case.id}/orders/{order.id}/reply", data={"csrf": ctoken, "text": "答" * 1001})
    assert r.status_code == 422 and "答复：不能超过 1000 字" in r.text and "答" * 1001 in r.text
    reply = f"/web/cases/{case.id}/orders/{order.id}/reply"
    assert clerk.post(reply, data={"csrf": ctoken, "text": "已办"}, follow_redirects=False).status_code == 303
    reads.clear()
    r = clerk.post(reply, data={"csrf": ctoken, "text": "再答"})
    assert r.status_code == 409 and _alerts(r.text) == ["未能答复：该督办已答复，不能再次答复"]
    assert reads == [case.id]

    r = clerk.post(f"/web/cases/{case.id}/fire/approve", data={"csrf": ctoken, "version": str(case.version)})
    assert r.status_code in (403, 409) and any(a.startswith("未能办理“") for a in _alerts(r.text)), _alerts(r.text)

    lapsing = engine.issue_order(case.id, actor=actor("boss"), reason="再督", action="快办", reply_days=2)
    engine.fire(case.id, "accept", actor=actor("clerk"))
    engine.fire(case.id, "approve", actor=actor("examiner"))
    reads.clear()
    r = clerk.post(f"/web/cases/{case.id}/orders/{lapsing.id}/reply", data={"csrf": ctoken, "text": "答复"})
    assert r.status_code == 409 and _alerts(r.text) == ["未能答复：该督办已失效（案件已办结），不能再答复"]
    assert reads == [case.id]
    r = boss.post(f"/web/cases/{case.id}/orders", data={"csrf": token, "reason": "a", "action": "b", "reply_days": "3"})
    assert r.status_code == 409 and _alerts(r.text) == ["未能督办：案件已办结，不能再督办"]
    assert "data-page-alert" not in clerk.get(f"/web/cases/{case.id}").text


def test_a_too_large_order_form_leads_back_to_its_case_page(env: Any) -> None:
    """The 413 page of a case page's text form: 返回 to the case page (the form's URL answers
    only POST) and advice about the text typed, not about files."""
    _, app, _ = env
    r = TestClient(app).post("/web/cases/abc123/orders", content=b"reason=" + b"x" * (2 * 1024 * 1024),
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413 and 'href="/web/cases/abc123"' in r.text
    assert "文件" not in r.text and "文字过长" in r.text
    from api.limits import back_link

    assert back_link("/web/cases/abc123/orders/o1/reply") == "/web/cases/abc123"
    assert back_link("/apply/progress/supplement") == "/apply/progress/supplement"
    assert back_link("/api/cases") == "/"


def test_a_withdrawn_case_s_clocks_say_withdrawn_not_on_time(env: Any) -> None:
    """A clock the withdrawal stopped shows 已撤回, never 按时办结 (nothing was 办结); the case's
    own level is withdrawn too (QA: the clock line read 按时办结 已停止)."""
    engine, app, _ = env
    case = engine.open_case(PLEDGE, actor=actor("clerk"), data=DATA)
    case = engine.fire(case.id, "withdraw", actor=actor("clerk"), data={"reason": "申请人书面撤回"})
    assert case.sla == "withdrawn" and case.clocks["handling"].sla == "met"  # the clock stopped in time
    page = signed_in(app, "clerk").get(f"/web/cases/{case.id}").text
    handling = re.search(r'<article class="clock[^"]*" data-clock="handling".*?</h3>', page, re.S)
    assert handling is not None and "已撤回" in handling.group(0) and "按时办结" not in handling.group(0)
