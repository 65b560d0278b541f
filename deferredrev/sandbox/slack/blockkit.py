"""Block Kit checks (through slack_sdk's own models) and lookups of interactive elements in what the app rendered."""

from __future__ import annotations

import copy
import secrets
import string
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import Block, Option
from slack_sdk.models.views import View

from deferredrev.sandbox.slack.model import JSON

MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100
MESSAGE_TEXT_LIMIT = 40_000
OPTIONS_LIMIT = 100

STATEFUL_TYPES = {
    "plain_text_input",
    "number_input",
    "email_text_input",
    "url_text_input",
    "rich_text_input",
    "static_select",
    "external_select",
    "users_select",
    "conversations_select",
    "channels_select",
    "multi_static_select",
    "multi_external_select",
    "multi_users_select",
    "multi_conversations_select",
    "multi_channels_select",
    "checkboxes",
    "radio_buttons",
    "datepicker",
    "timepicker",
    "datetimepicker",
    "file_input",
}


@dataclass(frozen=True)
class Located:
    """An interactive element, and the block that holds it."""

    block: JSON
    element: JSON

    @property
    def block_id(self) -> str:
        return str(self.block.get("block_id", ""))

    @property
    def action_id(self) -> str:
        return str(self.element.get("action_id", ""))

    @property
    def type(self) -> str:
        return str(self.element.get("type", ""))


def _lost_parts(original: Any, parsed: Any, path: str) -> list[str]:
    """slack_sdk skips unknown elements with only a log line; find where parsing dropped part of a list."""
    if isinstance(original, dict) and "type" in original and not isinstance(parsed, dict):
        return [f"unsupported type {original['type']!r} at {path}"]
    if isinstance(original, list) and isinstance(parsed, list):
        if len(original) != len(parsed):
            return [f"unknown or malformed item in {path or '/'}"]
        return [p for i, (o, q) in enumerate(zip(original, parsed, strict=True)) for p in _lost_parts(o, q, f"{path}/{i}")]
    if isinstance(original, dict) and isinstance(parsed, dict):
        lost = [f"unknown or malformed item in {path}/{k}" for k, v in original.items() if k not in parsed and _typed(v)]
        return lost + [p for k, v in original.items() if k in parsed for p in _lost_parts(v, parsed[k], f"{path}/{k}")]
    return []


def _typed(value: Any) -> bool:
    items = value if isinstance(value, list) else [value]
    return any(isinstance(item, dict) and "type" in item for item in items)


def _block_errors(block: Any, index: int) -> list[str]:
    pointer = f"/blocks/{index}"
    if not isinstance(block, dict):
        return [f"must be an object [json-pointer:{pointer}]"]
    try:
        parsed = Block.parse(block)
        if parsed is None:
            return [f"unsupported type: {block.get('type')!r} [json-pointer:{pointer}]"]
        parsed.validate_json()
        lost = _lost_parts(block, parsed.to_dict(), pointer)
    except Exception as exc:  # slack_sdk raises TypeError/KeyError/SlackObjectFormationError on malformed input
        return [f"{exc} [json-pointer:{pointer}]"]
    return [f"{item} [json-pointer:{pointer}]" for item in lost]


def _duplicate_ids(blocks: list[Any]) -> list[str]:
    errors: list[str] = []
    block_ids = [b.get("block_id") for b in blocks if isinstance(b, dict) and b.get("block_id")]
    for block_id in {b for b in block_ids if block_ids.count(b) > 1}:
        errors.append(f"duplicate block_id: {block_id!r}")
    for block in blocks:
        if not isinstance(block, dict):
            continue
        action_ids = [e.get("action_id") for e in _elements_of(block) if e.get("action_id")]
        for action_id in {a for a in action_ids if action_ids.count(a) > 1}:
            errors.append(f"duplicate action_id {action_id!r} in block {block.get('block_id')!r}")
    return errors


