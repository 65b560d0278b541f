"""Modal views: account mappings, workspace settings, contract import. Pure functions returning view dicts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from deferredrev.bot import ids
from deferredrev.bot.blocks.common import Block, clip, context, escape, plain, section
from deferredrev.services.mappings import Mapping, Role
from deferredrev.services.workspaces import WorkspaceSettings

View = dict[str, Any]
OPTION_TEXT_LIMIT = 75


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text, OPTION_TEXT_LIMIT), "value": value[:150]}


def _modal(
    callback_id: str,
    title: str,
    blocks: list[Block],
    *,
    submit: str | None,
    metadata: dict[str, Any],
    close: str = "Cancel",
) -> View:
    view: View = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, 24),
        "close": plain(close, 24),
        "blocks": blocks,
        "private_metadata": json.dumps(metadata)[:3000],
    }
    if submit is not None:
        view["submit"] = plain(submit, 24)
    return view


def _account_select(role: Role, current: tuple[str, str] | None) -> Block:
    block_id, action_id = (
        (ids.DEFERRED_BLOCK, ids.DEFERRED_SELECT)
        if role is Role.DEFERRED_REVENUE
        else (
            ids.REVENUE_BLOCK,
            ids.REVENUE_SELECT,
        )
    )
    element: Block = {
        "type": "external_select",
        "action_id": action_id,
        "min_query_length": 0,
        "placeholder": plain("Type to search accounts", 150),
    }
    if current is not None:
        element["initial_option"] = _option(current[1], current[0])
    hint = (
        "Liability accounts only (Other Current Liability, Long Term Liability)."
        if role is Role.DEFERRED_REVENUE
        else ("Income accounts only (Income, Other Income).")
    )
    return {"type": "input", "block_id": block_id, "label": plain(role.label, 2000), "element": element, "hint": plain(hint)}


def mappings_modal(company: str, mapping: Mapping | None, *, realm_id: str) -> View:
    same_company = mapping is not None and mapping.realm_id == realm_id
    deferred = (mapping.deferred_revenue_id, mapping.deferred_revenue_name) if mapping and same_company else None
    revenue = (mapping.revenue_id, mapping.revenue_name) if mapping and same_company else None
    blocks = [
        section(
            f"Choose the accounts in *{escape(company)}* that DeferredRev posts to. Each period's entry debits Deferred "
            "Revenue and credits Revenue."
        ),
        _account_select(Role.DEFERRED_REVENUE, deferred),
        _account_select(Role.REVENUE, revenue),
        context("The list comes live from your QuickBooks chart of accounts; start typing to narrow it."),
    ]
    return _modal(ids.MAPPINGS_VIEW, "Account mappings", blocks, submit="Save", metadata={"realm_id": realm_id})


def settings_modal(settings: WorkspaceSettings) -> View:
    approvers: Block = {
        "type": "multi_users_select",
        "action_id": ids.APPROVERS_INPUT,
        "placeholder": plain("Workspace admins"),
    }
    if settings.approvers:
        approvers["initial_users"] = list(settings.approvers)
    four_eyes_option = _option("Requester can't approve their own preview", "on")
    four_eyes: Block = {"type": "checkboxes", "action_id": ids.FOUR_EYES_INPUT, "options": [four_eyes_option]}
    if settings.four_eyes:
        four_eyes["initial_options"] = [four_eyes_option]
    channel: Block = {
        "type": "conversations_select",
        "action_id": ids.ALERT_CHANNEL_INPUT,
        "placeholder": plain("Admins get DMs either way"),
        "filter": {"include": ["public", "private"], "exclude_bot_users": True},
    }
    if settings.alert_channel:
        channel["initial_conversation"] = settings.alert_channel
    modes = [
        _option("One entry per contract (recommended)", "per_contract"),
        _option("One summary entry per period", "summary"),
    ]
    mode: Block = {
        "type": "radio_buttons",
        "action_id": ids.POSTING_MODE_INPUT,
        "options": modes,
        "initial_option": modes[0] if settings.posting_mode == "per_contract" else modes[1],
    }
    zone: Block = {
        "type": "plain_text_input",
        "action_id": ids.TIME_ZONE_INPUT,
        "initial_value": settings.time_zone,
        "max_length": 64,
    }
    cutover: Block = {"type": "datepicker", "action_id": ids.CUTOVER_INPUT, "placeholder": plain("No cut-over")}
    if settings.cutover_date:
        cutover["initial_date"] = settings.cutover_date.isoformat()
    blocks = [
        _input(ids.APPROVERS_BLOCK, "Approvers", approvers, hint="Who may post previews. Empty: workspace admins."),
        _input(ids.FOUR_EYES_BLOCK, "Four-eyes", four_eyes),
        _input(ids.ALERT_CHANNEL_BLOCK, "Alert channel", channel, hint="Connection alerts are also posted here."),
        _input(ids.POSTING_MODE_BLOCK, "Posting mode", mode, optional=False),
        _input(ids.CUTOVER_BLOCK, "Cut-over date", cutover, hint="Revenue before this date counts as recognised elsewhere."),
        _input(
            ids.TIME_ZONE_BLOCK,
            "Time zone",
            zone,
            optional=False,
            hint="How times read in DeferredRev's messages and QuickBooks notes, e.g. America/New_York or Europe/London.",
        ),
    ]
    return _modal(ids.SETTINGS_VIEW, "DeferredRev settings", blocks, submit="Save", metadata={})


def _input(block_id: str, label: str, element: Block, *, hint: str | None = None, optional: bool = True) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def import_modal(problem: Sequence[str] = (), *, metadata: dict[str, Any] | None = None) -> View:
    """The import form; with ``problem`` (plain-text lines), shown again after a file could not be imported, saying
    why."""
    file_input: Block = {
        "type": "file_input",
        "action_id": ids.IMPORT_FILE_INPUT,
        "filetypes": ["csv", "txt"],
        "max_files": 1,
    }
    blocks = [
        section(
            "Upload a CSV with the columns `contract_id,customer,amount,currency,start_date,end_date` and optionally "
            "`method,description,cancel_date`. Dates are `YYYY-MM-DD`. The import is all or nothing; importing an "
            "existing `contract_id` again updates it."
        ),
        *([section(_problem_text(problem), block_id=ids.IMPORT_PROBLEM_BLOCK)] if problem else []),
        _input(ids.IMPORT_FILE_BLOCK, "Contracts CSV", file_input, optional=False),
    ]
    return _modal(ids.IMPORT_VIEW, "Import contracts", blocks, submit="Import", metadata=metadata or {})


def _problem_text(lines: Sequence[str]) -> str:
    """One mrkdwn line per plain-text line (escaping makes each stay one line), within a section's 3,000 characters."""
    return clip(":warning: " + "\n".join(escape(line) for line in lines), 2900)


