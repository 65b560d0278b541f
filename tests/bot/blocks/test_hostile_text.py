"""Hostile names through every Slack surface we build: every builder, every place outside text goes (company,
account, file and workspace names, contract ids, customers, CSV cells in import problems, services' warnings and
messages, QuickBooks' error texts, reject reasons). Each comes out inert (the same markup as with a plain name,
nothing of its own live), still readable, and every payload stays within Slack's limits."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.models.views import View

from deferredrev.bot.blocks import contracts as contract_blocks
from deferredrev.bot.blocks import messages, modals
from deferredrev.bot.blocks.common import escape
from deferredrev.bot.blocks.home import ActivityLine, home_view
from deferredrev.bot.blocks.preview import history_message, preview_message
from deferredrev.revrec.csv_contracts import parse_contracts_csv
from deferredrev.services.connections import ConnectionStatusView
from deferredrev.services.contracts import ImportResult
from deferredrev.services.mappings import Mapping
from deferredrev.services.workspaces import WorkspaceSettings
from deferredrev.settings import Plan
from tests.bot.blocks.test_builders_validate import validate_blocks
from tests.hostile import HOSTILE, PLAIN, assert_inert, live_constructs, mrkdwn_texts

NOW = datetime(2026, 11, 3, 9, tzinfo=UTC)
CONNECTED = ConnectionStatusView("connected", "Acme", "9341", NOW, None, NOW + timedelta(days=90), None)
MAPPING = Mapping("9341", "33", "Deferred Revenue", "79", "Services", "U0REQUEST", NOW)
SETTINGS = WorkspaceSettings("T1", Plan.GROWTH, ("U0APPROVE",), True, "C0ALERTS", "per_contract", date(2026, 1, 1))
HEADER = ["contract_id", "customer", "amount", "currency", "start_date", "end_date", "method"]

Payload = tuple[str, list[dict[str, Any]]] | dict[str, Any]


def csv_text(*rows: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


def cell_problems(value: str) -> list[Any]:
    """Real line errors quoting ``value`` from the CSV parser: as a duplicate contract id (cut to the 64 characters
    an id may have, so a long value makes no other problem), an amount, a currency, a date, a method; and as an
    unknown column's name."""
    contract_id = value[:64]
    row = [contract_id, "Acme", value, value, value, "2026-12-31", value]
    again = [contract_id, "Acme", "1.00", "USD", "2026-01-01", "2026-12-31", "daily"]
    rows = parse_contracts_csv(csv_text(HEADER, row, again))
    header = parse_contracts_csv(csv_text([*HEADER, value], ["C-1", "Acme", "1", "USD", "2026-01-01", "2026-01-31", ""]))
    return [*rows.errors, *header.errors]


def preview_state(status: str = "open", **values: Any) -> dict[str, Any]:
    """A preview's stored state with ``values`` where a person, a CSV file or QuickBooks chose the text."""
    text = values.get
    line = {
        "doc": "DR2610-000001", "contract": text("contract", "C-1"), "customer": text("customer", "Acme"),
        "kind": "scheduled", "debit": text("account", "Deferred Revenue"), "credit": text("account", "Services"),
        "amount": 100, "currency": "USD", "amount_text": "1.00", "note": "",
    }  # fmt: skip
    content = {
        "period": "2026-10", "period_label": "Oct 2026", "company": text("company", "Acme"), "mode": "per_contract",
        "deferred_account": text("account", "Deferred Revenue"), "revenue_account": text("account", "Services"),
        "entry_count": 1, "line_pairs": 1, "lines": [line],
        "totals": {"USD": {"debits": 100, "credits": 100, "net_revenue": 100, "entries": 1}},
        "warnings": [f"1 contract(s) have nothing to post for 2026-10: {text('contract', 'C-1')}"],
        "blocking": [text("blocking", "Accounts aren't mapped yet: an admin can run /deferredrev mappings.")],
        "can_post": False, "four_eyes": True,
    }  # fmt: skip
    return {
        "preview_id": 7, "team_id": "T1", "kind": "recognition", "status": status, "requested_by": "U0REQUEST",
        "decided_by": "U0APPROVE", "reject_reason": text("reason", "Wrong amounts"), "content": content,
        "counts": {"posted": 1, "failed": 1}, "posted": [{"doc": "DR2610-000001", "qbo_id": "42"}],
        "failures": [{"message": text("failure", "QuickBooks rejected the request: closed."), "count": 1}],
        "channel": "C1", "ts": "1.2",
    }  # fmt: skip


