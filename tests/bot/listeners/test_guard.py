"""GuardedApp on a real Bolt app with signed requests: what runs before the ack, what after, where failures go."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from slack_bolt import Ack, App, BoltContext, BoltRequest, BoltResponse, Respond
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from deferredrev.bot.app import error_handler
from deferredrev.bot.listeners.guard import GuardedApp, Later
from deferredrev.bot.response_url import PooledRespond, Responder, ResponseUrlHosts, ResponseUrlPoster
from deferredrev.sandbox.slack import SlackSandbox
from tests.hit_recorder import hit_recorder

SECRET = "guard-test-signing-secret"
BOT_TOKEN = "xoxb-guard-test-token"
SECTION = [{"type": "section", "text": {"type": "mrkdwn", "text": "answer"}}]
DEPS = object()  # stands in for BotDeps: the guard only hands it over


class Recorder:
    def __init__(self) -> None:
        self.errors: list[tuple[Exception, dict[str, Any]]] = []
        self.failed = threading.Event()

    def on_error(self, error: Exception, body: dict[str, Any], context: BoltContext) -> None:
        self.errors.append((error, body))
        self.failed.set()


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(max_workers=4)
    yield pool
    pool.shutdown(wait=True)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def slack() -> Iterator[SlackSandbox]:
    sandbox = SlackSandbox(signing_secret=SECRET).start()
    sandbox.add_workspace("T1", "Guard Test", BOT_TOKEN)
    yield sandbox
    sandbox.stop()


@pytest.fixture
def bolt(slack: SlackSandbox) -> App:
    """Configured as ``build_bolt_app`` configures it; Bolt checks the bot token against the sandbox Slack."""
    return App(
        client=WebClient(token=BOT_TOKEN, base_url=slack.api_url), signing_secret=SECRET, process_before_response=True
    )


@pytest.fixture
def poster(slack: SlackSandbox) -> Iterator[ResponseUrlPoster]:
    posting = ResponseUrlPoster(timeout=5)
    yield posting
    posting.close()  # before the sandbox stops: a kept connection would hold its server loop open


def responder(slack: SlackSandbox, poster: ResponseUrlPoster | None) -> Responder:
    """As ``build_bolt_app`` builds it: response_urls may point at Slack's hosts and the (sandbox) Web API's origin."""
    return Responder(ResponseUrlHosts.for_api_url(slack.api_url), poster)


@pytest.fixture
def app(
    bolt: App, recorder: Recorder, executor: ThreadPoolExecutor, slack: SlackSandbox, poster: ResponseUrlPoster
) -> GuardedApp:
    return GuardedApp(bolt, recorder.on_error, DEPS, executor, responder(slack, poster))  # type: ignore[arg-type]


def signed(body: str, content_type: str = "application/x-www-form-urlencoded") -> BoltRequest:
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=timestamp, body=body)
    headers = {
        "content-type": [content_type],
        "x-slack-request-timestamp": [timestamp],
        "x-slack-signature": [signature or ""],
    }
    return BoltRequest(body=body, headers=headers)


def command(text: str) -> BoltRequest:
    fields = {
        "command": "/deferredrev", "text": text, "team_id": "T1", "user_id": "U1", "channel_id": "C1",
        "trigger_id": "1.2.abc", "response_url": "http://127.0.0.1:9/response/1",
    }  # fmt: skip
    return signed(urlencode(fields))


def click(action_id: str, response_url: str = "http://127.0.0.1:9/response/2") -> BoltRequest:
    payload = {
        "type": "block_actions", "team": {"id": "T1"}, "user": {"id": "U1"}, "trigger_id": "1.2.abc",
        "actions": [{"action_id": action_id, "block_id": "b", "type": "button", "value": "v"}],
        "response_url": response_url,
    }  # fmt: skip
    return signed("payload=" + quote(json.dumps(payload)))


def test_a_listener_answers_in_the_ack_with_its_arguments_and_deps(bolt: App, app: GuardedApp) -> None:
    seen: dict[str, Any] = {}

    def status(ack: Ack, command: dict[str, Any], deps: object) -> None:
        seen.update(command=command["text"], deps=deps)
        ack(text="all good", blocks=SECTION)

    app.command("/deferredrev")(status)
    response = bolt.dispatch(command("status"))
    assert response.status == 200
    assert json.loads(response.body)["text"] == "all good"
    assert seen == {"command": "status", "deps": DEPS}


def test_after_ack_work_runs_once_slack_has_its_answer(bolt: App, app: GuardedApp) -> None:
    release, finished = threading.Event(), threading.Event()
    ran_in: list[str] = []

    def clicked(body: dict[str, Any], deps: object) -> None:
        release.wait(5)
        ran_in.append(threading.current_thread().name)
        finished.set()

    app.action("slow", after_ack=True)(clicked)
    response: BoltResponse = bolt.dispatch(click("slow"))
    assert response.status == 200 and response.body == ""
    assert not finished.is_set()  # Slack has its ack while the work is still waiting
    release.set()
    assert finished.wait(5)
    assert ran_in != [threading.current_thread().name]


def test_later_runs_work_after_the_ack(bolt: App, app: GuardedApp) -> None:
    done = threading.Event()

    def submitted(ack: Ack, later: Later) -> None:
        ack(text="saved", blocks=SECTION)
        later(done.set)

    app.command("/deferredrev")(submitted)
    assert json.loads(bolt.dispatch(command("x")).body)["text"] == "saved"
    assert done.wait(5)


def test_a_failure_before_the_ack_still_acks_and_reaches_the_error_handler(
    bolt: App, app: GuardedApp, recorder: Recorder
) -> None:
    def broken(ack: Ack) -> None:
        raise LookupError("boom before ack")

    app.action("broken")(broken)
    response = bolt.dispatch(click("broken"))
    assert response.status == 200  # not Bolt's 500: Slack must not show its own error on top of ours
    assert [str(error) for error, _ in recorder.errors] == ["boom before ack"]
    assert recorder.errors[0][1]["actions"][0]["action_id"] == "broken"


@pytest.mark.parametrize("how", ["after_ack", "later"])
def test_a_failure_after_the_ack_reaches_the_error_handler_with_its_request(
    bolt: App, app: GuardedApp, recorder: Recorder, how: str
) -> None:
    def fail() -> None:
        raise RuntimeError(f"boom in {how}")

    if how == "after_ack":
        app.action("fails", after_ack=True)(lambda body: fail())
    else:

        def fails(ack: Ack, later: Later) -> None:
            ack()
            later(fail)

        app.action("fails")(fails)
    assert bolt.dispatch(click("fails")).status == 200
    assert recorder.failed.wait(5)
    error, body = recorder.errors[0]
    assert str(error) == f"boom in {how}" and body["type"] == "block_actions"


def test_a_listener_run_after_the_ack_cannot_ask_for_ack(app: GuardedApp) -> None:
    def confused(ack: Ack) -> None:
        ack()

    with pytest.raises(TypeError, match="must not take ack"):
        app.action("confused", after_ack=True)(confused)


def test_events_are_acknowledged_before_their_listener_runs(bolt: App, app: GuardedApp) -> None:
    release, finished = threading.Event(), threading.Event()

    def home_opened(event: dict[str, Any]) -> None:
        release.wait(5)
        finished.set()

    app.event("app_home_opened")(home_opened)
    body = json.dumps(
        {"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": "Ev1", "event_time": 1,
         "event": {"type": "app_home_opened", "user": "U1", "tab": "home"}}
    )  # fmt: skip
    response = bolt.dispatch(signed(body, "application/json"))
    assert response.status == 200 and not finished.is_set()
    release.set()
    assert finished.wait(5)


def test_answers_through_response_url_go_through_the_shared_poster(
    bolt: App, app: GuardedApp, recorder: Recorder, slack: SlackSandbox, executor: ThreadPoolExecutor
) -> None:
    """The listener's ``respond`` and the error handler's ``context.respond`` both post over kept connections."""
    slack.workspace("T1").add_channel("C1", "finance", members=["U1"])
    given: list[object] = []
    done = threading.Event()

    def clicked(respond: Any, context: BoltContext) -> None:
        given.append(respond)
        respond(text="Still connected; nothing changed.", response_type="ephemeral")
        given.append(context.respond)
        done.set()

    app.action("answered", after_ack=True)(clicked)
    url = slack.issue_response_url("T1", "C1", "U1")
    assert bolt.dispatch(click("answered", url)).status == 200
    assert done.wait(5)
    assert all(isinstance(respond, PooledRespond) for respond in given) and given[0] is given[1]
    assert [message.text for message in slack.ephemerals("C1", "U1")] == ["Still connected; nothing changed."]


def test_without_a_poster_respond_is_bolts_own(
    bolt: App, recorder: Recorder, executor: ThreadPoolExecutor, slack: SlackSandbox
) -> None:
    """Behind an egress proxy the service passes no poster: Bolt's respond honours HTTPS_PROXY as its Web API does."""
    slack.workspace("T1").add_channel("C1", "finance", members=["U1"])
    app = GuardedApp(bolt, recorder.on_error, DEPS, executor, responder(slack, None))  # type: ignore[arg-type]
    given: list[object] = []
    done = threading.Event()

    def clicked(respond: Any) -> None:
        given.append(respond)
        respond(text="answered the usual way", response_type="ephemeral")
        done.set()

    app.action("answered", after_ack=True)(clicked)
    assert bolt.dispatch(click("answered", slack.issue_response_url("T1", "C1", "U1"))).status == 200
    assert done.wait(5)
    assert type(given[0]) is Respond
    assert [message.text for message in slack.ephemerals("C1", "U1")] == ["answered the usual way"]


