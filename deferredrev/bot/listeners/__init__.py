"""Listeners registered per kind, each module exposing ``register(app)``."""

from __future__ import annotations

from concurrent.futures import Executor

from slack_bolt import App

from deferredrev.bot.deps import BotDeps
from deferredrev.bot.listeners import actions, commands, contracts, events, options, previews, views
from deferredrev.bot.listeners.guard import ErrorHandler, GuardedApp


def register_listeners(app: App, on_error: ErrorHandler, deps: BotDeps, executor: Executor) -> None:
    guarded = GuardedApp(app, on_error, deps, executor)
    for kind in (commands, actions, views, options, events, previews, contracts):
        kind.register(guarded)
