"""Answering the person who acted, wherever they acted: via response_url when Slack gave one, else a DM."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient

from deferredrev.bot.blocks.common import Block

NOT_IN_CHANNEL = ("not_in_channel", "channel_not_found", "is_archived")  # Slack's errors when the bot can't post there


def reply(body: dict[str, Any], respond: Respond, client: WebClient, text: str, blocks: list[Block], **extra: Any) -> None:
    """Ephemeral answer to the user behind ``body``."""
    if body.get("response_url") or _first_response_url(body):
        respond(text=text, blocks=blocks, response_type="ephemeral", **extra)
        return
    client.chat_postMessage(channel=user_id_of(body), text=text, blocks=blocks)


def _first_response_url(body: dict[str, Any]) -> str | None:
    urls = body.get("response_urls") or []
    return str(urls[0]["response_url"]) if urls else None


def user_id_of(body: dict[str, Any]) -> str:
    user = body.get("user")
    if isinstance(user, dict):
        return str(user["id"])
    return str(body.get("user_id") or user)


def team_id_of(body: dict[str, Any]) -> str:
    team = body.get("team")
    if isinstance(team, dict):
        return str(team["id"])
    return str(body.get("team_id") or team)


def channel_id_of(body: dict[str, Any]) -> str | None:
    channel = body.get("channel")
    if isinstance(channel, dict):
        return str(channel["id"])
    found = body.get("channel_id") or body.get("container", {}).get("channel_id")
    return str(found) if found else None


def metadata_of(view: dict[str, Any]) -> dict[str, Any]:
    raw = view.get("private_metadata") or "{}"
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
