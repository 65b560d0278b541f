"""Preview to posted, end to end with both sandboxes: amounts to the cent, approvals, exactly-once posting."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from deferredrev import style
from deferredrev.bot import ids
from deferredrev.revrec.periods import Period
from deferredrev.revrec.schedule import scheduled_amount
from deferredrev.sandbox.intuit import Fault
from deferredrev.sandbox.intuit.seed import US_REALM
from deferredrev.services.contracts import import_contracts_csv, load_contracts
from deferredrev.services.previews import Decision
from deferredrev.storage.models import JournalEntry, Preview
from tests.e2e.harness import ADMIN, APPROVER, CHANNEL, CONTRACTS, MEMBER, TEAM, Stack, actor

PERIOD = "2026-10"
VALIDATION_FAULT = json.dumps({
    "Fault": {"Error": [{"Message": "A business validation error has occurred while processing your request",
                         "Detail": "Business Validation Error: rejected for the test", "code": "6000", "element": ""}],
              "type": "ValidationFault"},
    "time": "2026-11-01T00:00:00.000-07:00",
})  # fmt: skip


def preview(stack: Stack, user: str = ADMIN, period: str = PERIOD) -> str:
    before = {m.ts for m in stack.slack.messages(CHANNEL)}
    stack.command(f"preview {period}", user=user)
    message = stack.slack.wait_for(
        lambda: next(
            (m for m in stack.slack.messages(CHANNEL) if m.ts not in before and "Revenue recognition" in m.text), None
        ),
        message="a new preview message",
    )
    return message.ts


def click_post(stack: Stack, ts: str, user: str = APPROVER) -> None:
    response = stack.driver.click(user, action_id=ids.PREVIEW_APPROVE, channel=CHANNEL, message_ts=ts)
    assert response.status_code == 200


def wait_posted(stack: Stack, ts: str, contains: str = "Posted", timeout: float = 30) -> str:
    message = stack.slack.wait_for(
        lambda: (m := stack.slack.message(CHANNEL, ts)) and contains in str(m.blocks) and m,
        timeout=timeout,
        message=f"the preview to say {contains!r}",
    )
    return str(message.blocks)


def reverse(stack: Stack, original: int, requester: str = ADMIN, approver: str = APPROVER) -> int:
    """Ask for a reversal and approve it, as two people would in the channel; the reversal preview's id."""
    previews = stack.server.app.previews
    asked = previews.request_reversal(TEAM, original, actor(requester, admin=True), channel_id=CHANNEL)
    assert asked.decision is Decision.REQUESTED, asked.message
    approved = previews.approve(TEAM, asked.preview_id, actor(approver))
    assert approved.decision is Decision.APPROVED, approved.message
    return asked.preview_id


def qbo_entries(stack: Stack) -> list[dict]:  # type: ignore[type-arg]
    return stack.intuit.journal_entries(US_REALM)


def expected_revenue(stack: Stack) -> dict[str, int]:
    with stack.server.runtime.sessions() as session:
        contracts = load_contracts(session, TEAM)
    period = Period.parse(PERIOD)
    return {c.contract_id: scheduled_amount(c, period) for c in contracts if scheduled_amount(c, period)}


def revenue_in_qbo(entries: list[dict], deferred_name: str = "Deferred Revenue") -> dict[str, int]:  # type: ignore[type-arg]
    """Net revenue per contract as QBO holds it: debits to Deferred Revenue, credits swapped for negatives."""
    found: dict[str, int] = {}
    for entry in entries:
        for line in entry["Line"]:
            detail = line["JournalEntryLineDetail"]
            contract = re.search(r"\b[A-Z]-\d{4,5}\b", line["Description"]).group(0)  # type: ignore[union-attr]
            cents = int((Decimal(str(line["Amount"])) * 100).to_integral_value())
            is_deferred = detail["AccountRef"].get("name", "").startswith(deferred_name)
            if is_deferred:
                found[contract] = found.get(contract, 0) + (cents if detail["PostingType"] == "Debit" else -cents)
    return found


