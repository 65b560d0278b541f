"""Answers through response_url over kept-alive connections: delivered to the sandbox Slack, connections reused, a
connection Slack closed while idle replaced without losing or repeating the answer, and nothing else retried."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from deferredrev.bot.response_url import PooledRespond, ResponseUrlHosts, ResponseUrlPoster
from deferredrev.sandbox.slack import SlackSandbox

TEAM, CHANNEL, USER = "T0RESP001", "C0RESP001", "U0RESP001"


@dataclass
class Recorder:
    """What a stand-in for Slack's response_url endpoint saw: one entry per connection, the bodies posted on it."""

    connections: list[list[dict[str, object]]] = field(default_factory=list)
    close_after_answer: bool = False  # drop each connection after answering, as an idle timeout would later
    reset_before_answer: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def bodies(self) -> list[dict[str, object]]:
        return [body for connection in self.connections for body in connection]


@pytest.fixture
def recorder() -> Iterator[tuple[Recorder, str]]:
    seen = Recorder()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            with seen.lock:
                seen.connections.append([])
                self.index = len(seen.connections) - 1

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if seen.reset_before_answer:
                self.close_connection = True
                return
            with seen.lock:
                seen.connections[self.index].append(body)
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
            self.close_connection = seen.close_after_answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield seen, f"http://127.0.0.1:{server.server_address[1]}/response/T0RESP001/1/abc"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def slack() -> Iterator[SlackSandbox]:
    with SlackSandbox(signing_secret="s") as sandbox:
        sandbox.add_workspace(TEAM, "Resp", "xoxb-resp").add_channel(CHANNEL, "finance", members=[USER])
        yield sandbox


@pytest.fixture
def poster(slack: SlackSandbox) -> Iterator[ResponseUrlPoster]:
    posting = ResponseUrlPoster(timeout=5)
    yield posting
    posting.close()  # before the sandbox stops: a kept connection would hold its server loop open


def test_an_answer_replaces_the_ephemeral_message_in_the_sandbox_slack(
    slack: SlackSandbox, poster: ResponseUrlPoster
) -> None:
    asked = PooledRespond(response_url=slack.issue_response_url(TEAM, CHANNEL, USER), poster=poster)
    first = asked(text="Disconnect QuickBooks?", response_type="ephemeral")
    (prompt,) = slack.ephemerals(CHANNEL, USER)
    clicked = slack.issue_response_url(TEAM, CHANNEL, USER, message_ts=prompt.ts, ephemeral=True)
    second = PooledRespond(response_url=clicked, poster=poster)(
        text="Still connected; nothing changed.",
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "Still connected; nothing changed."}}],
        response_type="ephemeral",
        replace_original=True,
    )
    assert (first.status_code, first.body, second.status_code) == (200, "ok", 200)
    assert [message.text for message in slack.ephemerals(CHANNEL, USER)] == ["Still connected; nothing changed."]


def test_slacks_refusal_comes_back_as_the_response_not_an_exception(slack: SlackSandbox, poster: ResponseUrlPoster) -> None:
    refused = poster.post(slack.base_url + "/response/T0RESP001/0/unknown", {"text": "hello"})
    assert (refused.status_code, refused.body) == (404, "no_service")


def test_answers_to_one_host_share_a_kept_connection(recorder: tuple[Recorder, str]) -> None:
    seen, url = recorder
    poster = ResponseUrlPoster(timeout=5)
    for number in range(5):
        assert poster.post(url, {"text": f"answer {number}"}).status_code == 200
    poster.close()
    assert len(seen.connections) == 1
    assert [body["text"] for body in seen.bodies] == [f"answer {n}" for n in range(5)]


def test_a_kept_connection_closed_by_slack_is_replaced_and_each_answer_arrives_once(
    recorder: tuple[Recorder, str],
) -> None:
    seen, url = recorder
    seen.close_after_answer = True
    poster = ResponseUrlPoster(timeout=5)
    for number in range(3):
        assert poster.post(url, {"text": f"answer {number}"}).status_code == 200
    assert [body["text"] for body in seen.bodies] == ["answer 0", "answer 1", "answer 2"]
    assert all(len(connection) <= 1 for connection in seen.connections)


