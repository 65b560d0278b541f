"""Engine, sessions and migrations. The migrations live inside the package, so this works from any directory."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

    from deferredrev.storage.vault import TokenVault

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

SessionFactory = sessionmaker[Session]


def normalise_url(url: str) -> str:
    """Let users write ``postgresql://``; we speak psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


SQLITE_POOL_SIZE = 48  # HTTP threads (16) and listener threads (32)


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        # Enough pooled connections for every request and listener thread: a connection opened past the pool is
        # closed again on return, and reopening one (file, pragmas, schema) costs more than the read it serves.
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=SQLITE_POOL_SIZE, max_overflow=16
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_session_factory(engine: Engine) -> SessionFactory:
    return sessionmaker(engine, expire_on_commit=False)


class MigrationNeedsKeysError(Exception):
    """A migration must re-encrypt stored tokens and lacks the keys to: it changed nothing, the message says what to set."""


def alembic_config(engine: Engine, vault: TokenVault | None = None) -> Config:
    """Alembic's configuration; migrations that re-encrypt tokens find the vault in ``config.attributes["vault"]``."""
    from alembic.config import Config  # imported when migrating only: it is ~10 MB a replica need not carry

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    config.attributes["vault"] = vault
    return config


def upgrade(engine: Engine, revision: str = "head", *, vault: TokenVault | None = None) -> None:
    """Apply migrations up to ``revision`` (default: the newest), each in its own transaction.

    ``vault`` is needed only when a migration re-encrypts stored tokens; without it such a migration raises
    :class:`MigrationNeedsKeysError` if there are tokens to re-encrypt, leaving the database at the revision before it.
    """
    from alembic import command

    command.upgrade(alembic_config(engine, vault), revision)


def downgrade(engine: Engine, revision: str, *, vault: TokenVault | None = None) -> None:
    from alembic import command

    command.downgrade(alembic_config(engine, vault), revision)
