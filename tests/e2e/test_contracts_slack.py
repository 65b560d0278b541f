"""Contracts in Slack, end to end: `/deferredrev contracts`, the Import button, the import modal and its answers."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import func, select

from deferredrev.bot import ids
from deferredrev.bot.blocks.contracts import STATE_LABELS
from deferredrev.demo.samples import sample_contracts_path
from deferredrev.revrec.csv_contracts import parse_contracts_csv
from deferredrev.sandbox.slack import DriverError
from deferredrev.sandbox.slack.blockkit import find_element
from deferredrev.services.contract_stats import summarise
from deferredrev.storage.db import make_engine, make_session_factory
from deferredrev.storage.models import Contract as ContractRow
from tests.e2e.harness import ADMIN, CHANNEL, MEMBER, TEAM, Stack

HEADER = "contract_id,customer,amount,currency,start_date,end_date\n"
BAD_CSV = (
    HEADER + "C-1,Acme,10.001,USD,2026-01-01,2026-12-31\n"
    "C-2,,100.00,USD,2026-01-01,2026-12-31\n"
    "C-3,Acme,100.00,USD,2026-12-31,2026-01-01\n"
    "C-4,Acme,100.00,USD,2026-01-01,2026-12-31\n"  # valid, and still not imported
    "C-5,Acme,100.00,XYZ,2026-01-01,2026-12-31\n"
).encode()


def sample_bytes() -> bytes:
    return sample_contracts_path().read_bytes()


def stored_contracts(stack: Stack) -> int:
    engine = make_engine(stack.settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            return int(session.scalar(select(func.count()).select_from(ContractRow).where(ContractRow.team_id == TEAM)) or 0)
    finally:
        engine.dispose()


def overview(stack: Stack, user: str, contains: str) -> Any:
    stack.command("contracts", user=user)
    return stack.slack.wait_for_ephemeral(CHANNEL, user, contains=contains)


def has_import_button(message: Any) -> bool:
    return find_element(list(message.blocks or []), ids.OPEN_IMPORT) is not None


def open_import_modal(stack: Stack) -> dict[str, Any]:
    overview(stack, ADMIN, "Contracts")
    seen = {view["id"] for view in stack.slack.open_views(ADMIN)}
    response = stack.driver.click(ADMIN, action_id=ids.OPEN_IMPORT, channel=CHANNEL)
    assert response.status_code == 200
    return stack.slack.wait_for_view(ADMIN, callback_id=ids.IMPORT_VIEW, predicate=lambda view: view["id"] not in seen)


def submit_file(stack: Stack, name: str, content: bytes) -> tuple[dict[str, Any], httpx.Response]:
    view = open_import_modal(stack)
    response = stack.driver.submit(ADMIN, view["id"], {ids.IMPORT_FILE_INPUT: (name, content)})
    assert response.status_code == 200, response.text
    return view, response


def field_error(response: httpx.Response) -> str:
    body = response.json()
    assert body["response_action"] == "errors", body
    assert set(body["errors"]) == {ids.IMPORT_FILE_BLOCK}
    return str(body["errors"][ids.IMPORT_FILE_BLOCK])


def importing(response: httpx.Response) -> bool:
    """Slack's ack turned the modal into "Importing…": the download and the import happen after it."""
    body = response.json()
    return bool(body["response_action"] == "update" and "Importing" in str(body["view"]["blocks"]))


def shown_problem(view: dict[str, Any]) -> str | None:
    for block in view.get("blocks", []):
        if block.get("block_id") == ids.IMPORT_PROBLEM_BLOCK:
            return str(block["text"]["text"])
    return None


def modal_problem(stack: Stack, view: dict[str, Any], contains: str) -> str:
    """The form, shown again in the same modal after its file could not be imported, with why."""
    shown = stack.slack.wait_for_view(
        ADMIN, callback_id=ids.IMPORT_VIEW, predicate=lambda v: contains in (shown_problem(v) or "")
    )
    assert shown["id"] == view["id"] and find_element(shown["blocks"], ids.IMPORT_FILE_INPUT) is not None
    return str(shown_problem(shown))


