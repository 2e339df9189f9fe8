"""Case operations over HTTP: assign, transfer, correct, suspensions, receipts and documents,
attachments — with their refusals as problem documents."""

from __future__ import annotations

import contextlib
import io
import warnings
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import pypdf
import pytest

from adapters import build_engine
from adapters.attachments import AttachmentPolicy, Attachments, MemoryAttachmentStore
from adapters.documents import DocumentRenderer, DocumentSettings
from api.app import create_app
from api.auth import issue_token
from api.routes_ops import Ops, configure, ops_from_env
from api.settings import ApiSettings
from api.tokens import tokens_for
from workflow.legaltime import TZ

with warnings.catch_warnings():  # starlette's note about httpx2; httpx is what the project uses
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

FIX = Path(__file__).resolve().parents[1] / "fixtures"
PERSONAS = {
    "clerk": ("clerk", "420100"), "examiner": ("examiner", "420100"),
    "supervisor": ("supervisor", "420100"), "yichang_clerk": ("clerk", "420500"),
    "yichang_supervisor": ("supervisor", "420500"), "admin": ("admin", "420000"),
}
PDF = b"%PDF-1.4\n%caseclock\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


class Now:
    def __init__(self) -> None:
        self.at = datetime(2024, 9, 27, 10, 0, tzinfo=TZ)

    def __call__(self):
        return self.at


class Api:
    def __init__(self, client: TestClient, tokens: dict[str, str]) -> None:
        self.client, self.tokens = client, tokens

    def __call__(self, persona: str | None, method: str, url: str, **kw):
        headers = dict(kw.pop("headers", {}) or {})
        if persona is not None:
            headers["Authorization"] = f"Bearer {self.tokens[persona]}"
        return self.client.request(method, url, headers=headers, **kw)


@pytest.fixture
def now():
    return Now()


@pytest.fixture
def engine(now):
    return build_engine("memory://", definitions=[FIX / "pledge.yaml"], now=now)


@pytest.fixture
def api(engine):
    with _client(engine) as client:
        yield client


@contextlib.contextmanager
def _client(engine):
    app = create_app(engine, ApiSettings(metrics=False))
    configure(app, Ops(
        documents=DocumentRenderer(DocumentSettings(query_url="https://zwfw.example.cn/q?no={number}"),
                                   org_name=engine.orgs.name),
        attachments=Attachments(engine, MemoryAttachmentStore(), AttachmentPolicy(max_bytes=4096)),
    ))
    store = tokens_for(engine)
    tokens = {}
    for persona, (role, org) in PERSONAS.items():
        tokens[persona], _ = issue_token(store, user=persona, roles=role, org=org, now=engine.now(),
                                         orgs=engine.orgs)
    with TestClient(app, raise_server_exceptions=True) as client:
        yield Api(client, tokens)


def _open(api, **data):
    r = api("clerk", "POST", "/api/cases", json={"item_id": "pledge", "data": data})
    assert r.status_code == 201, r.text
    return r.json()


def _problem(r, status, code=None):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    if code is not None:
        assert body["code"] == code, body
    return body


