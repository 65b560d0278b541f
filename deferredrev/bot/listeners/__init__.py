"""Listeners registered per kind, each module exposing ``register(app)``."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from slack_bolt import App

from deferredrev.bot.deps import BotDeps
from deferredrev.bot.listeners import actions, commands, completeness, contracts, events, options, previews, views
from deferredrev.bot.listeners.guard import ErrorHandler, GuardedApp
from deferredrev.bot.response_url import Responder

LISTENER_MODULES = (commands, actions, views, options, events, previews, completeness, contracts)


def register_listeners(app: App, on_error: ErrorHandler, deps: BotDeps, executor: Executor, responder: Responder) -> None:
    guarded = GuardedApp(app, on_error, deps, executor, responder)
    for kind in LISTENER_MODULES:
        kind.register(guarded)


class _Recorder:
    """The registration surface of :class:`GuardedApp`, noting what each ``register`` asks for instead."""

    def __init__(self) -> None:
        self.ids: dict[str, set[str]] = {"command": set(), "action": set(), "view": set(), "options": set(), "event": set()}

    def _note(self, kind: str, name: str) -> Callable[[Callable[..., Any]], None]:
        self.ids[kind].add(name)
        return lambda listener: None

    def command(self, command: str, *, after_ack: bool = False) -> Callable[[Callable[..., Any]], None]:
        return self._note("command", command)

    def action(self, action_id: str, *, after_ack: bool = False) -> Callable[[Callable[..., Any]], None]:
        return self._note("action", action_id)

    def view(self, callback_id: str) -> Callable[[Callable[..., Any]], None]:
        return self._note("view", callback_id)

    def options(self, action_id: str) -> Callable[[Callable[..., Any]], None]:
        return self._note("options", action_id)

    def event(self, event_type: str) -> Callable[[Callable[..., Any]], None]:
        return self._note("event", event_type)


def listener_ids() -> dict[str, frozenset[str]]:
    """Every command, action, view, options and event id the app listens for, by kind: what a test of every
    request the app accepts must cover."""
    recorder = _Recorder()
    for kind in LISTENER_MODULES:
        kind.register(recorder)
    return {kind: frozenset(names) for kind, names in recorder.ids.items()}
