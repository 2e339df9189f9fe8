"""Alembic environment: runs on the connection ``adapters.sql.migrate`` hands it (in one
transaction, under the lock it took), or on ``sqlalchemy.url`` when run by the alembic command."""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa
from alembic import context

from adapters.sql.tables import AwareDateTime, include_object, metadata

config = context.config


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Autogenerate writes plain SQLAlchemy types: a migration never imports the models."""
    if type_ == "type" and isinstance(obj, AwareDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and type(obj).__name__ == "AutoString":
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_item=_render_item,
        transactional_ddl=True,  # SQLite too: a half-applied migration never stays behind
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,  # the search index's FTS5 table and trigram index (0007)
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
