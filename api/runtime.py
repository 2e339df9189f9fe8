"""Building the running service at the edge: where the environment is read.

``caseclock serve`` (one process) and :func:`api.asgi.app_from_env` (each worker of
``serve --workers N``) both build the engine, the API settings and the scheduler here.

Environment: ``CASECLOCK_DB`` (database URL or a SQLite file path; default ``caseclock.db`` in the
working folder), ``CASECLOCK_DEFINITIONS`` (files or folders separated by ``os.pathsep``; default
the bundled ones), ``CASECLOCK_SQLITE_SYNCHRONOUS`` (FULL or NORMAL), ``CASECLOCK_JWT_KEYS`` (PEM
public key files, ``os.pathsep``-separated), ``CASECLOCK_JWT_SECRET`` (an HS256 secret),
``CASECLOCK_JWT_ISSUER``, ``CASECLOCK_JWT_AUDIENCE``, ``CASECLOCK_SCHEDULER`` (0: no scheduler in
this process), the scheduler's own (``adapters.scheduler.SchedulerSettings.from_env``) and the rate
limits' ``CASECLOCK_RATE_*`` (:data:`api.ratelimit.ENV`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from adapters import build_engine
from workflow.engine import Engine

from .auth import JwtSettings
from .ratelimit import rate_limits_from_env

DEFAULT_DB = "sqlite:///caseclock.db"


def db_url(db: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """``db``, else ``$CASECLOCK_DB``, else ``caseclock.db`` here; a bare path is a SQLite file."""
    e = os.environ if env is None else env
    url = db or e.get("CASECLOCK_DB") or DEFAULT_DB
    if "://" not in url:
        url = f"sqlite:///{url}"
    return url


def definitions_from(paths: Sequence[Path] | None = None, env: Mapping[str, str] | None = None) -> list[Path] | None:
    """``paths``, else ``$CASECLOCK_DEFINITIONS``, else None (the bundled definitions)."""
    if paths:
        return list(paths)
    e = os.environ if env is None else env
    raw = e.get("CASECLOCK_DEFINITIONS")
    return [Path(p) for p in raw.split(os.pathsep) if p] if raw else None


def make_engine(db: str | None = None, definitions: Sequence[Path] | None = None, *,
                synchronous: str | None = None, env: Mapping[str, str] | None = None, **kw: Any) -> Engine:
    e = os.environ if env is None else env
    url = db_url(db, e)
    sync = synchronous or e.get("CASECLOCK_SQLITE_SYNCHRONOUS")
    options = {"synchronous": sync} if sync and url.startswith("sqlite") else None
    return build_engine(url, definitions=definitions_from(definitions, e), store_options=options, **kw)


def jwt_settings(keys: Sequence[Path] | None = None, issuer: str | None = None, audience: str | None = None,
                 env: Mapping[str, str] | None = None) -> JwtSettings | None:
    """SSO verification from key files and a secret (None when nothing is configured)."""
    e = os.environ if env is None else env
    paths = list(keys or [])
    if not paths and e.get("CASECLOCK_JWT_KEYS"):
        paths = [Path(p) for p in e["CASECLOCK_JWT_KEYS"].split(os.pathsep) if p]
    material = [p.read_text(encoding="utf-8") for p in paths]
    if e.get("CASECLOCK_JWT_SECRET"):
        material.append(e["CASECLOCK_JWT_SECRET"])
    if not material:
        return None
    return JwtSettings(keys=tuple(material), issuer=issuer or e.get("CASECLOCK_JWT_ISSUER") or None,
                       audience=audience or e.get("CASECLOCK_JWT_AUDIENCE") or None)


def directory_for(engine: Engine) -> Any:
    """The people directory of the engine's database (the ``people`` table; memory otherwise)."""
    from adapters.directory import directory_for as for_store

    return for_store(engine.store)


def start_scheduler(engine: Engine) -> Any:
    """APScheduler wake-ups and sweeps, outbox delivery (log notifier, change webhooks), the
    monthly report and the daily digest, around ``engine``. Returns the started :class:`adapters.scheduler.Scheduler`."""
    from adapters.notify import DailyDigest, LogNotifier, OutboxDelivery
    from adapters.reports import ReportService
    from adapters.scheduler import Scheduler, SchedulerSettings
    from adapters.webhooks import ChangeDelivery, SubscriberNotifier, WebhookDispatcher

    people = directory_for(engine)
    outbox = OutboxDelivery(engine.store, people, [LogNotifier(), SubscriberNotifier(engine.store)],
                            orgs=engine.orgs, now=engine.now)
    delivery = ChangeDelivery(WebhookDispatcher(engine), outbox)  # change webhooks queued first (issue 19)
    sched = Scheduler(engine, SchedulerSettings.from_env(), delivery=delivery,
                      reports=ReportService(engine), digest=DailyDigest(engine, people))
    sched.start()
    return sched


__all__ = ["DEFAULT_DB", "db_url", "definitions_from", "directory_for", "jwt_settings", "make_engine",
           "rate_limits_from_env", "start_scheduler"]
