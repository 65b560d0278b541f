"""Every listener is registered through :class:`GuardedApp`, which gives it three things.

* **Acks at once.** Bolt runs with ``process_before_response=True``: a listener runs in the request's own thread and
  Slack gets the HTTP response as soon as it returns (Bolt's default instead hands each listener to a thread pool
  and polls for the ack every 10 ms, which costs every request 10 ms and a thread hand-off). So a listener only
  does, before returning, what belongs in the acknowledgement: an answer built from our database, options,
  modal validation. Everything that talks to Slack or QuickBooks goes to ``later``, or the listener is registered
  with ``after_ack=True`` and runs entirely after the ack. That work goes to the listener pool, which starts it
  when acknowledging is quiet (``deferredrev/bot/ack_first.py``).
* **Failures to one place.** An exception, before or after the ack, goes to ``on_error`` (the function also
  registered with ``@app.error``); before the ack, Slack gets an empty ack rather than waiting out its 3 seconds.
* **Dependencies.** Listeners that take ``deps`` get :class:`~deferredrev.bot.deps.BotDeps`; ``later`` gets a
  :class:`Later`; ``who`` gets the :class:`~deferredrev.bot.authority.Requester` (the workspace acted on and the
  user; a request that names no workspace is refused before the listener runs). Bolt injects the other arguments
  by name, once: the wrapper declares the listener's own parameters (plus the ``context`` and ``body`` the error
  path needs). ``respond`` (and ``context.respond``) comes from the
  :class:`~deferredrev.bot.response_url.Responder`: it posts only to Slack's hosts (a response_url pointing anywhere
  else gets a DM instead), through the shared poster's kept-alive connections when there is one.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from slack_bolt import App, BoltContext
from slack_bolt.util.utils import get_arg_names_of_callable

from deferredrev.bot.authority import UnknownWorkspaceError, requester_of
from deferredrev.bot.deps import BotDeps
from deferredrev.bot.response_url import Responder

logger = logging.getLogger(__name__)

ErrorHandler = Callable[[Exception, dict[str, Any], BoltContext], None]
Listener = Callable[..., Any]
OURS = frozenset({"deps", "later", "who"})


class Later:
    """Work that runs after Slack has its acknowledgement, on the listener pool; a failure goes to the error handler
    with the request it came from."""

    def __init__(self, executor: Executor, on_error: ErrorHandler, body: dict[str, Any], context: BoltContext) -> None:
        self._executor = executor
        self._on_error = on_error
        self._body = body
        self._context = context

    def __call__(self, work: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._executor.submit(self._run, work, args, kwargs)

    def _run(self, work: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        try:
            work(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - handed to the app's single error handler
            self._on_error(error, self._body, self._context)


class GuardedApp:
    """The registration surface of :class:`slack_bolt.App`, wrapping every listener as described above."""

    def __init__(self, app: App, on_error: ErrorHandler, deps: BotDeps, executor: Executor, responder: Responder) -> None:
        self._app = app
        self._on_error = on_error
        self._deps = deps
        self._executor = executor
        self._responder = responder

    def command(self, command: str, *, after_ack: bool = False) -> Callable[[Listener], None]:
        return self._wrap(self._app.command(command), after_ack)

    def action(self, action_id: str, *, after_ack: bool = False) -> Callable[[Listener], None]:
        # Block actions only: Bolt tries every listener in turn, and a bare action_id would also be checked against
        # legacy attachment, dialog and workflow-step payloads for each of them.
        return self._wrap(self._app.action({"type": "block_actions", "action_id": action_id}), after_ack)

    def view(self, callback_id: str) -> Callable[[Listener], None]:
        return self._wrap(self._app.view(callback_id), after_ack=False)  # answers (errors, close) are the ack

    def options(self, action_id: str) -> Callable[[Listener], None]:
        return self._wrap(self._app.options({"action_id": action_id}), after_ack=False)  # block suggestions; the ack

    def event(self, event_type: str) -> Callable[[Listener], None]:
        return self._wrap(self._app.event(event_type), after_ack=True)  # Slack wants only the 200

    def _wrap(self, register: Callable[[Listener], Any], after_ack: bool) -> Callable[[Listener], None]:
        def add(listener: Listener) -> None:
            register(self._guarded(listener, after_ack))

        return add

    def _guarded(self, listener: Listener, after_ack: bool) -> Listener:
        wanted = get_arg_names_of_callable(listener)
        from_bolt = [name for name in wanted if name not in OURS]
        if after_ack and "ack" in wanted:
            raise TypeError(f"{listener.__name__} runs after the ack, so it must not take ack")
        wants_deps, wants_later, wants_who = "deps" in wanted, "later" in wanted, "who" in wanted

        def run(**injected: Any) -> Any:
            context: BoltContext = injected["context"]
            body: dict[str, Any] = injected["body"]
            respond = self._responder.respond_for(context)
            if respond is not None:
                context["respond"] = respond
            later = Later(self._executor, self._on_error, body, context) if after_ack or wants_later else None
            kwargs = {name: injected[name] for name in from_bolt}
            if "respond" in kwargs:
                kwargs["respond"] = context.respond
            if wants_deps:
                kwargs["deps"] = self._deps
            if wants_later:
                kwargs["later"] = later
            if wants_who:
                try:
                    kwargs["who"] = who = requester_of(body)
                    if who.enterprise_id:
                        self._deps.workspaces.note_enterprise(who.team_id, who.enterprise_id)
                except UnknownWorkspaceError as error:
                    logger.warning("refused a request: %s", error)
                    if context.ack is not None and context.ack.response is None:
                        context.ack()
                    return None
            if after_ack and later is not None:
                context.ack()
                later(listener, **kwargs)
                return None
            try:
                return listener(**kwargs)
            except Exception as error:  # noqa: BLE001 - handed to the app's single error handler
                if context.ack is not None and context.ack.response is None:
                    context.ack()  # failed before acking: answer now rather than let Slack wait out its 3 seconds
                self._on_error(error, body, context)
                return None

        # What Bolt reads to decide which arguments to build (names only: no __wrapped__, or Bolt would unwrap it).
        parameters = dict.fromkeys([*from_bolt, "context", "body"])
        run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in parameters]
        )
        run.__name__ = run.__qualname__ = getattr(listener, "__name__", "listener")
        return run
