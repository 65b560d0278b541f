"""Decisions on previews, shared by recognition previews and reversals: who may decide, what a decision answers,
and the lock under which decisions queue entries."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import update
from sqlalchemy.orm import Session

from deferredrev.services.actors import Actor
from deferredrev.services.workspaces import WorkspaceSettings
from deferredrev.storage import models
from deferredrev.storage.models import PreviewStatus


class Decision(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    ALREADY_DECIDED = "already_decided"
    NOT_ALLOWED = "not_allowed"
    SELF_APPROVAL = "self_approval"
    STALE = "stale"
    BLOCKED = "blocked"
    NOTHING = "nothing"
    QUEUED = "queued"
    REQUESTED = "requested"  # a reversal, now waiting for approval like any preview
    NOT_FOUND = "not_found"  # no such preview in the requesting workspace


@dataclass(frozen=True)
class DecisionResult:
    decision: Decision
    message: str
    preview_id: int
    entries: int = 0


class PreviewNotFoundError(LookupError):
    """No preview with that id in the requesting workspace (there may be one in another: that is not said)."""


NOT_FOUND_MESSAGE = "I can't find that preview in this workspace. Nothing changed."


def not_found(preview_id: int) -> DecisionResult:
    return DecisionResult(Decision.NOT_FOUND, NOT_FOUND_MESSAGE, preview_id)


def may_decide(settings: WorkspaceSettings, actor: Actor) -> bool:
    """Approvers decide previews (and request reversals): the people listed in settings, or the admins when nobody
    is listed. Only full members of the workspace are ever among them."""
    if not actor.is_member:
        return False
    return actor.user_id in settings.approvers if settings.approvers else actor.is_admin


def already_decided(preview: models.Preview | None, preview_id: int) -> DecisionResult:
    if preview is None:
        return DecisionResult(Decision.ALREADY_DECIDED, "This preview no longer exists.", preview_id)
    words = {  # the message itself shows who decided; this plain text can't mention anyone
        PreviewStatus.APPROVED.value: "already approved",
        PreviewStatus.POSTED.value: "already approved and posted",
        PreviewStatus.FAILED.value: "already approved",
        PreviewStatus.REJECTED.value: "already rejected",
        PreviewStatus.STALE.value: "out of date; refresh it",
    }
    return DecisionResult(
        Decision.ALREADY_DECIDED,
        f"This preview is {words.get(preview.status, preview.status)}. Nothing changed.",
        preview_id,
    )


def serialize_postings(session: Session, team_id: str) -> None:
    """Hold the workspace's row until commit: on PostgreSQL a row lock, on SQLite the database's write lock. Approvals
    and retries check what is already queued and queue more under it, one transaction at a time per workspace."""
    session.execute(
        update(models.Workspace)
        .where(models.Workspace.team_id == team_id)
        .values(name=models.Workspace.name)
        .execution_options(synchronize_session=False)
    )
