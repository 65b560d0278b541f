"""The database schema as SQLAlchemy 2.0 typed models.

Money is an integer count of minor units (``BigInteger``); datetimes are timezone-aware (:class:`TZDateTime`);
tokens are stored only as vault ciphertexts (``LargeBinary``). Alembic migrations in ``storage/migrations`` are
generated from this metadata and are what creates the schema (never ``create_all`` outside tests).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, mapped_column, relationship

from deferredrev.storage.types import TZDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: TZDateTime(), dict[str, Any]: JSON(), list[str]: JSON()}


class ConnectionStatus(StrEnum):
    CONNECTED = "connected"
    EXPIRED = "expired"
    DISCONNECTED = "disconnected"


class EntryStatus(StrEnum):
    PENDING = "pending"  # approved, waiting in the outbox
    POSTING = "posting"  # a worker holds the lease and may have called QBO
    POSTED = "posted"
    FAILED = "failed"  # QBO refused it; retry only after the cause is fixed
    UNKNOWN = "unknown"  # outcome unknown (timeout/crash): look it up in QBO before any retry
    REVERSED = "reversed"


class EvidenceStatus(StrEnum):
    PENDING = "pending"  # waiting for its entry to be posted, or for its turn
    ATTACHING = "attaching"  # a worker holds the lease and may have called QBO
    ATTACHED = "attached"
    FAILED = "failed"  # QBO refused it, or it kept failing: shown with the reason, not retried automatically
    UNKNOWN = "unknown"  # outcome unknown: looked up in QBO before any resend


class PreviewStatus(StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"
    STALE = "stale"
    POSTED = "posted"
    FAILED = "failed"


class Workspace(Base):
    __tablename__ = "workspaces"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    enterprise_id: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(255))
    plan: Mapped[str] = mapped_column(String(16))
    approvers: Mapped[list[str]] = mapped_column(default=list)
    four_eyes: Mapped[bool] = mapped_column(Boolean, default=True)
    alert_channel: Mapped[str | None] = mapped_column(String(32))
    posting_mode: Mapped[str] = mapped_column(String(16), default="per_contract")
    cutover_date: Mapped[date | None] = mapped_column(Date)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")  # IANA name: how times read to this workspace
    installed: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class QboConnection(Base):
    """One QuickBooks company per workspace. Tokens are vault ciphertexts; ``version`` fences concurrent refreshes."""

    __tablename__ = "qbo_connections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("workspaces.team_id"), unique=True)
    realm_id: Mapped[str] = mapped_column(String(32))
    company_name: Mapped[str | None] = mapped_column(String(1024))
    status: Mapped[str] = mapped_column(String(16), default=ConnectionStatus.CONNECTED.value)
    status_reason: Mapped[str | None] = mapped_column(Text)
    access_token: Mapped[bytes | None] = mapped_column(LargeBinary)
    refresh_token: Mapped[bytes | None] = mapped_column(LargeBinary)
    access_expires_at: Mapped[datetime | None]
    refresh_expires_at: Mapped[datetime | None]
    hard_expires_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    connected_by: Mapped[str | None] = mapped_column(String(32))
    connected_at: Mapped[datetime | None]
    refreshed_at: Mapped[datetime | None]
    last_alert: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_qbo_connections_status_access", "status", "access_expires_at"),)


class OAuthState(Base):
    """A one-time OAuth ``state``: stored hashed, bound to the browser by a cookie nonce hash, expiring."""

    __tablename__ = "oauth_states"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    browser_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UsedConnectTicket(Base):
    """A connect link (ticket) that was opened. Each works once: redeeming inserts this row, and the primary key makes
    a second insert fail, however many replicas race. Kept until the ticket would have expired anyway."""

    __tablename__ = "used_connect_tickets"

    ticket_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccountMapping(Base):
    __tablename__ = "account_mappings"

    team_id: Mapped[str] = mapped_column(ForeignKey("workspaces.team_id"), primary_key=True)
    realm_id: Mapped[str] = mapped_column(String(32))
    deferred_revenue_account_id: Mapped[str] = mapped_column(String(32))
    deferred_revenue_account_name: Mapped[str] = mapped_column(String(1024))
    revenue_account_id: Mapped[str] = mapped_column(String(32))
    revenue_account_name: Mapped[str] = mapped_column(String(1024))
    updated_by: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class QboPacing(Base):
    """When the next QuickBooks call of a kind may start for a company. QuickBooks' limits are per company, so every
    replica's posting worker reserves its slots here. Epoch seconds (not a datetime) so the reservation is one
    portable SQL expression: ``next_at = max(next_at, now) + interval``."""

    __tablename__ = "qbo_pacing"

    realm_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    next_at: Mapped[float] = mapped_column(Float)


class Contract(Base):
    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("workspaces.team_id"))
    contract_id: Mapped[str] = mapped_column(String(64))
    customer: Mapped[str] = mapped_column(String(255))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(20), default="daily")
    description: Mapped[str] = mapped_column(Text, default="")
    cancel_date: Mapped[date | None] = mapped_column(Date)
    # Revenue recognised before the workspace's cut-over, by the books kept before DeferredRev: a fact fixed when the
    # cut-over first applied to the contract (for the cut-over date beside it), kept when the contract is amended.
    recognised_elsewhere_minor: Mapped[int | None] = mapped_column(BigInteger)
    elsewhere_cutover: Mapped[date | None] = mapped_column(Date)
    billed_date: Mapped[date | None] = mapped_column(Date)  # when the amount entered Deferred Revenue (None: start)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("team_id", "contract_id", name="uq_contracts_team_contract"),)


class Preview(Base):
    """A period's preview message in a channel, and the decision taken on it."""

    __tablename__ = "previews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("workspaces.team_id"))
    realm_id: Mapped[str | None] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(7))
    posting_mode: Mapped[str] = mapped_column(String(16))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=PreviewStatus.OPEN.value)
    requested_by: Mapped[str] = mapped_column(String(32))
    decided_by: Mapped[str | None] = mapped_column(String(32))
    decided_at: Mapped[datetime | None]
    reject_reason: Mapped[str | None] = mapped_column(Text)
    slack_channel: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    revision: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(16), default="recognition")  # recognition | reversal
    reverses_preview_id: Mapped[int | None] = mapped_column(ForeignKey("previews.id"))
    include_months: Mapped[list[str]] = mapped_column(default=list)  # earlier months caught up in this entry (YYYY-MM)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)  # counts and totals shown in history
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    entries: Mapped[list[JournalEntry]] = relationship(back_populates="preview")

    __table_args__ = (Index("ix_previews_team_period", "team_id", "period"),)


