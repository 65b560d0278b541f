"""The Web API methods the app uses, answering as Slack does ({"ok": ...} shapes and error names)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from deferredrev.sandbox.slack import blockkit
from deferredrev.sandbox.slack.model import JSON, Channel, Ephemeral, Message, ResponseUrl, Token
from deferredrev.sandbox.slack.state import OAUTH_CODE_TTL, SandboxState, Workspace

PUSH_LIMIT = 3


class ApiError(Exception):
    def __init__(self, error: str, *, status: int = 200, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.extra = extra

    def body(self) -> JSON:
        return {"ok": False, "error": self.error} | self.extra


@dataclass
class Ctx:
    state: SandboxState
    args: JSON
    token: Token | None = None
    workspace_or_none: Workspace | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ws(self) -> Workspace:
        if self.workspace_or_none is None:
            raise ApiError("not_authed")
        return self.workspace_or_none

    def arg(self, name: str, error: str | None = None) -> Any:
        value = self.args.get(name)
        if value in (None, ""):
            raise ApiError(error or "invalid_arguments")
        return value

    def optional(self, name: str) -> Any:
        value = self.args.get(name)
        return None if value in (None, "") else value

    def flag(self, name: str) -> bool:
        value = self.args.get(name)
        return value is True or str(value).lower() in ("true", "1")


Handler = Callable[[Ctx], JSON]
HANDLERS: dict[str, Handler] = {}
NO_AUTH = {"oauth.v2.access", "api.test", "apps.connections.open"}


def method(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[name] = handler
        return handler

    return register


def _json_arg(ctx: Ctx, name: str, error: str) -> Any:
    value = ctx.args.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise ApiError(error, response_metadata={"messages": [f"[ERROR] invalid JSON in {name}"]}) from None
    return value


def _check_blocks(ctx: Ctx, *, limit: int = blockkit.MESSAGE_BLOCK_LIMIT) -> list[JSON]:
    blocks = _json_arg(ctx, "blocks", "invalid_blocks")
    if blocks is None:
        return []
    errors = blockkit.block_errors(blocks, limit=limit)
    if errors:
        raise ApiError("invalid_blocks", response_metadata={"messages": [f"[ERROR] {e}" for e in errors]})
    return blockkit.with_ids(blocks)


def _message_content(ctx: Ctx, *, require: bool = True) -> tuple[str, list[JSON], list[JSON]]:
    blocks = _check_blocks(ctx)
    attachments = _json_arg(ctx, "attachments", "invalid_attachments") or []
    text = str(ctx.optional("text") or "")
    if require and not text and not blocks and not attachments:
        raise ApiError("no_text")
    if len(text) > blockkit.MESSAGE_TEXT_LIMIT:
        raise ApiError("msg_too_long")
    return text, blocks, list(attachments)


def _channel(ctx: Ctx, name: str = "channel") -> Channel:
    channel_arg = str(ctx.arg(name, "channel_not_found"))
    if channel_arg.startswith(("U", "W")) and channel_arg in ctx.ws.users:
        return ctx.ws.im_with(channel_arg)
    channel = ctx.ws.channel(channel_arg)
    if channel is None:
        raise ApiError("channel_not_found")
    return channel


def _postable(ctx: Ctx, channel: Channel) -> None:
    if channel.is_archived:
        raise ApiError("is_archived")
    if not channel.is_im and not channel.bot_member:
        raise ApiError("not_in_channel")


def _own_message(ctx: Ctx, channel: Channel, ts: str, error: str) -> Message:
    found = next((m for m in ctx.state.messages_by_channel.get(channel.id, []) if m.ts == ts), None)
    if found is None:
        raise ApiError("message_not_found")
    if found.user != ctx.ws.bot_user_id:
        raise ApiError(error)
    return found


def _notify(ctx: Ctx) -> None:
    ctx.state.changed.notify_all()


# ---- auth and users -------------------------------------------------------------------------------------------------


@method("api.test")
def api_test(ctx: Ctx) -> JSON:
    return {"ok": True, "args": ctx.args}


@method("auth.test")
def auth_test(ctx: Ctx) -> JSON:
    ws = ctx.ws
    token = ctx.token
    assert token is not None
    body: JSON = {
        "ok": True,
        "url": ws.url,
        "team": ws.name,
        "user": ws.users[token.user_id].name if token.user_id in ws.users else token.user_id,
        "team_id": ws.team_id,
        "user_id": token.user_id,
        "is_enterprise_install": False,
    }
    if token.kind == "bot":
        body["bot_id"] = ws.bot_id
    if token.expires_at is not None:
        body["expires_in"] = int(token.expires_at - ctx.state.now())
    return body


@method("users.info")
def users_info(ctx: Ctx) -> JSON:
    user = ctx.ws.user(str(ctx.arg("user", "user_not_found")))
    if user is None:
        raise ApiError("user_not_found")
    return {"ok": True, "user": user.to_api()}


@method("apps.connections.open")
def apps_connections_open(ctx: Ctx) -> JSON:
    """Socket Mode: an app-level token (xapp-) gets a WebSocket URL to receive its events on."""
    server = ctx.state.socket_mode
    if server is None or not ctx.state.app_token or ctx.args.get("_bearer") != ctx.state.app_token:
        raise ApiError("invalid_auth")
    return {"ok": True, "url": server.url}


@method("users.list")
def users_list(ctx: Ctx) -> JSON:
    """Paged like Slack: ``limit`` members per page and an opaque ``next_cursor`` (the next index here). Like Slack,
    it lists the workspace's own members, not people from other organisations in shared channels."""
    members = sorted((u for u in ctx.ws.users.values() if u.team_id == ctx.ws.team_id), key=lambda u: u.id)
    start = int(str(ctx.optional("cursor") or "0") or "0")
    limit = max(1, min(int(str(ctx.optional("limit") or "200")), 1000))
    page = members[start : start + limit]
    next_cursor = str(start + limit) if start + limit < len(members) else ""
    return {"ok": True, "members": [u.to_api() for u in page], "response_metadata": {"next_cursor": next_cursor}}


