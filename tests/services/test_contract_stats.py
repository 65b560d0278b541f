"""Contract states and per-currency totals as of a day."""

from __future__ import annotations

from datetime import UTC, date, datetime

from deferredrev.clock import ManualClock
from deferredrev.revrec.contracts import Contract
from deferredrev.services.contract_stats import ContractState, contract_stats, state_on, summarise
from deferredrev.services.contracts import import_contracts_csv
from deferredrev.storage.db import SessionFactory

DAY = date(2026, 6, 15)


def contract(start: str, end: str, *, cancel: str | None = None, amount: int = 36500, currency: str = "USD") -> Contract:
    return Contract(
        contract_id="C1",
        customer="Acme",
        amount=amount,
        currency=currency,
        start_date=date.fromisoformat(start),
        end_date=date.fromisoformat(end),
        cancel_date=date.fromisoformat(cancel) if cancel else None,
    )


def test_states_on_a_day() -> None:
    assert state_on(contract("2026-01-01", "2026-12-31"), DAY) is ContractState.ACTIVE
    assert state_on(contract("2026-06-15", "2026-06-15"), DAY) is ContractState.ACTIVE
    assert state_on(contract("2026-06-16", "2026-12-31"), DAY) is ContractState.UPCOMING
    assert state_on(contract("2025-01-01", "2026-06-14"), DAY) is ContractState.ENDED
    assert state_on(contract("2026-01-01", "2026-12-31", cancel="2026-06-14"), DAY) is ContractState.CANCELLED
    assert state_on(contract("2026-01-01", "2026-12-31", cancel="2026-06-15"), DAY) is ContractState.ACTIVE
    assert state_on(contract("2026-09-01", "2026-12-31", cancel="2026-08-31"), DAY) is ContractState.CANCELLED


def test_totals_per_currency_with_recognised_to_date() -> None:
    stats = summarise(
        [
            contract("2026-01-01", "2026-12-31", amount=36500),
            contract("2025-01-01", "2025-12-31", amount=-1000),
            contract("2026-01-01", "2026-12-31", amount=365, currency="JPY"),
        ],
        DAY,
    )
    assert stats.total == 3 and stats.count(ContractState.ACTIVE) == 2 and stats.count(ContractState.ENDED) == 1
    usd, jpy = stats.currencies
    assert (usd.currency, usd.contracts, usd.amount, usd.recognised) == ("USD", 2, 35500, 16600 - 1000)
    assert (jpy.currency, jpy.contracts, jpy.amount, jpy.recognised) == ("JPY", 1, 365, 166)


def test_contract_stats_reads_the_team_only(sessions: SessionFactory) -> None:
    clock = ManualClock(datetime(2026, 6, 15, tzinfo=UTC))
    csv = "contract_id,customer,amount,currency,start_date,end_date\nC1,Acme,100.00,USD,2026-01-01,2026-12-31\n"
    import_contracts_csv(sessions, clock, team_id="T1", text=csv, actor="U1")
    import_contracts_csv(sessions, clock, team_id="T2", text=csv.replace("C1", "C2"), actor="U1")
    stats = contract_stats(sessions, "T1", DAY)
    assert stats.total == 1 and stats.currencies[0].amount == 10000
    assert contract_stats(sessions, "T3", DAY).total == 0
