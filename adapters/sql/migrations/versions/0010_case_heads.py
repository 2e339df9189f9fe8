"""Case search, a short query (issue 16): ``case_heads`` holds the first one and two characters
of each case's normalized number and names (``workflow/search.py``, ``heads``) with its org,
item and opening instant, keyed ``(org, head, opened_at, case_id)``: a one- or two-character
query's page is a range of that index read in page order with a LIMIT, however many cases begin
with it. The heads of the cases already there are written here from their search rows.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from adapters.sql import search

    op.create_table('case_heads',
    sa.Column('org', sa.String(length=64), nullable=False),
    sa.Column('head', sa.String(length=8), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('item_id', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('org', 'head', 'opened_at', 'case_id'),
    sqlite_with_rowid=False,
    )
    conn = op.get_bind()
    raw = conn.connection.driver_connection
    assert raw is not None
    cur = raw.cursor()
    try:
        search.fill_heads(cur, conn.dialect.name)
    finally:
        cur.close()


def downgrade() -> None:
    op.drop_table('case_heads')