def importing_modal(file_name: str, *, metadata: dict[str, Any]) -> View:
    """While the file is read and imported, after Slack has its ack (a big file can take longer than 3 seconds)."""
    blocks = [
        section(f":hourglass_flowing_sand: Importing *{escape(file_name, 200)}*…"),
        context("A large file takes a few seconds. You can close this; I'll also send you the result in Slack."),
    ]
    return _modal(ids.IMPORT_VIEW, "Import contracts", blocks, submit=None, metadata=metadata, close="Close")


def import_done_modal(message: tuple[str, list[Block]]) -> View:
    return _modal(ids.IMPORT_VIEW, "Import contracts", message[1], submit=None, metadata={}, close="Done")


def parse_settings_state(state: dict[str, Any]) -> dict[str, Any]:
    """Read the settings modal's submitted values into plain Python values."""
    values = state.get("values", {})

    def element(block_id: str, action_id: str) -> dict[str, Any]:
        found: dict[str, Any] = values.get(block_id, {}).get(action_id, {})
        return found

    cutover = element(ids.CUTOVER_BLOCK, ids.CUTOVER_INPUT).get("selected_date")
    mode = element(ids.POSTING_MODE_BLOCK, ids.POSTING_MODE_INPUT).get("selected_option") or {}
    return {
        "approvers": list(element(ids.APPROVERS_BLOCK, ids.APPROVERS_INPUT).get("selected_users") or []),
        "four_eyes": bool(element(ids.FOUR_EYES_BLOCK, ids.FOUR_EYES_INPUT).get("selected_options")),
        "alert_channel": element(ids.ALERT_CHANNEL_BLOCK, ids.ALERT_CHANNEL_INPUT).get("selected_conversation"),
        "posting_mode": mode.get("value", "per_contract"),
        "cutover_date": date.fromisoformat(cutover) if cutover else None,
        "time_zone": (element(ids.TIME_ZONE_BLOCK, ids.TIME_ZONE_INPUT).get("value") or "").strip() or None,
    }


def selected_account(state: dict[str, Any], block_id: str, action_id: str) -> str | None:
    option = state.get("values", {}).get(block_id, {}).get(action_id, {}).get("selected_option")
    return str(option["value"]) if option else None


def options_payload(options: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [_option(text, value) for value, text in options]
