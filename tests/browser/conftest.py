"""Browser tests: the real app on a SQLite file in tmp_path, served by uvicorn on 127.0.0.1 (a free
port), driven by Debian's headless Chromium through Selenium (``/usr/bin/chromium`` and
``/usr/bin/chromedriver``; no browser is downloaded). Skipped, with the reason, when they are
absent (``.ci/run`` installs them with apt-get).

Time: the engine's ``now`` is :class:`api.demo.SimClock`; a case is opened in the past by setting
``clock.at``, then ``engine.sweep()`` runs at the real now and the case is red.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from api.web.screenshots import browser_missing

MISSING = browser_missing()
if MISSING:
    pytest.skip(f"browser tests need Chromium and Selenium: {MISSING}", allow_module_level=True)

from adapters import build_engine  # noqa: E402
from adapters.directory import Person  # noqa: E402
from adapters.sql import upgrade  # noqa: E402
from api import web  # noqa: E402
from api.app import create_app  # noqa: E402
from api.demo import SimClock  # noqa: E402
from api.web.screenshots import LiveServer, chromium  # noqa: E402
from api.web.security import hash_password  # noqa: E402
from workflow.legaltime import TZ  # noqa: E402
from workflow.model import Actor  # noqa: E402

PLEDGE = "patent_pledge_registration"
PASSWORD = "Browser-test-2024!"
PASSWORD_HASH = hash_password(PASSWORD)
PEOPLE = {
    "zhang": ("张伟", ("clerk",), "420100"),
    "wang": ("王芳", ("examiner",), "420100"),
    "li": ("李娜", ("supervisor",), "420100"),
    "liu": ("刘洋", ("clerk",), "420500"),
}


def pledge_data(**extra: Any) -> dict[str, Any]:
    return {"request_type": "registration", "channel": "paper", "pledgor": "武汉光谷智能装备有限公司",
            "pledgee": "招商银行武汉分行", "patent_numbers": "ZL202310000001.X", **extra}


@dataclass
class Stack:
    engine: Any
    clock: SimClock
    server: LiveServer
    cases: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def actor(self, user: str) -> Actor:
        name, roles, org = PEOPLE[user]
        return Actor(id=user, roles=roles, org=org, name=name)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder: Path = tmp_path_factory.mktemp("web")
    url = f"sqlite:///{folder / 'caseclock.db'}"
    upgrade(url)
    clock = SimClock()
    engine = build_engine(url, now=clock)
    app = create_app(engine)
    if not any(getattr(r, "path", "") == "/web/login" for r in app.routes):
        app.include_router(web.router)
    web.configure(app, web.WebSettings(secret="browser-tests-secret-0123456789", poll_seconds=5))
    accounts = web.accounts_for(engine)
    for pid, (name, roles, org) in PEOPLE.items():
        accounts.put(Person(id=pid, name=name, roles=frozenset(roles), org=org))
        accounts.set_password_hash(pid, PASSWORD_HASH)
    s = Stack(engine=engine, clock=clock, server=LiveServer(app).start())
    # a Yichang case (a Wuhan clerk must never see it)
    s.cases["yichang"] = engine.open_case(PLEDGE, actor=s.actor("liu"), data=pledge_data(pledgor="宜昌三峡新材料股份有限公司"))
    # a Wuhan case opened three weeks ago, accepted and never decided: red after the sweep at the
    # real now (never accepted, it would be deemed accepted instead: 一次性告知)
    clock.at = datetime.now(TZ) - timedelta(days=21)
    s.cases["red"] = engine.open_case(PLEDGE, actor=s.actor("zhang"), data=pledge_data(pledgor="逾期未办有限公司"))
    engine.fire(s.cases["red"].id, "accept", actor=s.actor("zhang"))
    clock.at = None
    engine.sweep()
    try:
        yield s
    finally:
        s.server.stop()
        dispose = getattr(engine.store, "dispose", None)
        if dispose is not None:
            dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as driver:
        yield driver


@pytest.fixture
def driver(browser: Any, stack: Stack) -> Iterator[Any]:
    """The module's browser, signed out before and after each test."""
    browser.delete_all_cookies()
    browser.get(stack.url + "/web/login")
    browser.delete_all_cookies()
    yield browser
    browser.delete_all_cookies()


def submitted(d: Any, act: Any) -> None:
    """Do ``act`` (which submits a form or follows a link) and wait for the new page."""
    from selenium.webdriver.support.expected_conditions import staleness_of

    from api.web.screenshots import wait_for

    old = d.find_element("tag name", "html")
    act()
    wait_for(d, staleness_of(old))
    wait_for(d, lambda x: x.execute_script("return document.readyState") == "complete")
