"""What a reviewer signs, summary first: the net debit and credit per account, the entry date, the period's revenue
against the previous period's, and the contracts counted with their reasons (new, ending, credits, catch-ups and
why; and those with nothing this month, grouped by why, which is normal and no cause for a warning)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from deferredrev.revrec.contracts import Contract
from deferredrev.revrec.entries import JournalEntryDraft, LineKind, PeriodEntries
from deferredrev.revrec.journal import PostedHistory
from deferredrev.revrec.periods import Period
from deferredrev.storage import models
from deferredrev.storage.models import EntryStatus

NAMED = 5  # contract ids named per group; the rest are counted
POSTED_OR_ON_ITS_WAY = (
    EntryStatus.PENDING.value,
    EntryStatus.POSTING.value,
    EntryStatus.UNKNOWN.value,
    EntryStatus.POSTED.value,
)


def review_content(
    period: Period,
    entries: PeriodEntries | None,
    contracts: Sequence[Contract],
    history: PostedHistory,
    include: frozenset[Period],
    previous_revenue: dict[str, int],
) -> dict[str, Any]:
    drafts = entries.drafts if entries else ()
    by_id = {contract.contract_id: contract for contract in contracts}
    return {
        "entry_date": period.end.isoformat(),
        "previous_period": str(period.previous()),
        "previous_revenue": previous_revenue,  # by currency: what DeferredRev recognised for the previous month
        "contracts_in_entry": _in_entry(period, drafts, by_id, history, include),
        "nothing_this_month": _nothing_this_month(period, entries.nothing_to_post if entries else (), by_id),
    }


def previous_revenue(session: Session, team_id: str, period: Period) -> dict[str, int]:
    """Revenue DeferredRev has recognised (posted, or on its way) for the month before ``period``, by currency."""
    rows = session.execute(
        select(models.JournalEntry.currency, func.sum(models.EntryRecognition.amount_minor))
        .join(models.JournalEntry, models.JournalEntry.id == models.EntryRecognition.entry_id)
        .where(
            models.JournalEntry.team_id == team_id,
            models.JournalEntry.status.in_(POSTED_OR_ON_ITS_WAY),
            models.EntryRecognition.period == str(period.previous()),
        )
        .group_by(models.JournalEntry.currency)
    ).all()
    return {str(currency): int(amount or 0) for currency, amount in rows}


def _in_entry(
    period: Period,
    drafts: Iterable[JournalEntryDraft],
    contracts: dict[str, Contract],
    history: PostedHistory,
    include: frozenset[Period],
) -> dict[str, Any]:
    kinds: dict[str, set[LineKind]] = defaultdict(set)
    caught_up: dict[str, set[Period]] = defaultdict(set)
    for draft in drafts:
        for line in draft.lines[0::2]:
            kinds[line.contract_id].add(line.kind)
        for recognition in draft.catch_up_recognitions:
            caught_up[recognition.contract_id].add(recognition.period)
    groups: dict[str, list[str]] = {name: [] for name in ("new", "ending", "credits", "backdated", "changed", "earlier")}
    for contract_id in sorted(kinds):
        contract = contracts.get(contract_id)
        if contract is None:
            continue
        if period.contains(contract.start_date):
            groups["new"].append(contract_id)
        if period.contains(contract.last_service_day):
            groups["ending"].append(contract_id)
        if contract.amount < 0:
            groups["credits"].append(contract_id)
        if LineKind.CATCH_UP in kinds[contract_id]:
            groups[_catch_up_reason(contract_id, caught_up[contract_id], history, include)].append(contract_id)
    return {"contracts": len(kinds), **{name: _named(ids) for name, ids in groups.items()}}


def _catch_up_reason(contract_id: str, months: set[Period], history: PostedHistory, include: frozenset[Period]) -> str:
    """Why a contract's catch-up is in the entry: earlier months chosen to be included, a contract changed after
    its months were posted (an amendment, or the cut-over moved), or one imported after them (backdated)."""
    if months & include:
        return "earlier"
    return "changed" if any(history.for_contract(contract_id).values()) else "backdated"


def _nothing_this_month(period: Period, idle: Iterable[str], contracts: dict[str, Contract]) -> dict[str, Any]:
    groups: dict[str, list[str]] = {"ended": [], "cancelled": [], "starts_later": [], "posted": []}
    for contract_id in idle:
        contract = contracts.get(contract_id)
        if contract is None:
            continue
        groups[_why_nothing(period, contract)].append(contract_id)
    return {name: _named(sorted(ids)) for name, ids in groups.items()}


def _why_nothing(period: Period, contract: Contract) -> str:
    if contract.start_date > period.end:
        return "starts_later"
    if contract.cancel_date is not None and contract.cancel_date < period.start:
        return "cancelled"
    if contract.last_service_day < period.start:
        return "ended"
    return "posted"  # in service this month, and already posted


def _named(ids: list[str]) -> dict[str, Any]:
    return {"count": len(ids), "ids": ids[:NAMED]}
