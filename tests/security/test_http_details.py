"""Issue 14, class 7: the smaller HTTP details, over real HTTP (uvicorn on 127.0.0.1).

- A 405's ``Allow`` names every method the path takes (it named only the first route's: GET of
  ``/api/calendar``, GET of the attachments, though both take POST too).
- The cookies are ``Secure`` when the request came over HTTPS — directly, or through a proxy that
  says so and that uvicorn trusts (``caseclock serve --forwarded-allow-ips``) — and not otherwise;
  ``CASECLOCK_WEB_SECURE_COOKIE=1`` makes them Secure always. Behind a trusted proxy the rate
  limits' client is the address the proxy names.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from adapters import build_engine
from adapters.directory import Person
from api import web
from api.app import create_app
from api.auth import issue_token
from api.settings import ApiSettings
from api.tokens import tokens_for
from api.web.security import hash_password
from tests.faults.conftest import Serve, make_token

PW = "Cookie-test-2024!"
SECRET = "http-details-secret-0123456789abcdef"
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


class Server:
    """uvicorn in a thread with the options ``caseclock serve`` gives it (``uvicorn_options``)."""

    def __init__(self, app: Any, **options: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        port = self.sock.getsockname()[1]
        scheme = "https" if options.get("ssl_certfile") else "http"
        self.url = f"{scheme}://127.0.0.1:{port}"
        try:
            from api.cli import uvicorn_options
        except ImportError:  # before it: uvicorn's own defaults (proxy headers from 127.0.0.1)
            opts: dict[str, Any] = {}
        else:
            opts = {k: v for k, v in uvicorn_options(host="127.0.0.1", port=port, env={}).items()
                    if k not in ("host", "port", "log_level", "access_log")}
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False, **{**opts, **options})
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "uvicorn did not start"
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    e = build_engine(f"sqlite:///{tmp_path_factory.mktemp('details') / 'details.db'}")
    accounts = web.accounts_for(e)
    accounts.put(Person(id="clerk", name="CLERK", roles=frozenset({"clerk"}), org="420100"))
    accounts.set_password_hash("clerk", hash_password(PW))
    yield e
    e.store.dispose()


def _app(engine: Any, *, secure: bool = False, limits: Any = None) -> Any:
    app = create_app(engine, ApiSettings(rate_limits=limits) if limits is not None else None)
    web.configure(app, web.WebSettings(secret=SECRET, secure_cookie=secure))
    return app


# --- 405 ------------------------------------------------------------------------------------------


def test_a_405_allows_every_method_the_path_takes(engine: Any) -> None:
    token, _ = issue_token(tokens_for(engine), user="admin", roles="admin,clerk", org="420000", now=engine.now())
    with Server(_app(engine)) as s:
        c = httpx.Client(base_url=s.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        doc = c.get("/openapi.json").json()
        templates = {p: {m.upper() for m in ops} for p, ops in doc["paths"].items()}
        checked = 0
        for template in templates:
            path = re.sub(r"\{[^}]+\}", "x1", template)
            takes: set[str] = set()
            for other, methods in templates.items():  # every route whose template matches the path
                if re.fullmatch(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(other)), path):
                    takes |= methods
            wrong = next(m for m in ("PATCH", "DELETE", "PUT", "POST") if m not in takes)
            r = c.request(wrong, path)
            assert r.status_code == 405, (wrong, path, r.status_code)
            assert r.headers["content-type"].startswith("application/problem+json")
            allow = {m.strip() for m in r.headers["allow"].split(",")}
            assert allow == takes, (path, allow, takes)
            checked += 1
        assert checked >= 20
        for path, must in (("/api/calendar", {"GET", "POST"}), ("/api/cases/x1/attachments", {"GET", "POST"}),
                           ("/api/cases", {"GET", "POST"})):
            assert must <= set(c.delete(path).headers["allow"].replace(" ", "").split(","))
        # the pages' paths too (not in the OpenAPI document)
        allow = c.request("PUT", "/web/login").headers["allow"]
        assert set(allow.replace(" ", "").split(",")) == {"GET", "POST"}


# --- Secure cookies -------------------------------------------------------------------------------


def _cookies(r: httpx.Response) -> dict[str, str]:
    """Set-Cookie lines by cookie name (lower case)."""
    return {line.split("=", 1)[0]: line for line in r.headers.get_list("set-cookie")}


def _secure(line: str) -> bool:
    return "; secure" in line.lower()


def _sign_in(c: httpx.Client, **headers: str) -> tuple[httpx.Response, httpx.Response]:
    page = c.get("/web/login", headers=headers)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    # sent by hand: a client keeps a Secure cookie for HTTPS, and the proxy's leg here is plain HTTP
    pre = _cookies(page)["cc_pre"].split(";", 1)[0].split("=", 1)[1]
    done = c.post("/web/login", data={"user": "clerk", "password": PW, "csrf": csrf},
                  headers={**headers, "Cookie": f"cc_pre={pre}"})
    assert done.status_code == 303, done.text[:300]
    return page, done


def _all_secure(page: httpx.Response, done: httpx.Response) -> list[bool]:
    pre, session = _cookies(page), _cookies(done)
    return [_secure(pre["cc_pre"]), _secure(session["cc_session"]), _secure(session["cc_device"])]


def test_cookies_over_plain_http_are_not_secure(engine: Any) -> None:
    with Server(_app(engine)) as s:
        assert _all_secure(*_sign_in(httpx.Client(base_url=s.url, timeout=30))) == [False] * 3


def test_cookies_behind_a_trusted_proxy_that_says_https_are_secure(engine: Any) -> None:
    with Server(_app(engine)) as s:  # trusts 127.0.0.1, as ``caseclock serve`` does by default
        c = httpx.Client(base_url=s.url, timeout=30)
        assert _all_secure(*_sign_in(c, **{"X-Forwarded-Proto": "https"})) == [True] * 3


def test_a_proxy_header_from_an_untrusted_peer_changes_nothing(engine: Any) -> None:
    with Server(_app(engine), forwarded_allow_ips="192.0.2.10") as s:
        c = httpx.Client(base_url=s.url, timeout=30)
        assert _all_secure(*_sign_in(c, **{"X-Forwarded-Proto": "https"})) == [False] * 3


def test_cookies_over_https_are_secure(engine: Any, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    with Server(_app(engine), ssl_certfile=str(cert), ssl_keyfile=str(key)) as s:
        c = httpx.Client(base_url=s.url, timeout=30, verify=False)
        assert _all_secure(*_sign_in(c)) == [True] * 3


def test_the_setting_makes_them_secure_over_plain_http_too(engine: Any) -> None:
    settings = web.config.settings_from_env({"CASECLOCK_WEB_SECURE_COOKIE": "1", "CASECLOCK_WEB_SECRET": SECRET})
    assert settings.secure_cookie
    with Server(_app(engine, secure=True)) as s:
        assert _all_secure(*_sign_in(httpx.Client(base_url=s.url, timeout=30))) == [True] * 3


def test_behind_a_trusted_proxy_the_client_is_the_address_it_names(engine: Any) -> None:
    from api.ratelimit import Rate, RateLimits

    limits = RateLimits(per_client=Rate(per_second=0.001, burst=3))
    with Server(_app(engine, limits=limits)) as s:
        c = httpx.Client(base_url=s.url, timeout=30)
        one = {"X-Forwarded-For": "198.51.100.7"}
        assert [c.get("/api/health", headers=one).status_code for _ in range(4)] == [200, 200, 200, 429]
        assert c.get("/api/health", headers={"X-Forwarded-For": "198.51.100.8"}).status_code == 200
    with Server(_app(engine, limits=limits), forwarded_allow_ips="192.0.2.10") as s:  # not trusted: the peer counts
        c = httpx.Client(base_url=s.url, timeout=30)
        codes = [c.get("/api/health", headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code for i in range(4)]
        assert codes == [200, 200, 200, 429]


def test_serve_passes_the_trusted_proxies_to_uvicorn(tmp_path: Path) -> None:
    from api.cli import uvicorn_options

    assert uvicorn_options(host="h", port=1, env={})["forwarded_allow_ips"] == "127.0.0.1"
    assert uvicorn_options(host="h", port=1, env={"FORWARDED_ALLOW_IPS": "10.0.0.5"})["forwarded_allow_ips"] == "10.0.0.5"
    assert uvicorn_options(host="h", port=1, forwarded_allow_ips="10.0.0.0/8", env={})["forwarded_allow_ips"] == "10.0.0.0/8"
    assert uvicorn_options(host="h", port=1, env={})["proxy_headers"] is True
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    env = {"CASECLOCK_WEB_SECRET": SECRET}
    for args, secure in (([], True), (["--forwarded-allow-ips", "192.0.2.10"], False)):
        serve = Serve(db, tmp_path, scheduler=False, extra_env=env, args=args).start()
        try:
            token = make_token(db, user="clerk", roles="clerk", org="420100")
            assert httpx.get(f"{serve.url}/api/worklist", headers={"Authorization": f"Bearer {token}"}).status_code == 200
            page = httpx.get(f"{serve.url}/web/login", headers={"X-Forwarded-Proto": "https"})
            assert _secure(_cookies(page)["cc_pre"]) is secure, (args, page.headers.get_list("set-cookie"))
        finally:
            serve.stop()


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path
