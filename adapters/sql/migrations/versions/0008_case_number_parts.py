"""Case search, a number found in part (issue 16): ``case_number_parts`` holds each case number's
parts — the normalized number from the start of each inner segment on (``workflow/search.py``,
``number_parts``) — indexed for their beginnings, so ``420100-2026`` finds
``ZYDJ-420100-2026-00017`` through an index on both stores. The parts of the cases already
there are written here.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from adapters.sql import search

    op.create_table('case_number_parts',
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('part', sa.String(length=128).with_variant(sa.String(length=128, collation='C'), 'postgresql'),
              nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('case_id', 'part')
    )
    op.create_index('ix_case_number_parts_part', 'case_number_parts', ['part'], unique=False)
    conn = op.get_bind()
    raw = conn.connection.driver_connection
    assert raw is not None
    cur = raw.cursor()
    try:
        search.fill_parts(cur, conn.dialect.name)
    finally:
        cur.close()


def downgrade() -> None:
    op.drop_index('ix_case_number_parts_part', table_name='case_number_parts')
    op.drop_table('case_number_parts')
