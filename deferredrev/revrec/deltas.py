"""What each contract still has to post for an entry period, by delta posting.

For a contract and the entry period P, with ``sched(p)`` its scheduled amount for period p (after the cut-over)
and ``posted(p)`` what was already posted for p (attributed to the service period, see ``PostedHistory``):

- ``scheduled = sched(P) - posted(P)``: the period's own revenue, less anything already posted for it, so a
  re-run of a posted period posts only the difference (usually nothing);
- ``catch_up = Σ sched(p) - posted(p)`` over the earlier periods p the workspace has already posted: a contract
  booked late, or changed after posting, catches up in the first entry after the change. Earlier periods that
  were never posted are left to their own entries.

Cut-over: revenue up to the day before the cut-over date counts as recognised elsewhere, so periods ending before
it schedule 0 and the period containing it schedules ``cum(end) - cum(cutover - 1 day)``.

This runs once per contract per preview, so it works on date ordinals and sums runs of consecutive posted periods
as a difference of two cumulative values instead of period by period.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from typing import NamedTuple

from deferredrev.revrec.contracts import Contract
from deferredrev.revrec.journal import PostedHistory, Recognition
from deferredrev.revrec.periods import Period
from deferredrev.revrec.schedule import cumulative_at


class ContractDelta(NamedTuple):
    contract: Contract
    scheduled: int
    catch_up: int
    catch_up_recognitions: tuple[Recognition, ...]  # the catch-up, period by period


class DeltaCalculator:
    """Scheduled and catch-up amounts of contracts for one entry period."""

    def __init__(self, period: Period, history: PostedHistory, cutover: date | None) -> None:
        self.period = period
        self.period_index = period.index
        self.history = history
        self.period_end = period.end.toordinal()
        self.previous_end = self.period_end - period.days
        self.before_cutover = None if cutover is None else cutover.toordinal() - 1
        self.cutover_index = None if cutover is None else Period.of(cutover).index
        self.earlier_posted = sorted(p.index for p in history.all_posted_periods() if p < period)
        # Usually the posted periods are one unbroken run; then a contract's share of them needs no search.
        earlier = self.earlier_posted
        self.earlier_run = (earlier[0], earlier[-1]) if earlier and earlier[-1] - earlier[0] == len(earlier) - 1 else None

    def delta(self, contract: Contract) -> ContractDelta | None:
        """None when the contract has nothing to post."""
        posted = self.history.amounts.get(contract.contract_id)
        start = contract.start_date.toordinal()
        if not posted and start > self.period_end:
            return None  # not started and never posted: common, so kept cheap
        base = self._cutover_base(contract, start)
        if base is None:
            at_previous_end = cumulative_at(contract, self.previous_end)
            scheduled = cumulative_at(contract, self.period_end) - at_previous_end
        else:
            at_previous_end = self._cumulative(contract, self.previous_end, base)
            scheduled = self._cumulative(contract, self.period_end, base) - at_previous_end
        catch_up = 0
        if self.earlier_posted and start <= self.previous_end:
            catch_up = self._scheduled_in_earlier_posted(contract, base, at_previous_end)
        if posted:
            period_index = self.period_index
            for posted_period, amount in posted.items():
                index = posted_period.year * 12 + posted_period.month - 1
                if index == period_index:
                    scheduled -= amount
                elif index < period_index:
                    catch_up -= amount
        if not scheduled and not catch_up:
            return None
        breakdown = self._catch_up_breakdown(contract, base, posted or {}) if catch_up else ()
        return ContractDelta(contract, scheduled, catch_up, breakdown)

    def _cutover_base(self, contract: Contract, start: int) -> int | None:
        """Recognised-to-date on the day before the cut-over, or None when the cut-over does not bite."""
        if self.before_cutover is None or self.before_cutover < start:
            return None
        return cumulative_at(contract, self.before_cutover)

    def _cumulative(self, contract: Contract, day: int, base: int | None) -> int:
        """Recognised-to-date at the end of ``day``, less what the cut-over treats as recognised elsewhere."""
        if base is None or self.before_cutover is None:
            return cumulative_at(contract, day)
        return cumulative_at(contract, max(day, self.before_cutover)) - base

    def _scheduled(self, contract: Contract, index: int, base: int | None) -> int:
        return self._cumulative(contract, _end_ordinal(index), base) - self._cumulative(
            contract, _end_ordinal(index - 1), base
        )

    def _span(self, contract: Contract) -> tuple[int, int]:
        """First and last period indexes in which the contract can schedule revenue, before the entry period."""
        start, last_day = contract.start_date, contract.cancel_date or contract.end_date
        first = start.year * 12 + start.month - 1
        if self.cutover_index is not None and self.cutover_index > first:
            first = self.cutover_index
        return first, min(last_day.year * 12 + last_day.month - 1, self.period_index - 1)

    def _earlier_in_span(self, contract: Contract) -> list[int]:
        """Indexes of the earlier posted periods in which the contract can schedule revenue."""
        first, last = self._span(contract)
        posted = self.earlier_posted
        return posted[bisect_left(posted, first) : bisect_left(posted, last + 1)] if first <= last else []

    def _scheduled_in_earlier_posted(self, contract: Contract, base: int | None, at_previous_end: int) -> int:
        """What the contract schedules, now, in the earlier periods the workspace has posted."""
        if self.earlier_run is None:
            return sum(self._scheduled(contract, index, base) for index in self._earlier_in_span(contract))
        # A run of consecutive periods: its revenue is the difference of two cumulative values.
        first, last = self._span(contract)
        first, last = max(first, self.earlier_run[0]), min(last, self.earlier_run[1])
        if first > last:
            return 0
        if last == self.period_index - 1:
            at_run_end = at_previous_end
        else:
            at_run_end = self._cumulative(contract, _end_ordinal(last), base)
        before_run = _end_ordinal(first - 1)
        at_run_start = 0
        if before_run >= contract.start_date.toordinal():
            at_run_start = self._cumulative(contract, before_run, base)
        return at_run_end - at_run_start

    def _catch_up_breakdown(
        self, contract: Contract, base: int | None, posted: Mapping[Period, int]
    ) -> tuple[Recognition, ...]:
        indexes = set(self._earlier_in_span(contract))
        indexes.update(p.index for p in posted if p < self.period)
        recognitions = []
        for index in sorted(indexes):
            period = Period.from_index(index)
            amount = self._scheduled(contract, index, base) - posted.get(period, 0)
            if amount:
                recognitions.append(Recognition(contract.contract_id, period, amount))
        return tuple(recognitions)


@lru_cache(maxsize=4096)
def _end_ordinal(index: int) -> int:
    return Period.from_index(index).end.toordinal()
