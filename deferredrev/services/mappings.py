"""Account mappings: the Deferred Revenue (liability) and Revenue (income) accounts, chosen from the live chart.

The chart of accounts is cached per company for a few minutes so that type-ahead (one options request per
keystroke, each of which must be answered within Slack's 3 seconds) filters in memory instead of asking QBO.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import SimpleNamespace

from deferredrev.clock import Clock
from deferredrev.qbo.models import Account
from deferredrev.services.qbo_access import QboGateway, connected
from deferredrev.storage.db import SessionFactory
from deferredrev.storage.models import AccountMapping
from deferredrev.storage.repositories import audit, connection_for

CHART_TTL = timedelta(minutes=5)
REALM_TTL_SECONDS = 5.0
MAX_OPTIONS = 100
OPTION_TEXT_LIMIT = 75

DEFERRED_REVENUE_TYPES = ("Other Current Liability", "Long Term Liability")
REVENUE_TYPES = ("Income", "Other Income")


class Role(StrEnum):
    DEFERRED_REVENUE = "deferred_revenue"
    REVENUE = "revenue"

    @property
    def allowed_types(self) -> tuple[str, ...]:
        return DEFERRED_REVENUE_TYPES if self is Role.DEFERRED_REVENUE else REVENUE_TYPES

    @property
    def label(self) -> str:
        return "Deferred Revenue account" if self is Role.DEFERRED_REVENUE else "Revenue account"

    @property
    def kind_words(self) -> str:
        return (
            "a liability account (Other Current Liability or Long Term Liability)"
            if self is Role.DEFERRED_REVENUE
            else ("an income account (Income or Other Income)")
        )


@dataclass(frozen=True)
class AccountOption:
    account_id: str
    text: str


@dataclass(frozen=True)
class Mapping:
    realm_id: str
    deferred_revenue_id: str
    deferred_revenue_name: str
    revenue_id: str
    revenue_name: str
    updated_by: str | None
    updated_at: datetime


def mapping_view(row: AccountMapping | SimpleNamespace | None) -> Mapping | None:
    """The mapping from the model or from the same attributes read without it."""
    if row is None:
        return None
    return Mapping(
        realm_id=row.realm_id,
        deferred_revenue_id=row.deferred_revenue_account_id,
        deferred_revenue_name=row.deferred_revenue_account_name,
        revenue_id=row.revenue_account_id,
        revenue_name=row.revenue_account_name,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )


class MappingError(Exception):
    """A choice was refused; ``field`` says which input to show the message on."""

    def __init__(self, role: Role, message: str) -> None:
        super().__init__(message)
        self.role = role


class ChartCache:
    """Charts of accounts by realm, for ``ttl``. Loads are single-flight per realm: the preload when the mappings
    modal opens and the first keystroke's type-ahead wait for one another instead of both reading QuickBooks. Each
    cached chart also keeps, per role, the accounts that role may use, ready to match (see :func:`role_choices`)."""

    def __init__(self, clock: Clock, ttl: timedelta = CHART_TTL) -> None:
        self._clock = clock
        self._ttl = ttl
        self._charts: dict[str, tuple[datetime, list[Account], dict[Role, list[Choice]]]] = {}
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}

    def load(self, realm_id: str, loader: Callable[[], list[Account]], *, fresh: bool = False) -> list[Account]:
        """The cached chart, or the one ``loader`` reads (once, however many ask at the same time)."""
        with self._lock:
            loading = self._loading.setdefault(realm_id, threading.Lock())
        with loading:
            cached = None if fresh else self.get(realm_id)
            if cached is not None:
                return cached
            accounts = loader()
            self.put(realm_id, accounts)
            return accounts

    def get(self, realm_id: str) -> list[Account] | None:
        cached = self._current(realm_id)
        return None if cached is None else cached[1]

    def choices(self, realm_id: str, role: Role) -> list[Choice] | None:
        """The cached chart's accounts for ``role``, prepared once per chart (None when no chart is cached)."""
        cached = self._current(realm_id)
        if cached is None:
            return None
        _, accounts, by_role = cached
        prepared = by_role.get(role)
        if prepared is None:
            prepared = role_choices(accounts, role)  # two first keystrokes may both prepare it: same result
            with self._lock:
                by_role[role] = prepared
        return prepared

    def put(self, realm_id: str, accounts: list[Account]) -> None:
        with self._lock:
            self._charts[realm_id] = (self._clock.now(), accounts, {})

    def drop(self, realm_id: str) -> None:
        with self._lock:
            self._charts.pop(realm_id, None)

    def _current(self, realm_id: str) -> tuple[datetime, list[Account], dict[Role, list[Choice]]] | None:
        with self._lock:
            cached = self._charts.get(realm_id)
        if cached is None or cached[0] + self._ttl < self._clock.now():
            return None
        return cached


