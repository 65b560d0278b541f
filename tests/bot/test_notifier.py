"""What services say through the notifier reaches Slack (the sandbox) inert: company names and reasons come from
QuickBooks and Intuit, so none of them can mention anyone, link anywhere or format itself."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from slack_sdk import WebClient

from deferredrev.bot.notifier import SlackNotifier
from deferredrev.clock import ManualClock
from deferredrev.sandbox.slack import SlackSandbox
from deferredrev.sandbox.slack.model import Message
from deferredrev.services.ports import ConnectedNotice, ExpiryNotice
from tests.hostile import HOSTILE, PLAIN, assert_inert, mrkdwn_texts

TOKEN = "xoxb-acme-notifier"
TEAM = "T0NOTIFY1"
ADMIN = "U0ADMIN01"
ALERTS = "C0ALERTS1"


@pytest.fixture
def slack(clock: ManualClock) -> Iterator[SlackSandbox]:
    with SlackSandbox(signing_secret="secret", clock=clock) as sandbox:
        workspace = sandbox.add_workspace(team_id=TEAM, name="Acme", bot_token=TOKEN)
        workspace.add_user(ADMIN, "ana", is_admin=True)
        workspace.add_channel(ALERTS, "alerts", members=[ADMIN])
        yield sandbox


def said(slack: SlackSandbox, channel: str, notify: Callable[[str], None], value: str) -> list[str]:
    """The mrkdwn Slack got (fallback text and blocks) for what ``notify`` said with ``value``."""
    before = len(slack.messages(channel))
    notify(value)
    posted: list[Message] = slack.messages(channel)[before:]
    assert len(posted) == 1
    return [posted[0].text or "", *mrkdwn_texts(posted[0].blocks or [])]


def expiry(company: str = "Acme", reason: str = "QuickBooks refused our refresh token") -> ExpiryNotice:
    return ExpiryNotice(TEAM, [ADMIN], ALERTS, company, reason, days_left=7)


NOTICES: dict[str, Callable[[SlackNotifier, str], None]] = {
    "connected (company, previous company)": lambda n, v: n.connected(ConnectedNotice(TEAM, ADMIN, v, "9341", True, v)),
    "connect failed (message)": lambda n, v: n.connect_failed(TEAM, ADMIN, v),
    "disconnected (company)": lambda n, v: n.disconnected(TEAM, [ALERTS], ADMIN, v),
    "expired (company)": lambda n, v: n.connection_expired(expiry(company=v)),
    "expired (reason)": lambda n, v: n.connection_expired(expiry(reason=v)),
    "hard expiry (company)": lambda n, v: n.hard_expiry_warning(expiry(company=v)),
}


@pytest.mark.parametrize("notice", sorted(NOTICES))
def test_notices_arrive_inert_and_readable(slack: SlackSandbox, notice: str) -> None:
    client = WebClient(base_url=slack.api_url, token=TOKEN)
    notifier = SlackNotifier(lambda team_id: client)
    channel = ADMIN if notice.startswith("connect") else ALERTS  # the person connecting; else the alert channel too

    def notify(value: str) -> None:
        NOTICES[notice](notifier, value)

    for value in HOSTILE:
        assert_inert(said(slack, channel, notify, value), said(slack, channel, notify, PLAIN), value)
