"""The whole service running on loopback against both sandboxes, driven as Slack and a browser would."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from deferredrev.clock import ManualClock
from deferredrev.demo.stack import free_port, intuit_env
from deferredrev.logs import SecretRegistry
from deferredrev.runtime import build_runtime
from deferredrev.sandbox.intuit import IntuitSandbox, SandboxConfig
from deferredrev.sandbox.intuit.config import AutoConsent
from deferredrev.sandbox.intuit.seed import US_REALM
from deferredrev.sandbox.slack import SlackDriver, SlackSandbox, Workspace
from deferredrev.server import RunningServer, start_in_background
from deferredrev.services.actors import Actor
from deferredrev.services.posting import BATCH_CALLS_PER_MINUTE, SINGLE_CALLS_PER_MINUTE, Pacer
from deferredrev.settings import Settings
from deferredrev.web.qbo_routes import BROWSER_COOKIE, CONFIRM_COOKIE, CONTINUE_BUTTON
from tests.conftest import key_env, make_key

SIGNING_SECRET = "e2e-signing-secret-canary-4f1d"
BOT_TOKEN = "xoxb-e2e-canary-bot-token-77"
TEAM = "T0E2E0001"
ADMIN = "U0ADMIN01"
APPROVER = "U0APPROVE"
MEMBER = "U0MEMBER1"
CHANNEL = "C0FINANCE"


@dataclass
class Stack:
    intuit: IntuitSandbox
    slack: SlackSandbox
    workspace: Workspace
    server: RunningServer
    driver: SlackDriver
    clock: ManualClock
    settings: Settings
    secrets: SecretRegistry
    browser: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10, follow_redirects=False))

    @property
    def url(self) -> str:
        return self.server.url

    def command(self, text: str, user: str = ADMIN, channel: str = CHANNEL) -> httpx.Response:
        response = self.driver.slash(user, channel, text)
        assert response.status_code == 200, response.text
        return response

    def ephemeral_text(self, user: str = ADMIN, contains: str | None = None, channel: str = CHANNEL) -> str:
        message = self.slack.wait_for_ephemeral(channel, user, contains=contains)
        return _text_of(message)

    def connect_link(self, user: str = ADMIN, *, reconnect: bool = False, channel: str = CHANNEL) -> str:
        seen = len(self.slack.ephemerals(channel, user))
        self.command("reconnect" if reconnect else "connect", user=user, channel=channel)
        message = self.slack.wait_for_ephemeral(channel, user, contains="QuickBooks", after=seen)
        for block in _blocks_of(message):
            for element in block.get("elements", []):
                if element.get("url"):
                    return str(element["url"])
        raise AssertionError(f"no connect link in {message}")

    def open_link(self, link: str, *, browser: httpx.Client | None = None) -> httpx.Response:
        """Open a connect link as a person would: our page (which uses nothing up), then its Continue button.

        Returns the button's answer (a 302 to Intuit, or to a result page), or the link's own answer when it showed no
        page (a used, expired or refused link goes to its result page at once)."""
        page = (browser or self.browser).get(link)
        return self.press_continue(page, browser=browser) if page.status_code == 200 else page

    def press_continue(self, page: httpx.Response, *, browser: httpx.Client | None = None) -> httpx.Response:
        """Submit the connect page's form, sending back the cookie the page set (it is Secure, so an httpx client
        keeps it to itself over plain HTTP; a browser on loopback sends it)."""
        assert page.status_code == 200 and CONTINUE_BUTTON in page.text, page.text
        cookie = _cookie_from(page, CONFIRM_COOKIE)
        return (browser or self.browser).post(
            self.url + "/qbo/connect", data={"t": ticket_on(page)}, headers={"cookie": f"{CONFIRM_COOKIE}={cookie}"}
        )

    def browser_connect(self, link: str, *, realm: str = US_REALM, decision: str = "allow") -> httpx.Response:
        """Follow the connect link as a browser with cookies: our page, its button, the sandbox consent, our
        callback."""
        self.intuit.auto_consent = AutoConsent(realm_id=realm, decision=decision)  # type: ignore[arg-type]
        start = self.open_link(link)
        assert start.status_code == 302 and start.headers["location"].startswith(self.intuit.authorize_url), start.text
        cookie = _cookie_from(start, BROWSER_COOKIE)
        consent = self.browser.get(start.headers["location"])
        assert consent.status_code == 302, consent.text
        callback = consent.headers["location"]
        return self.browser.get(callback, headers={"cookie": f"{BROWSER_COOKIE}={cookie}"})

    def connect(
        self, user: str = ADMIN, *, realm: str = US_REALM, reconnect: bool = False, channel: str = CHANNEL
    ) -> httpx.Response:
        result = self.browser_connect(self.connect_link(user, reconnect=reconnect, channel=channel), realm=realm)
        assert result.status_code == 302 and "outcome=" in result.headers["location"], result.headers
        return result

    def install(self, team: str = TEAM, user: str = ADMIN) -> None:
        """Install the app in ``team`` through /slack/install, as its admin would (multi-workspace mode)."""
        self.slack.set_browser_session(team, user)
        install = self.browser.get(self.url + "/slack/install")
        assert install.status_code == 200, install.text[:500]
        authorize = re.search(r'href="([^"]+oauth/v2/authorize[^"]+)"', install.text)
        assert authorize, install.text[:500]
        state_cookie = install.headers["set-cookie"].split(";", 1)[0]
        approved = self.browser.get(html.unescape(authorize.group(1)))
        assert approved.status_code == 302, approved.text[:500]
        finished = self.browser.get(approved.headers["location"], headers={"cookie": state_cookie})
        assert finished.status_code == 200, finished.text[:500]

    def service_env(self) -> dict[str, str]:
        """Environment for another service process sharing this one's database, keys and sandboxes."""
        return {
            "DATABASE_URL": self.settings.database_url,
            "DEFERREDREV_ENCRYPTION_KEYS": key_env(*self.settings.encryption_keys),
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_API_URL": self.slack.api_url,
            **intuit_env(self.intuit),
            "PUBLIC_URL": self.settings.public_url,
            "SANDBOX_URL": self.intuit.url,
        }

    def close(self) -> None:
        self.browser.close()
        self.driver.close()
        self.server.stop()
        self.slack.stop()
        self.intuit.stop()


