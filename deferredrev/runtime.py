"""The wiring every entry point shares: settings -> secrets registry -> engine -> vault -> token store."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from deferredrev.clock import Clock, SystemClock
from deferredrev.logs import SecretRegistry
from deferredrev.settings import Settings
from deferredrev.storage.db import SessionFactory, make_engine, make_session_factory, upgrade
from deferredrev.storage.tokens import TokenStore
from deferredrev.storage.vault import TokenVault


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    secrets: SecretRegistry
    engine: Engine
    sessions: SessionFactory
    vault: TokenVault
    tokens: TokenStore
    clock: Clock

    def close(self) -> None:
        self.engine.dispose()


def build_runtime(
    settings: Settings, *, secrets: SecretRegistry | None = None, clock: Clock | None = None, migrate: bool = False
) -> Runtime:
    registry = secrets or SecretRegistry()
    registry.add(*settings.secret_values())
    engine = make_engine(settings.database_url)
    vault = TokenVault(settings.encryption_keys)
    if migrate:
        upgrade(engine, vault=vault)
    return Runtime(
        settings=settings,
        secrets=registry,
        engine=engine,
        sessions=make_session_factory(engine),
        vault=vault,
        tokens=TokenStore(vault, registry),
        clock=clock or SystemClock(),
    )
