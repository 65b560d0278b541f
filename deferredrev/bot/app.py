"""Builds the Bolt app: one workspace (bot token), many (OAuth install with slack_sdk's SQLAlchemy stores), or
Socket Mode. Listeners get their dependencies injected by name (``deps``); one error handler answers every failure."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin

from slack_bolt import App, BoltContext
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import Bot, InstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from slack_sdk.oauth.token_rotation import TokenRotator
from sqlalchemy import Engine

from deferredrev.bot.ack_first import AckFirstExecutor, AckGate
from deferredrev.bot.blocks import messages
from deferredrev.bot.deps import BotDeps
from deferredrev.bot.listeners import register_listeners
from deferredrev.bot.listeners.guard import ErrorHandler
from deferredrev.bot.listeners.replies import user_id_of
from deferredrev.bot.notifier import ClientForTeam
from deferredrev.bot.response_url import Responder, ResponseUrlHosts, ResponseUrlPoster
from deferredrev.qbo.errors import QboError
from deferredrev.services.qbo_access import ConnectionExpiredError, NotConnectedError
from deferredrev.settings import Settings
from deferredrev.storage.slack_store import SealedInstallationStore
from deferredrev.storage.vault import TokenVault

logger = logging.getLogger(__name__)

BOT_SCOPES = ["commands", "chat:write", "im:write", "users:read", "files:read", "files:write"]
TOKEN_ROTATION_MINUTES = 120  # Bolt's default: refresh a rotating bot token when it has less than 2 hours left
LISTENER_THREADS = 32  # work after the ack waits on Slack, QBO and the database, and for acks in progress


def build_bolt_app(
    settings: Settings,
    deps: BotDeps,
    engine: Engine,
    installations: InstallationStore | None,
    ack_gate: AckGate,
    answers: ResponseUrlPoster | None,
) -> App:
    executor = AckFirstExecutor(ack_gate, max_workers=LISTENER_THREADS, thread_name_prefix="bolt-listener")
    common: dict[str, Any] = {
        "signing_secret": settings.slack_signing_secret or "",
        "request_verification_enabled": bool(settings.slack_signing_secret) or settings.slack_app_token is None,
        "listener_executor": executor,
        "process_before_response": True,  # listeners ack inline; slow work goes to the executor (listeners/guard.py)
    }
    if installations is not None:
        app = App(
            client=WebClient(base_url=settings.slack_api_url),
            installation_store=installations,
            oauth_settings=OAuthSettings(
                client_id=settings.slack_client_id,
                client_secret=settings.slack_client_secret,
                scopes=BOT_SCOPES,
                installation_store=installations,
                state_store=SQLAlchemyOAuthStateStore(expiration_seconds=600, engine=engine),
                redirect_uri=f"{settings.public_url}/slack/oauth_redirect",
                authorization_url=slack_authorize_url(settings.slack_api_url),
                install_path="/slack/install",
                token_rotation_expiration_minutes=TOKEN_ROTATION_MINUTES,
                redirect_uri_path="/slack/oauth_redirect",
            ),
            **common,
        )
    else:
        app = App(client=WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url), **common)
    responder = Responder(ResponseUrlHosts.for_api_url(settings.slack_api_url), answers)
    on_error = error_handler(responder)
    register_listeners(app, on_error, deps, executor, responder)
    app.error(on_error)
    return app


def slack_authorize_url(api_url: str) -> str:
    """Slack's authorize page lives beside its Web API (``https://slack.com/api/`` -> ``/oauth/v2/authorize``)."""
    return urljoin(api_url if api_url.endswith("/") else api_url + "/", "../oauth/v2/authorize")


def installation_store(settings: Settings, engine: Engine, vault: TokenVault) -> InstallationStore:
    """slack_sdk's store, with the Slack tokens sealed by our vault and bound to their installation."""
    return SealedInstallationStore(client_id=settings.slack_client_id or "", engine=engine, vault=vault)


def client_for_team_factory(
    settings: Settings,
    installations: InstallationStore | None,
    enterprise_of: Callable[[str], str | None] = lambda team_id: None,
) -> ClientForTeam:
    """How background work (alerts, posting progress) gets a Slack client for a workspace: its own installation, or
    its Enterprise Grid organisation's org-wide one. Bolt rotates bot tokens only while handling a request from
    Slack, so work started by the scheduler rotates them itself."""
    if installations is None:
        single = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
        return lambda team_id: single
    store = installations
    rotator = TokenRotator(
        client_id=settings.slack_client_id or "",
        client_secret=settings.slack_client_secret or "",
        client=WebClient(base_url=settings.slack_api_url),
    )

    def client_for(team_id: str) -> WebClient | None:
        bot = find_installation_bot(store, team_id, enterprise_of(team_id))
        if bot is None or not bot.bot_token:
            return None
        if bot.bot_refresh_token:
            rotated = rotator.perform_bot_token_rotation(bot=bot, minutes_before_expiration=TOKEN_ROTATION_MINUTES)
            if rotated is not None:
                store.save_bot(rotated)
                bot = rotated
        return WebClient(token=bot.bot_token, base_url=settings.slack_api_url)

    return client_for


def find_installation_bot(store: InstallationStore, team_id: str, enterprise_id: str | None) -> Bot | None:
    """The workspace's own installation (in an Enterprise Grid workspace it is stored under its organisation too),
    else the organisation's org-wide installation, which has no workspace of its own."""
    bot = store.find_bot(enterprise_id=enterprise_id, team_id=team_id)
    if bot is None and enterprise_id is not None:
        bot = store.find_bot(enterprise_id=enterprise_id, team_id=None, is_enterprise_install=True)
    return bot


def user_message_for(error: Exception, reference: str) -> str:
    if isinstance(error, ConnectionExpiredError):
        return "The QuickBooks connection has expired. An admin can run /deferredrev reconnect; nothing else changed."
    if isinstance(error, NotConnectedError):
        return f"{error}. An admin can run /deferredrev connect."
    if isinstance(error, QboError):
        return f"{error.user_message} (reference {reference})"
    return f"Something went wrong on our side (reference {reference}). Please try again; nothing was posted to QuickBooks."


def error_handler(responder: Responder) -> ErrorHandler:
    """The one handler of every listener's failure: a log line with a reference, and a sentence to the user."""

    def handle_error(error: Exception, body: dict[str, Any], context: BoltContext) -> None:
        reference = uuid.uuid4().hex[:8]
        logger.error("listener failed (reference %s): %s", reference, error.__class__.__name__, exc_info=error)
        text, blocks = messages.error_message(user_message_for(error, reference))
        try:
            respond = responder.respond_for(context) if body.get("response_url") else None
            if respond is not None:
                respond(text=text, blocks=blocks, response_type="ephemeral")
            elif body.get("user") or body.get("user_id"):
                client = context.client
                if client is not None:
                    client.chat_postMessage(channel=user_id_of(body), text=text, blocks=blocks)
        except (SlackApiError, ValueError) as reply_error:
            logger.warning("could not tell the user about error %s: %s", reference, reply_error.__class__.__name__)

    return handle_error
