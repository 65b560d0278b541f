"""A contract: an amount of revenue to recognise over an inclusive service period, by one method."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from deferredrev.revrec.errors import ContractError
from deferredrev.revrec.money import MAX_MINOR_UNITS, Currency, format_amount, get_currency

MAX_CONTRACT_ID_LENGTH = 64
MAX_CUSTOMER_LENGTH = 255
MAX_DESCRIPTION_LENGTH = 4000
# Dates a contract may use: far from the ends of the calendar, so a day before the start or a month after the end
# always exists (and every database stores them).
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(9998, 12, 31)


class Method(StrEnum):
    """How service is measured; see ``deferredrev.revrec.schedule`` for the exact fractions."""

    DAILY = "daily"
    MONTHLY_EVEN = "monthly_even"
    MONTHLY_PRORATED = "monthly_prorated"


@dataclass(frozen=True, slots=True)
class Contract:
    """Revenue of ``amount`` minor units of ``currency`` earned over ``start_date``..``end_date`` (both inclusive).

    ``cancel_date`` is the last day of service when the contract was cancelled: recognition stops there. It may
    be the day before ``start_date`` (cancelled before any service: nothing is recognised) and at most
    ``end_date``.

    ``billed_date`` is the day the amount entered Deferred Revenue (its invoice), before, on or after the start;
    None means the start date (see :attr:`billed_on`). It moves no revenue: only the roll-forward uses it.
    """

    contract_id: str
    customer: str
    amount: int
    currency: str
    start_date: date
    end_date: date
    method: Method = Method.DAILY
    description: str = ""
    cancel_date: date | None = None
    billed_date: date | None = None

    def __post_init__(self) -> None:
        _check_text("contract_id", self.contract_id, MAX_CONTRACT_ID_LENGTH)
        _check_text("customer", self.customer, MAX_CUSTOMER_LENGTH)
        if len(self.description) > MAX_DESCRIPTION_LENGTH:
            raise ContractError(f"description is longer than {MAX_DESCRIPTION_LENGTH} characters")
        if type(self.amount) is not int:
            raise ContractError(f"amount must be an integer count of minor units; got {self.amount!r}")
        if abs(self.amount) > MAX_MINOR_UNITS:
            raise ContractError(f"amount {self.amount} is too large")
        get_currency(self.currency)
        if not isinstance(self.method, Method):
            raise ContractError(f"method must be one of {', '.join(Method)}; got {self.method!r}")
        self._check_dates()

    def _check_dates(self) -> None:
        for name in ("start_date", "end_date", "cancel_date", "billed_date"):
            value = getattr(self, name)
            if value is not None and (problem := date_out_of_range(name, value)):
                raise ContractError(problem)
        if self.end_date < self.start_date:
            raise ContractError(f"end_date {self.end_date} is before start_date {self.start_date}")
        if self.cancel_date is None:
            return
        earliest = self.start_date - timedelta(days=1)
        if not earliest <= self.cancel_date <= self.end_date:
            raise ContractError(
                f"cancel_date (last day of service) must be between {earliest} and {self.end_date}; got {self.cancel_date}"
            )

    @property
    def currency_info(self) -> Currency:
        return get_currency(self.currency)

    @property
    def total_days(self) -> int:
        """Days in the contracted service period, both ends included."""
        return (self.end_date - self.start_date).days + 1

    @property
    def billed_on(self) -> date:
        """The day the amount entered Deferred Revenue: ``billed_date``, or the start date when none was given."""
        return self.start_date if self.billed_date is None else self.billed_date

    @property
    def last_service_day(self) -> date:
        """The cancellation date when cancelled, otherwise the end date."""
        return self.end_date if self.cancel_date is None else self.cancel_date

    @property
    def has_service(self) -> bool:
        """False only for a contract cancelled before its first day of service."""
        return self.last_service_day >= self.start_date

    def formatted_amount(self) -> str:
        return format_amount(self.amount, self.currency, with_code=True)


def date_out_of_range(name: str, value: date) -> str | None:
    """Why ``value`` can't be a contract date, or None when it can."""
    if EARLIEST_DATE <= value <= LATEST_DATE:
        return None
    return f"{name} {value.isoformat()} is out of range; use a date between {EARLIEST_DATE} and {LATEST_DATE}"


def _check_text(name: str, value: str, max_length: int) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ContractError(f"{name} is empty")
    if len(value) > max_length:
        raise ContractError(f"{name} is longer than {max_length} characters")
