"""Slack side of :class:`services.ports.Notifier`: DMs and channel posts for things that happen outside a request."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from deferredrev.bot.blocks import messages
from deferredrev.bot.blocks.common import Block
from deferredrev.services.ports import ConnectedNotice, ExpiryNotice

logger = logging.getLogger(__name__)

ClientForTeam = Callable[[str], WebClient | None]


class SlackNotifier:
    def __init__(self, client_for_team: ClientForTeam) -> None:
        self._client_for_team = client_for_team

    def connected(self, notice: ConnectedNotice) -> None:
        text, blocks = messages.connected_notice(
            notice.company_name, reconnected=notice.reconnected, previous_company=notice.previous_company
        )
        self._post(notice.team_id, [notice.user_id], text, blocks)

    def connect_failed(self, team_id: str, user_id: str, message: str) -> None:
        text, blocks = messages.connect_failed_notice(message)
        self._post(team_id, [user_id], text, blocks)

    def disconnected(self, team_id: str, targets: Sequence[str], actor: str | None, company_name: str) -> None:
        text, blocks = messages.disconnected_notice(company_name, actor)
        self._post(team_id, targets, text, blocks)

    def connection_expired(self, notice: ExpiryNotice) -> None:
        text, blocks = messages.expiry_alert(notice.company_name, notice.reason)
        self._post(notice.team_id, self._admin_targets(notice), text, blocks)

    def hard_expiry_warning(self, notice: ExpiryNotice) -> None:
        text, blocks = messages.hard_expiry_warning(notice.company_name, notice.days_left or 0)
        self._post(notice.team_id, self._admin_targets(notice), text, blocks)

    def _admin_targets(self, notice: ExpiryNotice) -> list[str]:
        """Each admin once (DM), then the alert channel if one is set."""
        admins = [*notice.admin_ids, *self._workspace_admins(notice.team_id)]
        channel = [notice.alert_channel] if notice.alert_channel else []
        return list(dict.fromkeys([*admins, *channel]))

    def _workspace_admins(self, team_id: str) -> list[str]:
        client = self._client_for_team(team_id)
        if client is None:
            return []
        admins: list[str] = []
        cursor = None
        try:
            while True:
                page = client.users_list(limit=200, cursor=cursor)
                members: list[dict[str, Any]] = page.get("members", [])
                for member in members:
                    active = not (member.get("deleted") or member.get("is_bot") or member.get("is_restricted"))
                    if active and (member.get("is_admin") or member.get("is_owner")):
                        admins.append(member["id"])
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    return admins
        except SlackApiError as error:
            logger.warning("users.list failed for team %s: %s", team_id, error.response.get("error"))
            return admins

    def _post(self, team_id: str, targets: Sequence[str], text: str, blocks: list[Block]) -> None:
        client = self._client_for_team(team_id)
        if client is None:
            logger.warning("no Slack installation for team %s; could not say: %s", team_id, text)
            return
        for target in dict.fromkeys(targets):
            try:
                client.chat_postMessage(channel=target, text=text, blocks=blocks)
            except SlackApiError as error:
                logger.warning("could not post to %s in team %s: %s", target, team_id, error.response.get("error"))