def test_preview_shows_the_entries_and_posts_them_per_contract(ready: Stack) -> None:
    stack = ready
    ts = preview(stack)
    shown = str(stack.slack.message(CHANNEL, ts).blocks)
    assert "C-1001" in shown and "Acme Corp" in shown and "Annual platform licence" in shown
    assert "Post to QuickBooks" in shown and "Dated 31 Oct 2026" in shown
    assert "Beta LLC" not in shown and "1 ended before this month (C-1002)" in shown  # normal, not a warning
    assert "nothing to post for" not in shown
    # a credit reads as one: negative, with what the CSV says it is
    assert "*C-1004* Delta Inc · *-102.20 USD*" in shown
    assert "Credit note" in shown
    # the approvers are named when the preview is posted, the requester excepted under four-eyes
    assert f"waiting for <@{APPROVER}> to approve (someone other than <@{ADMIN}>, who asked for it)" in shown
    click_post(stack, ts)
    result = wait_posted(stack, ts)
    assert "Posted 5 entries" in result
    entries = qbo_entries(stack)
    assert len(entries) == 5
    assert revenue_in_qbo(entries) == expected_revenue(stack)
    for entry in entries:
        assert entry["DocNumber"] in {f"DR2610-C-100{n}" for n in range(1, 7)}  # period and contract, readable
        assert "Posting key:" in entry["PrivateNote"]
        assert f"Requested by Ana Admin ({ADMIN}); approved by Bo Approver ({APPROVER})" in entry["PrivateNote"]
        assert entry["TxnDate"] == "2026-10-31"
        debits = sum(
            Decimal(str(line["Amount"]))
            for line in entry["Line"]
            if line["JournalEntryLineDetail"]["PostingType"] == "Debit"
        )
        credits = sum(
            Decimal(str(line["Amount"]))
            for line in entry["Line"]
            if line["JournalEntryLineDetail"]["PostingType"] == "Credit"
        )
        assert debits == credits


def test_summary_mode_posts_one_balanced_entry_with_the_same_amounts(ready: Stack) -> None:
    stack = ready
    settings = stack.server.app.workspaces.settings(TEAM)
    stack.server.app.workspaces.update(
        TEAM, user_id=ADMIN, approvers=list(settings.approvers), four_eyes=True, alert_channel=None,
        posting_mode="summary", cutover_date=None,
    )  # fmt: skip
    ts = preview(stack)
    click_post(stack, ts)
    wait_posted(stack, ts)
    entries = qbo_entries(stack)
    assert len(entries) == 1
    assert revenue_in_qbo(entries) == expected_revenue(stack)


def test_self_approval_and_non_approvers_are_refused(ready: Stack) -> None:
    stack = ready
    ts = preview(stack, user=ADMIN)
    click_post(stack, ts, user=ADMIN)  # the requester, four-eyes on
    assert "Four-eyes is on" in stack.ephemeral_text(ADMIN, contains="Four-eyes")
    click_post(stack, ts, user=MEMBER)  # not in the approvers list
    assert "Only the approvers" in stack.ephemeral_text(MEMBER, contains="approve")
    time.sleep(0.3)
    assert qbo_entries(stack) == []
    assert "Post to QuickBooks" in str(stack.slack.message(CHANNEL, ts).blocks)


def test_double_click_and_replayed_action_post_once(ready: Stack) -> None:
    stack = ready
    ts = preview(stack)
    click_post(stack, ts)
    assert stack.driver.last_sent is not None
    body, _ = stack.driver.last_sent
    assert stack.driver.replay_last().status_code == 401  # a replayed request
    assert stack.driver.post_signed(body, timestamp=int(time.time()) + 1).status_code == 200  # a second click
    wait_posted(stack, ts)
    time.sleep(0.5)
    assert len(qbo_entries(stack)) == 5
    with stack.server.runtime.sessions() as session:
        assert session.scalar(select(func.count(JournalEntry.id))) == 5


