"""A case closed by a withdrawal shows as withdrawn (issue 16, QA D4): its stored summary level
``cases.sla`` becomes ``withdrawn`` (it was ``met`` when its clock stopped in time), as the engine
now writes it (``Definition.withdrawal``: every shipped definition names that state ``withdrawn``).
The board's ``sla_counts`` count open cases only and do not change.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 00:30:00
"""

from __future__ import annotations

from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE cases SET sla = 'withdrawn' WHERE state = 'withdrawn' AND closed_at IS NOT NULL")


def downgrade() -> None:
    op.execute("UPDATE cases SET sla = 'met' WHERE sla = 'withdrawn'")  # as before (late ones were met_late)
