from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, create_engine, inspect, select, text

from deferredrev.storage.db import MigrationNeedsKeysError, downgrade, make_engine, upgrade
from deferredrev.storage.models import AppendOnlyError, AuditEvent, Contract, Workspace
from deferredrev.storage.repositories import audit
from deferredrev.storage.slack_store import SealedInstallationStore, open_token
from deferredrev.storage.vault import SlackTokenIdentity, TokenVault
from tests.conftest import make_key
from tests.storage.slack_legacy import CLIENT_ID, ColumnOnlyIdentity, save_the_old_way, tokens_of

EXPECTED_TABLES = {
    "workspaces",
    "qbo_connections",
    "oauth_states",
    "account_mappings",
    "contracts",
    "previews",
    "journal_entries",
    "journal_entry_lines",
    "audit_log",
    "entry_recognitions",
    "entry_evidence",
    "slack_installations",
    "slack_bots",
    "slack_oauth_states",
    "alembic_version",
}


def test_migrations_run_up_down_and_up_again(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        assert EXPECTED_TABLES <= set(inspect(engine).get_table_names())
        downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        assert EXPECTED_TABLES <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_datetimes_are_timezone_aware_and_money_is_integer(sessions) -> None:  # type: ignore[no-untyped-def]
    paris = timezone(timedelta(hours=1))
    created = datetime(2026, 3, 31, 23, 30, tzinfo=paris)
    with sessions.begin() as session:
        session.add(Workspace(team_id="T1", plan="growth", approvers=["U1"], created_at=created, updated_at=created))
        session.flush()
        session.add(
            Contract(
                team_id="T1",
                contract_id="C-1",
                customer="Acme",
                amount_minor=10**15,
                currency="USD",
                start_date=date(2026, 1, 1),
                end_date=date(2026, 12, 31),
                created_at=created,
                updated_at=created,
            )
        )
    with sessions() as session:
        workspace = session.get(Workspace, "T1")
        assert workspace is not None
        assert workspace.created_at == created
        assert workspace.created_at.tzinfo is not None
        assert workspace.approvers == ["U1"]
        contract = session.scalars(select(Contract)).one()
        assert contract.amount_minor == 10**15 and isinstance(contract.amount_minor, int)


def test_naive_datetimes_are_refused(sessions) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Exception, match="naive datetime"), sessions.begin() as session:
        session.add(Workspace(team_id="T1", plan="growth", approvers=[], created_at=datetime(2026, 1, 1)))
        session.flush()


def test_audit_log_is_append_only(sessions, now: datetime) -> None:  # type: ignore[no-untyped-def]
    with sessions.begin() as session:
        audit(session, action="test.event", now=now, team_id="T1", actor="U1", detail="x")
    with pytest.raises(AppendOnlyError), sessions.begin() as session:
        event = session.scalars(select(AuditEvent)).one()
        event.action = "tampered"
    with pytest.raises(AppendOnlyError), sessions.begin() as session:
        session.delete(session.scalars(select(AuditEvent)).one())
    with sessions() as session:
        assert session.scalars(select(AuditEvent)).one().action == "test.event"


def test_models_and_migrations_agree(engine) -> None:  # type: ignore[no-untyped-def]
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from deferredrev.storage.models import Base

    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    ours = [d for d in differences if "slack_" not in str(d)]  # slack_sdk's store tables are not in our metadata
    assert ours == []


# --- 0007: Slack tokens bound to their installation -------------------------------------------------------------------


