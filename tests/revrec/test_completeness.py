"""Issue #16, the core's part: nothing earned is left out without the preview saying so, with the amount.

1. revenue before the first posted month is named (and can be included, or counted as recognised elsewhere);
2. what was recognised elsewhere is a fact fixed at the cut-over: an amendment's pre-cut-over effect is caught up;
3. a skipped month (closed over in QuickBooks) can be included as catch-up in a later entry;
5. one rule for posted months: a reversal's month does not count.
(4, monthly_even per Stripe, is in test_schedule.py.)
"""

from __future__ import annotations

from datetime import date

import pytest

from deferredrev.revrec.completeness import (
    UnpostedKind,
    UnpostedMonth,
    describe_unposted,
    unposted_months,
    unposted_totals,
)
from deferredrev.revrec.contracts import Contract
from deferredrev.revrec.cutover import CutOver, owed_to_date, recognised_elsewhere
from deferredrev.revrec.entries import (
    AccountMapping,
    EntryKind,
    JournalEntryDraft,
    LineKind,
    PeriodEntries,
    PostedHistory,
    build_period_entries,
    reversing_draft,
)
from deferredrev.revrec.errors import EntryError
from deferredrev.revrec.journal import months_posted
from deferredrev.revrec.periods import Period
from deferredrev.revrec.schedule import cumulative_at_period_end, scheduled_amount

ACCOUNTS = AccountMapping("81", "Deferred Revenue", "79", "Revenue")
SCOPE = "T0123"


def c5(**changes: object) -> Contract:
    """reference/revrec.md Ex 5: USD 1,200.00 over 2024 (366 days)."""
    fields: dict[str, object] = {
        "contract_id": "C-5",
        "customer": "Acme",
        "amount": 120000,
        "currency": "USD",
        "start_date": date(2024, 1, 1),
        "end_date": date(2024, 12, 31),
    }
    fields.update(changes)
    return Contract(**fields)  # type: ignore[arg-type]


def entries(
    contracts: list[Contract], period: Period, history: PostedHistory | None = None, **options: object
) -> PeriodEntries:
    return build_period_entries(contracts, period, history or PostedHistory(), ACCOUNTS, scope=SCOPE, **options)  # type: ignore[arg-type]


def lines(draft: JournalEntryDraft) -> list[tuple[str, int]]:
    """(kind, signed revenue) per line pair."""
    return [
        (debit.kind.value, debit.amount if debit.account_id == ACCOUNTS.deferred_revenue_id else -debit.amount)
        for debit in draft.lines[::2]
    ]


def months(*numbers: int, year: int = 2024) -> frozenset[Period]:
    return frozenset(Period(year, number) for number in numbers)


def posted_total(history: PostedHistory, contract_id: str) -> int:
    return sum(history.for_contract(contract_id).values())


# 1. Revenue before the first posted month --------------------------------------------------------------------


def test_first_preview_in_june_names_january_to_may_with_498_36() -> None:
    june = entries([c5()], Period(2024, 6))
    (draft,) = june.drafts
    assert lines(draft) == [("scheduled", 9836)]  # June's own 98.36, as before
    assert [str(month.period) for month in june.unposted] == ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05"]
    assert {month.kind for month in june.unposted} == {UnpostedKind.BEFORE_FIRST_POSTING}
    assert all(month.contract_ids == ("C-5",) for month in june.unposted)
    assert unposted_totals(june.unposted) == {"USD": 49836}
    assert [month.amounts["USD"] for month in june.unposted] == [
        scheduled_amount(c5(), Period(2024, m)) for m in range(1, 6)
    ]
    (warning,) = [w for w in june.warnings if "before the first month" in w]
    assert warning == (
        "Jan–May 2024, before the first month DeferredRev posted, hold 498.36 USD never posted: it stays in Deferred "
        "Revenue, and this entry doesn't include it. Include them as catch-up in this entry, preview them as their "
        "own entries, or set the cut-over date to 2024-06-01 so they count as recognised elsewhere."
    )
    assert unposted_months([c5()], Period(2024, 6), PostedHistory()) == june.unposted
    assert june.warnings_besides_unposted == ()


