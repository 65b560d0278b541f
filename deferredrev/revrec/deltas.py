"""What each contract still has to post for an entry period, by delta posting, and what it leaves unposted.

For a contract and the entry period P, with ``owed(p)`` what DeferredRev owes it for month p (the schedule's amount,
less what the cut-over counts as recognised elsewhere: see ``cutover``) and ``posted(p)`` what was already posted
for p (attributed to the service month, see ``PostedHistory``):

- ``scheduled = owed(P) - posted(P)``: the period's own revenue, less anything already posted for it, so a re-run
  of a posted period posts only the difference (usually nothing);
- ``catch_up = Σ owed(p) - posted(p)`` over the *target* months p before P: the months the workspace has posted
  (a contract booked late or changed after posting catches up in the first entry after the change) and the months
  the entry includes (``include``: earlier months never posted, caught up in this entry instead of their own).
  ``catch_up_recognitions`` attributes it month by month, so the included months count as posted afterwards;
- every other month p before P where ``owed(p) - posted(p) != 0`` (posted(p) is then 0: a month with a recognition
  counts as posted) is *unposted*: revenue earned and never posted, which the preview must name
  (``completeness.unposted_months``).

This runs once per contract per preview, so it works on date ordinals and month indexes, and sums runs of
consecutive target months as a difference of two owed-to-date values instead of month by month. In the usual case
(every month since the contract's first owed month is a target) the catch-up is just owed-to-date at the end of the
previous month, and finding that nothing is unposted costs one comparison.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from datetime import date
from functools import lru_cache
from typing import NamedTuple

from deferredrev.revrec.contracts import Contract
from deferredrev.revrec.cutover import CutOver
from deferredrev.revrec.errors import EntryError
from deferredrev.revrec.journal import PostedHistory, Recognition
from deferredrev.revrec.periods import Period
from deferredrev.revrec.schedule import cumulative_at, cumulative_at_days


class ContractDelta(NamedTuple):
    contract: Contract
    scheduled: int
    catch_up: int
    catch_up_recognitions: tuple[Recognition, ...]  # the catch-up, month by month; sums to ``catch_up``


# Unposted revenue by month index: (amount by currency, contract ids in the order seen).
UnpostedTotals = dict[int, tuple[dict[str, int], list[str]]]


class DeltaCalculator:
    """Scheduled and catch-up amounts of contracts for one entry period, and the unposted months they leave.

    ``include``: earlier months to catch up in this entry although never posted (each must be before ``period``).
    ``unposted`` collects, contract by contract as ``delta`` (or ``note_unposted``) sees them, the owed revenue
    of the other earlier months that are not posted.
    """

    def __init__(
        self,
        period: Period,
        history: PostedHistory,
        cutover: CutOver | date | None = None,
        include: Iterable[Period] = (),
    ) -> None:
        self.period = period
        self.period_index = period.index
        self.history = history
        self.period_end = period.end.toordinal()
        self.previous_end = self.period_end - period.days
        cut = CutOver.of(cutover)
        self.cutover = cut
        self.cutover_day = None if cut is None else cut.date.toordinal()
        self.cutover_index = None if cut is None else Period.of(cut.date).index
        self.facts: Mapping[str, int] = {} if cut is None else cut.recognised_elsewhere
        posted = history.all_posted_periods()
        self.first_posted = min(posted).index if posted else None
        posted_before = {p.index for p in posted if p < period}
        included = {p.index for p in include}
        if included and max(included) >= self.period_index:
            late = sorted(Period.from_index(i) for i in included if i >= self.period_index)
            raise EntryError(f"only months before {period} can be included as catch-up; got {', '.join(map(str, late))}")
        self.included = sorted(included - posted_before)  # included months not already posted
        self.targets = sorted(posted_before | included)
        self.earlier_posted = sorted(posted_before)
        self.runs = _runs(self.targets)
        self.run_ends = [last for _, last in self.runs]
        # Every month from ``covered_from`` to the previous month is a target (the period itself when the previous
        # month is not): a contract whose first owed month is no earlier has nothing unposted.
        last_run = self.runs[-1] if self.runs else None
        self.covered_from = last_run[0] if last_run and last_run[1] == self.period_index - 1 else self.period_index
        self.unposted: UnpostedTotals = {}

    def delta(self, contract: Contract) -> ContractDelta | None:
        """None when the contract has nothing to post. Also notes its unposted months in ``unposted``."""
        posted = self.history.amounts.get(contract.contract_id)
        start = contract.start_date.toordinal()
        base = None if self.cutover_day is None else self._base(contract, start)
        if base is None and not posted and start > self.period_end:
            return None  # not started and never posted: common, so kept cheap
        if base is None:  # the span inline (``_span``): this is the path every contract of a big period takes
            start_date, last_day = contract.start_date, contract.cancel_date or contract.end_date
            first = start_date.year * 12 + start_date.month - 1
            last = last_day.year * 12 + last_day.month - 1
            at_previous_end = cumulative_at(contract, self.previous_end)
            scheduled = cumulative_at(contract, self.period_end) - at_previous_end
        else:
            first, last = self._span(contract, base)
            at_previous_end = self._owed(contract, self.previous_end, base)
            scheduled = self._owed(contract, self.period_end, base) - at_previous_end
        catch_up = 0
        previous = self.period_index - 1
        last_earlier = last if last < previous else previous
        if first <= last_earlier:
            if first >= self.covered_from:
                # Every month the contract owes before the period is a target: the catch-up is all of it.
                catch_up = at_previous_end
            else:
                catch_up = self._owed_in_targets(contract, base, first, last_earlier, at_previous_end)
                self._note_uncovered(contract, base, first, last_earlier)
        if posted:
            period_index = self.period_index
            for posted_period, amount in posted.items():
                index = posted_period.year * 12 + posted_period.month - 1
                if index == period_index:
                    scheduled -= amount
                elif index < period_index:
                    catch_up -= amount
        breakdown: tuple[Recognition, ...] = ()
        if catch_up or (self.included and self._includes_between(first, last_earlier)):
            breakdown = self._catch_up_breakdown(contract, base, first, last_earlier, posted or {})
        if not scheduled and not breakdown:
            return None
        return ContractDelta(contract, scheduled, catch_up, breakdown)

    def note_unposted(self, contract: Contract) -> None:
        """Only note the contract's unposted months (what ``delta`` does besides computing the delta)."""
        start = contract.start_date.toordinal()
        base = None if self.cutover_day is None else self._base(contract, start)
        first, last = self._span(contract, base)
        last_earlier = min(last, self.period_index - 1)
        if first <= last_earlier and first < self.covered_from:
            self._note_uncovered(contract, base, first, last_earlier)

    # What the contract owes ---------------------------------------------------------------------------------------

    def _base(self, contract: Contract, start: int) -> int | None:
        """What the cut-over counts as recognised elsewhere, or None when the cut-over changes nothing for the
        contract (it starts on or after the cut-over and nothing was recognised elsewhere)."""
        assert self.cutover is not None and self.cutover_day is not None
        fact = self.facts.get(contract.contract_id)
        if fact is None:
            return None if start >= self.cutover_day else cumulative_at(contract, self.cutover_day - 1)
        return None if fact == 0 and start >= self.cutover_day else fact

    def _owed(self, contract: Contract, day: int, base: int | None) -> int:
        """Owed-to-date at the end of the day with ordinal ``day``: 0 before the cut-over, then recognised-to-date
        less ``base``."""
        if base is None:
            return cumulative_at(contract, day)
        assert self.cutover_day is not None
        return 0 if day < self.cutover_day else cumulative_at(contract, day) - base

    def _span(self, contract: Contract, base: int | None) -> tuple[int, int]:
        """The first and last month indexes in which the contract can owe anything (owed-to-date is 0 before the
        first and constant after the last)."""
        start, last_day = contract.start_date, contract.cancel_date or contract.end_date
        first = start.year * 12 + start.month - 1
        last = last_day.year * 12 + last_day.month - 1
        if base is not None:  # owed-to-date jumps from 0 at the cut-over, wherever the service is
            assert self.cutover_index is not None
            first = self.cutover_index
            last = max(last, first)
        return first, last

    def _owed_in_month(self, contract: Contract, index: int, base: int | None) -> int:
        return self._owed(contract, _end_ordinal(index), base) - self._owed(contract, _end_ordinal(index - 1), base)

    # Target months and the others -----------------------------------------------------------------------------------

    def _runs_between(self, first: int, last: int) -> list[tuple[int, int]]:
        """The runs of consecutive target months within ``first``..``last``, clipped to it."""
        runs: list[tuple[int, int]] = []
        if first > last:
            return runs
        for run_first, run_last in self.runs[bisect_left(self.run_ends, first) :]:
            if run_first > last:
                break
            runs.append((max(run_first, first), min(run_last, last)))
        return runs

    def _owed_in_targets(self, contract: Contract, base: int | None, first: int, last: int, at_previous_end: int) -> int:
        """What the contract owes, now, in the target months from ``first`` (its first owed month) to ``last``."""
        total = 0
        for run_first, run_last in self._runs_between(first, last):
            at_run_end = (
                at_previous_end if run_last == self.period_index - 1 else self._at_month_end(contract, run_last, base)
            )
            at_run_start = 0 if run_first == first else self._at_month_end(contract, run_first - 1, base)
            total += at_run_end - at_run_start
        return total

    def _at_month_end(self, contract: Contract, index: int, base: int | None) -> int:
        return self._owed(contract, _end_ordinal(index), base)

    def _note_uncovered(self, contract: Contract, base: int | None, first: int, last: int) -> None:
        """Add the contract's owed revenue in the months from ``first`` to ``last`` that are not targets."""
        cursor = first
        gaps = []
        for run_first, run_last in self._runs_between(first, last):
            if run_first > cursor:
                gaps.append((cursor, run_first - 1))
            cursor = run_last + 1
        if cursor <= last:
            gaps.append((cursor, last))
        unposted = self.unposted
        currency, contract_id = contract.currency, contract.contract_id
        cutover_day = self.cutover_day
        for gap_first, gap_last in gaps:
            # Owed-to-date at the end of the month before the gap (0 before the first owed month) and of each month.
            days = [_end_ordinal(index) for index in range(gap_first - 1, gap_last + 1)]
            values = cumulative_at_days(contract, days)
            if base is not None:
                assert cutover_day is not None
                values = [0 if day < cutover_day else value - base for day, value in zip(days, values, strict=True)]
            if gap_first == first:
                values[0] = 0
            for offset, index in enumerate(range(gap_first, gap_last + 1)):
                amount = values[offset + 1] - values[offset]
                if amount:
                    month = unposted.get(index)
                    if month is None:
                        month = unposted[index] = ({}, [])
                    amounts, contract_ids = month
                    amounts[currency] = amounts.get(currency, 0) + amount
                    contract_ids.append(contract_id)

    def _includes_between(self, first: int, last: int) -> bool:
        position = bisect_left(self.included, first)
        return position < len(self.included) and self.included[position] <= last

    def _catch_up_breakdown(
        self, contract: Contract, base: int | None, first: int, last: int, posted: Mapping[Period, int]
    ) -> tuple[Recognition, ...]:
        indexes = {
            index for run_first, run_last in self._runs_between(first, last) for index in range(run_first, run_last + 1)
        }
        indexes.update(p.index for p in posted if p < self.period)
        recognitions = []
        for index in sorted(indexes):
            period = Period.from_index(index)
            amount = self._owed_in_month(contract, index, base) - posted.get(period, 0)
            if amount:
                recognitions.append(Recognition(contract.contract_id, period, amount))
        return tuple(recognitions)


def _runs(indexes: list[int]) -> list[tuple[int, int]]:
    """Sorted month indexes as runs of consecutive months, (first, last) each."""
    runs: list[tuple[int, int]] = []
    for index in indexes:
        if runs and runs[-1][1] == index - 1:
            runs[-1] = (runs[-1][0], index)
        else:
            runs.append((index, index))
    return runs


@lru_cache(maxsize=4096)
def _end_ordinal(index: int) -> int:
    return Period.from_index(index).end.toordinal()
