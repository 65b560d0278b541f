"""QuickBooks call slots per company, shared by every replica's posting worker.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "qbo_pacing",
        sa.Column("realm_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("realm_id", "kind", name="pk_qbo_pacing"),
    )


def downgrade() -> None:
    op.drop_table("qbo_pacing")