def test_stale_preview_must_be_refreshed(ready: Stack) -> None:
    stack = ready
    ts = preview(stack)
    import_contracts_csv(
        stack.server.runtime.sessions, stack.clock, team_id=TEAM, actor=ADMIN,
        text=CONTRACTS.replace("C-1003,Gamma GmbH,3650.00", "C-1003,Gamma GmbH,7300.00"),
    )  # fmt: skip
    click_post(stack, ts)
    wait_posted(stack, ts, contains="out of date")
    assert qbo_entries(stack) == []
    stack.driver.click(APPROVER, action_id=ids.PREVIEW_REFRESH, channel=CHANNEL, message_ts=ts)
    wait_posted(stack, ts, contains="Post to QuickBooks")
    click_post(stack, ts)
    wait_posted(stack, ts)
    assert revenue_in_qbo(qbo_entries(stack)) == expected_revenue(stack)


def sixty_contracts() -> str:
    """More line pairs than a preview message shows: its full detail goes in a CSV file."""
    return "contract_id,customer,amount,currency,start_date,end_date\n" + "".join(
        f"L-{n:04d},Large customer {n},{1200 + n}.00,USD,2026-01-01,2026-12-31\n" for n in range(60)
    )


def test_a_refreshed_large_preview_attaches_its_own_detail(ready: Stack) -> None:
    stack = ready
    many = sixty_contracts()
    import_contracts_csv(stack.server.runtime.sessions, stack.clock, team_id=TEAM, actor=ADMIN, text=many)
    ts = preview(stack)
    stack.slack.wait_for(lambda: len(stack.slack.files) == 1, message="the first preview's CSV")
    changed = many.replace("L-0007,Large customer 7,1207.00", "L-0007,Large customer 7,2407.00")
    import_contracts_csv(stack.server.runtime.sessions, stack.clock, team_id=TEAM, actor=ADMIN, text=changed)
    click_post(stack, ts)
    wait_posted(stack, ts, contains="out of date")
    stack.driver.click(APPROVER, action_id=ids.PREVIEW_REFRESH, channel=CHANNEL, message_ts=ts)
    wait_posted(stack, ts, contains="Post to QuickBooks")
    stack.slack.wait_for(lambda: len(stack.slack.files) == 2, message="the refreshed preview's CSV")
    first, second = stack.slack.files

    def line_of(detail: bytes) -> str:
        return next(row for row in detail.decode().splitlines() if ",L-0007," in row)

    assert first.name != second.name and second.name.endswith(".csv")
    assert line_of(first.content) != line_of(second.content)  # the new amount, not the stale one


def test_reject_with_a_reason(ready: Stack) -> None:
    stack = ready
    ts = preview(stack)
    stack.driver.click(APPROVER, action_id=ids.PREVIEW_REJECT, channel=CHANNEL, message_ts=ts)
    view = stack.slack.wait_for_view(APPROVER, callback_id=ids.REJECT_VIEW)
    stack.driver.submit(APPROVER, view["id"], {ids.REJECT_REASON_INPUT: "Wrong contract amounts"})
    text = wait_posted(stack, ts, contains="Rejected")
    assert "Wrong contract amounts" in text
    assert qbo_entries(stack) == []


def test_reposting_a_period_posts_only_what_changed(ready: Stack) -> None:
    stack = ready
    ts = preview(stack)
    click_post(stack, ts)
    wait_posted(stack, ts)
    ts_again = preview(stack)
    assert "Nothing to post" in str(stack.slack.message(CHANNEL, ts_again).blocks)
    import_contracts_csv(
        stack.server.runtime.sessions, stack.clock, team_id=TEAM, actor=ADMIN,
        text=CONTRACTS.replace("C-1003,Gamma GmbH,3650.00", "C-1003,Gamma GmbH,7300.00"),
    )  # fmt: skip
    ts_change = preview(stack)
    shown = str(stack.slack.message(CHANNEL, ts_change).blocks)
    assert "Gamma GmbH" in shown and "Acme Corp" not in shown
    click_post(stack, ts_change)
    wait_posted(stack, ts_change)
    assert revenue_in_qbo(qbo_entries(stack)) == expected_revenue(stack)


