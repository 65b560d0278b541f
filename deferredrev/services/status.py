"""Everything ``/deferredrev status`` and App Home show about a workspace, read in one go."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from deferredrev.services.connections import ConnectionStatusView, status_view
from deferredrev.services.mappings import Mapping, mapping_view
from deferredrev.services.workspaces import WorkspaceService, WorkspaceSettings, settings_view
from deferredrev.storage.repositories import status_rows


@dataclass(frozen=True)
class WorkspaceStatus:
    connection: ConnectionStatusView
    mapping: Mapping | None
    settings: WorkspaceSettings


class StatusReader:
    def __init__(self, *, engine: Engine, workspaces: WorkspaceService) -> None:
        self._engine = engine
        self._workspaces = workspaces

    def read(self, team_id: str) -> WorkspaceStatus:
        rows = status_rows(self._engine, team_id)
        if rows is None:  # first seen: gets its row and default settings the usual way
            return WorkspaceStatus(status_view(None), None, self._workspaces.settings(team_id))
        return WorkspaceStatus(status_view(rows.connection), mapping_view(rows.mapping), settings_view(rows.workspace))
