"""The worklist in index order: the open cases most urgent first (a partial expression index, for
the cases a role works), and one assignee's open cases (a partial index that changes only when a
case is assigned or closed); the plain index on ``cases.due_at`` goes (nothing reads it: the
urgent order is an expression over ``due_at`` and ``opened_at``). The deadlines' ``(state,
due_at)`` index becomes a partial index of the pending rows by due instant: what the sweep and
the wake-up read, without the fired and cancelled rows that every transition moved around in it.
And ``web_signouts``: web sessions signed out before they expired, so that every worker process
refuses them (a sign-out used to hold only in the process that handled it).

At 100,000 open cases a worklist page sorted every open case the clerk's roles could work (about
0.1 s); it now reads the page in order and stops at its limit.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

URGENT_KEYS = ("CASE WHEN due_at IS NULL THEN 1 ELSE 0 END", "COALESCE(due_at, opened_at)")
OPEN_WHERE = "closed_at IS NULL"
PENDING_WHERE = "state = 'pending'"


def upgrade() -> None:
    op.create_table('web_signouts',
    sa.Column('sid', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('sid')
    )
    keys = [sa.text(f"({k})") for k in URGENT_KEYS]
    op.create_index('ix_cases_open_urgent', 'cases', [*keys, 'opened_at', 'id'], unique=False,
                    sqlite_where=sa.text(OPEN_WHERE), postgresql_where=sa.text(OPEN_WHERE))
    op.create_index('ix_cases_open_assignee', 'cases', ['assignee'], unique=False,
                    sqlite_where=sa.text(OPEN_WHERE), postgresql_where=sa.text(OPEN_WHERE))
    op.drop_index('ix_cases_due_at', table_name='cases')
    op.create_index('ix_deadlines_pending_due', 'deadlines', ['due_at'], unique=False,
                    sqlite_where=sa.text(PENDING_WHERE), postgresql_where=sa.text(PENDING_WHERE))
    op.drop_index('ix_deadlines_state_due', table_name='deadlines')


def downgrade() -> None:
    op.create_index('ix_deadlines_state_due', 'deadlines', ['state', 'due_at'], unique=False)
    op.drop_index('ix_deadlines_pending_due', table_name='deadlines')
    op.create_index('ix_cases_due_at', 'cases', ['due_at'], unique=False)
    op.drop_index('ix_cases_open_assignee', table_name='cases')
    op.drop_index('ix_cases_open_urgent', table_name='cases')
    op.drop_table('web_signouts')