# ---- chat -----------------------------------------------------------------------------------------------------------


@method("chat.postMessage")
def chat_post_message(ctx: Ctx) -> JSON:
    channel = _channel(ctx)
    _postable(ctx, channel)
    text, blocks, attachments = _message_content(ctx)
    message = Message(
        channel=channel.id,
        ts=ctx.state.new_ts(),
        team_id=ctx.ws.team_id,
        text=text,
        blocks=blocks,
        user=ctx.ws.bot_user_id,
        bot_id=ctx.ws.bot_id,
        app_id=ctx.state.app_id,
        thread_ts=ctx.optional("thread_ts"),
        attachments=attachments,
        metadata=_json_arg(ctx, "metadata", "invalid_metadata"),
    )
    ctx.state.messages_by_channel.setdefault(channel.id, []).append(message)
    _notify(ctx)
    return {"ok": True, "channel": channel.id, "ts": message.ts, "message": message.to_api()}


@method("chat.postEphemeral")
def chat_post_ephemeral(ctx: Ctx) -> JSON:
    channel = _channel(ctx)
    user = str(ctx.arg("user", "user_not_found"))
    if ctx.ws.user(user) is None:
        raise ApiError("user_not_found")
    _postable(ctx, channel)
    if not channel.is_im and user not in channel.members:
        raise ApiError("user_not_in_channel")
    if channel.is_im and channel.im_user != user:
        raise ApiError("user_not_in_channel")
    text, blocks, _attachments = _message_content(ctx)
    ts = ctx.state.new_ts()
    ephemeral = Ephemeral(
        channel=channel.id,
        user=user,
        ts=ts,
        team_id=ctx.ws.team_id,
        text=text,
        blocks=blocks,
        source="chat.postEphemeral",
        thread_ts=ctx.optional("thread_ts"),
    )
    ctx.state.ephemeral_messages.append(ephemeral)
    _notify(ctx)
    return {"ok": True, "message_ts": ts}


