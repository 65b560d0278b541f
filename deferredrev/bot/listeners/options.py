"""Type-ahead for the account menus: answered from the cached chart, well inside Slack's 3 seconds."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack

from deferredrev.bot import ids
from deferredrev.bot.authority import Requester
from deferredrev.bot.blocks.modals import options_payload
from deferredrev.bot.deps import BotDeps
from deferredrev.bot.listeners.guard import GuardedApp
from deferredrev.qbo.errors import QboError
from deferredrev.services.mappings import Role
from deferredrev.services.qbo_access import NotConnectedError

logger = logging.getLogger(__name__)


def register(app: GuardedApp) -> None:
    app.options(ids.DEFERRED_SELECT)(deferred_revenue_options)
    app.options(ids.REVENUE_SELECT)(revenue_options)


def deferred_revenue_options(ack: Ack, body: dict[str, Any], deps: BotDeps, who: Requester) -> None:
    ack(options=_options(deps, body, who, Role.DEFERRED_REVENUE))


def revenue_options(ack: Ack, body: dict[str, Any], deps: BotDeps, who: Requester) -> None:
    ack(options=_options(deps, body, who, Role.REVENUE))


def _options(deps: BotDeps, body: dict[str, Any], who: Requester, role: Role) -> list[dict[str, Any]]:
    try:
        found = deps.mappings.options(who.team_id, role, str(body.get("value") or ""))
    except (QboError, NotConnectedError) as error:
        logger.warning("account options unavailable: %s", error.__class__.__name__)
        return []
    return options_payload([(option.account_id, option.text) for option in found])
