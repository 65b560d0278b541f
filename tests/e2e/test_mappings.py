"""The mappings modal: live chart, type-ahead over 2,000+ accounts, account types enforced."""

from __future__ import annotations

from sqlalchemy import select

from deferredrev.bot import ids
from deferredrev.sandbox.intuit.seed import BIG_REALM
from deferredrev.storage.models import AccountMapping
from tests.e2e.harness import ADMIN, Stack


def open_mappings(stack: Stack) -> str:
    stack.command("mappings")
    view = stack.slack.wait_for_view(ADMIN, callback_id=ids.MAPPINGS_VIEW)
    return str(view["id"])


def test_mappings_with_type_ahead_and_save(connected: Stack) -> None:
    stack = connected
    view_id = open_mappings(stack)
    liabilities = stack.driver.suggest(ADMIN, view_id, ids.DEFERRED_SELECT, "")
    assert liabilities and all("Liability" in o["text"]["text"] for o in liabilities)
    deferred = next(
        o for o in stack.driver.suggest(ADMIN, view_id, ids.DEFERRED_SELECT, "deferred") if "Deferred" in o["text"]["text"]
    )
    income = stack.driver.suggest(ADMIN, view_id, ids.REVENUE_SELECT, "serv")
    assert income and all("Income" in o["text"]["text"] for o in income)
    response = stack.driver.submit(ADMIN, view_id, {ids.DEFERRED_SELECT: deferred, ids.REVENUE_SELECT: income[0]})
    assert response.status_code == 200
    stack.slack.wait_for_dm(ADMIN, contains="Account mappings saved")
    with stack.server.runtime.sessions() as session:
        mapping = session.scalars(select(AccountMapping)).one()
    assert mapping.deferred_revenue_account_id == deferred["value"]
    assert mapping.revenue_account_id == income[0]["value"]
    stack.command("status")
    assert mapping.deferred_revenue_account_name in stack.ephemeral_text(contains="Deferred Revenue account")
    reopened = stack.slack.view(open_mappings(stack))
    initial = [b["element"].get("initial_option", {}).get("value") for b in reopened["blocks"] if b["type"] == "input"]
    assert initial == [deferred["value"], income[0]["value"]]


def test_wrong_account_type_is_refused_on_the_field(connected: Stack) -> None:
    stack = connected
    view_id = open_mappings(stack)
    income = stack.driver.suggest(ADMIN, view_id, ids.REVENUE_SELECT, "")
    deferred = stack.driver.suggest(ADMIN, view_id, ids.DEFERRED_SELECT, "")
    # A forged submission puts an income account where the liability belongs.
    response = stack.driver.submit(ADMIN, view_id, {ids.DEFERRED_SELECT: income[0], ids.REVENUE_SELECT: deferred[0]})
    assert response.status_code == 200
    body = response.json()
    assert body["response_action"] == "errors"
    assert "must be a liability account" in body["errors"][ids.DEFERRED_BLOCK]
    with stack.server.runtime.sessions() as session:
        assert session.scalars(select(AccountMapping)).first() is None


def test_type_ahead_over_a_chart_of_two_thousand_accounts(stack: Stack) -> None:
    stack.connect(realm=BIG_REALM)
    view_id = open_mappings(stack)
    first = stack.driver.suggest(ADMIN, view_id, ids.REVENUE_SELECT, "")
    assert len(first) == 100
    assert len(stack.intuit.journal_entries(BIG_REALM)) == 0
    before = stack.intuit.requests.count(path_contains="/query")
    prefix = first[50]["text"]["text"].split(" · ")[0][:12]
    narrowed = stack.driver.suggest(ADMIN, view_id, ids.REVENUE_SELECT, prefix)
    assert narrowed and all(prefix.casefold() in o["text"]["text"].casefold() for o in narrowed)
    for typed in ("a", "ab", "abc", "Inc", "Income 1"):
        stack.driver.suggest(ADMIN, view_id, ids.REVENUE_SELECT, typed)
    assert stack.intuit.requests.count(path_contains="/query") == before  # type-ahead is served from the cache


def test_mappings_need_a_connection(stack: Stack) -> None:
    stack.command("mappings")
    assert "isn't connected" in stack.ephemeral_text(contains="connected")