@method("chat.update")
def chat_update(ctx: Ctx) -> JSON:
    channel = _channel(ctx)
    ts = str(ctx.arg("ts", "message_not_found"))
    message = _own_message(ctx, channel, ts, "cant_update_message")
    text, blocks, attachments = _message_content(ctx, require=False)
    if "blocks" in ctx.args:
        message.blocks = blocks
    if "text" in ctx.args:
        message.text = text
    if "attachments" in ctx.args:
        message.attachments = attachments
    if "metadata" in ctx.args:
        message.metadata = _json_arg(ctx, "metadata", "invalid_metadata")
    message.edited = True
    _notify(ctx)
    return {"ok": True, "channel": channel.id, "ts": ts, "text": message.text, "message": message.to_api()}


@method("chat.delete")
def chat_delete(ctx: Ctx) -> JSON:
    channel = _channel(ctx)
    ts = str(ctx.arg("ts", "message_not_found"))
    message = _own_message(ctx, channel, ts, "cant_delete_message")
    ctx.state.messages_by_channel[channel.id].remove(message)
    _notify(ctx)
    return {"ok": True, "channel": channel.id, "ts": ts}


@method("chat.getPermalink")
def chat_get_permalink(ctx: Ctx) -> JSON:
    channel = _channel(ctx)
    ts = str(ctx.arg("message_ts", "message_not_found"))
    if not any(m.ts == ts for m in ctx.state.messages_by_channel.get(channel.id, [])):
        raise ApiError("message_not_found")
    return {"ok": True, "channel": channel.id, "permalink": f"{ctx.ws.url}archives/{channel.id}/p{ts.replace('.', '')}"}


# ---- conversations --------------------------------------------------------------------------------------------------


@method("conversations.open")
def conversations_open(ctx: Ctx) -> JSON:
    if ctx.optional("channel"):
        channel = _channel(ctx)
        return {"ok": True, "channel": channel.to_api() if ctx.flag("return_im") else {"id": channel.id}}
    users = [u.strip() for u in str(ctx.arg("users", "users_list_not_supplied")).split(",") if u.strip()]
    if len(users) != 1:
        raise ApiError("not_implemented", detail="the sandbox opens one-to-one DMs only")
    if ctx.ws.user(users[0]) is None:
        raise ApiError("user_not_found")
    existed = any(c.im_user == users[0] for c in ctx.ws.channels.values())
    channel = ctx.ws.im_with(users[0])
    body: JSON = {"ok": True, "channel": channel.to_api() if ctx.flag("return_im") else {"id": channel.id}}
    if existed:
        body |= {"no_op": True, "already_open": True}
    return body


@method("conversations.info")
def conversations_info(ctx: Ctx) -> JSON:
    return {"ok": True, "channel": _channel(ctx).to_api()}


@method("conversations.join")
def conversations_join(ctx: Ctx) -> JSON:
    channel = _channel(ctx)
    if channel.is_im or channel.is_private:
        raise ApiError("method_not_supported_for_channel_type")
    if channel.is_archived:
        raise ApiError("is_archived")
    body: JSON = {"ok": True, "channel": channel.to_api()}
    if channel.bot_member:
        body["warning"] = "already_in_channel"
        body["response_metadata"] = {"warnings": ["already_in_channel"]}
    channel.bot_member = True
    _notify(ctx)
    body["channel"] = channel.to_api()
    return body