def test_a_month_skipped_since_the_last_posting_is_named_in_the_preview(ready: Stack) -> None:
    stack = ready
    ts = preview(stack)
    click_post(stack, ts)
    wait_posted(stack, ts)
    until_december_is_over(stack)
    december = str(stack.slack.message(CHANNEL, preview(stack, period="2026-12")).blocks)
    with stack.server.runtime.sessions() as session:
        contracts = load_contracts(session, TEAM)
    november = sum(scheduled_amount(c, Period(2026, 11)) for c in contracts if c.currency == "USD")
    assert f"Nov 2026: {november // 100:,}.{november % 100:02d} USD (never posted)" in december
    assert "Post to QuickBooks" in december  # a warning: December can still be posted


def until_december_is_over(stack: Stack) -> None:
    stack.clock.advance(max(timedelta(0), datetime(2027, 1, 1, 9, tzinfo=UTC) - stack.clock.now()))


@pytest.mark.calendar
def test_a_month_that_has_not_started_is_refused_and_the_current_one_warned(ready: Stack) -> None:
    stack = ready
    now = stack.clock.now()
    this_month = Period.of(now.date())
    begun_somewhere = Period.of((now + timedelta(hours=14)).date())  # UTC+14 reaches a new day first
    later = begun_somewhere.next()
    shown = str(stack.slack.message(CHANNEL, preview(stack, period=str(later))).blocks)
    assert f"{later.label} hasn't started yet" in shown and "Post to QuickBooks" not in shown
    for under_way in sorted({this_month, begun_somewhere}):
        shown = str(stack.slack.message(CHANNEL, preview(stack, period=str(under_way))).blocks)
        assert f"{under_way.label} isn't over yet" in shown and "hasn't started" not in shown


@pytest.mark.calendar
def test_a_preview_without_a_month_is_last_month(ready: Stack) -> None:
    stack = ready
    last_month = Period.of(stack.clock.now().date()).previous()
    before = {m.ts for m in stack.slack.messages(CHANNEL)}
    stack.command("preview")
    message = stack.slack.wait_for(
        lambda: next((m for m in stack.slack.messages(CHANNEL) if m.ts not in before), None), message="the preview"
    )
    assert f"Revenue recognition · {last_month.label}" in str(message.blocks)
    assert "isn't over yet" not in str(message.blocks) and "hasn't started" not in str(message.blocks)


def test_closed_period_is_refused_with_a_clear_message(ready: Stack) -> None:
    stack = ready
    from datetime import date

    stack.intuit.set_book_close_date(US_REALM, date(2026, 10, 31))
    ts = preview(stack)
    shown = str(stack.slack.message(CHANNEL, ts).blocks)
    assert "books are closed through 2026-10-31" in shown and "Post to QuickBooks" not in shown


def test_closed_after_approval_ends_failed_with_retry(ready: Stack) -> None:
    stack = ready
    from datetime import date

    ts = preview(stack)
    with stack.server.runtime.sessions() as session:
        preview_id = session.scalars(select(Preview.id)).one()  # the only preview of this test
    stack.slack.wait_for(lambda: stack.server.app.previews.state(TEAM, preview_id)["ts"], message="the message recorded")
    approved = stack.server.app.previews.approve(TEAM, preview_id, actor(APPROVER))  # queued, not yet posted
    assert approved.entries == 5
    stack.intuit.set_book_close_date(US_REALM, date(2026, 10, 31))  # the books close before the worker posts
    stack.server.app.posting.run()
    text = wait_posted(stack, ts, contains="failed")
    assert "closed" in text and "Retry failed entries" in text
    assert qbo_entries(stack) == []
    stack.intuit.set_book_close_date(US_REALM, None)
    stack.driver.click(APPROVER, action_id=ids.PREVIEW_RETRY, channel=CHANNEL, message_ts=ts)
    wait_posted(stack, ts, contains="Posted 5 entries")
    assert len(qbo_entries(stack)) == 5


