"""Building the running service at the edge: where the environment is read.

``caseclock serve`` (one process) and :func:`api.asgi.app_from_env` (each worker of
``serve --workers N``) both build the engine, the API settings and the scheduler here.

Environment: ``CASECLOCK_DB`` (database URL or a SQLite file path; default ``caseclock.db`` in the
working folder), ``CASECLOCK_DEFINITIONS`` (files or folders separated by ``os.pathsep``; default
the bundled ones), ``CASECLOCK_SQLITE_SYNCHRONOUS`` (FULL or NORMAL), ``CASECLOCK_JWT_KEYS`` (PEM
public key files, ``os.pathsep``-separated), ``CASECLOCK_JWT_SECRET`` (an HS256 secret),
``CASECLOCK_JWT_ISSUER``, ``CASECLOCK_JWT_AUDIENCE``, ``CASECLOCK_SCHEDULER`` (0: no scheduler in
this process), the scheduler's own (``adapters.scheduler.SchedulerSettings.from_env``), the rate
limits' ``CASECLOCK_RATE_*`` (:data:`api.ratelimit.ENV`) and the outbox's channels:
``CASECLOCK_SMTP_*`` and ``CASECLOCK_SMS_GATEWAY`` (:func:`notifiers_from_env`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from adapters import build_engine
from workflow.engine import Engine
from workflow.errors import WorkflowError

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


def check_db(url: str) -> None:
    """Refuse, in one line (``WorkflowError``), a SQLite database path whose folder does not
    exist, a folder, or an existing file that is not a caseclock database — before anything is
    created or migrated there. A new file in an existing folder passes (it is created and
    migrated on first use), as does an empty file or an SQLite file with no tables yet, and a
    caseclock database at an older schema (it is upgraded). Other URLs (PostgreSQL, memory)
    are left to the store."""
    if not url.startswith("sqlite"):
        return
    from sqlalchemy.engine import make_url

    try:
        database = make_url(url).database or ""
    except Exception as exc:  # noqa: BLE001 - a malformed URL: say which
        raise WorkflowError(f"cannot read the database URL {url!r}: {exc}") from None
    if database in ("", ":memory:") or "mode=memory" in url or database.startswith("file:"):
        return
    path = Path(database).expanduser()
    if path.is_dir():
        raise WorkflowError(f"{path} is a folder, not a database file: give a file in it, e.g. --db {path / 'caseclock.db'}")
    if not path.parent.is_dir():
        raise WorkflowError(f"no folder {path.parent} for the database {path}: create the folder first, or check --db")
    if not path.exists() or path.stat().st_size == 0:
        return
    problem = _not_caseclock(path)
    if problem:
        raise WorkflowError(f"{path} is not a caseclock database ({problem}): check --db")


def _not_caseclock(path: Path) -> str | None:
    """Why an existing file is not a caseclock database (None: it is one, or an empty SQLite)."""
    import sqlite3

    try:
        with path.open("rb") as f:
            head = f.read(16)
    except OSError as exc:
        return f"cannot be read: {exc.strerror}"
    if head != b"SQLite format 3\x00":
        return "not an SQLite file"
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return f"SQLite cannot open it: {exc}"
    if tables and not {"alembic_version", "cases"} <= tables:
        shown = ", ".join(sorted(tables)[:5]) + (" …" if len(tables) > 5 else "")
        return f"an SQLite database with other tables: {shown}"
    return None


def check_port(host: str, port: int) -> None:
    """Refuse, in one line, an address serve cannot listen on (a port in use: with the --port
    hint), before anything says it is serving. The socket is closed again at once; uvicorn binds
    its own (with SO_REUSEADDR, as here)."""
    import errno
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        raise WorkflowError(f"cannot listen on {host}:{port}: unknown address ({exc}); check --host") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise WorkflowError(f"port {port} on {host} is already in use (another caseclock serve?): "
                                f"stop it, or serve on another port with --port, e.g. --port {port + 1 if port < 65535 else 8080}") from None
        raise WorkflowError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; check --host and --port") from None
    finally:
        sock.close()


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
    check_db(url)
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

    return getattr(engine, "people", None) or for_store(engine.store)


def notifiers_from_env(env: Mapping[str, str] | None = None) -> list[Any]:
    """The outbox's channels: the log always; e-mail when ``CASECLOCK_SMTP_HOST`` is set
    (``CASECLOCK_SMTP_PORT`` 25, ``CASECLOCK_SMTP_SENDER``, ``CASECLOCK_SMTP_USER`` /
    ``CASECLOCK_SMTP_PASSWORD``, ``CASECLOCK_SMTP_TLS`` ``starttls`` or ``ssl``); SMS for the
    applicant's notices through ``CASECLOCK_SMS_GATEWAY`` (``log``, the default, or
    ``package.module:factory``, docs/portal.md)."""
    from adapters.notify import LogNotifier, SmtpNotifier
    from adapters.sms import SmsNotifier, gateway_from_spec

    e = os.environ if env is None else env
    out: list[Any] = [LogNotifier()]
    host = e.get("CASECLOCK_SMTP_HOST")
    if host:
        tls = (e.get("CASECLOCK_SMTP_TLS") or "").lower()
        out.append(SmtpNotifier(host, int(e.get("CASECLOCK_SMTP_PORT") or (465 if tls == "ssl" else 25)),
                                sender=e.get("CASECLOCK_SMTP_SENDER") or "caseclock@localhost",
                                username=e.get("CASECLOCK_SMTP_USER") or None,
                                password=e.get("CASECLOCK_SMTP_PASSWORD") or None,
                                starttls=tls == "starttls", ssl=tls == "ssl"))
    out.append(SmsNotifier(gateway_from_spec(e.get("CASECLOCK_SMS_GATEWAY"))))
    return out


def start_scheduler(engine: Engine) -> Any:
    """APScheduler wake-ups and sweeps, outbox delivery (the channels of :func:`notifiers_from_env`,
    change webhooks), the monthly report and the daily digest, around ``engine``. Returns the
    started :class:`adapters.scheduler.Scheduler`."""
    from adapters.notify import DailyDigest, OutboxDelivery
    from adapters.reports import ReportService
    from adapters.scheduler import Scheduler, SchedulerSettings
    from adapters.webhooks import ChangeDelivery, SubscriberNotifier, WebhookDispatcher

    people = directory_for(engine)
    outbox = OutboxDelivery(engine.store, people, [*notifiers_from_env(), SubscriberNotifier(engine.store)],
                            orgs=engine.orgs, now=engine.now)
    delivery = ChangeDelivery(WebhookDispatcher(engine), outbox)  # change webhooks queued first (issue 19)
    sched = Scheduler(engine, SchedulerSettings.from_env(), delivery=delivery,
                      reports=ReportService(engine), digest=DailyDigest(engine, people))
    sched.start()
    return sched


__all__ = ["DEFAULT_DB", "check_db", "check_port", "db_url", "definitions_from", "directory_for", "jwt_settings", "make_engine",
           "notifiers_from_env", "rate_limits_from_env", "start_scheduler"]
