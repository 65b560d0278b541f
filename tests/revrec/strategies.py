"""Hypothesis strategies for contracts (reference/revrec.md §6.3 generators)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import strategies as st

from deferredrev.revrec.contracts import Contract, Method

CURRENCIES = ("USD", "JPY", "KWD", "CLF", "EUR")
FIRST_DAY = date(1990, 1, 1)
LAST_DAY = date(2100, 12, 31)

amounts = st.integers(min_value=-(10**15), max_value=10**15)
methods = st.sampled_from(list(Method))


@st.composite
def contracts(
    draw: st.DrawFn,
    *,
    amount: st.SearchStrategy[int] = amounts,
    method: st.SearchStrategy[Method] = methods,
    cancellable: bool = True,
    max_days: int = 3660,
    contract_id: str = "C-1",
    first_day: date = FIRST_DAY,
    last_day: date = LAST_DAY,
) -> Contract:
    start = draw(st.dates(min_value=first_day, max_value=last_day - timedelta(days=max_days)))
    end = start + timedelta(days=draw(st.integers(min_value=0, max_value=max_days)))
    cancel = None
    if cancellable and draw(st.booleans()):
        cancel = start + timedelta(days=draw(st.integers(min_value=-1, max_value=(end - start).days)))
    return Contract(
        contract_id=contract_id,
        customer="Acme",
        amount=draw(amount),
        currency=draw(st.sampled_from(CURRENCIES)),
        start_date=start,
        end_date=end,
        method=draw(method),
        cancel_date=cancel,
    )