def block_errors(blocks: Any, *, limit: int) -> list[str]:
    """Why Slack would answer invalid_blocks for these blocks; empty when they are fine."""
    if not isinstance(blocks, list):
        return ["blocks must be an array [json-pointer:/blocks]"]
    if len(blocks) > limit:
        return [f"must provide an array of at most {limit} items [json-pointer:/blocks]"]
    errors = [e for i, b in enumerate(blocks) for e in _block_errors(b, i)]
    return errors + _duplicate_ids(blocks)


def view_errors(view: Any) -> list[str]:
    """Why Slack would refuse this view (modal or home); empty when it is fine."""
    if not isinstance(view, dict):
        return ["view must be an object"]
    if view.get("type") not in ("modal", "home"):
        return [f"unsupported view type: {view.get('type')!r} [json-pointer:/view/type]"]
    blocks = view.get("blocks", [])
    errors = block_errors(blocks, limit=VIEW_BLOCK_LIMIT)
    if errors:
        return errors
    if view["type"] == "modal" and not view.get("title"):
        errors.append("title is required for modals [json-pointer:/view/title]")
    if view["type"] == "modal" and any(b.get("type") == "input" for b in blocks) and not view.get("submit"):
        errors.append("submit is required when a modal has input blocks [json-pointer:/view/submit]")
    try:
        parsed = View(**{k: v for k, v in view.items() if k != "blocks"}, blocks=blocks or None)
        parsed.validate_json()
    except Exception as exc:  # slack_sdk raises TypeError/SlackObjectFormationError on malformed input
        errors.append(f"{exc} [json-pointer:/view]")
    return errors


def option_errors(options: Any) -> list[str]:
    """Why Slack would not show these options in a select menu."""
    if not isinstance(options, list):
        return ["options must be an array"]
    if len(options) > OPTIONS_LIMIT:
        return [f"no more than {OPTIONS_LIMIT} items allowed [json-pointer:/options]"]
    errors: list[str] = []
    for index, option in enumerate(options):
        try:
            parsed = Option(**option) if isinstance(option, dict) else None
            if parsed is None:
                raise ValueError("must be an object")
            parsed.validate_json()
            if "text" not in option or "value" not in option:
                raise ValueError("option needs text and value")
        except Exception as exc:  # slack_sdk raises TypeError/SlackObjectFormationError on malformed input
            errors.append(f"{exc} [json-pointer:/options/{index}]")
    return errors


def _elements_of(block: JSON) -> Iterator[JSON]:
    kind = block.get("type")
    if kind == "actions":
        yield from (e for e in block.get("elements", []) if isinstance(e, dict))
    elif kind == "section" and isinstance(block.get("accessory"), dict):
        yield block["accessory"]
    elif kind == "input" and isinstance(block.get("element"), dict):
        yield block["element"]
    elif kind == "context_actions":
        yield from (e for e in block.get("elements", []) if isinstance(e, dict))


def interactive_elements(blocks: list[JSON]) -> Iterator[Located]:
    for block in blocks:
        for element in _elements_of(block):
            if element.get("action_id"):
                yield Located(block=block, element=element)


def find_element(blocks: list[JSON], action_id: str) -> Located | None:
    return next((found for found in interactive_elements(blocks) if found.action_id == action_id), None)


def input_elements(blocks: list[JSON]) -> Iterator[Located]:
    for block in blocks:
        if block.get("type") == "input" and isinstance(block.get("element"), dict):
            yield Located(block=block, element=block["element"])


def all_options(element: JSON) -> list[JSON]:
    options = list(element.get("options", []))
    for group in element.get("option_groups", []):
        options.extend(group.get("options", []))
    return options


def initial_state(element: JSON) -> JSON | None:
    """The state Slack reports for an element nobody touched: its initial value, if it has one."""
    kind = element.get("type", "")
    keys = {
        "initial_value": "value",
        "initial_option": "selected_option",
        "initial_options": "selected_options",
        "initial_user": "selected_user",
        "initial_users": "selected_users",
        "initial_conversation": "selected_conversation",
        "initial_conversations": "selected_conversations",
        "initial_channel": "selected_channel",
        "initial_channels": "selected_channels",
        "initial_date": "selected_date",
        "initial_time": "selected_time",
        "initial_date_time": "selected_date_time",
    }
    for source, target in keys.items():
        if source in element:
            return {"type": kind, target: element[source]}
    return None