def test_retry_refuses_revenue_a_later_month_caught_up_since(ready: Stack) -> None:
    stack = ready
    stack.server.app.posting.use_batch = False  # one entry per call, so exactly the first one fails
    stack.intuit.inject(Fault.http_status(400, body=VALIDATION_FAULT, content_type="application/json",
                                          path="/journalentry", method="POST", times=1))  # fmt: skip
    october = preview(stack)
    click_post(stack, october)
    assert "Retry failed entries" in wait_posted(stack, october, contains="failed")
    [failed] = [c for c in expected_revenue(stack) if c not in revenue_in_qbo(qbo_entries(stack))]
    november = preview(stack, period="2026-11")
    assert "catch-up" in str(stack.slack.message(CHANNEL, november).blocks)  # the failed October revenue
    click_post(stack, november)
    wait_posted(stack, november)
    stack.driver.click(APPROVER, action_id=ids.PREVIEW_RETRY, channel=CHANNEL, message_ts=october)
    assert failed in stack.ephemeral_text(APPROVER, contains="post it twice")
    time.sleep(0.3)  # anything wrongly queued would have been kicked by now
    stack.server.app.posting.run()
    with stack.server.runtime.sessions() as session:
        contract = next(c for c in load_contracts(session, TEAM) if c.contract_id == failed)
    both_months = scheduled_amount(contract, Period(2026, 10)) + scheduled_amount(contract, Period(2026, 11))
    assert revenue_in_qbo(qbo_entries(stack))[failed] == both_months


def test_a_failed_reversal_is_retried_as_it_is(ready: Stack) -> None:
    stack = ready
    ts = preview(stack)
    click_post(stack, ts)
    wait_posted(stack, ts)
    previews, posting = stack.server.app.previews, stack.server.app.posting
    posting.use_batch = False
    stack.intuit.inject(Fault.http_status(400, body=VALIDATION_FAULT, content_type="application/json",
                                          path="/journalentry", method="POST", times=1))  # fmt: skip
    [posted] = previews.history(TEAM)[:1]
    reversal = reverse(stack, posted["preview_id"])

    def settled_as(outcome: str) -> bool:  # what the scheduler does, until the reversal's entries are all done
        posting.run()
        return previews.settle(reversal) == outcome

    stack.slack.wait_for(lambda: settled_as("failed"), message="one reversing entry failed")
    assert previews.retry_failed(TEAM, reversal, actor(APPROVER)).decision is Decision.QUEUED
    stack.slack.wait_for(lambda: settled_as("posted"), message="the retried reversal posted")
    assert all(total == 0 for total in revenue_in_qbo(qbo_entries(stack)).values())


def test_a_foreign_currency_is_refused_when_quickbooks_has_multicurrency_off(ready: Stack) -> None:
    stack = ready
    yen = "contract_id,customer,amount,currency,start_date,end_date\nJ-2001,Tokyo KK,3100000,JPY,2026-10-01,2026-10-31\n"
    import_contracts_csv(stack.server.runtime.sessions, stack.clock, team_id=TEAM, actor=ADMIN, text=yen)
    shown = str(stack.slack.message(CHANNEL, preview(stack)).blocks)
    assert "books in USD only (multicurrency is off), so the JPY revenue of J-2001 can't be posted" in shown
    assert "Post to QuickBooks" not in shown
    stack.intuit.set_preferences(US_REALM, multicurrency=True)
    shown = str(stack.slack.message(CHANNEL, preview(stack)).blocks)
    assert "multicurrency is off" not in shown and "Post to QuickBooks" in shown


def test_inactive_account_is_shown_and_blocks_posting(ready: Stack) -> None:
    stack = ready
    mapping = stack.server.app.mappings.current(TEAM)
    assert mapping is not None
    stack.intuit.deactivate_account(US_REALM, mapping.revenue_id)
    ts = preview(stack)
    assert "inactive in QuickBooks" in str(stack.slack.message(CHANNEL, ts).blocks)


def test_moving_the_cut_over_past_posted_months_says_what_the_next_preview_reverses(ready: Stack) -> None:
    stack = ready
    ts = preview(stack)
    click_post(stack, ts)
    wait_posted(stack, ts)

    def save_cutover(day: str) -> None:
        stack.command("settings")
        view = stack.slack.wait_for_view(ADMIN, callback_id=ids.SETTINGS_VIEW)
        stack.driver.submit(ADMIN, view["id"], {ids.POSTING_MODE_INPUT: "per_contract", ids.CUTOVER_INPUT: day})

    save_cutover("2026-09-01")  # before anything posted: nothing to say
    assert "recognised elsewhere" not in stack.ephemeral_text(ADMIN, contains="Settings saved")
    save_cutover("2026-11-01")
    saved = stack.ephemeral_text(ADMIN, contains="recognised elsewhere")
    assert "DeferredRev already posted revenue for Oct 2026" in saved and "set the cut-over date back" in saved