def modal_result(stack: Stack, view: dict[str, Any], contains: str) -> dict[str, Any]:
    shown = stack.slack.wait_for_view(ADMIN, callback_id=ids.IMPORT_VIEW, contains=contains)
    assert shown["id"] == view["id"] and not shown.get("submit")  # nothing left to submit
    return shown


def still_open(stack: Stack, view: dict[str, Any]) -> bool:
    return view["id"] in {v["id"] for v in stack.slack.open_views(ADMIN)}


def test_before_any_import_admins_see_the_button_and_members_see_who_can_import(stack: Stack) -> None:
    admin = overview(stack, ADMIN, "No contracts yet")
    assert has_import_button(admin)
    member = overview(stack, MEMBER, "No contracts yet")
    assert not has_import_button(member)
    assert "workspace admins or owners, or people named as DeferredRev admins, can import contracts" in stack.ephemeral_text(
        MEMBER, contains="No contracts yet"
    )
    with pytest.raises(DriverError):
        stack.driver.click(MEMBER, action_id=ids.OPEN_IMPORT, channel=CHANNEL)


def test_admin_imports_a_good_csv_and_the_overview_counts_it(stack: Stack) -> None:
    view, response = submit_file(stack, "sample_contracts.csv", sample_bytes())
    assert importing(response)
    modal_result(stack, view, "Imported 40 new and updated 0 contracts (0 unchanged)")
    stack.slack.wait_for_ephemeral(CHANNEL, ADMIN, contains="Imported 40 new and updated 0 contracts (0 unchanged)")
    assert stored_contracts(stack) == 40

    stats = summarise(parse_contracts_csv(sample_bytes().decode()).contracts, stack.clock.now().date())
    message = overview(stack, MEMBER, "40 contracts")
    counts = ", ".join(f"{stats.count(state)} {label.lower()}" for state, label in STATE_LABELS)
    assert message.text == f"40 contracts: {counts}"
    assert "USD " in str(message.blocks) and "recognised to date USD" in str(message.blocks)
    assert not has_import_button(message)

    again_view, again = submit_file(stack, "sample_contracts.csv", sample_bytes())
    assert importing(again)
    modal_result(stack, again_view, "Imported 0 new and updated 0 contracts (40 unchanged)")
    stack.slack.wait_for_ephemeral(CHANNEL, ADMIN, contains="Imported 0 new and updated 0 contracts (40 unchanged)")


def test_a_utf8_file_with_a_byte_order_mark_imports(stack: Stack) -> None:
    submit_file(
        stack, "excel.csv", b"\xef\xbb\xbf" + HEADER.encode() + "C-1,Café Nord,1.00,USD,2026-01-01,2026-01-31\n".encode()
    )
    stack.slack.wait_for_ephemeral(CHANNEL, ADMIN, contains="Imported 1 new")
    assert stored_contracts(stack) == 1


def test_a_bad_csv_is_refused_in_the_modal_and_the_full_list_goes_to_the_user(stack: Stack) -> None:
    view, response = submit_file(stack, "bad.csv", BAD_CSV)
    assert importing(response)
    error = modal_problem(stack, view, "Nothing was imported")
    assert "Nothing was imported: 4 problems." in error
    assert "Line 2, amount: USD allows at most 2 decimals; got 10.001" in error
    assert "Line 3, customer: customer is empty" in error
    assert still_open(stack, view)
    full = stack.slack.wait_for_ephemeral(CHANNEL, ADMIN, contains="Nothing was imported from bad.csv")
    shown = str(full.blocks)
    for line in ("Line 2, amount", "Line 3, customer", "Line 4, end_date", "Line 6, currency"):
        assert line in shown
    assert stored_contracts(stack) == 0
    overview(stack, ADMIN, "No contracts yet")


