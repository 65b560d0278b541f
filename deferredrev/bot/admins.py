"""Who counts as a DeferredRev admin: Slack workspace admins and owners (from ``users.info``, cached briefly),
plus the users named in ``DEFERREDREV_ADMINS``. Deactivated users and guests never do."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

logger = logging.getLogger(__name__)

CACHE_SECONDS = 300.0


class AdminChecker:
    def __init__(self, configured_admins: frozenset[str], cache_seconds: float = CACHE_SECONDS) -> None:
        self._configured = configured_admins
        self._cache_seconds = cache_seconds
        self._cache: dict[tuple[str, str], tuple[float, bool]] = {}
        self._lock = threading.Lock()

    def is_admin(self, client: WebClient, team_id: str, user_id: str) -> bool:
        if user_id in self._configured:
            return True
        key = (team_id, user_id)
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        verdict = self._ask_slack(client, user_id)
        with self._lock:
            self._cache[key] = (time.monotonic() + self._cache_seconds, verdict)
        return verdict

    @staticmethod
    def _ask_slack(client: WebClient, user_id: str) -> bool:
        try:
            user: dict[str, Any] = client.users_info(user=user_id)["user"]
        except SlackApiError as error:
            logger.warning("users.info failed for %s: %s", user_id, error.response.get("error"))
            return False
        if user.get("deleted") or user.get("is_restricted") or user.get("is_ultra_restricted") or user.get("is_bot"):
            return False
        return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))

    def forget(self, team_id: str) -> None:
        with self._lock:
            for key in [k for k in self._cache if k[0] == team_id]:
                del self._cache[key]
