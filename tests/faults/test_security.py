"""Hostile requests over real HTTP (uvicorn on 127.0.0.1, SQLite file): each is refused with the
right status, and nothing changes — the cases, their histories, deadlines, attachments, tokens and
calendar overrides are the same after the attempt as before it.

- another org's token, on every operation of a case (404: a case outside the caller's org is not
  found) and the lists (the case is not in them);
- expired and revoked API tokens, forged JWTs (no signature, another key, tampered claims, expired,
  another audience or issuer) on every write operation: 401;
- CSRF on the web forms: a missing, forged or another session's token: 403;
- SQL metacharacters in every query filter and path parameter of the API: never a 5xx, never a
  row that does not match, and text with them is stored and read back verbatim;
- oversized bodies (declared or chunked): 413.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from api.auth import issue_token
from api.tokens import tokens_for
from tests.e2e.conftest import (
    JWT_AUDIENCE,
    JWT_ISSUER,
    JWT_SECRET,
    PLEDGE,
    Stack,
    open_pledge,
    pledge_data,
    start_stack,
)

SQL_PAYLOADS = [
    "' OR '1'='1", "'; DROP TABLE cases; --", '" OR ""="', "1) OR (1=1", "%", "_", "%' OR 1=1 --", "\\",
    "' UNION SELECT id, number FROM cases --", "1; SELECT pg_sleep(3)", "$$ OR 1=1 $$", "x'::text", "*",
    "420100' OR org<>'", "registration'--", "') OR ('a'='a", "%00", "ʼ OR 1=1",
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = start_stack(tmp_path_factory.mktemp("security"), "security")
    yield s
    s.close()


def snapshot(stack: Stack) -> dict[str, Any]:
    """Everything an attack could change, read straight from the database."""
    with stack.engine.store.unit_of_work() as uow:
        q = uow.fetch_all
        return {
            "cases": q("SELECT id, version, state, org, assignee, seq, last_hash, sla, closed_at FROM cases ORDER BY id"),
            "events": q("SELECT COUNT(*), MAX(id) FROM events"),
            "deadlines": q("SELECT case_id, clock, run, level, state, due_at FROM deadlines ORDER BY 1, 2, 3, 4"),
            "attachments": q("SELECT COUNT(*) FROM attachments"),
            "tokens": q("SELECT id, revoked_at FROM api_tokens ORDER BY id"),
            "calendar": q("SELECT year FROM calendar_overrides ORDER BY year"),
            "outbox": q("SELECT COUNT(*) FROM outbox"),
            "counts": q("SELECT org, item_id, level, n FROM sla_counts ORDER BY 1, 2, 3"),
        }


def _case_requests(case: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Every API operation on one case, with a valid body where it takes one."""
    cid, v = case["id"], case["version"]
    return [
        ("GET", f"/api/cases/{cid}", {}),
        ("GET", f"/api/cases/{cid}/history", {}),
        ("GET", f"/api/cases/{cid}/triggers", {}),
        ("POST", f"/api/cases/{cid}/transitions/accept", {"json": {}}),
        ("POST", f"/api/cases/{cid}/transitions/withdraw", {"json": {}, "headers": {"If-Match": f'"{v}"'}}),
        ("POST", f"/api/cases/{cid}/assign", {"json": {"assignee": "intruder", "reason": "x"}}),
        ("POST", f"/api/cases/{cid}/transfer", {"json": {"to_org": "420500", "reason": "x"}}),
        ("POST", f"/api/cases/{cid}/correct", {"json": {"reason": "x"}}),
        ("GET", f"/api/cases/{cid}/receipt", {}),
        ("GET", f"/api/cases/{cid}/documents", {}),
        ("GET", f"/api/cases/{cid}/documents/receipt", {}),
        ("POST", f"/api/cases/{cid}/attachments", {"files": {"file": ("a.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")}}),
        ("GET", f"/api/cases/{cid}/attachments", {}),
    ]


def test_another_orgs_token_finds_nothing_and_changes_nothing(stack: Stack) -> None:
    case = open_pledge(stack.wuhan_clerk)
    before = snapshot(stack)
    for persona in ("yichang_clerk", "yichang_examiner"):
        c = getattr(stack, persona)
        for method, url, kw in _case_requests(case):
            r = c.request(method, url, **kw)
            assert r.status_code == 404, (persona, method, url, r.status_code, r.text[:300])
            assert r.headers["content-type"].startswith("application/problem+json")
            assert case["number"] not in r.text and "pledgee" not in r.text  # nothing of the case leaks
        for url, params in [("/api/cases", {}), ("/api/cases", {"org": "420100"}), ("/api/worklist", {}),
                            ("/api/worklist", {"org": "420100"})]:
            r = c.get(url, params=params)
            assert r.status_code in (200, 400, 403), (url, params, r.status_code)
            assert case["id"] not in r.text, (persona, url, params)
    assert snapshot(stack) == before


