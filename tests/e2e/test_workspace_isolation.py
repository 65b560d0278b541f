"""One workspace can never act on another's books. Two workspaces installed in multi-workspace mode, each connected
to its own QuickBooks company; an admin and approver of workspace B sends correctly signed requests naming
workspace A's objects, for every action, view and options id the app listens for. Every attempt is refused (or acts
on B's own books), and nothing reaches A's company or changes A's records."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from deferredrev.bot import ids
from deferredrev.bot.listeners import listener_ids
from deferredrev.sandbox.intuit import RateLimits, SandboxConfig
from deferredrev.sandbox.intuit.seed import MULTICURRENCY_REALM, US_REALM
from deferredrev.services.contracts import import_contracts_csv
from deferredrev.storage.models import AuditEvent, JournalEntry, Preview
from tests.e2e.harness import (
    ADMIN,
    CHANNEL,
    CONTRACTS,
    TEAM,
    Stack,
    map_accounts,
    running_stack,
    scale_for_tests,
)

B_TEAM, B_ADMIN, B_CHANNEL = "T0E2E0002", "U0BADMIN1", "C0BBOOKS1"


@pytest.fixture
def two(database_url: str, now: datetime) -> Iterator[Stack]:
    config = SandboxConfig(rate_limits=RateLimits(time_scale=60))
    with running_stack(database_url, now=now, multi_workspace=True, intuit_config=config) as stack:
        scale_for_tests(stack)
        other = stack.slack.add_workspace(B_TEAM, "Globex Books", "xoxb-e2e-other-workspace")
        other.add_user(B_ADMIN, "bea", real_name="Bea Admin", is_admin=True)
        other.add_channel(B_CHANNEL, "books", members=[B_ADMIN])
        for team, admin, channel, realm in (
            (TEAM, ADMIN, CHANNEL, US_REALM),
            (B_TEAM, B_ADMIN, B_CHANNEL, MULTICURRENCY_REALM),
        ):
            stack.install(team, admin)
            stack.connect(admin, realm=realm, channel=channel)
            stack.slack.wait_for_dm(admin, contains="Connected to")
            map_accounts(stack, team, admin)
            import_contracts_csv(stack.server.runtime.sessions, stack.clock, team_id=team, text=CONTRACTS, actor=admin)
        stack.server.app.workspaces.update(  # no approvers listed: any admin decides (B's admin is one, in B)
            TEAM, user_id=ADMIN, approvers=[], four_eyes=True, alert_channel=None, posting_mode="per_contract",
            cutover_date=None,
        )  # fmt: skip
        stack.server.app.workspaces.update(
            B_TEAM, user_id=B_ADMIN, approvers=[B_ADMIN], four_eyes=False, alert_channel=None,
            posting_mode="per_contract", cutover_date=None,
        )  # fmt: skip
        yield stack


def a_state(stack: Stack) -> dict[str, Any]:
    """Everything of workspace A's that a request could change: its previews, entries, settings, mapping,
    connection and contracts, and what its QuickBooks company holds."""
    app = stack.server.app
    with stack.server.runtime.sessions() as session:
        previews = session.execute(
            select(Preview.id, Preview.status, Preview.decided_by).where(Preview.team_id == TEAM).order_by(Preview.id)
        ).all()
        entries = session.execute(
            select(JournalEntry.id, JournalEntry.status, JournalEntry.generation).where(JournalEntry.team_id == TEAM)
        ).all()
    return {
        "previews": previews,
        "entries": entries,
        "settings": app.workspaces.settings(TEAM),
        "mapping": app.mappings.current(TEAM),
        "connection": app.connections.status(TEAM),
        "contracts": app.previews.history(TEAM),
        "quickbooks": [(e["Id"], e["SyncToken"]) for e in stack.intuit.journal_entries(US_REALM)],
    }


def a_previews(stack: Stack) -> dict[str, int]:
    """A's previews in each state the forged requests need: open, posted (to reverse), failed (to retry), stale."""
    app = stack.server.app
    made = {}
    for name in ("posted", "failed", "stale", "open"):
        result = app.previews.create(TEAM, app.previews.default_period().parse("2026-10"), requested_by=ADMIN,
                                     channel_id=CHANNEL)  # fmt: skip
        made[name] = result.preview_id
    with stack.server.runtime.sessions.begin() as session:  # states set directly: only their ids matter here
        for name, status in (("posted", "posted"), ("failed", "failed"), ("stale", "stale")):
            session.get(Preview, made[name]).status = status  # type: ignore[union-attr]
    return made


def signed_options(stack: Stack, user: str, action_id: str, value: str, **fields: Any) -> httpx.Response:
    return stack.driver.forge("block_suggestion", user, action_id=action_id, block_id="b", value=value, **fields)


def button(action_id: str, value: str) -> dict[str, Any]:
    return {"actions": [{"action_id": action_id, "block_id": "b", "type": "button", "value": value}],
            "channel": {"id": B_CHANNEL, "name": "books"},
            "container": {"type": "message", "message_ts": "1.000001", "channel_id": B_CHANNEL}}  # fmt: skip


