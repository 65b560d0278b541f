"""Connecting a workspace to QuickBooks: the OAuth flow, status, disconnect (from Slack or from inside QBO).

The flow: a Slack button opens ``/qbo/connect?t=<ticket>``, a page that says which Slack workspace the link connects
a company to (so a link sent by someone else's workspace is recognised before Intuit asks for consent);
:meth:`ConnectionService.preview` checks the ticket for it without using it up (a link scanner or a second look
changes nothing). The page's button posts the ticket, and :meth:`ConnectionService.begin` checks it again, redeems it
(each ticket works once: its hash goes into ``used_connect_tickets``, whose primary key refuses a second use even
from another replica) and stores a one-time, expiring ``state`` (hashed) bound to the browser by a cookie nonce
(hashed), then sends the browser to Intuit. :meth:`ConnectionService.complete` consumes the state (deleting it
in the same transaction, so a replayed callback changes nothing), exchanges the code exactly once, and reads the
company with the new tokens before storing anything: the callback's ``realmId`` comes from the browser, so only
QuickBooks answering for that company proves the tokens are for it (see :meth:`ConnectionService._confirm_company`).
Reconnecting keeps mappings, contracts and history; reconnecting to a different company revokes the previous company's
grant at Intuit once the new tokens are stored.

Disconnecting forgets the tokens even when they can no longer be decrypted (only the revoke at Intuit is skipped, and
the admin is told to remove the app in QuickBooks). Intuit's disconnect landing page is unauthenticated, so the
check it triggers runs at most once per company per :data:`REMOTE_CHECK_INTERVAL` (remembered per process: with N
replicas, at most N checks per interval) and in the background, so the page answers at once; and it forgets a
connection only on proof that the grant is gone (the refresh token refused, or a 401 that outlives a refresh), never
on a 403 (a lapsed subscription or a missing permission answers 403 too).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import SimpleNamespace

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from deferredrev.clock import Clock
from deferredrev.qbo.errors import (
    AccessDeniedError,
    InvalidClientError,
    InvalidGrantError,
    OAuthCallbackError,
    QboError,
    QboForbiddenError,
)
from deferredrev.qbo.models import TokenSet
from deferredrev.qbo.oauth import IntuitOAuth, parse_callback
from deferredrev.services.ports import ConnectedNotice, Notifier
from deferredrev.services.qbo_access import NotConnectedError, QboGateway, to_new_tokens
from deferredrev.services.tickets import ConnectTicket, TicketError, TicketSigner
from deferredrev.settings import Plan
from deferredrev.storage.db import SessionFactory
from deferredrev.storage.models import ConnectionStatus, OAuthState, QboConnection, UsedConnectTicket, Workspace
from deferredrev.storage.repositories import audit, connection_for, get_or_create_workspace
from deferredrev.storage.tokens import StoredTokens, TokenStore
from deferredrev.storage.vault import VaultError

logger = logging.getLogger(__name__)

STATE_LIFETIME = timedelta(minutes=10)
# Used tickets are forgotten this long after they expire (a replica whose clock lags must still see them as used).
USED_TICKET_GRACE = timedelta(hours=1)
# Intuit's disconnect landing checks a company at most this often (per process).
REMOTE_CHECK_INTERVAL = timedelta(minutes=5)
BUSY_REFRESHING = "busy refreshing; try again in a minute"  # qbo_access.TokenRefresher's NotConnectedError status

WRONG_COMPANY_MESSAGE = (
    "QuickBooks didn't confirm the company this sign-in came back with, so DeferredRev connected nothing and revoked "
    "the access just granted. Run /deferredrev connect to try again."
)
UNCONFIRMED_MESSAGE = (
    "QuickBooks didn't answer when DeferredRev checked the company, so nothing was connected. "
    "Try /deferredrev connect again in a few minutes."
)
REVOKE_SKIPPED_MESSAGE = (
    "DeferredRev forgot its QuickBooks tokens, but couldn't revoke its access at Intuit. To be sure it has no access "
    "left, a QuickBooks company admin can remove DeferredRev in QuickBooks under Apps › Connected apps."
)


class ConnectOutcome(StrEnum):
    CONNECTED = "connected"
    RECONNECTED = "reconnected"
    DENIED = "denied"
    NOT_ADMIN = "not_admin"
    EXPIRED_LINK = "expired_link"
    USED_LINK = "used_link"
    REUSED_LINK = "reused_link"
    WRONG_BROWSER = "wrong_browser"
    INTUIT_ERROR = "intuit_error"
    WRONG_COMPANY = "wrong_company"
    PLAN = "plan"
    NOT_CONFIGURED = "not_configured"


class ConnectFlowError(Exception):
    """The connect flow stopped; ``outcome`` picks the page shown and the Slack message sent."""

    def __init__(self, outcome: ConnectOutcome, message: str, *, team_id: str | None = None, user_id: str | None = None):
        super().__init__(message)
        self.outcome = outcome
        self.team_id = team_id
        self.user_id = user_id


@dataclass(frozen=True)
class ConsumedState:
    team_id: str
    user_id: str
    browser_hash: str
    expires_at: datetime


@dataclass(frozen=True)
class ConnectPreview:
    """What an unused connect link would do, shown before anything is redeemed."""

    team_id: str
    user_id: str
    workspace_name: str | None  # from ``workspaces``; None when it has none

    @property
    def workspace_label(self) -> str:
        return self.workspace_name or self.team_id


@dataclass(frozen=True)
class ConnectStart:
    authorize_url: str
    browser_nonce: str


@dataclass(frozen=True)
class ConnectResult:
    outcome: ConnectOutcome
    team_id: str
    company_name: str
    previous_company: str | None


@dataclass(frozen=True)
class ConnectionStatusView:
    status: str  # connected | expired | disconnected | not_connected
    company_name: str | None
    realm_id: str | None
    since: datetime | None
    reason: str | None
    refresh_expires_at: datetime | None
    hard_expires_at: datetime | None


def status_view(connection: QboConnection | SimpleNamespace | None) -> ConnectionStatusView:
    """The connection as people see it, from the model or from the same attributes read without it."""
    if connection is None:
        return ConnectionStatusView("not_connected", None, None, None, None, None, None)
    return ConnectionStatusView(
        status=connection.status,
        company_name=connection.company_name,
        realm_id=connection.realm_id,
        since=connection.connected_at if connection.status == "connected" else connection.updated_at,
        reason=connection.status_reason,
        refresh_expires_at=connection.refresh_expires_at,
        hard_expires_at=connection.hard_expires_at,
    )


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class _TicketAlreadyUsed(Exception):
    """The connect ticket was redeemed before (by this or another replica)."""


class ConnectionService:
    def __init__(
        self,
        *,
        sessions: SessionFactory,
        tokens: TokenStore,
        oauth: IntuitOAuth,
        gateway: QboGateway,
        tickets: TicketSigner,
        notifier: Notifier,
        clock: Clock,
        default_plan: Plan,
    ) -> None:
        self._sessions = sessions
        self._tokens = tokens
        self._oauth = oauth
        self._gateway = gateway
        self._tickets = tickets
        self._notifier = notifier
        self._clock = clock
        self._default_plan = default_plan
        self._remote_checks: dict[str, datetime] = {}  # realm -> when its disconnect landing last started a check
        self._remote_checks_guard = threading.Lock()

    def connect_ticket(self, team_id: str, user_id: str) -> str:
        return self._tickets.issue(team_id, user_id, now=self._clock.now())

    def preview(self, ticket: str) -> ConnectPreview:
        """Check a connect link without using it up: what :meth:`begin` would refuse (forged or expired, already used,
        no Intuit keys, plan) is refused now, and nothing is written."""
        now = self._clock.now()
        verified = self._verify(ticket, now)
        self._authorization_url(verified, secrets.token_urlsafe(32))  # builds a URL only: refuses missing Intuit keys
        with self._sessions() as session:
            if session.get(UsedConnectTicket, verified.ticket_id) is not None:
                raise self._reused(verified)
            workspace = session.get(Workspace, verified.team_id)
            plan = Plan(workspace.plan) if workspace is not None else self._default_plan
            if not plan.allows_quickbooks:
                raise self._plan_refused(verified)
            name = workspace.name if workspace is not None else None
        return ConnectPreview(team_id=verified.team_id, user_id=verified.user_id, workspace_name=name)

    def begin(self, ticket: str) -> ConnectStart:
        """Redeem the ticket (once) and start the OAuth flow: where to send the browser, and its cookie nonce."""
        now = self._clock.now()
        verified = self._verify(ticket, now)
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        authorize_url = self._authorization_url(verified, state)
        try:
            with self._sessions.begin() as session:
                self._redeem(session, verified, now)
                workspace = get_or_create_workspace(session, verified.team_id, default_plan=self._default_plan, now=now)
                if not Plan(workspace.plan).allows_quickbooks:  # leaving the block rolls back: the link stays unused
                    raise self._plan_refused(verified)
                session.execute(delete(OAuthState).where(OAuthState.expires_at < now))
                session.add(
                    OAuthState(
                        state_hash=_sha256(state),
                        team_id=verified.team_id,
                        user_id=verified.user_id,
                        browser_hash=_sha256(nonce),
                        expires_at=now + STATE_LIFETIME,
                        created_at=now,
                    )
                )
                audit(session, action="connect.started", now=now, team_id=verified.team_id, actor=verified.user_id)
        except _TicketAlreadyUsed:
            with self._sessions.begin() as session:
                audit(session, action="connect.link_reused", now=now, team_id=verified.team_id, actor=verified.user_id)
            raise self._reused(verified) from None
        return ConnectStart(authorize_url=authorize_url, browser_nonce=nonce)

    def _verify(self, ticket: str, now: datetime) -> ConnectTicket:
        try:
            return self._tickets.verify(ticket, now=now)
        except TicketError as error:
            raise ConnectFlowError(ConnectOutcome.EXPIRED_LINK, str(error)) from None

    def _authorization_url(self, ticket: ConnectTicket, state: str) -> str:
        try:
            return self._oauth.authorization_url(state)
        except InvalidClientError:
            logger.warning(
                "connect link opened for team %s, but QBO_CLIENT_ID / QBO_CLIENT_SECRET are not set", ticket.team_id
            )
            raise ConnectFlowError(
                ConnectOutcome.NOT_CONFIGURED,
                "DeferredRev isn't set up with Intuit app keys yet",
                team_id=ticket.team_id,
                user_id=ticket.user_id,
            ) from None

    @staticmethod
    def _reused(ticket: ConnectTicket) -> ConnectFlowError:
        return ConnectFlowError(
            ConnectOutcome.REUSED_LINK, "This connect link was already used.", team_id=ticket.team_id, user_id=ticket.user_id
        )

    @staticmethod
    def _plan_refused(ticket: ConnectTicket) -> ConnectFlowError:
        return ConnectFlowError(ConnectOutcome.PLAN, "QuickBooks needs the Growth plan or above", team_id=ticket.team_id)

    @staticmethod
    def _redeem(session: Session, ticket: ConnectTicket, now: datetime) -> None:
        """Record the ticket as used, first thing in the transaction; a second redemption, even a concurrent one on
        another replica, fails on the primary key (it waits for the first transaction, then conflicts)."""
        session.add(
            UsedConnectTicket(
                ticket_hash=ticket.ticket_id,
                team_id=ticket.team_id,
                user_id=ticket.user_id,
                expires_at=ticket.expires_at,
                used_at=now,
            )
        )
        try:
            session.flush()
        except IntegrityError:
            raise _TicketAlreadyUsed from None
        session.execute(delete(UsedConnectTicket).where(UsedConnectTicket.expires_at < now - USED_TICKET_GRACE))

    def complete(self, query: dict[str, str], browser_nonce: str | None) -> ConnectResult:
        state_row = self._consume_state(query.get("state", ""), browser_nonce)
        team_id, user_id = state_row.team_id, state_row.user_id
        try:
            callback = parse_callback(query)
        except AccessDeniedError:
            message = "QuickBooks access was not granted. Only a QuickBooks company admin can connect DeferredRev."
            self._notifier.connect_failed(team_id, user_id, message)
            raise ConnectFlowError(ConnectOutcome.DENIED, message, team_id=team_id, user_id=user_id) from None
        except OAuthCallbackError as error:
            message = (
                f"QuickBooks did not complete the connection ({error.error})."
                if error.error
                else "QuickBooks did not complete the connection."
            )
            self._notifier.connect_failed(team_id, user_id, message)
            raise ConnectFlowError(ConnectOutcome.INTUIT_ERROR, message, team_id=team_id, user_id=user_id) from None
        try:
            token_set = self._oauth.exchange_code(callback.code, callback.realm_id)
        except (InvalidGrantError, QboError) as error:
            message = "QuickBooks refused the sign-in code. Start again from Slack with /deferredrev connect."
            logger.warning("code exchange failed for team %s: %s", team_id, error.__class__.__name__)
            self._notifier.connect_failed(team_id, user_id, message)
            raise ConnectFlowError(ConnectOutcome.INTUIT_ERROR, message, team_id=team_id, user_id=user_id) from None
        company = self._confirm_company(team_id, user_id, callback.realm_id, token_set)
        return self._store_connection(team_id, user_id, callback.realm_id, token_set, company)

    def _consume_state(self, state: str, browser_nonce: str | None) -> ConsumedState:
        """Delete the state row (first use wins), then judge it: expired or from another browser is refused."""
        now = self._clock.now()
        if not state:
            raise ConnectFlowError(ConnectOutcome.USED_LINK, "This QuickBooks sign-in link is missing its state.")
        with self._sessions.begin() as session:
            row = session.get(OAuthState, _sha256(state), with_for_update=True)
            if row is None:
                consumed = None
            else:
                consumed = ConsumedState(row.team_id, row.user_id, row.browser_hash, row.expires_at)
                session.delete(row)
        if consumed is None:
            raise ConnectFlowError(ConnectOutcome.USED_LINK, "This QuickBooks sign-in link was already used or is unknown.")
        if consumed.expires_at < now:
            raise ConnectFlowError(
                ConnectOutcome.EXPIRED_LINK, "This QuickBooks sign-in link expired.", team_id=consumed.team_id
            )
        if browser_nonce is None or not secrets.compare_digest(_sha256(browser_nonce), consumed.browser_hash):
            with self._sessions.begin() as session:
                audit(session, action="connect.wrong_browser", now=now, team_id=consumed.team_id, actor=consumed.user_id)
            raise ConnectFlowError(
                ConnectOutcome.WRONG_BROWSER,
                "Finish connecting in the same browser that started it.",
                team_id=consumed.team_id,
                user_id=consumed.user_id,
            )
        return consumed

    def _confirm_company(self, team_id: str, user_id: str, realm_id: str, token_set: TokenSet) -> str:
        """The company's name, read with the tokens just obtained: the proof that they are for ``realm_id``.

        Otherwise nothing is stored and :class:`ConnectFlowError` is raised. QuickBooks refusing the tokens for that
        company (401/403) means they are for another one: they are revoked. Any other failure (5xx, 429, timeout)
        proves nothing either way: the admin is asked to try again, and the fresh grant is revoked too unless a
        connection already uses that company (revoking disconnects the app from the company, for it as well).
        """
        client = self._gateway.client_with_token(realm_id, token_set.access_token)
        try:
            return client.company_info().company_name
        except QboError as error:
            raise self._company_unconfirmed(team_id, user_id, realm_id, token_set, error) from None

    def _company_unconfirmed(
        self, team_id: str, user_id: str, realm_id: str, token_set: TokenSet, error: QboError
    ) -> ConnectFlowError:
        refused = error.status in (401, 403)
        logger.warning(
            "QuickBooks did not confirm realm %s for team %s (%s, HTTP %s): nothing stored",
            realm_id,
            team_id,
            type(error).__name__,
            error.status or "-",
        )
        with self._sessions.begin() as session:
            audit(
                session,
                action="connect.company_unconfirmed",
                now=self._clock.now(),
                team_id=team_id,
                actor=user_id,
                realm_id=realm_id,
                refused=refused,
            )
        if refused or not self._company_in_use(realm_id):
            self._revoke_quietly(team_id, token_set.refresh_token)
        outcome, message = (
            (ConnectOutcome.WRONG_COMPANY, WRONG_COMPANY_MESSAGE)
            if refused
            else (ConnectOutcome.INTUIT_ERROR, UNCONFIRMED_MESSAGE)
        )
        self._notifier.connect_failed(team_id, user_id, message)
        return ConnectFlowError(outcome, message, team_id=team_id, user_id=user_id)

    def _company_in_use(self, realm_id: str) -> bool:
        with self._sessions() as session:
            connected = (
                select(func.count())
                .select_from(QboConnection)
                .where(QboConnection.realm_id == realm_id, QboConnection.status == ConnectionStatus.CONNECTED.value)
            )
            return bool(session.scalar(connected))

    def _store_connection(
        self, team_id: str, user_id: str, realm_id: str, token_set: TokenSet, company: str
    ) -> ConnectResult:
        now = self._clock.now()
        previous_grant: str | None = None
        with self._sessions.begin() as session:
            connection = connection_for(session, team_id, for_update=True)
            previous_company = None
            reconnected = connection is not None
            if connection is None:
                connection = QboConnection(team_id=team_id, realm_id=realm_id, version=0, created_at=now)
                session.add(connection)
            elif connection.realm_id != realm_id:
                previous_company = connection.company_name or connection.realm_id
                previous_grant = self._grant_to_revoke(session, connection)
            connection.realm_id = realm_id
            connection.company_name = company
            connection.status = ConnectionStatus.CONNECTED.value
            connection.status_reason = None
            connection.connected_by = user_id
            connection.connected_at = now
            connection.last_alert = None
            connection.hard_expires_at = None
            self._tokens.seal(connection, to_new_tokens(token_set), now=now)
            audit(
                session,
                action="connect.completed",
                now=now,
                team_id=team_id,
                actor=user_id,
                realm_id=realm_id,
                reconnected=reconnected,
                company_changed=previous_company is not None,
            )
        notice = ConnectedNotice(team_id, user_id, company, realm_id, reconnected, previous_company)
        self._notifier.connected(notice)
        if previous_grant is not None:  # best effort, after the new tokens are stored: the old grant must not linger
            self._revoke_quietly(team_id, previous_grant)
        outcome = ConnectOutcome.RECONNECTED if reconnected else ConnectOutcome.CONNECTED
        return ConnectResult(outcome=outcome, team_id=team_id, company_name=company, previous_company=previous_company)

    def _grant_to_revoke(self, session: Session, connection: QboConnection) -> str | None:
        """The refresh token of the company ``connection`` is leaving, to revoke once the new tokens are stored.

        None when there is nothing to revoke, the token can't be decrypted, or another workspace is still connected
        to that company (revoking disconnects the app from the company, for that workspace too).
        """
        shared = session.scalar(
            select(func.count())
            .select_from(QboConnection)
            .where(
                QboConnection.realm_id == connection.realm_id,
                QboConnection.team_id != connection.team_id,
                QboConnection.status == ConnectionStatus.CONNECTED.value,
            )
        )
        if shared:
            return None
        stored = self._open_quietly(connection)
        return stored.refresh_token if stored is not None else None

    def _open_quietly(self, connection: QboConnection) -> StoredTokens | None:
        """The connection's tokens, or None when it holds none or they can't be decrypted (damaged, or the key that
        sealed them is gone). The vault's errors never carry key material; only their class is logged."""
        try:
            return self._tokens.open(connection)
        except VaultError as error:
            logger.warning(
                "stored QuickBooks tokens of team %s could not be decrypted (%s)", connection.team_id, type(error).__name__
            )
            return None

    def status(self, team_id: str) -> ConnectionStatusView:
        with self._sessions() as session:
            return status_view(connection_for(session, team_id))

    def disconnect(self, team_id: str, *, user_id: str | None, channel_id: str | None, notify: bool = True) -> str | None:
        """Forget the tokens and revoke them at Intuit; keep everything else. Returns the company name, or None."""
        now = self._clock.now()
        with self._sessions.begin() as session:
            connection = connection_for(session, team_id, for_update=True)
            if connection is None or connection.status == ConnectionStatus.DISCONNECTED.value:
                return None
            held_tokens = connection.refresh_token is not None
            stored = self._open_quietly(connection)  # None if undecryptable: forget anyway, only the revoke is skipped
            company = connection.company_name or connection.realm_id
            self._tokens.forget(connection)
            connection.status = ConnectionStatus.DISCONNECTED.value
            connection.status_reason = "disconnected from Slack"
            connection.updated_at = now
            audit(
                session,
                action="connection.disconnected",
                now=now,
                team_id=team_id,
                actor=user_id or "system",
                tokens_unreadable=held_tokens and stored is None,
            )
            targets = self._disconnect_targets(session, team_id, channel_id, connection.connected_by)
        revoked = stored is not None and self._revoke_quietly(team_id, stored.refresh_token)
        if notify:
            self._notifier.disconnected(team_id, targets, user_id, company)
        if held_tokens and not revoked and user_id:
            self._notifier.connect_failed(team_id, user_id, REVOKE_SKIPPED_MESSAGE)
        return company

    @staticmethod
    def _disconnect_targets(session: Session, team_id: str, channel_id: str | None, connected_by: str | None) -> list[str]:
        if channel_id:
            return [channel_id]
        workspace = session.get(Workspace, team_id)
        targets = [t for t in (workspace.alert_channel if workspace else None, connected_by) if t]
        return list(dict.fromkeys(targets))

    def _revoke_quietly(self, team_id: str, token: str) -> bool:
        try:
            self._oauth.revoke(token)
        except QboError as error:
            logger.warning("revoke at Intuit failed for team %s (%s); tokens are forgotten anyway", team_id, error)
            return False
        return True

    def check_remote_disconnect(self, realm_id: str) -> threading.Thread | None:
        """Intuit's disconnect landing (unauthenticated): start :meth:`disconnected_from_quickbooks` in the background,
        unless that company was checked in the last :data:`REMOTE_CHECK_INTERVAL`. Returns the thread, or None."""
        teams = self._claim_remote_check(realm_id)
        if not teams:
            return None
        thread = threading.Thread(
            target=self._check_teams_logged, args=(realm_id, teams), name="qbo-disconnect-check", daemon=True
        )
        thread.start()
        return thread

    def disconnected_from_quickbooks(self, realm_id: str) -> list[str]:
        """Believe a disconnect landing only if Intuit now refuses our tokens for that company; checked at most once
        per company per :data:`REMOTE_CHECK_INTERVAL`. Returns the workspaces disconnected."""
        teams = self._claim_remote_check(realm_id)
        return self._check_teams(realm_id, teams) if teams else []

    def _claim_remote_check(self, realm_id: str) -> list[str]:
        """The workspaces connected to ``realm_id`` if this caller may check them now (and then no other caller may
        until the interval has passed); otherwise none. Only companies someone is connected to are remembered."""
        now = self._clock.now()
        if self._checked_recently(realm_id, now):
            return []
        with self._sessions() as session:
            teams = list(
                session.scalars(
                    select(QboConnection.team_id).where(
                        QboConnection.realm_id == realm_id, QboConnection.status == ConnectionStatus.CONNECTED.value
                    )
                ).all()
            )
        if not teams:
            return []
        with self._remote_checks_guard:
            if self._checked_recently(realm_id, now):
                return []
            self._remote_checks = {r: t for r, t in self._remote_checks.items() if now - t < REMOTE_CHECK_INTERVAL}
            self._remote_checks[realm_id] = now
        return teams

    def _checked_recently(self, realm_id: str, now: datetime) -> bool:
        last = self._remote_checks.get(realm_id)
        return last is not None and now - last < REMOTE_CHECK_INTERVAL

    def _check_teams_logged(self, realm_id: str, teams: list[str]) -> None:
        try:
            gone = self._check_teams(realm_id, teams)
        except Exception:  # noqa: BLE001 - a background thread: log it, the next landing (or refresh) tries again
            logger.exception("checking a disconnect from inside QuickBooks failed")
            return
        logger.info("Intuit disconnect landing for a realm: %d workspace(s) disconnected", len(gone))

    def _check_teams(self, realm_id: str, teams: list[str]) -> list[str]:
        gone: list[str] = []
        for team_id in teams:
            if self._connection_is_dead(team_id, realm_id) and self._forget_after_remote_disconnect(team_id, realm_id):
                gone.append(team_id)
        return gone

    def _connection_is_dead(self, team_id: str, realm_id: str) -> bool:
        """Whether Intuit proves the grant gone: the refresh token refused (``invalid_grant``, which also marks the
        connection Expired), or a 401 that outlived a refresh (the client refreshes once on a 401, then retries).

        A 403 is no such proof (a lapsed subscription or a missing permission answers 403 too): the connection is left
        as it is, and the refusal is logged and audited.
        """
        try:
            self._gateway.client_for(team_id, realm_id).company_info()
        except NotConnectedError as error:
            return error.status != BUSY_REFRESHING  # another process holding the refresh lease proves nothing
        except VaultError as error:
            # Proves nothing about Intuit: during a key rotation another replica may still read these tokens, and this
            # page needs no login. The refresh sweep expires tokens nobody can read once their access has lapsed.
            logger.warning("stored QuickBooks tokens of team %s could not be decrypted (%s)", team_id, type(error).__name__)
            return False
        except QboForbiddenError as error:
            self._note_forbidden(team_id, realm_id, error)
            return False
        except QboError as error:
            return error.status == 401
        return False

    def _note_forbidden(self, team_id: str, realm_id: str, error: QboForbiddenError) -> None:
        logger.warning(
            "QuickBooks answered 403 (code %s, intuit_tid %s) checking team %s after a disconnect landing: the "
            "connection is kept (a lapsed subscription or a missing permission answers 403 too)",
            error.code or "-",
            error.intuit_tid or "-",
            team_id,
        )
        with self._sessions.begin() as session:
            audit(
                session,
                action="connection.remote_check_forbidden",
                now=self._clock.now(),
                team_id=team_id,
                actor="quickbooks",
                realm_id=realm_id,
                code=error.code,
            )

    def _forget_after_remote_disconnect(self, team_id: str, realm_id: str) -> bool:
        now = self._clock.now()
        with self._sessions.begin() as session:
            connection = connection_for(session, team_id, for_update=True)
            if (
                connection is None
                or connection.realm_id != realm_id  # reconnected to another company meanwhile
                or connection.status == ConnectionStatus.DISCONNECTED.value
            ):
                return False
            company = connection.company_name or connection.realm_id
            self._tokens.forget(connection)
            connection.status = ConnectionStatus.DISCONNECTED.value
            connection.status_reason = "disconnected from inside QuickBooks"
            connection.updated_at = now
            audit(session, action="connection.disconnected", now=now, team_id=team_id, actor="quickbooks")
            targets = self._disconnect_targets(session, team_id, None, connection.connected_by)
        self._notifier.disconnected(team_id, targets, None, company)
        return True
