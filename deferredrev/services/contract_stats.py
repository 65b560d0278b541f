"""Contract counts and totals as of a day: what `/deferredrev contracts` shows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from deferredrev.revrec.contracts import Contract
from deferredrev.revrec.schedule import recognised_to_date
from deferredrev.services.contracts import load_contracts
from deferredrev.storage.db import SessionFactory


class ContractState(StrEnum):
    UPCOMING = "upcoming"  # service starts after the day
    ACTIVE = "active"  # in service on the day (including a cancellation that takes effect later)
    ENDED = "ended"  # the service period ended before the day
    CANCELLED = "cancelled"  # service stopped early, before the day (or never began)


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    contracts: int
    amount: int  # sum of contract amounts, minor units
    recognised: int  # recognised by the end of the day, minor units


@dataclass(frozen=True)
class ContractStats:
    as_of: date
    counts: dict[ContractState, int]
    currencies: tuple[CurrencyTotal, ...]  # largest number of contracts first

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def count(self, state: ContractState) -> int:
        return self.counts.get(state, 0)


def state_on(contract: Contract, day: date) -> ContractState:
    """Where ``contract`` stands on ``day``."""
    cancel = contract.cancel_date
    if cancel is not None and (not contract.has_service or cancel < day):
        return ContractState.CANCELLED
    if contract.end_date < day:
        return ContractState.ENDED
    if contract.start_date > day:
        return ContractState.UPCOMING
    return ContractState.ACTIVE


def summarise(contracts: Iterable[Contract], day: date) -> ContractStats:
    counts = dict.fromkeys(ContractState, 0)
    totals: dict[str, list[int]] = {}
    for contract in contracts:
        counts[state_on(contract, day)] += 1
        entry = totals.setdefault(contract.currency, [0, 0, 0])
        entry[0] += 1
        entry[1] += contract.amount
        entry[2] += recognised_to_date(contract, day)
    currencies = sorted(
        (CurrencyTotal(code, count, amount, recognised) for code, (count, amount, recognised) in totals.items()),
        key=lambda total: (-total.contracts, total.currency),
    )
    return ContractStats(as_of=day, counts=counts, currencies=tuple(currencies))


def contract_stats(sessions: SessionFactory, team_id: str, day: date) -> ContractStats:
    """The team's contracts summarised as of the end of ``day``."""
    with sessions() as session:
        contracts = load_contracts(session, team_id)
    return summarise(contracts, day)