class JournalEntry(Base):
    """One journal entry we post (or posted) to QBO: the outbox row and the record of the result."""

    __tablename__ = "journal_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("workspaces.team_id"))
    realm_id: Mapped[str] = mapped_column(String(32))
    preview_id: Mapped[int | None] = mapped_column(ForeignKey("previews.id"))
    period: Mapped[str] = mapped_column(String(7))
    posting_key: Mapped[str] = mapped_column(String(200), unique=True)
    request_id: Mapped[str] = mapped_column(String(50), unique=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)  # bumped (new request_id) only after a definitive failure
    doc_number: Mapped[str] = mapped_column(String(21))
    txn_date: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int] = mapped_column(BigInteger)
    private_note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=EntryStatus.PENDING.value)
    qbo_id: Mapped[str | None] = mapped_column(String(32))
    qbo_sync_token: Mapped[str | None] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(16))
    error_message: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    requested_by: Mapped[str | None] = mapped_column(String(32))
    approved_by: Mapped[str | None] = mapped_column(String(32))
    slack_channel: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    reverses_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))
    # The requestid of the batch this entry was last sent in: an entry in doubt goes again in that same batch.
    batch_request_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    posted_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    preview: Mapped[Preview | None] = relationship(back_populates="entries")
    lines: Mapped[list[JournalEntryLine]] = relationship(
        back_populates="entry", order_by="JournalEntryLine.line_no", cascade="all, delete-orphan"
    )
    recognitions: Mapped[list[EntryRecognition]] = relationship(back_populates="entry", cascade="all, delete-orphan")
    evidence: Mapped[EntryEvidence | None] = relationship(back_populates="entry", cascade="all, delete-orphan")

    __table_args__ = (
        Index("ix_journal_entries_team_period", "team_id", "period"),
        Index("ix_journal_entries_status", "status", "lease_until"),
    )


class JournalEntryLine(Base):
    __tablename__ = "journal_entry_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    contract_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    posting_type: Mapped[str] = mapped_column(String(8))
    account_id: Mapped[str] = mapped_column(String(32))
    account_name: Mapped[str] = mapped_column(String(1024))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(Text)

    entry: Mapped[JournalEntry] = relationship(back_populates="lines")

    __table_args__ = (Index("ix_journal_entry_lines_contract", "contract_id"),)


class EntryRecognition(Base):
    """Revenue an entry recognises, by contract and service period: the posted history revrec reasons from."""

    __tablename__ = "entry_recognitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id", ondelete="CASCADE"), index=True)
    contract_id: Mapped[str] = mapped_column(String(64), index=True)
    period: Mapped[str] = mapped_column(String(7))
    amount_minor: Mapped[int] = mapped_column(BigInteger)

    entry: Mapped[JournalEntry] = relationship(back_populates="recognitions")


class EntryEvidence(Base):
    """The evidence file attached to one journal entry in QBO once it is posted: the outbox step after the entry's own.

    ``facts`` is what the approval was based on, frozen when the entry was queued (the contracts' terms, the
    tie-out); ``content`` is the file, rendered once before the first upload so every attempt sends the same bytes
    under the same ``request_id``. The lease (``lease_owner``, ``lease_until``) fences workers as the entry's does.
    """

    __tablename__ = "entry_evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id", ondelete="CASCADE"), unique=True)
    team_id: Mapped[str] = mapped_column(String(32))
    realm_id: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=EvidenceStatus.PENDING.value)
    request_id: Mapped[str] = mapped_column(String(50), unique=True)
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    file_name: Mapped[str | None] = mapped_column(String(255))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    attachable_id: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    error_code: Mapped[str | None] = mapped_column(String(16))
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    attached_at: Mapped[datetime | None]

    entry: Mapped[JournalEntry] = relationship(back_populates="evidence")

    __table_args__ = (Index("ix_entry_evidence_status", "status", "next_attempt_at"),)


class AuditEvent(Base):
    """Append-only: rows are never updated or deleted (enforced below)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str | None] = mapped_column(String(32), index=True)
    actor: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AppendOnlyError(RuntimeError):
    """Someone tried to change or delete an audit record."""


@event.listens_for(AuditEvent, "before_update")
def _refuse_audit_update(mapper: Mapper[AuditEvent], connection: Any, target: AuditEvent) -> None:
    raise AppendOnlyError("the audit log is append-only")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_audit_delete(mapper: Mapper[AuditEvent], connection: Any, target: AuditEvent) -> None:
    raise AppendOnlyError("the audit log is append-only")
