"""The demo's stack: sandbox Intuit and Slack plus the service, on loopback, driven as Slack and a browser would.

Everything lives in one temporary folder (SQLite) and is stopped by :meth:`DemoStack.close`, even after a failure.
"""

from __future__ import annotations

import html
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from deferredrev.clock import ManualClock
from deferredrev.runtime import build_runtime
from deferredrev.sandbox.intuit import IntuitSandbox, RateLimits, SandboxConfig
from deferredrev.sandbox.intuit.config import AutoConsent
from deferredrev.sandbox.intuit.seed import US_REALM
from deferredrev.sandbox.slack import SlackDriver, SlackSandbox, Workspace
from deferredrev.server import RunningServer, start_in_background
from deferredrev.services.posting import BATCH_CALLS_PER_MINUTE, SINGLE_CALLS_PER_MINUTE, Pacer
from deferredrev.settings import Settings
from deferredrev.storage.vault import generate_key

SIGNING_SECRET = "demo-signing-secret-not-for-production"
BOT_TOKEN = "xoxb-demo-bot-token-not-for-production"
TEAM = "T0ACME001"
TEAM_NAME = "Acme Finance"
ADMIN = "U0ANA0001"
APPROVER = "U0BO00001"
MEMBER = "U0CY00001"
CHANNEL = "C0FINANCE"
CHANNEL_NAME = "finance"
# The demo's story happens on one day, whatever day it is run: early November 2026, October's close. The sample
# contracts and the period it previews are fixed, so the transcript reads the same every time.
DEMO_NOW = datetime(2026, 11, 3, 15, 0, tzinfo=UTC)
TIME_SCALE = 60.0  # the sandbox's rate-limit "minute" lasts one real second; the posting pacers match it
LOCAL_PORT = 3000
LOCAL_REDIRECT_URI = f"http://localhost:{LOCAL_PORT}/qbo/callback"

