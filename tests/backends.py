"""Store backends for tests: memory, SQLite (a file per test) and PostgreSQL (a fresh schema
per test session, emptied per test) when ``CASECLOCK_TEST_PG`` names a reachable server."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

PG_ENV = "CASECLOCK_TEST_PG"


def pg_base_url() -> tuple[str | None, str]:
    """(url, reason): the server's URL, or None and why the PostgreSQL tests skip."""
    url = os.environ.get(PG_ENV)
    if not url:
        return None, f"PostgreSQL tests skipped: set {PG_ENV}=postgresql+psycopg://user@host:port/db"
    try:
        import psycopg

        conninfo = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(conninfo, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means: not reachable
        return None, f"PostgreSQL tests skipped: {PG_ENV}={url} is not reachable ({type(exc).__name__}: {exc})"
    return url, ""


def with_schema(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


def pg_execute(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url.split("?")[0].replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(sql)


class PgSchema:
    """A fresh schema for this test session, migrated once, emptied before each test."""

    def __init__(self, base: str, *, migrate: bool = True) -> None:
        self.base = base
        self.schema = f"cc_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        pg_execute(base, f"CREATE SCHEMA {self.schema}")
        self.url = with_schema(base, self.schema)
        if migrate:
            from adapters.sql import upgrade

            upgrade(self.url)

    def empty(self) -> None:
        from adapters.sql.tables import TABLES

        tables = ", ".join(f"{self.schema}.{t}" for t in TABLES)
        pg_execute(self.base, f"TRUNCATE {tables} RESTART IDENTITY CASCADE")

    def drop(self) -> None:
        pg_execute(self.base, f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")


class SqliteTemplate:
    """One migrated database file per session; each test gets a copy (migrating is slow)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "template.db"
        from adapters.sql import upgrade

        upgrade(f"sqlite:///{self.path}")
        import sqlite3

        with sqlite3.connect(self.path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def fresh(self, folder: Path) -> str:
        target = folder / f"case-{uuid.uuid4().hex[:8]}.db"
        shutil.copyfile(self.path, target)
        return f"sqlite:///{target}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def pg_schema():
    url, reason = pg_base_url()
    if url is None:
        yield None, reason
        return
    schema = PgSchema(url)
    try:
        yield schema, ""
    finally:
        schema.drop()


def _url(kind: str, tmp_path: Path, sqlite_template: SqliteTemplate, pg_schema) -> str:
    if kind == "memory":
        return "memory://"
    if kind == "sqlite":
        return sqlite_template.fresh(tmp_path)
    schema, reason = pg_schema
    if schema is None:
        pytest.skip(reason)
    schema.empty()
    return schema.url


POSTGRES = pytest.param("postgres", marks=pytest.mark.postgres)


@pytest.fixture(params=["memory", "sqlite", POSTGRES])
def store_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: SqliteTemplate, pg_schema) -> str:
    """A database URL for each backend (memory, SQLite, PostgreSQL), empty and migrated."""
    return _url(request.param, tmp_path, sqlite_template, pg_schema)


@pytest.fixture(params=["sqlite", POSTGRES])
def sql_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: SqliteTemplate, pg_schema) -> str:
    """A database URL for each SQL backend, empty and migrated."""
    return _url(request.param, tmp_path, sqlite_template, pg_schema)


def downgrade(url: str, revision: str) -> set[str]:
    """Take the database at ``url`` down to the migration ``revision`` (an upgrade's test); the
    names of its tables and indexes then, and the revision it is at, as ``@<revision>``."""
    from alembic import command

    from adapters.sql import SqlStore
    from adapters.sql.migrate import alembic_config, current_revision

    store = SqlStore(url)
    try:
        with store.engine.connect() as conn:
            command.downgrade(alembic_config(conn), revision)
            conn.commit()
        return table_names(store) | {f"@{current_revision(store.engine)}"}
    finally:
        store.dispose()


def table_names(store: Any) -> set[str]:
    """The names of the tables and indexes of a SQL store's database (its schema's, on PostgreSQL)."""
    with store.engine.connect() as conn:
        if store.is_postgres:
            rows = conn.exec_driver_sql(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() UNION "
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
        else:
            rows = conn.exec_driver_sql("SELECT name FROM sqlite_master")
        return {r[0] for r in rows}
