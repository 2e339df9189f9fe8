"""Alembic environment: runs on the connection ``adapters.sql.migrate`` hands it (in one
transaction, under the lock it took), or on ``sqlalchemy.url`` when run by the alembic command."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from adapters.sql.tables import metadata

config = context.config


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        transactional_ddl=True,  # SQLite too: a half-applied migration never stays behind
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # pragma: no cover - the plain alembic command
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