def empty_state(element: JSON) -> JSON:
    """The state Slack reports for an untouched element without an initial value."""
    kind = str(element.get("type", ""))
    empty: dict[str, JSON] = {
        "static_select": {"selected_option": None},
        "external_select": {"selected_option": None},
        "radio_buttons": {"selected_option": None},
        "users_select": {"selected_user": None},
        "conversations_select": {"selected_conversation": None},
        "channels_select": {"selected_channel": None},
        "checkboxes": {"selected_options": []},
        "multi_static_select": {"selected_options": []},
        "multi_external_select": {"selected_options": []},
        "multi_users_select": {"selected_users": []},
        "multi_conversations_select": {"selected_conversations": []},
        "multi_channels_select": {"selected_channels": []},
        "datepicker": {"selected_date": None},
        "timepicker": {"selected_time": None},
        "datetimepicker": {"selected_date_time": None},
        "file_input": {"files": []},
    }
    return {"type": kind} | empty.get(kind, {"value": None})


def is_empty_state(state: JSON) -> bool:
    return all(v in (None, [], "") for k, v in state.items() if k != "type")


def _option_for(element: JSON, value: Any) -> JSON:
    if isinstance(value, dict):
        return value
    for option in all_options(element):
        if option.get("value") == value:
            return dict(option)
    raise LookupError(f"{element.get('action_id')!r} has no option with value {value!r}")


def _free_option(value: Any) -> JSON:
    if isinstance(value, dict):
        return value
    return {"text": {"type": "plain_text", "text": str(value)}, "value": str(value)}


def state_for(element: JSON, value: Any) -> JSON:
    """The state entry Slack sends when a person sets `element` to `value` (types as Slack names them)."""
    kind = str(element.get("type", ""))
    as_list = value if isinstance(value, list | tuple) else [value]
    builders: dict[str, Any] = {
        "static_select": lambda: {"selected_option": _option_for(element, value)},
        "radio_buttons": lambda: {"selected_option": _option_for(element, value)},
        "overflow": lambda: {"selected_option": _option_for(element, value)},
        "external_select": lambda: {"selected_option": _free_option(value)},
        "multi_static_select": lambda: {"selected_options": [_option_for(element, v) for v in as_list]},
        "checkboxes": lambda: {"selected_options": [_option_for(element, v) for v in as_list]},
        "multi_external_select": lambda: {"selected_options": [_free_option(v) for v in as_list]},
        "users_select": lambda: {"selected_user": value},
        "multi_users_select": lambda: {"selected_users": list(as_list)},
        "conversations_select": lambda: {"selected_conversation": value},
        "multi_conversations_select": lambda: {"selected_conversations": list(as_list)},
        "channels_select": lambda: {"selected_channel": value},
        "multi_channels_select": lambda: {"selected_channels": list(as_list)},
        "datepicker": lambda: {"selected_date": str(value)},
        "timepicker": lambda: {"selected_time": str(value)},
        "datetimepicker": lambda: {"selected_date_time": int(value)},
        "file_input": lambda: {"files": [dict(f) for f in as_list]},
    }
    build = builders.get(kind)
    body: JSON = build() if build else {"value": None if value is None else str(value)}
    return {"type": kind} | body


def _random_id() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(5))


def with_ids(blocks: list[JSON]) -> list[JSON]:
    """Blocks as Slack stores them: a generated block_id (and action_id) wherever the app left them out."""
    stored = copy.deepcopy(blocks)
    for block in stored:
        block.setdefault("block_id", _random_id())
        for element in _elements_of(block):
            if element.get("type") != "image":
                element.setdefault("action_id", _random_id())
    return stored
