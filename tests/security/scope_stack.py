"""A real service for the scope tests (issue 14, classes 1, 2 and 4): the shipped definitions on a
SQL store (a SQLite file, or a PostgreSQL schema), the app served by uvicorn on 127.0.0.1 (a free
port, in a thread), an API token per persona, and web accounts for the pages, reached over real
HTTP with httpx. Time is the engine's injected clock (``stack.clock.at``); nothing sleeps."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import pytest

from adapters import build_engine
from adapters.directory import Person
from api import web
from api.app import create_app
from api.auth import JwtSettings, issue_token
from api.demo import SimClock
from api.settings import ApiSettings
from api.tokens import tokens_for
from api.web.screenshots import LiveServer
from api.web.security import hash_password
from workflow.engine import Engine
from workflow.legaltime import TZ
from workflow.model import Actor

JWT_SECRET = "scope-tests-shared-secret-0123456789abcdef"
PASSWORD = "Scope-tests-2026!"
PASSWORD_HASH = hash_password(PASSWORD)  # once: scrypt is slow on purpose

PERSONAS: dict[str, tuple[str, str]] = {
    "root_admin": ("admin", "420000"),
    "wuhan_admin": ("admin", "420100"),
    "yichang_admin": ("admin", "420500"),
    "wuhan_clerk": ("clerk", "420100"),
    "wuhan_examiner": ("examiner", "420100"),
    "yichang_clerk": ("clerk", "420500"),
    "yichang_supervisor": ("supervisor", "420500"),
    "province_leader": ("leader", "420000"),
    "province_supervisor": ("supervisor", "420000"),
    "portal": ("portal", "420000"),
}
PLEDGE = "patent_pledge_registration"
PLEDGE_DATA = {"request_type": "registration", "channel": "online", "pledgor": "武汉光谷智能装备有限公司",
               "pledgee": "招商银行武汉分行", "patent_numbers": "ZL202310000001.X"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def actor(persona: str, user: str | None = None) -> Actor:
    role, org = PERSONAS[persona]
    return Actor(user or persona, {role}, org)


@dataclass
class Stack:
    engine: Engine
    server: LiveServer
    clock: SimClock
    tokens: dict[str, str] = field(default_factory=dict)
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def token(self, user: str, role: str, org: str) -> str:
        token, _ = issue_token(tokens_for(self.engine), user=user, roles=role, org=org,
                               now=self.engine.now(), orgs=self.engine.orgs)
        return token

    def client(self, persona: str | None = None, *, bearer: str | None = None) -> httpx.Client:
        headers = {}
        if persona is not None:
            bearer = self.tokens[persona]
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        c = httpx.Client(base_url=self.url, headers=headers, timeout=30)
        self.clients.append(c)
        return c

    def page_client(self, persona: str) -> httpx.Client:
        """A browser-like client signed in to the pages as ``persona`` (password, CSRF, cookie)."""
        c = httpx.Client(base_url=self.url, timeout=30, follow_redirects=False)
        self.clients.append(c)
        r = c.post("/web/login", data={"user": persona, "password": PASSWORD,
                                       "csrf": csrf_of(c.get("/web/login").text)})
        assert r.status_code == 303, r.text
        return c

    def close(self) -> None:
        for c in self.clients:
            c.close()
        self.server.stop()
        dispose = getattr(self.engine.store, "dispose", None)
        if dispose is not None:
            dispose()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, html[:500]
    return found.group(1)


def start(url: str, now: datetime) -> Stack:
    clock = SimClock()
    clock.at = now
    engine = build_engine(url, now=clock)
    app = create_app(engine, ApiSettings(jwt=JwtSettings(keys=(JWT_SECRET,))))
    web.configure(app, web.WebSettings(secret="scope-tests-web-secret-0123456789"))
    accounts = web.accounts_for(engine)
    stack = Stack(engine=engine, server=LiveServer(app).start(), clock=clock)
    for persona, (role, org) in PERSONAS.items():
        stack.tokens[persona] = stack.token(persona, role, org)
        accounts.put(Person(id=persona, name=persona, roles=frozenset({role}), org=org))
        accounts.set_password_hash(persona, PASSWORD_HASH)
    return stack


@pytest.fixture
def stack_at() -> Iterator[Any]:
    """``stack_at(url, now)`` starts a service; every one started is stopped after the test."""
    started: list[Stack] = []

    def make(url: str, now: datetime) -> Stack:
        s = start(url, now)
        started.append(s)
        return s

    yield make
    for s in started:
        s.close()


def problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    return r.json()  # type: ignore[no-any-return]
