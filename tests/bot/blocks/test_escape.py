"""``escape``: any text comes out inert in mrkdwn and still reads as itself; the helpers built on it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deferredrev.bot.blocks.common import channel_mention, escape, link, plain_to_mrkdwn, user_mention
from tests.hostile import HOSTILE, live_constructs, markup_of, normalised, readable

# Slack's special characters and their full-width forms, line breaks, and any other character but ':' (an emoji
# code stays an emoji by design) and surrogates.
SPECIAL = list("<>&*_~`|!@#^> \t\n\r\u2028\u0085＊＿｀＞") + ["&lt;", "&amp;", "<!channel>", "<@U1>", "```"]
TEXT = st.lists(
    st.one_of(st.sampled_from(SPECIAL), st.characters(blacklist_characters=":", blacklist_categories=("Cs",))),
    max_size=60,
).map("".join)


@given(TEXT)
def test_any_text_escaped_carries_no_markup_and_reads_as_itself(text: str) -> None:
    escaped = escape(text)
    assert markup_of(escaped) == []
    assert readable(escaped) == normalised(text)


@given(TEXT, TEXT)
def test_escaped_text_cannot_break_out_of_bold_or_code(before: str, text: str) -> None:
    def bold(name: str) -> str:
        return f"{escape(before)} *{name}*."

    def code(name: str) -> str:
        return f"```{name}```"

    for wrap in (bold, code):
        assert markup_of(wrap(escape(text))) == markup_of(wrap("Acme"))


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_inert(text: str) -> None:
    assert markup_of(escape(text)) == [] and live_constructs(escape(text)) == []


def test_ids_and_underscores_between_letters_stay_as_they_are() -> None:
    assert escape("ACME_2026_01 a*b snake_case.csv") == "ACME_2026_01 a*b snake_case.csv"
    assert escape("*bold* _it_ ~s~ `c`") == "∗bold∗ ˍitˍ ∼s∼ ˋcˋ"
    assert escape("<!channel> & co") == "&lt;!channel&gt; &amp; co"
    assert escape("a\r\n\nb") == "a b"
    assert escape("> quote").startswith("\u00ad&gt;")


def test_limit_clips_before_escaping_so_no_entity_is_cut() -> None:
    assert escape("<" * 10, 4) == "&lt;&lt;&lt;…"


def test_only_our_commands_become_code() -> None:
    said = plain_to_mrkdwn("Run /deferredrev preview 2026-10, then /deferredrev mappings. `/deferredrev <!here>`")
    assert said == ("Run `/deferredrev preview 2026-10`, then `/deferredrev mappings`. ˋ`/deferredrev` &lt;!here&gt;ˋ")
    assert plain_to_mrkdwn("Invite me with /invite @DeferredRev.") == "Invite me with `/invite @DeferredRev`."
    assert plain_to_mrkdwn("/deferredrevx and a/deferredrev-thing") == "/deferredrevx and a/deferredrev-thing"


def test_mentions_only_for_slack_ids() -> None:
    assert user_mention("U0ADMIN01") == "<@U0ADMIN01>" and channel_mention("C0FINANCE") == "<#C0FINANCE>"
    for forged in ("U1> <!channel", "<!here>", "U1|x", "u0admin"):
        assert live_constructs(user_mention(forged)) == [] and live_constructs(channel_mention(forged)) == []


def test_a_link_label_and_url_cannot_open_another_construct() -> None:
    built = link("https://qbo.example/app?txnId=1|<!channel>&x=>", "DR <!here>")
    assert live_constructs(built) == [built]
    assert built == "<https://qbo.example/app?txnId=1%7C%3C!channel%3E&amp;x=%3E|DR &lt;!here&gt;>"