@pytest.mark.parametrize("pooled", [True, False], ids=["kept-connections", "bolts-respond"])
def test_a_response_url_that_is_not_slacks_gets_nothing_and_the_user_a_dm(
    bolt: App,
    recorder: Recorder,
    executor: ThreadPoolExecutor,
    slack: SlackSandbox,
    poster: ResponseUrlPoster,
    caplog: pytest.LogCaptureFixture,
    pooled: bool,
) -> None:
    slack.workspace("T1").add_user("U1", "ana")
    app = GuardedApp(bolt, recorder.on_error, DEPS, executor, responder(slack, poster if pooled else None))  # type: ignore[arg-type]
    done = threading.Event()

    def clicked(respond: Any) -> None:
        respond(text="Here is your connect link", response_type="ephemeral", replace_original=True)
        done.set()

    app.action("answered", after_ack=True)(clicked)
    with hit_recorder() as elsewhere:  # another loopback server: same host as the sandbox Slack, another port
        assert bolt.dispatch(click("answered", elsewhere.url)).status == 200
        assert done.wait(5)
        assert slack.wait_for_dm("U1", contains="Here is your connect link")
        assert elsewhere.paths == []
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "http://127.0.0.1" in logged and "not Slack" in logged
    assert "canary" not in logged and "capability" not in logged


def test_the_error_handler_answers_by_dm_when_the_response_url_is_not_slacks(
    bolt: App, executor: ThreadPoolExecutor, slack: SlackSandbox, poster: ResponseUrlPoster
) -> None:
    slack.workspace("T1").add_user("U1", "ana")
    guard = responder(slack, poster)
    app = GuardedApp(bolt, error_handler(guard), DEPS, executor, guard)  # type: ignore[arg-type]

    def clicked() -> None:
        raise RuntimeError("boom")

    app.action("broken", after_ack=True)(clicked)
    with hit_recorder() as elsewhere:
        assert bolt.dispatch(click("broken", elsewhere.url)).status == 200
        assert slack.wait_for_dm("U1", contains="Something went wrong on our side")
        assert elsewhere.paths == []
