"""Money as an integer count of a currency's minor units, with a pinned ISO 4217 exponent table.

The table is pinned to ISO 4217 List One as published in early 2025 (the version Firefox generated on
2025-02-04, see reference/revrec.md §3). Codes with no minor unit (precious metals, SDR, bond-market units,
test and "no currency" codes, and the SUCRE/ADB accounting units) are refused: revenue is never recognised
in them. Any code not in the table is refused too, so a typo such as "ABC" or a withdrawn code such as "HRK"
fails loudly instead of silently getting two decimals.

Parsing and formatting never go through floats: text is split into digits and converted with ``int``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from deferredrev.revrec.errors import ExcessPrecisionError, InvalidAmountError, UnknownCurrencyError

ISO_4217_VERSION = "ISO 4217 List One, 2025-02 (Firefox CurrencyDataGenerated.js 2025-02-04)"

ZERO_DECIMAL_CODES = frozenset("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split())
THREE_DECIMAL_CODES = frozenset("BHD IQD JOD KWD LYD OMR TND".split())
FOUR_DECIMAL_CODES = frozenset("CLF UYW".split())
NO_MINOR_UNIT_CODES = frozenset("XAG XAU XBA XBB XBC XBD XDR XPD XPT XSU XTS XUA XXX".split())
TWO_DECIMAL_CODES = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD
    CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP
    GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL
    MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN
    QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD
    TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG
    """.split()
)

# Large enough for any real contract, small enough for a signed 64-bit column.
MAX_MINOR_UNITS = 10**18 - 1


@dataclass(frozen=True, slots=True)
class Currency:
    code: str
    exponent: int

    @property
    def scale(self) -> int:
        """Minor units per major unit: 100 for USD, 1 for JPY, 1000 for KWD."""
        return int(10**self.exponent)

    def __str__(self) -> str:
        return self.code


def _build_table() -> dict[str, Currency]:
    by_exponent = {0: ZERO_DECIMAL_CODES, 2: TWO_DECIMAL_CODES, 3: THREE_DECIMAL_CODES, 4: FOUR_DECIMAL_CODES}
    return {code: Currency(code, exponent) for exponent, codes in by_exponent.items() for code in codes}


CURRENCIES: dict[str, Currency] = _build_table()


def get_currency(code: str) -> Currency:
    """The currency for an ISO 4217 alphabetic code (exact, upper case); refuses unknown and unit-less codes."""
    currency = CURRENCIES.get(code)
    if currency is not None:
        return currency
    if code in NO_MINOR_UNIT_CODES:
        raise UnknownCurrencyError(f"{code} has no minor unit in ISO 4217; revenue cannot be recognised in it")
    if not code:
        raise UnknownCurrencyError("currency is empty; expected an ISO 4217 code such as USD")
    raise UnknownCurrencyError(f"unknown currency {code!r}; expected an active ISO 4217 code such as USD, EUR or JPY")


def is_known_currency(code: str) -> bool:
    return code in CURRENCIES


_AMOUNT = re.compile(r"([+-]?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?", re.ASCII)
_EXPONENT = re.compile(r"[+-]?[\d.,]*\d[eE][+-]?\d+", re.ASCII)
_NOT_FINITE = frozenset({"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"})


def parse_amount(text: str, currency: Currency | str) -> int:
    """Minor units for an amount written in major units: "1,200.50" USD -> 120050.

    Accepts an optional sign, digits with optional comma thousands separators (in groups of three) and up to
    the currency's number of decimals. Refuses anything else with a message naming what is wrong.
    """
    currency = _as_currency(currency)
    stripped = text.strip()
    if not stripped:
        raise InvalidAmountError("amount is empty")
    match = _AMOUNT.fullmatch(stripped)
    if match is None:
        raise InvalidAmountError(_why_not_an_amount(stripped))
    sign, whole, fraction = match.group(1), match.group(2).replace(",", ""), match.group(3) or ""
    if len(fraction) > currency.exponent:
        raise ExcessPrecisionError(_excess_precision_message(currency, stripped))
    minor = int(whole) * currency.scale + int(fraction.ljust(currency.exponent, "0") or "0")
    if minor > MAX_MINOR_UNITS:
        raise InvalidAmountError(f"amount {stripped} is too large")
    return -minor if sign == "-" else minor


def _why_not_an_amount(text: str) -> str:
    if text.lower() in _NOT_FINITE:
        return f"not a number: {text!r}; expected an amount such as 1200.50"
    if _EXPONENT.fullmatch(text):
        return f"exponents are not allowed: {text!r}; write the amount out in full, such as 1200.50"
    return f"not an amount: {text!r}; expected digits with an optional sign, decimals and comma thousands separators"


def _excess_precision_message(currency: Currency, text: str) -> str:
    if currency.exponent == 0:
        return f"{currency.code} has no decimals; got {text}"
    return f"{currency.code} allows at most {currency.exponent} decimals; got {text}"


def format_amount(minor: int, currency: Currency | str, *, with_code: bool = False, thousands: bool = True) -> str:
    """Major-unit text for a minor-unit amount: 120050 USD -> "1,200.50" (or "USD 1,200.50" with the code)."""
    currency = _as_currency(currency)
    whole, fraction = divmod(abs(minor), currency.scale)
    text = f"{whole:,}" if thousands else str(whole)
    if currency.exponent:
        text += "." + str(fraction).rjust(currency.exponent, "0")
    if minor < 0:
        text = "-" + text
    return f"{currency.code} {text}" if with_code else text


def to_decimal(minor: int, currency: Currency | str) -> Decimal:
    """The exact major-unit Decimal for a minor-unit amount, keeping the currency's decimals: 120050 -> 1200.50."""
    currency = _as_currency(currency)
    digits = tuple(int(digit) for digit in str(abs(minor)))
    return Decimal((1 if minor < 0 else 0, digits, -currency.exponent))


def _as_currency(currency: Currency | str) -> Currency:
    return currency if isinstance(currency, Currency) else get_currency(currency)