@method("conversations.members")
def conversations_members(ctx: Ctx) -> JSON:
    channel = _channel(ctx)
    members = ([channel.im_user, ctx.ws.bot_user_id] if channel.im_user else list(channel.members)) + (
        [ctx.ws.bot_user_id] if channel.bot_member and not channel.is_im else []
    )
    limit = int(ctx.optional("limit") or 100)
    start = int(ctx.optional("cursor") or 0)
    page = members[start : start + limit]
    next_cursor = str(start + limit) if start + limit < len(members) else ""
    return {"ok": True, "members": page, "response_metadata": {"next_cursor": next_cursor}}


# ---- views ----------------------------------------------------------------------------------------------------------


def _trigger(ctx: Ctx) -> tuple[str, str]:
    trigger_id = str(ctx.arg("trigger_id", "invalid_trigger_id"))
    trigger = ctx.state.triggers.get(trigger_id)
    if trigger is None or trigger.team_id != ctx.ws.team_id:
        raise ApiError("invalid_trigger_id")
    if trigger.used:
        raise ApiError("exchanged_trigger_id")
    if ctx.state.trigger_ttl and ctx.state.now() - trigger.issued_at > ctx.state.trigger_ttl:
        raise ApiError("expired_trigger_id")
    trigger.used = True
    return trigger.team_id, trigger.user_id


def _new_hash(ctx: Ctx) -> str:
    return f"{int(ctx.state.now())}.{secrets.token_hex(4)}"


def _checked_view(ctx: Ctx, kind: str | None = None) -> JSON:
    view = _json_arg(ctx, "view", "invalid_arguments")
    if view is None:
        raise ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: view"]})
    errors = blockkit.view_errors(view)
    if kind and isinstance(view, dict) and view.get("type") != kind:
        errors.append(f"view type must be {kind}")
    if errors:
        raise ApiError("invalid_blocks", response_metadata={"messages": [f"[ERROR] {e}" for e in errors]})
    if len(json.dumps(view)) > 250_000:
        raise ApiError("view_too_large")
    return dict(view)


def store_view(ctx: Ctx, view: JSON, owner: tuple[str, str], *, view_id: str | None = None, root: str | None = None) -> JSON:
    state = ctx.state
    view_id = view_id or state.new_id("V")
    previous = state.views.get(view_id)
    external_id = view.get("external_id")
    if external_id and any(
        v.get("external_id") == external_id and k != view_id and state.view_owner[k][0] == owner[0]
        for k, v in state.views.items()
    ):
        raise ApiError("duplicate_external_id")
    stored: JSON = {
        "id": view_id,
        "team_id": owner[0],
        "type": view["type"],
        "blocks": blockkit.with_ids(view.get("blocks", [])),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "state": {"values": _kept_values(previous, view)},
        "hash": _new_hash(ctx),
        "title": view.get("title"),
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "close": view.get("close"),
        "submit": view.get("submit"),
        "previous_view_id": previous.get("previous_view_id") if previous else None,
        "root_view_id": (previous or {}).get("root_view_id") or root or view_id,
        "app_id": state.app_id,
        "external_id": external_id or "",
        "app_installed_team_id": owner[0],
        "bot_id": ctx.ws.bot_id,
    }
    state.views[view_id] = stored
    state.view_owner[view_id] = owner
    _notify(ctx)
    return stored


def _kept_values(previous: JSON | None, view: JSON) -> JSON:
    """Slack keeps what a person typed when the new view has the same block_id and action_id."""
    if previous is None:
        return {}
    kept: JSON = {}
    for found in blockkit.input_elements(view.get("blocks", [])):
        value = previous["state"]["values"].get(found.block_id, {}).get(found.action_id)
        if value is not None and value.get("type") == found.type:
            kept.setdefault(found.block_id, {})[found.action_id] = value
    return kept


@method("views.open")
def views_open(ctx: Ctx) -> JSON:
    view = _checked_view(ctx, "modal")
    owner = _trigger(ctx)
    stored = store_view(ctx, view, owner)
    ctx.state.stacks[owner] = [stored["id"]]
    return {"ok": True, "view": stored}


