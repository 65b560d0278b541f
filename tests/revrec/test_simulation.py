"""A workspace's life, simulated: the books stay complete whatever happens.

Random contracts (every method, currencies with 0, 2, 3 and 4 decimals, negative amounts) go through amendments
(amount and dates changed after posting), cancellations, late imports, a cut-over set before any posting (facts
fixed then, or a bare date), skipped months, months closed in QuickBooks (so they can only be included as catch-up
in a later entry), reversals (``reversing_draft`` + ``recording``), in both posting modes.

After every posted period P, for every contract, what was posted for the months through P equals what is owed
through the end of P, less the owed revenue of the months the preview listed as unposted and not included, exactly;
the listed months are exactly the earlier months, not posted and not included, where some contract is owed
revenue (an oracle month by month from ``owed_to_date``); and every draft balances.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from deferredrev.revrec.completeness import UnpostedKind, UnpostedMonth, unposted_months
from deferredrev.revrec.contracts import Contract
from deferredrev.revrec.cutover import CutOver, owed_to_date, recognised_elsewhere
from deferredrev.revrec.entries import (
    AccountMapping,
    JournalEntryDraft,
    PeriodEntries,
    PostedHistory,
    PostingMode,
    PostingType,
    build_period_entries,
    reversing_draft,
)
from deferredrev.revrec.periods import Period
from tests.revrec.strategies import contracts

ACCOUNTS = AccountMapping("81", "Deferred Revenue", "79", "Revenue")
SCOPE = "T0SIM"
FIRST_DAY, LAST_DAY = date(2023, 1, 1), date(2025, 6, 30)
FIRST_PERIOD = Period(2023, 1)
ORACLE_FROM = Period(2022, 1)  # before any contract, even one moved 200 days earlier
SIMULATION = settings(max_examples=200, deadline=None)

small_amounts = st.integers(min_value=-(10**9), max_value=10**9)


def contract_strategy(contract_id: str) -> st.SearchStrategy[Contract]:
    return contracts(amount=small_amounts, max_days=500, contract_id=contract_id, first_day=FIRST_DAY, last_day=LAST_DAY)


class Workspace:
    """The state a service keeps: contracts, the recognised-elsewhere facts, the history, QuickBooks' close."""

    def __init__(self, contracts: list[Contract], cutover: CutOver | date | None) -> None:
        self.contracts = {contract.contract_id: contract for contract in contracts}
        self.cutover = cutover
        self.history = PostedHistory()
        self.closed_through: Period | None = None
        self.today = FIRST_PERIOD  # the latest month posted forward (or about to be)
        self.last_drafts: tuple[JournalEntryDraft, ...] = ()
        self.last_period: Period | None = None

    def import_contract(self, contract: Contract) -> None:
        """A new contract; while a cut-over with facts exists, its fact is stored as the service does."""
        if isinstance(self.cutover, CutOver):
            facts = dict(self.cutover.recognised_elsewhere)
            facts[contract.contract_id] = recognised_elsewhere(contract, self.cutover.date)
            self.cutover = CutOver(self.cutover.date, facts)
        self.contracts[contract.contract_id] = contract

    def closed(self, period: Period) -> bool:
        return self.closed_through is not None and period <= self.closed_through

    def preview(self, period: Period, include: frozenset[Period], mode: PostingMode) -> PeriodEntries:
        return build_period_entries(
            list(self.contracts.values()), period, self.history, ACCOUNTS, mode=mode, cutover=self.cutover,
            include=include, scope=SCOPE,
        )  # fmt: skip

    def post(self, period: Period, include: frozenset[Period], mode: PostingMode) -> None:
        expected = expected_unposted(self, period, include)
        result = self.preview(period, include, mode)
        for draft in result.drafts:
            assert_balances(draft)
        assert result.unposted == expected
        assert unposted_months(self.contracts.values(), period, self.history, self.cutover, include) == expected
        self.history = self.history.recording(*result.drafts)
        self.last_drafts, self.last_period = result.drafts, period
        check_invariant(self, period, result.unposted)

    def owed_in(self, contract: Contract, period: Period) -> int:
        return owed_to_date(contract, period.end, self.cutover) - owed_to_date(contract, period.previous().end, self.cutover)


def expected_unposted(workspace: Workspace, period: Period, include: frozenset[Period]) -> tuple[UnpostedMonth, ...]:
    """The oracle: month by month, contract by contract, the months before ``period`` not posted, not included,
    where some contract is owed revenue."""
    posted = workspace.history.all_posted_periods()
    first_posted = min(posted) if posted else None
    months = []
    for month in Period.range(ORACLE_FROM, period.previous()):
        if month in posted or month in include:
            continue
        amounts: dict[str, int] = {}
        ids = []
        for contract in sorted(workspace.contracts.values(), key=lambda c: c.contract_id):
            owed = workspace.owed_in(contract, month)
            if owed:
                amounts[contract.currency] = amounts.get(contract.currency, 0) + owed
                ids.append(contract.contract_id)
        if ids:
            before = first_posted is None or month < first_posted
            kind = UnpostedKind.BEFORE_FIRST_POSTING if before else UnpostedKind.SKIPPED
            months.append(UnpostedMonth(month, kind, dict(sorted(amounts.items())), tuple(ids)))
    return tuple(months)


