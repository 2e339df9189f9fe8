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
              secret: str = "unit-tests-secret-0123456789") -> tuple[Any, Any, SimClock]:
    """``people``: id → (name, role, org). Returns (engine, app, clock)."""
    clock = SimClock()
    engine = build_engine("memory://", now=clock)
    app = create_app(engine)
    if not any(getattr(r, "path", "") == "/web/login" for r in app.routes):
        app.include_router(web.router)
    web.configure(app, web.WebSettings(secret=secret))
    acc = web.accounts_for(engine)
    for pid, (name, role, org) in people.items():
        acc.put(Person(id=pid, name=name, roles=frozenset({role}), org=org))
        acc.set_password_hash(pid, password_hash)
    return engine, app, clock
