"""Workspace settings and who may do what.

Admins (connect, reconnect, mappings, settings, disconnect): Slack workspace admins and owners, plus the users in
``DEFERREDREV_ADMINS``. Approvers (post a preview): the users listed in settings, or the admins when none are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace

from sqlalchemy import select

from deferredrev.clock import Clock
from deferredrev.services.cutover_facts import fix_facts, forget_facts
from deferredrev.settings import Plan
from deferredrev.storage.db import SessionFactory
from deferredrev.storage.models import Workspace
from deferredrev.storage.repositories import audit, get_or_create_workspace
from deferredrev.style import DEFAULT_TIME_ZONE, is_time_zone

POSTING_MODES = ("per_contract", "summary")


@dataclass(frozen=True)
class WorkspaceSettings:
    team_id: str
    plan: Plan
    approvers: tuple[str, ...]
    four_eyes: bool
    alert_channel: str | None
    posting_mode: str
    cutover_date: date | None
    time_zone: str = DEFAULT_TIME_ZONE


def settings_view(row: Workspace | SimpleNamespace) -> WorkspaceSettings:
    """The settings from the model or from the same attributes read without it."""
    return WorkspaceSettings(
        team_id=row.team_id,
        plan=Plan(row.plan),
        approvers=tuple(row.approvers or ()),
        four_eyes=row.four_eyes,
        alert_channel=row.alert_channel,
        posting_mode=row.posting_mode,
        cutover_date=row.cutover_date,
        time_zone=getattr(row, "time_zone", None) or DEFAULT_TIME_ZONE,
    )


class SettingsValidationError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class WorkspaceService:
    def __init__(self, *, sessions: SessionFactory, clock: Clock, default_plan: Plan):
        self._sessions = sessions
        self._clock = clock
        self._default_plan = default_plan
        self._enterprises: dict[str, str] = {}  # organisations already written, so requests don't write them again

    def settings(self, team_id: str) -> WorkspaceSettings:
        with self._sessions() as session:  # read-only: no write lock unless the workspace is new
            row = session.get(Workspace, team_id)
        if row is None:
            with self._sessions.begin() as session:
                row = get_or_create_workspace(session, team_id, default_plan=self._default_plan, now=self._clock.now())
        return settings_view(row)

    def update(
        self,
        team_id: str,
        *,
        user_id: str,
        approvers: Sequence[str],
        four_eyes: bool,
        alert_channel: str | None,
        posting_mode: str,
        cutover_date: date | None,
        time_zone: str | None = None,
    ) -> WorkspaceSettings:
        """Save the settings; ``time_zone`` None keeps the current one."""
        if posting_mode not in POSTING_MODES:
            raise SettingsValidationError("posting_mode", "Choose per-contract or summary posting.")
        if time_zone is not None and not is_time_zone(time_zone):
            raise SettingsValidationError("time_zone", f"{time_zone} isn't a time zone. Use a name like America/New_York.")
        now = self._clock.now()
        with self._sessions.begin() as session:
            row = get_or_create_workspace(session, team_id, default_plan=self._default_plan, now=now)
            row.approvers = sorted(set(approvers))
            row.four_eyes = four_eyes
            row.alert_channel = alert_channel
            row.posting_mode = posting_mode
            if row.cutover_date != cutover_date:
                # A new decision about the past: what the earlier books recognised is fixed again, on today's terms.
                if cutover_date is None:
                    forget_facts(session, team_id)
                else:
                    fix_facts(session, team_id, cutover_date, again=True)
            row.cutover_date = cutover_date
            if time_zone is not None:
                row.time_zone = time_zone
            row.updated_at = now
            audit(
                session,
                action="settings.saved",
                now=now,
                team_id=team_id,
                actor=user_id,
                approvers=row.approvers,
                four_eyes=four_eyes,
                alert_channel=alert_channel,
                posting_mode=posting_mode,
                cutover_date=cutover_date.isoformat() if cutover_date else None,
            )
        return self.settings(team_id)

    def set_cutover(self, team_id: str, *, user_id: str, cutover_date: date) -> WorkspaceSettings:
        """Only the cut-over date changes (the rest of the settings stay as they are)."""
        current = self.settings(team_id)
        return self.update(
            team_id, user_id=user_id, approvers=current.approvers, four_eyes=current.four_eyes,
            alert_channel=current.alert_channel, posting_mode=current.posting_mode, cutover_date=cutover_date,
        )  # fmt: skip

    def remember_name(self, team_id: str, name: str) -> None:
        """The workspace's name as Slack shows it (the connect page names the workspace a link was made in)."""
        now = self._clock.now()
        with self._sessions.begin() as session:
            row = get_or_create_workspace(session, team_id, default_plan=self._default_plan, now=now)
            if row.name != name:
                row.name = name[:255]
                row.updated_at = now

    def note_enterprise(self, team_id: str, enterprise_id: str) -> None:
        """The Enterprise Grid organisation a workspace belongs to, as its requests say: background work needs it to
        find an org-wide installation's token. Written only when it changes."""
        if self._enterprises.get(team_id) == enterprise_id:
            return
        now = self._clock.now()
        with self._sessions.begin() as session:
            row = get_or_create_workspace(session, team_id, default_plan=self._default_plan, now=now)
            if row.enterprise_id != enterprise_id:
                row.enterprise_id = enterprise_id
                row.updated_at = now
        self._enterprises[team_id] = enterprise_id

    def enterprise_of(self, team_id: str) -> str | None:
        with self._sessions() as session:
            row = session.get(Workspace, team_id)
        return row.enterprise_id if row is not None else None

    def of_enterprise(self, enterprise_id: str) -> list[str]:
        """The workspaces of an Enterprise Grid organisation that DeferredRev has had requests from."""
        with self._sessions() as session:
            return sorted(session.scalars(select(Workspace.team_id).where(Workspace.enterprise_id == enterprise_id)))

    def mark_uninstalled(self, team_id: str) -> None:
        now = self._clock.now()
        with self._sessions.begin() as session:
            row = get_or_create_workspace(session, team_id, default_plan=self._default_plan, now=now)
            row.installed = False
            row.updated_at = now
            audit(session, action="slack.uninstalled", now=now, team_id=team_id, actor="slack")
