"""Events: App Home opened; the app uninstalled or its tokens revoked (clean up that workspace)."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient

from deferredrev.bot.authority import Requester
from deferredrev.bot.deps import BotDeps
from deferredrev.bot.listeners import flows
from deferredrev.bot.listeners.guard import GuardedApp

logger = logging.getLogger(__name__)


def register(app: GuardedApp) -> None:
    app.event("app_home_opened")(app_home_opened)
    app.event("app_uninstalled")(app_uninstalled)
    app.event("tokens_revoked")(tokens_revoked)


def app_home_opened(event: dict[str, Any], client: WebClient, deps: BotDeps, who: Requester) -> None:
    if event.get("tab", "home") != "home":
        return
    flows.publish_home(deps, client, who)


def app_uninstalled(body: dict[str, Any], deps: BotDeps) -> None:
    for team_id in _workspaces_of(body, deps):
        _clean_up(team_id, deps, why="uninstalled")


def tokens_revoked(body: dict[str, Any], event: dict[str, Any], deps: BotDeps) -> None:
    if event.get("tokens", {}).get("bot"):
        for team_id in _workspaces_of(body, deps):
            _clean_up(team_id, deps, why="bot token revoked")


def _workspaces_of(body: dict[str, Any], deps: BotDeps) -> list[str]:
    """The workspaces an uninstall or a revocation is about: the one the event names, or, for an Enterprise Grid
    org-wide installation (which names only its organisation), each of the organisation's workspaces DeferredRev
    knows. Never a made-up id: an event naming neither is logged and ignored."""
    authorization = (body.get("authorizations") or [{}])[0]
    for candidate in (body.get("team_id"), authorization.get("team_id")):
        if isinstance(candidate, str) and candidate.startswith("T"):
            return [candidate]
    enterprise = body.get("enterprise_id") or authorization.get("enterprise_id") or body.get("context_enterprise_id")
    if isinstance(enterprise, str) and enterprise:
        return deps.workspaces.of_enterprise(enterprise)
    logger.warning("a %s event named no workspace; ignored", (body.get("event") or {}).get("type"))
    return []


def _clean_up(team_id: str, deps: BotDeps, *, why: str) -> None:
    """Nobody in that workspace can manage the QuickBooks connection any more: revoke it; keep the records."""
    logger.info("Slack app %s for team %s; disconnecting QuickBooks", why, team_id)
    deps.workspaces.mark_uninstalled(team_id)
    deps.authority.forget(team_id)
    deps.forget_installation(team_id)
    deps.connections.disconnect(team_id, user_id=None, channel_id=None, notify=False)
