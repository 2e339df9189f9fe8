"""``orders``: the supervision orders (督办, issue 18 part 6) of a supervisor or leader on a case:
reason, action required, the reply's last day (working days on the office's calendar), the reply
and when the order escalated (workflow/orders.py; adapters/orders.py).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('orders',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('number', sa.String(length=128), nullable=False),
    sa.Column('org', sa.String(length=64), nullable=False),
    sa.Column('item_id', sa.String(length=128), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('reply_days', sa.Integer(), nullable=False),
    sa.Column('due', sa.String(length=10), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('provisional', sa.Boolean(), nullable=False),
    sa.Column('issued_by', sa.String(length=128), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reply', sa.Text(), nullable=False),
    sa.Column('answered_by', sa.String(length=128), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], initially='DEFERRED', deferrable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_orders_case_id'), 'orders', ['case_id'], unique=False)
    op.create_index(op.f('ix_orders_org'), 'orders', ['org'], unique=False)
    op.create_index(op.f('ix_orders_issued_at'), 'orders', ['issued_at'], unique=False)
    op.create_index(op.f('ix_orders_status'), 'orders', ['status'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_orders_status'), table_name='orders')
    op.drop_index(op.f('ix_orders_issued_at'), table_name='orders')
    op.drop_index(op.f('ix_orders_org'), table_name='orders')
    op.drop_index(op.f('ix_orders_case_id'), table_name='orders')
    op.drop_table('orders')
