"""The change feed (issue 19): every history event gets a commit-ordered position, and webhook
subscribers follow the feed.

``events.pos``: PostgreSQL's position of the event in the feed, given after the commit by the
feed's stamper (``adapters/sql/changes.py``), in the order commits became visible; NULL until
then. SQLite has one writer, so its event ids are already in commit order: there ``pos`` stays
NULL, the id is the position, and both indexes are empty (``WHERE 0``) and cost no write.

``webhook_subscribers``: who receives the signed change webhooks, with a filter (item, org,
kinds) and the position the dispatcher has reached for each.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

NEVER = "0"  # SQLite: the index stays empty (the id is the position there)


def upgrade() -> None:
    op.add_column('events', sa.Column('pos', sa.BigInteger(), nullable=True))
    op.create_index('ix_events_pos', 'events', ['pos'], unique=True,
                    sqlite_where=sa.text(NEVER), postgresql_where=sa.text("pos IS NOT NULL"))
    op.create_index('ix_events_unstamped', 'events', ['id'], unique=False,
                    sqlite_where=sa.text(NEVER), postgresql_where=sa.text("pos IS NULL"))
    op.create_table('webhook_subscribers',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('secret', sa.String(length=255), nullable=False),
    sa.Column('item_id', sa.String(length=128), nullable=True),
    sa.Column('org', sa.String(length=64), nullable=True),
    sa.Column('kinds', sa.JSON(), nullable=False),
    sa.Column('after', sa.BigInteger(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('note', sa.String(length=255), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('webhook_subscribers')
    op.drop_index('ix_events_unstamped', table_name='events')
    op.drop_index('ix_events_pos', table_name='events')
    with op.batch_alter_table('events') as batch:
        batch.drop_column('pos')