def submission(callback_id: str, metadata: str, values: dict[str, Any]) -> dict[str, Any]:
    return {"view": {"id": "V0FORGED1", "type": "modal", "callback_id": callback_id, "private_metadata": metadata,
                     "state": {"values": values}}, "response_urls": []}  # fmt: skip


def attempts(stack: Stack, a: dict[str, int]) -> dict[str, Callable[[], httpx.Response]]:
    """Every id the app listens for, sent by workspace B's admin, naming workspace A's objects where it names any."""
    forge = stack.driver.forge
    a_mapping = stack.server.app.mappings.current(TEAM)
    assert a_mapping is not None
    account = {"selected_option": {"value": a_mapping.deferred_revenue_id, "text": {"type": "plain_text", "text": "x"}}}
    revenue = {"selected_option": {"value": a_mapping.revenue_id, "text": {"type": "plain_text", "text": "x"}}}
    return {
        ids.PREVIEW_APPROVE: lambda: forge("block_actions", B_ADMIN, **button(ids.PREVIEW_APPROVE, str(a["open"]))),
        ids.PREVIEW_REJECT: lambda: forge("block_actions", B_ADMIN, **button(ids.PREVIEW_REJECT, str(a["open"]))),
        ids.PREVIEW_REFRESH: lambda: forge("block_actions", B_ADMIN, **button(ids.PREVIEW_REFRESH, str(a["stale"]))),
        ids.PREVIEW_RETRY: lambda: forge("block_actions", B_ADMIN, **button(ids.PREVIEW_RETRY, str(a["failed"]))),
        ids.HISTORY_REVERSE: lambda: forge("block_actions", B_ADMIN, **button(ids.HISTORY_REVERSE, str(a["posted"]))),
        ids.PREVIEW_INCLUDE_EARLIER: lambda: forge(
            "block_actions", B_ADMIN, **button(ids.PREVIEW_INCLUDE_EARLIER, str(a["open"]))
        ),
        ids.PREVIEW_EARLIER_MONTH: lambda: forge(
            "block_actions", B_ADMIN, **button(ids.PREVIEW_EARLIER_MONTH, str(a["open"]))
        ),
        ids.PREVIEW_SET_CUTOVER: lambda: forge("block_actions", B_ADMIN, **button(ids.PREVIEW_SET_CUTOVER, str(a["open"]))),
        ids.REJECT_VIEW: lambda: forge(
            "view_submission",
            B_ADMIN,
            **submission(
                ids.REJECT_VIEW, str(a["open"]), {ids.REJECT_REASON_BLOCK: {ids.REJECT_REASON_INPUT: {"value": "x"}}}
            ),
        ),
        ids.MAPPINGS_VIEW: lambda: forge(
            "view_submission",
            B_ADMIN,
            **submission(
                ids.MAPPINGS_VIEW,
                json.dumps({"realm_id": US_REALM}),
                {ids.DEFERRED_BLOCK: {ids.DEFERRED_SELECT: account}, ids.REVENUE_BLOCK: {ids.REVENUE_SELECT: revenue}},
            ),
        ),
        ids.SETTINGS_VIEW: lambda: forge(
            "view_submission",
            B_ADMIN,
            **submission(
                ids.SETTINGS_VIEW,
                json.dumps({"channel_id": CHANNEL}),
                {ids.APPROVERS_BLOCK: {ids.APPROVERS_INPUT: {"selected_users": [B_ADMIN]}}},
            ),
        ),
        ids.IMPORT_VIEW: lambda: forge(
            "view_submission", B_ADMIN, **submission(ids.IMPORT_VIEW, json.dumps({"channel_id": CHANNEL}), {})
        ),
        ids.DEFERRED_SELECT: lambda: signed_options(stack, B_ADMIN, ids.DEFERRED_SELECT, "Deferred"),
        ids.REVENUE_SELECT: lambda: signed_options(stack, B_ADMIN, ids.REVENUE_SELECT, "Revenue"),
        # These name nothing stored: they act on the requester's own workspace, which must be B.
        ids.CONNECT_BUTTON: lambda: forge("block_actions", B_ADMIN, **button(ids.CONNECT_BUTTON, TEAM)),
        ids.CONNECT_LINK: lambda: forge("block_actions", B_ADMIN, **button(ids.CONNECT_LINK, TEAM)),
        ids.RECONNECT_BUTTON: lambda: forge("block_actions", B_ADMIN, **button(ids.RECONNECT_BUTTON, TEAM)),
        ids.OPEN_MAPPINGS: lambda: forge("block_actions", B_ADMIN, **button(ids.OPEN_MAPPINGS, TEAM)),
        ids.OPEN_SETTINGS: lambda: forge("block_actions", B_ADMIN, **button(ids.OPEN_SETTINGS, TEAM)),
        ids.OPEN_IMPORT: lambda: forge("block_actions", B_ADMIN, **button(ids.OPEN_IMPORT, TEAM)),
        ids.DISCONNECT_ASK: lambda: forge("block_actions", B_ADMIN, **button(ids.DISCONNECT_ASK, TEAM)),
        ids.DISCONNECT_CANCEL: lambda: forge("block_actions", B_ADMIN, **button(ids.DISCONNECT_CANCEL, TEAM)),
        ids.DISCONNECT_CONFIRM: lambda: forge("block_actions", B_ADMIN, **button(ids.DISCONNECT_CONFIRM, TEAM)),
    }


