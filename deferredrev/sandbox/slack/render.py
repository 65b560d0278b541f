"""Block Kit as a person would read it in a chat log (the `make demo` transcript)."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

JSON = dict[str, Any]

RULE = "-" * 48
CONTEXT_PREFIX = "  · "
FIELD_COLUMN = 34

EMOJI = {
    "white_check_mark": "✅",
    "heavy_check_mark": "✔",
    "x": "❌",
    "warning": "⚠️",
    "no_entry": "⛔",
    "hourglass_flowing_sand": "⏳",
    "hourglass": "⌛",
    "lock": "🔒",
    "unlock": "🔓",
    "link": "🔗",
    "page_facing_up": "📄",
    "bar_chart": "📊",
    "chart_with_upwards_trend": "📈",
    "moneybag": "💰",
    "information_source": "ℹ️",
    "calendar": "📅",
    "rotating_light": "🚨",
    "tada": "🎉",
    "wave": "👋",
    "gear": "⚙️",
    "books": "📚",
    "red_circle": "🔴",
    "large_green_circle": "🟢",
    "large_yellow_circle": "🟡",
    "paperclip": "📎",
}

_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")
_BOLD = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?!\s)([^_\n]+?)(?<!\s)_(?![\w_])")
_EMOJI = re.compile(r":([a-z0-9_+\-]+):")


def mrkdwn_to_text(text: str, users: Mapping[str, str] | None = None, channels: Mapping[str, str] | None = None) -> str:
    """Slack mrkdwn to plain reading text: *bold* and _italic_ markers dropped, links and mentions spelled out."""
    users = users or {}
    channels = channels or {}

    def link(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith("@"):
            return "@" + (label or users.get(target[1:], target[1:]))
        if target.startswith("#"):
            return "#" + (label or channels.get(target[1:], target[1:]))
        if target.startswith("!subteam^"):
            return label or "@group"
        if target.startswith("!date^"):
            return label or target
        if target.startswith("!"):
            return "@" + (label or target[1:])
        if label and label != target:
            return f"{label} ({target})"
        return target

    out = _LINK.sub(link, text)
    out = _BOLD.sub(r"\1", out)
    out = _ITALIC.sub(r"\1", out)
    out = _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), out)
    return html.unescape(out)


def _text(obj: Any, users: Mapping[str, str] | None) -> str:
    if isinstance(obj, str):
        return obj
    if not isinstance(obj, dict):
        return ""
    raw = str(obj.get("text", ""))
    return mrkdwn_to_text(raw, users) if obj.get("type") == "mrkdwn" else html.unescape(raw)


def _option_label(option: Any, users: Mapping[str, str] | None) -> str:
    return _text(option.get("text"), users) if isinstance(option, dict) else ""


def _element(element: JSON, users: Mapping[str, str] | None) -> str:
    kind = element.get("type", "")
    if kind == "button":
        label = f"[ {_text(element.get('text'), users)} ]"
        return f"{label} ({element['url']})" if element.get("url") else label
    if kind == "overflow":
        return "[ ⋯ ]"
    if kind == "image":
        return f"[image: {element.get('alt_text', '')}]"
    if kind in ("datepicker", "timepicker", "datetimepicker"):
        shown = element.get("initial_date") or element.get("initial_time") or element.get("initial_date_time")
        return f"[ {shown or _text(element.get('placeholder'), users) or kind} ]"
    if kind in ("checkboxes", "radio_buttons"):
        chosen = {o.get("value") for o in element.get("initial_options", [])}
        if isinstance(element.get("initial_option"), dict):
            chosen.add(element["initial_option"].get("value"))
        mark = ("[x]", "[ ]") if kind == "checkboxes" else ("(•)", "( )")
        return "  ".join(
            f"{mark[0] if o.get('value') in chosen else mark[1]} {_option_label(o, users)}"
            for o in element.get("options", [])
        )
    if "select" in kind:
        return f"[ {_select_shown(element, users)} ▾ ]"
    if kind == "file_input":
        return "[ Upload file ]"
    if kind.endswith("input"):
        initial = element.get("initial_value")
        return str(initial) if initial not in (None, "") else _text(element.get("placeholder"), users) or "____"
    return f"[{kind}]"


def _select_shown(element: JSON, users: Mapping[str, str] | None) -> str:
    if isinstance(element.get("initial_option"), dict):
        return _option_label(element["initial_option"], users)
    if element.get("initial_options"):
        return ", ".join(_option_label(o, users) for o in element["initial_options"])
    for key in ("initial_user", "initial_conversation", "initial_channel"):
        if element.get(key):
            prefix = "@" if key == "initial_user" else "#"
            return prefix + (users or {}).get(element[key], element[key])
    return _text(element.get("placeholder"), users) or "Select"


def _indent(text: str, prefix: str) -> list[str]:
    return [prefix + line if line else line for line in text.splitlines()] or [prefix]


def _fields(fields: list[Any], users: Mapping[str, str] | None) -> list[str]:
    lines: list[str] = []
    for left, right in zip(fields[::2], [*fields[1::2], None], strict=False):
        left_lines = _text(left, users).splitlines() or [""]
        right_lines = _text(right, users).splitlines() if right is not None else []
        for i in range(max(len(left_lines), len(right_lines))):
            a = left_lines[i] if i < len(left_lines) else ""
            b = right_lines[i] if i < len(right_lines) else ""
            lines.append(f"  {a:<{FIELD_COLUMN}} {b}".rstrip())
    return lines


def _rich_text(block: JSON, users: Mapping[str, str] | None) -> str:
    def inline(items: list[Any]) -> str:
        parts: list[str] = []
        for item in items:
            kind = item.get("type")
            if kind == "text":
                parts.append(str(item.get("text", "")))
            elif kind == "link":
                url = str(item.get("url", ""))
                parts.append(f"{item['text']} ({url})" if item.get("text") else url)
            elif kind == "user":
                parts.append("@" + (users or {}).get(item.get("user_id", ""), item.get("user_id", "")))
            elif kind == "emoji":
                parts.append(EMOJI.get(str(item.get("name")), f":{item.get('name')}:"))
            elif kind == "channel":
                parts.append("#" + str(item.get("channel_id", "")))
        return "".join(parts)

    lines: list[str] = []
    for section in block.get("elements", []):
        kind = section.get("type")
        if kind == "rich_text_list":
            lines.extend(f"  • {inline(item.get('elements', []))}" for item in section.get("elements", []))
        elif kind == "rich_text_preformatted":
            lines.append(f"```{inline(section.get('elements', []))}```")
        elif kind == "rich_text_quote":
            lines.extend(_indent(inline(section.get("elements", [])), "> "))
        else:
            lines.append(inline(section.get("elements", [])))
    return "\n".join(lines)


def _block(block: JSON, users: Mapping[str, str] | None) -> list[str]:
    kind = block.get("type")
    if kind == "header":
        return [f"== {_text(block.get('text'), users)} =="]
    if kind == "divider":
        return [RULE]
    if kind == "section":
        lines = _text(block.get("text"), users).splitlines() if block.get("text") else []
        lines += _fields(block.get("fields", []), users)
        if isinstance(block.get("accessory"), dict):
            lines.append("  " + _element(block["accessory"], users))
        return lines
    if kind == "context":
        parts = [_element(e, users) if e.get("type") == "image" else _text(e, users) for e in block.get("elements", [])]
        return _indent("  ".join(p for p in parts if p), CONTEXT_PREFIX)
    if kind in ("actions", "context_actions"):
        return ["  ".join(_element(e, users) for e in block.get("elements", []))]
    if kind == "input":
        return _input(block, users)
    if kind == "image":
        title = _text(block.get("title"), users)
        return [f"[image: {title or block.get('alt_text', '')}]"]
    if kind == "file":
        return [f"[file: {block.get('external_id', '')}]"]
    if kind == "rich_text":
        return _rich_text(block, users).splitlines()
    if kind == "markdown":
        return str(block.get("text", "")).splitlines()
    return [f"[{kind} block]"]


def _input(block: JSON, users: Mapping[str, str] | None) -> list[str]:
    label = _text(block.get("label"), users)
    optional = " (optional)" if block.get("optional") else ""
    element = block.get("element", {})
    lines = [f"{label}{optional}: {_element(element, users)}"]
    if block.get("hint"):
        lines.append(CONTEXT_PREFIX + _text(block["hint"], users))
    return lines


def render_blocks(blocks: list[JSON] | None, text: str | None = None, *, users: Mapping[str, str] | None = None) -> str:
    """A message as a person reads it: its blocks when it has them, else its text."""
    if not blocks:
        return mrkdwn_to_text(text or "", users)
    return "\n".join(line for block in blocks for line in _block(block, users)).rstrip()


def render_view(view: JSON, *, users: Mapping[str, str] | None = None) -> str:
    """A modal or Home tab: title line, its blocks, then the modal's buttons."""
    kind = view.get("type", "modal")
    title = _text(view.get("title"), users) if view.get("title") else "Home"
    lines = [f"┌ {title} ({kind})", render_blocks(view.get("blocks", []), users=users)]
    if kind == "modal":
        close = _text(view.get("close"), users) or "Cancel"
        footer = f"[ {close} ]" + (f"  [ {_text(view['submit'], users)} ]" if view.get("submit") else "")
        lines.append(footer)
    return "\n".join(line for line in lines if line)


