"""What listeners need: a listener that takes a ``deps`` argument gets this (see ``listeners/guard.py``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from deferredrev.bot.authority import Authority
from deferredrev.clock import Clock, SystemClock
from deferredrev.services.connections import ConnectionService
from deferredrev.services.mappings import MappingService
from deferredrev.services.previews import PreviewService
from deferredrev.services.reports import ReportService
from deferredrev.services.status import StatusReader
from deferredrev.services.workspaces import WorkspaceService
from deferredrev.storage.db import SessionFactory


@dataclass(frozen=True)
class BotDeps:
    workspaces: WorkspaceService
    connections: ConnectionService
    mappings: MappingService
    status: StatusReader
    authority: Authority
    sessions: SessionFactory
    public_url: str
    forget_installation: Callable[[str], None] = lambda team_id: None
    clock: Clock = field(default_factory=SystemClock)
    previews: PreviewService | None = None
    kick_posting: Callable[[], None] = lambda: None
    environment: str = "sandbox"
    reports: ReportService | None = None

    @property
    def report_service(self) -> ReportService:
        if self.reports is None:
            raise RuntimeError("reports are not wired")
        return self.reports

    @property
    def preview_service(self) -> PreviewService:
        if self.previews is None:
            raise RuntimeError("previews are not wired")
        return self.previews

    def connect_url(self, ticket: str) -> str:
        return f"{self.public_url}/qbo/connect?t={ticket}"