@pytest.fixture
def raw_engine(database_url: str) -> Iterator[Engine]:
    """An engine on an empty database: each test migrates it to where it starts."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    from deferredrev.storage.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config(create_engine("sqlite://"))).get_current_head()
    assert head is not None
    return head


def revision_of(engine: Engine) -> str:
    with engine.connect() as raw:
        return str(raw.execute(text("SELECT version_num FROM alembic_version")).scalar_one())


def slack_token_columns(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as raw:
        bots = raw.execute(text("SELECT id, bot_token, bot_refresh_token FROM slack_bots ORDER BY id")).all()
        installs = raw.execute(text("SELECT id, bot_token, user_token FROM slack_installations ORDER BY id")).all()
    return [tuple(row) for row in [*bots, *installs]]


def test_0007_reseals_tokens_sealed_the_old_way_and_the_store_reads_them(raw_engine: Engine, now: datetime) -> None:
    vault = TokenVault([make_key("k1")])
    upgrade(raw_engine, "0006")
    save_the_old_way(raw_engine, vault, team_id="T0AAA", now=now)
    save_the_old_way(raw_engine, vault, team_id=None, enterprise_id="E0ORG", now=now)  # org-wide Grid install

    upgrade(raw_engine, vault=vault)

    store = SealedInstallationStore(client_id=CLIENT_ID, engine=raw_engine, vault=vault)
    workspace = store.find_installation(enterprise_id=None, team_id="T0AAA")
    assert workspace is not None
    assert {"bot_token": workspace.bot_token, "bot_refresh_token": workspace.bot_refresh_token,
            "user_token": workspace.user_token} == tokens_of("T0AAA")  # fmt: skip
    org = store.find_bot(enterprise_id="E0ORG", team_id="T0XYZ", is_enterprise_install=True)
    assert org is not None and org.bot_token == tokens_of("org")["bot_token"]

    downgrade(raw_engine, "0006", vault=vault)  # and back: sealed under the column alone again
    with raw_engine.connect() as raw:
        stored = raw.execute(text("SELECT bot_token FROM slack_bots WHERE team_id = 'T0AAA'")).scalar_one()
    opened = vault.decrypt(base64.b64decode(stored), ColumnOnlyIdentity("bot_token"))
    assert opened == tokens_of("T0AAA")["bot_token"]


def test_0007_without_keys_refuses_and_leaves_the_database_at_0006(raw_engine: Engine, now: datetime) -> None:
    vault = TokenVault([make_key("k1")])
    upgrade(raw_engine, "0005")
    save_the_old_way(raw_engine, vault, team_id="T0AAA", now=now)
    before = slack_token_columns(raw_engine)

    with pytest.raises(MigrationNeedsKeysError, match="DEFERREDREV_ENCRYPTION_KEYS") as refused:
        upgrade(raw_engine)

    assert "2 installation row(s)" in str(refused.value) and "stays at 0006" in str(refused.value)
    assert "canary" not in str(refused.value)
    assert revision_of(raw_engine) == "0006"  # 0006 went through in its own transaction
    assert "batch_request_id" in {c["name"] for c in inspect(raw_engine).get_columns("journal_entries")}
    assert slack_token_columns(raw_engine) == before
    upgrade(raw_engine, "0007", vault=vault)  # with the keys, it goes through
    assert revision_of(raw_engine) == "0007"


def test_0007_without_keys_on_empty_tables_needs_none(raw_engine: Engine) -> None:
    upgrade(raw_engine, "0007")
    assert revision_of(raw_engine) == "0007"


def test_0007_refuses_when_a_token_names_a_key_the_keyring_lacks(raw_engine: Engine, now: datetime) -> None:
    upgrade(raw_engine, "0006")
    save_the_old_way(raw_engine, TokenVault([make_key("gone")]), team_id="T0AAA", now=now)
    with pytest.raises(MigrationNeedsKeysError, match="'gone'"):
        upgrade(raw_engine, vault=TokenVault([make_key("k1")]))
    assert revision_of(raw_engine) == "0006"


def test_0007_leaves_a_token_damaged_before_it_as_it_was(
    raw_engine: Engine, now: datetime, caplog: pytest.LogCaptureFixture
) -> None:
    vault = TokenVault([make_key("k1")])
    upgrade(raw_engine, "0006")
    save_the_old_way(raw_engine, vault, team_id="T0AAA", now=now)
    save_the_old_way(raw_engine, vault, team_id="T0BBB", now=now)
    with raw_engine.begin() as raw:
        raw.execute(text("UPDATE slack_bots SET bot_token = 'not-a-vault-ciphertext' WHERE team_id = 'T0BBB'"))
    caplog.set_level(logging.WARNING)

    upgrade(raw_engine, vault=vault)

    assert any("slack_bots row" in r.getMessage() and "bot_token does not open" in r.getMessage() for r in caplog.records)
    store = SealedInstallationStore(client_id=CLIENT_ID, engine=raw_engine, vault=vault)
    assert store.find_bot(enterprise_id=None, team_id="T0BBB") is None  # unusable before, unusable now
    found = store.find_bot(enterprise_id=None, team_id="T0AAA")
    assert found is not None and found.bot_token == tokens_of("T0AAA")["bot_token"]
    with raw_engine.connect() as raw:  # the row's other token was resealed
        refresh = raw.execute(text("SELECT bot_refresh_token FROM slack_bots WHERE team_id = 'T0BBB'")).scalar_one()
    bound = SlackTokenIdentity(CLIENT_ID, None, "T0BBB", "bot_refresh_token")
    assert open_token(vault, refresh, bound) == tokens_of("T0BBB")["bot_refresh_token"]