def option_text(account: Account) -> str:
    label = f"{account.fully_qualified_name or account.name} · {account.account_type}"
    return label if len(label) <= OPTION_TEXT_LIMIT else label[: OPTION_TEXT_LIMIT - 1] + "…"


Choice = tuple[str, AccountOption]  # the account's full name, case-folded for matching, and its option


def role_choices(accounts: list[Account], role: Role) -> list[Choice]:
    """The active accounts of the role's types, in chart order, each ready to match and to show."""
    return [
        ((account.fully_qualified_name or account.name).casefold(), AccountOption(account.id, option_text(account)))
        for account in accounts
        if account.active and account.account_type in role.allowed_types
    ]


def search(accounts: list[Account], role: Role, typed: str, limit: int = MAX_OPTIONS) -> list[AccountOption]:
    """Accounts of the role's types whose name contains what was typed, prefix matches first, each group in chart
    order (the cache keeps the chart sorted by name, so a keystroke costs one pass and no sort)."""
    return search_choices(role_choices(accounts, role), typed, limit)


def search_choices(choices: list[Choice], typed: str, limit: int = MAX_OPTIONS) -> list[AccountOption]:
    needle = typed.strip().casefold()
    prefix: list[AccountOption] = []
    inside: list[AccountOption] = []
    for name, option in choices:
        if name.startswith(needle):
            prefix.append(option)
            if len(prefix) >= limit:
                break
        elif needle in name and len(inside) < limit:
            inside.append(option)
    return (prefix + inside)[:limit]


def by_name(accounts: list[Account]) -> list[Account]:
    return sorted(accounts, key=lambda a: (a.fully_qualified_name or a.name).casefold())


class MappingService:
    def __init__(self, *, sessions: SessionFactory, gateway: QboGateway, clock: Clock, cache: ChartCache) -> None:
        self._sessions = sessions
        self._gateway = gateway
        self._clock = clock
        self._cache = cache
        self._realms: dict[str, tuple[float, str]] = {}  # team -> (monotonic expiry, realm) for type-ahead only

    def current(self, team_id: str) -> Mapping | None:
        with self._sessions() as session:
            return mapping_view(session.get(AccountMapping, team_id))

    def chart(self, team_id: str, *, fresh: bool = False) -> list[Account]:
        realm_id = self._connected_realm(team_id)
        types = [*DEFERRED_REVENUE_TYPES, *REVENUE_TYPES]

        def read_chart() -> list[Account]:
            return by_name(list(self._gateway.client_for(team_id, realm_id).accounts(types=types)))

        return self._cache.load(realm_id, read_chart, fresh=fresh)

    def options(self, team_id: str, role: Role, typed: str) -> list[AccountOption]:
        """Type-ahead: one request per keystroke, answered from memory (the realm is re-read every few seconds)."""
        now = time.monotonic()
        known = self._realms.get(team_id)
        if known is None or known[0] < now:
            known = (now + REALM_TTL_SECONDS, self._connected_realm(team_id))
            self._realms[team_id] = known
        choices = self._cache.choices(known[1], role)
        if choices is None:
            choices = role_choices(self.chart(team_id), role)
        return search_choices(choices, typed)

    def save(self, team_id: str, *, deferred_revenue_id: str, revenue_id: str, user_id: str) -> Mapping:
        realm_id = self._connected_realm(team_id)
        client = self._gateway.client_for(team_id, realm_id)
        deferred = self._checked(client.account(deferred_revenue_id), Role.DEFERRED_REVENUE)
        revenue = self._checked(client.account(revenue_id), Role.REVENUE)
        now = self._clock.now()
        with self._sessions.begin() as session:
            row = session.get(AccountMapping, team_id, with_for_update=True)
            if row is None:
                row = AccountMapping(team_id=team_id)
                session.add(row)
            row.realm_id = realm_id
            row.deferred_revenue_account_id = deferred.id
            row.deferred_revenue_account_name = deferred.fully_qualified_name or deferred.name
            row.revenue_account_id = revenue.id
            row.revenue_account_name = revenue.fully_qualified_name or revenue.name
            row.updated_by = user_id
            row.updated_at = now
            audit(
                session,
                action="mappings.saved",
                now=now,
                team_id=team_id,
                actor=user_id,
                deferred_revenue=deferred.id,
                revenue=revenue.id,
            )
        self._cache.drop(realm_id)
        mapping = self.current(team_id)
        assert mapping is not None
        return mapping

    def _checked(self, account: Account, role: Role) -> Account:
        name = account.fully_qualified_name or account.name
        if not account.active:
            raise MappingError(role, f"{name} is inactive in QuickBooks. Pick an active account.")
        if account.account_type not in role.allowed_types:
            raise MappingError(
                role, f"{name} is a {account.account_type} account; the {role.label} must be {role.kind_words}."
            )
        return account

    def _connected_realm(self, team_id: str) -> str:
        with self._sessions() as session:
            return connected(connection_for(session, team_id), team_id).realm_id
