"""The applicant's side (issue 17): ``applications`` (a case applied for online, who applied and
the hash of its query code), ``application_notices`` (what the applicant was told, written with
the step that caused it) and ``ratings`` (政务服务"好差评": one per closed case, with its
rectification when it was a 差评).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('applications',
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('number', sa.String(length=128), nullable=False),
    sa.Column('org', sa.String(length=64), nullable=False),
    sa.Column('item_id', sa.String(length=128), nullable=False),
    sa.Column('applicant_id', sa.String(length=128), nullable=False),
    sa.Column('applicant_name', sa.String(length=255), nullable=False),
    sa.Column('phone', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=255), nullable=False),
    sa.Column('code_hash', sa.String(length=255), nullable=False),
    sa.Column('via', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], initially='DEFERRED', deferrable=True),
    sa.PrimaryKeyConstraint('case_id')
    )
    op.create_index(op.f('ix_applications_number'), 'applications', ['number'], unique=False)
    op.create_index(op.f('ix_applications_applicant_id'), 'applications', ['applicant_id'], unique=False)
    op.create_table('application_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.String(length=64), nullable=False),
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_application_notices_application_id'), 'application_notices', ['application_id'],
                    unique=False)
    op.create_table('ratings',
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('number', sa.String(length=128), nullable=False),
    sa.Column('org', sa.String(length=64), nullable=False),
    sa.Column('item_id', sa.String(length=128), nullable=False),
    sa.Column('grade', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rectification_id', sa.String(length=64), nullable=True),
    sa.Column('rectification_number', sa.String(length=128), nullable=True),
    sa.Column('rectified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rectified_on_time', sa.Boolean(), nullable=True),
    sa.Column('reply', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('case_id')
    )
    op.create_index(op.f('ix_ratings_org'), 'ratings', ['org'], unique=False)
    op.create_index(op.f('ix_ratings_rated_at'), 'ratings', ['rated_at'], unique=False)
    op.create_index(op.f('ix_ratings_rectification_id'), 'ratings', ['rectification_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_ratings_rectification_id'), table_name='ratings')
    op.drop_index(op.f('ix_ratings_rated_at'), table_name='ratings')
    op.drop_index(op.f('ix_ratings_org'), table_name='ratings')
    op.drop_table('ratings')
    op.drop_index(op.f('ix_application_notices_application_id'), table_name='application_notices')
    op.drop_table('application_notices')
    op.drop_index(op.f('ix_applications_applicant_id'), table_name='applications')
    op.drop_index(op.f('ix_applications_number'), table_name='applications')
    op.drop_table('applications')
