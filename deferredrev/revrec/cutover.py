"""The cut-over: revenue before it was recognised elsewhere (the books kept before DeferredRev), a fixed fact.

When a workspace sets a cut-over date C, each contract's revenue recognised before C, ``recognised_elsewhere``, is
a fact of the past: what the earlier books recognised under the terms known then. The service stores it per
contract when the cut-over is set (and when a contract is imported while a cut-over exists) and keeps it when a
contract is amended later; the core takes the stored facts in a ``CutOver``.

What DeferredRev owes a contract through the end of day D (``owed_to_date``) is then

    0                                     for D before C
    recognised_to_date(D) - elsewhere     from C on

so an amendment's effect on the months before C is not lost with them: it lands, as ASC 606 cumulative catch-up,
in the month of C (posted, or caught up by the next entry when that month is already posted). An amendment that
takes the contract below what was recognised elsewhere makes that catch-up negative; it is still exact. A month's
owed amount is the difference of ``owed_to_date`` at its end and at the previous month's end; with no cut-over it
is the schedule's amount.

Facts not fixed yet (a bare cut-over date, or a contract missing from ``recognised_elsewhere``) are computed from
the contract's current terms: recognised-to-date on the day before C, 0 for a contract that starts on or after C.
That was the behaviour before the facts were stored, and is what ``recognised_elsewhere`` returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from deferredrev.revrec.contracts import Contract
from deferredrev.revrec.errors import EntryError
from deferredrev.revrec.schedule import cumulative_at

_Date = date  # ``CutOver.date`` shadows the type inside the class


@dataclass(frozen=True)
class CutOver:
    """A workspace's cut-over: revenue before ``date`` counts as recognised elsewhere.

    ``recognised_elsewhere[contract_id]`` is the stored fact in minor units (see ``recognised_elsewhere``);
    contracts without one are computed from their current terms.
    """

    date: _Date
    recognised_elsewhere: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for contract_id, amount in self.recognised_elsewhere.items():
            if type(amount) is not int:
                raise EntryError(f"recognised elsewhere for {contract_id!r} must be an integer of minor units")

    @classmethod
    def of(cls, value: CutOver | _Date | None) -> CutOver | None:
        """A ``CutOver`` from what callers pass: itself, a bare date (facts not fixed yet) or None (no cut-over)."""
        if value is None or isinstance(value, CutOver):
            return value
        return cls(value)

    def elsewhere(self, contract: Contract) -> int:
        """The stored fact for ``contract``, or the one its current terms give when none is stored."""
        fact = self.recognised_elsewhere.get(contract.contract_id)
        return recognised_elsewhere(contract, self.date) if fact is None else fact


def recognised_elsewhere(contract: Contract, cutover_date: date) -> int:
    """Minor units ``contract`` recognised before ``cutover_date`` under its current terms: recognised-to-date at
    the end of the day before, 0 when it starts on or after the cut-over. The fact to store when the cut-over is
    set, or when a contract is imported while one exists; an amendment keeps the stored fact."""
    return cumulative_at(contract, cutover_date.toordinal() - 1)


def owed_to_date(contract: Contract, day: date, cutover: CutOver | date | None = None) -> int:
    """What DeferredRev owes ``contract`` through the end of ``day``: recognised-to-date, less what the cut-over
    counts as recognised elsewhere, and 0 before the cut-over (see the module docstring)."""
    cut = CutOver.of(cutover)
    if cut is None:
        return cumulative_at(contract, day.toordinal())
    if day < cut.date:
        return 0
    return cumulative_at(contract, day.toordinal()) - cut.elsewhere(contract)
