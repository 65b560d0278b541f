"""`/deferredrev contracts`, the Import contracts button and the import modal's submission.

The submission is checked at once (an admin, a file, hosted by Slack, not too large); then, after the ack, the
uploaded CSV is downloaded with the bot token and imported all or nothing, and the modal shows the outcome: the
first problems above the file input, with the full list in a message to the person (nothing is lost). Should the
import fail unexpectedly, the modal says so before the error goes on to the app's error handler.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from slack_bolt import Ack, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from deferredrev.bot import ids
from deferredrev.bot.authority import Requester
from deferredrev.bot.blocks import contracts as blocks
from deferredrev.bot.blocks import messages, modals
from deferredrev.bot.blocks.common import field_error
from deferredrev.bot.blocks.messages import Message
from deferredrev.bot.deps import BotDeps
from deferredrev.bot.listeners import flows
from deferredrev.bot.listeners.guard import GuardedApp, Later
from deferredrev.bot.listeners.replies import channel_id_of, metadata_of, reply
from deferredrev.revrec.csv_contracts import LineError, NotUtf8Error, decode_contracts_csv
from deferredrev.services.contract_stats import contract_stats
from deferredrev.services.contracts import ContractImportError, import_contracts_csv

logger = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT = httpx.Timeout(10.0)
MAX_FILE_BYTES = 5 * 1024 * 1024
ERRORS_FILE_NAME = "contracts-import-errors.txt"
IMPORT_FAILED = "Something went wrong importing {name}; nothing was imported. Try again in a moment."


class UploadError(Exception):
    """The uploaded file can't be read as a contracts CSV; the message is for the person who uploaded it."""


@dataclass(frozen=True)
class UploadedFile:
    name: str
    url: str
    size: int | None


def register(app: GuardedApp) -> None:
    app.action(ids.OPEN_IMPORT, after_ack=True)(open_import_clicked)
    app.view(ids.IMPORT_VIEW)(import_submitted)


# ---- /deferredrev contracts ------------------------------------------------------------------------------------------


def contracts_message(
    deps: BotDeps, client: WebClient, command: dict[str, Any], who: Requester, rest: str
) -> Message | None:
    """Counts and totals with an Import button for admins; `/deferredrev contracts import` opens the import at once."""
    if rest.lower() == "import":
        return open_import(deps, client, trigger_id=command["trigger_id"], who=who, channel_id=command.get("channel_id"))
    stats = contract_stats(deps.sessions, who.team_id, deps.clock.now().date())
    return blocks.contracts_overview(stats, can_import=deps.authority.is_admin(client, who))


def open_import(
    deps: BotDeps, client: WebClient, *, trigger_id: str, who: Requester, channel_id: str | None
) -> Message | None:
    """Open the import modal (remembering where to answer); a refusal message for non-admins."""
    if refusal := flows.admin_refusal(deps, client, who, "import contracts"):
        return refusal
    view = modals.import_modal()
    view["private_metadata"] = json.dumps({"channel_id": channel_id})
    client.views_open(trigger_id=trigger_id, view=view)
    return None


def open_import_clicked(body: dict[str, Any], client: WebClient, respond: Respond, deps: BotDeps, who: Requester) -> None:
    refusal = open_import(deps, client, trigger_id=body["trigger_id"], who=who, channel_id=channel_id_of(body))
    if refusal is not None:
        reply(body, respond, client, *refusal)


# ---- the import modal ------------------------------------------------------------------------------------------------


