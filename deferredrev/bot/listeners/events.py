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
    _clean_up(str(body["team_id"]), deps, why="uninstalled")


def tokens_revoked(body: dict[str, Any], event: dict[str, Any], deps: BotDeps) -> None:
    if event.get("tokens", {}).get("bot"):
        _clean_up(str(body["team_id"]), deps, why="bot token revoked")


def _clean_up(team_id: str, deps: BotDeps, *, why: str) -> None:
    """Nobody in that workspace can manage the QuickBooks connection any more: revoke it; keep the records."""
    logger.info("Slack app %s for team %s; disconnecting QuickBooks", why, team_id)
    deps.workspaces.mark_uninstalled(team_id)
    deps.authority.forget(team_id)
    deps.forget_installation(team_id)
    deps.connections.disconnect(team_id, user_id=None, channel_id=None, notify=False)
