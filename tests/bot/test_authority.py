"""Which workspace a request acts for, and what its user may do there, decided from users.info (the sandbox Slack,
over HTTP) and the configured admins."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient

from deferredrev.bot.authority import Authority, Requester, Standing, UnknownWorkspaceError, requester_of
from deferredrev.sandbox.slack import SlackSandbox
from deferredrev.settings import ConfiguredAdmins

TOKEN = "xoxb-authority-test"
HOME, OTHER, ORG = "T0HOME001", "T0OTHER01", "E0ORG0001"


@pytest.fixture
def sandbox() -> Iterator[SlackSandbox]:
    with SlackSandbox(signing_secret="s") as sb:
        sb.start()
        ws = sb.add_workspace(HOME, "Home Co", TOKEN)
        ws.add_user("U0ADMIN", "ana", is_admin=True)
        ws.add_user("U0OWNER", "oz", is_primary_owner=True)
        ws.add_user("U0MEMBER", "cy")
        ws.add_user("U0GUEST", "gus", is_restricted=True)
        ws.add_user("U0SINGLE", "sig", is_ultra_restricted=True)
        ws.add_user("U0GONE", "gone", is_admin=True, deleted=True)
        ws.add_user("U0EXTERN", "ext", is_admin=True, home_team_id=OTHER)  # an admin, but of their own org
        ws.add_user("U0STRANGE", "str", is_stranger=True, home_team_id=OTHER)
        ws.add_user(
            "W0GRID", "gri", home_team_id="T0SISTER", enterprise_user={"id": "W0GRID", "enterprise_id": ORG,
                                                                       "teams": ["T0SISTER", HOME]},
        )  # fmt: skip
        yield sb


@pytest.fixture
def client(sandbox: SlackSandbox) -> WebClient:
    return WebClient(token=TOKEN, base_url=sandbox.api_url)


def click(team: Any, user: str, home: str | None, **extra: Any) -> dict[str, Any]:
    return {"type": "block_actions", "team": team, "user": {"id": user, "team_id": home}, **extra}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"command": "/deferredrev", "team_id": HOME, "user_id": "U1"}, Requester(HOME, "U1", None, None)),
        (click({"id": HOME}, "U1", HOME), Requester(HOME, "U1", HOME, None)),
        # Slack Connect: the click is routed to the install that posted the message; the user is from elsewhere
        (click({"id": HOME}, "U1", OTHER), Requester(HOME, "U1", OTHER, None)),
        # a modal: the installation that opened it, not the submitter's workspace
        (
            {"type": "view_submission", "team": {"id": OTHER}, "user": {"id": "U1", "team_id": OTHER},
             "view": {"app_installed_team_id": HOME}},
            Requester(HOME, "U1", OTHER, None),
        ),
        # an org-wide Enterprise Grid install: no team, or the org's id; the books are the user's own workspace's
        (
            click(None, "U1", HOME, enterprise={"id": ORG}, is_enterprise_install=True),
            Requester(HOME, "U1", HOME, ORG),
        ),
        (
            {"type": "view_submission", "team": None, "user": {"id": "U1", "team_id": HOME},
             "enterprise": {"id": ORG}, "view": {"app_installed_team_id": ORG}},
            Requester(HOME, "U1", HOME, ORG),
        ),
        # an event: the user is in the event, the workspace in authorizations
        (
            {"type": "event_callback", "team_id": HOME, "event": {"type": "app_home_opened", "user": "U1"},
             "authorizations": [{"team_id": HOME, "enterprise_id": None}]},
            Requester(HOME, "U1", None, None),
        ),
    ],
)  # fmt: skip
def test_the_workspace_of_a_request(body: dict[str, Any], expected: Requester) -> None:
    assert requester_of(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        click(None, "U1", None),  # nothing names a workspace: never the string "None"
        click({"id": None}, "U1", "None"),
        click({"id": ORG}, "U1", ORG),  # only an organisation
        {"type": "block_actions", "team": {"id": HOME}},  # no user
    ],
)
def test_a_request_naming_no_workspace_is_refused(body: dict[str, Any]) -> None:
    with pytest.raises(UnknownWorkspaceError):
        requester_of(body)


@pytest.mark.parametrize(
    ("user", "home", "standing", "is_admin"),
    [
        ("U0ADMIN", HOME, Standing.MEMBER, True),
        ("U0OWNER", None, Standing.MEMBER, True),
        ("U0MEMBER", HOME, Standing.MEMBER, False),
        ("U0GUEST", HOME, Standing.GUEST, False),
        ("U0SINGLE", HOME, Standing.GUEST, False),
        ("U0GONE", HOME, Standing.DEACTIVATED, False),
        ("U0EXTERN", OTHER, Standing.EXTERNAL, False),  # a Slack Connect admin of another org
        ("U0EXTERN", None, Standing.EXTERNAL, False),  # users.info says so even when the payload doesn't
        ("U0STRANGE", OTHER, Standing.EXTERNAL, False),
        ("U0ADMIN", OTHER, Standing.EXTERNAL, False),  # a payload whose home disagrees is not trusted
        ("W0GRID", "T0SISTER", Standing.MEMBER, False),  # Grid: home elsewhere in the org, a member here too
        ("U0NOBODY", HOME, Standing.UNCONFIRMED, False),  # users.info can't find them
    ],
)
def test_standing_and_admin_come_from_users_info(
    client: WebClient, user: str, home: str | None, standing: Standing, is_admin: bool
) -> None:
    clearance = Authority(ConfiguredAdmins()).clearance(client, Requester(HOME, user, home, ORG))
    assert (clearance.standing, clearance.is_admin) == (standing, is_admin)
    assert (clearance.refusal("approve previews") is None) is (standing is Standing.MEMBER)
    assert clearance.actor().is_member is (standing is Standing.MEMBER)


def test_configured_admins_count_in_their_own_workspace_only(client: WebClient) -> None:
    configured = ConfiguredAdmins(scoped=frozenset({(HOME, "U0MEMBER"), (OTHER, "U0GUEST")}))
    authority = Authority(configured)
    assert authority.is_admin(client, Requester(HOME, "U0MEMBER", HOME, None))
    other_workspace = Authority(ConfiguredAdmins(scoped=frozenset({(OTHER, "U0MEMBER")})))
    assert not other_workspace.is_admin(client, Requester(HOME, "U0MEMBER", HOME, None))
    assert not authority.is_admin(client, Requester(HOME, "U0GUEST", HOME, None))  # configured elsewhere, a guest here


def test_being_configured_never_overrides_slack(client: WebClient) -> None:
    authority = Authority(ConfiguredAdmins(unscoped=frozenset({"U0GUEST", "U0GONE", "U0EXTERN", "U0MEMBER"})))
    verdicts = {u: authority.is_admin(client, Requester(HOME, u, None, None)) for u in ("U0GUEST", "U0GONE", "U0EXTERN")}
    assert verdicts == {"U0GUEST": False, "U0GONE": False, "U0EXTERN": False}
    assert authority.is_admin(client, Requester(HOME, "U0MEMBER", None, None))


def test_a_failed_lookup_is_not_cached(sandbox: SlackSandbox, client: WebClient) -> None:
    authority = Authority(ConfiguredAdmins())
    sandbox.inject_error("users.info", "ratelimited")
    who = Requester(HOME, "U0ADMIN", HOME, None)
    assert authority.clearance(client, who).standing is Standing.UNCONFIRMED
    assert authority.clearance(client, who).is_admin  # asked again, not remembered as refused
