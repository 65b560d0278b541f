"""Listeners registered per kind, each module exposing ``register(app)``."""

from __future__ import annotations

from concurrent.futures import Executor

from slack_bolt import App

from deferredrev.bot.deps import BotDeps
from deferredrev.bot.listeners import actions, commands, contracts, events, options, previews, views
from deferredrev.bot.listeners.guard import ErrorHandler, GuardedApp
from deferredrev.bot.response_url import Responder


def register_listeners(app: App, on_error: ErrorHandler, deps: BotDeps, executor: Executor, responder: Responder) -> None:
    guarded = GuardedApp(app, on_error, deps, executor, responder)
    for kind in (commands, actions, views, options, events, previews, contracts):
        kind.register(guarded)
