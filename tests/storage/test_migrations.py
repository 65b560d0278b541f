from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, select

from deferredrev.storage.db import downgrade, make_engine, upgrade
from deferredrev.storage.models import AppendOnlyError, AuditEvent, Contract, Workspace
from deferredrev.storage.repositories import audit

EXPECTED_TABLES = {
    "workspaces",
    "qbo_connections",
    "oauth_states",
    "account_mappings",
    "contracts",
    "previews",
    "journal_entries",
    "journal_entry_lines",
    "audit_log",
    "entry_recognitions",
    "slack_installations",
    "slack_bots",
    "slack_oauth_states",
    "alembic_version",
}


def test_migrations_run_up_down_and_up_again(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        assert EXPECTED_TABLES <= set(inspect(engine).get_table_names())
        downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        assert EXPECTED_TABLES <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_datetimes_are_timezone_aware_and_money_is_integer(sessions) -> None:  # type: ignore[no-untyped-def]
    paris = timezone(timedelta(hours=1))
    created = datetime(2026, 3, 31, 23, 30, tzinfo=paris)
    with sessions.begin() as session:
        session.add(Workspace(team_id="T1", plan="growth", approvers=["U1"], created_at=created, updated_at=created))
        session.flush()
        session.add(
            Contract(
                team_id="T1",
                contract_id="C-1",
                customer="Acme",
                amount_minor=10**15,
                currency="USD",
                start_date=date(2026, 1, 1),
                end_date=date(2026, 12, 31),
                created_at=created,
                updated_at=created,
            )
        )
    with sessions() as session:
        workspace = session.get(Workspace, "T1")
        assert workspace is not None
        assert workspace.created_at == created
        assert workspace.created_at.tzinfo is not None
        assert workspace.approvers == ["U1"]
        contract = session.scalars(select(Contract)).one()
        assert contract.amount_minor == 10**15 and isinstance(contract.amount_minor, int)


def test_naive_datetimes_are_refused(sessions) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Exception, match="naive datetime"), sessions.begin() as session:
        session.add(Workspace(team_id="T1", plan="growth", approvers=[], created_at=datetime(2026, 1, 1)))
        session.flush()


def test_audit_log_is_append_only(sessions, now: datetime) -> None:  # type: ignore[no-untyped-def]
    with sessions.begin() as session:
        audit(session, action="test.event", now=now, team_id="T1", actor="U1", detail="x")
    with pytest.raises(AppendOnlyError), sessions.begin() as session:
        event = session.scalars(select(AuditEvent)).one()
        event.action = "tampered"
    with pytest.raises(AppendOnlyError), sessions.begin() as session:
        session.delete(session.scalars(select(AuditEvent)).one())
    with sessions() as session:
        assert session.scalars(select(AuditEvent)).one().action == "test.event"


def test_models_and_migrations_agree(engine) -> None:  # type: ignore[no-untyped-def]
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from deferredrev.storage.models import Base

    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    ours = [d for d in differences if "slack_" not in str(d)]  # slack_sdk's store tables are not in our metadata
    assert ours == []
