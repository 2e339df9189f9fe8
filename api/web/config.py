"""The pages' configuration and per-app state (made on first use unless :func:`configure` ran).

Environment (read once, at the edge): ``CASECLOCK_WEB_SECRET`` (signs session cookies and CSRF
tokens; set the same value on every process behind a load balancer — without it a random secret
is made per process and sessions end when it restarts), ``CASECLOCK_WEB_SECURE_COOKIE`` (``1``:
cookies Secure always; without it they are Secure when the request came over HTTPS, directly or
through a proxy uvicorn trusts), ``CASECLOCK_WEB_SESSION_HOURS`` (default 10),
``CASECLOCK_WEB_POLL_SECONDS`` (how often pages refresh their counts, default 30),
``CASECLOCK_SIGNIN_FREE_FAILURES`` (failed sign-ins per person and client before the back-off
starts, default 5) and ``CASECLOCK_SIGNIN_MAX_DELAY`` (the longest back-off in seconds, default
900): see api/web/signin.py.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI, Request

from adapters.wrapping import breakable
from api.backoff import Backoff, BackoffPolicy, failures_for
from workflow.engine import Engine

from .accounts import Accounts, accounts_for, signouts_for
from .security import Signer

log = logging.getLogger("caseclock.web")
HERE = Path(__file__).resolve().parent
TEMPLATES = HERE.parent / "templates"
STATIC = HERE.parent / "static"


@dataclass(frozen=True, kw_only=True)
class WebSettings:
    secret: str | None = None
    secure_cookie: bool = False
    session_hours: float = 10
    poll_seconds: int = 30
    accounts: Accounts | None = None  # None: the engine database's people (accounts_for)
    signin: BackoffPolicy = field(default_factory=BackoffPolicy)  # failed sign-ins per (person, client)


def settings_from_env(env: dict[str, str] | None = None) -> WebSettings:
    e = dict(os.environ if env is None else env)
    return WebSettings(
        secret=e.get("CASECLOCK_WEB_SECRET") or None,
        secure_cookie=e.get("CASECLOCK_WEB_SECURE_COOKIE", "").lower() in ("1", "true", "yes"),
        session_hours=float(e.get("CASECLOCK_WEB_SESSION_HOURS") or 10),
        poll_seconds=max(5, int(e.get("CASECLOCK_WEB_POLL_SECONDS") or 30)),
        signin=BackoffPolicy(free=int(e.get("CASECLOCK_SIGNIN_FREE_FAILURES") or 5),
                             max_delay=float(e.get("CASECLOCK_SIGNIN_MAX_DELAY") or 900)),
    )


@dataclass
class WebState:
    settings: WebSettings
    accounts: Accounts
    signer: Signer
    env: jinja2.Environment
    throttle: Backoff  # failed sign-ins per (person, client): api/web/signin.py
    reports: Any = None  # adapters.reports.ReportService, made on first use


def _environment() -> jinja2.Environment:
    from . import present

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES), encoding="utf-8"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        trim_blocks=True, lstrip_blocks=True,
    )
    env.globals.update(
        P="/web",
        SLA=present.SLA_LABELS, COLOUR=present.SLA_COLOUR, STATUS=present.STATUS_LABELS,
        ROLES=present.ROLE_LABELS, KINDS=present.KIND_LABELS, EVENTS=present.EVENT_LABELS,
        LEVELS=present.LEVEL_LABELS, CLOCK_KINDS=present.CLOCK_KIND_LABELS,
        YEARS=present.YEAR_LABELS, LIMIT_STATUS=present.LIMIT_STATUS_LABELS, UNITS=present.UNIT_WORDS,
        PROVISIONAL_NOTE=present.PROVISIONAL_NOTE,
    )
    env.filters.update(
        when=present.when, days_left=present.days_left, breakable=breakable, limit_cn=present.limit_cn,
        show=present.show_value, role_names=present.role_names, choice=present.choice_label,
        pct=lambda v: "—" if v is None else f"{v * 100:.1f}%",
    )
    env.tests["match_private"] = lambda k: str(k).startswith("_")
    return env


def make_state(engine: Engine, settings: WebSettings | None = None) -> WebState:
    s = settings or settings_from_env()
    secret = s.secret
    if not secret:
        log.warning("CASECLOCK_WEB_SECRET is not set: a random secret is used, sessions end on restart")
        secret = secrets.token_urlsafe(32)
    return WebState(settings=s, accounts=s.accounts or accounts_for(engine),
                    signer=Signer(secret.encode("utf-8"), ended=signouts_for(engine)), env=_environment(),
                    throttle=Backoff(failures_for(engine.store), s.signin))


def configure(app: FastAPI, settings: WebSettings) -> WebState:
    """Set the pages' settings (otherwise read from the environment on the first request)."""
    engine = app.state.ctx.engine
    state = app.state.web = make_state(engine, settings)
    return state


_lock = threading.Lock()


def web_state(request: Request) -> WebState:
    state = getattr(request.app.state, "web", None)
    if state is None:
        with _lock:
            state = getattr(request.app.state, "web", None)
            if state is None:
                state = request.app.state.web = make_state(request.app.state.ctx.engine)
    return state


__all__ = ["STATIC", "TEMPLATES", "WebSettings", "WebState", "configure", "settings_from_env", "web_state"]
