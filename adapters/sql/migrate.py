"""Schema migrations (Alembic, shipped inside the package) run under a lock.

Several processes starting at once on one database is normal:
- PostgreSQL: a session-level advisory lock around the upgrade; the others wait, then find the
  schema at head and do nothing;
- SQLite: the upgrade runs in one ``BEGIN IMMEDIATE`` transaction (SQLite's DDL is
  transactional), so the others wait on the write lock, then find the schema at head.

``upgrade(url)`` is what ``caseclock db upgrade`` (and ``python -m adapters.sql upgrade``) runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from workflow.errors import WorkflowError

if TYPE_CHECKING:
    from .store import SqlStore

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
HEAD = "0014"  # the newest revision (a test checks it against the scripts)
_LOCK_KEY = 0x6361736563  # "casec": the advisory lock the migrations take


def alembic_config(connection: sa.Connection | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def script_head() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: sa.Engine) -> str | None:
    """The revision the database is at (None: an empty database)."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def _run_upgrade(engine: sa.Engine, revision: str) -> None:
    from alembic import command

    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_lock({_LOCK_KEY})")
            conn.commit()
            try:
                command.upgrade(alembic_config(conn), revision)
                conn.commit()
            finally:
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({_LOCK_KEY})")
                conn.commit()
        else:
            # env.py runs the whole upgrade in one transaction; this engine begins IMMEDIATE
            command.upgrade(alembic_config(conn), revision)
            conn.commit()


def ensure_schema(store: SqlStore, *, create: bool) -> None:
    """Bring the store's database to the newest schema (``create``) or check that it is there."""
    try:
        at = current_revision(store.engine)
    except sa.exc.OperationalError as exc:
        raise WorkflowError(f"cannot open the database: {exc.orig}") from exc
    if at == HEAD:
        return
    if not create:
        raise WorkflowError(
            f"the database is at schema {at or 'none'}, not {HEAD}: run "
            "`python -m adapters.sql upgrade --db URL` (caseclock db upgrade)"
        )
    _run_upgrade(store.engine, "head")


def upgrade(url: str, **store_options: Any) -> str | None:
    """Create or upgrade the database at ``url`` to the newest schema; returns its revision."""
    from .store import SqlStore

    store = SqlStore(url, create=True, **store_options)
    try:
        return current_revision(store.engine)
    finally:
        store.dispose()


def new_revision(url: str, message: str, rev_id: str) -> None:
    """Write the next migration script by comparing ``tables.py`` with the database at ``url``
    (brought to head first). Review it, then set ``HEAD`` to ``rev_id``."""
    from alembic import command

    from .store import SqlStore

    store = SqlStore(url, create=True)
    try:
        with store.engine.connect() as conn:
            command.revision(alembic_config(conn), message=message, autogenerate=True, rev_id=rev_id)
    finally:
        store.dispose()


def downgrade_all(url: str) -> None:
    """Drop every table through the migrations (tests and tooling)."""
    from alembic import command

    from .store import SqlStore

    store = SqlStore(url, create=True)
    try:
        with store.engine.connect() as conn:
            command.downgrade(alembic_config(conn), "base")
            conn.commit()
    finally:
        store.dispose()
