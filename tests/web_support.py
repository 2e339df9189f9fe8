"""The pages over a memory engine for TestClient tests: the app with the web router, and people
in its directory with one password hash."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters import build_engine
from adapters.directory import Person
from api import web
from api.app import create_app
from api.demo import SimClock


def web_stack(people: Mapping[str, tuple[str, str, str]], password_hash: str,
              secret: str = "unit-tests-secret-0123456789", definitions: Any = None) -> tuple[Any, Any, SimClock]:
    """``people``: id → (name, role, org); ``definitions``: folders or files instead of the
    shipped ones. Returns (engine, app, clock)."""
    clock = SimClock()
    engine = build_engine("memory://", now=clock, **({} if definitions is None else {"definitions": definitions}))
    app = create_app(engine)
    if not any(getattr(r, "path", "") == "/web/login" for r in app.routes):
        app.include_router(web.router)
    web.configure(app, web.WebSettings(secret=secret))
    acc = web.accounts_for(engine)
    for pid, (name, role, org) in people.items():
        acc.put(Person(id=pid, name=name, roles=frozenset({role}), org=org))
        acc.set_password_hash(pid, password_hash)
    return engine, app, clock


def signed_in(app: Any, user: str, password: str) -> Any:
    """A TestClient signed in on the pages as ``user``."""
    import re

    from fastapi.testclient import TestClient

    c = TestClient(app)
    token = re.search(r'name="csrf" value="([^"]+)"', c.get("/web/login").text).group(1)  # type: ignore[union-attr]
    r = c.post("/web/login", data={"user": user, "password": password, "csrf": token}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return c
