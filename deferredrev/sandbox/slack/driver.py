"""SlackDriver: plays Slack's side toward the running app — signed commands, clicks, options, submissions, events.

It reads the ids of buttons and inputs from what the app rendered (as the sandbox recorded it), so a test can only
click what a person could see.
"""

from __future__ import annotations

import copy
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

from deferredrev.sandbox.slack import blockkit
from deferredrev.sandbox.slack.blockkit import Located
from deferredrev.sandbox.slack.model import JSON, DriverError, SlackSandboxError
from deferredrev.sandbox.slack.server import SlackSandbox
from deferredrev.sandbox.slack.state import Workspace
from deferredrev.sandbox.slack.webapi import PUSH_LIMIT, Ctx, store_view

FORM = "application/x-www-form-urlencoded"
JSON_CT = "application/json"
SELECT_TYPES = {
    "static_select",
    "external_select",
    "users_select",
    "conversations_select",
    "channels_select",
    "overflow",
    "radio_buttons",
    "checkboxes",
    "datepicker",
    "timepicker",
    "multi_static_select",
    "multi_external_select",
    "multi_users_select",
    "multi_conversations_select",
    "multi_channels_select",
}


class SlackDriver:
    """Sends what Slack sends to the app's `POST /slack/events`, signed with the app's signing secret."""

    def __init__(
        self,
        app_url: str,
        signing_secret: str,
        sandbox: SlackSandbox,
        *,
        path: str = "/slack/events",
        ack_timeout: float = 3.0,
        http_timeout: float = 10.0,
    ) -> None:
        self.events_url = app_url.rstrip("/") + path if not app_url.rstrip("/").endswith(path) else app_url
        self.signing_secret = signing_secret
        self.sb = sandbox
        self.last_sent: tuple[str, dict[str, str]] | None = None
        self.ack_timeout = ack_timeout
        self.late_acks: list[tuple[str, float]] = []
        self._http = httpx.Client(timeout=http_timeout)

    def replay_last(self) -> httpx.Response:
        """Send the last signed request again, byte for byte (what a Slack retry or an attacker's replay looks like)."""
        if self.last_sent is None:
            raise DriverError("nothing was sent yet")
        body, headers = self.last_sent
        return self.raw_post(body, headers)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SlackDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- signing and raw requests -------------------------------------------------------------------------------------

    def signed_headers(
        self,
        body: str | bytes,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        content_type: str = FORM,
    ) -> dict[str, str]:
        """X-Slack-Signature / X-Slack-Request-Timestamp for this body (v0 HMAC-SHA256 of `v0:{ts}:{body}`)."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        verifier = SignatureVerifier(secret if secret is not None else self.signing_secret)
        signature = verifier.generate_signature(timestamp=ts, body=body) or ""
        return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}

    def raw_post(self, body: str | bytes, headers: Mapping[str, str] | None = None) -> httpx.Response:
        """POST exactly these bytes and headers (no signing): for forged, unsigned or replayed requests."""
        content = body.encode() if isinstance(body, str) else body
        return self._http.post(self.events_url, content=content, headers=dict(headers or {}))

    def post_signed(
        self,
        body: str,
        *,
        content_type: str = FORM,
        timestamp: int | None = None,
        secret: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        headers = self.signed_headers(body, timestamp=timestamp, secret=secret, content_type=content_type)
        started = time.monotonic()
        self.last_sent = (body, headers | dict(extra_headers or {}))
        response = self.raw_post(body, self.last_sent[1])
        elapsed = time.monotonic() - started
        if elapsed > self.ack_timeout:
            self.late_acks.append((body[:80], elapsed))
        return response

    def stale_headers(self, body: str, *, age_seconds: int = 301, content_type: str = FORM) -> dict[str, str]:
        """Correctly signed, but with a timestamp outside Slack's 5-minute window."""
        return self.signed_headers(body, timestamp=int(time.time()) - age_seconds, content_type=content_type)

    def forged_headers(self, body: str, *, content_type: str = FORM) -> dict[str, str]:
        """Signed with a secret that is not the app's."""
        return self.signed_headers(body, secret="forged-" + secrets.token_hex(8), content_type=content_type)

    # ---- identities ---------------------------------------------------------------------------------------------------

    def _workspace(self, user: str, team: str | None) -> Workspace:
        return self.sb.workspace(team) if team else self.sb.team_of_user(user)

    def _user_obj(self, ws: Workspace, user: str) -> JSON:
        """The clicker, with their home workspace (another organisation's, for a Slack Connect user)."""
        known = ws.users.get(user)
        name = known.name if known else user
        return {"id": user, "username": name, "name": name, "team_id": known.team_id if known else ws.team_id}

    def _team_obj(self, ws: Workspace) -> JSON:
        return {"id": ws.team_id, "domain": ws.domain}

    def _channel_name(self, ws: Workspace, channel_id: str) -> str:
        channel = ws.channel(channel_id)
        if channel is None:
            raise DriverError(f"no channel {channel_id} in workspace {ws.team_id}")
        if channel.is_im:
            return "directmessage"
        return "privategroup" if channel.is_private else channel.name

    def _resolve_channel(self, ws: Workspace, channel: str) -> str:
        if channel.startswith(("U", "W")) and channel in ws.users:
            return ws.im_with(channel).id
        found = ws.channel(channel)
        if found is None:
            raise DriverError(f"no channel {channel} in workspace {ws.team_id}")
        return found.id

    # ---- slash commands -----------------------------------------------------------------------------------------------

    def slash_body(
        self, user: str, channel: str, text: str = "", command: str = "/deferredrev", *, team: str | None = None
    ) -> str:
        """The form body Slack posts for a slash command, with a fresh trigger_id and response_url."""
        ws = self._workspace(user, team)
        channel_id = self._resolve_channel(ws, channel)
        fields = {
            "token": self.sb.verification_token,
            "team_id": ws.team_id,
            "team_domain": ws.domain,
            "channel_id": channel_id,
            "channel_name": self._channel_name(ws, channel_id),
            "user_id": user,
            "user_name": ws.users[user].name if user in ws.users else user,
            "command": command,
            "text": text,
            "api_app_id": self.sb.app_id,
            "is_enterprise_install": "false",
            "response_url": self.sb.issue_response_url(ws.team_id, channel_id, user),
            "trigger_id": self.sb.issue_trigger(ws.team_id, user),
        }
        return urlencode(fields)

    def slash(
        self, user: str, channel: str, text: str = "", command: str = "/deferredrev", *, team: str | None = None
    ) -> httpx.Response:
        """Run a slash command as `user` in `channel`; a reply in the ack body appears as Slack would show it."""
        body = self.slash_body(user, channel, text, command, team=team)
        response = self.post_signed(body)
        if response.status_code == 200 and response.content.strip():
            response_url = dict(_parse_form(body))["response_url"]
            self.sb.apply_ack_response(response_url, _ack_message(response))
        return response

    # ---- interactivity ------------------------------------------------------------------------------------------------

    def _post_payload(self, payload: JSON) -> httpx.Response:
        return self.post_signed("payload=" + quote(json.dumps(payload)))

    def _base_payload(self, kind: str, ws: Workspace, user: str) -> JSON:
        return {
            "type": kind,
            "user": self._user_obj(ws, user),
            "api_app_id": self.sb.app_id,
            "token": self.sb.verification_token,
            "team": self._team_obj(ws),
            "enterprise": None,
            "is_enterprise_install": False,
        }

    def forge(self, kind: str, user: str, *, team: str | None = None, **fields: Any) -> httpx.Response:
        """A correctly signed payload of ``kind`` from ``user`` with whatever ``fields`` a tampering client puts in
        (a button value naming another workspace's preview, a modal's private_metadata...): the app must trust none
        of them."""
        ws = self._workspace(user, team)
        return self._post_payload(
            self._base_payload(kind, ws, user) | {"trigger_id": self.sb.issue_trigger(ws.team_id, user)} | fields
        )

    def click(
        self,
        user: str,
        *,
        action_id: str,
        channel: str | None = None,
        message_ts: str | None = None,
        view_id: str | None = None,
        value: Any = None,
        home: bool = False,
        team: str | None = None,
    ) -> httpx.Response:
        """Click (or pick `value` in) the element with `action_id`, as rendered in a message, a modal or the Home tab."""
        ws = self._workspace(user, team)
        if home or view_id is not None:
            return self._click_in_view(ws, user, action_id, view_id, value, home)
        if channel is None:
            raise DriverError("click needs channel= (with optional message_ts=), view_id= or home=True")
        return self._click_in_message(ws, user, action_id, self._resolve_channel(ws, channel), message_ts, value)

    def _click_in_message(
        self, ws: Workspace, user: str, action_id: str, channel_id: str, message_ts: str | None, value: Any
    ) -> httpx.Response:
        candidates: list[tuple[str, JSON, bool]] = [(m.ts, m.to_api(), False) for m in self.sb.messages(channel_id)]
        candidates += [(e.ts, e.to_api(), True) for e in self.sb.ephemerals(channel_id, user)]
        candidates.sort(key=lambda c: float(c[0]), reverse=True)
        for ts, message, ephemeral in candidates:
            if message_ts is not None and ts != message_ts:
                continue
            found = blockkit.find_element(message.get("blocks", []), action_id)
            if found is None:
                continue
            action, state = self._action(found, value)
            payload = self._base_payload("block_actions", ws, user) | {
                "container": {"type": "message", "message_ts": ts, "channel_id": channel_id, "is_ephemeral": ephemeral},
                "trigger_id": self.sb.issue_trigger(ws.team_id, user),
                "channel": {"id": channel_id, "name": self._channel_name(ws, channel_id)},
                "state": {"values": state},
                "response_url": self.sb.issue_response_url(ws.team_id, channel_id, user, message_ts=ts, ephemeral=ephemeral),
                "actions": [action],
            }
            if not ephemeral:
                payload["message"] = message
            return self._post_payload(payload)
        where = f"message {message_ts}" if message_ts else "any message"
        raise DriverError(f"no element with action_id {action_id!r} in {where} in {channel_id} visible to {user}")

    def _click_in_view(
        self, ws: Workspace, user: str, action_id: str, view_id: str | None, value: Any, home: bool
    ) -> httpx.Response:
        view = self.sb.home_view(user) if home else self.sb.view(str(view_id))
        if view is None:
            raise DriverError(f"{user} has no Home tab published")
        if not home and view["id"] not in {v["id"] for v in self.sb.open_views(user)}:
            raise DriverError(f"view {view_id} is not open for {user}")
        found = blockkit.find_element(view.get("blocks", []), action_id)
        if found is None:
            raise DriverError(f"no element with action_id {action_id!r} in view {view['id']}")
        if found.block.get("type") == "input" and not found.block.get("dispatch_action"):
            raise DriverError(f"{action_id!r} is in an input block without dispatch_action: Slack sends no block_actions")
        action, state = self._action(found, value)
        if found.type in blockkit.STATEFUL_TYPES:
            self._remember(view["id"], found, state)
            view = self.sb.view(view["id"])
        payload = self._base_payload("block_actions", ws, user) | {
            "container": {"type": "view", "view_id": view["id"]},
            "trigger_id": self.sb.issue_trigger(ws.team_id, user),
            "view": view,
            "actions": [action],
        }
        return self._post_payload(payload)

    def _action(self, found: Located, value: Any) -> tuple[JSON, JSON]:
        element = found.element
        action: JSON = {
            "action_id": found.action_id,
            "block_id": found.block_id,
            "type": found.type,
            "action_ts": f"{time.time():.6f}",
        }
        if found.type == "button":
            action["text"] = element.get("text")
            if "value" in element:
                action["value"] = element["value"]
            if "style" in element:
                action["style"] = element["style"]
            return action, {}
        if found.type in SELECT_TYPES or found.type.endswith("input"):
            if value is None:
                raise DriverError(f"{found.action_id!r} is a {found.type}: pass value= to choose something")
            try:
                state = blockkit.state_for(element, value)
            except LookupError as error:
                raise DriverError(str(error)) from None
            action |= {k: v for k, v in state.items() if k != "type"}
            if found.type.startswith("multi_") or found.type == "checkboxes":
                action["initial_options"] = element.get("initial_options", [])
            return action, {found.block_id: {found.action_id: state}}
        return action, {}

    def _remember(self, view_id: str, found: Located, state: JSON) -> None:
        with self.sb.changed:
            values = self.sb.views[view_id]["state"]["values"]
            values.setdefault(found.block_id, {})[found.action_id] = state[found.block_id][found.action_id]
            self.sb.changed.notify_all()

    # ---- options (external selects) ----------------------------------------------------------------------------------

    def suggest(self, user: str, view_id: str, action_id: str, value: str, *, team: str | None = None) -> list[JSON]:
        """Type `value` into an external select: sends block_suggestion and returns the options the app offered."""
        ws = self._workspace(user, team)
        view = self.sb.view(view_id)
        found = blockkit.find_element(view.get("blocks", []), action_id)
        if found is None or "external_select" not in found.type:
            raise DriverError(f"no external select with action_id {action_id!r} in view {view_id}")
        min_length = int(found.element.get("min_query_length", 3))
        if len(value) < min_length:
            raise DriverError(f"Slack sends no options request for {value!r}: min_query_length is {min_length}")
        payload = self._base_payload("block_suggestion", ws, user) | {
            "container": {"type": "view", "view_id": view_id},
            "action_id": action_id,
            "block_id": found.block_id,
            "value": value,
            "view": view,
        }
        response = self._post_payload(payload)
        if response.status_code != 200:
            raise DriverError(f"options request answered HTTP {response.status_code}: {response.text[:200]}")
        body = response.json()
        options = list(body.get("options", []))
        for group in body.get("option_groups", []):
            options.extend(group.get("options", []))
        errors = blockkit.option_errors(options) if "options" in body else []
        for group_errors in (blockkit.option_errors(g.get("options", [])) for g in body.get("option_groups", [])):
            errors += group_errors
        if errors:
            raise DriverError(f"Slack would show no options: {errors}")
        return options

    # ---- view submissions ---------------------------------------------------------------------------------------------

    def submit(
        self, user: str, view_id: str, values: Mapping[str, Any] | None = None, *, team: str | None = None
    ) -> httpx.Response:
        """Fill the modal's inputs (keyed by action_id) and press Submit; applies the app's response_action."""
        ws = self._workspace(user, team)
        stack = [v["id"] for v in self.sb.open_views(user)]
        if view_id not in stack:
            raise DriverError(f"view {view_id} is not open for {user} (open: {stack})")
        view = self.sb.view(view_id)
        view["state"] = {"values": self._submitted_values(view, dict(values or {}))}
        with self.sb.changed:
            self.sb.views[view_id]["state"] = copy.deepcopy(view["state"])
        payload = self._base_payload("view_submission", ws, user) | {
            "trigger_id": self.sb.issue_trigger(ws.team_id, user),
            "view": view,
            "response_urls": [],
        }
        response = self._post_payload(payload)
        if response.status_code == 200:
            self._apply_submission_response(ws, user, view, response)
        return response

    def close_view(self, user: str, view_id: str, *, team: str | None = None) -> httpx.Response | None:
        """Press Cancel/X: the view leaves the stack; the app hears view_closed only if notify_on_close is set."""
        ws = self._workspace(user, team)
        view = self.sb.view(view_id)
        owner = (ws.team_id, user)
        with self.sb.changed:
            stack = self.sb.stacks.get(owner, [])
            if view_id not in stack:
                raise DriverError(f"view {view_id} is not open for {user}")
            cleared = bool(view.get("clear_on_close"))
            self.sb.stacks[owner] = [] if cleared else stack[: stack.index(view_id)]
            self.sb.changed.notify_all()
        if not view.get("notify_on_close"):
            return None
        payload = self._base_payload("view_closed", ws, user) | {"view": view, "is_cleared": cleared}
        return self._post_payload(payload)

    def _submitted_values(self, view: JSON, values: dict[str, Any]) -> JSON:
        remembered = view.get("state", {}).get("values", {})
        inputs = list(blockkit.input_elements(view.get("blocks", [])))
        known = {i.action_id for i in inputs}
        unknown = set(values) - known
        if unknown:
            raise DriverError(f"no input with action_id {sorted(unknown)} in view {view['id']} (inputs: {sorted(known)})")
        state: JSON = {}
        for found in inputs:
            entry = self._input_state(found, values, remembered)
            label = (found.block.get("label") or {}).get("text", found.block_id)
            if blockkit.is_empty_state(entry) and not found.block.get("optional"):
                raise DriverError(f"Slack blocks submission: required input {label!r} ({found.action_id}) is empty")
            self._check_length(found, entry, label)
            state.setdefault(found.block_id, {})[found.action_id] = entry
        return state

    def _input_state(self, found: Located, values: dict[str, Any], remembered: JSON) -> JSON:
        if found.action_id in values:
            value = values[found.action_id]
            if found.type == "file_input":
                value = [self._as_file(f) for f in (value if isinstance(value, list) else [value])]
            try:
                return blockkit.state_for(found.element, value)
            except LookupError as error:
                raise DriverError(str(error)) from None
        kept = remembered.get(found.block_id, {}).get(found.action_id)
        if kept is not None:
            return dict(kept)
        return blockkit.initial_state(found.element) or blockkit.empty_state(found.element)

    def _as_file(self, value: Any) -> JSON:
        if isinstance(value, dict):
            return value
        if isinstance(value, tuple) and len(value) == 2:
            return self.sb.host_file(str(value[0]), bytes(value[1]))
        raise DriverError("file_input values are file objects from sb.host_file(...) or (name, bytes) tuples")

    def _check_length(self, found: Located, entry: JSON, label: str) -> None:
        text = entry.get("value")
        if not isinstance(text, str):
            return
        low, high = found.element.get("min_length"), found.element.get("max_length")
        if (low is not None and len(text) < int(low)) or (high is not None and len(text) > int(high)):
            raise DriverError(f"Slack blocks submission: {label!r} must be {low}-{high} characters")

    def _apply_submission_response(self, ws: Workspace, user: str, view: JSON, response: httpx.Response) -> None:
        body: JSON = response.json() if response.content.strip() else {}
        action = body.get("response_action")
        owner = (ws.team_id, user)
        with self.sb.changed:
            stack = self.sb.stacks.get(owner, [])
            if action == "errors":
                self._check_errors(view, body.get("errors"))
            elif action in ("update", "push"):
                self._apply_view_action(ws, user, view, body, action)
            elif action == "clear":
                self.sb.stacks[owner] = []
            elif action is None:
                self.sb.stacks[owner] = stack[: stack.index(view["id"])] if view["id"] in stack else stack
            else:
                raise DriverError(f"unknown response_action {action!r}")
            self.sb.changed.notify_all()

    def _check_errors(self, view: JSON, errors: Any) -> None:
        input_blocks = {i.block_id for i in blockkit.input_elements(view.get("blocks", []))}
        if not isinstance(errors, dict) or not errors:
            raise DriverError("response_action=errors needs a non-empty errors object")
        stray = set(errors) - input_blocks
        if stray:
            raise DriverError(f"errors name blocks that are not input blocks of this view: {sorted(stray)}")

    def _apply_view_action(self, ws: Workspace, user: str, view: JSON, body: JSON, action: str) -> None:
        new_view = body.get("view")
        problems = blockkit.view_errors(new_view)
        if problems:
            raise SlackSandboxError(f"Slack would refuse the response_action={action} view: {problems}")
        assert isinstance(new_view, dict)
        if action == "update":
            ctx = Ctx(state=self.sb, args={}, workspace_or_none=ws)
            store_view(ctx, new_view, (ws.team_id, user), view_id=view["id"])
            return
        stack = self.sb.stacks.setdefault((ws.team_id, user), [])
        if len(stack) >= PUSH_LIMIT:
            raise SlackSandboxError("response_action=push beyond Slack's 3-view stack")
        ctx = Ctx(state=self.sb, args={}, workspace_or_none=ws)
        stored = store_view(ctx, new_view, (ws.team_id, user), root=view.get("root_view_id"))
        stored["previous_view_id"] = view["id"]
        stack.append(stored["id"])

    # ---- events -------------------------------------------------------------------------------------------------------

    def event(
        self,
        team: str,
        event: Mapping[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
    ) -> httpx.Response:
        """Deliver an Events API event (event_callback envelope); pass event_id and retry_num to replay a retry."""
        ws = self.sb.workspace(team)
        now = time.time()
        inner = dict(event)
        inner.setdefault("event_ts", f"{now:.6f}")
        envelope = {
            "token": self.sb.verification_token,
            "team_id": ws.team_id,
            "context_team_id": ws.team_id,
            "context_enterprise_id": None,
            "api_app_id": self.sb.app_id,
            "event": inner,
            "type": "event_callback",
            "event_id": event_id or f"Ev{secrets.token_hex(5).upper()}",
            "event_time": int(now),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": ws.team_id,
                    "user_id": ws.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{secrets.token_hex(12)}",
        }
        extra = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason} if retry_num else {}
        return self.post_signed(json.dumps(envelope), content_type=JSON_CT, extra_headers=extra)

    def app_home_opened(self, user: str, *, tab: str = "home", team: str | None = None) -> httpx.Response:
        ws = self._workspace(user, team)
        event: JSON = {"type": "app_home_opened", "user": user, "channel": ws.im_with(user).id, "tab": tab}
        home = self.sb.home_view(user)
        if home is not None and tab == "home":
            event["view"] = home
        return self.event(ws.team_id, event)

    def url_verification(self, challenge: str = "sandbox-challenge") -> httpx.Response:
        body = {"token": self.sb.verification_token, "challenge": challenge, "type": "url_verification"}
        return self.post_signed(json.dumps(body), content_type=JSON_CT)


def _parse_form(body: str) -> list[tuple[str, str]]:
    return parse_qsl(body, keep_blank_values=True)


def _ack_message(response: httpx.Response) -> JSON:
    if response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
        return body if isinstance(body, dict) else {"text": str(body)}
    return {"text": response.text}


def view_values(view: JSON) -> JSON:
    """A copy of a view's state values (what a submission would carry)."""
    return copy.deepcopy(view.get("state", {}).get("values", {}))
