"""The date the tests live on. No test reads the wall clock: "now" is a fixed moment, the same on every run, or one
of the calendar's awkward moments for the tests marked ``calendar`` (they run once at each of them).

``pytest --clock 2027-03-31T23:59:00Z`` moves the whole suite to another moment, to check it passes there too.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

# A quiet mid-month weekday: the day every unmarked test runs on.
DEFAULT_NOW = datetime(2026, 11, 18, 14, 30, tzinfo=UTC)

# The moments where date logic breaks: each test marked ``calendar`` runs at every one of them.
CALENDAR_NOWS = {
    "month-end": datetime(2026, 11, 30, 23, 30, tzinfo=UTC),  # December has begun in UTC+14, not yet in UTC
    "year-end": datetime(2026, 12, 31, 23, 59, 30, tzinfo=UTC),
    "new-year": datetime(2027, 1, 1, 0, 0, 30, tzinfo=UTC),
    "leap-day": datetime(2028, 2, 29, 12, 0, tzinfo=UTC),
    "first-of-month": datetime(2027, 3, 1, 9, 0, tzinfo=UTC),
}


def parse_clock(text: str) -> datetime:
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise pytest.UsageError(f"--clock needs a time zone (e.g. {text}Z), got {text!r}")
    return when.astimezone(UTC).replace(microsecond=0)
