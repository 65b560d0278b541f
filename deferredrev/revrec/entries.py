"""A period's journal-entry drafts: what to post to QuickBooks, by delta posting.

Each contract's amounts come from ``deltas`` (scheduled = this period's revenue not yet posted; catch-up = changes
in earlier posted periods, and the revenue of the earlier months the entry ``include``s). Each nonzero amount
becomes a line pair, Dr Deferred Revenue / Cr Revenue; a negative amount swaps the sides and both lines carry the
absolute amount. Zero lines are left out and a contract with nothing to post gets no entry. A catch-up is one line
pair, except when its months net to zero while an included month has revenue: then it is a pair per month, so the
included month is recorded as posted.

``PeriodEntries.unposted`` lists the earlier months left out (``completeness``): revenue earned and never posted,
which the preview must name; ``warnings`` describes them in plain text too.

``per_contract`` mode makes one draft per contract; ``summary`` mode one draft per currency (a draft never mixes
currencies) with a line pair per contract and kind. Amounts are rounded per contract first, so a summary is
exactly the sum of the per-contract lines.

Every draft carries ``recognitions``, the revenue it recognises by contract and service period. Once a draft is
posted, add them to the history (``PostedHistory.recording``): that attribution keeps re-runs idempotent and
catch-ups exact, including when periods are posted out of order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from operator import attrgetter

from deferredrev.revrec.completeness import UnpostedMonth, collect_unposted, describe_unposted
from deferredrev.revrec.contracts import Contract
from deferredrev.revrec.cutover import CutOver
from deferredrev.revrec.deltas import ContractDelta, DeltaCalculator
from deferredrev.revrec.errors import EntryError, UnbalancedEntryError
from deferredrev.revrec.journal import (
    MAX_TEXT_LENGTH,
    AccountMapping,
    DraftKeys,
    EntryKind,
    JournalEntryDraft,
    JournalLine,
    LineKind,
    PostedHistory,
    PostingMode,
    PostingType,
    Recognition,
    list_within,
    truncate,
)
from deferredrev.revrec.periods import Period, describe_periods

__all__ = [
    "AccountMapping",
    "CutOver",
    "EntryKind",
    "JournalEntryDraft",
    "JournalLine",
    "LineKind",
    "PeriodEntries",
    "PostedHistory",
    "PostingMode",
    "PostingType",
    "Recognition",
    "UnpostedMonth",
    "build_period_entries",
    "reversing_draft",
]

_DEBIT = PostingType.DEBIT
_CREDIT = PostingType.CREDIT


@dataclass(frozen=True)
class PeriodEntries:
    period: Period
    mode: PostingMode
    drafts: tuple[JournalEntryDraft, ...]  # sorted by posting key subject: contract id, or currency in summary mode
    warnings: tuple[str, ...]  # plain text, the unposted months' description (``describe_unposted``) last
    nothing_to_post: tuple[str, ...]  # contract ids without a line this period
    unposted: tuple[UnpostedMonth, ...] = ()  # earlier months with revenue never posted and not included, oldest first

    @property
    def warnings_besides_unposted(self) -> tuple[str, ...]:
        """``warnings`` less the unposted months' description, for a surface that renders ``unposted`` itself."""
        return self.warnings[: len(self.warnings) - len(describe_unposted(self.unposted))]

    def net_revenue_by_currency(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for draft in self.drafts:
            totals[draft.currency] = totals.get(draft.currency, 0) + draft.net_revenue
        return totals


def build_period_entries(
    contracts: Iterable[Contract],
    period: Period,
    history: PostedHistory,
    accounts: AccountMapping,
    *,
    mode: PostingMode = PostingMode.PER_CONTRACT,
    cutover: CutOver | date | None = None,
    include: Iterable[Period] = frozenset(),
    scope: str,
    revision: int = 0,
) -> PeriodEntries:
    """The drafts to post for ``period``; pure and deterministic (same inputs, identical drafts).

    ``cutover``: a ``CutOver`` with the stored recognised-elsewhere facts; a bare date means the facts are not
    fixed yet (computed from the contracts' current terms). ``include``: earlier months never posted to catch up in
    this entry (their revenue becomes catch-up lines attributed to them, so they count as posted afterwards); each
    must be before ``period``. The earlier unposted months not included are ``PeriodEntries.unposted``.
    """
    keys = DraftKeys(scope, period, revision)
    ordered = sorted(contracts, key=attrgetter("contract_id"))
    _check_unique_ids(ordered)
    calculator = DeltaCalculator(period, history, cutover, include)
    builder = _DraftBuilder(period, accounts, keys, mode)
    idle: list[str] = []
    for contract in ordered:
        delta = calculator.delta(contract)
        if delta is None:
            idle.append(contract.contract_id)
        else:
            builder.add(delta)
    unposted = collect_unposted(calculator)
    warnings = _warnings(period, idle, history, ordered) + describe_unposted(unposted)
    return PeriodEntries(period, mode, tuple(builder.drafts()), warnings, tuple(idle), unposted)


def reversing_draft(original: JournalEntryDraft, period: Period, scope: str, revision: int = 0) -> JournalEntryDraft:
    """An entry in ``period`` that undoes ``original``: every line on the other side, recognitions negated."""
    keys = DraftKeys(scope, period, revision, prefix="RV")
    note = f"Reversal of {original.doc_number}: "
    swapped = (
        line._replace(posting_type=line.posting_type.swapped(), description=truncate(note + line.description))
        for line in original.lines
    )
    # Lines come in (debit, credit) pairs; after swapping sides each pair is put back debit first.
    lines = tuple(line for credit, debit in zip(swapped, swapped, strict=True) for line in (debit, credit))
    catch_up = tuple(recognition._replace(amount=-recognition.amount) for recognition in original.catch_up_recognitions)
    subject = f"reversal:{original.doc_number}"
    return _draft(
        keys,
        period,
        original.currency,
        subject,
        lines,
        original.deferred_revenue_id,
        original.service_period,
        catch_up,
        original.posting_key,
    )


class _DraftBuilder:
    """Turns contract deltas, in contract order, into drafts as they come (no list of deltas is kept)."""

    def __init__(self, period: Period, accounts: AccountMapping, keys: DraftKeys, mode: PostingMode) -> None:
        self.period = period
        self.keys = keys
        self.label = period.label
        self.deferred = (accounts.deferred_revenue_id, accounts.deferred_revenue_name)
        self.revenue = (accounts.revenue_id, accounts.revenue_name)
        self.add = self._add_draft if mode is PostingMode.PER_CONTRACT else self._add_to_summary
        self._drafts: list[JournalEntryDraft] = []
        self._summaries: dict[str, tuple[list[JournalLine], list[Recognition]]] = {}

    def drafts(self) -> list[JournalEntryDraft]:
        summaries = [
            self._draft(currency, "summary:" + currency, tuple(lines), tuple(catch_up))
            for currency, (lines, catch_up) in sorted(self._summaries.items())
        ]
        return self._drafts + summaries

    def _add_draft(self, delta: ContractDelta) -> None:
        subject = "contract:" + delta.contract.contract_id
        self._drafts.append(self._draft(delta.contract.currency, subject, self._lines(delta), delta.catch_up_recognitions))

    def _add_to_summary(self, delta: ContractDelta) -> None:
        lines, catch_up = self._summaries.setdefault(delta.contract.currency, ([], []))
        lines += self._lines(delta)
        catch_up += delta.catch_up_recognitions

    def _draft(
        self, currency: str, subject: str, lines: tuple[JournalLine, ...], catch_up: tuple[Recognition, ...]
    ) -> JournalEntryDraft:
        return _draft(self.keys, self.period, currency, subject, lines, self.deferred[0], self.period, catch_up)

    def _lines(self, delta: ContractDelta) -> tuple[JournalLine, ...]:
        """The catch-up pair first (it covers earlier periods), then the period's own pair."""
        contract, scheduled, catch_up, catch_up_recognitions = delta
        lines: tuple[JournalLine, ...] = ()
        if catch_up:
            covered = describe_periods([recognition.period for recognition in catch_up_recognitions])
            description = f"{contract.contract_id} prior-period catch-up {covered} ({contract.customer})"
            lines = self._pair(contract.contract_id, LineKind.CATCH_UP, catch_up, description)
        elif catch_up_recognitions:  # months netting to zero, one of them included: a pair each records them all
            for recognition in catch_up_recognitions:
                description = (
                    f"{contract.contract_id} prior-period catch-up {recognition.period.label} ({contract.customer})"
                )
                lines += self._pair(contract.contract_id, LineKind.CATCH_UP, recognition.amount, description)
        if scheduled:
            description = f"{contract.contract_id} {self.label} ({contract.customer})"
            lines += self._pair(contract.contract_id, LineKind.SCHEDULED, scheduled, description)
        return lines

    def _pair(self, contract_id: str, kind: LineKind, amount: int, description: str) -> tuple[JournalLine, JournalLine]:
        """Dr Deferred Revenue / Cr Revenue, or the other way round for a negative amount."""
        debit, credit = (self.deferred, self.revenue) if amount > 0 else (self.revenue, self.deferred)
        magnitude = -amount if amount < 0 else amount
        if len(description) > MAX_TEXT_LENGTH:
            description = truncate(description)
        return (
            JournalLine(contract_id, kind, _DEBIT, debit[0], debit[1], magnitude, description),
            JournalLine(contract_id, kind, _CREDIT, credit[0], credit[1], magnitude, description),
        )


def _draft(
    keys: DraftKeys,
    period: Period,
    currency: str,
    subject: str,
    lines: tuple[JournalLine, ...],
    deferred_revenue_id: str,
    service_period: Period,
    catch_up: tuple[Recognition, ...],
    reverses: str | None = None,
) -> JournalEntryDraft:
    debits = credits = 0
    for line in lines:
        if line.posting_type is _DEBIT:
            debits += line.amount
        else:
            credits += line.amount
    key = keys.posting_key(subject)
    if debits != credits:
        raise UnbalancedEntryError(f"entry {key} does not balance: debits {debits}, credits {credits}")
    number = keys.doc_number(key)
    # Credits equal debits (checked above); one int object serves as both totals, which matters at a million drafts.
    return JournalEntryDraft(
        key, number, period, _period_end(period), currency, keys.revision, lines, debits, debits,
        deferred_revenue_id, service_period, catch_up, reverses,
    )  # fmt: skip


@lru_cache(maxsize=1024)
def _period_end(period: Period) -> date:
    return period.end


def _check_unique_ids(ordered: list[Contract]) -> None:
    for previous, current in zip(ordered, ordered[1:], strict=False):
        if previous.contract_id == current.contract_id:
            raise EntryError(f"contract_id {current.contract_id!r} appears more than once")


def _warnings(period: Period, idle: list[str], history: PostedHistory, contracts: list[Contract]) -> tuple[str, ...]:
    # Contracts with nothing this period are data (``nothing_to_post``), not a warning: it is normal for contracts
    # that ended or haven't started.
    warnings = []
    known = {contract.contract_id for contract in contracts}
    orphans = sorted(
        contract_id
        for contract_id, by_period in history.amounts.items()
        if contract_id not in known and any(by_period.values())
    )
    if orphans:
        warnings.append(
            f"{len(orphans)} contract(s) have posted revenue but are no longer on file; reverse their entries by hand "
            f"if they were removed: {list_within(orphans, 300)}"
        )
    return tuple(warnings)
