"""Who decides: the person behind an approval, a rejection, a retry or a reversal, as the Slack surface established
it. Services decide what the person may do from this and the workspace's settings (approvers, four-eyes)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    user_id: str
    is_admin: bool  # a DeferredRev admin of the workspace (implies is_member)
    is_member: bool  # a full member of the workspace: not a guest, not from another organisation, not deactivated

    def __post_init__(self) -> None:
        if self.is_admin and not self.is_member:
            raise ValueError("an admin is always a full member of the workspace")
