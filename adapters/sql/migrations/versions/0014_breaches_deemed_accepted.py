"""The breach list's partial indexes take the cases deemed accepted too (issue 16: the list shows
them first, ``GET /api/sla/breaches``): ``ix_cases_open_breaches`` and ``ix_cases_org_breaches``
are made again with ``sla IN ('overdue', 'over_statutory', 'deemed_accepted')``. Without it the
page of that level was found by walking every open case in page order (a handful match among a
million: 0.7 s on SQLite at 1,000,000 open cases, 1.2 s at p95 over HTTP).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 01:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

OLD = "closed_at IS NULL AND sla IN ('overdue', 'over_statutory')"
NEW = "closed_at IS NULL AND sla IN ('overdue', 'over_statutory', 'deemed_accepted')"


def _indexes(where: str) -> None:
    for name in ("ix_cases_open_breaches", "ix_cases_org_breaches"):
        op.drop_index(name, table_name='cases')
    op.create_index('ix_cases_open_breaches', 'cases', ['sla', 'opened_at', 'id'], unique=False,
                    sqlite_where=sa.text(where), postgresql_where=sa.text(where))
    op.create_index('ix_cases_org_breaches', 'cases', ['org', 'sla', 'opened_at', 'id'], unique=False,
                    sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def upgrade() -> None:
    _indexes(NEW)


def downgrade() -> None:
    _indexes(OLD)