def test_bot_not_in_channel_says_how_to_invite(ready: Stack) -> None:
    stack = ready
    stack.workspace.add_channel("C0OUTSIDE", "outside", members=[ADMIN], bot_member=False)
    stack.command(f"preview {PERIOD}", channel="C0OUTSIDE")
    assert "/invite @DeferredRev" in stack.ephemeral_text(ADMIN, contains="invite", channel="C0OUTSIDE")
    [unseen] = stack.server.app.previews.history(TEAM)
    assert unseen["status"] == "rejected"  # withdrawn: nobody could see it to approve it


def test_a_detail_csv_slack_refuses_is_reported_as_such(ready: Stack) -> None:
    stack = ready
    many = sixty_contracts()
    import_contracts_csv(stack.server.runtime.sessions, stack.clock, team_id=TEAM, actor=ADMIN, text=many)
    stack.slack.inject_error("files.getUploadURLExternal", "not_allowed_token_type")
    ts = preview(stack)
    refused = stack.ephemeral_text(ADMIN, contains="refused its full detail")
    assert "(not_allowed_token_type)" in refused and "Something went wrong" not in refused
    assert "Post to QuickBooks" in str(stack.slack.message(CHANNEL, ts).blocks)  # the preview itself is there


def test_history_and_reversal(ready: Stack) -> None:
    stack = ready
    ts = preview(stack)
    click_post(stack, ts)
    wait_posted(stack, ts)
    stack.slack.wait_for(lambda: stack.server.app.previews.history(TEAM)[0]["status"] == "posted", message="settled")
    stack.command("history")
    trail = stack.ephemeral_text(ADMIN, contains="Recent previews")
    assert "Preview #1 · Oct 2026 — posted to QuickBooks" in trail
    now = style.when(stack.clock.now())
    assert f"requested by @{ADMIN} on {now}; approved by @{APPROVER} on {now}" in trail
    assert "5 entries · 3,226.97 USD of revenue · 5 posted" in trail
    assert "In QuickBooks: DR2610-C-1001" in trail
    stack.driver.click(ADMIN, action_id=ids.HISTORY_REVERSE, channel=CHANNEL)
    asked = stack.slack.wait_for_message(CHANNEL, contains="Reversal of 2026-10")
    assert "5 entries to approve" in asked.text and len(qbo_entries(stack)) == 5  # nothing posted before approval
    stack.driver.click(ADMIN, action_id=ids.PREVIEW_APPROVE, channel=CHANNEL, message_ts=asked.ts)
    assert "someone other than the person who asked" in stack.ephemeral_text(ADMIN, contains="Four-eyes")
    click_post(stack, asked.ts)
    stack.slack.wait_for(lambda: len(qbo_entries(stack)) == 10, timeout=30, message="the reversing entries")
    assert all(total == 0 for total in revenue_in_qbo(qbo_entries(stack)).values())
    reversals = [e for e in qbo_entries(stack) if e["DocNumber"].startswith("RV")]
    assert len(reversals) == 5 and all("Reversal of DR2610-" in e["PrivateNote"] for e in reversals)
    # The period is open again: a new preview recognises the revenue once more.
    ts_again = preview(stack)
    assert "C-1001" in str(stack.slack.message(CHANNEL, ts_again).blocks)