def import_submitted(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, deps: BotDeps, later: Later, who: Requester
) -> None:
    """What needs no download is answered in the modal at once; the download and import run after the ack (a big
    file takes longer than Slack's 3 seconds) and the modal is updated with the result."""
    team_id, user_id = who.team_id, who.user_id
    clearance = deps.authority.clearance(client, who)
    if not clearance.is_admin:
        _field_error(ack, clearance.refusal("import contracts") or f"Only {blocks.WHO_CAN_IMPORT}")
        return
    upload = uploaded_file(view)
    if upload is None:
        _field_error(ack, "Choose a CSV file to import.")
        return
    try:
        check_upload(upload, api_base=client.base_url)
    except UploadError as error:
        _field_error(ack, str(error))
        return
    metadata = metadata_of(view)
    ack(response_action="update", view=modals.importing_modal(upload.name, metadata=metadata))
    later(_import_upload, deps, client, upload, ImportAnswer(str(view["id"]), team_id, user_id, metadata))


@dataclass(frozen=True)
class ImportAnswer:
    """Where the result of an import goes: the modal it was submitted from, and the person."""

    view_id: str
    team_id: str
    user_id: str
    metadata: dict[str, Any]

    @property
    def channel_id(self) -> str | None:
        channel = self.metadata.get("channel_id")
        return str(channel) if channel else None


def _import_upload(deps: BotDeps, client: WebClient, upload: UploadedFile, answer: ImportAnswer) -> None:
    """Download and import; the modal (and the person) hear the outcome, whatever it is."""
    try:
        text = download_text(upload, token=client.token or "", api_base=client.base_url)
        # a new workspace is made as every other path makes it: on DEFERREDREV_DEFAULT_PLAN
        plan = deps.workspaces.settings(answer.team_id).plan
        result = import_contracts_csv(
            deps.sessions, deps.clock, team_id=answer.team_id, text=text, actor=answer.user_id, default_plan=plan
        )
    except UploadError as error:
        if not _show(client, answer.view_id, modals.import_modal([str(error)], metadata=answer.metadata)):
            _tell(client, answer.user_id, answer.channel_id, messages.error_message(str(error)))
        return
    except ContractImportError as error:
        _show(client, answer.view_id, modals.import_modal(blocks.import_field_error(error.errors), metadata=answer.metadata))
        _send_all_errors(client, answer.user_id, answer.channel_id, error.errors, upload.name)
        return
    except Exception:
        # not left on "Importing…": the modal says it failed; the error handler logs it and tells the person
        failed = [IMPORT_FAILED.format(name=upload.name)]
        _show(client, answer.view_id, modals.import_modal(failed, metadata=answer.metadata))
        raise
    done = blocks.import_done_message(result, upload.name)
    _show(client, answer.view_id, modals.import_done_modal(done))
    _tell(client, answer.user_id, answer.channel_id, done)


def _show(client: WebClient, view_id: str, view: dict[str, Any]) -> bool:
    """Put the import's outcome in its modal; False when the person has closed it meanwhile."""
    try:
        client.views_update(view_id=view_id, view=view)
    except SlackApiError as error:
        logger.info("import modal gone before its result: %s", error.response.get("error"))
        return False
    return True


def _field_error(ack: Ack, message: str) -> None:
    ack(response_action="errors", errors={ids.IMPORT_FILE_BLOCK: field_error(message)})


def uploaded_file(view: dict[str, Any]) -> UploadedFile | None:
    """The first file in the modal's file input, as Slack describes it in the submission."""
    state = view.get("state", {}).get("values", {}).get(ids.IMPORT_FILE_BLOCK, {}).get(ids.IMPORT_FILE_INPUT, {})
    files = state.get("files") or []
    if not files or not isinstance(files[0], dict):
        return None
    first: dict[str, Any] = files[0]
    url = first.get("url_private_download") or first.get("url_private")
    if not url:
        return None
    size = first.get("size")
    return UploadedFile(
        name=str(first.get("name") or "the file"), url=str(url), size=size if isinstance(size, int) else None
    )


def check_upload(upload: UploadedFile, *, api_base: str) -> None:
    """What can be refused before downloading: a file not hosted by Slack, or one Slack says is too large."""
    if not is_slack_file_url(upload.url, api_base):
        raise UploadError("That file isn't hosted by Slack, so I can't read it. Upload it again.")
    if upload.size is not None and upload.size > MAX_FILE_BYTES:
        raise UploadError(_too_large(upload.name))


