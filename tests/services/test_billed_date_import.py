"""An imported contract's billed date is stored, read back, and changing it is an update."""

from __future__ import annotations

from datetime import date

from deferredrev.services.contracts import import_contracts_csv, load_contracts

HEADER = "contract_id,customer,amount,currency,start_date,end_date,billed_date"


def test_the_billed_date_is_stored_and_a_change_is_an_update(sessions, clock) -> None:  # type: ignore[no-untyped-def]
    first = import_contracts_csv(
        sessions, clock, team_id="T1", text=f"{HEADER}\nC-1,Acme,100,USD,2026-01-01,2026-12-31,2025-12-15\n", actor="U1"
    )
    assert first.created == 1
    moved = import_contracts_csv(
        sessions, clock, team_id="T1", text=f"{HEADER}\nC-1,Acme,100,USD,2026-01-01,2026-12-31,2026-01-10\n", actor="U1"
    )
    assert moved.updated == 1
    with sessions() as session:
        (contract,) = load_contracts(session, "T1")
    assert contract.billed_date == date(2026, 1, 10)
