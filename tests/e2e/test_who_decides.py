"""Authority comes from the user's home workspace and Slack's account flags, not from the channel a click came from
or from being listed somewhere: someone from another organisation in a Slack Connect channel, a guest and a
deactivated account never connect, map, import, change settings, approve, post or reverse, even when they are named
as approvers and DeferredRev admins."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from deferredrev.bot import ids
from deferredrev.sandbox.intuit import RateLimits, SandboxConfig
from deferredrev.services.contracts import import_contracts_csv
from tests.e2e.harness import (
    ADMIN,
    APPROVER,
    CHANNEL,
    CONTRACTS,
    TEAM,
    Stack,
    map_accounts,
    running_stack,
    scale_for_tests,
)
from tests.e2e.test_workspace_isolation import a_state

OUTSIDER, GUEST, GONE = "U0OUTSIDE", "U0GUEST01", "U0GONE001"
OTHER_ORG = "T0OTHERORG"


@pytest.fixture
def shared(database_url: str, now: datetime) -> Iterator[Stack]:
    config = SandboxConfig(rate_limits=RateLimits(time_scale=60))
    admins = ",".join([ADMIN, OUTSIDER, GUEST, GONE])  # named as admins: it must not matter
    with running_stack(database_url, now=now, intuit_config=config, DEFERREDREV_ADMINS=admins) as stack:
        scale_for_tests(stack)
        workspace = stack.workspace
        workspace.add_user(OUTSIDER, "olga", real_name="Olga Outside", is_admin=True, home_team_id=OTHER_ORG)
        workspace.add_user(GUEST, "gus", real_name="Gus Guest", is_restricted=True)
        workspace.add_user(GONE, "gone", real_name="Gone Person", is_admin=True, deleted=True)
        workspace.channel(CHANNEL).members.extend([OUTSIDER, GUEST])  # type: ignore[union-attr]
        stack.connect()
        stack.slack.wait_for_dm(ADMIN, contains="Connected to")
        map_accounts(stack)
        import_contracts_csv(stack.server.runtime.sessions, stack.clock, team_id=TEAM, text=CONTRACTS, actor=ADMIN)
        stack.server.app.workspaces.update(
            TEAM, user_id=ADMIN, approvers=[ADMIN, APPROVER, OUTSIDER, GUEST, GONE], four_eyes=False,
            alert_channel=None, posting_mode="per_contract", cutover_date=None,
        )  # fmt: skip
        yield stack


def in_channel(action_id: str, value: str) -> dict[str, Any]:
    return {"actions": [{"action_id": action_id, "block_id": "b", "type": "button", "value": value}],
            "channel": {"id": CHANNEL, "name": "finance"},
            "container": {"type": "message", "message_ts": "1.000001", "channel_id": CHANNEL}}  # fmt: skip


def submitted(callback_id: str, metadata: Any, values: dict[str, Any]) -> dict[str, Any]:
    view = {"id": "V0SUBMIT1", "type": "modal", "callback_id": callback_id, "private_metadata": json.dumps(metadata),
            "state": {"values": values}}  # fmt: skip
    return {"view": view, "response_urls": []}


def privileged(stack: Stack, user: str, previews: dict[str, int]) -> dict[str, httpx.Response]:
    forge = stack.driver.forge
    mapping = stack.server.app.mappings.current(TEAM)
    assert mapping is not None
    realm = stack.server.app.connections.status(TEAM).realm_id
    pick = {"selected_option": {"value": mapping.revenue_id, "text": {"type": "plain_text", "text": "x"}}}
    return {
        "connect": stack.driver.slash(user, CHANNEL, "connect"),
        "reconnect": forge("block_actions", user, **in_channel(ids.RECONNECT_BUTTON, "")),
        "open mappings": forge("block_actions", user, **in_channel(ids.OPEN_MAPPINGS, "")),
        "open settings": forge("block_actions", user, **in_channel(ids.OPEN_SETTINGS, "")),
        "open import": forge("block_actions", user, **in_channel(ids.OPEN_IMPORT, "")),
        "approve": forge("block_actions", user, **in_channel(ids.PREVIEW_APPROVE, str(previews["open"]))),
        "retry": forge("block_actions", user, **in_channel(ids.PREVIEW_RETRY, str(previews["failed"]))),
        "reverse": forge("block_actions", user, **in_channel(ids.HISTORY_REVERSE, str(previews["posted"]))),
        "reject": forge("view_submission", user, **submitted(ids.REJECT_VIEW, previews["open"], {
            ids.REJECT_REASON_BLOCK: {ids.REJECT_REASON_INPUT: {"value": "no"}}})),
        "map": forge("view_submission", user, **submitted(ids.MAPPINGS_VIEW, {"realm_id": realm}, {
            ids.DEFERRED_BLOCK: {ids.DEFERRED_SELECT: pick}, ids.REVENUE_BLOCK: {ids.REVENUE_SELECT: pick}})),
        "settings": forge("view_submission", user, **submitted(ids.SETTINGS_VIEW, {"channel_id": CHANNEL}, {
            ids.APPROVERS_BLOCK: {ids.APPROVERS_INPUT: {"selected_users": [user]}}})),
        "import": forge("view_submission", user, **submitted(ids.IMPORT_VIEW, {"channel_id": CHANNEL}, {})),
        "disconnect": forge("block_actions", user, **in_channel(ids.DISCONNECT_CONFIRM, "")),
    }  # fmt: skip


def previews_in_every_state(stack: Stack) -> dict[str, int]:
    from deferredrev.storage.models import Preview

    app = stack.server.app
    made = {}
    for name in ("posted", "failed", "open"):
        period = app.previews.default_period().parse("2026-10")
        made[name] = app.previews.create(TEAM, period, requested_by=ADMIN, channel_id=CHANNEL).preview_id
    with stack.server.runtime.sessions.begin() as session:
        session.get(Preview, made["posted"]).status = "posted"  # type: ignore[union-attr]
        session.get(Preview, made["failed"]).status = "failed"  # type: ignore[union-attr]
    return made


@pytest.mark.parametrize(
    ("user", "reason"),
    [
        (OUTSIDER, "You're not a member of this workspace"),
        (GUEST, "Guests can't"),
        (GONE, "Deactivated accounts can't"),
    ],
)
def test_outsiders_guests_and_deactivated_accounts_change_nothing(shared: Stack, user: str, reason: str) -> None:
    stack = shared
    previews = previews_in_every_state(stack)
    before = a_state(stack)
    answers = privileged(stack, user, previews)
    stack.server.app.kicker.wait()
    stack.server.app.posting.run()
    assert a_state(stack) == before
    assert all(answer.status_code == 200 for answer in answers.values())
    assert stack.slack.open_views(user) == []  # no modal was opened for them either

    def said() -> str:
        told = [str(m.blocks) for m in stack.slack.dms(user)] + [
            str(e.blocks) for e in stack.slack.ephemerals(CHANNEL, user)
        ]
        return " ".join(told + [answer.text for answer in answers.values()])

    # each refusal says why (the answers after the ack arrive on their own time)
    stack.slack.wait_for(lambda: said().count(reason) >= len(answers), timeout=10, message=f"{len(answers)} refusals")
