"""Posted history by contract and service period; preview revisions, kinds and summaries; request generations.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entry_recognitions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "entry_id",
            sa.Integer(),
            sa.ForeignKey("journal_entries.id", ondelete="CASCADE", name="fk_entry_recognitions_entry_id_journal_entries"),
            nullable=False,
        ),
        sa.Column("contract_id", sa.String(64), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_entry_recognitions_entry_id", "entry_recognitions", ["entry_id"])
    op.create_index("ix_entry_recognitions_contract_id", "entry_recognitions", ["contract_id"])
    with op.batch_alter_table("previews") as batch:
        batch.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="recognition"))
        batch.add_column(sa.Column("reverses_preview_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("summary", sa.JSON(), nullable=False, server_default="{}"))
        batch.create_foreign_key("fk_previews_reverses_preview_id_previews", "previews", ["reverses_preview_id"], ["id"])
    op.create_index("ix_previews_team_period", "previews", ["team_id", "period"])
    with op.batch_alter_table("journal_entries") as batch:
        batch.add_column(sa.Column("generation", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("journal_entries") as batch:
        batch.drop_column("generation")
    op.drop_index("ix_previews_team_period", table_name="previews")
    with op.batch_alter_table("previews") as batch:
        batch.drop_constraint("fk_previews_reverses_preview_id_previews", type_="foreignkey")
        batch.drop_column("summary")
        batch.drop_column("reverses_preview_id")
        batch.drop_column("kind")
        batch.drop_column("revision")
    op.drop_index("ix_entry_recognitions_contract_id", table_name="entry_recognitions")
    op.drop_index("ix_entry_recognitions_entry_id", table_name="entry_recognitions")
    op.drop_table("entry_recognitions")
