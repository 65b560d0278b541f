"""Small query helpers over the models. Callers own the session and the transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Engine, bindparam, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from deferredrev.settings import Plan
from deferredrev.storage.models import AccountMapping, AuditEvent, QboConnection, Workspace


def get_or_create_workspace(session: Session, team_id: str, *, default_plan: Plan, now: datetime) -> Workspace:
    workspace = session.get(Workspace, team_id)
    if workspace is None:
        workspace = Workspace(team_id=team_id, plan=default_plan.value, approvers=[], created_at=now, updated_at=now)
        session.add(workspace)
        session.flush()
    return workspace


def set_plan(session: Session, team_id: str, plan: Plan, *, now: datetime) -> Workspace:
    workspace = get_or_create_workspace(session, team_id, default_plan=plan, now=now)
    workspace.plan = plan.value
    workspace.updated_at = now
    return workspace


def connection_for(session: Session, team_id: str, *, for_update: bool = False) -> QboConnection | None:
    query = select(QboConnection).where(QboConnection.team_id == team_id)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def audit(
    session: Session,
    *,
    action: str,
    now: datetime,
    team_id: str | None = None,
    actor: str | None = None,
    subject: str | None = None,
    **details: Any,
) -> None:
    """Append an event to the audit log. ``details`` must never hold secrets."""
    session.add(AuditEvent(team_id=team_id, actor=actor, action=action, subject=subject, details=details, created_at=now))


def audit_trail(session: Session, team_id: str, limit: int = 50) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.team_id == team_id).order_by(AuditEvent.id.desc()).limit(limit)
    return list(session.scalars(query))


@dataclass(frozen=True)
class StatusRows:
    """A workspace's settings, QuickBooks connection and account mapping, each with the model's attribute names
    (connection and mapping None where there is no such row)."""

    workspace: SimpleNamespace
    connection: SimpleNamespace | None
    mapping: SimpleNamespace | None


_STATUS_COLUMNS: dict[str, tuple[InstrumentedAttribute[Any], ...]] = {
    "workspace": (
        Workspace.team_id,
        Workspace.plan,
        Workspace.approvers,
        Workspace.four_eyes,
        Workspace.alert_channel,
        Workspace.posting_mode,
        Workspace.cutover_date,
    ),
    "connection": (  # never the token columns: showing a status has no business reading ciphertexts
        QboConnection.status,
        QboConnection.company_name,
        QboConnection.realm_id,
        QboConnection.connected_at,
        QboConnection.updated_at,
        QboConnection.status_reason,
        QboConnection.refresh_expires_at,
        QboConnection.hard_expires_at,
    ),
    "mapping": (
        AccountMapping.realm_id,
        AccountMapping.deferred_revenue_account_id,
        AccountMapping.deferred_revenue_account_name,
        AccountMapping.revenue_account_id,
        AccountMapping.revenue_account_name,
        AccountMapping.updated_by,
        AccountMapping.updated_at,
    ),
}
STATUS_QUERY = (
    select(*(column.label(f"{part}.{column.key}") for part, columns in _STATUS_COLUMNS.items() for column in columns))
    .select_from(Workspace)
    .outerjoin(QboConnection, QboConnection.team_id == Workspace.team_id)
    .outerjoin(AccountMapping, AccountMapping.team_id == Workspace.team_id)
    .where(Workspace.team_id == bindparam("team_id"))
)


def status_rows(engine: Engine, team_id: str) -> StatusRows | None:
    """One query on a pooled connection, without an ORM session: ``/deferredrev status`` is answered inside Slack's
    acknowledgement, where three ORM sessions cost several times Bolt's own work. None for an unknown workspace."""
    with engine.connect() as db:
        row = db.execute(STATUS_QUERY, {"team_id": team_id}).one_or_none()
    if row is None:
        return None
    values = row._asdict()
    parts = {
        part: SimpleNamespace(**{column.key: values[f"{part}.{column.key}"] for column in columns})
        for part, columns in _STATUS_COLUMNS.items()
    }
    # realm_id is NOT NULL in both tables: None means the outer join found no row.
    return StatusRows(
        workspace=parts["workspace"],
        connection=parts["connection"] if parts["connection"].realm_id is not None else None,
        mapping=parts["mapping"] if parts["mapping"].realm_id is not None else None,
    )
