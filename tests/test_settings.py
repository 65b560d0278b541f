from __future__ import annotations

import pytest

from deferredrev.settings import Plan, QboEnvironment, Settings, SettingsError, parse_encryption_keys
from tests.conftest import key_env, make_key


def test_defaults_follow_the_design() -> None:
    settings = Settings.from_env({"DEFERREDREV_ENCRYPTION_KEYS": key_env(make_key("k1"))})
    assert settings.database_url == "sqlite:///deferredrev.db"
    assert settings.port == 3000
    assert settings.public_url == "http://localhost:3000"
    assert settings.qbo_redirect_uri == "http://localhost:3000/qbo/callback"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.qbo_environment is QboEnvironment.SANDBOX
    assert settings.default_plan is Plan.GROWTH


def test_redirect_uri_follows_public_url() -> None:
    env = {"DEFERREDREV_ENCRYPTION_KEYS": key_env(make_key("k1")), "PUBLIC_URL": "https://revrec.example.com/"}
    assert Settings.from_env(env).qbo_redirect_uri == "https://revrec.example.com/qbo/callback"


def test_missing_key_fails_fast_with_instructions() -> None:
    with pytest.raises(SettingsError, match="deferredrev keys generate"):
        Settings.from_env({})


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("k1:" + "QUJD", "decodes to 3 bytes"),
        ("k1:not base64!!", "not valid base64"),
        ("nocolon", "id:base64key"),
        ("bad id!:AAAA", "id:base64key"),
    ],
)
def test_malformed_keys_are_refused_without_echoing_them(raw: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message) as caught:
        parse_encryption_keys(raw)
    secret_part = raw.partition(":")[2]
    if len(secret_part) > 3:
        assert secret_part not in str(caught.value)


def test_duplicate_key_ids_are_refused() -> None:
    key = make_key("k1")
    with pytest.raises(SettingsError, match="appears twice"):
        parse_encryption_keys(key_env(key, key))


def test_first_key_is_primary() -> None:
    keys = parse_encryption_keys(key_env(make_key("new"), make_key("old")))
    assert [k.key_id for k in keys] == ["new", "old"]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PORT", "http", "PORT must be a number"),
        ("QBO_ENVIRONMENT", "staging", "sandbox, production"),
        ("DEFERREDREV_DEFAULT_PLAN", "gold", "starter, growth, scale"),
        ("PUBLIC_URL", "localhost:3000", "PUBLIC_URL must be an http"),
        ("SLACK_BOT_TOKEN", "xoxp-user-token", "SLACK_BOT_TOKEN should start with xoxb-"),
        ("DEFERREDREV_ADMINS", "U123ABC,alice", "not valid: alice"),
        ("DEFERREDREV_ADMINS", "T1:U123ABC", "not valid: T1:U123ABC"),
        ("DEFERREDREV_ADMINS", "T0AB1:U123ABC:X", "not valid"),
    ],
)
def test_malformed_values_name_the_variable(name: str, value: str, message: str) -> None:
    env = {"DEFERREDREV_ENCRYPTION_KEYS": key_env(make_key("k1")), name: value}
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_settings_repr_hides_secrets() -> None:
    env = {
        "DEFERREDREV_ENCRYPTION_KEYS": key_env(make_key("k1")),
        "SLACK_SIGNING_SECRET": "canary-signing-secret-123",
        "QBO_CLIENT_SECRET": "canary-qbo-secret-456",
        "SLACK_BOT_TOKEN": "xoxb-canary-789",
    }
    settings = Settings.from_env(env)
    shown = repr(settings)
    for secret in ("canary-signing-secret-123", "canary-qbo-secret-456", "xoxb-canary-789"):
        assert secret not in shown
        assert secret in settings.secret_values()


def test_serve_requirements() -> None:
    settings = Settings.from_env({"DEFERREDREV_ENCRYPTION_KEYS": key_env(make_key("k1"))})
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET"):
        settings.require_for_serve()


@pytest.mark.parametrize(
    "url",
    ["not a url", "postgresql://revrec:canary-db-pw-1@db.example.com:54x2/revrec", "postgresql://u:canary-db-pw-1@[::1/db"],
)
def test_a_malformed_database_url_names_the_variable_not_the_password(url: str) -> None:
    with pytest.raises(SettingsError, match="DATABASE_URL is not a valid database URL") as caught:
        Settings.from_env({"DATABASE_URL": url}, require_keys=False)
    assert "canary-db-pw-1" not in str(caught.value) and caught.value.__cause__ is None


def test_good_database_urls_are_kept_as_written() -> None:
    for url in ("postgresql://u:p%40ss@db:5432/revrec", "postgres://u@db/revrec", "sqlite:////var/lib/revrec.db"):
        assert Settings.from_env({"DATABASE_URL": url}, require_keys=False).database_url == url


def test_admins_are_scoped_to_their_workspace() -> None:
    env = {"DEFERREDREV_ENCRYPTION_KEYS": key_env(make_key("k1")), "DEFERREDREV_ADMINS": "T0AAA1:U0ANA1, T0BBB2:W0BO2"}
    admins = Settings.from_env(env).admins
    assert admins.includes("T0AAA1", "U0ANA1") and not admins.includes("T0BBB2", "U0ANA1")
    assert admins.of_team("T0BBB2") == {"W0BO2"}


def test_a_bare_admin_id_works_only_with_one_workspace() -> None:
    single = {"DEFERREDREV_ENCRYPTION_KEYS": key_env(make_key("k1")), "DEFERREDREV_ADMINS": "U0ANA1,T0BBB2:U0BO2"}
    admins = Settings.from_env(single | {"SLACK_BOT_TOKEN": "xoxb-1"}).admins
    assert admins.includes("T0ANY", "U0ANA1") and admins.of_team("T0ANY") == {"U0ANA1"}
    many = single | {"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "canary-client-secret"}
    with pytest.raises(SettingsError, match=r"name each admin's workspace as TEAM_ID:USER_ID.*without a workspace: U0ANA1$"):
        Settings.from_env(many)
