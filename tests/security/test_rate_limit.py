"""Issue 14, class 5: the API's rate limits (api/ratelimit.py).

Per token, per client, and for a client's failed secret look-ups; 429 with ``Retry-After``;
configurable; the defaults never refuse a portal's 100 requests a second, while failed look-ups
are limited far sooner. Over real HTTP (uvicorn on 127.0.0.1, each client on a loopback address
of its own); the limiter's clock is the test's, so nothing sleeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import Depends, Header

from adapters import build_engine
from api.app import create_app
from api.auth import issue_token
from api.settings import ApiSettings
from api.tokens import tokens_for
from api.web.screenshots import LiveServer


def limits(**kw: Any) -> Any:
    """``RateLimits(**kw)``, rates given as text (imported here: the tests over HTTP with the
    defaults run, and fail, on the code before api/ratelimit.py too)."""
    from api.ratelimit import Rate, RateLimits

    return RateLimits(**{k: Rate.parse(v) if isinstance(v, str) else v for k, v in kw.items()})


class Clock:
    def __init__(self, at: float = 1000.0) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


@dataclass
class Api:
    url: str
    app: object
    engine: object
    clock: Clock
    tokens: dict[str, str]

    def client(self, address: str, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30,
                            transport=httpx.HTTPTransport(local_address=address))


@contextmanager
def api(tmp_path: Path, sqlite_template, limits: Any = None) -> Iterator[Api]:
    engine = build_engine(sqlite_template.fresh(tmp_path))
    settings = ApiSettings() if limits is None else ApiSettings(rate_limits=limits)
    app = create_app(engine, settings)
    clock = Clock()
    limiter = getattr(app.state.ctx, "limiter", None)
    if limiter is not None:
        limiter.clock = clock
    tokens = {}
    for name in ("portal", "other"):
        tokens[name], _ = issue_token(tokens_for(engine), user=name, roles="clerk", org="420000", now=engine.now())
    server = LiveServer(app).start()
    try:
        yield Api(url=server.url, app=app, engine=engine, clock=clock, tokens=tokens)
    finally:
        server.stop()
        engine.store.dispose()


def _problem_429(r: httpx.Response) -> int:
    assert r.status_code == 429, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/problem+json")
    wait = int(r.headers["Retry-After"])
    assert wait >= 1 and r.json()["status"] == 429 and r.json()["retry_after"] == wait
    return wait


def test_a_portal_at_100_requests_a_second_is_never_refused(tmp_path: Path, sqlite_template) -> None:
    """The defaults: a burst of 300 at one instant (a busy page opening), then 100 a second for
    five seconds of the limiter's clock, with one token from one address; then two portals at
    100 a second each behind that address; then as fast as this machine goes on the real clock."""
    with api(tmp_path, sqlite_template) as a:
        portal = a.client("127.0.0.11", a.tokens["portal"])
        codes = [portal.get("/api/worklist", params={"limit": 1}).status_code for _ in range(300)]
        for _ in range(500):
            a.clock.at += 0.01
            codes.append(portal.get("/api/worklist", params={"limit": 1}).status_code)
        assert set(codes) == {200}, {c: codes.count(c) for c in set(codes)}
        other = a.client("127.0.0.11", a.tokens["other"])  # a second portal behind the same address
        for _ in range(300):
            a.clock.at += 0.01
            codes += [portal.get("/api/worklist", params={"limit": 1}).status_code,
                      other.get("/api/worklist", params={"limit": 1}).status_code]
        assert set(codes) == {200}, {c: codes.count(c) for c in set(codes)}
        a.app.state.ctx.limiter.clock = __import__("time").monotonic  # type: ignore[attr-defined]
        codes = [portal.get("/api/definitions").status_code for _ in range(300)]
        assert set(codes) == {200}


def test_a_token_over_its_rate_gets_429_with_retry_after(tmp_path: Path, sqlite_template) -> None:
    with api(tmp_path, sqlite_template, limits(per_token="10/s:10")) as a:
        portal = a.client("127.0.0.12", a.tokens["portal"])
        assert [portal.get("/api/worklist").status_code for _ in range(10)] == [200] * 10
        r = portal.post("/api/cases", json={})  # refused before the body is looked at
        assert _problem_429(r) == 1
        assert a.client("127.0.0.12", a.tokens["other"]).get("/api/worklist").status_code == 200  # per token
        a.clock.at += 0.1  # one token's worth of time
        assert portal.get("/api/worklist").status_code == 200
        assert portal.get("/api/worklist").status_code == 429


def test_a_client_over_its_rate_gets_429_whatever_token_it_uses(tmp_path: Path, sqlite_template) -> None:
    with api(tmp_path, sqlite_template, limits(per_client="20/s:20")) as a:
        one, two = a.client("127.0.0.13", a.tokens["portal"]), a.client("127.0.0.13", a.tokens["other"])
        codes = [(one if i % 2 else two).get("/api/worklist").status_code for i in range(20)]
        assert codes == [200] * 20
        _problem_429(one.get("/api/worklist"))
        _problem_429(two.get("/api/health"))  # every route: the limit is in front of them all
        assert a.client("127.0.0.14", a.tokens["portal"]).get("/api/worklist").status_code == 200


def test_failed_token_look_ups_are_limited_far_sooner(tmp_path: Path, sqlite_template) -> None:
    """The defaults: 20 wrong tokens from one address, then 429 — while that address's right
    token still works (a stranger there locks no one out) and another address is untouched."""
    with api(tmp_path, sqlite_template) as a:
        guesser = a.client("127.0.0.15", "cc_0123456789ab_" + "x" * 43)
        codes = [guesser.get("/api/worklist").status_code for _ in range(20)]
        assert codes == [401] * 20
        wait = _problem_429(guesser.get("/api/worklist"))
        assert _problem_429(a.client("127.0.0.15", "eyJhbGciOiJIUzI1NiJ9.e30.AAAA").get("/api/cases")) >= wait
        assert a.client("127.0.0.15", a.tokens["portal"]).get("/api/worklist").status_code == 200
        assert a.client("127.0.0.16", "cc_0123456789ab_" + "y" * 43).get("/api/worklist").status_code == 401
        assert a.client("127.0.0.15").get("/api/worklist").status_code == 401  # no token: nothing looked up
        a.clock.at += 15 * 60
        assert guesser.get("/api/worklist").status_code == 401


def test_the_secret_look_up_guard_is_ready_for_query_codes(tmp_path: Path, sqlite_template) -> None:
    """What ``/api/applications/{number}`` with ``X-Query-Code`` will use: a wrong code counts
    against the client, which is then refused before the code is even compared."""
    from api.ratelimit import guard_secret_lookup  # SecretLookupDep in a route module

    with api(tmp_path, sqlite_template) as a:
        app = a.app

        @app.get("/api/test-lookup/{number}")  # type: ignore[attr-defined]
        def lookup(number: str, guard: Any = Depends(guard_secret_lookup),  # noqa: B008
                   x_query_code: str = Header("")) -> dict[str, str]:
            if x_query_code != "right-code":
                guard.failed()
                from starlette.exceptions import HTTPException

                raise HTTPException(404, "no such application")
            return {"number": number}

        guesser = a.client("127.0.0.17")
        codes = [guesser.get("/api/test-lookup/1", headers={"X-Query-Code": f"{i:06d}"}).status_code
                 for i in range(20)]
        assert codes == [404] * 20
        _problem_429(guesser.get("/api/test-lookup/1", headers={"X-Query-Code": "right-code"}))
        assert a.client("127.0.0.18").get("/api/test-lookup/1", headers={"X-Query-Code": "right-code"}).json() == \
            {"number": "1"}


def test_the_limits_can_be_turned_off(tmp_path: Path, sqlite_template) -> None:
    off = limits(enabled=False, per_token="1/s:1", per_client="1/s:1", failures="1/s:1")
    with api(tmp_path, sqlite_template, off) as a:
        bad = a.client("127.0.0.19", "cc_bad")
        assert {bad.get("/api/worklist").status_code for _ in range(5)} == {401}


# --- the buckets ---------------------------------------------------------------------------------


def test_a_full_bucket_table_never_drops_a_held_back_client_for_a_newcomer() -> None:
    from api.ratelimit import Buckets, Rate

    clock = Clock()
    b = Buckets(Rate(per_second=1, burst=3), max_keys=10, clock=clock)
    for i in range(10):
        for _ in range(3):
            assert b.take(f"held-{i}") == 0
        assert b.take(f"held-{i}") > 0  # each one held back
    for i in range(1000):  # a thousand new addresses
        b.take(f"new-{i}")
    assert len(b) == 10
    assert all(b.peek(f"held-{i}") > 0 for i in range(10))  # still held back
    # the newcomers shared one overflow bucket meanwhile: they were held back together
    assert b.take("new-1001") > 0
    clock.at += 10  # everyone has filled up again: room for newcomers
    assert b.take("new-1002") == 0 and len(b) == 1


def test_a_bucket_that_filled_up_again_goes_first() -> None:
    from api.ratelimit import Buckets, Rate

    clock = Clock()
    b = Buckets(Rate(per_second=1, burst=5), max_keys=3, clock=clock)
    b.take("a")
    clock.at += 10
    b.take("b", 5)
    b.take("c", 5)
    b.take("d")  # a has filled up again: it goes
    assert b.peek("b") > 0 and b.peek("c") > 0 and b.peek("a") == 0 and len(b) == 3


def test_client_keys() -> None:
    from api.ratelimit import client_key

    assert client_key({"client": ("127.0.0.1", 5)}) == "127.0.0.1"
    assert client_key({"client": ("2001:db8::1", 5)}) == client_key({"client": ("2001:db8::ffff", 5)}) \
        == "2001:db8::/64"
    assert client_key({"client": ("::ffff:192.0.2.1", 5)}) == "192.0.2.1"
    assert client_key({"client": None}) == "unknown"


def test_rates_from_the_environment() -> None:
    from api.ratelimit import Rate, RateLimits, rate_limits_from_env

    limits = rate_limits_from_env({"CASECLOCK_RATE_PER_TOKEN": "300/s:600", "CASECLOCK_RATE_FAILURES": "10/min",
                                   "CASECLOCK_RATE_PER_CLIENT": "7200/hour:50"})
    assert limits.per_token == Rate(300, 600) and limits.failures == Rate(10 / 60, 10)
    assert limits.per_client == Rate(2, 50) and limits.enabled
    assert str(limits.per_token) == "300/s:600" and str(RateLimits().failures) == "4/min:20"
    assert not rate_limits_from_env({"CASECLOCK_RATE_LIMITS": "0"}).enabled
    assert rate_limits_from_env({}) == RateLimits()
    for bad in ("fast", "0/s", "10/fortnight", "-1/s", "5/s:0"):
        with pytest.raises(ValueError, match="CASECLOCK_RATE_PER_TOKEN"):
            rate_limits_from_env({"CASECLOCK_RATE_PER_TOKEN": bad})


def test_serve_refuses_a_malformed_rate_in_one_line(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from tests.faults.conftest import free_port

    args = [sys.executable, "-m", "api.cli", "serve", "--db", str(tmp_path / "x.db"), "--port", str(free_port()),
            "--no-scheduler"]
    proc = subprocess.Popen(args, env={**os.environ, "CASECLOCK_RATE_FAILURES": "lots"}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # it served instead of refusing
        proc.kill()
        proc.communicate()
        raise AssertionError("serve started with CASECLOCK_RATE_FAILURES=lots") from None
    text = out.decode("utf-8", "replace")
    assert proc.returncode == 1, text
    assert "CASECLOCK_RATE_FAILURES" in text and "Traceback" not in text
