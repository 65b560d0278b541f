"""Every listener is registered through :class:`GuardedApp`, which does two things for it.

* Failures go to the one error handler without racing Bolt's ack. Bolt (1.30) runs listeners on a thread and
  returns the HTTP response once ``ack()`` is seen; when a listener raises within Bolt's 10 ms polling window
  *after* acking, Bolt resets the recorded ack and answers Slack 404 ("unhandled request"), so the user would see
  a Slack error on top of ours. The wrapper hands the exception to ``on_error`` (the function also registered
  with ``@app.error``) instead of back into Bolt.
* Listeners that take a ``deps`` argument get :class:`~deferredrev.bot.deps.BotDeps`. Bolt injects the other
  arguments by name, once: the wrapper declares the listener's own parameters (plus the ``context`` and ``body``
  the error path needs), so there is no middleware and no second round of argument building per request.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext
from slack_bolt.util.utils import get_arg_names_of_callable

from deferredrev.bot.deps import BotDeps

logger = logging.getLogger(__name__)

ErrorHandler = Callable[[Exception, dict[str, Any], BoltContext], None]
DEPS = "deps"


def guarded(listener: Callable[..., Any], on_error: ErrorHandler, deps: BotDeps) -> Callable[..., Any]:
    wanted = get_arg_names_of_callable(listener)
    from_bolt = [name for name in wanted if name != DEPS]
    wants_deps = DEPS in wanted

    def run(**injected: Any) -> Any:
        kwargs = {name: injected[name] for name in from_bolt}
        if wants_deps:
            kwargs[DEPS] = deps
        try:
            return listener(**kwargs)
        except Exception as error:  # noqa: BLE001 - handed to the app's single error handler
            context: BoltContext = injected["context"]
            if context.ack is not None and context.ack.response is None:
                context.ack()  # failed before acking: answer now rather than let Slack wait out its 3 seconds
            on_error(error, injected["body"], context)
            return None

    # What Bolt reads to decide which arguments to build (names only: no __wrapped__, or Bolt would unwrap it).
    parameters = dict.fromkeys([*from_bolt, "context", "body"])
    run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in parameters]
    )
    run.__name__ = run.__qualname__ = getattr(listener, "__name__", "listener")
    return run


class GuardedApp:
    """The registration surface of :class:`slack_bolt.App`, wrapping every listener with :func:`guarded`."""

    def __init__(self, app: App, on_error: ErrorHandler, deps: BotDeps) -> None:
        self._app = app
        self._on_error = on_error
        self._deps = deps

    def _wrap(self, register: Callable[[Callable[..., Any]], Any]) -> Callable[[Callable[..., Any]], None]:
        def add(listener: Callable[..., Any]) -> None:
            register(guarded(listener, self._on_error, self._deps))

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
