"""The floor for the ack and memory benchmarks: a bare Bolt app that only acks, served the way the service is.

The same Flask adapter, waitress ``create_server`` settings and listener pool size (32) as the service, a
``WebClient`` with the bot token pointed at ``SLACK_API_URL``, but none of our listeners, middleware, replay guard or
database. Listeners run the way Bolt runs them by default over HTTP (``process_before_response=False``: each on the
pool, the request thread polling for the ack every 10 ms); the service instead acks inline in the request thread
(``process_before_response=True``, see ``deferredrev/bot/listeners/guard.py``), which is most of why its acks are
faster than the floor's at a steady rate.

    python -m bench._floor_app --port 8080 --threads 16   # reads SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN, SLACK_API_URL

This module imports only Bolt, Flask and waitress (not ``deferredrev``), so the memory benchmark's floor process
holds nothing of ours.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask, Response, jsonify, request
from slack_bolt import Ack, App, Respond
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_sdk import WebClient

COMMAND = "/deferredrev"
ACTION_IDS = ("qbo_connect_link", "disconnect_cancel", "disconnect_confirm", "open_mappings")
OPTIONS_IDS = ("deferred_revenue_select", "revenue_select")
FIXED_OPTIONS = [
    {"text": {"type": "plain_text", "text": f"Account {n:03d} · Other Current Liability"}, "value": str(n)}
    for n in range(100)
]
LISTENER_THREADS = 32  # as deferredrev.bot.app.LISTENER_THREADS


ANSWERED_ACTION = "disconnect_cancel"
ANSWER = "Still connected; nothing changed."


def build_floor_app(signing_secret: str, bot_token: str, api_url: str, answer: bool = False) -> Flask:
    """The floor; with ``answer``, ANSWERED_ACTION also answers through response_url after acking, the way a Bolt
    app usually does (ack, then respond, in the same listener on Bolt's pool)."""
    bolt = App(
        client=WebClient(token=bot_token, base_url=api_url),
        signing_secret=signing_secret,
        listener_executor=ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="bolt-listener"),
        process_before_response=False,
    )

    def just_ack(ack: Ack) -> None:
        ack()

    def ack_and_answer(ack: Ack, respond: Respond) -> None:
        ack()
        respond(text=ANSWER, response_type="ephemeral", replace_original=True)

    def fixed_options(ack: Ack) -> None:
        ack(options=FIXED_OPTIONS)

    bolt.command(COMMAND)(just_ack)
    for action_id in ACTION_IDS:
        bolt.action(action_id)(ack_and_answer if answer and action_id == ANSWERED_ACTION else just_ack)
    for action_id in OPTIONS_IDS:
        bolt.options(action_id)(fixed_options)

    web = Flask("floor")
    handler = SlackRequestHandler(bolt)

    @web.post("/slack/events")
    def slack_events() -> Any:
        return handler.handle(request)

    @web.get("/readyz")
    def readyz() -> Response:
        return jsonify(status="ok")

    return web


def main(argv: list[str] | None = None) -> int:
    from waitress.server import create_server

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--answer", action="store_true", help=f"{ANSWERED_ACTION} also answers via response_url")
    args = parser.parse_args(argv)
    web = build_floor_app(
        os.environ["SLACK_SIGNING_SECRET"], os.environ["SLACK_BOT_TOKEN"], os.environ["SLACK_API_URL"], args.answer
    )
    server = create_server(web, host="0.0.0.0", port=args.port, threads=args.threads, ident="floor")
    signal.signal(signal.SIGTERM, lambda signum, frame: server.close())
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    except (OSError, ValueError):
        pass  # closing the sockets from the signal handler ends waitress's loop with these
    return 0


if __name__ == "__main__":
    sys.exit(main())
