"""slack_sdk's SQLAlchemy installation store, with the Slack tokens sealed by the vault and bound to their installation.

slack_sdk's :class:`SQLAlchemyInstallationStore` still reads and writes the rows (tables ``slack_bots`` and
``slack_installations``, migration 0002). :class:`SealedInstallationStore` wraps it: the token fields of an
installation are sealed (AES-256-GCM, stored as base64 text) before slack_sdk writes them and opened after it reads
them, with the installation's identity as associated data (:class:`~deferredrev.storage.vault.SlackTokenIdentity`:
client id, Grid org, workspace, column). A ciphertext copied into another workspace's row does not open there.

A row whose tokens do not open is no usable installation: the store answers "not found" (Bolt then asks the user to
reinstall the app, which writes a fresh row) and logs which workspace, never a token or ciphertext.
"""

from __future__ import annotations

import base64
import binascii
import copy
import logging
from typing import TypeVar

from slack_sdk.oauth.installation_store import Bot, Installation, InstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import Engine, MetaData, Table, inspect, select, update
from sqlalchemy.orm import Session

from deferredrev.storage.vault import DecryptionError, SlackTokenIdentity, TokenVault, VaultError

logger = logging.getLogger(__name__)

BOTS_TABLE = SQLAlchemyInstallationStore.default_bots_table_name
INSTALLATIONS_TABLE = SQLAlchemyInstallationStore.default_installations_table_name
BOT_TOKEN_FIELDS = ("bot_token", "bot_refresh_token")
USER_TOKEN_FIELDS = ("user_token", "user_refresh_token")

Record = TypeVar("Record", Bot, Installation)


def seal_token(vault: TokenVault, token: str, identity: SlackTokenIdentity) -> str:
    return base64.b64encode(vault.encrypt(token, identity)).decode()


def open_token(vault: TokenVault, stored: str, identity: SlackTokenIdentity) -> str:
    return vault.decrypt(_blob(stored), identity)


def _blob(stored: str) -> bytes:
    try:
        return base64.b64decode(stored, validate=True)
    except binascii.Error:
        raise DecryptionError("a stored Slack token is not in the vault's format") from None


class SealedInstallationStore(InstallationStore):
    def __init__(self, *, client_id: str, engine: Engine, vault: TokenVault) -> None:
        self.client_id = client_id
        self._rows = SQLAlchemyInstallationStore(client_id=client_id, engine=engine, logger=logger)
        self._vault = vault

    @property
    def logger(self) -> logging.Logger:
        return logger

    def save(self, installation: Installation) -> None:
        # slack_sdk writes the bot row from the installation it is given: both rows get the same ciphertexts, which
        # their shared identity lets either open.
        self._rows.save(self._sealed(installation))

    def save_bot(self, bot: Bot) -> None:
        self._rows.save_bot(self._sealed(bot))

    def find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        found = self._rows.find_bot(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install
        )
        return self._opened(found)

    def find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        found = self._rows.find_installation(
            enterprise_id=enterprise_id, team_id=team_id, user_id=user_id, is_enterprise_install=is_enterprise_install
        )
        return self._opened(found)

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self._rows.delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    def delete_installation(self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None) -> None:
        self._rows.delete_installation(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id)

    def _sealed(self, record: Record) -> Record:
        sealed = copy.copy(record)
        for name in _token_fields(record):
            token = getattr(record, name)
            if token is not None:
                setattr(sealed, name, seal_token(self._vault, token, self._identity(record, name)))
        return sealed

    def _opened(self, record: Record | None) -> Record | None:
        if record is None:
            return None
        opened = copy.copy(record)
        try:
            for name in _token_fields(record):
                stored = getattr(record, name)
                if stored is not None:
                    setattr(opened, name, open_token(self._vault, stored, self._identity(record, name)))
        except VaultError as error:
            logger.warning(
                "the Slack installation of team %s (enterprise %s) holds tokens that do not open (%s): treated as not "
                "installed until the app is installed again",
                record.team_id or "-",
                record.enterprise_id or "-",
                type(error).__name__,
            )
            return None
        return opened

    def _identity(self, record: Bot | Installation, column: str) -> SlackTokenIdentity:
        return SlackTokenIdentity(self.client_id, record.enterprise_id, record.team_id, column)


def _token_fields(record: Bot | Installation) -> tuple[str, ...]:
    return BOT_TOKEN_FIELDS + USER_TOKEN_FIELDS if isinstance(record, Installation) else BOT_TOKEN_FIELDS


def token_tables() -> list[tuple[Table, tuple[str, ...]]]:
    """slack_sdk's two tables (its own definitions), each with its token columns."""
    metadata = MetaData()
    return [
        (SQLAlchemyInstallationStore.build_bots_table(metadata, BOTS_TABLE), BOT_TOKEN_FIELDS),
        (
            SQLAlchemyInstallationStore.build_installations_table(metadata, INSTALLATIONS_TABLE),
            BOT_TOKEN_FIELDS + USER_TOKEN_FIELDS,
        ),
    ]


def rotate_slack_tokens(session: Session, vault: TokenVault) -> int:
    """Re-encrypt the Slack tokens of every installation row under the primary key; returns how many rows changed.

    Safe while the service runs: a row is rewritten only if its tokens are still the ones read, so a token Bolt
    rotated in between is never overwritten with the old one; that row is read again and retried.
    """
    present = set(inspect(session.get_bind()).get_table_names())
    touched = 0
    for table, columns in token_tables():
        if table.name in present:
            for row_id in session.scalars(select(table.c.id)).all():
                touched += _rotate_row(session, vault, table, columns, row_id)
    return touched


def _rotate_row(session: Session, vault: TokenVault, table: Table, columns: tuple[str, ...], row_id: int) -> bool:
    wanted = [table.c.client_id, table.c.enterprise_id, table.c.team_id, *(table.c[name] for name in columns)]
    while True:
        row = session.execute(select(*wanted).where(table.c.id == row_id)).mappings().one_or_none()
        if row is None:
            return False
        rotated: dict[str, str] = {}
        for column in columns:
            stored = row[column]
            if stored is not None and vault.needs_rotation(_blob(stored)):
                identity = SlackTokenIdentity(row["client_id"], row["enterprise_id"], row["team_id"], column)
                rotated[column] = seal_token(vault, open_token(vault, stored, identity), identity)
        if not rotated:
            return False
        still_as_read = [table.c[column] == row[column] for column in rotated]
        result = session.execute(update(table).where(table.c.id == row_id, *still_as_read).values(rotated))
        if result.rowcount:  # type: ignore[attr-defined]
            return True
