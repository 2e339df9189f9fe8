"""Authentication: CLI-issued API tokens (hashed, revocable, expiring) and SSO JWTs."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import jwt
import pytest

from adapters import build_engine
from api.app import create_app
from api.auth import JwtSettings, hash_token, issue_token
from api.settings import ApiSettings
from api.tokens import tokens_for

from .conftest import (
    JWT_AUDIENCE,
    JWT_ISSUER,
    JWT_SECRET,
    PLEDGE,
    LiveServer,
    Stack,
    open_pledge,
    problem,
)

ROOT = Path(__file__).resolve().parents[2]


def _sso(claims: dict, key: str = JWT_SECRET, alg: str = "HS256", **over: object) -> str:
    now = int(time.time())
    body = {"iss": JWT_ISSUER, "aud": JWT_AUDIENCE, "iat": now, "exp": now + 600, **claims, **over}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm=alg)


def test_sso_jwt_acts_as_its_subject(live: Stack) -> None:
    token = _sso({"sub": "sso.zhang", "roles": ["clerk"], "org": "420100", "name": "张三"})
    c = live.client(Authorization=f"Bearer {token}")
    case = open_pledge(c)
    events = c.get(f"/api/cases/{case['id']}/history").json()["items"]
    assert events[0]["actor_id"] == "sso.zhang"
    # roles as text, separated by spaces or commas
    text_roles = _sso({"sub": "sso.li", "roles": "examiner supervisor", "org": "420100"})
    assert live.client(Authorization=f"Bearer {text_roles}").get("/api/sla/board").status_code == 200


@pytest.mark.parametrize("change", [
    {"exp": 1_000_000_000},                       # expired long ago
    {"aud": "another-system"},                    # meant for someone else
    {"iss": "https://evil.example"},              # not our identity provider
    {"org": "999999"},                            # an org we do not have
    {"org": None},                                # no org at all
    {"sub": None},                                # no subject
])
def test_sso_jwt_refused(live: Stack, change: dict) -> None:
    claims = {"sub": "sso.x", "roles": ["clerk"], "org": "420100"}
    claims.update({k: v for k, v in change.items() if k in ("org", "sub")})
    over = {k: v for k, v in change.items() if k not in ("org", "sub")}
    token = _sso(claims, **over)
    problem(live.client(Authorization=f"Bearer {token}").get("/api/cases"), 401)


def test_sso_jwt_with_a_wrong_key_is_refused(live: Stack) -> None:
    token = _sso({"sub": "sso.x", "roles": ["admin"], "org": "420000"}, key="not-the-office-secret-0123456789abcdef")
    problem(live.client(Authorization=f"Bearer {token}").get("/api/cases"), 401)
    unsigned = jwt.encode({"sub": "x", "org": "420000", "roles": ["admin"], "exp": int(time.time()) + 60},
                          key=None, algorithm="none")
    problem(live.client(Authorization=f"Bearer {unsigned}").get("/api/cases"), 401)


def _hs256_by_hand(claims: dict, secret: bytes) -> str:
    import base64
    import hashlib
    import hmac
    import json

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + b64(json.dumps(claims).encode())
    return head + "." + b64(hmac.new(secret, head.encode(), hashlib.sha256).digest())


def test_sso_rs256_against_a_public_key(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    engine = build_engine("memory://")
    app = create_app(engine, ApiSettings(jwt=JwtSettings(keys=(public_pem,), audience="caseclock")))
    server = LiveServer(app).start()
    try:
        import httpx

        now = int(time.time())
        good = jwt.encode({"sub": "rs.user", "org": "420500", "roles": ["clerk"], "aud": "caseclock",
                           "exp": now + 60}, private, algorithm="RS256")
        r = httpx.get(f"{server.url}/api/worklist", headers={"Authorization": f"Bearer {good}"})
        assert r.status_code == 200, r.text
        # the algorithm-confusion forgery: HS256 "signed" with the public key as the secret
        forged = _hs256_by_hand({"sub": "rs.user", "org": "420000", "roles": ["admin"], "aud": "caseclock",
                                 "exp": now + 60}, public_pem.encode())
        assert httpx.get(f"{server.url}/api/worklist", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    finally:
        server.stop()


def test_revoked_and_expired_tokens(live: Stack) -> None:
    store = tokens_for(live.engine)
    token, info = issue_token(store, user="temp.clerk", roles="clerk", org="420100", now=live.engine.now())
    c = live.client(Authorization=f"Bearer {token}")
    assert c.get("/api/worklist").status_code == 200
    assert store.revoke_token(info.id, live.engine.now())
    problem(c.get("/api/worklist"), 401)
    old, _ = issue_token(store, user="temp.clerk", roles="clerk", org="420100",
                         now=live.engine.now() - timedelta(days=2),
                         expires_at=live.engine.now() - timedelta(days=1))
    problem(live.client(Authorization=f"Bearer {old}").get("/api/worklist"), 401)


def test_tokens_are_stored_hashed(live: Stack) -> None:
    import sqlite3

    token = live.tokens["wuhan_clerk"]
    path = live.db.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT token_hash, user_id, roles, org FROM api_tokens").fetchall()
    assert all(token not in " ".join(map(str, r)) for r in rows)
    assert (hash_token(token), "wuhan_clerk", '["clerk"]', "420100") in rows


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_cli_token_create_list_revoke_against_the_server(live: Stack) -> None:
    made = _cli("token", "create", "--db", live.db, "--user", "cli.clerk", "--roles", "clerk,examiner",
                "--org", "420100", "--name", "e2e")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    assert token.startswith("cc_")
    c = live.client(Authorization=f"Bearer {token}")
    case = open_pledge(c)
    assert c.post(f"/api/cases/{case['id']}/transitions/accept").status_code == 200
    assert c.get(f"/api/cases/{case['id']}/history").json()["items"][-1]["actor_id"] == "cli.clerk"
    listed = _cli("token", "list", "--db", live.db, "--json")
    assert listed.returncode == 0 and "cli.clerk" in listed.stdout and token not in listed.stdout
    token_id = token.split("_")[1]
    assert _cli("token", "revoke", token_id, "--db", live.db).returncode == 0
    problem(c.get("/api/worklist"), 401)
    again = _cli("token", "revoke", token_id, "--db", live.db)
    assert again.returncode == 1 and "no active token" in again.stderr
    bad = _cli("token", "create", "--db", live.db, "--user", "x", "--roles", "wizard", "--org", "420100")
    assert bad.returncode == 1 and "unknown role" in bad.stderr
    assert _cli("token", "create", "--db", live.db, "--user", "x", "--roles", "clerk", "--org", "1").returncode == 1


def test_portal_role_opens_cases_for_any_city(live: Stack) -> None:
    r = live.portal.post("/api/cases", json={"item_id": PLEDGE, "org": "420500", "data": {
        "request_type": "registration", "channel": "online", "pledgor": "网上申请人", "pledgee": "银行",
        "patent_numbers": "ZL1"}})
    assert r.status_code == 201 and r.json()["org"] == "420500"