def test_including_the_months_before_the_first_posting_catches_them_up() -> None:
    june = entries([c5()], Period(2024, 6), include=months(1, 2, 3, 4, 5))
    (draft,) = june.drafts
    assert lines(draft) == [("catch_up", 49836), ("scheduled", 9836)]
    assert draft.lines[0].description == "C-5 prior-period catch-up Jan–May 2024 (Acme)"
    assert june.unposted == ()
    history = PostedHistory().recording(draft)
    assert posted_total(history, "C-5") == cumulative_at_period_end(c5(), Period(2024, 6))
    assert history.all_posted_periods() == months(1, 2, 3, 4, 5, 6)
    july = entries([c5()], Period(2024, 7), history)
    assert july.unposted == () and [lines(d) for d in july.drafts] == [[("scheduled", 10164)]]


def test_including_some_months_leaves_the_others_named() -> None:
    june = entries([c5()], Period(2024, 6), include=months(4, 5))
    assert lines(june.drafts[0]) == [("catch_up", 49836 - 29836), ("scheduled", 9836)]
    assert [str(month.period) for month in june.unposted] == ["2024-01", "2024-02", "2024-03"]
    assert unposted_totals(june.unposted) == {"USD": 29836}


def test_a_cutover_at_the_first_posting_counts_them_as_recognised_elsewhere() -> None:
    june = entries(
        [c5()], Period(2024, 6), cutover=CutOver(date(2024, 6, 1), {"C-5": recognised_elsewhere(c5(), date(2024, 6, 1))})
    )
    assert june.unposted == ()
    assert lines(june.drafts[0]) == [("scheduled", 9836)]


def test_a_contract_imported_later_and_backdated_before_the_first_posting_is_named() -> None:
    backdated = c5(contract_id="C-9", currency="EUR", start_date=date(2024, 3, 1), end_date=date(2024, 8, 31), amount=18400)
    # The workspace's first entry was June alone; C-9 (1.00 EUR a day from March) is imported in July.
    history = PostedHistory().recording(*entries([c5()], Period(2024, 6)).drafts)
    july = entries([c5(), backdated], Period(2024, 7), history)
    c9 = next(draft for draft in july.drafts if draft.contract_ids == ("C-9",))
    assert lines(c9) == [("catch_up", 3000), ("scheduled", 3100)]  # June is posted: caught up
    named = [(str(m.period), m.amounts.get("EUR"), m.kind) for m in july.unposted if "C-9" in m.contract_ids]
    assert named == [
        ("2024-03", 3100, UnpostedKind.BEFORE_FIRST_POSTING),
        ("2024-04", 3000, UnpostedKind.BEFORE_FIRST_POSTING),
        ("2024-05", 3100, UnpostedKind.BEFORE_FIRST_POSTING),
    ]
    # Had June's entry included January to May, those months would be posted and C-9 caught up in them too.
    history = PostedHistory().recording(*entries([c5()], Period(2024, 6), include=months(1, 2, 3, 4, 5)).drafts)
    july = entries([c5(), backdated], Period(2024, 7), history)
    c9 = next(draft for draft in july.drafts if draft.contract_ids == ("C-9",))
    assert lines(c9) == [("catch_up", 3100 + 3000 + 3100 + 3000), ("scheduled", 3100)]
    assert c9.lines[0].description == "C-9 prior-period catch-up Mar–Jun 2024 (Acme)"
    assert july.unposted == ()


def test_nothing_unposted_is_cheap_and_empty_when_every_month_since_the_start_is_posted() -> None:
    later = c5(start_date=date(2024, 3, 1))
    history = PostedHistory(posted_periods=months(3, 4, 5))
    assert unposted_months([later], Period(2024, 6), history) == ()
    assert unposted_months([], Period(2024, 6), history) == ()


# 2. Recognised elsewhere is a fact fixed at the cut-over ------------------------------------------------------

CUTOVER_DATE = date(2024, 7, 1)


def test_recognised_elsewhere_is_recognised_to_date_the_day_before_the_cutover() -> None:
    assert recognised_elsewhere(c5(), CUTOVER_DATE) == 59672  # 1,200 × 182/366
    assert recognised_elsewhere(c5(start_date=date(2024, 7, 1)), CUTOVER_DATE) == 0
    assert recognised_elsewhere(c5(start_date=date(2024, 9, 1)), CUTOVER_DATE) == 0
    assert recognised_elsewhere(c5(end_date=date(2024, 3, 31)), CUTOVER_DATE) == 120000
    assert CutOver.of(CUTOVER_DATE) == CutOver(CUTOVER_DATE) and CutOver.of(None) is None