SURFACES: dict[str, Callable[[str], Payload]] = {
    "help, an unknown subcommand": lambda v: messages.help_message(unknown=v),
    "status, company": lambda v: messages.status_message(replace(CONNECTED, company_name=v), MAPPING, SETTINGS),
    "status, expiry reason": lambda v: messages.status_message(
        replace(CONNECTED, status="expired", reason=v), MAPPING, SETTINGS
    ),
    "status, account names": lambda v: messages.status_message(
        CONNECTED, replace(MAPPING, deferred_revenue_name=v, revenue_name=v), SETTINGS
    ),
    "already connected, company": messages.already_connected,
    "disconnect confirmation, company": messages.disconnect_confirm,
    "disconnected notice, company": lambda v: messages.disconnected_notice(v, "U0ADMIN01"),
    "connected notice, company": lambda v: messages.connected_notice(v, reconnected=False, previous_company=None),
    "reconnected notice, previous company": lambda v: messages.connected_notice(
        "Acme", reconnected=True, previous_company=v
    ),
    "connect failed notice, message": messages.connect_failed_notice,
    "expiry alert, company": lambda v: messages.expiry_alert(v, "QuickBooks refused our refresh token"),
    "expiry alert, reason": lambda v: messages.expiry_alert("Acme", v),
    "hard expiry warning, company": lambda v: messages.hard_expiry_warning(v, 7),
    "confirmation, a service's message": messages.confirmation,
    "error, a service's or QuickBooks' message": messages.error_message,
    "settings saved, a note": lambda v: messages.settings_saved(unreachable_alert_channel="C0NOBOT", notes=[v]),
    "App Home, company": lambda v: home_view(replace(CONNECTED, company_name=v), MAPPING, SETTINGS, is_admin=True),
    "App Home, account names": lambda v: home_view(
        CONNECTED, replace(MAPPING, deferred_revenue_name=v, revenue_name=v), SETTINGS, is_admin=False
    ),
    "App Home, activity": lambda v: home_view(CONNECTED, MAPPING, SETTINGS, is_admin=True, activity=[ActivityLine(NOW, v)]),
    "mappings modal, company and accounts": lambda v: modals.mappings_modal(
        v, replace(MAPPING, deferred_revenue_name=v, revenue_name=v), realm_id="9341"
    ),
    "import modal, a problem": lambda v: modals.import_modal([v, f"{v} is larger than 5 MB."]),
    "import modal, CSV cells in problems": lambda v: modals.import_modal(
        contract_blocks.import_field_error(cell_problems(v))
    ),
    "importing modal, file name": lambda v: modals.importing_modal(v, metadata={}),
    "import done modal, file name": lambda v: modals.import_done_modal(
        contract_blocks.import_done_message(ImportResult(1, 0, 0), v)
    ),
    "import done message, file name": lambda v: contract_blocks.import_done_message(ImportResult(1, 0, 0), v),
    "import problems message, file name": lambda v: contract_blocks.import_errors_message(cell_problems("bad"), v),
    "import problems message, CSV cells": lambda v: contract_blocks.import_errors_message(cell_problems(v), "c.csv"),
    "preview, company": lambda v: preview_message(preview_state(company=v)),
    "preview, account names": lambda v: preview_message(preview_state(account=v)),
    "preview, contract id": lambda v: preview_message(preview_state(contract=v)),
    "preview, customer": lambda v: preview_message(preview_state(customer=v)),
    "preview, a blocking check": lambda v: preview_message(preview_state(blocking=v)),
    "preview, reject reason": lambda v: preview_message(preview_state("rejected", reason=v)),
    "preview, QuickBooks' failure": lambda v: preview_message(preview_state("failed", failure=v)),
}


def texts_of(payload: Payload) -> list[str]:
    """Every mrkdwn text Slack gets: a message's fallback text (mrkdwn too) and those in its blocks; a view's."""
    if isinstance(payload, dict):
        return list(mrkdwn_texts(payload))
    text, blocks = payload
    return [text, *mrkdwn_texts(blocks)]


def within_limits(payload: Payload) -> None:
    if isinstance(payload, dict):
        View(**payload).validate_json()
        validate_blocks(payload["blocks"], limit=100)
    else:
        validate_blocks(payload[1])


@pytest.mark.parametrize("surface", sorted(SURFACES))
@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text_is_shown_inert_and_readable(surface: str, value: str) -> None:
    build = SURFACES[surface]
    built = build(value)
    quoted = repr(value)[1:] if "CSV cells" in surface else None  # a problem quotes the cell as Python would
    assert_inert(texts_of(built), texts_of(build(PLAIN)), value, reads_as=quoted)
    within_limits(built)


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_forged_user_and_channel_ids_never_mention_anyone(value: str) -> None:
    """Ids come from Slack, but a forged submission could put anything in settings: never a live mention."""
    forged = [
        messages.alert_channel_chosen(value),
        messages.settings_saved(unreachable_alert_channel=value),
        messages.status_message(CONNECTED, MAPPING, replace(SETTINGS, approvers=(value,))),
        messages.disconnected_notice("Acme", value),
        preview_message({**preview_state("rejected"), "decided_by": value, "requested_by": value}),
        history_message([{**HISTORY_ITEM, "decided_by": value, "requested_by": value}], can_reverse=True),
    ]
    for text, blocks in forged:
        shown = [text, *mrkdwn_texts(blocks)]
        assert not [c for built in shown for c in live_constructs(built) if not c.startswith(("<!date^", "<http"))]


HISTORY_ITEM = {
    "preview_id": 7, "period": "2026-10", "kind": "recognition", "status": "posted", "decided_by": "U0APPROVE",
    "requested_by": "U0ADMIN01",
    "entry_count": 1, "totals": {}, "posted": 1, "reversed": 0, "failed": 0,
}  # fmt: skip


def test_plain_text_places_show_the_text_as_it_is() -> None:
    """Plain text needs no escaping: an account name in the type-ahead reads exactly as QuickBooks spells it."""
    options = modals.options_payload([("79", "<!channel> & *Services*")])
    assert options[0]["text"] == {"type": "plain_text", "text": "<!channel> & *Services*", "emoji": True}
    long = modals.options_payload([("79", "x" * 500)])
    assert len(long[0]["text"]["text"]) == modals.OPTION_TEXT_LIMIT


def test_our_own_mentions_links_and_commands_stay_live() -> None:
    text, blocks = preview_message(preview_state("failed", company="<!channel>"))
    shown = "\n".join(mrkdwn_texts(blocks))
    assert "<@U0APPROVE>" in shown and "<@U0REQUEST>" in shown
    assert "<https://app.sandbox.qbo.intuit.com/app/journal?txnId=42|DR2610-000001>" in shown
    assert "`/deferredrev mappings`" in shown and escape("<!channel>") in shown
