"""The first schema: cases, events, deadlines, outbox, idempotency, sequences, calendar
overrides, definitions, and the people, api_tokens, reports and attachments tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-24 22:36:17.719087
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_tokens',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('token_hash', sa.String(length=128), nullable=False),
    sa.Column('user_id', sa.String(length=128), nullable=False),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('org', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_index(op.f('ix_api_tokens_user_id'), 'api_tokens', ['user_id'], unique=False)

    op.create_table('calendar_overrides',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('holidays', sa.JSON(), nullable=False),
    sa.Column('workdays', sa.JSON(), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('year')
    )
    op.create_table('cases',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('number', sa.String(length=128), nullable=False),
    sa.Column('item_id', sa.String(length=128), nullable=False),
    sa.Column('definition_version', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=128), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('org', sa.String(length=64), nullable=False),
    sa.Column('assignee', sa.String(length=128), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('clocks', sa.JSON(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sla', sa.String(length=32), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('parent_id', sa.String(length=64), nullable=True),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_cases_assignee'), 'cases', ['assignee'], unique=False)
    op.create_index(op.f('ix_cases_closed_at'), 'cases', ['closed_at'], unique=False)
    op.create_index(op.f('ix_cases_due_at'), 'cases', ['due_at'], unique=False)
    op.create_index('ix_cases_item_state', 'cases', ['item_id', 'state'], unique=False)
    op.create_index(op.f('ix_cases_number'), 'cases', ['number'], unique=False)
    op.create_index('ix_cases_opened', 'cases', ['opened_at', 'id'], unique=False)
    op.create_index(op.f('ix_cases_org'), 'cases', ['org'], unique=False)
    op.create_index(op.f('ix_cases_parent_id'), 'cases', ['parent_id'], unique=False)
    op.create_index(op.f('ix_cases_sla'), 'cases', ['sla'], unique=False)

    op.create_table('definitions',
    sa.Column('id', sa.String(length=128), nullable=False),
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', 'version')
    )
    op.create_table('idempotency',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_index(op.f('ix_idempotency_created_at'), 'idempotency', ['created_at'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_outbox_case_id'), 'outbox', ['case_id'], unique=False)
    op.create_index('ix_outbox_state_next', 'outbox', ['state', 'next_attempt_at'], unique=False)

    op.create_table('people',
    sa.Column('id', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('org', sa.String(length=64), nullable=False),
    sa.Column('contacts', sa.JSON(), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_people_org'), 'people', ['org'], unique=False)

    op.create_table('reports',
    sa.Column('org', sa.String(length=64), nullable=False),
    sa.Column('item_id', sa.String(length=128), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('generated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('org', 'item_id', 'month')
    )
    op.create_table('sequences',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('attachments',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=255), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('path', sa.Text(), nullable=True),
    sa.Column('uploaded_by', sa.String(length=128), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_attachments_case_id'), 'attachments', ['case_id'], unique=False)

    op.create_table('deadlines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('clock', sa.String(length=128), nullable=False),
    sa.Column('run', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=32), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('org', sa.String(length=64), nullable=False),
    sa.Column('item_id', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], initially='DEFERRED', deferrable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'clock', 'run', 'level', name='uq_deadlines_key')
    )
    op.create_index('ix_deadlines_state_due', 'deadlines', ['state', 'due_at'], unique=False)
    op.create_index(op.f('ix_deadlines_seen_at'), 'deadlines', ['seen_at'], unique=False)

    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('trigger', sa.String(length=128), nullable=True),
    sa.Column('actor_id', sa.String(length=128), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('from_state', sa.String(length=128), nullable=True),
    sa.Column('to_state', sa.String(length=128), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], initially='DEFERRED', deferrable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'seq', name='uq_events_case_seq')
    )



def downgrade() -> None:

    op.drop_table('events')
    op.drop_index(op.f('ix_deadlines_seen_at'), table_name='deadlines')
    op.drop_index('ix_deadlines_state_due', table_name='deadlines')

    op.drop_table('deadlines')
    op.drop_index(op.f('ix_attachments_case_id'), table_name='attachments')

    op.drop_table('attachments')
    op.drop_table('sequences')
    op.drop_table('reports')
    op.drop_index(op.f('ix_people_org'), table_name='people')

    op.drop_table('people')
    op.drop_index('ix_outbox_state_next', table_name='outbox')
    op.drop_index(op.f('ix_outbox_case_id'), table_name='outbox')

    op.drop_table('outbox')
    op.drop_index(op.f('ix_idempotency_created_at'), table_name='idempotency')

    op.drop_table('idempotency')
    op.drop_table('definitions')
    op.drop_index(op.f('ix_cases_sla'), table_name='cases')
    op.drop_index(op.f('ix_cases_parent_id'), table_name='cases')
    op.drop_index(op.f('ix_cases_org'), table_name='cases')
    op.drop_index('ix_cases_opened', table_name='cases')
    op.drop_index(op.f('ix_cases_number'), table_name='cases')
    op.drop_index('ix_cases_item_state', table_name='cases')
    op.drop_index(op.f('ix_cases_due_at'), table_name='cases')
    op.drop_index(op.f('ix_cases_closed_at'), table_name='cases')
    op.drop_index(op.f('ix_cases_assignee'), table_name='cases')

    op.drop_table('cases')
    op.drop_table('calendar_overrides')
    op.drop_index(op.f('ix_api_tokens_user_id'), table_name='api_tokens')

    op.drop_table('api_tokens')
