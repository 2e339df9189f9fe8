"""The durable store: SQLite (embedded default) and PostgreSQL, with Alembic migrations.

``SqlStore(url)`` implements ``workflow.ports.Store``; ``upgrade(url)`` creates or migrates a
database; ``verify_history(store_or_url)`` checks every case's hash chain.
"""

from .migrate import HEAD, upgrade
from .store import SqlStore, SqlUnitOfWork
from .verify import verify_history

__all__ = ["HEAD", "SqlStore", "SqlUnitOfWork", "upgrade", "verify_history"]
