"""Hostile text, and a checker for what Slack would make of a mrkdwn text: the markup it acts on, and what it reads.

A builder that escapes outside text properly renders the same markup whatever the text: :func:`markup_of` a text
built around a hostile name equals that of the same text built around a plain one. :func:`readable` is what a
person reads, through the sandbox's renderer (``deferredrev/sandbox/slack/render.py``), so the tests can check that
the name is still there to read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from deferredrev.sandbox.slack.render import mrkdwn_to_text

HOSTILE: tuple[str, ...] = (
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<https://evil.example|click>",
    "<https://evil.example>",
    "<@U0ADMIN01>",
    "<#C0FINANCE>",
    "<!subteam^S1|@x>",
    "<!date^1700000000^{date}|Nov 14>",
    "&lt;!channel&gt;",
    "&lt;",
    "Smith & Sons <b>",
    "*bold*",
    "_italic_",
    "~struck~",
    "`code`",
    "```block```",
    "*",
    "Acme* _Ltd",
    "＊full-width＊ ＿x＿ ｀y｀",
    "name`` ` ``",
    "Acme\n*Approved by the CFO*\n> <!channel> all good",
    "> quoted",
    "＞ quoted",
    "line\r\nbreak\u2028separator\x85next",
    "evil\n✅ *Imported* 40 contracts",
    "x" * 5000 + "<!channel>",
    "<!channel> " * 600,
)
PLAIN = "Acme Ltd"

# the full-width backtick reads as a backtick too: both become ˋ
LOOK_ALIKES_BACK = str.maketrans({"∗": "*", "ˍ": "_", "∼": "~", "ˋ": "`", "｀": "`", "﹡": "＊", "⸏": "＿"})
LINE_BREAKS = re.compile(r"[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]+")
CONSTRUCT = re.compile(r"<[^<>]*>")
FORMATTING_AT_WORD_EDGE = re.compile(r"(?<![^\W_])[*_~＊＿]|[*_~＊＿](?![^\W_])")
BACKTICK = re.compile(r"[`｀]")
QUOTE = re.compile(r"^[ \t]*(?:&gt;|>|＞)", re.MULTILINE)
TOKEN = re.compile(f"{CONSTRUCT.pattern}|{FORMATTING_AT_WORD_EDGE.pattern}|{BACKTICK.pattern}|\n|{QUOTE.pattern}", re.M)


def markup_of(mrkdwn: str) -> list[str]:
    """What Slack acts on in a mrkdwn text, in order: each ``<…>`` (mention, link, date), each formatting character
    that could open or close a span (``* _ ~`` not between two letters or digits), each backtick, each line break,
    and each quote at the start of a line. Everything else is text."""
    return [found.group(0).strip() or found.group(0) for found in TOKEN.finditer(mrkdwn)]


def live_constructs(mrkdwn: str) -> list[str]:
    return CONSTRUCT.findall(mrkdwn)


def normalised(text: str) -> str:
    """Text as a person would compare it: look-alikes read as what they stand for, no soft hyphens, one line."""
    return LINE_BREAKS.sub(" ", text.translate(LOOK_ALIKES_BACK).replace("\u00ad", ""))


def readable(mrkdwn: str) -> str:
    """What a person reads, through the sandbox renderer (which turns entities back into characters)."""
    return normalised(mrkdwn_to_text(mrkdwn))


def mrkdwn_texts(payload: Any) -> Iterator[str]:
    """Every mrkdwn text in blocks, a view or a message's blocks, depth first."""
    if isinstance(payload, dict):
        if payload.get("type") == "mrkdwn" and isinstance(payload.get("text"), str):
            yield payload["text"]
        for value in payload.values():
            yield from mrkdwn_texts(value)
    elif isinstance(payload, list):
        for item in payload:
            yield from mrkdwn_texts(item)


def assert_inert(hostile: list[str], plain: list[str], value: str, *, reads_as: str | None = None) -> None:
    """The texts built around ``value`` carry the same markup as those built around :data:`PLAIN`, and ``value``
    (as ``reads_as``, when a sentence quotes it) can still be read in one of them, at least its start (a preview
    line shows only the first characters of a name). A very long value is cut short by Slack's limits and can fill
    more sections, so there the check is that it brings no markup of a kind the plain build doesn't have."""
    if len(value) >= LONG:
        found = {token for built in hostile for token in markup_of(built)}
        assert found <= {token for built in plain for token in markup_of(built)}, f"{value[-40:]!r} added markup"
    else:
        assert len(hostile) == len(plain), (hostile, plain)
        for built, reference in zip(hostile, plain, strict=True):
            assert markup_of(built) == markup_of(reference), f"{value!r} changed the markup of {built!r}"
    start = normalised(value if reads_as is None else reads_as).lstrip()[:12]
    assert any(start in readable(built) for built in hostile), f"{start!r} not readable in {hostile!r}"


LONG = 1000
