"""manifest.yml against the rules of Slack's app-manifest schema (v1) that apply to the keys we use, and against
what the code registers (commands, events, interactivity at /slack/events)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import yaml

from deferredrev.bot import ids

MANIFEST = Path(__file__).resolve().parents[1] / "manifest.yml"
URL = {"type": "string", "pattern": "^https?://", "maxLength": 3000}
STRINGS = {"type": "array", "items": {"type": "string", "maxLength": 50}, "uniqueItems": True}

# The subset of slackapi/manifest-schema's manifest.schema.1.0.0.json for the sections this app uses.
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["display_information"],
    "additionalProperties": False,
    "properties": {
        "_metadata": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"major_version": {"type": "integer"}, "minor_version": {"type": "integer"}},
        },
        "display_information": {
            "type": "object",
            "required": ["name"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 35},
                "description": {"type": "string", "minLength": 1, "maxLength": 140},
                "background_color": {"type": "string", "pattern": "^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$"},
                "long_description": {"type": "string", "minLength": 175, "maxLength": 4000},
            },
        },
        "features": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "app_home": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "home_tab_enabled": {"type": "boolean"},
                        "messages_tab_enabled": {"type": "boolean"},
                        "messages_tab_read_only_enabled": {"type": "boolean"},
                    },
                },
                "bot_user": {
                    "type": "object",
                    "required": ["display_name"],
                    "additionalProperties": False,
                    "properties": {
                        "display_name": {"type": "string", "minLength": 1, "maxLength": 80},
                        "always_online": {"type": "boolean"},
                    },
                },
                "slash_commands": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 50,
                    "items": {
                        "type": "object",
                        "required": ["command", "description"],
                        "additionalProperties": False,
                        "properties": {
                            "command": {"type": "string", "minLength": 2, "maxLength": 32, "pattern": "^/"},
                            "url": URL,
                            "description": {"type": "string", "minLength": 1, "maxLength": 2000},
                            "usage_hint": {"type": "string", "minLength": 1, "maxLength": 1000},
                            "should_escape": {"type": "boolean"},
                        },
                    },
                },
            },
        },
        "oauth_config": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "redirect_urls": {"type": "array", "uniqueItems": True, "items": {"type": "string", "maxLength": 2500}},
                "scopes": {"type": "object", "additionalProperties": False, "properties": {"bot": STRINGS, "user": STRINGS}},
            },
        },
        "settings": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "event_subscriptions": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"request_url": {**URL, "maxLength": 3500}, "bot_events": STRINGS, "user_events": STRINGS},
                },
                "interactivity": {
                    "type": "object",
                    "required": ["is_enabled"],
                    "additionalProperties": False,
                    "properties": {"is_enabled": {"type": "boolean"}, "request_url": URL, "message_menu_options_url": URL},
                },
                "org_deploy_enabled": {"type": "boolean"},
                "socket_mode_enabled": {"type": "boolean"},
                "token_rotation_enabled": {"type": "boolean"},
            },
        },
    },
}


def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(MANIFEST.read_text())
    return loaded


def test_manifest_is_valid() -> None:
    jsonschema.validate(manifest(), SCHEMA)


def test_manifest_matches_the_code() -> None:
    data = manifest()
    assert [c["command"] for c in data["features"]["slash_commands"]] == [ids.COMMAND]
    urls = {
        data["features"]["slash_commands"][0]["url"],
        data["settings"]["event_subscriptions"]["request_url"],
        data["settings"]["interactivity"]["request_url"],
        data["settings"]["interactivity"]["message_menu_options_url"],
    }
    assert len(urls) == 1 and urls.pop().endswith("/slack/events")
    assert set(data["settings"]["event_subscriptions"]["bot_events"]) == {
        "app_home_opened",
        "app_uninstalled",
        "tokens_revoked",
    }
    assert data["oauth_config"]["redirect_urls"][0].endswith("/slack/oauth_redirect")
    from deferredrev.bot.app import BOT_SCOPES

    assert sorted(data["oauth_config"]["scopes"]["bot"]) == sorted(BOT_SCOPES)
    assert "user" not in data["oauth_config"]["scopes"]  # least privilege: no user token
