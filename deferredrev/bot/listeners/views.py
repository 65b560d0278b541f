"""Modal submissions: validate, answer field errors in the modal, save (all within the ack), then confirm."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from deferredrev.bot import ids
from deferredrev.bot.authority import Requester
from deferredrev.bot.blocks import messages
from deferredrev.bot.blocks.common import field_error
from deferredrev.bot.blocks.modals import parse_settings_state, selected_account
from deferredrev.bot.deps import BotDeps
from deferredrev.bot.listeners.guard import GuardedApp, Later
from deferredrev.bot.listeners.replies import NOT_IN_CHANNEL, metadata_of
from deferredrev.qbo.errors import QboError, QboNotFoundError
from deferredrev.revrec.periods import describe_periods
from deferredrev.services.mappings import MappingError, Role
from deferredrev.services.qbo_access import NotConnectedError
from deferredrev.services.workspaces import SettingsValidationError

logger = logging.getLogger(__name__)

COMPANY_CHANGED = (
    "The QuickBooks company changed since this was opened, so these accounts may not be its accounts. Close this and "
    "run /deferredrev mappings again."
)
ROLE_BLOCKS = {Role.DEFERRED_REVENUE: ids.DEFERRED_BLOCK, Role.REVENUE: ids.REVENUE_BLOCK}


def register(app: GuardedApp) -> None:
    app.view(ids.MAPPINGS_VIEW)(mappings_submitted)
    app.view(ids.SETTINGS_VIEW)(settings_submitted)


def mappings_submitted(
    ack: Ack, view: dict[str, Any], client: WebClient, deps: BotDeps, later: Later, who: Requester
) -> None:
    team_id, user_id = who.team_id, who.user_id
    clearance = deps.authority.clearance(client, who)
    if not clearance.is_admin:
        refusal = clearance.refusal("change account mappings") or "Only DeferredRev admins can change account mappings."
        ack(response_action="errors", errors={ids.DEFERRED_BLOCK: refusal})
        return
    if metadata_of(view).get("realm_id") != deps.connections.status(team_id).realm_id:
        # The modal listed another company's accounts (reconnected to a different one since it was opened).
        ack(response_action="errors", errors={ids.DEFERRED_BLOCK: COMPANY_CHANGED})
        return
    state = view.get("state", {})
    deferred = selected_account(state, ids.DEFERRED_BLOCK, ids.DEFERRED_SELECT)
    revenue = selected_account(state, ids.REVENUE_BLOCK, ids.REVENUE_SELECT)
    if deferred is None or revenue is None:
        missing = ids.DEFERRED_BLOCK if deferred is None else ids.REVENUE_BLOCK
        ack(response_action="errors", errors={missing: "Choose an account."})
        return
    try:
        mapping = deps.mappings.save(team_id, deferred_revenue_id=deferred, revenue_id=revenue, user_id=user_id)
    except MappingError as error:
        ack(response_action="errors", errors={ROLE_BLOCKS[error.role]: field_error(str(error))})
        return
    except QboNotFoundError:
        ack(response_action="errors", errors={ids.DEFERRED_BLOCK: "That account no longer exists in QuickBooks."})
        return
    except NotConnectedError as error:
        ack(response_action="errors", errors={ids.DEFERRED_BLOCK: field_error(f"{error} — reconnect QuickBooks first.")})
        return
    except QboError as error:
        ack(response_action="errors", errors={ids.DEFERRED_BLOCK: field_error(error.user_message)})
        return
    ack()
    text = f"Account mappings saved: Deferred Revenue → {mapping.deferred_revenue_name}; Revenue → {mapping.revenue_name}."
    later(_dm, client, user_id, text)


def settings_submitted(
    ack: Ack, view: dict[str, Any], client: WebClient, deps: BotDeps, later: Later, who: Requester
) -> None:
    team_id, user_id = who.team_id, who.user_id
    clearance = deps.authority.clearance(client, who)
    if not clearance.is_admin:
        refusal = clearance.refusal("change settings") or "Only DeferredRev admins can change settings."
        ack(response_action="errors", errors={ids.APPROVERS_BLOCK: refusal})
        return
    values = parse_settings_state(view.get("state", {}))
    before = deps.workspaces.settings(team_id)
    try:
        deps.workspaces.update(team_id, user_id=user_id, **values)
    except SettingsValidationError as error:
        block = ids.TIME_ZONE_BLOCK if error.field == "time_zone" else ids.POSTING_MODE_BLOCK
        ack(response_action="errors", errors={block: str(error)})
        return
    ack()
    cutover: date | None = values.get("cutover_date")
    saved = SettingsSaved(
        team_id=team_id,
        user_id=user_id,
        channel=metadata_of(view).get("channel_id"),
        new_alert_channel=values.get("alert_channel") if values.get("alert_channel") != before.alert_channel else None,
        later_cutover=cutover if cutover and (before.cutover_date is None or cutover > before.cutover_date) else None,
    )
    later(_confirm_settings, deps, client, saved)


@dataclass(frozen=True)
class SettingsSaved:
    """What the confirmation of saved settings has to mention."""

    team_id: str
    user_id: str
    channel: str | None  # where the settings were opened from
    new_alert_channel: str | None
    later_cutover: date | None  # the cut-over date, when it moved later (or was set)


def _confirm_settings(deps: BotDeps, client: WebClient, saved: SettingsSaved) -> None:
    unreachable = saved.new_alert_channel
    if unreachable and _announce_alerts(client, unreachable, saved.user_id):
        unreachable = None
    notes: list[str] = []
    if saved.later_cutover and (posted := deps.preview_service.posted_months_before(saved.team_id, saved.later_cutover)):
        notes.append(
            f"Revenue before {saved.later_cutover:%Y-%m-%d} now counts as recognised elsewhere, but DeferredRev already "
            f"posted revenue for {describe_periods(posted)}: the next preview reverses it with catch-up lines. If that "
            "revenue was right, set the cut-over date back."
        )
    text, blocks = messages.settings_saved(unreachable_alert_channel=unreachable, notes=notes)
    try:
        if saved.channel:
            client.chat_postEphemeral(channel=saved.channel, user=saved.user_id, text=text, blocks=blocks)
        else:
            client.chat_postMessage(channel=saved.user_id, text=text, blocks=blocks)
    except SlackApiError as error:
        logger.info("could not confirm settings to %s: %s", saved.user_id, error.response.get("error"))


def _announce_alerts(client: WebClient, channel: str, user_id: str) -> bool:
    """Tell the new alert channel what it will get; False when the bot can't post there."""
    text, blocks = messages.alert_channel_chosen(user_id)
    try:
        client.chat_postMessage(channel=channel, text=text, blocks=blocks)
    except SlackApiError as error:
        if error.response.get("error") in NOT_IN_CHANNEL:
            return False
        # Anything else (rate limited, say) says nothing about membership; the settings are saved either way.
        logger.info("could not announce alerts in %s: %s", channel, error.response.get("error"))
    return True


def _dm(client: WebClient, user_id: str, text: str) -> None:
    fallback, blocks = messages.confirmation(text)
    try:
        client.chat_postMessage(channel=user_id, text=fallback, blocks=blocks)
    except SlackApiError as error:
        logger.info("could not DM %s: %s", user_id, error.response.get("error"))
