"""Evidence attached to each posted entry (an outbox step of its own), and the day a contract was billed.

``entry_evidence``: one row per journal entry, queued with it; the worker uploads the file once the entry is posted.
``contracts.billed_date``: the day the contract's amount entered Deferred Revenue (NULL: its start date).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contracts") as table:
        table.add_column(sa.Column("billed_date", sa.Date(), nullable=True))
    op.create_table(
        "entry_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("realm_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("request_id", sa.String(50), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("attachable_id", sa.String(32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error_code", sa.String(16), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attached_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["journal_entries.id"], name="fk_entry_evidence_entry_id_journal_entries", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_entry_evidence"),
        sa.UniqueConstraint("entry_id", name="uq_entry_evidence_entry_id"),
        sa.UniqueConstraint("request_id", name="uq_entry_evidence_request_id"),
    )
    op.create_index("ix_entry_evidence_status", "entry_evidence", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_entry_evidence_status", table_name="entry_evidence")
    op.drop_table("entry_evidence")
    with op.batch_alter_table("contracts") as table:
        table.drop_column("billed_date")