def test_assign_with_if_match_and_refusals(api):
    case = _open(api)
    url = f"/api/cases/{case['id']}/assign"
    _problem(api("clerk", "POST", url, json={"assignee": "e1"}), 403, "forbidden")
    _problem(api("supervisor", "POST", url, json={"assignee": "e1"}, headers={"If-Match": '"7"'}),
             412, "precondition_failed")
    r = api("supervisor", "POST", url, json={"assignee": "e1", "reason": "分案"}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["assignee"] == "e1" and r.headers["ETag"] == '"2"'
    _problem(api("yichang_supervisor", "POST", url, json={"assignee": "x"}), 404)
    _problem(api(None, "POST", url, json={"assignee": "x"}), 401)
    _problem(api("supervisor", "POST", url, json={"assignee": "x", "extra": 1}), 400)
    hist = api("clerk", "GET", f"/api/cases/{case['id']}/history").json()["items"]
    assert hist[-1]["kind"] == "assigned" and hist[-1]["data"]["to"] == "e1"


def test_transfer_and_its_refusals(api):
    case = _open(api)
    url = f"/api/cases/{case['id']}/transfer"
    _problem(api("clerk", "POST", url, json={"to_org": "420500", "reason": "管辖"}), 403)
    body = _problem(api("supervisor", "POST", url, json={"to_org": "999999", "reason": "管辖"}), 422)
    assert body["fields"] == {"to_org": "unknown org"}
    _problem(api("supervisor", "POST", url, json={"to_org": "420500", "reason": " "}), 400)  # blank
    _problem(api("supervisor", "POST", url, json={"to_org": "420100", "reason": "x"}), 409)
    r = api("supervisor", "POST", url, json={"to_org": "420500", "reason": "属宜昌市管辖"})
    assert r.status_code == 200 and r.json()["org"] == "420500"
    assert r.json()["clocks"]["handling"]["statutory_due"] == case["clocks"]["handling"]["statutory_due"]
    _problem(api("clerk", "GET", f"/api/cases/{case['id']}"), 404)  # the old org lost access
    hist = api("yichang_clerk", "GET", f"/api/cases/{case['id']}/history").json()["items"]
    assert hist[-1]["kind"] == "transferred" and hist[-1]["data"]["from_org"] == "420100"


def test_correct_and_a_correction_of_a_correction(api, now):
    case = _open(api)
    cid = case["id"]
    _problem(api("supervisor", "POST", f"/api/cases/{cid}/correct", json={"reason": "无"}), 409)
    api("clerk", "POST", f"/api/cases/{cid}/transitions/accept")
    before = api("clerk", "GET", f"/api/cases/{cid}").json()
    r = api("examiner", "POST", f"/api/cases/{cid}/transitions/refuse", json={"data": {"reason": "误点"}})
    assert r.json()["state"] == "refused"
    _problem(api("clerk", "POST", f"/api/cases/{cid}/correct", json={"reason": "x"}), 403)
    _problem(api("examiner", "POST", f"/api/cases/{cid}/correct", json={"reason": "x"}), 403)
    r = api("supervisor", "POST", f"/api/cases/{cid}/correct", json={"reason": "审查员误操作"},
            headers={"If-Match": r.headers["ETag"]})
    assert r.status_code == 200, r.text
    fixed = r.json()
    assert fixed["state"] == "under_review" and fixed["closed_at"] is None
    assert fixed["clocks"]["handling"]["statutory_due"] == before["clocks"]["handling"]["statutory_due"]
    body = _problem(api("supervisor", "POST", f"/api/cases/{cid}/correct", json={"reason": "再更正"}), 409)
    assert "correction" in body["detail"]
    kinds = [e["kind"] for e in api("clerk", "GET", f"/api/cases/{cid}/history").json()["items"]]
    assert kinds[-2:] == ["transition", "corrected"]


def test_suspension_is_for_admins_and_moves_the_dates(api):
    case = _open(api)
    assert case["clocks"]["handling"]["statutory_due"] == "2024-10-10"
    body = {"org": "420100", "first": "2024-09-30", "last": "2024-09-30", "reason": "系统停机"}
    _problem(api("supervisor", "POST", "/api/suspensions", json=body), 403)
    _problem(api("admin", "POST", "/api/suspensions", json={**body, "last": "2024-09-29"}), 422)
    _problem(api("admin", "POST", "/api/suspensions", json={**body, "first": "not a date"}), 400)
    r = api("admin", "POST", "/api/suspensions", json=body)
    assert r.status_code == 201 and r.json()["cases"] == [case["id"]]
    after = api("clerk", "GET", f"/api/cases/{case['id']}").json()
    assert after["clocks"]["handling"]["statutory_due"] == "2024-10-11"  # Mon 09-30 not counted


class _Dates(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "time" and "data-field" in a:
            self.found.setdefault(a["data-field"], []).append(a.get("datetime"))


def test_receipt_html_and_pdf(api):
    case = _open(api, applicant="武汉甲公司")
    clock = case["clocks"]["handling"]
    assert (clock["statutory_due"], clock["commitment_due"]) == ("2024-10-10", "2024-10-08")
    r = api("clerk", "GET", f"/api/cases/{case['id']}/receipt")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    p = _Dates()
    p.feed(r.text)
    assert p.found["statutory_due"] == ["2024-10-10"] and p.found["commitment_due"] == ["2024-10-08"]
    assert case["number"] in r.text and "武汉甲公司" in r.text and "https://zwfw.example.cn/q?no=" in r.text
    r = api("clerk", "GET", f"/api/cases/{case['id']}/receipt", params={"format": "pdf"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''" in r.headers["content-disposition"]
    text = pypdf.PdfReader(io.BytesIO(r.content)).pages[0].extract_text()
    assert "2024年10月10日" in text and "2024年10月8日" in text and case["number"] in text
    _problem(api("yichang_clerk", "GET", f"/api/cases/{case['id']}/receipt"), 404)
    _problem(api("clerk", "GET", f"/api/cases/{case['id']}/receipt", params={"format": "doc"}), 400)


def test_documents_list_and_render(api, now):
    case = _open(api, applicant="武汉甲公司")
    cid = case["id"]
    names = [d["name"] for d in api("clerk", "GET", f"/api/cases/{cid}/documents").json()["items"]]
    assert names == ["receipt"]  # only what the case can have now (tests/e2e/test_documents_issuable.py)
    api("clerk", "POST", f"/api/cases/{cid}/transitions/accept")
    now.at = now.at.replace(day=30)
    r = api("examiner", "POST", f"/api/cases/{cid}/transitions/request_supplement",
            json={"data": {"notice": "补交质押合同"}})
    assert r.status_code == 200, r.text
    r = api("clerk", "GET", f"/api/cases/{cid}/documents/supplement_notice")
    assert r.status_code == 200 and "补交质押合同" in r.text
    p = _Dates()
    p.feed(r.text)
    assert p.found["issued_on"] == ["2024-09-30"]
    r = api("clerk", "GET", f"/api/cases/{cid}/documents/acceptance_notice", params={"format": "pdf"})
    assert r.status_code == 200 and r.content.startswith(b"%PDF-")
    _problem(api("clerk", "GET", f"/api/cases/{cid}/documents/nope"), 404, "template_not_found")
    _problem(api("clerk", "GET", f"/api/cases/{cid}/documents/_layout"), 404)


def test_attachments_upload_list_download_and_refusals(api):
    case = _open(api)
    url = f"/api/cases/{case['id']}/attachments"
    r = api("clerk", "POST", url, files={"file": ("申请书.pdf", PDF, "application/pdf")}, data={"label": "申请书"})
    assert r.status_code == 201, r.text
    att = r.json()
    assert att["content_type"] == "application/pdf" and att["size"] == len(PDF) and att["label"] == "申请书"
    assert r.headers["Location"] == f"{url}/{att['id']}"
    listed = api("clerk", "GET", url).json()["items"]
    assert [a["id"] for a in listed] == [att["id"]]
    r = api("clerk", "GET", f"{url}/{att['id']}")
    assert r.status_code == 200 and r.content == PDF and r.headers["content-type"] == "application/pdf"
    assert "attachment;" in r.headers["content-disposition"] and r.headers["x-content-type-options"] == "nosniff"
    hist = api("clerk", "GET", f"/api/cases/{case['id']}/history").json()["items"]
    assert hist[-1]["kind"] == "attached" and hist[-1]["data"]["attachment_id"] == att["id"]

    body = _problem(api("clerk", "POST", url, files={"file": ("big.pdf", PDF + b"0" * 5000, "application/pdf")}),
                    413, "attachment_too_large")
    assert body["max_bytes"] == 4096
    _problem(api("clerk", "POST", url, files={"file": ("run.exe", b"MZ\x90\x00", "application/octet-stream")}),
             415, "attachment_forbidden_type")
    _problem(api("clerk", "POST", url, files={"file": ("photo.pdf", PNG, "application/pdf")}), 415)
    _problem(api("clerk", "POST", url, files={"file": ("scan.png", PNG, "application/pdf")}), 415)
    _problem(api("clerk", "POST", url, data={"label": "x"}), 400)  # no file
    _problem(api("yichang_clerk", "POST", url, files={"file": ("a.pdf", PDF, "application/pdf")}), 404)
    _problem(api("yichang_clerk", "GET", f"{url}/{att['id']}"), 404)
    _problem(api("clerk", "GET", f"{url}/nope"), 404)
    assert len(api("clerk", "GET", url).json()["items"]) == 1


def test_ops_from_env(engine, tmp_path):
    ops = ops_from_env(engine, {"CASECLOCK_TEMPLATES": str(tmp_path), "CASECLOCK_ATTACHMENT_MAX_MB": "5",
                                "CASECLOCK_ATTACHMENT_OFD": "1", "CASECLOCK_QUERY_URL": "https://x/{number}"})
    assert ops.attachments.policy.max_bytes == 5 * 1024 * 1024 and "ofd" in ops.attachments.policy.allowed
    assert ops.documents.settings.template_dir == tmp_path
    assert ops.documents.settings.query_url == "https://x/{number}"


def test_migration_over_http_is_for_admins_and_refused_whole():
    engine = build_engine("memory://", definitions=[FIX / "pledge.yaml"], overrides=[FIX / "overrides"])
    with _client(engine) as api:
        case = _open(api)
        body = {"item_id": "pledge", "from_version": 2, "to_version": 1, "reason": "回退"}
        _problem(api("supervisor", "POST", "/api/migrations", json=body), 403)
        _problem(api("admin", "POST", "/api/migrations", json={**body, "reason": ""}), 400)
        _problem(api("admin", "POST", "/api/migrations", json={**body, "to_version": 9}), 404)
        r = api("admin", "POST", "/api/migrations", json={**body, "state_map": {"received": "gone"}})
        assert _problem(r, 400)["errors"][0]["field"] == "state_map"
        r = api("admin", "POST", "/api/migrations", json=body)
        assert r.status_code == 200 and r.json()["cases"] == [case["id"]]
        got = api("clerk", "GET", f"/api/cases/{case['id']}").json()
        assert got["definition_version"] == 1