def check_invariant(workspace: Workspace, period: Period, unposted: tuple[UnpostedMonth, ...]) -> None:
    for contract in workspace.contracts.values():
        posted = sum(amount for p, amount in workspace.history.for_contract(contract.contract_id).items() if p <= period)
        left_out = sum(workspace.owed_in(contract, m.period) for m in unposted if contract.contract_id in m.contract_ids)
        assert posted == owed_to_date(contract, period.end, workspace.cutover) - left_out, contract


def assert_balances(draft: JournalEntryDraft) -> None:
    debits = sum(line.amount for line in draft.lines if line.posting_type is PostingType.DEBIT)
    credits = sum(line.amount for line in draft.lines if line.posting_type is PostingType.CREDIT)
    assert debits == credits == draft.total_debits == draft.total_credits
    assert all(line.amount > 0 for line in draft.lines)


@st.composite
def amended(draw: st.DrawFn, contract: Contract) -> Contract:
    """The contract with its amount, its dates or its cancellation changed (same id and currency)."""
    change = draw(st.sampled_from(["amount", "dates", "move", "cancel"]))
    if change == "amount":
        return dataclasses.replace(contract, amount=draw(small_amounts))
    if change == "move":  # the same service, earlier or later (across the cut-over, often)
        shift = timedelta(days=draw(st.integers(-200, 200)))
        return dataclasses.replace(
            contract, start_date=contract.start_date + shift, end_date=contract.end_date + shift, cancel_date=None
        )
    if change == "dates":
        other = draw(contract_strategy(contract.contract_id))
        return dataclasses.replace(
            contract, start_date=other.start_date, end_date=other.end_date, method=other.method, cancel_date=None
        )
    days = (contract.end_date - contract.start_date).days
    return dataclasses.replace(contract, cancel_date=contract.start_date + timedelta(days=draw(st.integers(-1, days))))


@SIMULATION
@given(st.data())
def test_the_books_stay_complete(data: st.DataObject) -> None:
    draw = data.draw
    initial = [draw(contract_strategy(f"C-{n}")) for n in range(draw(st.integers(1, 3)))]
    workspace = Workspace(initial, None)
    cutover_kind = draw(st.sampled_from(["none", "fixed", "bare"]))
    if cutover_kind != "none":
        near = draw(st.sampled_from(initial)).start_date + timedelta(days=draw(st.integers(-60, 120)))
        day = draw(st.one_of(st.just(near), st.dates(FIRST_DAY, LAST_DAY)))
        facts = {c.contract_id: recognised_elsewhere(c, day) for c in initial}
        workspace.cutover = CutOver(day, facts) if cutover_kind == "fixed" else day
    workspace.today = Period.from_index(FIRST_PERIOD.index + draw(st.integers(0, 24)))
    modes = st.sampled_from(list(PostingMode))
    for _ in range(draw(st.integers(1, 10))):
        action = draw(st.sampled_from(["post", "post", "post", "skipped", "amend", "import", "reverse", "close"]))
        if action == "post":  # the next month, or one a month or two later (skipping some)
            period = Period.from_index(workspace.today.index + draw(st.integers(0, 2)))
            workspace.today = period
            listed = workspace.preview(period, frozenset(), PostingMode.PER_CONTRACT).unposted
            must = {m.period for m in listed if workspace.closed(m.period)}  # closed: only as catch-up
            may = draw(st.frozensets(st.sampled_from([m.period for m in listed]))) if listed else frozenset()
            include = frozenset(must if draw(st.booleans()) else set()) | may
            workspace.post(period, include, draw(modes))
            workspace.today = period.next()
        elif action == "skipped":  # an earlier month never posted, still open, gets its own entry
            open_months = [m.period for m in workspace.preview(workspace.today, frozenset(), PostingMode.SUMMARY).unposted]
            open_months = [p for p in open_months if not workspace.closed(p)]
            if open_months:
                workspace.post(draw(st.sampled_from(open_months)), frozenset(), draw(modes))
        elif action == "amend":
            contract_id = draw(st.sampled_from(sorted(workspace.contracts)))
            workspace.contracts[contract_id] = draw(amended(workspace.contracts[contract_id]))
        elif action == "import":  # possibly backdated before the first posting
            workspace.import_contract(draw(contract_strategy(f"C-{len(workspace.contracts)}")))
        elif action == "reverse" and workspace.last_drafts and workspace.last_period is not None:
            original_period = workspace.last_period
            period = workspace.today if workspace.closed(original_period) else original_period
            reversals = [reversing_draft(draft, period, SCOPE) for draft in workspace.last_drafts]
            for reversal in reversals:
                assert_balances(reversal)
            workspace.history = workspace.history.recording(*reversals)
            workspace.last_drafts = ()
        elif action == "close":
            workspace.closed_through = Period.from_index(workspace.today.index - draw(st.integers(1, 4)))
