"""Shared fixtures: a clean environment, a fresh migrated database per test (SQLite, or PostgreSQL when
TEST_DATABASE_URL points at a server), and encryption keys."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from datetime import datetime

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from deferredrev.clock import ManualClock
from deferredrev.settings import EncryptionKey
from deferredrev.storage.db import make_engine, make_session_factory, normalise_url, upgrade
from tests.calendar import CALENDAR_NOWS, DEFAULT_NOW, parse_clock

# CI explores the same examples every run (a red build must be reproducible); local runs keep exploring new ones.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock", default=None, metavar="ISO-TIME", help="the moment the tests live on (default: tests/calendar.py)"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked ``calendar`` run once at each of the calendar's awkward moments."""
    if metafunc.definition.get_closest_marker("calendar") and "now" in metafunc.fixturenames:
        metafunc.parametrize("now", list(CALENDAR_NOWS.values()), ids=list(CALENDAR_NOWS), indirect=True)


@pytest.fixture
def now(request: pytest.FixtureRequest) -> datetime:
    """The moment this test lives on: never the wall clock."""
    if hasattr(request, "param"):
        return request.param  # type: ignore[no-any-return]
    chosen = request.config.getoption("--clock")
    return parse_clock(chosen) if chosen else DEFAULT_NOW


@pytest.fixture
def clock(now: datetime) -> ManualClock:
    return ManualClock(now)


PREFIXES_TO_CLEAN = ("SLACK_", "QBO_", "DEFERREDREV_", "DATABASE_URL", "PUBLIC_URL", "PORT")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No configuration leaks into a test from the machine it runs on."""
    for name in list(os.environ):
        if name.startswith(PREFIXES_TO_CLEAN):
            monkeypatch.delenv(name, raising=False)


def make_key(key_id: str, fill: int | None = None) -> EncryptionKey:
    raw = bytes([fill]) * 32 if fill is not None else os.urandom(32)
    return EncryptionKey(key_id=key_id, key=raw)


def key_env(*keys: EncryptionKey) -> str:
    return ",".join(f"{k.key_id}:{base64.b64encode(k.key).decode()}" for k in keys)


def _postgres_server_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL", "")
    return url if url.startswith("postgres") else None


@pytest.fixture
def database_url(tmp_path: object) -> Iterator[str]:
    """A fresh, empty database for this test: a temp SQLite file, or a new database on TEST_DATABASE_URL's server."""
    server = _postgres_server_url()
    if server is None:
        yield f"sqlite:///{tmp_path}/test.db"
        return
    name = f"deferredrev_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(server), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(normalise_url(server)).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine):  # type: ignore[no-untyped-def]
    return make_session_factory(engine)
