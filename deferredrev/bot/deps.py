"""What listeners need, handed to them through Bolt's context (a middleware puts ``deps`` there)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from deferredrev.bot.admins import AdminChecker
from deferredrev.clock import Clock, SystemClock
from deferredrev.services.connections import ConnectionService
from deferredrev.services.mappings import MappingService
from deferredrev.services.previews import PreviewService
from deferredrev.services.workspaces import WorkspaceService
from deferredrev.storage.db import SessionFactory


@dataclass(frozen=True)
class BotDeps:
    workspaces: WorkspaceService
    connections: ConnectionService
    mappings: MappingService
    admins: AdminChecker
    sessions: SessionFactory
    public_url: str
    forget_installation: Callable[[str], None] = lambda team_id: None
    clock: Clock = field(default_factory=SystemClock)
    previews: PreviewService | None = None
    kick_posting: Callable[[], None] = lambda: None
    environment: str = "sandbox"

    @property
    def preview_service(self) -> PreviewService:
        if self.previews is None:
            raise RuntimeError("previews are not wired")
        return self.previews

    def connect_url(self, ticket: str) -> str:
        return f"{self.public_url}/qbo/connect?t={ticket}"


def deps_middleware(deps: BotDeps) -> Callable[..., Any]:
    def put_deps(context: dict[str, Any], next: Callable[[], Any]) -> Any:  # noqa: A002 - Bolt's parameter name
        context["deps"] = deps
        return next()

    return put_deps
