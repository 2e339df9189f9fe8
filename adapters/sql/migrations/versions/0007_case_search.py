"""Case search (issue 16): ``case_search`` holds what each case is found by: its normalized number
(B-tree indexes for its beginning and, reversed, its end) and the names in the fields its
definition marks ``searchable``, indexed by trigrams: an FTS5 table with the trigram tokenizer on
SQLite, a ``pg_trgm`` GIN index on PostgreSQL (the extension is installed if it is not there and
the database lets us; without it a name search reads every row).

The rows of the cases already there are written here, with the fields the shipped definitions
and the stored ones mark; an engine whose definitions mark other fields rebuilds them when it
starts (``adapters/sql/search.py``).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-20 10:00:00
"""

from __future__ import annotations

import json
import logging
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

log = logging.getLogger("caseclock.migrations")


def _definition_bodies(conn: sa.Connection) -> list[dict[str, Any]]:
    import yaml

    from adapters.bootstrap import bundled_definitions

    bodies: list[dict[str, Any]] = []
    for path in sorted(bundled_definitions().glob("*.yaml")):
        body = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(body, dict):
            bodies.append(body)
    cast = "CAST(body AS text)" if conn.dialect.name == "postgresql" else "body"
    for (text,) in conn.exec_driver_sql(f"SELECT {cast} FROM definitions").fetchall():
        body = json.loads(text) if isinstance(text, str) else text
        if isinstance(body, dict):
            bodies.append(body)
    return bodies


def upgrade() -> None:
    from adapters.sql import search

    op.create_table('case_search',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('org', sa.String(length=64), nullable=False),
    sa.Column('item_id', sa.String(length=128), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('number', sa.String(length=128).with_variant(sa.String(length=128, collation='C'), 'postgresql'),
              nullable=False),
    sa.Column('rnumber', sa.String(length=128).with_variant(sa.String(length=128, collation='C'), 'postgresql'),
              nullable=False),
    sa.Column('names', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id')
    )
    op.create_index('ix_case_search_opened', 'case_search', ['opened_at', 'case_id'], unique=False)
    op.create_index('ix_case_search_number', 'case_search', ['number'], unique=False)
    op.create_index('ix_case_search_rnumber', 'case_search', ['rnumber'], unique=False)
    conn = op.get_bind()
    postgres = conn.dialect.name == "postgresql"
    fields = search.shipped_fields(_definition_bodies(conn))
    raw = conn.connection.driver_connection
    assert raw is not None
    cur = raw.cursor()
    try:
        search.fill(cur, conn.dialect.name, search.Terms(fields))
        if postgres:
            schema = search.trgm_schema(cur)
            if schema is None:
                schema = _install_trgm(conn, cur)
            if schema is not None:
                cur.execute(search.trgm_index_ddl(schema))
        else:
            for stmt in search.FTS_DDL[:search.FTS_TRIGGERS]:
                cur.execute(stmt)
            cur.execute("INSERT INTO case_search_fts (case_search_fts) VALUES ('rebuild')")
            for stmt in search.FTS_DDL[search.FTS_TRIGGERS:]:
                cur.execute(stmt)
        ph = "%s" if postgres else "?"
        cur.execute(f"INSERT INTO sequences (key, value) VALUES ({ph}, {ph}) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (search.CONFIG_KEY, search.fields_hash(fields)))
    finally:
        cur.close()


def _install_trgm(conn: sa.Connection, cur: Any) -> str | None:
    """Install pg_trgm (in ``public`` where there is one: a schema a test drops takes it along),
    inside a savepoint: refused (no privilege, no contrib package) leaves the migration going."""
    from adapters.sql import search

    for stmt in ("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public", "CREATE EXTENSION IF NOT EXISTS pg_trgm"):
        cur.execute("SAVEPOINT trgm")
        try:
            cur.execute(stmt)
        except Exception as exc:  # noqa: BLE001 - any refusal: try the next way, then go without
            cur.execute("ROLLBACK TO SAVEPOINT trgm")
            log.warning("case search: %s refused (%s)", stmt, exc)
            continue
        cur.execute("RELEASE SAVEPOINT trgm")
        return search.trgm_schema(cur)
    log.warning("case search: pg_trgm is not available, searches will read every case's search row")
    return None


def downgrade() -> None:
    from adapters.sql import search

    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        for stmt in search.FTS_DROP:
            op.execute(stmt)
    op.execute(sa.text("DELETE FROM sequences WHERE key = :key").bindparams(key=search.CONFIG_KEY))
    op.drop_index('ix_case_search_rnumber', table_name='case_search')
    op.drop_index('ix_case_search_number', table_name='case_search')
    op.drop_index('ix_case_search_opened', table_name='case_search')
    op.drop_table('case_search')
