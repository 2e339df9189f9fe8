"""Issue 14, class 4: the engine's own transitions cannot be fired from outside. The targets of
``on_expire`` (``supplement_lapsed``), a bundle's ``children_closed`` and any transition whose only
role is ``system`` are reserved to the engine's own actor, which no token, password or JWT
carries. Integrating systems hold the ``portal`` role; tokens issued with ``system`` are refused
with a message saying to reissue them; ``caseclock token create --roles system`` is refused.

On the old code a ``system`` token (the portal's) fired ``supplement_lapsed`` on day 0 of a
30-day party period, and ``children_closed`` on a bundle whose children were still open."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import jwt
import pytest

from adapters import build_engine
from adapters.directory import Person
from api.auth import TokenInfo, hash_token
from api.tokens import tokens_for
from tests.security.scope_stack import (
    JWT_SECRET,
    PASSWORD_HASH,
    Stack,
    at,
    csrf_of,
    problem,
    stack_at,  # noqa: F401 - the fixture
)
from workflow import Actor, errors

ROOT = Path(__file__).resolve().parents[2]
TRADEMARK = "trademark_pledge_registration"
BUNDLE = "patent_transfer_and_pledge"
TM_DATA = {"request_type": "registration", "channel": "paper", "pledgor": "宜昌三峡新材料股份有限公司",
           "pledgee": "中国银行宜昌分行", "trademark_numbers": "12345678"}
BUNDLE_DATA = {"transferor": "甲公司", "transferee": "乙公司", "pledgor": "乙公司", "pledgee": "丙银行",
               "patent_numbers": "ZL202310000001.X", "channel": "paper"}
NOW = "2024-04-02 10:00"
CLERK = Actor("clerk-yc", {"clerk"}, "420500")
EXAMINER = Actor("examiner-yc", {"examiner"}, "420500")
PORTAL = Actor("portal", {"portal"}, "420000")
OLD_PORTAL = Actor("portal", {"system"}, "420000")  # how integrators were told to build it before
EVERY_ROLE = Actor("everyone", {"clerk", "examiner", "supervisor", "leader", "admin", "portal"}, "420000")


class Clock:
    def __init__(self, text: str) -> None:
        self.at = at(text)

    def __call__(self) -> Any:
        return self.at


def _awaiting_supplement(engine: Any, actor: Actor = CLERK) -> Any:
    case = engine.open_case(TRADEMARK, actor=actor, org="420500", data=TM_DATA)
    engine.fire(case.id, "accept", actor=CLERK)
    return engine.fire(case.id, "request_supplement", actor=EXAMINER, data={
        "supplement_items": "质押合同签章页", "notice_received_on": "2024-04-02"})


def _snapshot(engine: Any, case_id: str) -> tuple[Any, ...]:
    return engine.get_case(case_id), engine.history(case_id), engine.deadlines(case_id)


@pytest.fixture
def engine(store_url: str) -> Any:
    clock = Clock(NOW)
    eng = build_engine(store_url, now=clock)
    eng.test_clock = clock
    yield eng
    dispose = getattr(eng.store, "dispose", None)
    if dispose is not None:
        dispose()


def test_no_caller_fires_an_expiry_or_closes_a_bundle(engine: Any) -> None:
    case = _awaiting_supplement(engine, PORTAL)  # the portal opens cases for any city
    assert case.state == "awaiting_supplement" and case.clocks["supplement_period"].status == "running"
    before = _snapshot(engine, case.id)
    for who in (PORTAL, CLERK, EXAMINER, EVERY_ROLE):
        with pytest.raises(errors.Forbidden, match="engine's own"):
            engine.fire(case.id, "supplement_lapsed", actor=who)
        assert "supplement_lapsed" not in engine.available_triggers(case.id, actor=who)
    with pytest.raises(errors.Forbidden, match="portal"):  # the role, carried by anyone else
        engine.fire(case.id, "supplement_lapsed", actor=OLD_PORTAL)
    with pytest.raises(errors.Forbidden, match="portal"):
        engine.open_case(TRADEMARK, actor=OLD_PORTAL, org="420500", data=TM_DATA)
    assert _snapshot(engine, case.id) == before

    bundle = engine.open_case(BUNDLE, actor=CLERK, data=BUNDLE_DATA)
    assert len(bundle.children) == 2
    kept = _snapshot(engine, bundle.id)
    for who in (PORTAL, CLERK, EVERY_ROLE):
        with pytest.raises(errors.Forbidden, match="engine's own"):
            engine.fire(bundle.id, "children_closed", actor=who)
    assert _snapshot(engine, bundle.id) == kept

    # the engine still fires its own: the period (30 days + 7 of grace from 04-02) runs out
    engine.test_clock.at = at("2024-05-14 00:00")
    engine.sweep()
    last = engine.history(case.id)[-1]
    assert (last.trigger, last.actor_id, engine.get_case(case.id).state) == (
        "supplement_lapsed", "system", "supplement_overdue")


def _old_system_token(s: Stack) -> str:
    """A token issued before the portal role existed: stored with the role ``system``."""
    token = "cc_0123456789ab_" + "s" * 43
    tokens_for(s.engine).add_token(TokenInfo(id="0123456789ab", user="portal", roles=("system",), org="420000",
                                             token_hash=hash_token(token), created_at=s.engine.now(),
                                             name="网上办事大厅"))
    return token


def test_over_http_only_the_portal_role_reaches_the_portals_acts(stack_at, sql_url: str) -> None:  # noqa: F811
    s: Stack = stack_at(sql_url, at(NOW))
    portal = s.client("portal")
    opened = portal.post("/api/cases", json={"item_id": TRADEMARK, "org": "420500", "data": TM_DATA})
    assert opened.status_code == 201, opened.text
    cid = opened.json()["id"]
    yc_clerk, yc_examiner = s.client(bearer=s.token("yc.clerk", "clerk", "420500")), \
        s.client(bearer=s.token("yc.examiner", "examiner", "420500"))
    assert yc_clerk.post(f"/api/cases/{cid}/transitions/accept").status_code == 200
    r = yc_examiner.post(f"/api/cases/{cid}/transitions/request_supplement", json={"data": {
        "supplement_items": "质押合同签章页", "notice_received_on": "2024-04-02"}})
    assert r.status_code == 200, r.text
    root = s.client("root_admin")
    before = (root.get(f"/api/cases/{cid}").json(), root.get(f"/api/cases/{cid}/history").json())

    # day 0 of the 30-day period: the portal cannot lapse it, nor can anyone else
    p = problem(portal.post(f"/api/cases/{cid}/transitions/supplement_lapsed"), 403)
    assert "engine's own" in p["detail"]
    problem(yc_clerk.post(f"/api/cases/{cid}/transitions/supplement_lapsed"), 403)
    assert "supplement_lapsed" not in portal.get(f"/api/cases/{cid}/triggers").text
    # a token issued with the old role: refused, saying how to reissue it
    p = problem(s.client(bearer=_old_system_token(s)).post(f"/api/cases/{cid}/transitions/supplement_lapsed"), 401)
    assert "portal" in p["detail"] and "reissue" in p["detail"]
    # SSO: the role ``system`` in a JWT is ignored (the rest of the token stands)
    problem(s.client(bearer=jwt.encode({"sub": "system", "org": "420000", "roles": ["portal"], "exp": 4102444800},
                                       JWT_SECRET, algorithm="HS256")).get(f"/api/cases/{cid}"), 401)
    for roles in (["system"], ["system", "portal"]):
        sso = s.client(bearer=jwt.encode({"sub": "sso.portal", "org": "420000", "roles": roles, "exp": 4102444800},
                                         JWT_SECRET, algorithm="HS256"))
        problem(sso.post(f"/api/cases/{cid}/transitions/supplement_lapsed"), 403)
    # a person recorded with the role signs in to the pages without it
    from api import web

    web.accounts_for(s.engine).put(Person(id="old.portal", name="旧对接账号", roles=frozenset({"system", "clerk"}),
                                          org="420500"))
    web.accounts_for(s.engine).set_password_hash("old.portal", PASSWORD_HASH)
    page = s.page_client("old.portal")
    html = page.get(f"/web/cases/{cid}").text
    assert f"/web/cases/{cid}/fire/supplement_lapsed" not in html
    r = page.post(f"/web/cases/{cid}/fire/supplement_lapsed", data={"csrf": csrf_of(html)})
    assert r.status_code == 403, r.text
    assert (root.get(f"/api/cases/{cid}").json(), root.get(f"/api/cases/{cid}/history").json()) == before

    bundle = s.client("portal").post("/api/cases", json={"item_id": BUNDLE, "org": "420100", "data": BUNDLE_DATA})
    assert bundle.status_code == 201, bundle.text
    problem(portal.post(f"/api/cases/{bundle.json()['id']}/transitions/children_closed"), 403)
    assert root.get(f"/api/cases/{bundle.json()['id']}").json()["state"] == "open"


def test_no_token_is_issued_with_the_engines_role(tmp_path: Path) -> None:
    from api.auth import issue_token, parse_roles

    with pytest.raises(ValueError, match="portal"):
        parse_roles("clerk,system")
    with pytest.raises(ValueError, match="portal"):
        issue_token(tokens_for(build_engine("memory://")), user="portal", roles="system", org="420000",
                    now=at(NOW))
    with pytest.raises(ValueError, match="engine's own"):  # its id: the history would show the engine acting
        issue_token(tokens_for(build_engine("memory://")), user="system", roles="portal", org="420000",
                    now=at(NOW))
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    made = subprocess.run([sys.executable, "-m", "api.cli", "token", "create", "--db", db, "--user", "portal",
                           "--roles", "system", "--org", "420000"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert made.returncode == 1 and "portal" in made.stderr, (made.stdout, made.stderr)
    assert "Traceback" not in made.stderr
    ok = subprocess.run([sys.executable, "-m", "api.cli", "token", "create", "--db", db, "--user", "portal",
                         "--roles", "portal", "--org", "420000"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
