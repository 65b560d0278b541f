"""The house style for what people read: periods, money, people, times and counts, the same in every Slack surface,
page, CSV note and QuickBooks text. Pure functions; the builders and services use them rather than formatting by
hand.

- A period in a sentence is "Oct 2026" (``YYYY-MM`` only where someone types it, as a command's argument).
- Money is "46,812.52 USD": the amount in the currency's decimals with thousands separators, then the ISO code; a
  negative amount keeps its sign ("-129.17 USD").
- A person is their name with the Slack ID in brackets wherever Slack can't show a mention ("Bo Approver
  (U0APPROVE)"), never an ID alone; in Slack itself a mention.
- A time is "3 Nov 2026, 15:00 EST" in the workspace's time zone, with the zone's abbreviation.
- A count agrees with its noun ("1 contract", "2 contracts"), and "a"/"an" with the word it precedes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from deferredrev.revrec.money import format_amount, get_currency
from deferredrev.revrec.periods import Period

DEFAULT_TIME_ZONE = "UTC"
_VOWEL_SOUNDS = ("a", "e", "i", "o", "u")
_CONSONANT_SOUND_EXCEPTIONS = ("uni", "use", "usu", "one", "eur")  # "a unit", "a user", "a one-off", "a European"
_VOWEL_SOUND_EXCEPTIONS = ("hour", "honest", "heir")


def period(value: Period | str) -> str:
    """ "Oct 2026"."""
    return (Period.parse(value) if isinstance(value, str) else value).label


def money(amount_minor: int, currency: str) -> str:
    """ "46,812.52 USD", "-129.17 USD", "3,100,000 JPY"."""
    return f"{format_amount(amount_minor, get_currency(currency))} {currency}"


def money_list(amounts: Mapping[str, int]) -> str:
    """Several currencies, by code: "46,812.52 USD, 3,100,000 JPY" (zero amounts too: they were asked for)."""
    return ", ".join(money(amount, code) for code, amount in sorted(amounts.items())) or "nothing"


def change(current: int, previous: int, currency: str) -> str:
    """ "+1,234.56 USD (+2.7%)" against the previous amount; "new" percentages are left out when it was zero."""
    difference = current - previous
    sign = "+" if difference > 0 else ""
    text = f"{sign}{money(difference, currency)}"
    if previous:
        # A display ratio, rounded to one decimal: the amounts themselves stay exact integers.
        tenths = round(difference * 1000 / abs(previous))
        text += f" ({'+' if tenths > 0 else ''}{tenths / 10:.1f}%)"
    return text


def person(user_id: str | None, name: str | None = None) -> str:
    """For text Slack doesn't render (QuickBooks notes, CSVs, pages): "Bo Approver (U0APPROVE)"."""
    if not user_id:
        return name or "someone"
    return f"{name} ({user_id})" if name and name != user_id else user_id


def is_time_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def time_zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIME_ZONE)


def when(moment: datetime, zone: str | None = None) -> str:
    """ "3 Nov 2026, 15:00 EST" in ``zone`` (the workspace's time zone; UTC if unknown)."""
    local = moment.astimezone(time_zone(zone))
    return f"{local.day} {local:%b %Y, %H:%M} {local.tzname()}"


def day(value: date) -> str:
    """ "30 Nov 2026"."""
    return f"{value.day} {value:%b %Y}"


def count(number: int, noun: str, plural: str | None = None) -> str:
    """ "1 contract", "2 contracts", "1 entry", "3 entries"."""
    return f"{number:,} {noun if number == 1 else plural or _plural(noun)}"


def _plural(noun: str) -> str:
    if noun.endswith("y") and noun[-2:-1] not in _VOWEL_SOUNDS:
        return noun[:-1] + "ies"
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    return noun + "s"


def article(word: str) -> str:
    """ "an Income account", "a Liability account", "an hour", "a user"."""
    lower = word.lower()
    vowel = lower.startswith(_VOWEL_SOUNDS) and not lower.startswith(_CONSONANT_SOUND_EXCEPTIONS)
    return f"{'an' if vowel or lower.startswith(_VOWEL_SOUND_EXCEPTIONS) else 'a'} {word}"
