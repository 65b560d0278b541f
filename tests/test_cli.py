"""The console script, run as a user would: a subprocess started from an unrelated working directory."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import select, text

from deferredrev.logs import SecretRegistry
from deferredrev.settings import parse_encryption_keys
from deferredrev.storage.db import make_engine, make_session_factory, upgrade
from deferredrev.storage.models import AuditEvent, QboConnection, Workspace
from deferredrev.storage.slack_store import SealedInstallationStore
from deferredrev.storage.tokens import NewTokens, TokenStore
from deferredrev.storage.vault import TokenVault
from tests.storage.slack_legacy import CLIENT_ID, save_the_old_way, tokens_of

SCRIPT = Path(sys.executable).with_name("deferredrev")


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "QBO_", "DEFERREDREV_", "DATABASE_URL"))}
    return subprocess.run([str(SCRIPT), *args], env={**base, **env}, cwd=cwd, capture_output=True, text=True, timeout=60)


def test_keys_generate_prints_a_usable_key(tmp_path: Path) -> None:
    result = run(["keys", "generate", "--id", "k2026"], {}, tmp_path)
    assert result.returncode == 0
    keys = parse_encryption_keys(result.stdout.strip())
    assert keys[0].key_id == "k2026" and len(keys[0].key) == 32


def test_db_upgrade_from_any_directory(tmp_path: Path) -> None:
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    result = run(["db", "upgrade"], {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}, elsewhere)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "x.db").exists()


def test_serve_without_a_key_fails_fast_and_stores_nothing(tmp_path: Path) -> None:
    db = tmp_path / "never.db"
    result = run(["serve"], {"DATABASE_URL": f"sqlite:///{db}", "SLACK_SIGNING_SECRET": "s" * 32}, tmp_path)
    assert result.returncode == 2
    assert "DEFERREDREV_ENCRYPTION_KEYS is required" in result.stderr
    assert not db.exists()


def test_serve_with_a_wrong_length_key_fails_fast(tmp_path: Path) -> None:
    db = tmp_path / "never.db"
    env = {"DATABASE_URL": f"sqlite:///{db}", "DEFERREDREV_ENCRYPTION_KEYS": "k1:c2hvcnQta2V5", "SLACK_SIGNING_SECRET": "s"}
    result = run(["serve"], env, tmp_path)
    assert result.returncode == 2
    assert "32-byte key" in result.stderr and "c2hvcnQta2V5" not in result.stderr
    assert not db.exists()


def test_plan_set_records_the_plan_and_an_audit_event(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    result = run(["plan", "set", "T0123", "starter"], {"DATABASE_URL": url}, tmp_path)
    assert result.returncode == 0, result.stderr
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        workspace = session.get(Workspace, "T0123")
        assert workspace is not None and workspace.plan == "starter"
        assert session.scalars(select(AuditEvent.action)).all() == ["plan.set"]
    engine.dispose()


def test_keys_rotate_reencrypts_rows_and_reports_the_count(tmp_path: Path, now: datetime) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    old = run(["keys", "generate", "--id", "old"], {}, tmp_path).stdout.strip()
    new = run(["keys", "generate", "--id", "new"], {}, tmp_path).stdout.strip()
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    store = TokenStore(TokenVault(parse_encryption_keys(old)), SecretRegistry())
    with sessions.begin() as session:
        session.add(Workspace(team_id="T1", plan="growth", approvers=[], created_at=now, updated_at=now))
        session.flush()
        connection = QboConnection(team_id="T1", realm_id="123", status="connected", version=0)
        session.add(connection)
        tokens = NewTokens("eyJaccess.x", "RT1-canary", now + timedelta(hours=1), now + timedelta(days=100), None)
        store.seal(connection, tokens, now=now)
    slack = SealedInstallationStore(client_id=CLIENT_ID, engine=engine, vault=TokenVault(parse_encryption_keys(old)))
    for team in ("T0AAA", "T0BBB"):
        slack.save(
            Installation(
                app_id="A1", team_id=team, user_id="U1", bot_token=f"xoxb-canary-{team}", installed_at=now.timestamp()
            )
        )
    result = run(["keys", "rotate"], {"DATABASE_URL": url, "DEFERREDREV_ENCRYPTION_KEYS": f"{new},{old}"}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "re-encrypted 1 connection(s) and 4 Slack installation row(s) under key 'new'" in result.stdout
    new_vault = TokenVault(parse_encryption_keys(new))
    only_new = TokenStore(new_vault, SecretRegistry())
    with sessions() as session:
        opened = only_new.open(session.scalars(select(QboConnection)).one())
        assert opened is not None and opened.refresh_token == "RT1-canary"
    slack_with_only_new = SealedInstallationStore(client_id=CLIENT_ID, engine=engine, vault=new_vault)
    for team in ("T0AAA", "T0BBB"):  # each still bound to its own workspace
        bot = slack_with_only_new.find_bot(enterprise_id=None, team_id=team)
        installed = slack_with_only_new.find_installation(enterprise_id=None, team_id=team)
        assert bot is not None and bot.bot_token == f"xoxb-canary-{team}"
        assert installed is not None and installed.bot_token == f"xoxb-canary-{team}"
    engine.dispose()


def test_db_upgrade_reseals_slack_tokens_with_keys_and_refuses_without(tmp_path: Path, now: datetime) -> None:
    url = f"sqlite:///{tmp_path / 'u.db'}"
    key = run(["keys", "generate", "--id", "k1"], {}, tmp_path).stdout.strip()
    vault = TokenVault(parse_encryption_keys(key))
    engine = make_engine(url)
    upgrade(engine, "0006")
    save_the_old_way(engine, vault, team_id="T0AAA", now=now)

    refused = run(["db", "upgrade"], {"DATABASE_URL": url}, tmp_path)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "database not upgraded" in refused.stderr and "set DEFERREDREV_ENCRYPTION_KEYS" in refused.stderr
    with engine.connect() as raw:
        assert raw.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0006"

    upgraded = run(["db", "upgrade"], {"DATABASE_URL": url, "DEFERREDREV_ENCRYPTION_KEYS": key}, tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    found = SealedInstallationStore(client_id=CLIENT_ID, engine=engine, vault=vault).find_bot(
        enterprise_id=None, team_id="T0AAA"
    )
    assert found is not None and found.bot_token == tokens_of("T0AAA")["bot_token"]
    engine.dispose()


def test_unknown_command_shows_help(tmp_path: Path) -> None:
    result = run(["db"], {}, tmp_path)
    assert result.returncode != 0
    assert "deferredrev db --help" in result.stderr
