"""The sandbox's state and its queries; thread-safe, because the app calls in from Bolt's listener threads."""

from __future__ import annotations

import copy
import itertools
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import quote

from deferredrev.clock import Clock, SystemClock
from deferredrev.sandbox.slack.model import (
    JSON,
    Channel,
    Ephemeral,
    HostedFile,
    Message,
    OAuthCode,
    RecordedCall,
    ResponseUrl,
    SlackSandboxError,
    Token,
    Trigger,
    User,
)
from deferredrev.sandbox.slack.render import message_text_for_search, render_message, view_text_for_search

T = TypeVar("T")

RESPONSE_URL_USES = 5
RESPONSE_URL_TTL = 30 * 60.0
OAUTH_CODE_TTL = 600.0
if TYPE_CHECKING:
    from deferredrev.sandbox.slack.socket_mode import SocketModeServer

ROTATED_TOKEN_TTL = 12 * 3600


@dataclass
class Fault:
    status: int
    error: str
    retry_after: int | None = None


class Workspace:
    """One Slack workspace (team): its users, channels and the app's bot user and token there."""

    def __init__(self, state: SandboxState, *, team_id: str, name: str, domain: str, bot_user_id: str, bot_id: str) -> None:
        self._state = state
        self.team_id = team_id
        self.name = name
        self.domain = domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.scopes: list[str] = ["commands", "chat:write", "im:write", "users:read", "files:write", "files:read"]

    @property
    def url(self) -> str:
        return f"https://{self.domain}.slack.com/"

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        real_name: str | None = None,
        is_admin: bool = False,
        is_owner: bool = False,
        is_primary_owner: bool = False,
        is_restricted: bool = False,
        is_ultra_restricted: bool = False,
        is_bot: bool = False,
        deleted: bool = False,
        tz: str = "America/New_York",
        email: str | None = None,
        home_team_id: str | None = None,
        is_stranger: bool = False,
        enterprise_user: JSON | None = None,
    ) -> User:
        """A user this workspace's token can see. ``home_team_id``: someone from another organisation (Slack
        Connect), whose clicks carry their own workspace as ``user.team_id``."""
        user = User(
            id=user_id,
            team_id=home_team_id or self.team_id,
            is_stranger=is_stranger,
            enterprise_user=enterprise_user,
            name=name,
            real_name=real_name or name.title(),
            is_admin=is_admin or is_owner,
            is_owner=is_owner or is_primary_owner,
            is_primary_owner=is_primary_owner,
            is_restricted=is_restricted or is_ultra_restricted,
            is_ultra_restricted=is_ultra_restricted,
            is_bot=is_bot,
            deleted=deleted,
            tz=tz,
            email=email,
        )
        with self._state.changed:
            self.users[user_id] = user
            self._state.changed.notify_all()
        return user

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        members: list[str] | None = None,
        bot_member: bool = True,
        is_private: bool = False,
        is_archived: bool = False,
    ) -> Channel:
        with self._state.changed:
            if self._state.find_channel(channel_id) is not None:
                raise SlackSandboxError(f"channel {channel_id} already exists")
            channel = Channel(
                id=channel_id,
                team_id=self.team_id,
                name=name,
                members=list(members or []),
                bot_member=bot_member,
                is_private=is_private,
                is_archived=is_archived,
                created=int(self._state.now()),
            )
            self.channels[channel_id] = channel
            self._state.changed.notify_all()
        return channel

    def user(self, user_id: str) -> User | None:
        return self.users.get(user_id)

    def channel(self, channel_id_or_name: str) -> Channel | None:
        found = self.channels.get(channel_id_or_name)
        if found is None:
            name = channel_id_or_name.lstrip("#")
            found = next((c for c in self.channels.values() if c.name == name and not c.is_im), None)
        return found

    def im_with(self, user_id: str) -> Channel:
        """The bot's direct-message channel with a user, opened on first use."""
        with self._state.changed:
            existing = next((c for c in self.channels.values() if c.im_user == user_id), None)
            if existing is not None:
                return existing
            channel = Channel(
                id=self._state.new_id("D"),
                team_id=self.team_id,
                name=user_id,
                members=[user_id],
                im_user=user_id,
                created=int(self._state.now()),
            )
            self.channels[channel.id] = channel
            return channel

    def revoke_tokens(self) -> None:
        """Uninstall: every token for this workspace now answers token_revoked."""
        with self._state.changed:
            for token in self._state.tokens.values():
                if token.team_id == self.team_id:
                    token.revoked = True


