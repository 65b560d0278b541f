"""Every Block Kit payload our builders produce validates with slack_sdk's own models."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from deferredrev.bot.blocks import contracts as contract_blocks
from deferredrev.bot.blocks import messages, modals
from deferredrev.bot.blocks.home import ActivityLine, home_view
from deferredrev.services.connections import ConnectionStatusView
from deferredrev.services.contracts import ImportResult
from deferredrev.services.mappings import Mapping
from deferredrev.services.workspaces import WorkspaceSettings
from deferredrev.settings import Plan

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
LONG = "Acme & <Sons> " * 40

CONNECTED = ConnectionStatusView(
    "connected", LONG, "9341453000000001", NOW, None, NOW + timedelta(days=100), NOW + timedelta(days=1800)
)
EXPIRED = ConnectionStatusView(
    "expired", "Acme", "9341453000000001", NOW, "QuickBooks refused our refresh token", None, None
)
NONE = ConnectionStatusView("not_connected", None, None, None, None, None, None)
MAPPING = Mapping("9341453000000001", "33", "Deferred Revenue", "79", "Services:" + "x" * 200, "U1", NOW)
SETTINGS = WorkspaceSettings("T1", Plan.GROWTH, ("U1", "U2"), True, "C1", "summary", date(2026, 1, 1))
BARE_SETTINGS = WorkspaceSettings("T1", Plan.STARTER, (), False, None, "per_contract", None)


def validate_blocks(blocks: list[dict[str, Any]], limit: int = 50) -> None:
    assert 0 < len(blocks) <= limit
    for raw in blocks:
        parsed = Block.parse(raw)
        assert parsed is not None, raw
        parsed.validate_json()


MESSAGE_BUILDERS: dict[str, Callable[[], messages.Message]] = {
    "help": messages.help_message,
    "help unknown": lambda: messages.help_message(unknown="frobnicate <b>"),
    "status connected": lambda: messages.status_message(CONNECTED, MAPPING, SETTINGS),
    "status expired": lambda: messages.status_message(EXPIRED, None, BARE_SETTINGS),
    "status none": lambda: messages.status_message(NONE, MAPPING, BARE_SETTINGS),
    "connect": lambda: messages.connect_prompt("https://example.com/qbo/connect?t=x", reconnect=False),
    "reconnect": lambda: messages.connect_prompt("https://example.com/qbo/connect?t=x", reconnect=True),
    "already": lambda: messages.already_connected(LONG),
    "plan": lambda: messages.plan_required("starter"),
    "admin only": lambda: messages.admin_only("connect QuickBooks"),
    "not connected": lambda: messages.not_connected("post"),
    "expired": lambda: messages.connection_expired("post"),
    "disconnect confirm": lambda: messages.disconnect_confirm(LONG),
    "disconnected": lambda: messages.disconnected_notice(LONG, "U1"),
    "disconnected remotely": lambda: messages.disconnected_notice("Acme", None),
    "connected": lambda: messages.connected_notice("Acme", reconnected=False, previous_company=None),
    "reconnected other": lambda: messages.connected_notice("Acme", reconnected=True, previous_company="Other Co"),
    "connect failed": lambda: messages.connect_failed_notice("QuickBooks access was not granted."),
    "expiry alert": lambda: messages.expiry_alert(LONG, "QuickBooks refused our refresh token"),
    "hard expiry": lambda: messages.hard_expiry_warning("Acme", 7),
    "error": lambda: messages.error_message("x" * 5000),
}


@pytest.mark.parametrize("name", sorted(MESSAGE_BUILDERS))
def test_message_builders_validate(name: str) -> None:
    text, blocks = MESSAGE_BUILDERS[name]()
    assert text.strip()
    validate_blocks(blocks)


VIEW_BUILDERS: dict[str, Callable[[], dict[str, Any]]] = {
    "mappings empty": lambda: modals.mappings_modal("Acme", None, realm_id="1"),
    "mappings prefilled": lambda: modals.mappings_modal(LONG, MAPPING, realm_id=MAPPING.realm_id),
    "mappings other company": lambda: modals.mappings_modal("Acme", MAPPING, realm_id="2"),
    "settings": lambda: modals.settings_modal(SETTINGS),
    "settings bare": lambda: modals.settings_modal(BARE_SETTINGS),
    "import": modals.import_modal,
    "import with a problem": lambda: modals.import_modal(["Nothing was imported: 2 problems.", "x" * 4000]),
    "importing": lambda: modals.importing_modal(LONG, metadata={"channel_id": "C1"}),
    "import done": lambda: modals.import_done_modal(
        contract_blocks.import_done_message(ImportResult(created=3, updated=1, unchanged=0), LONG)
    ),
    "home admin": lambda: home_view(CONNECTED, MAPPING, SETTINGS, is_admin=True, activity=[ActivityLine(NOW, LONG)] * 30),
    "home expired": lambda: home_view(EXPIRED, None, BARE_SETTINGS, is_admin=True),
    "home member": lambda: home_view(NONE, None, BARE_SETTINGS, is_admin=False),
}


@pytest.mark.parametrize("name", sorted(VIEW_BUILDERS))
def test_view_builders_validate(name: str) -> None:
    raw = VIEW_BUILDERS[name]()
    View(**raw).validate_json()
    validate_blocks(raw["blocks"], limit=100)


def test_mappings_modal_prefills_only_for_the_same_company() -> None:
    same = modals.mappings_modal("Acme", MAPPING, realm_id=MAPPING.realm_id)
    other = modals.mappings_modal("Acme", MAPPING, realm_id="2")
    selects = [b["element"] for b in same["blocks"] if b["type"] == "input"]
    assert [s["initial_option"]["value"] for s in selects] == ["33", "79"]
    assert all("initial_option" not in b["element"] for b in other["blocks"] if b["type"] == "input")
    assert all(s["min_query_length"] == 0 for s in selects)


def test_user_text_is_escaped_in_mrkdwn() -> None:
    _, blocks = messages.disconnected_notice("<!channel> & co", "U1")
    assert "<!channel>" not in str(blocks)
    assert "&lt;!channel&gt; &amp; co" in str(blocks)


@pytest.mark.parametrize(
    "build",
    [
        messages.already_connected,
        messages.disconnect_confirm,
        lambda company: messages.disconnected_notice(company, "U1"),
        lambda company: messages.connected_notice(company, reconnected=True, previous_company=None),
        lambda company: messages.expiry_alert(company, "revoked"),
        lambda company: messages.hard_expiry_warning(company, 7),
    ],
)
def test_a_company_name_never_mentions_anyone_in_the_notification_text(build: Callable[[str], Any]) -> None:
    text, blocks = build("Acme <!channel>")  # a QuickBooks company name is anyone's to choose
    assert "<!channel>" not in text and "<!channel>" not in str(blocks)


def test_settings_state_round_trip() -> None:
    state = {
        "values": {
            "approvers_block": {"approvers_input": {"selected_users": ["U1", "U2"]}},
            "four_eyes_block": {"four_eyes_input": {"selected_options": [{"value": "on"}]}},
            "alert_channel_block": {"alert_channel_input": {"selected_conversation": "C9"}},
            "posting_mode_block": {"posting_mode_input": {"selected_option": {"value": "summary"}}},
            "cutover_block": {"cutover_input": {"selected_date": "2026-01-01"}},
            "time_zone_block": {"time_zone_input": {"value": " Europe/London "}},
        }
    }
    assert modals.parse_settings_state(state) == {
        "approvers": ["U1", "U2"],
        "four_eyes": True,
        "alert_channel": "C9",
        "posting_mode": "summary",
        "cutover_date": date(2026, 1, 1),
        "time_zone": "Europe/London",
    }
    empty = modals.parse_settings_state({"values": {}})
    assert empty["four_eyes"] is False and empty["cutover_date"] is None and empty["posting_mode"] == "per_contract"
    assert empty["time_zone"] is None  # left as it was
