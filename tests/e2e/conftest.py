"""End-to-end fixtures: the real app on a SQLite file, served by uvicorn on 127.0.0.1 (a free
port, in a thread of the test process), reached with httpx over real HTTP.

Time: the engine is built with a ``now`` function (:class:`api.demo.SimClock`); a test sets
``clock.at`` to act in the past and sweeps with ``engine.sweep()`` (the server thread and the test
share the engine). No frozen time, no sleeping.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters import build_engine
from api.app import create_app
from api.auth import JwtSettings, issue_token
from api.demo import SimClock
from api.settings import ApiSettings
from api.tokens import tokens_for
from api.web.screenshots import LiveServer  # uvicorn on 127.0.0.1:<free port> in a thread
from workflow.engine import Engine

PERSONAS = {
    "wuhan_clerk": ("clerk", "420100"),
    "wuhan_examiner": ("examiner", "420100"),
    "wuhan_supervisor": ("supervisor", "420100"),
    "yichang_clerk": ("clerk", "420500"),
    "yichang_examiner": ("examiner", "420500"),
    "province_leader": ("leader", "420000"),
    "admin": ("admin", "420000"),
    "portal": ("portal", "420000"),
}
JWT_SECRET = "e2e-shared-secret-for-sso-tests-0123456789"
JWT_ISSUER = "https://sso.hbipo.example"
JWT_AUDIENCE = "caseclock"

PLEDGE = "patent_pledge_registration"


def pledge_data(**extra: Any) -> dict[str, Any]:
    return {
        "request_type": "registration", "channel": "online", "pledgor": "武汉光谷智能装备有限公司",
        "pledgee": "招商银行武汉分行", "patent_numbers": "ZL202310000001.X", "patent_count": 1,
        "secured_amount": 5_000_000, **extra,
    }


@dataclass
class Stack:
    """One running service: engine, server, and an httpx client per persona."""

    engine: Engine
    server: LiveServer
    clock: SimClock
    db: str
    tokens: dict[str, str] = field(default_factory=dict)
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, persona: str | None = None, *, address: str | None = None, **headers: str) -> httpx.Client:
        """A client acting as ``persona`` (None: anonymous); ``address``: connect from another
        loopback address (``127.0.0.N``: another client, for the per-client limits)."""
        h = dict(headers)
        if persona is not None:
            h["Authorization"] = f"Bearer {self.tokens[persona]}"
        transport = httpx.HTTPTransport(local_address=address) if address else None
        return httpx.Client(base_url=self.url, headers=h, timeout=30, transport=transport)

    def __getattr__(self, persona: str) -> httpx.Client:
        if persona in PERSONAS:
            if persona not in self.clients:
                self.clients[persona] = self.client(persona)
            return self.clients[persona]
        raise AttributeError(persona)

    def close(self) -> None:
        for c in self.clients.values():
            c.close()
        self.server.stop()
        dispose = getattr(self.engine.store, "dispose", None)
        if dispose is not None:
            dispose()


def start_stack(folder: Path, name: str = "caseclock", **settings_kw: Any) -> Stack:
    """``settings_kw``: more ``ApiSettings`` (e.g. ``rate_limits``)."""
    clock = SimClock()
    db = f"sqlite:///{folder / (name + '.db')}"
    engine = build_engine(db, now=clock)
    settings = ApiSettings(jwt=JwtSettings(keys=(JWT_SECRET,), issuer=JWT_ISSUER, audience=JWT_AUDIENCE),
                           **settings_kw)
    app = create_app(engine, settings)
    stack = Stack(engine=engine, server=LiveServer(app).start(), clock=clock, db=db)
    store = tokens_for(engine)
    for persona, (role, org) in PERSONAS.items():
        token, _ = issue_token(store, user=persona, roles=role, org=org, now=engine.now(), orgs=engine.orgs)
        stack.tokens[persona] = token
    return stack


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The shared service (real time; tests that move the clock use ``timed``)."""
    stack = start_stack(tmp_path_factory.mktemp("live"))
    yield stack
    stack.close()


@pytest.fixture()
def timed(tmp_path: Path) -> Iterator[Stack]:
    """A fresh service of its own, whose clock the test moves (``timed.clock.at = …``)."""
    stack = start_stack(tmp_path, "timed")
    yield stack
    stack.clock.at = None
    stack.close()


def open_pledge(client: httpx.Client, **data: Any) -> dict[str, Any]:
    r = client.post("/api/cases", json={"item_id": PLEDGE, "data": pledge_data(**data)})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def problem(r: httpx.Response, status: int) -> dict[str, Any]:
    """Assert an RFC 9457 problem document with ``status``; return it."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers["content-type"]
    body = r.json()
    for key in ("type", "title", "status", "detail"):
        assert key in body, body
    assert body["status"] == status
    return body  # type: ignore[no-any-return]
