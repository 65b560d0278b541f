"""Who decides: the person behind an approval, a rejection, a retry or a reversal, as the Slack surface established
it. Services decide what the person may do from this and the workspace's settings (approvers, four-eyes)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    user_id: str
    is_admin: bool  # a DeferredRev admin of the workspace (implies is_member)
    is_member: bool  # a full member of the workspace: not a guest, not from another organisation, not deactivated
    name: str | None = None  # as people see them in Slack, for what an auditor reads outside Slack

    @property
    def label(self) -> str:
        """ "Bo Approver (U0APPROVE)": a person in QuickBooks notes and exports, never an ID alone."""
        return f"{self.name} ({self.user_id})" if self.name and self.name != self.user_id else self.user_id

    def __post_init__(self) -> None:
        if self.is_admin and not self.is_member:
            raise ValueError("an admin is always a full member of the workspace")
