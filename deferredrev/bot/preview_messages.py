"""Keeps a preview's Slack message in step with the database: every change re-renders it from the stored state."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from deferredrev.bot.blocks.preview import preview_message
from deferredrev.services.previews import PreviewService

logger = logging.getLogger(__name__)


class PreviewMessages:
    def __init__(
        self, previews: PreviewService, client_for_team: Callable[[str], WebClient | None], environment: str
    ) -> None:
        self._previews = previews
        self._client_for_team = client_for_team
        self._environment = environment

    def refresh(self, preview_id: int) -> None:
        state = self._previews.recorded_state(preview_id)
        if not state.get("channel") or not state.get("ts"):
            return
        client = self._client_for_team(state["team_id"])
        if client is None:
            return
        text, blocks = preview_message(state, environment=self._environment)
        try:
            client.chat_update(channel=state["channel"], ts=state["ts"], text=text, blocks=blocks)
        except SlackApiError as error:
            logger.warning("could not update preview %s: %s", preview_id, error.response.get("error"))

    def message_link(self, team_id: str, channel_id: str, ts: str) -> str | None:
        """A Slack message's permalink (for the evidence attached in QuickBooks); None when Slack won't say."""
        client = self._client_for_team(team_id)
        if client is None:
            return None
        try:
            found = client.chat_getPermalink(channel=channel_id, message_ts=ts)
        except SlackApiError as error:
            logger.warning("no permalink for a preview message: %s", error.response.get("error"))
            return None
        link = found.get("permalink")
        return str(link) if isinstance(link, str) and link.startswith("https://") else None

    def settled(self, preview_id: int) -> None:
        self._previews.settle(preview_id)
        self.refresh(preview_id)
