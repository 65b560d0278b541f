"""Who is asking, for which workspace's books, and what they may do there.

A request from Slack names two workspaces that need not be the same. The *workspace* is the installation the request
was routed to: its books are the ones acted on (``view.app_installed_team_id`` for modals, else ``team.id``; on an
Enterprise Grid org-wide install, where ``team`` is null, the user's own workspace). The user's *home* workspace is
``user.team_id``: in a Slack Connect channel someone from another organisation can click what the app posted there.

Authority is decided from the user's home workspace and ``users.info``, never from the payload alone: a full member
of the workspace (not deactivated, not a guest, not a stranger or someone from another organisation) may take part;
a member who is a Slack admin or owner, or is named for this workspace in ``DEFERREDREV_ADMINS``, is a DeferredRev
admin. Verdicts are cached for a few minutes per (workspace, user).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from deferredrev.services.actors import Actor
from deferredrev.settings import ConfiguredAdmins

logger = logging.getLogger(__name__)

CACHE_SECONDS = 300.0


class UnknownWorkspaceError(Exception):
    """A request that names no workspace DeferredRev could act for."""


@dataclass(frozen=True)
class Requester:
    team_id: str  # the workspace whose books the request acts on
    user_id: str
    home_team_id: str | None  # the user's own workspace, as the payload gives it (absent from slash commands)
    enterprise_id: str | None


def requester_of(body: dict[str, Any]) -> Requester:
    event = body.get("event")
    user = body.get("user") or (event.get("user") if isinstance(event, dict) else None)
    user_id = user.get("id") if isinstance(user, dict) else body.get("user_id") or user
    if not isinstance(user_id, str) or not user_id:
        raise UnknownWorkspaceError("the request names no user")
    home = user.get("team_id") if isinstance(user, dict) else None
    enterprise = _enterprise_of(body)
    team_id = _workspace_of(body, home if isinstance(home, str) else None)
    return Requester(team_id, user_id, home if isinstance(home, str) and home else None, enterprise)


def _workspace_of(body: dict[str, Any], home: str | None) -> str:
    """The first workspace id (``T…``) among the places Slack puts the installation's workspace. An org-wide
    install names the organisation (``E…``) or nothing there: then the books are those of the user's own workspace."""
    team = body.get("team")
    view = body.get("view")
    view = view if isinstance(view, dict) else {}
    authorizations = body.get("authorizations") or [{}]
    candidates = (
        view.get("app_installed_team_id"),
        team.get("id") if isinstance(team, dict) else team,
        body.get("team_id"),
        authorizations[0].get("team_id") if isinstance(authorizations[0], dict) else None,
        home,
    )
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.startswith("T"):
            return candidate
    raise UnknownWorkspaceError("the request names no workspace")


def _enterprise_of(body: dict[str, Any]) -> str | None:
    enterprise = body.get("enterprise")
    if isinstance(enterprise, dict) and enterprise.get("id"):
        return str(enterprise["id"])
    found = body.get("enterprise_id")
    return str(found) if found else None


class Standing(StrEnum):
    MEMBER = "member"
    EXTERNAL = "external"  # another organisation's user (Slack Connect), or a stranger
    GUEST = "guest"
    DEACTIVATED = "deactivated"
    NOT_A_PERSON = "not_a_person"  # a bot
    UNCONFIRMED = "unconfirmed"  # Slack couldn't tell us (users.info failed)