def test_amending_after_the_cutover_catches_up_the_pre_cutover_share_596_72() -> None:
    cutover = CutOver(CUTOVER_DATE, {"C-5": recognised_elsewhere(c5(), CUTOVER_DATE)})
    history = PostedHistory()
    for month in (7, 8):
        history = history.recording(*entries([c5()], Period(2024, month), history, cutover=cutover).drafts)
    assert posted_total(history, "C-5") == 10164 + 10164
    doubled = c5(amount=240000)
    (september,) = entries([doubled], Period(2024, 9), history, cutover=cutover).drafts
    # owed through August = 1,600.00 - 596.72; posted 203.28: the catch-up is the pre-cut-over 596.72 plus 203.28
    assert lines(september) == [("catch_up", 59672 + 20328), ("scheduled", 19672)]
    assert {r.period for r in september.catch_up_recognitions} == months(7, 8)
    history = history.recording(september)
    assert posted_total(history, "C-5") == cumulative_at_period_end(doubled, Period(2024, 9)) - 59672
    assert owed_to_date(doubled, date(2024, 9, 30), cutover) == posted_total(history, "C-5")


def test_a_bare_cutover_date_recomputes_elsewhere_from_the_new_terms() -> None:
    """The old API (facts not fixed): the pre-cut-over share of an increase is recognised by nobody."""
    history = PostedHistory()
    for month in (7, 8):
        history = history.recording(*entries([c5()], Period(2024, month), history, cutover=CUTOVER_DATE).drafts)
    (september,) = entries([c5(amount=240000)], Period(2024, 9), history, cutover=CUTOVER_DATE).drafts
    assert lines(september) == [("catch_up", 20328), ("scheduled", 19672)]


def test_an_amendment_below_what_was_recognised_elsewhere_gives_an_exact_negative_catch_up() -> None:
    cutover = CutOver(CUTOVER_DATE, {"C-5": recognised_elsewhere(c5(), CUTOVER_DATE)})
    history = PostedHistory()
    for month in (7, 8):
        history = history.recording(*entries([c5()], Period(2024, month), history, cutover=cutover).drafts)
    cut = c5(amount=60000)  # 600.00: by August it has earned 400.00, less than the 596.72 recognised elsewhere
    (september,) = entries([cut], Period(2024, 9), history, cutover=cutover).drafts
    assert lines(september) == [("catch_up", (40000 - 59672) - 20328), ("scheduled", 4918)]
    assert september.lines[0].account_name == "Revenue"  # revenue taken back: sides swapped
    history = history.recording(september)
    assert posted_total(history, "C-5") == cumulative_at_period_end(cut, Period(2024, 9)) - 59672


def test_a_contract_moved_after_the_cutover_returns_what_was_recognised_elsewhere() -> None:
    cutover = CutOver(CUTOVER_DATE, {"C-5": 59672})
    moved = c5(start_date=date(2024, 9, 1))  # amended: no service before September after all
    (july,) = entries([moved], Period(2024, 7), cutover=cutover).drafts
    assert lines(july) == [("scheduled", -59672)]
    assert owed_to_date(moved, date(2024, 6, 30), cutover) == 0


def test_a_cutover_month_first_posted_later_gets_the_amendment_as_catch_up() -> None:
    cutover = CutOver(CUTOVER_DATE, {"C-5": 59672})
    july = entries([c5(amount=240000)], Period(2024, 7), cutover=cutover)
    assert lines(july.drafts[0]) == [("scheduled", cumulative_at_period_end(c5(amount=240000), Period(2024, 7)) - 59672)]
    assert july.unposted == ()  # nothing before the cut-over is owed


def test_new_contracts_and_those_without_a_stored_fact_follow_current_terms() -> None:
    cutover = CutOver(CUTOVER_DATE, {})
    assert [lines(d) for d in entries([c5()], Period(2024, 7), cutover=cutover).drafts] == [[("scheduled", 10164)]]
    fresh = c5(contract_id="C-8", start_date=date(2024, 7, 15))
    assert entries([fresh], Period(2024, 7), cutover=cutover).drafts[0].total_debits == scheduled_amount(
        fresh, Period(2024, 7)
    )


