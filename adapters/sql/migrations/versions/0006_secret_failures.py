"""``secret_failures``: failed sign-ins counted per (scope, subject, client), for the growing
back-off of ``api/backoff.py``. Kept in the database so that every worker process and every
restart sees the same counts (the pages' throttle used to be a dict in each process, emptied
whenever it reached 100,000 names: failures under made-up names unlocked every locked account).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('secret_failures',
    sa.Column('scope', sa.String(length=32), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('client', sa.String(length=128), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('blocked_until', sa.BigInteger(), nullable=False),
    sa.Column('last_failed', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'subject', 'client')
    )
    op.create_index(op.f('ix_secret_failures_last_failed'), 'secret_failures', ['last_failed'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_secret_failures_last_failed'), table_name='secret_failures')
    op.drop_table('secret_failures')
