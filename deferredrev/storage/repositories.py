"""Small query helpers over the models. Callers own the session and the transaction."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Dialect, Engine, Select, bindparam, func, select
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
_STATUS_FIELDS = [(part, column) for part, columns in _STATUS_COLUMNS.items() for column in columns]


def _status_select(*selected: Any) -> Select[Any]:
    return (
        select(*selected)
        .select_from(Workspace)
        .outerjoin(QboConnection, QboConnection.team_id == Workspace.team_id)
        .outerjoin(AccountMapping, AccountMapping.team_id == Workspace.team_id)
        .where(Workspace.team_id == bindparam("team_id"))
    )


STATUS_QUERY = _status_select(*(column.label(f"{part}.{column.key}") for part, column in _STATUS_FIELDS))
# SQLite's driver lets go of Python's interpreter lock around reading each column's type, and every hand-off costs
# a context switch when request threads are busy: the row comes back as one JSON array instead, decoded by the
# columns' own result processors (JSON carries SQLite's stored values, text, integers, reals and NULL, unchanged).
STATUS_QUERY_ONE_VALUE = _status_select(func.json_array(*(column for _, column in _STATUS_FIELDS)))


def status_rows(engine: Engine, team_id: str) -> StatusRows | None:
    """One query on a pooled connection, without an ORM session: ``/deferredrev status`` is answered inside Slack's
    acknowledgement, where three ORM sessions cost several times Bolt's own work. None for an unknown workspace."""
    values = _status_values_sqlite(engine, team_id) if engine.dialect.name == "sqlite" else _status_values(engine, team_id)
    if values is None:
        return None
    parts: dict[str, dict[str, Any]] = {part: {} for part in _STATUS_COLUMNS}
    for (part, column), value in zip(_STATUS_FIELDS, values, strict=True):
        parts[part][column.key] = value
    # realm_id is NOT NULL in both tables: None means the outer join found no row.
    return StatusRows(
        workspace=SimpleNamespace(**parts["workspace"]),
        connection=SimpleNamespace(**parts["connection"]) if parts["connection"]["realm_id"] is not None else None,
        mapping=SimpleNamespace(**parts["mapping"]) if parts["mapping"]["realm_id"] is not None else None,
    )


def _status_values(engine: Engine, team_id: str) -> Sequence[Any] | None:
    with engine.connect() as db:
        return db.execute(STATUS_QUERY, {"team_id": team_id}).one_or_none()


def _status_values_sqlite(engine: Engine, team_id: str) -> list[Any] | None:
    sql, processors = _sqlite_status_plan(engine.dialect)
    connection = engine.raw_connection()  # pooled as usual; only SQLAlchemy's execution layer is skipped
    try:
        found = connection.cursor().execute(sql, (team_id,)).fetchone()
    finally:
        connection.close()
    if found is None:
        return None
    stored = json.loads(found[0])
    return [value if process is None else process(value) for process, value in zip(processors, stored, strict=True)]


@functools.lru_cache(maxsize=4)
def _sqlite_status_plan(dialect: Dialect) -> tuple[str, list[Callable[[Any], Any] | None]]:
    """The status query's SQL for SQLite's driver, and each column's result processor."""
    sql = str(STATUS_QUERY_ONE_VALUE.compile(dialect=dialect))
    processors = [column.type.dialect_impl(dialect).result_processor(dialect, None) for _, column in _STATUS_FIELDS]
    return sql, processors
