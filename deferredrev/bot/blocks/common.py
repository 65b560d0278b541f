"""Small pure helpers that build Block Kit dicts within Slack's limits."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

Block = dict[str, Any]

SECTION_TEXT_LIMIT = 3000
HEADER_LIMIT = 150
BUTTON_TEXT_LIMIT = 75
CONTEXT_TEXT_LIMIT = 3000
FIELD_ERROR_LIMIT = 2000  # what we allow ourselves in a modal's error under an input


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape(text: str, limit: int | None = None) -> str:
    """Any text we did not write ourselves (names, ids, file names, CSV cells, reasons, QuickBooks' and services'
    messages), made inert for mrkdwn, wherever it goes: a section, a bold or code span, a fallback ``text``.

    * ``&``, ``<`` and ``>`` become ``&amp;``, ``&lt;``, ``&gt;`` (Slack's rule): no ``<!channel>``, ``<@U…>``,
      ``<#C…>``, ``<!subteam^…>``, ``<!date^…>`` or ``<url|label>`` can come alive.
    * Line breaks become a space, so the text stays on the line the builder put it on (it can't start a fake line
      of its own), and a leading ``>`` gets an invisible soft hyphen so it can't open a quote either.
    * Slack has no escape for its formatting characters, so where one could open or close a span it is swapped for
      a look-alike Slack leaves alone (``∗ ˍ ∼ ˋ``): ``*``, ``_`` and ``~`` (and full-width ``＊ ＿``) at the edge
      of a word, and every backtick. Between two letters or digits Slack never reads them as formatting, so ids
      like ``ACME_2026_01`` stay as they are. A name can then neither format itself nor break out of the bold or
      code span a builder wraps it in.
    * ``limit`` clips the text first, so a cut never splits an entity nor drops the markup around the text.

    Emoji codes (``:tada:``) stay: they only show a picture. Bare URLs and names stay text because our mrkdwn objects
    are ``verbatim`` (see :func:`mrkdwn`).
    """
    if limit is not None:
        text = clip(text, limit)
    text = _LINE_BREAKS.sub(" ", text)
    text = _FORMATTING_AT_WORD_EDGE.sub(lambda found: found.group(0).translate(_LOOK_ALIKES), text)
    text = text.translate(_BACKTICK_LOOK_ALIKES)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return SOFT_HYPHEN + text if text.lstrip().startswith(("&gt;", "＞")) else text


SOFT_HYPHEN = "\u00ad"
_LINE_BREAKS = re.compile(r"[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]+")
_FORMATTING_AT_WORD_EDGE = re.compile(r"(?<![^\W_])[*_~＊＿]|[*_~＊＿](?![^\W_])")
_LOOK_ALIKES = str.maketrans({"*": "∗", "_": "ˍ", "~": "∼", "＊": "﹡", "＿": "⸏"})
_BACKTICK_LOOK_ALIKES = str.maketrans({"`": "ˋ", "｀": "ˋ"})
# DeferredRev's own slash commands, as services write them in plain text.
_OUR_COMMAND = re.compile(
    r"/deferredrev(?: (?:help|status|connect|reconnect|mappings|contracts|preview|history|report|settings|disconnect)"
    r"(?: (?:\d{4}-\d{2}(?:\.\.\d{4}-\d{2})?|\[YYYY-MM\]|import))?)?(?![\w-])|/invite @DeferredRev\b"
)
_SLACK_ID = re.compile(r"[A-Z0-9]{2,40}")


def plain_to_mrkdwn(text: str, limit: int | None = None) -> str:
    """A plain-text sentence (a service's message, or one of ours with names in it) as mrkdwn: escaped like any
    outside text, then DeferredRev's own slash commands shown as code. Services speak plain text only (no mrkdwn),
    so their messages read well in plain-text places too (modal errors, the CLI); the code spans are added here,
    after escaping, when no backtick of the text is left to interfere with them."""
    return _OUR_COMMAND.sub(lambda found: f"`{found.group(0)}`", escape(text, limit))


def user_mention(user_id: str) -> str:
    """``<@U…>`` for a Slack user id; anything that isn't one (a forged submission) is shown as text."""
    return f"<@{user_id}>" if _SLACK_ID.fullmatch(user_id) else escape(user_id, 40)


def channel_mention(channel_id: str) -> str:
    return f"<#{channel_id}>" if _SLACK_ID.fullmatch(channel_id) else escape(channel_id, 40)


def link(url: str, label: str) -> str:
    """``<url|label>``: the label escaped like any text; the URL may hold none of ``< > |`` (percent-encoded)."""
    safe_url = url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
    return f"<{safe_url}|{escape(label)}>"


def field_error(text: str) -> str:
    """A modal's error under an input (``response_action: errors``): Slack shows it as plain text, so it needs no
    escaping, only to stay short."""
    return clip(text, FIELD_ERROR_LIMIT)


def plain(text: str, limit: int = SECTION_TEXT_LIMIT) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


def mrkdwn(text: str, limit: int = SECTION_TEXT_LIMIT) -> dict[str, Any]:
    """Verbatim: Slack doesn't turn bare URLs, channel names or mentions in the text into links of its own accord;
    only the ``<…>`` we write ourselves are live."""
    return {"type": "mrkdwn", "text": clip(text, limit), "verbatim": True}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, HEADER_LIMIT)}


def section(text: str, *, block_id: str | None = None, accessory: Block | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if block_id:
        block["block_id"] = block_id
    if accessory:
        block["accessory"] = accessory
    return block


def fields(*pairs: tuple[str, str]) -> Block:
    return {"type": "section", "fields": [mrkdwn(f"*{label}*\n{value}", 2000) for label, value in pairs[:10]]}


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(t, CONTEXT_TEXT_LIMIT) for t in texts[:10]]}


def divider() -> Block:
    return {"type": "divider"}


def button(
    text: str,
    action_id: str,
    *,
    value: str | None = None,
    url: str | None = None,
    style: str | None = None,
    confirm: Block | None = None,
) -> Block:
    element: Block = {"type": "button", "text": plain(text, BUTTON_TEXT_LIMIT), "action_id": action_id}
    if value is not None:
        element["value"] = value[:2000]
    if url is not None:
        element["url"] = url
    if style is not None:
        element["style"] = style
    if confirm is not None:
        element["confirm"] = confirm
    return element


def actions(*elements: Block, block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": list(elements[:25])}
    if block_id:
        block["block_id"] = block_id
    return block


def confirm_dialog(title: str, text: str, confirm: str, deny: str = "Cancel", *, danger: bool = False) -> Block:
    dialog: Block = {
        "title": plain(title, 100),
        "text": mrkdwn(text, 300),
        "confirm": plain(confirm, 30),
        "deny": plain(deny, 30),
    }
    if danger:
        dialog["style"] = "danger"
    return dialog


def slack_date(when: datetime, fallback_format: str = "%Y-%m-%d %H:%M UTC") -> str:
    """A date Slack shows in each reader's own time zone, with a UTC fallback."""
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|{when:{fallback_format}}>"


def slack_day(when: datetime) -> str:
    return f"<!date^{int(when.timestamp())}^{{date_long}}|{when:%Y-%m-%d}>"