def test_a_new_connection_that_fails_is_not_retried(recorder: tuple[Recorder, str]) -> None:
    seen, url = recorder
    seen.reset_before_answer = True
    poster = ResponseUrlPoster(timeout=5)
    with pytest.raises(ConnectionError):
        poster.post(url, {"text": "once"})
    assert len(seen.connections) == 1  # one attempt: Slack counts every post to a response_url


def test_a_connection_idle_too_long_is_not_reused(recorder: tuple[Recorder, str]) -> None:
    seen, url = recorder
    now = [100.0]
    poster = ResponseUrlPoster(timeout=5, idle_seconds=20, clock=lambda: now[0])
    try:
        poster.post(url, {"text": "first"})
        now[0] += 21
        poster.post(url, {"text": "after a pause"})
        poster.post(url, {"text": "right after"})
    finally:
        poster.close()
    assert [len(connection) for connection in seen.connections] == [1, 2]


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://hooks.slack.com/x", "https:///no-host"])
def test_only_http_urls_are_posted_to(url: str) -> None:
    with pytest.raises(ValueError, match="http"):
        ResponseUrlPoster().post(url, {"text": "x"})


def test_respond_needs_a_response_url() -> None:
    with pytest.raises(ValueError, match="no response_url"):
        PooledRespond(response_url=None, poster=ResponseUrlPoster())(text="x")


def test_answers_from_many_threads_each_arrive_once(recorder: tuple[Recorder, str]) -> None:
    seen, url = recorder
    poster = ResponseUrlPoster(timeout=5, idle_per_host=4)
    texts = [f"answer {thread}.{number}" for thread in range(8) for number in range(10)]

    def send(thread: int) -> None:
        for number in range(10):
            assert poster.post(url, {"text": f"answer {thread}.{number}"}).status_code == 200

    workers = [threading.Thread(target=send, args=(thread,)) for thread in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    poster.close()
    assert sorted(str(body["text"]) for body in seen.bodies) == sorted(texts)
    assert len(seen.connections) < len(texts)  # connections were reused, at most 4 kept between answers


SANDBOX_API = "http://127.0.0.1:5555/api/"


@pytest.mark.parametrize(
    ("api_url", "response_url", "allowed"),
    [
        ("https://slack.com/api/", "https://hooks.slack.com/commands/T1/2/abc", True),
        ("https://slack.com/api/", "https://HOOKS.slack.com:443/actions/T1/2/abc", True),
        ("https://slack.com/api/", "http://hooks.slack.com/actions/T1/2/abc", False),  # not over TLS
        ("https://slack.com/api/", "https://hooks.slack.com:8443/actions/T1/2/abc", False),
        ("https://slack.com/api/", "https://hooks.slack.com.evil.example/actions", False),
        ("https://slack.com/api/", "https://hooks.slack.com@evil.example/actions", False),  # userinfo, not the host
        ("https://slack.com/api/", "https://evil.example/?x=https://hooks.slack.com/", False),
        ("https://slack.com/api/", "https://hooks.slack-gov.com/actions/T1/2/abc", False),
        ("https://slack.com/api/", "https://slack.com/api/", False),  # the Web API itself is Slack's, not a hook
        ("https://slack.com/api/", "https://hooks.slack.com:99999/x", False),  # no such port
        ("https://slack-gov.com/api/", "https://hooks.slack-gov.com/actions/T1/2/abc", True),
        ("https://slack-gov.com/api/", "https://hooks.slack.com/actions/T1/2/abc", True),
        (SANDBOX_API, "http://127.0.0.1:5555/response/T1/1/abc", True),  # a stand-in Slack serves its own hooks
        (SANDBOX_API, "http://127.0.0.1:5556/response/T1/1/abc", False),  # another server on the same host
        (SANDBOX_API, "https://127.0.0.1:5555/response/T1/1/abc", False),
        (SANDBOX_API, "https://hooks.slack.com/actions/T1/2/abc", True),
        (SANDBOX_API, "ftp://127.0.0.1:5555/response", False),
    ],
)
def test_response_urls_may_point_only_at_slack(api_url: str, response_url: str, allowed: bool) -> None:
    assert ResponseUrlHosts.for_api_url(api_url).allows(response_url) is allowed