@method("views.push")
def views_push(ctx: Ctx) -> JSON:
    view = _checked_view(ctx, "modal")
    owner = _trigger(ctx)
    stack = ctx.state.stacks.get(owner, [])
    if not stack:
        raise ApiError("not_found", detail="no modal is open to push onto")
    if len(stack) >= PUSH_LIMIT:
        raise ApiError("push_limit_reached")
    stored = store_view(ctx, view, owner, root=ctx.state.views[stack[0]]["root_view_id"])
    stored["previous_view_id"] = stack[-1]
    stack.append(stored["id"])
    return {"ok": True, "view": stored}


@method("views.update")
def views_update(ctx: Ctx) -> JSON:
    view = _checked_view(ctx)
    view_id = ctx.optional("view_id")
    if view_id is None:
        external_id = ctx.optional("external_id")
        if external_id is None:
            raise ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] view_id or external_id required"]})
        view_id = next((k for k, v in ctx.state.views.items() if v.get("external_id") == external_id), None)
    current = ctx.state.views.get(str(view_id)) if view_id else None
    if current is None or current["team_id"] != ctx.ws.team_id:
        raise ApiError("not_found")
    owner = ctx.state.view_owner[current["id"]]
    if current["type"] == "modal" and current["id"] not in ctx.state.stacks.get(owner, []):
        raise ApiError("not_found")  # the person closed it (slackapi/bolt-js#1309)
    given_hash = ctx.optional("hash")
    if given_hash is not None and given_hash != current["hash"]:
        raise ApiError("hash_conflict")
    if current["type"] != view["type"]:
        raise ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] view type cannot change"]})
    stored = store_view(ctx, view, owner, view_id=current["id"])
    return {"ok": True, "view": stored}


@method("views.publish")
def views_publish(ctx: Ctx) -> JSON:
    view = _checked_view(ctx, "home")
    user_id = str(ctx.arg("user_id", "user_not_found"))
    if ctx.ws.user(user_id) is None:
        raise ApiError("user_not_found")
    owner = (ctx.ws.team_id, user_id)
    current_id = ctx.state.homes.get(owner)
    given_hash = ctx.optional("hash")
    if given_hash is not None and current_id is not None and given_hash != ctx.state.views[current_id]["hash"]:
        raise ApiError("hash_conflict")
    stored = store_view(ctx, view, owner, view_id=current_id)
    ctx.state.homes[owner] = stored["id"]
    return {"ok": True, "view": stored}


# ---- files ----------------------------------------------------------------------------------------------------------


@method("files.getUploadURLExternal")
def files_get_upload_url_external(ctx: Ctx) -> JSON:
    filename = str(ctx.arg("filename", "invalid_arguments"))
    try:
        length = int(ctx.arg("length", "invalid_arguments"))
    except ValueError:
        raise ApiError("invalid_arguments") from None
    if length <= 0:
        raise ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] length must be > 0"]})
    hosted = ctx.state.new_file(ctx.ws, name=filename, title=filename, content=b"", user=ctx.ws.bot_user_id)
    hosted.alt_txt = ctx.optional("alt_txt")
    upload_id = secrets.token_urlsafe(16)
    hosted.upload_url = f"{ctx.state.base_url}/upload/v1/{upload_id}"
    ctx.state.uploads[upload_id] = hosted.id
    return {"ok": True, "upload_url": hosted.upload_url, "file_id": hosted.id}