def outcome_of(response: httpx.Response) -> str:
    return parse_qs(urlsplit(response.headers["location"]).query)["outcome"][0]


def ticket_on(page: httpx.Response) -> str:
    """The ticket in the connect page's hidden form field."""
    found = re.search(r'<input type="hidden" name="t" value="([^"]*)">', page.text)
    assert found, page.text
    return html.unescape(found.group(1))


def _cookie_from(response: httpx.Response, name: str) -> str:
    for header in response.headers.get_list("set-cookie"):
        key, _, value = header.split(";", 1)[0].partition("=")
        if key.strip() == name:
            return value.strip()
    raise AssertionError(f"no {name} cookie in {response.headers}")


def _blocks_of(message: Any) -> list[dict[str, Any]]:
    blocks = message.blocks if hasattr(message, "blocks") else message.get("blocks")
    return list(blocks or [])


def _text_of(message: Any) -> str:
    from deferredrev.sandbox.slack import render_blocks

    return render_blocks(_blocks_of(message), getattr(message, "text", None))


@contextmanager
def running_stack(
    database_url: str,
    *,
    now: datetime,
    intuit_config: SandboxConfig | None = None,
    multi_workspace: bool = False,
    slack_token_ttl: int | None = None,
    **env: str,
) -> Iterator[Stack]:
    clock = ManualClock(now)
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    config = intuit_config or SandboxConfig()
    intuit = IntuitSandbox(config=config, clock=clock).start()
    intuit.register_redirect_uri(f"{public_url}/qbo/callback")
    rotation = {"token_rotation": True, "token_ttl": slack_token_ttl} if slack_token_ttl else {}
    slack = SlackSandbox(signing_secret=SIGNING_SECRET, **rotation).start()  # type: ignore[arg-type]
    workspace = slack.add_workspace(TEAM, "Acme Finance", BOT_TOKEN)
    workspace.add_user(ADMIN, "ana", real_name="Ana Admin", is_admin=True)
    workspace.add_user(APPROVER, "bo", real_name="Bo Approver")
    workspace.add_user(MEMBER, "cy", real_name="Cy Member")
    workspace.add_channel(CHANNEL, "finance", members=[ADMIN, APPROVER, MEMBER])
    settings = Settings.from_env(
        {
            "DATABASE_URL": database_url,
            "DEFERREDREV_ENCRYPTION_KEYS": key_env(make_key("e2e")),
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            **(
                {"SLACK_CLIENT_ID": slack.client_id, "SLACK_CLIENT_SECRET": slack.client_secret}
                if multi_workspace
                else {"SLACK_BOT_TOKEN": BOT_TOKEN}
            ),
            "SLACK_API_URL": slack.api_url,
            **intuit_env(intuit),
            "PUBLIC_URL": public_url,
            **env,
        }
    )
    secrets = SecretRegistry()
    runtime = build_runtime(settings, secrets=secrets, clock=clock, migrate=True)
    server = start_in_background(runtime, port=port)
    driver = SlackDriver(server.url, SIGNING_SECRET, slack)
    stack = Stack(intuit, slack, workspace, server, driver, clock, settings, secrets)
    try:
        yield stack
    finally:
        stack.close()


CONTRACTS = """contract_id,customer,amount,currency,start_date,end_date,method,description
C-1001,Acme Corp,12000.00,USD,2026-01-16,2027-01-15,daily,Annual platform licence
C-1002,Beta LLC,1200.00,USD,2025-07-20,2026-07-19,daily,Ended before October
C-1003,Gamma GmbH,3650.00,USD,2026-10-01,2027-09-30,daily,
C-1004,Delta Inc,-300.00,USD,2026-09-01,2026-11-30,daily,Credit note
C-1005,Epsilon & Sons,999.99,USD,2026-10-15,2026-10-15,daily,One-day workshop
C-1006,Zeta Co,24000.00,USD,2025-11-01,2027-10-31,monthly_prorated,Two-year deal
"""


NAMES = {ADMIN: "Ana Admin", APPROVER: "Bo Approver", MEMBER: "Cy Member"}


def actor(user: str, *, admin: bool = False) -> Actor:
    """A full member of the workspace deciding, as the Slack surface would establish it (users.info's name too)."""
    return Actor(user, is_admin=admin, is_member=True, name=NAMES.get(user))


def scale_for_tests(stack: Stack) -> None:
    stack.server.app.posting.batch_pacer = Pacer(BATCH_CALLS_PER_MINUTE, time_scale=60)
    stack.server.app.posting.single_pacer = Pacer(SINGLE_CALLS_PER_MINUTE, time_scale=60)
    stack.server.app.evidence.pacer = Pacer(SINGLE_CALLS_PER_MINUTE, time_scale=60)


def map_accounts(stack: Stack, team: str = TEAM, user: str = ADMIN) -> None:
    chart = stack.server.app.mappings.chart(team)
    deferred = next(a for a in chart if a.name == "Deferred Revenue")
    revenue = next(a for a in chart if a.account_type == "Income" and a.active)
    stack.server.app.mappings.save(team, deferred_revenue_id=deferred.id, revenue_id=revenue.id, user_id=user)
