"""Case search, a scope's rows in page order (issue 16): ``ix_case_search_org_opened`` on
``case_search (org, opened_at, case_id)``. A query that matches many cases is answered by a walk
in page order testing each row; a clerk's walk now reads only the rows of the clerk's orgs (one
range of this index per org, the orgs' pages merged) instead of every org's rows with the scope
as a filter — the share of a small city's cases no longer sets how far it must read.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 00:00:00
"""

from __future__ import annotations

from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_case_search_org_opened', 'case_search', ['org', 'opened_at', 'case_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_case_search_org_opened', table_name='case_search')