def render_message(message: Mapping[str, Any], *, users: Mapping[str, str] | None = None, author: str | None = None) -> str:
    """One chat-log entry: author line, then the message body, then its files, indented when in a thread."""
    blocks = message.get("blocks") or []
    body = render_blocks(list(blocks), message.get("text"), users=users)
    files = [f"📎 {f.get('name')} ({f.get('size', '?')} bytes)" for f in message.get("files") or []]
    who = author or (users or {}).get(str(message.get("user", "")), str(message.get("user", "")))
    threaded = message.get("thread_ts") and message.get("thread_ts") != message.get("ts")
    lines = [f"{who}:", *_indent(body, "  "), *("  " + f for f in files)]
    return "\n".join(
        ("    ↳ " if threaded and i == 0 else "    " if threaded else "") + line for i, line in enumerate(lines)
    )


def _walk_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() if k not in ("type", "action_id", "block_id") for s in _walk_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _walk_strings(v)]
    return []


def message_text_for_search(text: str | None, blocks: list[JSON] | None) -> str:
    """Everything a person could read in a message (raw and rendered), for `contains=` matching."""
    return "\n".join([text or "", *_walk_strings(blocks or []), render_blocks(blocks or [], text)])


def view_text_for_search(view: JSON) -> str:
    return "\n".join([*_walk_strings(view.get("title")), *_walk_strings(view.get("blocks", [])), render_view(view)])
