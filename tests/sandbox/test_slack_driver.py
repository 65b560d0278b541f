"""The driver plays Slack toward a real Bolt app over HTTP; the app's Web API calls land in the sandbox."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from slack_bolt import Ack, App, Respond
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from deferredrev.sandbox.slack import DriverError, SlackDriver, SlackSandbox, serve_wsgi

SECRET = "driver-test-signing-secret"
TOKEN = "xoxb-driver-test"
ACCOUNTS = [("4000", "Revenue: Subscriptions"), ("2400", "Deferred Revenue"), ("4100", "Revenue: Services")]


@dataclass
class Seen:
    downloads: list[bytes] = field(default_factory=list)
    submissions: list[dict[str, Any]] = field(default_factory=list)


def _plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def preview_blocks() -> list[dict[str, Any]]:
    return [
        {"type": "header", "text": _plain("Preview 2026-10")},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Dr* Deferred Revenue  $1,000.00"}},
        {
            "type": "actions",
            "block_id": "decision",
            "elements": [
                {
                    "type": "button",
                    "action_id": "post",
                    "style": "primary",
                    "text": _plain("Post to QuickBooks"),
                    "value": "42",
                },
                {"type": "button", "action_id": "reject", "style": "danger", "text": _plain("Reject"), "value": "42"},
            ],
        },
    ]


def mapping_modal() -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "mappings",
        "title": _plain("Account mappings"),
        "submit": _plain("Save"),
        "blocks": [
            {
                "type": "input",
                "block_id": "revenue",
                "label": _plain("Revenue account"),
                "element": {"type": "external_select", "action_id": "revenue_account", "min_query_length": 2},
            },
            {
                "type": "input",
                "block_id": "memo",
                "label": _plain("Memo"),
                "element": {"type": "plain_text_input", "action_id": "memo_text"},
            },
            {
                "type": "input",
                "block_id": "contracts",
                "optional": True,
                "label": _plain("Contracts CSV"),
                "element": {"type": "file_input", "action_id": "contracts_file", "filetypes": ["csv"]},
            },
        ],
    }


def wizard_step(step: int) -> dict[str, Any]:
    name = {
        "type": "input",
        "block_id": "name",
        "label": _plain("Name"),
        "element": {"type": "plain_text_input", "action_id": "name"},
    }
    return {
        "type": "modal",
        "callback_id": f"wizard-{step}",
        "notify_on_close": step == 2,
        "title": _plain(f"Step {step}"),
        "submit": _plain("Next"),
        "blocks": [name],
    }


def build_app(sb: SlackSandbox, seen: Seen) -> App:
    app = App(signing_secret=SECRET, client=WebClient(base_url=sb.api_url, token=TOKEN))

    @app.command("/deferredrev")
    def command(ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond) -> None:
        text = command["text"]
        if text == "help":
            ack(text="Try `/deferredrev preview`")
            return
        ack()
        if text == "preview":
            client.chat_postMessage(channel=command["channel_id"], text="Preview 2026-10", blocks=preview_blocks())
        elif text == "mappings":
            loading = {
                "type": "modal",
                "title": _plain("Account mappings"),
                "blocks": [{"type": "section", "text": _plain("Loading…")}],
            }
            opened = client.views_open(trigger_id=command["trigger_id"], view=loading)["view"]
            client.views_update(view_id=opened["id"], hash=opened["hash"], view=mapping_modal())
        elif text == "wizard":
            client.views_open(trigger_id=command["trigger_id"], view=wizard_step(1))
        elif text == "status":
            respond(text="Connected to *Acme Books*")

    @app.action("post")
    def post(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        container = body["container"]
        blocks = body["message"]["blocks"][:-1] + [
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Posted by <@{body['user']['id']}>"}]}
        ]
        client.chat_update(channel=container["channel_id"], ts=container["message_ts"], text="Posted", blocks=blocks)

    @app.action("reject")
    def reject(ack: Ack, respond: Respond) -> None:
        ack()
        respond(replace_original=True, text="Rejected")

    @app.options("revenue_account")
    def options(ack: Ack, payload: dict[str, Any]) -> None:
        query = payload["value"].lower()
        ack(options=[{"text": _plain(f"{c} {n}"), "value": c} for c, n in ACCOUNTS if query in n.lower()])

    @app.view("mappings")
    def save(ack: Ack, view: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        values = view["state"]["values"]
        if values["memo"]["memo_text"]["value"] == "bad":
            ack(response_action="errors", errors={"memo": "Memo is not acceptable"})
            return
        ack()
        seen.submissions.append(values)
        for file in values["contracts"]["contracts_file"]["files"]:
            auth = {"Authorization": f"Bearer {client.token}"}
            seen.downloads.append(httpx.get(file["url_private_download"], headers=auth).content)
        account = values["revenue"]["revenue_account"]["selected_option"]["value"]
        client.chat_postMessage(channel=body["user"]["id"], text=f"Saved revenue account {account}")

    @app.view("wizard-1")
    def wizard_next(ack: Ack) -> None:
        ack(response_action="update", view=wizard_step(2))

    @app.view_closed("wizard-2")
    def wizard_closed(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        seen.submissions.append({"closed": body["view"]["callback_id"]})

    @app.event("app_home_opened")
    def home(event: dict[str, Any], client: WebClient) -> None:
        blocks = [
            {"type": "section", "text": {"type": "mrkdwn", "text": "Status: *Connected*"}},
            {"type": "actions", "elements": [{"type": "button", "action_id": "refresh", "text": _plain("Refresh")}]},
        ]
        client.views_publish(user_id=event["user"], view={"type": "home", "blocks": blocks})

    @app.action("refresh")
    def refresh(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "Status: *Refreshed*"}}]
        client.views_publish(user_id=body["user"]["id"], view={"type": "home", "blocks": blocks})

    return app


@pytest.fixture
def sb() -> Iterator[SlackSandbox]:
    with SlackSandbox(signing_secret=SECRET) as sandbox:
        ws = sandbox.add_workspace(team_id="T0001", name="Acme", bot_token=TOKEN)
        ws.add_user("U_ADMIN", "ana", is_admin=True)
        ws.add_user("U_BOB", "bob")
        ws.add_channel("C_FIN", "finance", members=["U_ADMIN", "U_BOB"])
        ws.add_channel("C_OUT", "outside", members=["U_ADMIN"], bot_member=False)
        yield sandbox


@pytest.fixture
def seen() -> Seen:
    return Seen()


@pytest.fixture
def driver(sb: SlackSandbox, seen: Seen) -> Iterator[SlackDriver]:
    served = serve_wsgi(SlackRequestHandler(build_app(sb, seen)))
    with SlackDriver(served.url, SECRET, sb) as slack:
        yield slack
    served.stop()


def test_slash_command_posts_and_click_updates_the_rendered_message(sb: SlackSandbox, driver: SlackDriver) -> None:
    assert driver.slash("U_ADMIN", "C_FIN", "preview").status_code == 200
    message = sb.wait_for_message("C_FIN", contains="Post to QuickBooks")
    assert driver.click("U_BOB", action_id="post", channel="C_FIN", message_ts=message.ts).status_code == 200
    updated = sb.wait_for_message("C_FIN", contains="Posted by")
    assert updated.ts == message.ts and updated.edited
    assert [b["type"] for b in updated.blocks] == ["header", "section", "context"]
    with pytest.raises(DriverError, match="no element with action_id 'post'"):
        driver.click("U_BOB", action_id="post", channel="C_FIN")


def test_respond_and_ack_replies_land_as_ephemerals(sb: SlackSandbox, driver: SlackDriver) -> None:
    driver.slash("U_ADMIN", "C_FIN", "help")
    assert sb.ephemerals("C_FIN", "U_ADMIN")[0].text == "Try `/deferredrev preview`"
    driver.slash("U_ADMIN", "C_FIN", "status")
    assert sb.wait_for_ephemeral("C_FIN", "U_ADMIN", contains="Acme Books").source == "response_url"
    driver.slash("U_ADMIN", "C_FIN", "preview")
    sb.wait_for_message("C_FIN", contains="Preview")
    transcript = sb.transcript("C_FIN", viewer="U_ADMIN")
    assert "deferredrev (only visible to you):\n  Connected to Acme Books" in transcript
    assert transcript.endswith(
        "== Preview 2026-10 ==\n  Dr Deferred Revenue  $1,000.00\n  [ Post to QuickBooks ]  [ Reject ]"
    )
    driver.click("U_BOB", action_id="reject", channel="C_FIN")
    assert sb.wait_for_message("C_FIN", contains="Rejected").text == "Rejected"


def test_modal_suggestions_errors_and_submission_with_file(sb: SlackSandbox, driver: SlackDriver, seen: Seen) -> None:
    driver.slash("U_ADMIN", "C_FIN", "mappings")
    view = sb.wait_for_view("U_ADMIN", callback_id="mappings")
    options = driver.suggest("U_ADMIN", view["id"], "revenue_account", "rev")
    assert [o["value"] for o in options] == ["4000", "2400", "4100"]
    with pytest.raises(DriverError, match="min_query_length"):
        driver.suggest("U_ADMIN", view["id"], "revenue_account", "r")
    with pytest.raises(DriverError, match="required input 'Memo'"):
        driver.submit("U_ADMIN", view["id"], {"revenue_account": options[0]})
    rejected = driver.submit("U_ADMIN", view["id"], {"revenue_account": options[0], "memo_text": "bad"})
    assert rejected.json() == {"response_action": "errors", "errors": {"memo": "Memo is not acceptable"}}
    assert [v["id"] for v in sb.open_views("U_ADMIN")] == [view["id"]]
    csv = sb.host_file("contracts.csv", b"contract_id,customer\nC-1,Initech\n", user="U_ADMIN")
    values = {"revenue_account": options[0], "memo_text": "ok", "contracts_file": [csv]}
    assert driver.submit("U_ADMIN", view["id"], values).status_code == 200
    assert sb.open_views("U_ADMIN") == []
    assert sb.wait_for_dm("U_ADMIN", contains="Saved revenue account 4000")
    assert seen.downloads == [b"contract_id,customer\nC-1,Initech\n"]
    assert seen.submissions[0]["revenue"]["revenue_account"]["selected_option"]["value"] == "4000"


def test_app_home_event_and_home_button(sb: SlackSandbox, driver: SlackDriver) -> None:
    assert driver.app_home_opened("U_ADMIN").status_code == 200
    sb.wait_for_home("U_ADMIN", contains="Connected")
    driver.click("U_ADMIN", action_id="refresh", home=True)
    assert sb.wait_for_home("U_ADMIN", contains="Refreshed")["type"] == "home"


def test_not_in_channel_is_what_the_app_gets(sb: SlackSandbox, driver: SlackDriver) -> None:
    driver.slash("U_ADMIN", "C_OUT", "preview")
    call = sb.wait_for_call("chat.postMessage")
    assert call.error == "not_in_channel"
    assert sb.messages("C_OUT") == []


def test_bolt_rejects_forged_stale_and_unsigned_requests(driver: SlackDriver) -> None:
    body = driver.slash_body("U_ADMIN", "C_FIN", "status")
    assert driver.raw_post(body, driver.forged_headers(body)).status_code == 401
    assert driver.raw_post(body, driver.stale_headers(body)).status_code == 401
    assert driver.raw_post(body, {"Content-Type": "application/x-www-form-urlencoded"}).status_code == 401
    headers = driver.signed_headers(body)
    assert driver.raw_post(body.replace("status", "preview"), headers).status_code == 401
    assert driver.raw_post(body, headers).status_code == 200
    assert driver.url_verification("abc").json() == {"challenge": "abc"}


def test_triggers_from_the_driver_expire(sb: SlackSandbox) -> None:
    sb.trigger_ttl = 0.2
    client = WebClient(base_url=sb.api_url, token=TOKEN)
    trigger = sb.issue_trigger("T0001", "U_ADMIN")
    time.sleep(0.3)
    with pytest.raises(Exception, match="expired_trigger_id"):
        client.views_open(trigger_id=trigger, view=mapping_modal())


def test_response_action_update_keeps_the_view_and_close_notifies(sb: SlackSandbox, driver: SlackDriver, seen: Seen) -> None:
    driver.slash("U_ADMIN", "C_FIN", "wizard")
    first = sb.wait_for_view("U_ADMIN", callback_id="wizard-1")
    driver.submit("U_ADMIN", first["id"], {"name": "Ana"})
    second = sb.wait_for_view("U_ADMIN", callback_id="wizard-2")
    assert second["id"] == first["id"] and second["hash"] != first["hash"]
    assert second["state"]["values"]["name"]["name"]["value"] == "Ana"
    response = driver.close_view("U_ADMIN", second["id"])
    assert response is not None and response.status_code == 200
    assert sb.open_views("U_ADMIN") == []
    sb.wait_for(lambda: seen.submissions == [{"closed": "wizard-2"}], message="view_closed handled")


def test_event_retries_carry_slack_headers(sb: SlackSandbox, driver: SlackDriver) -> None:
    event = {"type": "app_home_opened", "user": "U_ADMIN", "channel": sb.dm_channel("U_ADMIN"), "tab": "home"}
    assert driver.event("T0001", event, event_id="Ev0001").status_code == 200
    assert driver.event("T0001", event, event_id="Ev0001", retry_num=1).status_code == 200
    assert len(sb.wait_for(lambda: sb.calls("views.publish")[1:], message="two publishes")) == 1
