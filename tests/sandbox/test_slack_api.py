"""The sandbox Web API answers slack_sdk's WebClient the way Slack does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from deferredrev.clock import ManualClock
from deferredrev.sandbox.slack import SlackSandbox, Workspace

TOKEN = "xoxb-acme-test"
OTHER_TOKEN = "xoxb-globex-test"
MODAL = {
    "type": "modal",
    "title": {"type": "plain_text", "text": "Mappings"},
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Loading…"}}],
}


@pytest.fixture
def sb(clock: ManualClock) -> Iterator[SlackSandbox]:
    with SlackSandbox(signing_secret="secret", clock=clock) as sandbox:
        ws = sandbox.add_workspace(team_id="T0001", name="Acme", bot_token=TOKEN)
        ws.add_user("U_ADMIN", "ana", is_admin=True, tz="America/New_York")
        ws.add_user("U_BOB", "bob")
        ws.add_user("U_GONE", "gone", deleted=True, is_restricted=True)
        ws.add_channel("C_FIN", "finance", members=["U_ADMIN"])
        ws.add_channel("C_OUT", "outside", members=["U_ADMIN"], bot_member=False)
        other = sandbox.add_workspace(team_id="T0002", name="Globex", bot_token=OTHER_TOKEN)
        other.add_channel("C_GLOBEX", "general")
        yield sandbox


@pytest.fixture
def client(sb: SlackSandbox) -> WebClient:
    return WebClient(base_url=sb.api_url, token=TOKEN)


def error_of(call: object) -> str:
    with pytest.raises(SlackApiError) as caught:
        call()  # type: ignore[operator]
    return str(caught.value.response["error"])


def test_auth_test_and_users_info(sb: SlackSandbox, client: WebClient) -> None:
    auth = client.auth_test()
    assert (auth["team_id"], auth["user_id"], auth["bot_id"]) == ("T0001", "U0BOTT0001", "B0BOTT0001")
    ana = client.users_info(user="U_ADMIN")["user"]
    assert (
        ana["is_admin"]
        and not ana["is_owner"]
        and ana["tz"] == "America/New_York"
        and ana["profile"]["display_name"] == "ana"
    )
    gone = client.users_info(user="U_GONE")["user"]
    assert gone["deleted"] and gone["is_restricted"]
    assert error_of(lambda: client.users_info(user="U_NOBODY")) == "user_not_found"
    assert sb.calls("users.info")[0].args == {"user": "U_ADMIN"}
    assert sb.calls("users.info")[0].token == TOKEN


def test_tokens_are_checked_and_scoped_to_their_workspace(sb: SlackSandbox) -> None:
    assert error_of(lambda: WebClient(base_url=sb.api_url, token="xoxb-unknown").auth_test()) == "invalid_auth"
    assert error_of(lambda: WebClient(base_url=sb.api_url).auth_test()) == "not_authed"
    other = WebClient(base_url=sb.api_url, token=OTHER_TOKEN)
    assert error_of(lambda: other.chat_postMessage(channel="C_FIN", text="hi")) == "channel_not_found"
    sb.workspace("T0002").revoke_tokens()
    assert error_of(other.auth_test) == "token_revoked"


def test_post_update_delete_and_permalink(sb: SlackSandbox, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C_FIN", text="Preview", blocks=[_section("*Preview*")])
    assert posted["channel"] == "C_FIN" and posted["message"]["blocks"][0]["text"]["text"] == "*Preview*"
    client.chat_update(channel="C_FIN", ts=posted["ts"], text="Posted", blocks=[_section("Posted")])
    [message] = sb.messages("C_FIN")
    assert (message.text, message.edited, message.ts) == ("Posted", True, posted["ts"])
    link = client.chat_getPermalink(channel="C_FIN", message_ts=posted["ts"])["permalink"]
    assert link.startswith("https://acme.slack.com/archives/C_FIN/p")
    client.chat_delete(channel="C_FIN", ts=posted["ts"])
    assert sb.messages("C_FIN") == []
    assert error_of(lambda: client.chat_update(channel="C_FIN", ts=posted["ts"], text="x")) == "message_not_found"


def test_not_in_channel_and_join(sb: SlackSandbox, client: WebClient) -> None:
    assert error_of(lambda: client.chat_postMessage(channel="C_OUT", text="hi")) == "not_in_channel"
    client.conversations_join(channel="C_OUT")
    client.chat_postMessage(channel="C_OUT", text="hi")
    assert [m.text for m in sb.messages("C_OUT")] == ["hi"]
    assert client.conversations_info(channel="C_OUT")["channel"]["is_member"] is True
    assert set(client.conversations_members(channel="C_OUT")["members"]) == {"U_ADMIN", "U0BOTT0001"}


def test_ephemeral_needs_the_user_in_the_channel(sb: SlackSandbox, client: WebClient) -> None:
    assert error_of(lambda: client.chat_postEphemeral(channel="C_FIN", user="U_BOB", text="psst")) == "user_not_in_channel"
    client.chat_postEphemeral(channel="C_FIN", user="U_ADMIN", text="psst")
    assert [e.text for e in sb.ephemerals("C_FIN", "U_ADMIN")] == ["psst"]
    assert sb.messages("C_FIN") == []


def test_dm_by_user_id_and_conversations_open(sb: SlackSandbox, client: WebClient) -> None:
    opened = client.conversations_open(users="U_ADMIN")["channel"]["id"]
    assert opened.startswith("D")
    posted = client.chat_postMessage(channel="U_ADMIN", text="Connection expired")
    assert posted["channel"] == opened
    assert [m.text for m in sb.dms("U_ADMIN")] == ["Connection expired"]
    assert client.conversations_open(users="U_ADMIN")["already_open"] is True


def test_invalid_blocks_and_limits_are_refused(client: WebClient) -> None:
    bad_button = {"type": "actions", "elements": [{"type": "button", "action_id": "a", "text": _plain("x" * 76)}]}
    assert error_of(lambda: client.chat_postMessage(channel="C_FIN", text="x", blocks=[bad_button])) == "invalid_blocks"
    too_many = [_section(f"line {i}") for i in range(51)]
    assert error_of(lambda: client.chat_postMessage(channel="C_FIN", text="x", blocks=too_many)) == "invalid_blocks"
    unknown = [{"type": "actions", "elements": [{"type": "buttonz", "action_id": "a"}]}]
    assert error_of(lambda: client.chat_postMessage(channel="C_FIN", text="x", blocks=unknown)) == "invalid_blocks"
    dupes = [_section("a", block_id="b1"), _section("b", block_id="b1")]
    assert error_of(lambda: client.chat_postMessage(channel="C_FIN", text="x", blocks=dupes)) == "invalid_blocks"
    assert error_of(lambda: client.chat_postMessage(channel="C_FIN", text="x" * 40_001)) == "msg_too_long"
    home = {"type": "home", "blocks": [_section(str(i)) for i in range(101)]}
    assert error_of(lambda: client.views_publish(user_id="U_ADMIN", view=home)) == "invalid_blocks"
    client.views_publish(user_id="U_ADMIN", view={"type": "home", "blocks": home["blocks"][:100]})


def test_rate_limit_and_error_injection(sb: SlackSandbox, client: WebClient) -> None:
    sb.inject_rate_limit("chat.postMessage", times=1, retry_after=7)
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel="C_FIN", text="hi")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "7"
    assert caught.value.response["error"] == "ratelimited"
    client.chat_postMessage(channel="C_FIN", text="hi")
    sb.inject_error("users.info", error="fatal_error")
    assert error_of(lambda: client.users_info(user="U_ADMIN")) == "fatal_error"
    assert [c.status for c in sb.calls("chat.postMessage")] == [429, 200]


def test_trigger_ids_expire_and_are_single_use(sb: SlackSandbox, client: WebClient, clock: ManualClock) -> None:
    assert error_of(lambda: client.views_open(trigger_id="123.456.abc", view=MODAL)) == "invalid_trigger_id"
    trigger = sb.issue_trigger("T0001", "U_ADMIN")
    clock.advance(timedelta(seconds=3.5))
    assert error_of(lambda: client.views_open(trigger_id=trigger, view=MODAL)) == "expired_trigger_id"
    trigger = sb.issue_trigger("T0001", "U_ADMIN")
    view = client.views_open(trigger_id=trigger, view=MODAL)["view"]
    assert view["id"].startswith("V") and view["hash"] and view["state"] == {"values": {}}
    assert error_of(lambda: client.views_open(trigger_id=trigger, view=MODAL)) == "exchanged_trigger_id"
    other = WebClient(base_url=sb.api_url, token=OTHER_TOKEN)
    foreign = sb.issue_trigger("T0001", "U_ADMIN")
    assert error_of(lambda: other.views_open(trigger_id=foreign, view=MODAL)) == "invalid_trigger_id"
    assert [v["id"] for v in sb.open_views("U_ADMIN")] == [view["id"]]


def test_views_update_hash_and_push_limit(sb: SlackSandbox, client: WebClient) -> None:
    view = client.views_open(trigger_id=sb.issue_trigger("T0001", "U_ADMIN"), view=MODAL)["view"]
    loaded = MODAL | {"blocks": [_section("Loaded")]}
    updated = client.views_update(view_id=view["id"], hash=view["hash"], view=loaded)["view"]
    assert updated["hash"] != view["hash"]
    assert error_of(lambda: client.views_update(view_id=view["id"], hash=view["hash"], view=loaded)) == "hash_conflict"
    assert error_of(lambda: client.views_update(view_id="V_NOPE", view=loaded)) == "not_found"
    for _ in range(2):
        client.views_push(trigger_id=sb.issue_trigger("T0001", "U_ADMIN"), view=MODAL)
    assert len(sb.open_views("U_ADMIN")) == 3
    trigger = sb.issue_trigger("T0001", "U_ADMIN")
    assert error_of(lambda: client.views_push(trigger_id=trigger, view=MODAL)) == "push_limit_reached"
    no_title = {"type": "modal", "blocks": MODAL["blocks"]}
    trigger = sb.issue_trigger("T0001", "U_ADMIN")
    assert error_of(lambda: client.views_open(trigger_id=trigger, view=no_title)) == "invalid_blocks"


def test_files_upload_v2_info_and_authenticated_download(sb: SlackSandbox, client: WebClient) -> None:
    done = client.files_upload_v2(channel="C_FIN", filename="detail.csv", content="a,b\n1,2\n", initial_comment="Detail")
    file_id = done["file"]["id"]
    [hosted] = sb.files
    assert (hosted.id, hosted.name, hosted.content, hosted.channels) == (file_id, "detail.csv", b"a,b\n1,2\n", ["C_FIN"])
    [message] = sb.messages("C_FIN")
    assert message.text == "Detail" and message.files[0]["id"] == file_id
    info = client.files_info(file=file_id)["file"]
    assert info["name"] == "detail.csv" and info["size"] == 8
    url = info["url_private_download"]
    assert httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}).content == b"a,b\n1,2\n"
    assert httpx.get(url).status_code == 302
    assert httpx.get(url, headers={"Authorization": f"Bearer {OTHER_TOKEN}"}).status_code == 302
    assert error_of(lambda: client.files_upload_v2(channel="C_OUT", filename="x.csv", content="x")) == "not_in_channel"


def test_response_url_effects_and_use_limit(sb: SlackSandbox, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C_FIN", text="Preview")
    url = sb.issue_response_url("T0001", "C_FIN", "U_ADMIN", message_ts=posted["ts"])
    hook = WebhookClient(url)
    assert hook.send(text="only you").status_code == 200
    assert [e.text for e in sb.ephemerals("C_FIN", "U_ADMIN")] == ["only you"]
    hook.send(text="everyone", response_type="in_channel")
    hook.send(text="Replaced", replace_original=True)
    assert [m.text for m in sb.messages("C_FIN")] == ["Replaced", "everyone"]
    hook.send_dict({"delete_original": True})
    assert [m.text for m in sb.messages("C_FIN")] == ["everyone"]
    hook.send(text="fifth")
    assert hook.send(text="sixth").status_code == 404
    assert len(sb.response_posts()) == 6


def test_oauth_install_and_token_rotation(clock: ManualClock) -> None:
    with SlackSandbox(clock=clock, token_rotation=True) as sb:
        ws: Workspace = sb.add_workspace(team_id="T0009", name="Initech", bot_token="xoxb-static")
        ws.add_user("U_OWNER", "olga", is_owner=True)
        redirect = "http://127.0.0.1:9/slack/oauth_redirect"
        query = {"client_id": sb.client_id, "scope": "commands,chat:write", "state": "s1", "redirect_uri": redirect}
        landing = httpx.get(sb.authorize_url, params=query)
        assert landing.status_code == 302
        back = parse_qs(urlparse(landing.headers["Location"]).query)
        assert back["state"] == ["s1"]
        client = WebClient(base_url=sb.api_url)
        installed = client.oauth_v2_access(client_id=sb.client_id, client_secret=sb.client_secret, code=back["code"][0])
        assert installed["team"]["id"] == "T0009" and installed["authed_user"]["id"] == "U_OWNER"
        assert installed["access_token"].startswith("xoxe.xoxb-") and installed["refresh_token"].startswith("xoxe-")
        assert installed["expires_in"] == 43200
        code = back["code"][0]
        reused = error_of(lambda: client.oauth_v2_access(client_id=sb.client_id, client_secret=sb.client_secret, code=code))
        assert reused == "invalid_code"
        refreshed = client.oauth_v2_access(
            client_id=sb.client_id,
            client_secret=sb.client_secret,
            grant_type="refresh_token",
            refresh_token=installed["refresh_token"],
        )
        assert refreshed["refresh_token"] != installed["refresh_token"]
        again = error_of(
            lambda: client.oauth_v2_access(
                client_id=sb.client_id,
                client_secret=sb.client_secret,
                grant_type="refresh_token",
                refresh_token=installed["refresh_token"],
            )
        )
        assert again == "invalid_refresh_token"
        assert WebClient(base_url=sb.api_url, token=refreshed["access_token"]).auth_test()["team_id"] == "T0009"
        clock.advance(timedelta(hours=13))
        expired = WebClient(base_url=sb.api_url, token=refreshed["access_token"])
        assert error_of(expired.auth_test) == "token_expired"
        bad = error_of(lambda: client.oauth_v2_access(client_id=sb.client_id, client_secret="nope", code="x"))
        assert bad == "bad_client_secret"


def _plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def _section(text: str, block_id: str | None = None) -> dict[str, object]:
    block: dict[str, object] = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if block_id:
        block["block_id"] = block_id
    return block
