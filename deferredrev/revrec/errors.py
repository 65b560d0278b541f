"""Every error the accounting core raises, under one root.

RevrecError (a ValueError)
├── MoneyError
│   ├── UnknownCurrencyError      code not in the pinned ISO 4217 table, or a unit with no minor unit (XAU…)
│   └── InvalidAmountError        text that is not an amount, or out of range
│       └── ExcessPrecisionError  more decimals than the currency allows
├── PeriodError                   not a YYYY-MM period
├── ContractError                 a contract that cannot be scheduled (dates, amount, fields)
└── EntryError                    a journal entry that cannot be built
    └── UnbalancedEntryError      debits differ from credits (a bug, never user input)
"""

from __future__ import annotations


class RevrecError(ValueError):
    """Root of the accounting core's errors; messages are written for the person who supplied the input."""


class MoneyError(RevrecError):
    """A currency or an amount is not acceptable."""


class UnknownCurrencyError(MoneyError):
    """The currency code is not an active ISO 4217 code with a minor unit."""


class InvalidAmountError(MoneyError):
    """The text is not an amount we accept."""


class ExcessPrecisionError(InvalidAmountError):
    """The amount has more decimals than its currency allows."""


class PeriodError(RevrecError):
    """The text is not a calendar month in YYYY-MM form, or the month is out of range."""


class ContractError(RevrecError):
    """The contract's fields are inconsistent or out of range."""


class EntryError(RevrecError):
    """A journal entry cannot be built from these inputs."""


class UnbalancedEntryError(EntryError):
    """An entry's debits and credits differ; raised as a last check before a draft leaves the core."""
