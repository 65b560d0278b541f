"""Period journal entries: reference/revrec.md Ex 5 (backdating, cancellation, correction), modes, keys and the
§6.3 invariants for entries (balance, idempotence, catch-up, summary = per-contract)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deferredrev.revrec.completeness import UnpostedKind, UnpostedMonth
from deferredrev.revrec.contracts import Contract
from deferredrev.revrec.entries import (
    AccountMapping,
    JournalEntryDraft,
    LineKind,
    PeriodEntries,
    PostedHistory,
    PostingMode,
    PostingType,
    build_period_entries,
    reversing_draft,
)
from deferredrev.revrec.errors import EntryError
from deferredrev.revrec.periods import Period
from deferredrev.revrec.schedule import scheduled_amount
from tests.revrec.strategies import contracts

ACCOUNTS = AccountMapping("81", "Deferred Revenue", "79", "Revenue")
SCOPE = "T0123"
PROPERTIES = settings(max_examples=150, deadline=None)


def c5(**changes: object) -> Contract:
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
    contracts: list[Contract],
    period: Period,
    history: PostedHistory | None = None,
    **options: object,
) -> PeriodEntries:
    return build_period_entries(contracts, period, history or PostedHistory(), ACCOUNTS, scope=SCOPE, **options)  # type: ignore[arg-type]


def pairs(draft: JournalEntryDraft) -> list[tuple[str, str, str, int]]:
    """(kind, debit account, credit account, amount) per line pair."""
    lines = draft.lines
    assert len(lines) % 2 == 0
    result = []
    for debit, credit in zip(lines[::2], lines[1::2], strict=True):
        assert debit.posting_type is PostingType.DEBIT and credit.posting_type is PostingType.CREDIT
        assert (debit.contract_id, debit.kind, debit.amount) == (credit.contract_id, credit.kind, credit.amount)
        result.append((debit.kind.value, debit.account_name, credit.account_name, debit.amount))
    return result


def post(history: PostedHistory, result: PeriodEntries) -> PostedHistory:
    return history.recording(*result.drafts)


def run_periods(contract_versions: dict[Period, list[Contract]], history: PostedHistory | None = None) -> PostedHistory:
    history = history or PostedHistory()
    for period, versions in contract_versions.items():
        history = post(history, entries(versions, period, history))
    return history


# Worked examples ---------------------------------------------------------------------------------------------


def test_ex5a_backdated_contract_catches_up_in_its_own_line() -> None:
    closed = PostedHistory(posted_periods=frozenset({Period(2024, 1), Period(2024, 2)}))
    march = entries([c5()], Period(2024, 3), closed)
    (draft,) = march.drafts
    assert pairs(draft) == [
        ("catch_up", "Deferred Revenue", "Revenue", 19672),
        ("scheduled", "Deferred Revenue", "Revenue", 10164),
    ]
    assert draft.lines[0].description == "C-5 prior-period catch-up Jan–Feb 2024 (Acme)"
    assert draft.lines[2].description == "C-5 Mar 2024 (Acme)"
    assert draft.total_debits == draft.total_credits == 29836
    assert draft.txn_date == date(2024, 3, 31)

    history = post(closed, march)
    april = entries([c5()], Period(2024, 4), history)
    assert pairs(april.drafts[0]) == [("scheduled", "Deferred Revenue", "Revenue", 9836)]
    history = post(history, april)
    may = entries([c5()], Period(2024, 5), history)
    assert pairs(may.drafts[0]) == [("scheduled", "Deferred Revenue", "Revenue", 10164)]


def test_ex5b_cancellation_posts_days_served_and_nothing_after() -> None:
    history = run_periods({Period(2024, m): [c5()] for m in range(1, 6)})
    cancelled = c5(cancel_date=date(2024, 6, 15))
    june = entries([cancelled], Period(2024, 6), history)
    assert pairs(june.drafts[0]) == [("scheduled", "Deferred Revenue", "Revenue", 4918)]
    history = post(history, june)
    for month in range(7, 13):
        later = entries([cancelled], Period(2024, month), history)
        assert later.drafts == ()
        assert later.nothing_to_post == ("C-5",)


def test_ex5c_wrong_posting_in_a_closed_period_is_corrected_by_catch_up() -> None:
    history = run_periods({Period(2024, m): [c5()] for m in range(1, 4)})
    wrong_april = PostedHistory(
        {"C-5": {**history.amounts["C-5"], Period(2024, 4): 10164}},
        history.posted_periods | {Period(2024, 4)},
    )
    (may,) = entries([c5()], Period(2024, 5), wrong_april).drafts
    assert pairs(may) == [
        ("catch_up", "Revenue", "Deferred Revenue", 328),  # negative: sides swapped
        ("scheduled", "Deferred Revenue", "Revenue", 10164),
    ]
    assert may.net_revenue == 9836
    assert "Apr 2024" in may.lines[0].description


def test_ex5c_open_period_correction_by_reversal() -> None:
    (april,) = entries([c5()], Period(2024, 4), run_periods({Period(2024, m): [c5()] for m in range(1, 4)})).drafts
    reversal = reversing_draft(april, Period(2024, 4), SCOPE)
    assert pairs(reversal) == [("scheduled", "Revenue", "Deferred Revenue", 9836)]
    assert reversal.reverses == april.posting_key
    assert reversal.doc_number.startswith("RV2404-")
    assert reversal.lines[0].description.startswith(f"Reversal of {april.doc_number}: ")
    assert reversal.recognitions == ((april.recognitions[0]._replace(amount=-9836)),)


def test_reversal_nets_to_zero_per_account_and_contract() -> None:
    history = PostedHistory(posted_periods=frozenset({Period(2024, 1), Period(2024, 2)}))
    (original,) = entries([c5()], Period(2024, 3), history).drafts
    reversal = reversing_draft(original, Period(2024, 4), SCOPE, revision=1)
    net: Counter[tuple[str, str]] = Counter()
    for line in (*original.lines, *reversal.lines):
        sign = 1 if line.posting_type is PostingType.DEBIT else -1
        net[(line.account_id, line.contract_id)] += sign * line.amount
    assert set(net.values()) == {0}
    recorded = history.recording(original, reversal)
    assert set(recorded.amounts["C-5"].values()) == {0}


def test_cutover_treats_earlier_revenue_as_recognised_elsewhere() -> None:
    cutover = date(2024, 3, 16)
    assert entries([c5()], Period(2024, 2), cutover=cutover).drafts == ()
    (march,) = entries([c5()], Period(2024, 3), cutover=cutover).drafts
    # cum(Mar 31) - cum(Mar 15) = 298.36 - round(1200 × 75/366 = 245.90)
    assert march.total_debits == 29836 - 24590
    (april,) = entries([c5()], Period(2024, 4), cutover=cutover).drafts
    assert april.total_debits == scheduled_amount(c5(), Period(2024, 4))


def test_cutover_limits_catch_up_too() -> None:
    closed = PostedHistory(posted_periods=frozenset({Period(2024, 3), Period(2024, 4)}))
    (may,) = entries([c5()], Period(2024, 5), closed, cutover=date(2024, 4, 1)).drafts
    assert pairs(may) == [
        ("catch_up", "Deferred Revenue", "Revenue", 9836),
        ("scheduled", "Deferred Revenue", "Revenue", 10164),
    ]


def test_negative_contract_swaps_sides() -> None:
    (draft,) = entries([c5(amount=-120000)], Period(2024, 1)).drafts
    assert pairs(draft) == [("scheduled", "Revenue", "Deferred Revenue", 10164)]
    assert draft.net_revenue == -10164


# Modes, keys and text ----------------------------------------------------------------------------------------


def mixed() -> list[Contract]:
    return [
        c5(contract_id="C-2"),
        c5(contract_id="C-1", currency="EUR", amount=99900),
        c5(contract_id="C-3", currency="JPY", amount=1200000),
        c5(contract_id="C-4", start_date=date(2025, 1, 1), end_date=date(2025, 2, 1)),
    ]


def test_per_contract_mode_one_draft_per_contract_sorted() -> None:
    result = entries(mixed(), Period(2024, 3))
    assert [draft.contract_ids for draft in result.drafts] == [("C-1",), ("C-2",), ("C-3",)]
    assert [draft.currency for draft in result.drafts] == ["EUR", "USD", "JPY"]
    assert result.nothing_to_post == ("C-4",)  # data, not a warning: it is normal for a contract to have nothing
    assert result.warnings[0].startswith("Jan–Feb 2024, before the first month DeferredRev posted, hold ")
    assert [str(month.period) for month in result.unposted] == ["2024-01", "2024-02"]
    assert result.warnings_besides_unposted == ()


def test_summary_mode_one_draft_per_currency() -> None:
    result = entries(mixed() + [c5(contract_id="C-0")], Period(2024, 3), mode=PostingMode.SUMMARY)
    assert [(draft.currency, draft.contract_ids) for draft in result.drafts] == [
        ("EUR", ("C-1",)),
        ("JPY", ("C-3",)),
        ("USD", ("C-0", "C-2")),
    ]
    assert [draft.subject for draft in result.drafts] == ["summary:EUR", "summary:JPY", "summary:USD"]


def test_keys_and_doc_numbers_are_deterministic_and_distinct() -> None:
    first = entries(mixed(), Period(2024, 10))
    again = entries(list(reversed(mixed())), Period(2024, 10))
    assert first == again
    draft = first.drafts[0]
    assert draft.posting_key == "T0123|2024-10|contract:C-1|r0"
    assert draft.subject == "contract:C-1"
    assert draft.doc_number == "DR2410-C-1"  # readable: period and contract
    revised = entries(mixed(), Period(2024, 10), revision=1)
    assert revised.drafts[0].posting_key.endswith("|r1")
    assert revised.drafts[0].doc_number == "DR2410-C-1.2"  # the period posted a second time
    summary = entries(mixed(), Period(2024, 10), mode=PostingMode.SUMMARY)
    assert [d.doc_number for d in summary.drafts] == ["DR2410-EUR", "DR2410-JPY", "DR2410-USD"]
    assert len({d.doc_number for d in (*first.drafts, *revised.drafts, *summary.drafts)}) == 9


def test_a_doc_number_too_long_for_quickbooks_keeps_its_start_and_a_check_suffix() -> None:
    long_ids = [c5(contract_id="ENTERPRISE-2024-00017"), c5(contract_id="ENTERPRISE-2024-00018")]
    numbers = [d.doc_number for d in entries(long_ids, Period(2024, 3)).drafts]
    assert all(len(number) == 21 and number.startswith("DR2403-ENTERPRI~") for number in numbers)
    assert numbers[0] != numbers[1] and all("~" in number for number in numbers)
    assert numbers == [d.doc_number for d in entries(long_ids, Period(2024, 3)).drafts]  # deterministic
    reversal = reversing_draft(entries([c5()], Period(2024, 3)).drafts[0], Period(2024, 4), "T0123")
    assert reversal.doc_number == "RV2404-2403-C-5"


def test_private_note_names_contracts_period_approver_and_key() -> None:
    (draft,) = entries([c5()], Period(2024, 3)).drafts
    note = draft.private_note("Bo Approver (U042)", "Ana Admin (U041)")
    assert "C-5" in note and "Mar 2024" in note and draft.posting_key in note
    assert "Requested by Ana Admin (U041); approved by Bo Approver (U042)" in note


def test_private_note_truncates_long_contract_lists() -> None:
    many = [c5(contract_id=f"CONTRACT-{n:05d}") for n in range(2000)]
    (summary,) = entries(many, Period(2024, 3), mode=PostingMode.SUMMARY).drafts
    note = summary.private_note("U042")
    assert len(note) <= 4000
    assert "CONTRACT-00000" in note and "more)" in note and summary.posting_key in note


def test_descriptions_are_capped_at_4000_characters() -> None:
    history = PostedHistory(posted_periods=frozenset(Period(2000 + n // 12, n % 12 + 1) for n in range(0, 24 * 12, 2)))
    long_customer = c5(customer="X" * 255, start_date=date(2000, 1, 1), end_date=date(2024, 12, 31))
    (draft,) = entries([long_customer], Period(2024, 12), history).drafts
    assert all(len(line.description) <= 4000 for line in draft.lines)


def test_duplicate_contract_ids_and_bad_scope_are_refused() -> None:
    with pytest.raises(EntryError, match="more than once"):
        entries([c5(), c5()], Period(2024, 3))
    with pytest.raises(EntryError, match="scope"):
        build_period_entries([c5()], Period(2024, 3), PostedHistory(), ACCOUNTS, scope="a|b")
    with pytest.raises(EntryError, match="different accounts"):
        AccountMapping("1", "Deferred", "1", "Revenue")


def test_history_for_contracts_no_longer_on_file_is_warned_about() -> None:
    history = PostedHistory({"GONE": {Period(2024, 1): 500}}, frozenset({Period(2024, 1)}))
    result = entries([c5()], Period(2024, 2), history)
    assert any("no longer on file" in warning and "GONE" in warning for warning in result.warnings)


def test_out_of_order_posting_does_not_double_count() -> None:
    # Jan and Mar posted, Feb skipped; then the amount changes; Apr catches up Jan and Mar only; Feb posts later.
    history = run_periods({Period(2024, 1): [c5()], Period(2024, 3): [c5()]})
    bigger = c5(amount=240000)
    history = post(history, entries([bigger], Period(2024, 4), history))
    history = post(history, entries([bigger], Period(2024, 2), history))
    assert sum(history.amounts["C-5"].values()) == sum(scheduled_amount(bigger, Period(2024, m)) for m in range(1, 5))
    for month in (1, 2, 3, 4):
        assert entries([bigger], Period(2024, month), history).drafts == ()


# Invariants ----------------------------------------------------------------------------------------------------

periods = st.integers(min_value=0, max_value=200).map(lambda n: Period.from_index(Period(2010, 1).index + n))
recent_contracts = st.lists(
    contracts(max_days=900, first_day=date(2008, 1, 1), last_day=date(2028, 12, 31)), min_size=1, max_size=4
).map(lambda cs: [dataclasses.replace(c, contract_id=f"C-{n}") for n, c in enumerate(cs)])
posted_sets = st.frozensets(periods, max_size=12)


@PROPERTIES
@given(recent_contracts, periods, posted_sets, st.sampled_from(list(PostingMode)))
def test_every_entry_balances(
    contract_list: list[Contract], period: Period, posted: frozenset[Period], mode: PostingMode
) -> None:
    result = entries(contract_list, period, PostedHistory(posted_periods=posted), mode=mode)
    for draft in result.drafts:
        debits = sum(line.amount for line in draft.lines if line.posting_type is PostingType.DEBIT)
        credits = sum(line.amount for line in draft.lines if line.posting_type is PostingType.CREDIT)
        assert debits == credits == draft.total_debits == draft.total_credits
        assert all(line.amount > 0 and line.contract_id for line in draft.lines)
        assert len({contract.currency for contract in contract_list if contract.contract_id in draft.contract_ids}) == 1
        pairs(draft)


@PROPERTIES
@given(recent_contracts, st.lists(periods, min_size=1, max_size=6, unique=True))
def test_recomputing_after_posting_yields_nothing_new(contract_list: list[Contract], to_post: list[Period]) -> None:
    history = PostedHistory()
    for period in to_post:
        history = post(history, entries(contract_list, period, history))
    for period in to_post:
        assert entries(contract_list, period, history).drafts == ()


@PROPERTIES
@given(recent_contracts, periods, st.integers(1, 24), st.integers(-(10**9), 10**9))
def test_a_catch_up_equals_what_changed(contract_list: list[Contract], first: Period, months: int, change: int) -> None:
    posted = Period.range(first, Period.from_index(first.index + months - 1))
    history = PostedHistory()
    for period in posted:
        history = post(history, entries(contract_list, period, history))
    # The workspace posted these periods, even those where these contracts happened to have no line.
    history = PostedHistory(history.amounts, history.posted_periods | frozenset(posted))
    changed = [dataclasses.replace(contract_list[0], amount=contract_list[0].amount + change), *contract_list[1:]]
    current = Period.from_index(first.index + months)
    result = entries(changed, current, history)
    catch_up = sum(
        recognition.amount for draft in result.drafts for recognition in draft.recognitions if recognition.period < current
    )
    expected = sum(scheduled_amount(changed[0], p) - scheduled_amount(contract_list[0], p) for p in posted)
    assert catch_up == expected
    assert all(line.contract_id == "C-0" for d in result.drafts for line in d.lines if line.kind is LineKind.CATCH_UP)


@PROPERTIES
@given(recent_contracts, periods, posted_sets)
def test_summary_equals_the_sum_of_per_contract_lines(
    contract_list: list[Contract], period: Period, posted: frozenset[Period]
) -> None:
    history = PostedHistory(posted_periods=posted)
    per_contract = entries(contract_list, period, history)
    summary = entries(contract_list, period, history, mode=PostingMode.SUMMARY)
    detail = [line for draft in per_contract.drafts for line in draft.lines]
    assert [line for draft in summary.drafts for line in draft.lines] == sorted(
        detail, key=lambda line: next(c.currency for c in contract_list if c.contract_id == line.contract_id)
    )
    assert per_contract.net_revenue_by_currency() == summary.net_revenue_by_currency()
    assert sorted(r for d in per_contract.drafts for r in d.recognitions) == sorted(
        r for d in summary.drafts for r in d.recognitions
    )


@PROPERTIES
@given(recent_contracts, st.lists(periods, min_size=1, max_size=8, unique=True))
def test_posting_every_period_recognises_exactly_the_schedule(contract_list: list[Contract], to_post: list[Period]) -> None:
    history = PostedHistory()
    for period in to_post:
        history = post(history, entries(contract_list, period, history))
    for contract in contract_list:
        posted = history.for_contract(contract.contract_id)
        for period in to_post:
            assert posted.get(period, 0) == scheduled_amount(contract, period)


# Skipped months ------------------------------------------------------------------------------------------------


def months(*numbers: int) -> frozenset[Period]:
    return frozenset(Period(2024, number) for number in numbers)


def skipped_warnings(result: PeriodEntries) -> list[str]:
    return [warning for warning in result.warnings if " was never posted: " in warning or " were never posted: " in warning]


def test_a_month_skipped_since_the_first_posting_is_named_with_what_it_schedules() -> None:
    result = entries(
        [c5(), c5(contract_id="C-6", amount=60000)], Period(2024, 5), PostedHistory(posted_periods=months(1, 2, 4))
    )
    march = scheduled_amount(c5(), Period(2024, 3)) + scheduled_amount(c5(amount=60000), Period(2024, 3))
    assert skipped_warnings(result) == [
        f"Mar 2024 was never posted: the {march // 100:,}.{march % 100:02d} USD scheduled there stays in Deferred "
        "Revenue, and this entry doesn't include it. Include it as catch-up in this entry (the only way once "
        "QuickBooks has closed it), or preview and post Mar 2024 on its own."
    ]
    assert result.unposted == (UnpostedMonth(Period(2024, 3), UnpostedKind.SKIPPED, {"USD": march}, ("C-5", "C-6")),)
    assert [draft.contract_ids for draft in result.drafts] == [("C-5",), ("C-6",)]  # May's entries are unchanged


def test_skipped_months_are_listed_as_runs_with_totals_per_currency() -> None:
    contracts = [c5(), c5(contract_id="C-7", currency="EUR", amount=99900)]
    (warning,) = skipped_warnings(entries(contracts, Period(2024, 7), PostedHistory(posted_periods=months(1, 4, 6))))
    assert warning.startswith("Feb–Mar 2024, May 2024 were never posted: the ")
    assert " EUR, " in warning and warning.count(" USD ") == 1


def test_nothing_unposted_without_gaps() -> None:
    result = entries([c5()], Period(2024, 5), PostedHistory(posted_periods=months(1, 2, 3, 4)))
    assert result.unposted == () and skipped_warnings(result) == []


def test_a_skipped_month_that_schedules_nothing_is_not_mentioned() -> None:
    later = c5(start_date=date(2024, 4, 1))
    assert skipped_warnings(entries([later], Period(2024, 5), PostedHistory(posted_periods=months(1, 2, 4)))) == []


def test_skipped_months_before_the_cutover_schedule_nothing() -> None:
    history = PostedHistory(posted_periods=months(1, 4))
    assert skipped_warnings(entries([c5()], Period(2024, 5), history, cutover=date(2024, 4, 1))) == []
    assert skipped_warnings(entries([c5()], Period(2024, 5), history, cutover=date(2024, 3, 15)))[0].startswith(
        "Mar 2024 was never posted"
    )
