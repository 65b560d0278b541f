"""The sandbox's picture of Slack: workspaces, users, channels, messages, views, files and what the app sent."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

JSON = dict[str, Any]


class SlackSandboxError(Exception):
    """Misuse of the sandbox, or the app did something Slack itself would refuse to deliver or display."""


class DriverError(AssertionError):
    """The driver cannot do what a person in Slack could not do either (no such button, a required input empty...)."""


@dataclass
class User:
    id: str
    team_id: str
    name: str
    real_name: str
    is_admin: bool = False
    is_owner: bool = False
    is_primary_owner: bool = False
    is_restricted: bool = False
    is_ultra_restricted: bool = False
    is_bot: bool = False
    deleted: bool = False
    tz: str = "America/New_York"
    email: str | None = None
    is_stranger: bool = False  # of another workspace, sharing no channel with the app
    enterprise_user: JSON | None = None  # Enterprise Grid: {id, enterprise_id, is_admin, ..., teams}

    def to_api(self) -> JSON:
        """The user object as `users.info` returns it."""
        extra: JSON = {"is_stranger": True} if self.is_stranger else {}
        if self.enterprise_user is not None:
            extra["enterprise_user"] = copy.deepcopy(self.enterprise_user)
        return extra | {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "real_name": self.real_name,
            "deleted": self.deleted,
            "is_admin": self.is_admin,
            "is_owner": self.is_owner,
            "is_primary_owner": self.is_primary_owner,
            "is_restricted": self.is_restricted,
            "is_ultra_restricted": self.is_ultra_restricted,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "tz": self.tz,
            "tz_label": self.tz,
            "profile": {
                "real_name": self.real_name,
                "display_name": self.name,
                "real_name_normalized": self.real_name,
                "display_name_normalized": self.name,
                "email": self.email,
                "team": self.team_id,
            },
        }


@dataclass
class Channel:
    id: str
    team_id: str
    name: str
    members: list[str] = field(default_factory=list)
    bot_member: bool = True
    is_private: bool = False
    is_archived: bool = False
    im_user: str | None = None
    created: int = 0

    @property
    def is_im(self) -> bool:
        return self.im_user is not None

    def to_api(self) -> JSON:
        """The conversation object as `conversations.info` returns it."""
        if self.im_user is not None:
            return {"id": self.id, "is_im": True, "user": self.im_user, "is_open": True, "created": self.created}
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_general": False,
            "is_member": self.bot_member,
            "context_team_id": self.team_id,
            "created": self.created,
            "num_members": len(self.members) + (1 if self.bot_member else 0),
        }


@dataclass
class Message:
    """A message as it currently stands in a channel (chat.update and chat.delete change or remove it)."""

    channel: str
    ts: str
    team_id: str
    text: str
    blocks: list[JSON]
    user: str
    bot_id: str | None
    app_id: str | None
    thread_ts: str | None = None
    files: list[JSON] = field(default_factory=list)
    attachments: list[JSON] = field(default_factory=list)
    metadata: JSON | None = None
    edited: bool = False
    source: str = "chat.postMessage"

    def to_api(self) -> JSON:
        """The message object as Slack puts it in API responses and interaction payloads."""
        body: JSON = {"type": "message", "text": self.text, "user": self.user, "ts": self.ts, "team": self.team_id}
        if self.bot_id:
            body |= {"bot_id": self.bot_id, "app_id": self.app_id}
        if self.blocks:
            body["blocks"] = copy.deepcopy(self.blocks)
        if self.thread_ts:
            body["thread_ts"] = self.thread_ts
        if self.files:
            body["files"] = copy.deepcopy(self.files)
        if self.attachments:
            body["attachments"] = copy.deepcopy(self.attachments)
        if self.metadata:
            body["metadata"] = copy.deepcopy(self.metadata)
        if self.edited:
            body["edited"] = {"user": self.user, "ts": self.ts}
        return body


@dataclass
class Ephemeral:
    """An ephemeral message: only `user` sees it, in `channel`; response_url can replace or delete it."""

    channel: str
    user: str
    ts: str
    team_id: str
    text: str
    blocks: list[JSON]
    source: str
    response_type: str = "ephemeral"
    thread_ts: str | None = None
    deleted: bool = False

    def to_api(self) -> JSON:
        body: JSON = {"type": "message", "text": self.text, "ts": self.ts}
        if self.blocks:
            body["blocks"] = copy.deepcopy(self.blocks)
        return body


@dataclass
class RecordedCall:
    """One Web API call the app made: method, parsed arguments, the token it used, and what the sandbox answered."""

    method: str
    args: JSON
    token: str | None
    team_id: str | None
    at: datetime
    status: int = 200
    response: JSON = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        error = self.response.get("error")
        return str(error) if error is not None else None


@dataclass
class HostedFile:
    id: str
    team_id: str
    name: str
    title: str
    content: bytes
    mimetype: str
    user: str
    created: int
    channels: list[str] = field(default_factory=list)
    complete: bool = False
    upload_url: str = ""
    url_private: str = ""
    url_private_download: str = ""
    permalink: str = ""
    alt_txt: str | None = None
    initial_comment: str | None = None

    @property
    def channel(self) -> str | None:
        """The first conversation the file was shared to."""
        return self.channels[0] if self.channels else None

    @property
    def filetype(self) -> str:
        return self.name.rsplit(".", 1)[-1].lower() if "." in self.name else "binary"

    def to_api(self) -> JSON:
        return {
            "id": self.id,
            "created": self.created,
            "timestamp": self.created,
            "name": self.name,
            "title": self.title,
            "mimetype": self.mimetype,
            "filetype": self.filetype,
            "pretty_type": self.filetype.upper(),
            "user": self.user,
            "user_team": self.team_id,
            "size": len(self.content),
            "is_external": False,
            "is_public": bool(self.channels),
            "url_private": self.url_private,
            "url_private_download": self.url_private_download,
            "permalink": self.permalink,
            "channels": [c for c in self.channels if c.startswith("C")],
            "groups": [c for c in self.channels if c.startswith("G")],
            "ims": [c for c in self.channels if c.startswith("D")],
            "alt_txt": self.alt_txt,
        }


@dataclass
class Trigger:
    id: str
    team_id: str
    user_id: str
    issued_at: float
    used: bool = False


@dataclass
class ResponseUrl:
    """A response_url handed to the app; Slack allows 5 uses within 30 minutes."""

    id: str
    url: str
    team_id: str
    channel: str
    user: str
    issued_at: float
    message_ts: str | None = None
    message_is_ephemeral: bool = False
    uses: int = 0
    posts: list[JSON] = field(default_factory=list)


@dataclass
class Token:
    value: str
    team_id: str
    kind: str  # "bot" or "user"
    user_id: str
    expires_at: float | None = None
    revoked: bool = False


@dataclass
class OAuthCode:
    code: str
    team_id: str
    user_id: str
    client_id: str
    redirect_uri: str | None
    scopes: str
    user_scopes: str
    issued_at: float
    used: bool = False
