"""Signing out of the pages holds in every process (``serve --workers N``): the sign-out is kept
in the database (``web_signouts``), not only in the memory of the worker that handled it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from adapters import build_engine
from adapters.directory import Person
from api import web
from api.app import create_app
from api.web.routes import SESSION_COOKIE
from api.web.security import hash_password

SECRET = "shared-secret-of-the-workers-0123"
PW = "Signout-test-2024!"


def _app(url: str):
    engine = build_engine(url)
    app = create_app(engine)
    web.configure(app, web.WebSettings(secret=SECRET))
    return engine, app


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


@pytest.fixture
def two_workers(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'pages.db'}"
    a, app_a = _app(url)
    b, app_b = _app(url)  # another worker process: its own engine, state and signer
    accounts = web.accounts_for(a)
    accounts.put(Person(id="clerk", name="CLERK", roles=frozenset({"clerk"}), org="420100"))
    accounts.set_password_hash("clerk", hash_password(PW))
    yield app_a, app_b
    a.store.dispose()
    b.store.dispose()


def test_a_sign_out_in_one_worker_holds_in_the_others(two_workers):
    app_a, app_b = two_workers
    first = TestClient(app_a)
    r = first.post("/web/login", data={"user": "clerk", "password": PW, "csrf": _csrf(first.get("/web/login").text)},
                   follow_redirects=False)
    assert r.status_code == 303
    cookie = first.cookies[SESSION_COOKIE]

    jar = {"Cookie": f"{SESSION_COOKIE}={cookie}"}
    other = TestClient(app_b)
    page = other.get("/web/worklist", headers=jar, follow_redirects=False)
    assert page.status_code == 200  # the same session works in the other worker

    out = first.post("/web/logout", data={"csrf": _csrf(first.get("/web/worklist").text)}, follow_redirects=False)
    assert out.status_code == 303 and "/web/login" in out.headers["location"]

    # the copied cookie, replayed against the other worker
    refused = TestClient(app_b).get("/web/worklist", headers=jar, follow_redirects=False)
    assert refused.status_code == 303 and refused.headers["location"].startswith("/web/login")
    # and a third worker started later refuses it too
    late_engine, late_app = _app(app_a.state.ctx.engine.store.url.render_as_string())
    try:
        assert TestClient(late_app).get("/web/worklist", headers=jar, follow_redirects=False).status_code == 303
    finally:
        late_engine.store.dispose()
