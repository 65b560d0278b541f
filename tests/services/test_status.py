from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from deferredrev.clock import ManualClock
from deferredrev.services.status import StatusReader
from deferredrev.services.workspaces import WorkspaceService
from deferredrev.settings import Plan
from deferredrev.storage.models import Workspace


def reader(engine: Engine, sessions) -> tuple[StatusReader, WorkspaceService]:  # type: ignore[no-untyped-def]
    clock = ManualClock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    workspaces = WorkspaceService(sessions=sessions, clock=clock, default_plan=Plan.GROWTH)
    return StatusReader(engine=engine, workspaces=workspaces), workspaces


def test_first_seen_workspace_gets_its_row_and_default_settings(engine: Engine, sessions) -> None:  # type: ignore[no-untyped-def]
    status, _ = reader(engine, sessions)
    first = status.read("T0NEW")
    assert first.connection.status == "not_connected" and first.mapping is None
    assert first.settings.plan is Plan.GROWTH and first.settings.four_eyes
    with sessions() as session:
        assert session.get(Workspace, "T0NEW") is not None
    assert status.read("T0NEW") == first  # now read in one query, same answer


def test_settings_changes_are_seen_at_once(engine: Engine, sessions) -> None:  # type: ignore[no-untyped-def]
    status, workspaces = reader(engine, sessions)
    status.read("T1")
    workspaces.update(
        "T1",
        user_id="U0ADMIN",
        approvers=["U0APPROVE"],
        four_eyes=False,
        alert_channel="C0ALERTS",
        posting_mode="summary",
        cutover_date=None,
    )
    settings = status.read("T1").settings
    assert settings.approvers == ("U0APPROVE",) and not settings.four_eyes and settings.posting_mode == "summary"
