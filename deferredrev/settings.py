"""Settings, read once from the environment into a frozen object that fails fast with a clear message.

Nothing else in the code reads ``os.environ``: the composition root calls :meth:`Settings.from_env` and passes
the result down. Error messages name the variable and what is wrong with it, never the secret value.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

E = TypeVar("E", bound=StrEnum)

DEFAULT_DATABASE_URL = "sqlite:///deferredrev.db"
DEFAULT_PUBLIC_URL = "http://localhost:3000"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
ADMIN_ENTRY_PATTERN = re.compile(r"^(?:(?P<team>T[A-Z0-9]{2,}):)?(?P<user>[UW][A-Z0-9]{2,})$")


class SettingsError(ValueError):
    """A missing or malformed configuration value. The message names the variable, never a secret."""


class Plan(StrEnum):
    STARTER = "starter"
    GROWTH = "growth"
    SCALE = "scale"

    @property
    def allows_quickbooks(self) -> bool:
        return self is not Plan.STARTER


class QboEnvironment(StrEnum):
    SANDBOX = "sandbox"
    PRODUCTION = "production"


@dataclass(frozen=True)
class EncryptionKey:
    key_id: str
    key: bytes = field(repr=False)


@dataclass(frozen=True)
class ConfiguredAdmins:
    """``DEFERREDREV_ADMINS``: who is a DeferredRev admin besides the workspace's own admins and owners.

    ``T…:U…`` makes a user an admin of that workspace only. A bare ``U…`` means "in the one workspace this
    service serves" and is accepted in single-workspace mode only. Being named here never overrides Slack: a
    deactivated user, a guest or someone outside the workspace is not an admin however they are configured."""

    scoped: frozenset[tuple[str, str]] = frozenset()  # (team_id, user_id)
    unscoped: frozenset[str] = frozenset()  # user ids, single-workspace mode

    def includes(self, team_id: str, user_id: str) -> bool:
        return user_id in self.unscoped or (team_id, user_id) in self.scoped

    def of_team(self, team_id: str) -> frozenset[str]:
        return self.unscoped | {user for team, user in self.scoped if team == team_id}


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    port: int = 3000
    public_url: str = DEFAULT_PUBLIC_URL
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_client_id: str | None = None
    slack_client_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_api_url: str = DEFAULT_SLACK_API_URL
    qbo_client_id: str | None = None
    qbo_client_secret: str | None = field(default=None, repr=False)
    qbo_environment: QboEnvironment = QboEnvironment.SANDBOX
    qbo_authorize_url: str | None = None
    qbo_token_url: str | None = None
    qbo_revoke_url: str | None = None
    qbo_api_url: str | None = None
    qbo_redirect_uri: str = f"{DEFAULT_PUBLIC_URL}/qbo/callback"
    encryption_keys: tuple[EncryptionKey, ...] = field(default=(), repr=False)
    default_plan: Plan = Plan.GROWTH
    admins: ConfiguredAdmins = ConfiguredAdmins()

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, require_keys: bool = True) -> Settings:
        """Build settings from an environment mapping; raise :class:`SettingsError` on the first bad value."""
        public_url = _url(env, "PUBLIC_URL", DEFAULT_PUBLIC_URL).rstrip("/")
        keys = parse_encryption_keys(env.get("DEFERREDREV_ENCRYPTION_KEYS", ""))
        if require_keys and not keys:
            raise SettingsError(
                "DEFERREDREV_ENCRYPTION_KEYS is required: run `deferredrev keys generate` and set it to the printed value"
            )
        settings = cls(
            database_url=_database_url(env, "DATABASE_URL"),
            port=_port(env),
            public_url=public_url,
            slack_signing_secret=_text(env, "SLACK_SIGNING_SECRET"),
            slack_bot_token=_token(env, "SLACK_BOT_TOKEN", ("xoxb-",)),
            slack_client_id=_text(env, "SLACK_CLIENT_ID"),
            slack_client_secret=_text(env, "SLACK_CLIENT_SECRET"),
            slack_app_token=_token(env, "SLACK_APP_TOKEN", ("xapp-",)),
            slack_api_url=_url(env, "SLACK_API_URL", DEFAULT_SLACK_API_URL),
            qbo_client_id=_text(env, "QBO_CLIENT_ID"),
            qbo_client_secret=_text(env, "QBO_CLIENT_SECRET"),
            qbo_environment=_choice(env, "QBO_ENVIRONMENT", QboEnvironment, QboEnvironment.SANDBOX),
            qbo_authorize_url=_optional_url(env, "QBO_AUTHORIZE_URL"),
            qbo_token_url=_optional_url(env, "QBO_TOKEN_URL"),
            qbo_revoke_url=_optional_url(env, "QBO_REVOKE_URL"),
            qbo_api_url=_optional_url(env, "QBO_API_URL"),
            qbo_redirect_uri=_url(env, "QBO_REDIRECT_URI", f"{public_url}/qbo/callback"),
            encryption_keys=keys,
            default_plan=_choice(env, "DEFERREDREV_DEFAULT_PLAN", Plan, Plan.GROWTH),
            admins=_admins(env, "DEFERREDREV_ADMINS"),
        )
        if settings.multi_workspace and settings.admins.unscoped:
            raise SettingsError(
                "DEFERREDREV_ADMINS: this service serves many workspaces (SLACK_CLIENT_ID is set), so name each admin's "
                "workspace as TEAM_ID:USER_ID, e.g. T012AB3CD:U045EF6GH; without a workspace: "
                + ", ".join(sorted(settings.admins.unscoped))
            )
        return settings

    @property
    def multi_workspace(self) -> bool:
        return bool(self.slack_client_id and self.slack_client_secret)

    def secret_values(self) -> tuple[str, ...]:
        """Every secret these settings hold, for the log redactor."""
        values = [
            self.slack_signing_secret,
            self.slack_bot_token,
            self.slack_client_secret,
            self.slack_app_token,
            self.qbo_client_secret,
        ]
        keys = [base64.b64encode(k.key).decode() for k in self.encryption_keys]
        return tuple(v for v in [*values, *keys] if v)

    def require_for_serve(self) -> None:
        """Check what `serve` needs beyond the basics, with one clear message per missing piece."""
        if self.slack_app_token is None and not self.slack_signing_secret:
            raise SettingsError(
                "SLACK_SIGNING_SECRET is required to serve Slack over HTTP (or set SLACK_APP_TOKEN for Socket Mode)"
            )
        if not self.multi_workspace and not self.slack_bot_token:
            raise SettingsError(
                "Set SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (multi-workspace)"
            )


def parse_encryption_keys(raw: str) -> tuple[EncryptionKey, ...]:
    """Parse ``id:base64(32 bytes)`` entries separated by commas; the first is the primary key."""
    keys: list[EncryptionKey] = []
    seen: set[str] = set()
    for position, entry in enumerate(e.strip() for e in raw.split(",") if e.strip()):
        key_id, sep, encoded = entry.partition(":")
        where = f"DEFERREDREV_ENCRYPTION_KEYS entry {position + 1}"
        if not sep or not KEY_ID_PATTERN.match(key_id):
            raise SettingsError(f"{where} must look like `id:base64key` with an id of 1-16 letters, digits, - or _")
        if key_id in seen:
            raise SettingsError(f"{where}: key id {key_id!r} appears twice")
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise SettingsError(f"{where} (id {key_id!r}): the key is not valid base64") from None
        if len(key) != 32:
            raise SettingsError(
                f"{where} (id {key_id!r}): AES-256 needs a 32-byte key, this one decodes to {len(key)} bytes"
            )
        seen.add(key_id)
        keys.append(EncryptionKey(key_id=key_id, key=key))
    return tuple(keys)


def _text(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _token(env: Mapping[str, str], name: str, prefixes: tuple[str, ...]) -> str | None:
    value = _text(env, name)
    if value is not None and not value.startswith(prefixes):
        raise SettingsError(f"{name} should start with {' or '.join(prefixes)}")
    return value


def _database_url(env: Mapping[str, str], name: str) -> str:
    """The SQLAlchemy URL, checked here so a typo stops the start with this message (the URL may hold a password,
    so the message never repeats it)."""
    value = _text(env, name)
    if value is None:
        return DEFAULT_DATABASE_URL
    try:
        make_url(value)
    except (ArgumentError, ValueError):
        raise SettingsError(
            f"{name} is not a valid database URL; write it like postgresql://user:password@host:5432/dbname or "
            "sqlite:///deferredrev.db (percent-encode special characters in the password)"
        ) from None
    return value


def _port(env: Mapping[str, str]) -> int:
    raw = _text(env, "PORT") or "3000"
    if not raw.isdigit() or not 0 <= int(raw) <= 65535:
        raise SettingsError(f"PORT must be a number between 0 and 65535, got {raw!r}")
    return int(raw)


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    return _optional_url(env, name) or default


def _optional_url(env: Mapping[str, str], name: str) -> str | None:
    value = _text(env, name)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"{name} must be an http(s) URL, got {value!r}")
    return value


def _choice(env: Mapping[str, str], name: str, enum: type[E], default: E) -> E:
    raw = _text(env, name)
    if raw is None:
        return default
    try:
        return enum(raw.lower())
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise SettingsError(f"{name} must be one of {allowed}; got {raw!r}") from None


def _admins(env: Mapping[str, str], name: str) -> ConfiguredAdmins:
    raw = _text(env, name) or ""
    entries = [part.strip() for part in raw.split(",") if part.strip()]
    matches = [(entry, ADMIN_ENTRY_PATTERN.match(entry)) for entry in entries]
    bad = [entry for entry, match in matches if match is None]
    if bad:
        raise SettingsError(
            f"{name} must be a comma list of Slack users as TEAM_ID:USER_ID (e.g. T012AB3CD:U045EF6GH), or bare user IDs "
            f"in single-workspace mode; not valid: {', '.join(bad)}"
        )
    found = [match for _, match in matches if match is not None]
    return ConfiguredAdmins(
        scoped=frozenset((m["team"], m["user"]) for m in found if m["team"]),
        unscoped=frozenset(m["user"] for m in found if not m["team"]),
    )
