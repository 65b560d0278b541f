"""Accounting periods: calendar months, written YYYY-MM."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from deferredrev.revrec.errors import PeriodError

_PERIOD = re.compile(r"(\d{4})-(\d{2})", re.ASCII)
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_MONTH_ABBREVIATIONS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True, order=True, slots=True)
class Period:
    """One calendar month. Ordered by time; ``str()`` gives "2026-10"."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise PeriodError(f"month must be between 1 and 12; got {self.month}")
        if not 1 <= self.year <= 9999:
            raise PeriodError(f"year must be between 1 and 9999; got {self.year}")

    @classmethod
    def parse(cls, text: str) -> Period:
        """A period from strict "YYYY-MM" text, e.g. "2026-10"."""
        match = _PERIOD.fullmatch(text.strip())
        if match is None:
            raise PeriodError(f"period must look like YYYY-MM, e.g. 2026-10; got {text!r}")
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12:
            raise PeriodError(f"month must be between 01 and 12; got {text!r}")
        return cls(year, month)

    @classmethod
    def of(cls, day: date) -> Period:
        return cls(day.year, day.month)

    @classmethod
    def from_index(cls, index: int) -> Period:
        """Inverse of ``index``."""
        year, month0 = divmod(index, 12)
        return cls(year, month0 + 1)

    @classmethod
    def range(cls, first: Period, last: Period) -> list[Period]:
        """Every period from ``first`` to ``last`` inclusive; empty when ``last`` is before ``first``."""
        return [cls.from_index(index) for index in range(first.index, last.index + 1)]

    @property
    def index(self) -> int:
        """Months since year 0: consecutive periods have consecutive indexes."""
        return self.year * 12 + self.month - 1

    @property
    def days(self) -> int:
        return days_in_month(self.year, self.month)

    @property
    def start(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def end(self) -> date:
        """The last day of the month."""
        return date(self.year, self.month, self.days)

    @property
    def label(self) -> str:
        """Short human form for descriptions: "Oct 2026"."""
        return f"{_MONTH_ABBREVIATIONS[self.month - 1]} {self.year}"

    def next(self) -> Period:
        return Period.from_index(self.index + 1)

    def previous(self) -> Period:
        return Period.from_index(self.index - 1)

    def contains(self, day: date) -> bool:
        return day.year == self.year and day.month == self.month

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def days_in_month(year: int, month: int) -> int:
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _DAYS_IN_MONTH[month - 1]


def describe_periods(periods: list[Period]) -> str:
    """Name a set of periods compactly, runs joined: "Jan–Mar 2024", "Nov 2023–Feb 2024, Jun 2024"."""
    runs: list[tuple[Period, Period]] = []
    for period in sorted(set(periods)):
        if runs and runs[-1][1].index + 1 == period.index:
            runs[-1] = (runs[-1][0], period)
        else:
            runs.append((period, period))
    return ", ".join(_describe_run(first, last) for first, last in runs)


def _describe_run(first: Period, last: Period) -> str:
    if first == last:
        return first.label
    if first.year == last.year:
        return f"{_MONTH_ABBREVIATIONS[first.month - 1]}–{last.label}"
    return f"{first.label}–{last.label}"
