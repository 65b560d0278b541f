"""Route a listener's failure to the one error handler without racing Bolt's ack.

Bolt (1.30) runs listeners on a thread and returns the HTTP response once ``ack()`` is seen. When a listener
raises within Bolt's 10 ms polling window *after* acking, Bolt resets the recorded ack and answers Slack 404
("unhandled request"), so the user sees a Slack error on top of ours. :func:`guarded` wraps each listener:
its arguments are injected by Bolt's own machinery, and an exception goes to ``on_error`` (the same function
registered with ``@app.error``) instead of back into Bolt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest
from slack_bolt.kwargs_injection import build_required_kwargs
from slack_bolt.util.utils import get_arg_names_of_callable

logger = logging.getLogger(__name__)

ErrorHandler = Callable[[Exception, dict[str, Any], BoltContext], None]


def guarded(listener: Callable[..., Any], on_error: ErrorHandler) -> Callable[..., Any]:
    wanted = get_arg_names_of_callable(listener)

    def run(request: BoltRequest, context: BoltContext, body: dict[str, Any]) -> Any:
        kwargs = build_required_kwargs(
            logger=logger,
            required_arg_names=list(wanted),
            request=request,
            response=None,
            this_func=listener,
            next_keys_required=False,
        )
        try:
            return listener(**kwargs)
        except Exception as error:  # noqa: BLE001 - handed to the app's single error handler
            if context.ack is not None and context.ack.response is None:
                context.ack()  # failed before acking: answer now rather than let Slack wait out its 3 seconds
            on_error(error, body, context)
            return None

    # Names only: no __wrapped__, or Bolt would inject the listener's arguments into ``run``.
    run.__name__ = run.__qualname__ = getattr(listener, "__name__", "listener")
    return run


class GuardedApp:
    """The registration surface of :class:`slack_bolt.App`, wrapping every listener with :func:`guarded`."""

    def __init__(self, app: App, on_error: ErrorHandler) -> None:
        self._app = app
        self._on_error = on_error

    def _wrap(self, register: Callable[[Callable[..., Any]], Any]) -> Callable[[Callable[..., Any]], None]:
        def add(listener: Callable[..., Any]) -> None:
            register(guarded(listener, self._on_error))

        return add

    def command(self, command: str) -> Callable[[Callable[..., Any]], None]:
        return self._wrap(self._app.command(command))

    def action(self, action_id: str) -> Callable[[Callable[..., Any]], None]:
        return self._wrap(self._app.action(action_id))

    def view(self, callback_id: str) -> Callable[[Callable[..., Any]], None]:
        return self._wrap(self._app.view(callback_id))

    def options(self, action_id: str) -> Callable[[Callable[..., Any]], None]:
        return self._wrap(self._app.options(action_id))

    def event(self, event_type: str) -> Callable[[Callable[..., Any]], None]:
        return self._wrap(self._app.event(event_type))