def test_more_problems_than_a_message_holds_are_sent_as_a_file(stack: Stack) -> None:
    amount = "1." + "1" * 200  # each problem quotes it: a few hundred fit in a message, not 2,000
    rows = "".join(f"C-{n},Acme,{amount},USD,2026-01-01,2026-12-31\n" for n in range(2000))
    view, response = submit_file(stack, "huge.csv", (HEADER + rows).encode())
    error = modal_problem(stack, view, "Nothing was imported")
    assert len(error) <= 3000 and "Nothing was imported: 2,000 problems." in error and "more" in error
    stack.slack.wait_for_ephemeral(CHANNEL, ADMIN, contains="Nothing was imported from huge.csv")
    sent = stack.slack.wait_for(
        lambda: next((f for f in stack.slack.files if f.name == "contracts-import-errors.txt"), None),
        message="the full error list as a file",
    )
    listed = sent.content.decode()
    assert listed.count("\nLine ") == 2000 and "Line 2001, amount" in listed
    assert sent.channels == [stack.slack.dm_channel(ADMIN)]
    assert stored_contracts(stack) == 0


def test_a_file_that_is_not_utf8_gets_a_clear_error(stack: Stack) -> None:
    latin1 = (HEADER + "C-1,Café Nord,1.00,USD,2026-01-01,2026-01-31\n").encode("latin-1")
    view, response = submit_file(stack, "latin1.csv", latin1)
    assert importing(response)
    assert "latin1.csv isn't UTF-8 text" in modal_problem(stack, view, "latin1.csv")
    utf16 = (HEADER + "C-1,Acme,1.00,USD,2026-01-01,2026-01-31\n").encode("utf-16")
    response = stack.driver.submit(ADMIN, view["id"], {ids.IMPORT_FILE_INPUT: ("utf16.csv", utf16)})  # the form again
    assert importing(response)
    assert "UTF-16" in modal_problem(stack, view, "utf16.csv isn't UTF-8 text")
    assert stored_contracts(stack) == 0


def test_closing_the_modal_while_importing_still_tells_the_person(stack: Stack) -> None:
    view = open_import_modal(stack)
    stack.slack.download_delay = 0.5  # the download is slow enough to close the modal first
    response = stack.driver.submit(ADMIN, view["id"], {ids.IMPORT_FILE_INPUT: ("latin1.csv", "Café".encode("latin-1"))})
    assert importing(response)
    stack.driver.close_view(ADMIN, view["id"])
    told = stack.slack.wait_for_ephemeral(CHANNEL, ADMIN, contains="latin1.csv isn't UTF-8 text")
    assert told.text and stored_contracts(stack) == 0


def test_a_member_forging_the_submission_is_refused(stack: Stack) -> None:
    stack.command("contracts import", user=MEMBER)
    stack.slack.wait_for_ephemeral(CHANNEL, MEMBER, contains="can import contracts")
    assert stack.slack.open_views(MEMBER) == []

    view = open_import_modal(stack)  # the admin's modal, replayed as if the member had it
    hosted = stack.slack.host_file("contracts.csv", sample_bytes(), user=MEMBER)
    view["state"] = {"values": {ids.IMPORT_FILE_BLOCK: {ids.IMPORT_FILE_INPUT: {"type": "file_input", "files": [hosted]}}}}
    payload = {
        "type": "view_submission",
        "user": {"id": MEMBER, "username": "cy", "name": "cy", "team_id": TEAM},
        "team": {"id": TEAM, "domain": "acme"},
        "api_app_id": stack.slack.app_id,
        "token": stack.slack.verification_token,
        "trigger_id": stack.slack.issue_trigger(TEAM, MEMBER),
        "view": view,
        "response_urls": [],
    }
    response = stack.driver.post_signed("payload=" + quote(json.dumps(payload)))
    assert response.status_code == 200
    assert "Only Slack workspace admins or owners" in field_error(response)
    assert stored_contracts(stack) == 0