def test_every_request_workspace_b_can_send_leaves_workspace_a_alone(two: Stack) -> None:
    stack = two
    a = a_previews(stack)
    before = a_state(stack)
    forged = attempts(stack, a)
    registered = listener_ids()
    assert set(forged) == registered["action"] | registered["view"] | registered["options"]  # none is left out
    answers = {}
    for action_id, send in forged.items():
        response = answers[action_id] = send()
        assert response.status_code == 200, (action_id, response.text)
        stack.server.app.kicker.wait()
        stack.server.app.posting.run()  # anything wrongly queued would be posted now
        assert a_state(stack) == before, action_id
    with stack.server.runtime.sessions() as session:
        refused = session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.team_id == TEAM,
                                                                                  AuditEvent.actor == B_ADMIN))  # fmt: skip
    assert refused == 0  # nothing was done in A's name by B's admin
    # B was told, in words that say nothing of A

    def told() -> str:
        return " ".join(str(m.blocks) for m in stack.slack.dms(B_ADMIN)) + " ".join(a.text for a in answers.values())

    # approve, reject, refresh, retry, reverse, include, earlier month, cut-over (answered after the ack)
    stack.slack.wait_for(lambda: told().count("can't find that preview in this workspace") >= 8, timeout=10,
                         message="eight refusals")  # fmt: skip
    assert "QuickBooks company changed since" in answers[ids.MAPPINGS_VIEW].text
    assert "Acme Finance" not in told() and "Sandbox Company_US_1" not in told()


def test_workspace_b_still_works_on_its_own_books(two: Stack) -> None:
    """The same requests naming B's own objects do what they should: the refusals above are about the workspace."""
    stack = two
    app = stack.server.app
    result = app.previews.create(B_TEAM, app.previews.default_period().parse("2026-10"), requested_by=B_ADMIN,
                                 channel_id=B_CHANNEL)  # fmt: skip
    response = stack.driver.forge("block_actions", B_ADMIN, **button(ids.PREVIEW_APPROVE, str(result.preview_id)))
    assert response.status_code == 200
    stack.slack.wait_for(lambda: len(stack.intuit.journal_entries(MULTICURRENCY_REALM)) == 5, timeout=30,
                         message="B's entries in B's company")  # fmt: skip
    assert stack.intuit.journal_entries(US_REALM) == []


def uninstall_event(team_id: str | None, enterprise_id: str | None) -> str:
    return json.dumps({
        "token": "unused", "team_id": team_id, "enterprise_id": enterprise_id, "api_app_id": "A0SANDBOX",
        "type": "event_callback", "event_id": f"Ev{team_id or enterprise_id}", "event_time": 1,
        "event": {"type": "app_uninstalled", "event_ts": "1.0"},
        "authorizations": [{"enterprise_id": enterprise_id, "team_id": team_id, "user_id": "U0BOT",
                            "is_bot": True, "is_enterprise_install": team_id is None}],
    })  # fmt: skip


def test_an_uninstall_disconnects_only_the_workspaces_it_names(two: Stack) -> None:
    stack = two
    app = stack.server.app
    app.workspaces.note_enterprise(TEAM, "E0GRID001")  # A is in a Grid organisation, as its requests said
    answer = stack.driver.post_signed(uninstall_event(B_TEAM, None), content_type="application/json")
    assert answer.status_code == 200
    stack.slack.wait_for(lambda: app.connections.status(B_TEAM).status == "disconnected", message="B disconnected")
    assert app.connections.status(TEAM).status == "connected"
    # An org-wide installation's uninstall names only the organisation: its workspaces go, never a workspace "None".
    answer = stack.driver.post_signed(uninstall_event(None, "E0GRID001"), content_type="application/json")
    assert answer.status_code == 200
    stack.slack.wait_for(lambda: app.connections.status(TEAM).status == "disconnected", message="A disconnected")
    with stack.server.runtime.sessions() as session:
        from deferredrev.storage.models import Workspace

        assert set(session.scalars(select(Workspace.team_id))) == {TEAM, B_TEAM}


def test_a_preview_number_from_another_workspace_lists_nothing(two: Stack) -> None:
    stack = two
    a = a_previews(stack)
    stack.command(f"history {a['posted']}", user=B_ADMIN, channel=B_CHANNEL)
    said = stack.ephemeral_text(B_ADMIN, contains="find that preview", channel=B_CHANNEL)
    assert "can't find that preview in this workspace" in said and "Oct 2026" not in said
