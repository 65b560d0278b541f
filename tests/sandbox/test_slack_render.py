"""Block Kit rendered as a person would read it in the demo transcript."""

from __future__ import annotations

from typing import Any

from deferredrev.sandbox.slack import mrkdwn_to_text, render_blocks, render_message, render_view


def _plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


PREVIEW: list[dict[str, Any]] = [
    {"type": "header", "text": _plain("Journal entry preview · 2026-10")},
    {"type": "section", "text": _mrkdwn("Requested by <@U_ANA> in <#C_FIN|finance> · <https://qbo.example/je/9|JE-9>")},
    {
        "type": "section",
        "fields": [
            _mrkdwn("*Debit*\nDeferred Revenue"),
            _mrkdwn("*Credit*\nRevenue"),
            _plain("$1,000.00"),
            _plain("$1,000.00"),
        ],
    },
    {"type": "divider"},
    {"type": "context", "elements": [_mrkdwn(":warning: _Books close on 2026-09-30_ &amp; 2 contracts")]},
    {
        "type": "actions",
        "elements": [
            {"type": "button", "action_id": "post", "style": "primary", "text": _plain("Post to QuickBooks")},
            {"type": "button", "action_id": "reject", "text": _plain("Reject")},
            {
                "type": "static_select",
                "action_id": "period",
                "placeholder": _plain("Choose a period"),
                "options": [{"text": _plain("2026-10"), "value": "2026-10"}],
            },
        ],
    },
    {"type": "image", "image_url": "https://example.com/chart.png", "alt_text": "Revenue chart"},
]


def test_message_reads_like_a_chat_log() -> None:
    assert render_blocks(PREVIEW, "fallback", users={"U_ANA": "ana"}).splitlines() == [
        "== Journal entry preview · 2026-10 ==",
        "Requested by @ana in #finance · JE-9 (https://qbo.example/je/9)",
        "  Debit                              Credit",
        "  Deferred Revenue                   Revenue",
        "  $1,000.00                          $1,000.00",
        "-" * 48,
        "  · ⚠️ Books close on 2026-09-30 & 2 contracts",
        "[ Post to QuickBooks ]  [ Reject ]  [ Choose a period ▾ ]",
        "[image: Revenue chart]",
    ]


def test_text_is_used_only_without_blocks() -> None:
    assert render_blocks([], "*Posted* by <@U1>", users={"U1": "bob"}) == "Posted by @bob"
    assert mrkdwn_to_text("<https://a.example>, <!here> and <@U9>") == "https://a.example, @here and @U9"
    assert mrkdwn_to_text("snake_case_name stays, 2*3*4 too") == "snake_case_name stays, 2*3*4 too"


def test_modal_shows_inputs_and_buttons() -> None:
    view = {
        "type": "modal",
        "title": _plain("Account mappings"),
        "submit": _plain("Save"),
        "blocks": [
            {
                "type": "input",
                "label": _plain("Revenue account"),
                "element": {"type": "external_select", "action_id": "rev", "placeholder": _plain("Search accounts")},
            },
            {
                "type": "input",
                "label": _plain("Deferred Revenue account"),
                "element": {
                    "type": "external_select",
                    "action_id": "def",
                    "initial_option": {"text": _plain("2400 Deferred Revenue"), "value": "2400"},
                },
                "hint": _plain("A liability account"),
            },
            {
                "type": "input",
                "optional": True,
                "label": _plain("Memo"),
                "element": {"type": "plain_text_input", "action_id": "m"},
            },
        ],
    }
    assert render_view(view).splitlines() == [
        "┌ Account mappings (modal)",
        "Revenue account: [ Search accounts ▾ ]",
        "Deferred Revenue account: [ 2400 Deferred Revenue ▾ ]",
        "  · A liability account",
        "Memo (optional): ____",
        "[ Cancel ]  [ Save ]",
    ]


def test_message_entry_names_the_author_and_files() -> None:
    message = {"user": "U0BOT", "text": "Full detail attached", "ts": "1.0", "files": [{"name": "detail.csv", "size": 120}]}
    assert render_message(message, users={"U0BOT": "DeferredRev"}).splitlines() == [
        "DeferredRev:",
        "  Full detail attached",
        "  📎 detail.csv (120 bytes)",
    ]