@method("files.completeUploadExternal")
def files_complete_upload_external(ctx: Ctx) -> JSON:
    items = _json_arg(ctx, "files", "invalid_arguments")
    if not isinstance(items, list) or not items:
        raise ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] files must be a non-empty array"]})
    targets = [str(ctx.args["channel_id"])] if ctx.optional("channel_id") else []
    targets += [c for c in str(ctx.optional("channels") or "").split(",") if c]
    channels = []
    for target in targets:
        ctx.args["_target"] = target
        channel = _channel(ctx, "_target")
        _postable(ctx, channel)
        channels.append(channel)
    ctx.args.pop("_target", None)
    hosted_files = []
    for item in items:
        hosted = ctx.state.hosted.get(str(item.get("id")))
        if hosted is None or hosted.team_id != ctx.ws.team_id or not hosted.content:
            raise ApiError("file_not_found" if hosted is None else "file_upload_not_complete")
        hosted.title = str(item.get("title") or hosted.title)
        hosted.complete = True
        hosted.channels = [c.id for c in channels]
        hosted_files.append(hosted)
    comment = ctx.optional("initial_comment")
    for channel in channels:
        ctx.state.messages_by_channel.setdefault(channel.id, []).append(
            Message(
                channel=channel.id,
                ts=ctx.state.new_ts(),
                team_id=ctx.ws.team_id,
                text=str(comment or ""),
                blocks=[],
                user=ctx.ws.bot_user_id,
                bot_id=ctx.ws.bot_id,
                app_id=ctx.state.app_id,
                thread_ts=ctx.optional("thread_ts"),
                files=[h.to_api() for h in hosted_files],
                source="files.completeUploadExternal",
            )
        )
    _notify(ctx)
    return {"ok": True, "files": [{"id": h.id, "title": h.title} for h in hosted_files]}


@method("files.info")
def files_info(ctx: Ctx) -> JSON:
    hosted = ctx.state.hosted.get(str(ctx.arg("file", "file_not_found")))
    if hosted is None or hosted.team_id != ctx.ws.team_id or not hosted.complete:
        raise ApiError("file_not_found")
    return {"ok": True, "file": hosted.to_api(), "comments": [], "response_metadata": {"next_cursor": ""}}


# ---- oauth ----------------------------------------------------------------------------------------------------------


def _client_credentials(ctx: Ctx) -> None:
    client_id = ctx.optional("client_id")
    client_secret = ctx.optional("client_secret")
    if client_id is None:
        raise ApiError("invalid_client_id")
    if client_id != ctx.state.client_id:
        raise ApiError("invalid_client_id")
    if client_secret != ctx.state.client_secret:
        raise ApiError("bad_client_secret")


def _issue_bot_token(ctx: Ctx, ws: Workspace) -> JSON:
    state = ctx.state
    if not state.token_rotation:
        token = state.add_token(f"xoxb-{ws.team_id}-{secrets.token_hex(12)}", ws.team_id)
        return {"access_token": token.value}
    expires_at = state.now() + state.token_ttl
    token = state.add_token(f"xoxe.xoxb-1-{secrets.token_hex(16)}", ws.team_id, expires_at=expires_at)
    refresh = f"xoxe-1-{secrets.token_hex(24)}"
    state.refresh_tokens[refresh] = Token(value=refresh, team_id=ws.team_id, kind="refresh", user_id=ws.bot_user_id)
    return {"access_token": token.value, "refresh_token": refresh, "expires_in": state.token_ttl}


@method("oauth.v2.access")
def oauth_v2_access(ctx: Ctx) -> JSON:
    _client_credentials(ctx)
    if ctx.optional("grant_type") == "refresh_token":
        return _refresh(ctx)
    code = ctx.state.codes.get(str(ctx.arg("code", "invalid_code")))
    if code is None or code.used or code.client_id != ctx.state.client_id:
        raise ApiError("invalid_code")
    if ctx.state.now() - code.issued_at > OAUTH_CODE_TTL:
        raise ApiError("invalid_code")
    if code.redirect_uri and ctx.optional("redirect_uri") not in (None, code.redirect_uri):
        raise ApiError("bad_redirect_uri")
    code.used = True
    ws = ctx.state.workspace(code.team_id)
    issued = _issue_bot_token(ctx, ws)
    return {
        "ok": True,
        "app_id": ctx.state.app_id,
        "authed_user": {"id": code.user_id},
        "scope": code.scopes,
        "token_type": "bot",
        "bot_user_id": ws.bot_user_id,
        "team": {"id": ws.team_id, "name": ws.name},
        "enterprise": None,
        "is_enterprise_install": False,
        **issued,
    }


