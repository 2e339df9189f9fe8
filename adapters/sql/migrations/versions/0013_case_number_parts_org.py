"""Case search, a number's parts by org (issue 16): ``case_number_parts`` gets the case's ``org``
(kept on a transfer) and ``ix_case_number_parts_org`` on ``(org, part)``. A clerk's query that
begins many numbers of another org (a Wuhan clerk's ``420500-2026``: every Yichang case of the
year) is counted and read within the clerk's orgs — none — instead of reading every part that
begins so to find that none is the clerk's. The org of the parts already there is written here.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 00:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('case_number_parts', sa.Column('org', sa.String(length=64), nullable=False, server_default=''))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE case_number_parts AS p SET org = c.org FROM cases AS c WHERE c.id = p.case_id")
    else:
        op.execute("UPDATE case_number_parts SET org = (SELECT c.org FROM cases AS c WHERE c.id = case_number_parts.case_id)")
    op.create_index('ix_case_number_parts_org', 'case_number_parts', ['org', 'part'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_case_number_parts_org', table_name='case_number_parts')
    with op.batch_alter_table('case_number_parts') as batch:
        batch.drop_column('org')