@dataclass(frozen=True)
class Clearance:
    requester: Requester
    standing: Standing
    is_admin: bool
    name: str | None = None  # the person's name as Slack shows it

    @property
    def is_member(self) -> bool:
        return self.standing is Standing.MEMBER

    def refusal(self, doing: str) -> str | None:
        """Why this person may not ``doing`` ("approve previews") at all, whatever their role; None for members."""
        reasons = {
            Standing.EXTERNAL: f"You're not a member of this workspace, so you can't {doing} here: DeferredRev acts "
            "on this workspace's QuickBooks only for its own members.",
            Standing.GUEST: f"Guests can't {doing} in DeferredRev; ask a member of the workspace.",
            Standing.DEACTIVATED: f"Deactivated accounts can't {doing}.",
            Standing.NOT_A_PERSON: f"Only people can {doing}.",
            Standing.UNCONFIRMED: f"I couldn't confirm your account with Slack just now, so I can't let you {doing}. "
            "Try again in a moment.",
        }
        return reasons.get(self.standing)

    def actor(self) -> Actor:
        """The decider, as services take it."""
        return Actor(self.requester.user_id, is_admin=self.is_admin, is_member=self.is_member, name=self.name)


class Authority:
    def __init__(self, configured_admins: ConfiguredAdmins, cache_seconds: float = CACHE_SECONDS) -> None:
        self._configured = configured_admins
        self._cache_seconds = cache_seconds
        self._cache: dict[tuple[str, str], tuple[float, Clearance]] = {}
        self._lock = threading.Lock()

    def clearance(self, client: WebClient, requester: Requester) -> Clearance:
        key = (requester.team_id, requester.user_id)
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and cached[0] > time.monotonic() and cached[1].requester == requester:
            return cached[1]
        verdict = self._decide(client, requester)
        if verdict.standing is not Standing.UNCONFIRMED:
            with self._lock:
                self._cache[key] = (time.monotonic() + self._cache_seconds, verdict)
        return verdict

    def is_admin(self, client: WebClient, requester: Requester) -> bool:
        return self.clearance(client, requester).is_admin

    def forget(self, team_id: str) -> None:
        with self._lock:
            for key in [k for k in self._cache if k[0] == team_id]:
                del self._cache[key]

    def _decide(self, client: WebClient, requester: Requester) -> Clearance:
        try:
            user: dict[str, Any] = client.users_info(user=requester.user_id)["user"]
        except SlackApiError as error:
            logger.warning("users.info failed for a user of %s: %s", requester.team_id, error.response.get("error"))
            return Clearance(requester, Standing.UNCONFIRMED, is_admin=False)
        standing = _standing(requester, user)
        name = _name_of(user)
        if standing is not Standing.MEMBER:
            logger.info("%s user of %s refused privileged actions", standing.value, requester.team_id)
            return Clearance(requester, standing, is_admin=False, name=name)
        slack_admin = bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
        configured = self._configured.includes(requester.team_id, requester.user_id)
        return Clearance(requester, Standing.MEMBER, is_admin=slack_admin or configured, name=name)


def _name_of(user: dict[str, Any]) -> str | None:
    profile = user.get("profile") or {}
    for name in (profile.get("real_name"), user.get("real_name"), profile.get("display_name"), user.get("name")):
        if isinstance(name, str) and name.strip():
            return name.strip()[:100]
    return None


def _standing(requester: Requester, user: dict[str, Any]) -> Standing:
    if user.get("deleted"):
        return Standing.DEACTIVATED
    if user.get("is_bot") or user.get("is_app_user"):
        return Standing.NOT_A_PERSON
    if user.get("is_stranger") or not _belongs(requester, user):
        return Standing.EXTERNAL
    if user.get("is_restricted") or user.get("is_ultra_restricted"):
        return Standing.GUEST
    return Standing.MEMBER


def _belongs(requester: Requester, user: dict[str, Any]) -> bool:
    """The user is a member of the request's workspace: it is their workspace, or (Enterprise Grid) one of their
    organisation's workspaces they belong to. The payload's home workspace must agree (an org id counts as agreeing
    when it is the request's organisation)."""
    team = requester.team_id
    enterprise_user = user.get("enterprise_user") or {}
    teams = set(enterprise_user.get("teams") or [])
    member = user.get("team_id") == team or team in teams
    home = requester.home_team_id
    same_org = requester.enterprise_id is not None and home == requester.enterprise_id
    home_agrees = home is None or home == team or home in teams or same_org
    return member and home_agrees
