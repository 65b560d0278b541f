"""No revenue left behind (issue #16), end to end: every earned cent reaches QuickBooks, or the preview names it with
its amount and offers the fix. One contract, USD 1,200 over 2024 (366 days), posted through the running service
against the sandbox QuickBooks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from deferredrev.bot import ids
from deferredrev.sandbox.intuit import Fault, RateLimits, SandboxConfig
from deferredrev.sandbox.intuit.seed import US_REALM
from deferredrev.services.contracts import import_contracts_csv
from deferredrev.storage.models import Preview
from tests.e2e.harness import ADMIN, APPROVER, CHANNEL, MEMBER, TEAM, Stack, map_accounts, running_stack, scale_for_tests
from tests.e2e.test_preview_posting import VALIDATION_FAULT, click_post, preview, qbo_entries, revenue_in_qbo, wait_posted

HEADER = "contract_id,customer,amount,currency,start_date,end_date\n"
ONE_YEAR = HEADER + "C-2001,Northwind Traders,1200.00,USD,2024-01-01,2024-12-31\n"


@pytest.fixture
def books(database_url: str, now: datetime) -> Iterator[Stack]:
    """Connected and mapped, approvers chosen, the one contract on file; nothing posted yet."""
    with running_stack(database_url, now=now, intuit_config=SandboxConfig(rate_limits=RateLimits(time_scale=60))) as stack:
        scale_for_tests(stack)
        stack.connect()
        stack.slack.wait_for_dm(ADMIN, contains="Connected to")
        map_accounts(stack)
        import_contracts_csv(stack.server.runtime.sessions, stack.clock, team_id=TEAM, text=ONE_YEAR, actor=ADMIN)
        stack.server.app.workspaces.update(
            TEAM, user_id=ADMIN, approvers=[ADMIN, APPROVER], four_eyes=True, alert_channel=None,
            posting_mode="per_contract", cutover_date=None,
        )  # fmt: skip
        yield stack


def shown(stack: Stack, ts: str) -> str:
    message = stack.slack.message(CHANNEL, ts)
    assert message is not None
    return str(message.blocks)


def post(stack: Stack, period: str) -> str:
    ts = preview(stack, period=period)
    click_post(stack, ts)
    wait_posted(stack, ts)
    return ts


def click(stack: Stack, user: str, action_id: str, ts: str) -> None:
    assert stack.driver.click(user, action_id=action_id, channel=CHANNEL, message_ts=ts).status_code == 200


def wait_shows(stack: Stack, ts: str, text: str) -> str:
    return str(stack.slack.wait_for(lambda: text in shown(stack, ts) and shown(stack, ts), message=repr(text)))


def posted_total(stack: Stack) -> int:
    return revenue_in_qbo(qbo_entries(stack)).get("C-2001", 0)


def test_revenue_before_the_first_posting_is_named_and_can_be_caught_up(books: Stack) -> None:
    stack = books
    ts = preview(stack, period="2024-06")
    first = shown(stack, ts)
    assert "This would be the first entry DeferredRev posts" in first
    assert "Jan–May 2024: 498.36 USD (before the first posting)" in first  # named, with the amount
    assert "Preview Jan 2024 on its own" in first and "Count as recognised elsewhere" in first
    click(stack, ADMIN, ids.PREVIEW_INCLUDE_EARLIER, ts)
    wait_shows(stack, ts, "Includes catch-up for Jan–May 2024: 498.36 USD")
    assert "before the first posting" not in shown(stack, ts)  # nothing left out any more
    click_post(stack, ts)
    wait_posted(stack, ts)
    assert posted_total(stack) == 59672  # June's 98.36 and the 498.36 caught up: everything earned through June
    july = shown(stack, preview(stack, period="2024-07"))
    assert "Earlier months" not in july and "first entry" not in july


def test_before_the_first_posting_earlier_months_can_count_as_recognised_elsewhere(books: Stack) -> None:
    stack = books
    ts = preview(stack, period="2024-07")
    click(stack, MEMBER, ids.PREVIEW_SET_CUTOVER, ts)  # not an admin: refused, nothing changes
    assert "Only Slack workspace admins" in stack.ephemeral_text(MEMBER, contains="cut-over")
    assert stack.server.app.workspaces.settings(TEAM).cutover_date is None
    click(stack, ADMIN, ids.PREVIEW_SET_CUTOVER, ts)
    stack.slack.wait_for(lambda: "first entry" not in shown(stack, ts), message="the earlier months accounted for")
    assert "Post to QuickBooks" in shown(stack, ts) and "never posted" not in shown(stack, ts)
    assert stack.server.app.workspaces.settings(TEAM).cutover_date == date(2024, 7, 1)
    click_post(stack, ts)
    wait_posted(stack, ts)
    post(stack, "2024-08")
    amended = HEADER + "C-2001,Northwind Traders,2400.00,USD,2024-01-01,2024-12-31\n"
    import_contracts_csv(stack.server.runtime.sessions, stack.clock, team_id=TEAM, text=amended, actor=ADMIN)
    september = post(stack, "2024-09")
    assert "catch-up" in shown(stack, september)
    # What the old books recognised before July (596.72 of the first terms) is a fixed fact: DeferredRev owes the rest
    # of 2,400 through September, 1,796.72 - 596.72, including the pre-cut-over share of the increase.
    assert posted_total(stack) == 120000


def test_a_skipped_month_the_books_closed_over_is_caught_up(books: Stack) -> None:
    stack = books
    post(stack, "2024-01")
    march = preview(stack, period="2024-03")
    assert "Feb 2024: 95.08 USD (never posted)" in shown(stack, march)
    assert "Preview Feb 2024 on its own" in shown(stack, march)
    click_post(stack, march)
    wait_posted(stack, march)
    stack.intuit.set_book_close_date(US_REALM, date(2024, 2, 29))
    april = preview(stack, period="2024-04")
    closed = shown(stack, april)
    assert "Feb 2024: 95.08 USD (never posted · closed in QuickBooks)" in closed
    assert "the only way left" in closed and "on its own" not in closed  # a closed month can't get its own entry
    click(stack, APPROVER, ids.PREVIEW_INCLUDE_EARLIER, april)
    wait_shows(stack, april, "Includes catch-up for Feb 2024: 95.08 USD")
    click_post(stack, april, user=ADMIN)
    wait_posted(stack, april)
    assert posted_total(stack) == 39672  # January through April, February included: 1,200 × 121/366


def test_a_reversal_is_refused_when_quickbooks_close_date_cannot_be_read(books: Stack) -> None:
    stack = books
    post(stack, "2024-01")
    stack.intuit.inject(Fault.http_status(400, body=VALIDATION_FAULT, content_type="application/json",
                                          path="/preferences", method="GET", times=3))  # fmt: skip
    stack.command("history")
    stack.ephemeral_text(ADMIN, contains="Recent previews")
    stack.driver.click(ADMIN, action_id=ids.HISTORY_REVERSE, channel=CHANNEL)
    assert "Try again in a moment" in stack.ephemeral_text(ADMIN, contains="close date")
    with stack.server.runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Preview).where(Preview.kind == "reversal")) == 0