MAX_REDIRECTS = 7
_TITLE = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)
_FORM = re.compile(r'<form method="post" action="([^"]*)">(.*?)</form>', re.S)
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]*)" value="([^"]*)">')
_BUTTON = re.compile(r"<button[^>]*>(.*?)</button>", re.S)


@dataclass(frozen=True)
class _ConnectPage:
    """Our connect page, as a browser sees it: its heading and the form its button submits."""

    title: str
    action: str
    fields: dict[str, str]
    button: str


def _connect_page(text: str) -> _ConnectPage | None:
    """Our connect page in ``text``, or None for any other page."""
    title, form = _TITLE.search(text), _FORM.search(text)
    button = _BUTTON.search(form.group(2)) if form else None
    if title is None or form is None or button is None:
        return None
    return _ConnectPage(
        title=html.unescape(title.group(1).strip()),
        action=html.unescape(form.group(1)),
        fields={html.unescape(k): html.unescape(v) for k, v in _HIDDEN.findall(form.group(2))},
        button=html.unescape(button.group(1).strip()),
    )


def _keep_cookies(jar: dict[str, str], response: httpx.Response) -> None:
    """Apply Set-Cookie headers to a name -> value jar; an emptied (deleted) cookie leaves it."""
    for header in response.headers.get_list("set-cookie"):
        name, _, value = header.split(";", 1)[0].partition("=")
        value = value.strip().strip('"')
        if value:
            jar[name.strip()] = value
        else:
            jar.pop(name.strip(), None)


def add_demo_workspace(slack: SlackSandbox, bot_token: str = BOT_TOKEN) -> Workspace:
    """Workspace "Acme Finance": ana (admin), bo (approver), cy (member), all in #finance with the bot."""
    workspace = slack.add_workspace(TEAM, TEAM_NAME, bot_token)
    workspace.add_user(ADMIN, "ana", real_name="Ana Admin", is_admin=True)
    workspace.add_user(APPROVER, "bo", real_name="Bo Approver")
    workspace.add_user(MEMBER, "cy", real_name="Cy Member")
    workspace.add_channel(CHANNEL, CHANNEL_NAME, members=[ADMIN, APPROVER, MEMBER])
    return workspace


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def demo_settings(
    workdir: Path,
    *,
    public_url: str | None = None,
    intuit: IntuitSandbox | None = None,
    slack: SlackSandbox | None = None,
) -> Settings:
    """Embedded defaults: SQLite in `workdir` and a throwaway encryption key generated now (demo only), pointed at the
    sandboxes when given."""
    env = {
        "DATABASE_URL": f"sqlite:///{workdir / 'demo.db'}",
        "DEFERREDREV_ENCRYPTION_KEYS": generate_key("demo"),
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    }
    if public_url:
        env["PUBLIC_URL"] = public_url
    if slack is not None:
        env |= {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": slack.api_url}
    if intuit is not None:
        env |= intuit_env(intuit)
    return Settings.from_env(env)


def intuit_env(intuit: IntuitSandbox) -> dict[str, str]:
    """What points the service at a sandbox Intuit."""
    return {
        "QBO_CLIENT_ID": intuit.client_id,
        "QBO_CLIENT_SECRET": intuit.client_secret,
        "QBO_AUTHORIZE_URL": intuit.authorize_url,
        "QBO_TOKEN_URL": intuit.token_url,
        "QBO_REVOKE_URL": intuit.revoke_url,
        "QBO_API_URL": intuit.api_url,
    }


@dataclass
class BrowserVisit:
    """Where a connect link led: each hop as a person would describe it, the outcome and the final page's heading."""

    hops: list[str]
    outcome: str
    title: str


@dataclass
class ConnectBrowser:
    """A browser following connect links to the service at ``service_url``, with the sandbox Intuit behind them."""

    client: httpx.Client
    service_url: str
    intuit: IntuitSandbox

    def browse(self, link: str, *, realm: str = US_REALM) -> BrowserVisit:
        """Follow a connect link as a browser would: our connect page (ana reads it and presses its button), the
        sandbox consent, our callback, the result.

        Like a browser on loopback it sends our cookies back over plain HTTP (they are marked Secure). The sandbox
        consent page is answered automatically: an admin of `realm` clicks Allow.
        """
        self.intuit.auto_consent = AutoConsent(realm_id=realm)
        cookies: dict[str, str] = {}
        hops: list[str] = []
        url, form = httpx.URL(link), None
        for _ in range(MAX_REDIRECTS):
            ours = (url.host, url.port) == (httpx.URL(self.service_url).host, httpx.URL(self.service_url).port)
            headers = {"cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if ours and cookies else {}
            if form is None:
                response = self.client.get(url, headers=headers)
            else:
                response = self.client.post(url, data=form, headers=headers)
            if ours:
                _keep_cookies(cookies, response)
            page = _connect_page(response.text) if ours and response.status_code == 200 else None
            if page is not None:  # ana reads our page and presses its button
                hops.append(f"DeferredRev {url.path} → our page “{page.title}” → {page.button}")
                url, form = url.join(page.action), page.fields
                continue
            hops.append(self._describe_hop(url, response, ours, realm, posted=form is not None))
            form = None
            if response.status_code != 302:
                break
            url = url.join(response.headers["location"])
        found = _TITLE.search(response.text)
        title = html.unescape(found.group(1).strip()) if found else f"HTTP {response.status_code}"
        return BrowserVisit(hops=hops, outcome=url.params.get("outcome", ""), title=title)

    def _describe_hop(self, url: httpx.URL, response: httpx.Response, ours: bool, realm: str, *, posted: bool) -> str:
        where = "DeferredRev" if ours else "Intuit sandbox"
        shown = ("POST " if posted else "") + url.path
        shown += f"?outcome={url.params['outcome']}" if "outcome" in url.params else ""
        extra = ""
        cookies = [h.split(";", 1)[0].partition("=")[2] for h in response.headers.get_list("set-cookie")]
        if ours and cookies:
            extra = " (sets a browser cookie)" if any(cookies) else " (clears the cookie)"
        if not ours and response.status_code == 302:
            extra = f" (an admin of {self.intuit.companies[realm].name} clicks Allow)"
        return f"{where} {shown} → {response.status_code}{extra}"


@dataclass
class DemoStack:
    intuit: IntuitSandbox
    slack: SlackSandbox
    workspace: Workspace
    server: RunningServer
    driver: SlackDriver
    clock: ManualClock
    settings: Settings
    browser: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10, follow_redirects=False))

    @property
    def url(self) -> str:
        return self.server.url

    def names(self) -> dict[str, str]:
        return self.slack.user_names()

    def browse(self, link: str, *, realm: str = US_REALM) -> BrowserVisit:
        """Follow a connect link as ana's browser would (see :class:`ConnectBrowser`)."""
        return ConnectBrowser(self.browser, self.url, self.intuit).browse(link, realm=realm)

    def close(self) -> None:
        """Stop everything, each piece even if an earlier one fails to stop."""
        steps = (
            self.browser.close,
            self.driver.close,
            self.server.stop,
            self.slack.stop,
            self.intuit.stop,
        )
        for stop in steps:
            try:
                stop()
            except Exception:  # noqa: BLE001 - keep stopping the rest
                pass


def start_stack(workdir: Path) -> DemoStack:
    """Start both sandboxes and the service; stop whatever started if a later piece fails."""
    stops: list[Callable[[], None]] = []
    try:
        return _start(workdir, stops)
    except BaseException:
        for stop in reversed(stops):
            stop()
        raise


def _start(workdir: Path, stops: list[Callable[[], None]]) -> DemoStack:
    clock = ManualClock(DEMO_NOW)
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    config = SandboxConfig(rate_limits=RateLimits(time_scale=TIME_SCALE))
    intuit = IntuitSandbox(config=config, clock=clock).start()
    stops.append(intuit.stop)
    intuit.register_redirect_uri(f"{public_url}/qbo/callback")
    slack = SlackSandbox(signing_secret=SIGNING_SECRET).start()
    stops.append(slack.stop)
    workspace = add_demo_workspace(slack)
    settings = demo_settings(workdir, public_url=public_url, intuit=intuit, slack=slack)
    runtime = build_runtime(settings, clock=clock, migrate=True)
    stops.append(runtime.close)
    server = start_in_background(runtime, port=port)
    stops[-1] = server.stop  # stopping the server closes the runtime too
    server.app.posting.batch_pacer = Pacer(BATCH_CALLS_PER_MINUTE, time_scale=TIME_SCALE)
    server.app.posting.single_pacer = Pacer(SINGLE_CALLS_PER_MINUTE, time_scale=TIME_SCALE)
    server.app.evidence.pacer = Pacer(SINGLE_CALLS_PER_MINUTE, time_scale=TIME_SCALE)
    driver = SlackDriver(server.url, SIGNING_SECRET, slack)
    return DemoStack(intuit, slack, workspace, server, driver, clock, settings)
