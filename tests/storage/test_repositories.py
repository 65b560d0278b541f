from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine

from deferredrev.services.connections import status_view
from deferredrev.services.mappings import mapping_view
from deferredrev.services.workspaces import settings_view
from deferredrev.settings import Plan
from deferredrev.storage.models import AccountMapping, QboConnection, Workspace
from deferredrev.storage.repositories import STATUS_QUERY, STATUS_QUERY_ONE_VALUE, get_or_create_workspace, status_rows

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def add_workspace(sessions, team: str) -> None:  # type: ignore[no-untyped-def]
    with sessions.begin() as session:
        workspace = get_or_create_workspace(session, team, default_plan=Plan.GROWTH, now=NOW)
        workspace.approvers = ["U0APPROVE", "U0OTHER"]
        workspace.four_eyes = False
        workspace.alert_channel = "C0ALERTS"
        workspace.posting_mode = "summary"
        workspace.cutover_date = date(2026, 1, 1)


def add_connection_and_mapping(sessions, team: str) -> None:  # type: ignore[no-untyped-def]
    with sessions.begin() as session:
        session.add(
            QboConnection(
                team_id=team,
                realm_id="9130",
                company_name='Acme & Sons "Ünïcode" \\ Ltd',  # quotes, a backslash and accents survive the read
                status="expired",
                status_reason="refresh token expired",
                access_token=b"ciphertext",
                refresh_expires_at=NOW + timedelta(days=100),
                hard_expires_at=NOW + timedelta(days=1800),
                connected_at=NOW - timedelta(days=3),
                created_at=NOW,
                updated_at=NOW - timedelta(hours=2),
            )
        )
        session.add(
            AccountMapping(
                team_id=team,
                realm_id="9130",
                deferred_revenue_account_id="35",
                deferred_revenue_account_name="Deferred Revenue:EMEA 🌍",
                revenue_account_id="79",
                revenue_account_name="Subscription Revenue",
                updated_by="U0ADMIN01",
                updated_at=NOW,
            )
        )


def test_unknown_workspace_has_no_rows(engine: Engine) -> None:
    assert status_rows(engine, "T0NOBODY") is None


def test_workspace_without_connection_or_mapping(engine: Engine, sessions) -> None:  # type: ignore[no-untyped-def]
    add_workspace(sessions, "T1")
    rows = status_rows(engine, "T1")
    assert rows is not None
    assert rows.connection is None and rows.mapping is None
    assert status_view(rows.connection).status == "not_connected"
    assert settings_view(rows.workspace).approvers == ("U0APPROVE", "U0OTHER")


def test_rows_give_the_same_views_as_the_models(engine: Engine, sessions) -> None:  # type: ignore[no-untyped-def]
    add_workspace(sessions, "T1")
    add_connection_and_mapping(sessions, "T1")
    add_workspace(sessions, "T2")  # another workspace's rows never leak into T1's
    rows = status_rows(engine, "T1")
    assert rows is not None
    with sessions() as session:
        workspace = session.get(Workspace, "T1")
        connection = session.query(QboConnection).filter_by(team_id="T1").one()
        mapping = session.get(AccountMapping, "T1")
        expected = (settings_view(workspace), status_view(connection), mapping_view(mapping))  # type: ignore[arg-type]
    assert (settings_view(rows.workspace), status_view(rows.connection), mapping_view(rows.mapping)) == expected
    view = status_view(rows.connection)
    assert view.status == "expired" and view.since == NOW - timedelta(hours=2)  # not connected: since the change
    assert view.hard_expires_at is not None and view.hard_expires_at.tzinfo is not None
    assert settings_view(rows.workspace).cutover_date == date(2026, 1, 1)


def test_status_never_reads_token_columns(engine: Engine) -> None:
    selected = {column.name.split(".")[-1] for column in STATUS_QUERY.selected_columns}
    assert not selected & {"access_token", "refresh_token"}
    assert "status" in selected
    packed = str(STATUS_QUERY_ONE_VALUE.compile(dialect=engine.dialect))  # what SQLite is asked instead
    assert "json_array(" in packed and "qbo_connections.status" in packed
    assert "access_token" not in packed and "refresh_token" not in packed
