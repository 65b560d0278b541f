"""The small interfaces services use to reach the outside world; ``bot/`` and ``qbo/`` implement them.

Services never import ``bot``: they tell Slack things through a :class:`Notifier`. Every text a service hands out
(notices, messages, warnings, reasons) is plain text, never mrkdwn: names in it are as people typed them, and the
bot escapes the whole text where it shows it (``bot/blocks/common.py``: ``escape``, ``plain_to_mrkdwn``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ConnectedNotice:
    team_id: str
    user_id: str
    company_name: str
    realm_id: str
    reconnected: bool
    previous_company: str | None = None  # set when a reconnect picked a different company


@dataclass(frozen=True)
class ExpiryNotice:
    team_id: str
    admin_ids: Sequence[str]
    alert_channel: str | None
    company_name: str
    reason: str
    days_left: int | None = None  # set for a warning ahead of the hard expiry; None when already expired


class Notifier(Protocol):
    """What services need to say in Slack. Implementations must not raise on Slack errors they can log."""

    def connected(self, notice: ConnectedNotice) -> None: ...

    def connect_failed(self, team_id: str, user_id: str, message: str) -> None: ...

    def disconnected(self, team_id: str, targets: Sequence[str], actor: str | None, company_name: str) -> None:
        """Say in each target (a channel or user ID) that ``actor`` (None: someone inside QuickBooks) disconnected."""
        ...

    def connection_expired(self, notice: ExpiryNotice) -> None: ...

    def hard_expiry_warning(self, notice: ExpiryNotice) -> None: ...
