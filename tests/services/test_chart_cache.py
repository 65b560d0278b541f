from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from deferredrev.clock import ManualClock
from deferredrev.qbo.models import Account
from deferredrev.services.mappings import ChartCache, Role, search, search_choices
from tests.services.test_mappings_search import CHART as SEARCH_CHART
from tests.services.test_mappings_search import account

CHART = [account("1", "Deferred Revenue", "Other Current Liability")]


def test_concurrent_loads_of_one_realm_read_quickbooks_once() -> None:
    cache = ChartCache(ManualClock(datetime(2026, 11, 25, tzinfo=UTC)))
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def slow_loader() -> list[Account]:
        calls.append("read")
        started.set()
        release.wait(5)
        return CHART

    results: list[list[Account]] = []
    first = threading.Thread(target=lambda: results.append(cache.load("R1", slow_loader)))
    first.start()
    assert started.wait(5)
    second = threading.Thread(target=lambda: results.append(cache.load("R1", slow_loader)))
    second.start()
    release.set()
    first.join(5)
    second.join(5)
    assert calls == ["read"]
    assert results == [CHART, CHART]


def test_fresh_and_expired_loads_read_again() -> None:
    clock = ManualClock(datetime(2026, 11, 25, tzinfo=UTC))
    cache = ChartCache(clock, ttl=timedelta(minutes=10))
    calls: list[str] = []

    def loader() -> list[Account]:
        calls.append("read")
        return CHART

    cache.load("R1", loader)
    cache.load("R1", loader)
    cache.load("R1", loader, fresh=True)
    clock.advance(timedelta(minutes=11))
    cache.load("R1", loader)
    assert calls == ["read", "read", "read"]
    assert cache.load("R2", loader) == CHART and len(calls) == 4


def test_each_cached_chart_prepares_a_roles_choices_once() -> None:
    clock = ManualClock(datetime(2026, 11, 25, tzinfo=UTC))
    cache = ChartCache(clock, ttl=timedelta(minutes=10))
    assert cache.choices("R1", Role.REVENUE) is None  # nothing cached: the caller loads the chart
    cache.put("R1", SEARCH_CHART)
    revenue = cache.choices("R1", Role.REVENUE)
    assert revenue is not None and cache.choices("R1", Role.REVENUE) is revenue  # prepared once, then reused
    assert [o.account_id for o in search_choices(revenue, "")] == [
        o.account_id for o in search(SEARCH_CHART, Role.REVENUE, "")
    ]
    assert {option.account_id for _, option in revenue} == {"5", "6", "7", "10"}  # active accounts of the role's types
    deferred = cache.choices("R1", Role.DEFERRED_REVENUE)
    assert deferred is not None and {option.account_id for _, option in deferred} == {"1", "2", "3"}
    cache.put("R1", CHART)  # a new chart brings new choices
    assert [option.account_id for _, option in cache.choices("R1", Role.DEFERRED_REVENUE) or []] == ["1"]
    clock.advance(timedelta(minutes=11))
    assert cache.choices("R1", Role.DEFERRED_REVENUE) is None  # expired with its chart
