"""The import listener's file handling: which URLs get the bot token, what a submission's file looks like."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest.mock import Mock

import pytest
from slack_sdk import WebClient
from sqlalchemy.exc import OperationalError

from deferredrev.bot import ids
from deferredrev.bot.authority import Authority
from deferredrev.bot.deps import BotDeps
from deferredrev.bot.listeners.contracts import (
    MAX_FILE_BYTES,
    ImportAnswer,
    UploadedFile,
    UploadError,
    _import_upload,
    download_text,
    is_slack_file_url,
    uploaded_file,
)
from deferredrev.clock import ManualClock
from deferredrev.sandbox.slack import SlackSandbox
from deferredrev.services.connections import ConnectionService
from deferredrev.services.mappings import MappingService
from deferredrev.services.status import StatusReader
from deferredrev.services.workspaces import WorkspaceService
from deferredrev.settings import Plan
from deferredrev.storage.db import SessionFactory, make_engine, make_session_factory
from deferredrev.storage.models import Workspace


@pytest.mark.parametrize(
    ("url", "api_base", "trusted"),
    [
        ("https://files.slack.com/files-pri/T1-F1/download/c.csv", "https://slack.com/api/", True),
        ("https://slack.com/files-pri/T1-F1/c.csv", "https://slack.com/api/", True),
        ("http://files.slack.com/files-pri/T1-F1/c.csv", "https://slack.com/api/", False),
        ("https://files.slack.com.evil.example/c.csv", "https://slack.com/api/", False),
        ("https://evilslack.com/c.csv", "https://slack.com/api/", False),
        ("http://127.0.0.1:4002/files-pri/T1-F1/download/c.csv", "http://127.0.0.1:4002/api/", True),
        ("http://127.0.0.1:9999/files-pri/T1-F1/download/c.csv", "http://127.0.0.1:4002/api/", False),
        ("file:///etc/passwd", "https://slack.com/api/", False),
    ],
)
def test_the_bot_token_only_goes_to_slack(url: str, api_base: str, trusted: bool) -> None:
    assert is_slack_file_url(url, api_base) is trusted


def test_a_foreign_url_is_refused_before_any_request() -> None:
    with pytest.raises(UploadError, match="isn't hosted by Slack"):
        download_text(
            UploadedFile("c.csv", "https://example.com/c.csv", 10), token="xoxb-x", api_base="https://slack.com/api/"
        )


def test_a_file_slack_says_is_too_large_is_refused_before_downloading() -> None:
    upload = UploadedFile("big.csv", "https://files.slack.com/x/big.csv", MAX_FILE_BYTES + 1)
    with pytest.raises(UploadError, match="larger than 5 MB"):
        download_text(upload, token="xoxb-x", api_base="https://slack.com/api/")


def test_uploaded_file_reads_the_first_file_of_the_input() -> None:
    file = {"name": "c.csv", "url_private_download": "https://files.slack.com/d/c.csv", "size": 12}
    view: dict[str, Any] = {
        "state": {"values": {ids.IMPORT_FILE_BLOCK: {ids.IMPORT_FILE_INPUT: {"type": "file_input", "files": [file]}}}}
    }
    assert uploaded_file(view) == UploadedFile("c.csv", "https://files.slack.com/d/c.csv", 12)
    assert uploaded_file({"state": {"values": {}}}) is None
    empty: dict[str, Any] = {"state": {"values": {ids.IMPORT_FILE_BLOCK: {ids.IMPORT_FILE_INPUT: {"files": []}}}}}
    assert uploaded_file(empty) is None


@pytest.fixture
def sandbox() -> Iterator[SlackSandbox]:
    running = SlackSandbox(signing_secret="s").start()
    running.add_workspace("T1", "Acme", "xoxb-good")
    try:
        yield running
    finally:
        running.stop()


def hosted(sandbox: SlackSandbox, content: bytes, *, with_size: bool = True) -> UploadedFile:
    file = sandbox.host_file("c.csv", content)
    return UploadedFile(file["name"], file["url_private_download"], file["size"] if with_size else None)


def test_download_uses_the_bot_token_and_tolerates_a_byte_order_mark(sandbox: SlackSandbox) -> None:
    upload = hosted(sandbox, b"\xef\xbb\xbfcontract_id\n")
    assert download_text(upload, token="xoxb-good", api_base=sandbox.api_url) == "contract_id\n"
    with pytest.raises(UploadError, match="HTTP 302"):
        download_text(upload, token="xoxb-wrong", api_base=sandbox.api_url)


def test_download_stops_at_5_mb_even_when_slack_gave_no_size(sandbox: SlackSandbox) -> None:
    upload = hosted(sandbox, b"x" * (MAX_FILE_BYTES + 1), with_size=False)
    with pytest.raises(UploadError, match="larger than 5 MB"):
        download_text(upload, token="xoxb-good", api_base=sandbox.api_url)
    exactly = hosted(sandbox, b"x" * MAX_FILE_BYTES, with_size=False)
    assert len(download_text(exactly, token="xoxb-good", api_base=sandbox.api_url)) == MAX_FILE_BYTES


def test_non_utf8_is_refused_with_what_to_do(sandbox: SlackSandbox) -> None:
    with pytest.raises(UploadError, match=r"isn't UTF-8 text\. Save it as “CSV UTF-8"):
        download_text(hosted(sandbox, "Café".encode("cp1252")), token="xoxb-good", api_base=sandbox.api_url)


# ---- after the ack: importing the downloaded file ---------------------------------------------------------------------

CONTRACTS_CSV = b"contract_id,customer,amount,currency,start_date,end_date\nC1,Acme,100.00,USD,2026-01-01,2026-12-31\n"


def import_deps(sessions: SessionFactory, *, default_plan: Plan = Plan.GROWTH) -> BotDeps:
    clock = ManualClock(datetime(2026, 3, 1, tzinfo=UTC))
    return BotDeps(
        workspaces=WorkspaceService(sessions=sessions, clock=clock, default_plan=default_plan),
        connections=Mock(ConnectionService),
        mappings=Mock(MappingService),
        status=Mock(StatusReader),
        authority=Mock(Authority),
        sessions=sessions,
        public_url="http://localhost:3000",
        clock=clock,
    )


def slack_client(sandbox: SlackSandbox) -> Mock:
    client = Mock(WebClient)
    client.token, client.base_url = "xoxb-good", sandbox.api_url
    return client


ANSWER = ImportAnswer("V1", "T1", "U1", {"channel_id": None})


def test_a_workspace_the_import_makes_gets_the_configured_default_plan(
    sandbox: SlackSandbox, sessions: SessionFactory
) -> None:
    client = slack_client(sandbox)
    _import_upload(import_deps(sessions, default_plan=Plan.STARTER), client, hosted(sandbox, CONTRACTS_CSV), ANSWER)
    with sessions() as session:
        assert session.get_one(Workspace, "T1").plan == "starter"
    assert "Imported" in json.dumps(client.views_update.call_args.kwargs["view"])


def test_an_unexpected_failure_leaves_no_modal_on_importing_and_reaches_the_error_handler(
    sandbox: SlackSandbox, tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/no/such/dir/gone.db")  # every query fails: the database went away
    client = slack_client(sandbox)
    try:
        with pytest.raises(OperationalError):
            _import_upload(import_deps(make_session_factory(engine)), client, hosted(sandbox, CONTRACTS_CSV), ANSWER)
    finally:
        engine.dispose()
    shown = client.views_update.call_args.kwargs
    assert shown["view_id"] == "V1"
    assert "Something went wrong importing c.csv; nothing was imported" in json.dumps(shown["view"])
