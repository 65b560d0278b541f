"""The batch requestid each entry was last sent under, so an entry in doubt is sent again in the same batch.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("journal_entries") as table:
        table.add_column(sa.Column("batch_request_id", sa.String(36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("journal_entries") as table:
        table.drop_column("batch_request_id")