def download_text(upload: UploadedFile, *, token: str, api_base: str) -> str:
    """The file's text: at most 5 MB, UTF-8 (a byte-order mark is fine). The bot token goes only to Slack."""
    check_upload(upload, api_base=api_base)
    content = _fetch(upload, token)
    try:
        return decode_contracts_csv(content, name=upload.name)
    except NotUtf8Error as error:
        raise UploadError(str(error)) from None


def _fetch(upload: UploadedFile, token: str) -> bytes:
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.stream("GET", upload.url, headers=headers, timeout=DOWNLOAD_TIMEOUT, follow_redirects=False) as answer:
            if answer.status_code != 200:
                logger.warning("file download answered HTTP %s", answer.status_code)
                raise UploadError(f"Slack didn't let me download {upload.name} (HTTP {answer.status_code}). Try again.")
            if answer.headers.get("content-type", "").startswith("text/html"):
                # what Slack sends instead of the file when the token may not read it (no files:read scope)
                raise UploadError(f"Slack sent a sign-in page instead of {upload.name}. Ask an admin to reinstall the app.")
            content = bytearray()
            for chunk in answer.iter_bytes():
                content += chunk
                if len(content) > MAX_FILE_BYTES:
                    raise UploadError(_too_large(upload.name))
            return bytes(content)
    except httpx.HTTPError as error:
        logger.warning("file download failed: %s", error.__class__.__name__)
        raise UploadError(f"I couldn't download {upload.name} from Slack ({error.__class__.__name__}). Try again.") from None


def _too_large(name: str) -> str:
    return f"{name} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB. Split it into smaller files and import each."


def is_slack_file_url(url: str, api_base: str) -> bool:
    """Slack's own file hosts over HTTPS, or the host of the configured Slack API (a sandbox or proxy)."""
    parts, api = urlsplit(url), urlsplit(api_base)
    if parts.scheme == "https" and (parts.hostname == "slack.com" or (parts.hostname or "").endswith(".slack.com")):
        return True
    return bool(parts.hostname) and (parts.scheme, parts.netloc) == (api.scheme, api.netloc)


# ---- answering the person --------------------------------------------------------------------------------------------


def _send_all_errors(
    client: WebClient, user_id: str, channel_id: str | None, errors: list[LineError], file_name: str
) -> None:
    _tell(client, user_id, channel_id, blocks.import_errors_message(errors, file_name))
    if blocks.errors_left_out(errors):
        _upload_errors(client, user_id, blocks.errors_as_text(errors, file_name))


def _tell(client: WebClient, user_id: str, channel_id: str | None, message: Message) -> None:
    """Ephemeral in the channel the import started from; a DM when there is none or Slack refuses."""
    text, message_blocks = message
    if channel_id:
        try:
            client.chat_postEphemeral(channel=channel_id, user=user_id, text=text, blocks=message_blocks)
            return
        except SlackApiError as error:
            logger.info("ephemeral to %s failed (%s); sending a DM", user_id, error.response.get("error"))
    try:
        client.chat_postMessage(channel=user_id, text=text, blocks=message_blocks)
    except SlackApiError as error:
        logger.warning("could not tell %s about the import: %s", user_id, error.response.get("error"))


def _upload_errors(client: WebClient, user_id: str, content: str) -> None:
    """More problems than a message holds: the whole list as a text file in the person's DM."""
    try:
        channel = client.conversations_open(users=user_id)["channel"]["id"]
        client.files_upload_v2(
            channel=channel, content=content, filename=ERRORS_FILE_NAME, title="Contracts import problems"
        )
    except SlackApiError as error:
        logger.warning("could not send the full error list to %s: %s", user_id, error.response.get("error"))