def _forged_jwts() -> dict[str, str]:
    now = int(time.time())
    good = {"sub": "sso.intruder", "roles": ["clerk", "examiner", "supervisor", "admin"], "org": "420000",
            "iss": JWT_ISSUER, "aud": JWT_AUDIENCE, "iat": now, "exp": now + 600}
    signed = jwt.encode(good, JWT_SECRET, algorithm="HS256")
    head, _, sig = signed.split(".")
    tampered_claims = base64.urlsafe_b64encode(json.dumps({**good, "org": "420100", "sub": "admin"}).encode()).rstrip(b"=")
    none_head = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    return {
        "no signature (alg none)": f"{none_head}.{signed.split('.')[1]}.",
        "another key": jwt.encode(good, "not-the-office-secret-0123456789abcdef", algorithm="HS256"),
        "tampered claims": f"{head}.{tampered_claims.decode()}.{sig}",
        "expired": jwt.encode({**good, "iat": now - 7200, "exp": now - 3600}, JWT_SECRET, algorithm="HS256"),
        "another audience": jwt.encode({**good, "aud": "another-system"}, JWT_SECRET, algorithm="HS256"),
        "another issuer": jwt.encode({**good, "iss": "https://evil.example"}, JWT_SECRET, algorithm="HS256"),
        "not yet valid": jwt.encode({**good, "nbf": now + 3600}, JWT_SECRET, algorithm="HS256"),
        "garbage": "eyJhbGciOiJIUzI1NiJ9.e30.AAAA",
    }


def test_bad_credentials_are_refused_on_every_write_and_change_nothing(stack: Stack) -> None:
    case = open_pledge(stack.wuhan_clerk)
    tokens = tokens_for(stack.engine)
    now = stack.engine.now()
    revoked, info = issue_token(tokens, user="gone", roles="clerk,examiner,supervisor,admin", org="420000", now=now)
    assert tokens.revoke_token(info.id, now)
    expired, _ = issue_token(tokens, user="old", roles="clerk,examiner,supervisor,admin", org="420000",
                             now=now - timedelta(days=2), expires_at=now - timedelta(days=1))
    creds = {"revoked API token": revoked, "expired API token": expired, "unknown API token": "cc_" + "0" * 40,
             **_forged_jwts()}
    writes = [r for r in _case_requests(case) if r[0] == "POST"] + [
        ("POST", "/api/cases", {"json": {"item_id": PLEDGE, "data": pledge_data()}}),
        ("POST", "/api/calendar", {"json": {"year": 2031, "source": "伪造", "holidays": ["2031-01-02"], "workdays": []}}),
        ("POST", "/api/suspensions", {"json": {"org": "420100", "first": "2031-01-02", "last": "2031-01-03",
                                              "reason": "伪造"}}),
    ]
    before = snapshot(stack)
    for n, (name, token) in enumerate(creds.items()):
        # each kind from an address of its own: one client's failures are rate-limited (429) far
        # sooner than its requests (tests/security/test_rate_limit.py)
        c = stack.client(address=f"127.0.0.{20 + n}", Authorization=f"Bearer {token}")
        for method, url, kw in writes:
            r = c.request(method, url, **kw)
            assert r.status_code == 401, (name, url, r.status_code, r.text[:300])
            assert r.headers["content-type"].startswith("application/problem+json")
        assert c.get("/api/cases").status_code == 401, name
    assert snapshot(stack) == before


