"""Small query helpers over the models. Callers own the session and the transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from deferredrev.settings import Plan
from deferredrev.storage.models import AuditEvent, QboConnection, Workspace


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
