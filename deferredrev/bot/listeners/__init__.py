"""Listeners registered per kind, each module exposing ``register(app)``."""

from __future__ import annotations

from slack_bolt import App

from deferredrev.bot.listeners import actions, commands, events, options, views


def register_listeners(app: App) -> None:
    commands.register(app)
    actions.register(app)
    views.register(app)
    options.register(app)
    events.register(app)