@pytest.mark.calendar
def test_a_reversal_in_a_later_month_does_not_make_that_month_look_posted(ready: Stack) -> None:
    from datetime import date

    stack = ready
    long_deal = "L-7001,Longhaul Ltd,60000.00,USD,2026-01-01,2030-12-31,daily,Five-year deal\n"
    import_contracts_csv(stack.server.runtime.sessions, stack.clock, team_id=TEAM, text=CONTRACTS + long_deal, actor=ADMIN)
    ts = preview(stack)
    click_post(stack, ts)
    wait_posted(stack, ts)
    stack.intuit.set_book_close_date(US_REALM, date(2026, 10, 31))  # October closes: its reversal lands this month
    [posted] = stack.server.app.previews.history(TEAM)[:1]
    reverse(stack, posted["preview_id"])

    def reversals_posted() -> bool:  # what the scheduler does: a run still finishing October may hold the worker
        stack.server.app.posting.run()
        return len(qbo_entries(stack)) == 12

    stack.slack.wait_for(reversals_posted, timeout=30, message="the reversing entries")
    this_month = Period.of(stack.clock.now().date())
    reversals = [e for e in qbo_entries(stack) if e["DocNumber"].startswith("RV")]
    assert len(reversals) == 6 and {e["TxnDate"] for e in reversals} == {f"{this_month.end:%Y-%m-%d}"}
    dated = stack.server.app.previews.create(TEAM, this_month, requested_by=ADMIN, channel_id=CHANNEL)
    kinds = {(line["contract"], line["kind"]) for line in dated.content["lines"]}
    assert ("L-7001", "scheduled") in kinds  # the reversal's month was never recognised: it is not "already posted"
    after = stack.server.app.previews.create(TEAM, this_month.next(), requested_by=ADMIN, channel_id=CHANNEL)
    assert {"period": str(this_month), "kind": "skipped"}.items() <= after.content["unposted"][-1].items()
    assert not any(this_month.label in line["note"] for line in after.content["lines"])  # not swept in as catch-up


def test_a_line_over_quickbooks_largest_amount_blocks_posting_with_the_reason(ready: Stack) -> None:
    stack = ready
    import_contracts_csv(  # a one-day workshop worth 12 billion: its line is over QuickBooks' 10 integer digits
        stack.server.runtime.sessions,
        stack.clock,
        team_id=TEAM,
        text=CONTRACTS + "C-9999,Giga Corp,12000000000.00,USD,2026-10-05,2026-10-05,daily,Huge one-day deal\n",
        actor=ADMIN,
    )
    ts = preview(stack)
    shown = str(stack.slack.message(CHANNEL, ts).blocks)
    assert "12,000,000,000.00 on contract C-9999 is more than QuickBooks accepts" in shown
    assert "Split the contract into smaller ones" in shown
    assert ids.PREVIEW_APPROVE not in shown  # no Post button
    with stack.server.runtime.sessions() as session:
        preview_id = session.scalars(select(Preview.id).order_by(Preview.id.desc())).first()
    assert preview_id is not None
    refused = stack.server.app.previews.approve(TEAM, preview_id, actor(APPROVER))  # as a forged click would
    assert "more than QuickBooks accepts" in refused.message
    with stack.server.runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(JournalEntry)) == 0  # nothing was queued
    assert stack.intuit.journal_entries(US_REALM) == []


def test_history_lists_every_entry_of_a_preview_and_exports_the_audit_log(ready: Stack) -> None:
    stack = ready
    ts = preview(stack)
    click_post(stack, ts)
    wait_posted(stack, ts)
    stack.command("history 1")
    listed = stack.ephemeral_text(ADMIN, contains="Preview #1")
    assert "Preview #1 · Oct 2026: 5 entries" in listed
    assert all(f"DR2610-C-100{n}" in listed for n in (1, 3, 4, 5, 6)) and listed.count("posted") == 5
    stack.command("history 999")
    assert "can't find that preview" in stack.ephemeral_text(ADMIN, contains="find that preview")
    stack.command("history export", user=MEMBER)
    assert "Only Slack workspace admins" in stack.ephemeral_text(MEMBER, contains="audit log")
    stack.command("history export")
    log = stack.slack.wait_for(
        lambda: next((f for f in stack.slack.files if f.name.startswith("deferredrev-audit-log-")), None),
        message="the audit log CSV",
    )
    rows = list(csv.DictReader(io.StringIO(log.content.decode())))
    actions = [row["action"] for row in rows]
    assert "preview.posted" in actions and "preview.approved" in actions and "entries.posted" in actions
    approved = next(row for row in rows if row["action"] == "preview.approved")
    assert approved["actor"] == APPROVER and approved["when_local"].endswith("UTC")
