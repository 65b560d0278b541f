"""Object graph of the running service, built in one place from a :class:`Runtime` (see ``app.build_application``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from flask import Flask
from slack_bolt import App
from slack_sdk.oauth.installation_store import InstallationStore
from slack_sdk.proxy_env_variable_loader import load_http_proxy_from_env

from deferredrev.bot.ack_first import AckGate
from deferredrev.bot.app import build_bolt_app, client_for_team_factory, installation_store
from deferredrev.bot.authority import Authority
from deferredrev.bot.deps import BotDeps
from deferredrev.bot.notifier import SlackNotifier
from deferredrev.bot.preview_messages import PreviewMessages
from deferredrev.bot.response_url import ResponseUrlPoster
from deferredrev.qbo.oauth import IntuitEndpoints, IntuitOAuth
from deferredrev.runtime import Runtime
from deferredrev.services.connections import ConnectionService
from deferredrev.services.evidence import EvidenceWorker
from deferredrev.services.lifecycle import ConnectionLifecycle
from deferredrev.services.mappings import ChartCache, MappingService
from deferredrev.services.posting import PostingWorker
from deferredrev.services.previews import PreviewService
from deferredrev.services.qbo_access import QboGateway, TokenRefresher
from deferredrev.services.reports import ReportService
from deferredrev.services.status import StatusReader
from deferredrev.services.tickets import TicketSigner
from deferredrev.services.workspaces import WorkspaceService
from deferredrev.settings import Settings
from deferredrev.web.app import create_web_app

QBO_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
logger = logging.getLogger(__name__)


@dataclass
class Application:
    runtime: Runtime
    http: httpx.Client
    oauth: IntuitOAuth
    refresher: TokenRefresher
    gateway: QboGateway
    workspaces: WorkspaceService
    connections: ConnectionService
    mappings: MappingService
    notifier: SlackNotifier
    lifecycle: ConnectionLifecycle
    previews: PreviewService
    reports: ReportService
    posting: PostingWorker
    evidence: EvidenceWorker
    kicker: BackgroundKicker
    bolt: App | None
    web: Flask | None
    answers: ResponseUrlPoster | None

    def close(self) -> None:
        self.kicker.wait()
        self.http.close()
        if self.answers is not None:
            self.answers.close()


def intuit_endpoints(settings: Settings) -> IntuitEndpoints:
    return IntuitEndpoints.for_environment(
        settings.qbo_environment.value,
        authorize_url=settings.qbo_authorize_url,
        token_url=settings.qbo_token_url,
        revoke_url=settings.qbo_revoke_url,
        api_base=settings.qbo_api_url,
    )


def warn_if_intuit_keys_missing(settings: Settings) -> None:
    """Serving without Intuit app keys works, but every connect link ends on a setup page: say so at startup (which
    variables are missing, never their values)."""
    missing = [
        name
        for name, value in (("QBO_CLIENT_ID", settings.qbo_client_id), ("QBO_CLIENT_SECRET", settings.qbo_client_secret))
        if not value
    ]
    if missing:
        logger.warning(
            "%s not set: DeferredRev can't connect QuickBooks companies; /deferredrev connect links will show a setup page",
            " and ".join(missing) + (" is" if len(missing) == 1 else " are"),
        )


def response_url_poster() -> ResponseUrlPoster | None:
    """Kept-alive connections for answers through response_url; none behind an egress proxy (HTTPS_PROXY and the
    like), where Bolt's own ``respond`` goes through the proxy as slack_sdk's Web API client does."""
    return None if load_http_proxy_from_env() else ResponseUrlPoster()


def wire(runtime: Runtime, *, slack: bool = True) -> Application:
    """Everything; ``slack=False`` leaves out the Bolt and web apps (background workers need no Slack endpoint)."""
    settings, clock = runtime.settings, runtime.clock
    if slack:
        warn_if_intuit_keys_missing(settings)
    http = httpx.Client(timeout=QBO_TIMEOUT, follow_redirects=False)
    endpoints = intuit_endpoints(settings)
    oauth = IntuitOAuth(
        http=http,
        endpoints=endpoints,
        client_id=settings.qbo_client_id or "",
        client_secret=settings.qbo_client_secret or "",
        redirect_uri=settings.qbo_redirect_uri,
        clock=clock,
    )
    installations = installation_store(settings, runtime.engine, runtime.vault) if settings.multi_workspace else None
    workspaces = WorkspaceService(sessions=runtime.sessions, clock=clock, default_plan=settings.default_plan)
    client_for_team = client_for_team_factory(settings, installations, workspaces.enterprise_of)
    notifier = SlackNotifier(client_for_team)
    refresher = TokenRefresher(
        sessions=runtime.sessions,
        tokens=runtime.tokens,
        oauth=oauth,
        clock=clock,
        on_expired=lambda t, r: lifecycle.on_expired(t, r),
    )
    lifecycle = ConnectionLifecycle(
        sessions=runtime.sessions, refresher=refresher, notifier=notifier, clock=clock, configured_admins=settings.admins
    )
    gateway = QboGateway(http=http, api_base=endpoints.api_base, refresher=refresher, clock=clock)
    connections = ConnectionService(
        sessions=runtime.sessions,
        tokens=runtime.tokens,
        oauth=oauth,
        gateway=gateway,
        tickets=TicketSigner(settings.encryption_keys[0].key),
        notifier=notifier,
        clock=clock,
        default_plan=settings.default_plan,
    )
    mappings = MappingService(sessions=runtime.sessions, gateway=gateway, clock=clock, cache=ChartCache(clock))
    reports = ReportService(
        sessions=runtime.sessions, gateway=gateway, connections=connections, mappings=mappings, clock=clock
    )
    previews = PreviewService(
        sessions=runtime.sessions,
        gateway=gateway,
        workspaces=workspaces,
        connections=connections,
        mappings=mappings,
        clock=clock,
        tie_outs=reports.preview_tie_out,
    )
    preview_messages = PreviewMessages(previews, client_for_team, settings.qbo_environment.value)
    posting = PostingWorker(
        sessions=runtime.sessions,
        gateway=gateway,
        clock=clock,
        on_progress=preview_messages.refresh,
        on_settled=preview_messages.settled,
    )
    evidence = EvidenceWorker(
        sessions=runtime.sessions,
        gateway=gateway,
        clock=clock,
        links=preview_messages,
        on_progress=preview_messages.refresh,
    )
    kicker = BackgroundKicker(lambda: drain_outbox(posting, evidence))
    deps = BotDeps(
        workspaces=workspaces,
        connections=connections,
        mappings=mappings,
        status=StatusReader(engine=runtime.engine, workspaces=workspaces),
        authority=Authority(settings.admins),
        sessions=runtime.sessions,
        public_url=settings.public_url,
        forget_installation=_installation_forgetter(installations, workspaces),
        clock=clock,
        previews=previews,
        kick_posting=kicker.kick,
        environment=settings.qbo_environment.value,
        reports=reports,
    )
    ack_gate = AckGate()
    answers = response_url_poster() if slack else None
    bolt = build_bolt_app(settings, deps, runtime.engine, installations, ack_gate, answers) if slack else None
    web = create_web_app(runtime, bolt=bolt, ack_gate=ack_gate, connections=connections) if bolt is not None else None
    return Application(
        runtime=runtime,
        http=http,
        oauth=oauth,
        refresher=refresher,
        gateway=gateway,
        workspaces=workspaces,
        connections=connections,
        mappings=mappings,
        notifier=notifier,
        lifecycle=lifecycle,
        previews=previews,
        reports=reports,
        posting=posting,
        evidence=evidence,
        kicker=kicker,
        answers=answers,
        bolt=bolt,
        web=web,
    )


def drain_outbox(posting: PostingWorker, evidence: EvidenceWorker) -> None:
    """Post what is queued, then attach the evidence of what got posted (an entry never waits for its evidence)."""
    posting.run()
    evidence.run()


class BackgroundKicker:
    """Runs a job now on a background thread (coalescing: one run at a time, one more queued at most)."""

    def __init__(self, job: Callable[[], object]) -> None:
        self._job = job
        self._pending = threading.Semaphore(2)
        self._threads: list[threading.Thread] = []

    def kick(self) -> None:
        if self._pending.acquire(blocking=False):
            thread = threading.Thread(target=self._run, name="posting-kick", daemon=True)
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()

    def wait(self, timeout: float = 10.0) -> None:
        """Let runs in progress finish (before shutting down)."""
        for thread in list(self._threads):
            thread.join(timeout)

    def _run(self) -> None:
        try:
            self._job()
        except Exception:  # noqa: BLE001 - logged; the scheduler's next run picks the work up again
            logger.exception("background posting run failed")
        finally:
            self._pending.release()


def _installation_forgetter(installations: InstallationStore | None, workspaces: WorkspaceService) -> Callable[[str], None]:
    """An uninstalled workspace's own installation rows go (an org-wide installation stays: it serves the others)."""
    if installations is None:
        return lambda team_id: None
    return lambda team_id: installations.delete_all(enterprise_id=workspaces.enterprise_of(team_id), team_id=team_id)