def _signed_in(url: str, user: str, password: str) -> tuple[httpx.Client, str]:
    c = httpx.Client(base_url=url, timeout=20, follow_redirects=False)
    page = c.get("/web/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    r = c.post("/web/login", data={"user": user, "password": password, "csrf": token})
    assert r.status_code == 303, r.text[:300]
    home = c.get("/web/worklist" if user != "boss" else "/web/board")
    found = re.search(r'name="csrf" value="([^"]+)"', home.text)
    return c, found.group(1) if found else token


def test_csrf_on_the_web_forms(stack: Stack, tmp_path: Path) -> None:
    from adapters.directory import Person
    from api import web
    from api.app import create_app
    from api.web.security import hash_password
    from tests.e2e.conftest import LiveServer

    app = create_app(stack.engine)
    web.configure(app, web.WebSettings(secret="faults-csrf-secret-0123456789abcdef"))
    password = "Csrf-test-2024!"
    accounts = web.accounts_for(stack.engine)
    for pid, role in (("boss", "supervisor"), ("mate", "supervisor")):
        accounts.put(Person(id=pid, name=pid, roles=frozenset({role}), org="420100"))
        accounts.set_password_hash(pid, hash_password(password))
    server = LiveServer(app).start()
    try:
        if httpx.get(f"{server.url}/web/login").status_code == 404:
            pytest.skip("no web pages in this build")
        case = open_pledge(stack.wuhan_clerk)
        boss, boss_csrf = _signed_in(server.url, "boss", password)
        mate, mate_csrf = _signed_in(server.url, "mate", password)
        forms = {
            f"/web/cases/{case['id']}/assign": {"assignee": "intruder", "reason": "x"},
            f"/web/cases/{case['id']}/transfer": {"to_org": "420500", "reason": "x"},
            f"/web/cases/{case['id']}/correct": {"reason": "x"},
            f"/web/cases/{case['id']}/fire/accept": {},
            "/web/logout": {},
        }
        before = snapshot(stack)
        for url, data in forms.items():
            for label, extra in (("missing", {}), ("forged", {"csrf": "forged"}),
                                 ("another session's", {"csrf": mate_csrf}), ("empty", {"csrf": ""})):
                r = boss.post(url, data={**data, **extra})
                assert r.status_code == 403, (url, label, r.status_code)
            # from another site: the browser sends the cookie, not the token
            r = httpx.post(server.url + url, data=data, cookies=boss.cookies, headers={"Origin": "https://evil.example"})
            assert r.status_code == 403, (url, "cross-site", r.status_code)
        assert snapshot(stack) == before
        # the guard is not refusing everything: the same form with the session's own token works
        r = boss.post(f"/web/cases/{case['id']}/assign", data={"assignee": "wuhan_examiner", "reason": "分派",
                                                                "csrf": boss_csrf})
        assert r.status_code in (200, 303), r.text[:300]
        assert stack.engine.get_case(case["id"]).assignee == "wuhan_examiner"
        boss.close()
        mate.close()
    finally:
        server.stop()


def test_sql_metacharacters_in_every_filter(stack: Stack) -> None:
    c = stack.province_leader
    doc = httpx.get(f"{stack.url}/openapi.json").json()
    case = open_pledge(stack.wuhan_clerk, pledgor="Robert'); DROP TABLE cases;--")
    before = snapshot(stack)
    tried = 0
    for path, ops in doc["paths"].items():
        op = ops.get("get")
        if op is None or not path.startswith("/api/"):
            continue
        params = [p for p in op.get("parameters", []) if p["in"] in ("query", "path")
                  and p.get("schema", {}).get("type", "string") == "string"
                  and p.get("schema", {}).get("format") not in ("date", "date-time")]
        for p in params:
            for payload in SQL_PAYLOADS:
                if p["in"] == "path":
                    url = path
                    for other in re.findall(r"{(\w+)}", path):
                        url = url.replace("{" + other + "}", httpx.URL("", params={"x": payload}).query.decode()[2:]
                                          if other == p["name"] else case["id"])
                    r = c.get(url)
                else:
                    url = re.sub(r"{(\w+)}", case["id"], path)
                    r = c.get(url, params={p["name"]: payload})
                tried += 1
                assert r.status_code < 500, (path, p["name"], payload, r.status_code, r.text[:300])
                if r.status_code == 200 and r.headers["content-type"].startswith("application/json"):
                    body = r.json()
                    if isinstance(body, dict) and isinstance(body.get("items"), list) and p["name"] != "cursor":
                        for item in body["items"]:  # a filter never matches what it does not name
                            if isinstance(item, dict) and p["name"] in ("item", "state", "org", "sla", "assignee"):
                                key = {"item": "item_id"}.get(p["name"], p["name"])
                                assert item.get(key) == payload, (path, p["name"], payload, item.get(key))
    assert tried > 100
    print(f"\nSQL metacharacters: {tried} requests over {len(SQL_PAYLOADS)} payloads, no 5xx, no stray row")
    assert snapshot(stack) == before
    # text with metacharacters is data: stored and read back verbatim
    got = stack.wuhan_clerk.get(f"/api/cases/{case['id']}").json()
    assert got["data"]["pledgor"] == "Robert'); DROP TABLE cases;--"


@pytest.mark.parametrize("how", ["declared", "chunked"])
def test_oversized_bodies_are_413(stack: Stack, how: str) -> None:
    c = stack.wuhan_clerk
    case = open_pledge(c)
    big = json.dumps({"item_id": PLEDGE, "data": pledge_data(pledgor="甲" * 2_000_000)}).encode()
    before = snapshot(stack)
    targets = [("/api/cases", big),
               (f"/api/cases/{case['id']}/transitions/accept", json.dumps({"data": {"note": "x" * 3_000_000}}).encode())]
    for url, body in targets:
        if how == "declared":
            r = c.post(url, content=body, headers={"content-type": "application/json"})
        else:
            def chunks(data: bytes = body) -> Iterator[bytes]:
                for i in range(0, len(data), 65536):
                    yield data[i:i + 65536]
            r = c.post(url, content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413, (url, how, r.status_code, r.text[:300])
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["status"] == 413
    # an attachment over its own limit (multipart) is 413 too
    r = c.post(f"/api/cases/{case['id']}/attachments",
               files={"file": ("big.pdf", b"%PDF-1.4\n" + b"0" * (22 * 1024 * 1024), "application/pdf")})
    assert r.status_code == 413, (r.status_code, r.text[:300])
    assert snapshot(stack) == before
    assert c.get(f"/api/cases/{case['id']}").status_code == 200  # the service goes on
