"""The ladder in force (issue 18 part 7) on ``GET /api/definitions/{id}`` and the definition
page: the office's override where it sets something, the engine's defaults where it does not."""

from __future__ import annotations

import re
import textwrap
from datetime import datetime

from fastapi.testclient import TestClient

from adapters import build_engine
from adapters.directory import MemoryDirectory, Person
from api import web
from api.app import create_app
from api.auth import issue_token
from api.demo import SimClock
from api.tokens import tokens_for
from api.web.security import hash_password
from workflow import TZ, Actor

ITEM = "patent_pledge_registration"
OVERRIDE = textwrap.dedent(
    """\
    override: patent_pledge_registration
    reason: 本局升级规则
    escalation:
      warning: {before_commitment: 2 working days}
      overdue: {remind: "working days 09:00", notify: [assignee, supervisor]}
      over_statutory: {notify: [supervisor, leader], reassign_to: supervisor}
    """
)


def _client(engine):
    app = create_app(engine)
    token, _ = issue_token(tokens_for(engine), user="zhao.kz", roles="supervisor", org="420100",
                           now=engine.now(), orgs=engine.orgs)
    return app, TestClient(app, headers={"Authorization": f"Bearer {token}"})


def test_the_effective_ladder_of_an_overridden_definition(tmp_path):
    path = tmp_path / "pledge_ladder.yaml"
    path.write_text(OVERRIDE, encoding="utf-8")
    _, c = _client(build_engine("memory://", now=SimClock(), overrides=[path]))
    r = c.get(f"/api/definitions/{ITEM}")
    assert r.status_code == 200, r.text
    ladder = r.json()["escalation"]
    assert ladder["warning"] == {"label": "黄色预警", "notify": None, "audience": ["assignee|state_roles"],
                                 "before_commitment": "2 working days", "default": False}
    assert ladder["overdue"] == {
        "label": "超承诺时限", "notify": ["assignee", "supervisor"],
        "audience": ["assignee|state_roles", "role:supervisor@org"],
        "remind": "working days 09:00", "reassign_to": None, "default": False}
    assert ladder["over_statutory"] == {
        "label": "超法定时限", "notify": ["supervisor", "leader"],
        "audience": ["role:supervisor@org", "role:leader@org", "role:leader@parent"],
        "remind": None, "reassign_to": "supervisor", "default": False}


def test_the_default_ladder_is_today_s_behaviour():
    _, c = _client(build_engine("memory://", now=SimClock()))
    ladder = c.get(f"/api/definitions/{ITEM}").json()["escalation"]
    assert ladder["warning"]["before_commitment"] == "1 working day" and ladder["warning"]["default"] is True
    assert ladder["overdue"] == {"label": "超承诺时限", "notify": None, "audience": ["role:supervisor@org"],
                                 "remind": None, "reassign_to": None, "default": True}
    assert ladder["over_statutory"]["audience"] == ["role:leader@org", "role:leader@parent"]


def _pages(tmp_path, clock=None):
    """The app with its pages, on an engine with the office's ladder, signed in as a supervisor."""
    path = tmp_path / "pledge_ladder.yaml"
    path.write_text(OVERRIDE, encoding="utf-8")
    engine = build_engine("memory://", now=clock or SimClock(), overrides=[path])
    app = create_app(engine)
    if not any(getattr(r, "path", "") == "/web/login" for r in app.routes):
        app.include_router(web.router)
    web.configure(app, web.WebSettings(secret="unit-tests-secret-0123456789"))
    acc = web.accounts_for(engine)
    acc.put(Person(id="boss", name="赵科长", roles=frozenset({"supervisor"}), org="420100"))
    acc.set_password_hash("boss", hash_password("Ladder-test-2026!"))
    c = TestClient(app)
    csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/web/login").text).group(1)  # type: ignore[union-attr]
    c.post("/web/login", data={"user": "boss", "password": "Ladder-test-2026!", "csrf": csrf})
    return engine, c


def test_the_history_page_shows_the_reminders_and_the_reassignment(tmp_path):
    clock = SimClock()
    clock.at = datetime(2026, 12, 25, 10, 0, tzinfo=TZ)
    engine, c = _pages(tmp_path, clock)
    engine.people = MemoryDirectory([Person(id="boss", name="赵科长", roles=frozenset({"supervisor"}), org="420100")])
    clerk = Actor("clerk-1", {"clerk"}, "420100")
    case = engine.open_case(ITEM, actor=clerk, data={
        "request_type": "registration", "channel": "paper", "pledgor": "甲公司", "pledgee": "乙银行",
        "patent_numbers": "ZL1"})
    engine.fire(case.id, "accept", actor=clerk)
    for when in (datetime(2026, 12, 31, 9, 0), datetime(2027, 1, 5, 0, 0)):
        clock.at = when.replace(tzinfo=TZ)
        engine.sweep()
    page = c.get(f"/web/cases/{case.id}").text
    assert "催办（超期每个工作日提醒）" in page and "2026-12-31" in page
    assert "按本局升级规则改派给科室负责人" in page and "赵科长" in page


def test_the_definition_page_shows_the_ladder_in_chinese(tmp_path):
    _, c = _pages(tmp_path)
    page = c.get(f"/web/definitions/{ITEM}").text
    section = page[page.index('id="h-ladder"'):page.index('id="h-diagram"')]
    assert "预警与升级" in section
    assert "承诺期限最后一日前第2个工作日0时起" in section
    assert "每个工作日 09:00" in section and "承办人（无则本环节办理人员）、本级科室负责人" in section
    assert "本级科室负责人、本级局领导、上级局领导" in section
    assert "科室负责人</td>" in section and "本局设定" in section