class SandboxState:
    """Everything the sandbox knows; the HTTP layer and the driver read and change it under one lock."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        trigger_ttl: float | None = 3.0,
        app_id: str = "A0SANDBOX",
        bot_name: str = "deferredrev",
        client_id: str = "1111.2222",
        client_secret: str = "sandbox-client-secret",
        token_rotation: bool = False,
        token_ttl: int = ROTATED_TOKEN_TTL,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.trigger_ttl = trigger_ttl
        self.app_id = app_id
        self.bot_name = bot_name
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_rotation = token_rotation
        self.token_ttl = token_ttl  # seconds a rotating bot token lives (Slack: 12 hours)
        self.socket_mode: SocketModeServer | None = None
        self.app_token: str | None = None
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.workspaces: dict[str, Workspace] = {}
        self.tokens: dict[str, Token] = {}
        self.messages_by_channel: dict[str, list[Message]] = {}
        self.ephemeral_messages: list[Ephemeral] = []
        self.views: dict[str, JSON] = {}
        self.view_owner: dict[str, tuple[str, str]] = {}
        self.stacks: dict[tuple[str, str], list[str]] = {}
        self.homes: dict[tuple[str, str], str] = {}
        self.hosted: dict[str, HostedFile] = {}
        self.uploads: dict[str, str] = {}
        self.triggers: dict[str, Trigger] = {}
        self.response_urls: dict[str, ResponseUrl] = {}
        self.codes: dict[str, OAuthCode] = {}
        self.refresh_tokens: dict[str, Token] = {}
        self.recorded: list[RecordedCall] = []
        self.faults: dict[str, list[Fault]] = {}
        self.browser_session: tuple[str, str] | None = None
        self.browser_denies = False
        self.download_delay = 0.0  # seconds every file download takes (a slow network, in tests)
        self._counter = itertools.count(1)
        self._last_ts = 0.0
        self.base_url = "http://127.0.0.1:0"

    # ---- time and ids -------------------------------------------------------------------------------------------------

    def now(self) -> float:
        return self.clock.now().timestamp()

    def new_id(self, prefix: str) -> str:
        return f"{prefix}0{next(self._counter):08X}"

    def new_ts(self) -> str:
        with self.lock:
            stamp = max(self.now(), self._last_ts + 0.000001)
            self._last_ts = stamp
            return f"{stamp:.6f}"

    # ---- setup --------------------------------------------------------------------------------------------------------

    def add_workspace(
        self,
        team_id: str = "T0001",
        name: str = "Acme",
        bot_token: str = "xoxb-sandbox-token",
        *,
        domain: str | None = None,
        bot_user_id: str | None = None,
        bot_id: str | None = None,
    ) -> Workspace:
        with self.changed:
            if team_id in self.workspaces:
                raise SlackSandboxError(f"workspace {team_id} already exists")
            workspace = Workspace(
                self,
                team_id=team_id,
                name=name,
                domain=domain or name.lower().replace(" ", "-"),
                bot_user_id=bot_user_id or f"U0BOT{team_id}",
                bot_id=bot_id or f"B0BOT{team_id}",
            )
            self.workspaces[team_id] = workspace
            workspace.add_user(workspace.bot_user_id, self.bot_name, real_name="DeferredRev", is_bot=True)
            self.add_token(bot_token, team_id, kind="bot", user_id=workspace.bot_user_id)
            return workspace

    def add_token(
        self, value: str, team_id: str, *, kind: str = "bot", user_id: str | None = None, expires_at: float | None = None
    ) -> Token:
        workspace = self.workspace(team_id)
        token = Token(
            value=value, team_id=team_id, kind=kind, user_id=user_id or workspace.bot_user_id, expires_at=expires_at
        )
        with self.changed:
            self.tokens[value] = token
        return token

    def workspace(self, team_id: str) -> Workspace:
        try:
            return self.workspaces[team_id]
        except KeyError:
            raise SlackSandboxError(f"no workspace {team_id} in the sandbox") from None

    def team_of_user(self, user_id: str) -> Workspace:
        for workspace in self.workspaces.values():
            if user_id in workspace.users:
                return workspace
        raise SlackSandboxError(f"no user {user_id} in any sandbox workspace")

    def find_channel(self, channel_id: str) -> Channel | None:
        for workspace in self.workspaces.values():
            if channel_id in workspace.channels:
                return workspace.channels[channel_id]
        return None

    def user_names(self) -> dict[str, str]:
        """user id -> display name, over all workspaces (for the transcript)."""
        return {u.id: u.name for w in self.workspaces.values() for u in w.users.values()}

    def channel_names(self) -> dict[str, str]:
        return {c.id: c.name for w in self.workspaces.values() for c in w.channels.values() if not c.is_im}

    # ---- issued by "Slack" toward the app ------------------------------------------------------------------------------

    def issue_trigger(self, team_id: str, user_id: str) -> str:
        trigger = Trigger(
            id=f"{int(self.now())}.{next(self._counter)}.{secrets.token_hex(16)}",
            team_id=team_id,
            user_id=user_id,
            issued_at=self.now(),
        )
        with self.changed:
            self.triggers[trigger.id] = trigger
        return trigger.id

    def issue_response_url(
        self, team_id: str, channel: str, user: str, *, message_ts: str | None = None, ephemeral: bool = False
    ) -> str:
        url_id = f"{team_id}/{next(self._counter)}/{secrets.token_urlsafe(12)}"
        record = ResponseUrl(
            id=url_id,
            url=f"{self.base_url}/response/{url_id}",
            team_id=team_id,
            channel=channel,
            user=user,
            issued_at=self.now(),
            message_ts=message_ts,
            message_is_ephemeral=ephemeral,
        )
        with self.changed:
            self.response_urls[url_id] = record
        return record.url

    def host_file(
        self, name: str, content: bytes, *, team_id: str | None = None, user: str | None = None, mimetype: str | None = None
    ) -> JSON:
        """A file a person uploaded (e.g. through a file_input); returns the file object Slack puts in payloads."""
        workspace = self.workspace(team_id) if team_id else next(iter(self.workspaces.values()))
        hosted = self.new_file(workspace, name=name, title=name, content=content, user=user or workspace.bot_user_id)
        if mimetype:
            hosted.mimetype = mimetype
        hosted.complete = True
        return hosted.to_api()

    def new_file(self, workspace: Workspace, *, name: str, title: str, content: bytes, user: str) -> HostedFile:
        file_id = self.new_id("F")
        base = f"{self.base_url}/files-pri/{workspace.team_id}-{file_id}"
        path_name = quote(name, safe="")  # as Slack does: any file name makes a valid URL
        hosted = HostedFile(
            id=file_id,
            team_id=workspace.team_id,
            name=name,
            title=title,
            content=content,
            mimetype=_guess_mimetype(name),
            user=user,
            created=int(self.now()),
            url_private=f"{base}/{path_name}",
            url_private_download=f"{base}/download/{path_name}",
            permalink=f"https://{workspace.domain}.slack.com/files/{user}/{file_id}/{path_name}",
        )
        with self.changed:
            self.hosted[file_id] = hosted
            self.changed.notify_all()
        return hosted

    # ---- faults -------------------------------------------------------------------------------------------------------

    def inject_rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """The next `times` calls of `method` answer HTTP 429, Retry-After, {"ok": false, "error": "ratelimited"}."""
        with self.changed:
            self.faults.setdefault(method, []).extend(Fault(429, "ratelimited", retry_after) for _ in range(times))

    def inject_error(self, method: str, error: str = "internal_error", times: int = 1, status: int = 200) -> None:
        """The next `times` calls of `method` answer {"ok": false, "error": error}."""
        with self.changed:
            self.faults.setdefault(method, []).extend(Fault(status, error) for _ in range(times))

    def take_fault(self, method: str) -> Fault | None:
        with self.changed:
            queue = self.faults.get(method)
            return queue.pop(0) if queue else None

    # ---- queries ------------------------------------------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[RecordedCall]:
        with self.lock:
            return [c for c in self.recorded if method is None or c.method == method]

    def messages(self, channel: str) -> list[Message]:
        """Messages in a channel (or a user's DM when given a user id) as they stand now, oldest first."""
        with self.lock:
            channel_id = self._resolve_channel_id(channel)
            return [copy.deepcopy(m) for m in self.messages_by_channel.get(channel_id, [])]

    def message(self, channel: str, ts: str) -> Message | None:
        return next((m for m in self.messages(channel) if m.ts == ts), None)

    def ephemerals(self, channel: str, user: str) -> list[Ephemeral]:
        with self.lock:
            channel_id = self._resolve_channel_id(channel)
            return [
                copy.deepcopy(e)
                for e in self.ephemeral_messages
                if e.channel == channel_id and e.user == user and not e.deleted
            ]

    def dms(self, user: str) -> list[Message]:
        """What the bot sent the user in their direct-message channel."""
        return self.messages(user)

    def dm_channel(self, user: str) -> str:
        return self.team_of_user(user).im_with(user).id

    def home_view(self, user: str) -> JSON | None:
        with self.lock:
            team = self.team_of_user(user).team_id
            view_id = self.homes.get((team, user))
            return copy.deepcopy(self.views[view_id]) if view_id else None

    def open_views(self, user: str) -> list[JSON]:
        """The user's modal stack, bottom first; the last one is what they see."""
        with self.lock:
            team = self.team_of_user(user).team_id
            return [copy.deepcopy(self.views[v]) for v in self.stacks.get((team, user), [])]

    def view(self, view_id: str) -> JSON:
        with self.lock:
            try:
                return copy.deepcopy(self.views[view_id])
            except KeyError:
                raise SlackSandboxError(f"no view {view_id} in the sandbox") from None

    @property
    def files(self) -> list[HostedFile]:
        with self.lock:
            return [copy.deepcopy(f) for f in self.hosted.values() if f.complete]

    def response_posts(self) -> list[JSON]:
        """Every JSON body the app posted to a response_url, in order."""
        with self.lock:
            return [copy.deepcopy(p) for r in self.response_urls.values() for p in r.posts]

    def _resolve_channel_id(self, channel: str) -> str:
        if channel.startswith(("U", "W")):
            for workspace in self.workspaces.values():
                if channel in workspace.users:
                    return workspace.im_with(channel).id
        for workspace in self.workspaces.values():
            found = workspace.channel(channel)
            if found is not None:
                return found.id
        return channel

    def transcript(self, channel: str, *, viewer: str | None = None) -> str:
        """The channel as a person reads it (with `viewer`'s ephemerals interleaved), oldest first."""
        names = self.user_names()
        entries: list[tuple[float, str]] = [
            (float(m.ts), render_message(m.to_api(), users=names)) for m in self.messages(channel)
        ]
        if viewer is not None:
            entries += [
                (float(e.ts), render_message(e.to_api(), users=names, author=f"{self.bot_name} (only visible to you)"))
                for e in self.ephemerals(channel, viewer)
            ]
        return "\n\n".join(text for _ts, text in sorted(entries, key=lambda entry: entry[0]))

    # ---- waiting ------------------------------------------------------------------------------------------------------

    def wait_for(self, predicate: Callable[[], T | None], timeout: float = 5.0, *, message: str = "condition") -> T:
        """Bolt acks before the listener finishes: wait until `predicate()` is truthy and return its value."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                value = predicate()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"timed out after {timeout}s waiting for {message}")
                self.changed.wait(min(remaining, 0.05))

    def wait_for_message(
        self, channel: str, *, contains: str | None = None, timeout: float = 5.0, after: int = 0
    ) -> Message:
        """The newest message in `channel` whose text or blocks contain `contains` (any message when None)."""

        def found() -> Message | None:
            for candidate in reversed(self.messages(channel)[after:]):
                if contains is None or contains in message_text_for_search(candidate.text, candidate.blocks):
                    return candidate
            return None

        return self.wait_for(found, timeout, message=f"a message in {channel} containing {contains!r}")

    def wait_for_ephemeral(
        self, channel: str, user: str, *, contains: str | None = None, after: int = 0, timeout: float = 5.0
    ) -> Ephemeral:
        """The newest ephemeral for ``user`` in ``channel`` containing ``contains``, among those after the first
        ``after`` (pass ``len(ephemerals(...))`` taken before acting to wait for an answer to that action only)."""

        def found() -> Ephemeral | None:
            for candidate in reversed(self.ephemerals(channel, user)[after:]):
                if contains is None or contains in message_text_for_search(candidate.text, candidate.blocks):
                    return candidate
            return None

        return self.wait_for(found, timeout, message=f"an ephemeral for {user} in {channel} containing {contains!r}")

    def wait_for_dm(self, user: str, *, contains: str | None = None, timeout: float = 5.0) -> Message:
        return self.wait_for_message(user, contains=contains, timeout=timeout)

    def wait_for_view(
        self,
        user: str,
        *,
        callback_id: str | None = None,
        contains: str | None = None,
        predicate: Callable[[JSON], bool] | None = None,
        timeout: float = 5.0,
    ) -> JSON:
        """The top modal the user sees, once it matches (callback_id, text it contains, a predicate)."""

        def found() -> JSON | None:
            stack = self.open_views(user)
            top = stack[-1] if stack else None
            return top if top is not None and _view_matches(top, callback_id, contains, predicate) else None

        return self.wait_for(found, timeout, message=f"a modal for {user} ({callback_id=}, {contains=})")

    def wait_for_home(
        self,
        user: str,
        *,
        contains: str | None = None,
        predicate: Callable[[JSON], bool] | None = None,
        timeout: float = 5.0,
    ) -> JSON:
        def found() -> JSON | None:
            home = self.home_view(user)
            return home if home is not None and _view_matches(home, None, contains, predicate) else None

        return self.wait_for(found, timeout, message=f"a home tab for {user} containing {contains!r}")

    def wait_for_call(
        self, method: str, *, predicate: Callable[[RecordedCall], bool] | None = None, timeout: float = 5.0
    ) -> RecordedCall:
        def found() -> RecordedCall | None:
            return next(
                (c for c in reversed(self.calls(method)) if c.response and (predicate is None or predicate(c))), None
            )

        return self.wait_for(found, timeout, message=f"a {method} call")


def _view_matches(
    view: JSON, callback_id: str | None, contains: str | None, predicate: Callable[[JSON], bool] | None
) -> bool:
    if callback_id is not None and view.get("callback_id") != callback_id:
        return False
    if contains is not None and contains not in view_text_for_search(view):
        return False
    return predicate is None or predicate(view)


def _guess_mimetype(name: str) -> str:
    import mimetypes

    return mimetypes.guess_type(name)[0] or "application/octet-stream"