def _refresh(ctx: Ctx) -> JSON:
    refresh = ctx.state.refresh_tokens.get(str(ctx.arg("refresh_token", "invalid_refresh_token")))
    if refresh is None or refresh.revoked:
        raise ApiError("invalid_refresh_token")
    refresh.revoked = True
    ws = ctx.state.workspace(refresh.team_id)
    issued = _issue_bot_token(ctx, ws)
    return {
        "ok": True,
        "app_id": ctx.state.app_id,
        "scope": ",".join(ws.scopes),
        "token_type": "bot",
        "bot_user_id": ws.bot_user_id,
        "team": {"id": ws.team_id, "name": ws.name},
        "enterprise": None,
        "is_enterprise_install": False,
        **issued,
    }


# ---- response_url -----------------------------------------------------------------------------------------------------


def apply_response(state: SandboxState, record: ResponseUrl, body: JSON) -> None:
    """What Slack does with a JSON body posted to a response_url (or returned as a slash command's ack)."""
    blocks = body.get("blocks")
    if blocks is not None:
        errors = blockkit.block_errors(blocks, limit=blockkit.MESSAGE_BLOCK_LIMIT)
        if errors:
            raise ApiError("invalid_blocks", status=400, response_metadata={"messages": errors})
    ws = state.workspace(record.team_id)
    if _truthy(body.get("delete_original")):
        _delete_original(state, record)
    elif _truthy(body.get("replace_original")) and record.message_ts is not None:
        _replace_original(state, record, body)
    elif body.get("response_type") == "in_channel":
        state.messages_by_channel.setdefault(record.channel, []).append(
            Message(
                channel=record.channel,
                ts=state.new_ts(),
                team_id=ws.team_id,
                text=str(body.get("text", "")),
                blocks=blockkit.with_ids(blocks or []),
                user=ws.bot_user_id,
                bot_id=ws.bot_id,
                app_id=state.app_id,
                thread_ts=body.get("thread_ts"),
                source="response_url",
            )
        )
    else:
        state.ephemeral_messages.append(
            Ephemeral(
                channel=record.channel,
                user=record.user,
                ts=state.new_ts(),
                team_id=ws.team_id,
                text=str(body.get("text", "")),
                blocks=blockkit.with_ids(blocks or []),
                source="response_url",
                thread_ts=body.get("thread_ts"),
            )
        )
    state.changed.notify_all()


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _delete_original(state: SandboxState, record: ResponseUrl) -> None:
    if record.message_is_ephemeral:
        for ephemeral in state.ephemeral_messages:
            if ephemeral.ts == record.message_ts and ephemeral.user == record.user:
                ephemeral.deleted = True
        return
    messages = state.messages_by_channel.get(record.channel, [])
    state.messages_by_channel[record.channel] = [m for m in messages if m.ts != record.message_ts]


def _replace_original(state: SandboxState, record: ResponseUrl, body: JSON) -> None:
    target: Message | Ephemeral | None
    if record.message_is_ephemeral:
        target = next((e for e in state.ephemeral_messages if e.ts == record.message_ts and e.user == record.user), None)
    else:
        messages = state.messages_by_channel.get(record.channel, [])
        target = next((m for m in messages if m.ts == record.message_ts), None)
    if target is None:
        raise ApiError("message_not_found", status=404)
    target.text = str(body.get("text", ""))
    target.blocks = blockkit.with_ids(body.get("blocks") or [])
    if isinstance(target, Message):
        target.edited = True
