"""The demo transcript: step headings, a chat log of who said what, wrapped and indented for a terminal.

Slack messages are rendered by the sandbox's own renderer (what a person reads); this module only lays them out.
With ``quiet=True`` nothing but :meth:`Transcript.summary` prints.
"""

from __future__ import annotations

import re
import shutil
import sys
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

from deferredrev.sandbox.slack import render_blocks, render_view

JSON = dict[str, Any]

ARROW = "›"
BODY_INDENT = "    "
MIN_WIDTH, MAX_WIDTH = 80, 120
URL_PART_LIMIT = 24  # query values longer than this (signed tickets, codes) are shortened for reading

# Emoji the sandbox renderer leaves as :codes: but the app uses.
EXTRA_EMOJI = {
    "heavy_minus_sign": "➖",
    "arrows_counterclockwise": "🔄",
    "electric_plug": "🔌",
    "leftwards_arrow_with_hook": "↩️",
    "inbox_tray": "📥",
    "outbox_tray": "📤",
    "mag": "🔍",
    "bell": "🔔",
    "no_bell": "🔕",
    "clipboard": "📋",
    "scales": "⚖️",
    "paperclip": "📎",
    "grey_question": "❔",
}
_EMOJI_CODE = re.compile(r":([a-z0-9_+\-]+):")
_LONG_QUERY_VALUE = re.compile(rf"([?&][A-Za-z_]+=)([^\s&()]{{{URL_PART_LIMIT + 1},}})")
_FENCE = re.compile(r"^(\s*)```|```\s*$")


def terminal_width() -> int:
    return max(MIN_WIDTH, min(MAX_WIDTH, shutil.get_terminal_size((100, 24)).columns))


def tidy(text: str) -> str:
    """Reading text: leftover :emoji: codes spelled out, code fences dropped, long URL tokens shortened."""
    text = _EMOJI_CODE.sub(lambda m: EXTRA_EMOJI.get(m.group(1), m.group(0)), text)
    text = _LONG_QUERY_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)[:12]}…", text)
    return "\n".join(_FENCE.sub(r"\1", line) for line in text.splitlines())


def wrap(line: str, width: int, indent: str = "", hang: str = "  ") -> list[str]:
    """One line wrapped to `width`, keeping its own leading spaces; continuation lines hang by `hang` under it."""
    body = line.rstrip()
    if not body:
        return [""]
    lead = indent + body[: len(body) - len(body.lstrip())]
    if len(indent) + len(body) <= width or _looks_tabular(body):
        return [indent + body]
    return textwrap.wrap(
        body.lstrip(),
        width=width,
        initial_indent=lead,
        subsequent_indent=lead + hang,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _looks_tabular(line: str) -> bool:
    """Columns aligned with runs of spaces read worse wrapped than long."""
    return len(re.findall(r"\S {3,}\S", line)) >= 2


class Transcript:
    """Writes the story. Every method but :meth:`summary` and :meth:`failure` is silent when quiet."""

    def __init__(
        self, *, quiet: bool, users: Mapping[str, str] | None = None, out: TextIO | None = None, width: int | None = None
    ) -> None:
        self.quiet = quiet
        self.users: Mapping[str, str] = users or {}
        self.out = out or sys.stdout
        self.width = width or terminal_width()
        self._step = 0
        self.current = "start"
        self._last = "heading"

    # ---- primitives ----------------------------------------------------------------------------------------------------

    def _write(self, lines: Iterable[str], *, always: bool = False) -> None:
        if self.quiet and not always:
            return
        for line in lines:
            self.out.write(line + "\n")
        self.out.flush()

    def blank(self) -> None:
        self._write([""])

    def text(self, text: str, indent: str = "", *, always: bool = False) -> None:
        """Prose: wrapped paragraphs, continuation lines flush with the first."""
        lines = (out for line in tidy(text).splitlines() for out in wrap(line, self.width, indent, hang=""))
        self._write(lines, always=always)

    # ---- the story -----------------------------------------------------------------------------------------------------

    def banner(self, title: str, lines: Sequence[str]) -> None:
        rule = "═" * min(self.width, 100)
        self._write([rule, title, rule])
        for line in lines:
            self.text(line)

    def step(self, title: str) -> None:
        self._step += 1
        self._last = "heading"
        self.current = f"step {self._step} ({title})"
        heading = f"── {self._step}. {title} "
        self._write(["", heading + "─" * max(3, min(self.width, 100) - len(heading)), ""])

    def _switch(self, kind: str) -> None:
        """A blank line where narration and chat meet."""
        if self._last != kind and self._last != "heading":
            self.blank()
        self._last = kind

    def note(self, text: str) -> None:
        """The narrator: what happens off-screen."""
        self._switch("note")
        self.text(text, indent="  ")

    def says(self, who: str, body: str) -> None:
        """A chat-log entry: `who › body`, the body under it when it is long or has several lines."""
        self._switch("chat")
        body = tidy(body).rstrip()
        lines = body.splitlines() or [""]
        head = f"{who} {ARROW} "
        if len(lines) == 1 and len(head) + len(lines[0]) <= self.width:
            self._write([head + lines[0]])
            return
        self._write([f"{who} {ARROW}"])
        self._write(out for line in lines for out in wrap(line, self.width, BODY_INDENT))

    def message(self, who: str, blocks: list[JSON] | None, text: str | None = None) -> None:
        """A Slack message (blocks or text) as a person reads it."""
        self.says(who, render_blocks(blocks, text, users=self.users))

    def modal(self, who: str, view: JSON) -> None:
        self.says(f"{who} sees a modal", render_view(view, users=self.users))

    def table(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[str]],
        *,
        right: Sequence[int] = (),
        total: Sequence[str] | None = None,
    ) -> None:
        everything = [headers, *rows, *([total] if total else [])]
        widths = [max(len(str(cell)) for cell in column) for column in zip(*everything, strict=True)]

        def line(cells: Sequence[str]) -> str:
            pairs = enumerate(zip(cells, widths, strict=True))
            parts = [str(c).rjust(w) if i in right else str(c).ljust(w) for i, (c, w) in pairs]
            return (BODY_INDENT + "  ".join(parts)).rstrip()

        rule = BODY_INDENT + "  ".join("-" * w for w in widths)
        self._switch("table")
        self._write([line(headers), rule, *(line(r) for r in rows), *([rule, line(total)] if total else [])])

    # ---- always printed ------------------------------------------------------------------------------------------------

    def summary(self, lines: Sequence[str]) -> None:
        rule = "═" * min(self.width, 100)
        self._write([rule], always=True)
        for line in lines:
            self.text(line, always=True)
        self._write([rule], always=True)

    def failure(self, text: str) -> None:
        sys.stderr.write(text.rstrip() + "\n")
        sys.stderr.flush()
