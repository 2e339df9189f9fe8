"""Open cases counted per (org, item, SLA level) for the board, and partial indexes for the
breach list, province-wide and per org (issue 10: both answer in milliseconds over a million open
cases).

``sla_counts`` is filled from the cases already there; from then on the store keeps it in the
transaction of every case write (``adapters/sql/counters.py``).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

BREACH_WHERE = "closed_at IS NULL AND sla IN ('overdue', 'over_statutory')"


def upgrade() -> None:
    op.create_table('sla_counts',
    sa.Column('org', sa.String(length=64), nullable=False),
    sa.Column('item_id', sa.String(length=128), nullable=False),
    sa.Column('level', sa.String(length=32), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('org', 'item_id', 'level')
    )
    op.execute("INSERT INTO sla_counts (org, item_id, level, n) SELECT org, item_id, sla, COUNT(*) "
               "FROM cases WHERE closed_at IS NULL GROUP BY org, item_id, sla")
    op.create_index('ix_cases_open_breaches', 'cases', ['sla', 'opened_at', 'id'], unique=False,
                    sqlite_where=sa.text(BREACH_WHERE), postgresql_where=sa.text(BREACH_WHERE))
    op.create_index('ix_cases_org_breaches', 'cases', ['org', 'sla', 'opened_at', 'id'], unique=False,
                    sqlite_where=sa.text(BREACH_WHERE), postgresql_where=sa.text(BREACH_WHERE))


def downgrade() -> None:
    op.drop_index('ix_cases_org_breaches', table_name='cases')
    op.drop_index('ix_cases_open_breaches', table_name='cases')
    op.drop_table('sla_counts')