# 3. A skipped month the books closed over can be included later ----------------------------------------------


def test_a_skipped_month_is_included_as_catch_up_in_a_later_entry() -> None:
    history = PostedHistory().recording(*entries([c5()], Period(2024, 1)).drafts)
    march = entries([c5()], Period(2024, 3), history)
    february = scheduled_amount(c5(), Period(2024, 2))
    assert march.unposted == (UnpostedMonth(Period(2024, 2), UnpostedKind.SKIPPED, {"USD": february}, ("C-5",)),)
    history = history.recording(*march.drafts)
    # February is closed in QuickBooks: April's entry includes it.
    april = entries([c5()], Period(2024, 4), history, include=months(2))
    (draft,) = april.drafts
    assert lines(draft) == [("catch_up", february), ("scheduled", 9836)]
    assert draft.lines[0].kind is LineKind.CATCH_UP and "Feb 2024" in draft.lines[0].description
    assert april.unposted == ()
    history = history.recording(draft)
    assert Period(2024, 2) in history.all_posted_periods()
    assert entries([c5()], Period(2024, 5), history).unposted == ()
    assert posted_total(history, "C-5") == cumulative_at_period_end(c5(), Period(2024, 4))


def test_ex5a_closed_months_never_posted_included_in_march() -> None:
    (draft,) = entries([c5()], Period(2024, 3), include=months(1, 2)).drafts
    assert lines(draft) == [("catch_up", 19672), ("scheduled", 10164)]
    assert draft.lines[0].description == "C-5 prior-period catch-up Jan–Feb 2024 (Acme)"


def test_an_included_month_netting_to_zero_against_a_correction_is_still_recorded() -> None:
    history = PostedHistory().recording(*entries([c5()], Period(2024, 2)).drafts)
    # January was never posted; February was posted too much by exactly January's revenue.
    january = scheduled_amount(c5(), Period(2024, 1))
    history = PostedHistory({"C-5": {Period(2024, 2): history.amounts["C-5"][Period(2024, 2)] + january}}, months(2))
    (march,) = entries([c5()], Period(2024, 3), history, include=months(1)).drafts
    assert lines(march) == [("catch_up", january), ("catch_up", -january), ("scheduled", 10164)]
    history = history.recording(march)
    assert history.amounts["C-5"][Period(2024, 1)] == january
    assert entries([c5()], Period(2024, 4), history).unposted == ()


def test_only_earlier_months_can_be_included() -> None:
    with pytest.raises(EntryError, match="only months before 2024-03"):
        entries([c5()], Period(2024, 3), include=months(3, 4))


def test_describe_unposted_for_no_months_says_nothing() -> None:
    assert describe_unposted(()) == ()


# 5. One rule for posted months ----------------------------------------------------------------------------------


def test_a_reversal_makes_no_month_count_as_posted() -> None:
    (october,) = entries([c5()], Period(2024, 10), include=months(*range(1, 10))).drafts
    reversal = reversing_draft(october, Period(2024, 11), SCOPE)  # October closed: reversed in November
    assert (october.kind, reversal.kind) == (EntryKind.RECOGNITION, EntryKind.REVERSAL)
    history = PostedHistory().recording(october, reversal)
    assert Period(2024, 11) not in history.all_posted_periods()
    assert history.posted_periods == months(10)
    december = entries([c5()], Period(2024, 12), history)
    assert [(str(m.period), m.kind) for m in december.unposted] == [("2024-11", UnpostedKind.SKIPPED)]
    (draft,) = december.drafts
    # Reversed months are still posted months: their revenue comes back as catch-up; November is named instead.
    assert lines(draft) == [("catch_up", cumulative_at_period_end(c5(), Period(2024, 10))), ("scheduled", 10164)]


def test_months_posted_is_the_one_rule() -> None:
    assert EntryKind.of_entry(None) is EntryKind.RECOGNITION
    assert EntryKind.of_entry(42) is EntryKind.REVERSAL
    assert EntryKind("reversal").marks_month_posted is False
    entries_ = [(Period(2024, 1), EntryKind.RECOGNITION), (Period(2024, 2), EntryKind.REVERSAL)]
    assert months_posted(entries_) == months(1)
