"""Recognised-elsewhere facts on contracts (fixed when the cut-over first applies), and the earlier months a preview
includes as catch-up.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contracts") as table:
        table.add_column(sa.Column("recognised_elsewhere_minor", sa.BigInteger(), nullable=True))
        table.add_column(sa.Column("elsewhere_cutover", sa.Date(), nullable=True))
    with op.batch_alter_table("previews") as table:
        table.add_column(sa.Column("include_months", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table("previews") as table:
        table.drop_column("include_months")
    with op.batch_alter_table("contracts") as table:
        table.drop_column("elsewhere_cutover")
        table.drop_column("recognised_elsewhere_minor")
