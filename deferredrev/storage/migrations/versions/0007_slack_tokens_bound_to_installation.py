"""Slack tokens bound to their installation: every Slack token sealed under its column name alone is sealed again.

Up to 0006 the token columns of ``slack_bots`` and ``slack_installations`` were sealed with associated data naming only
the column, so a ciphertext copied into another workspace's row opened there. From 0007 the associated data also
names the row's app (client id), Enterprise Grid org and workspace (``SlackTokenIdentity`` in ``storage/vault.py``).
This migration opens each token the old way and seals it the new way, under the primary key; the downgrade does the
reverse.

It needs the encryption keys: ``deferredrev db upgrade``, ``serve`` and the other commands pass the vault built from
DEFERREDREV_ENCRYPTION_KEYS (``config.attributes["vault"]``). With tokens to re-seal and no keys, or a ciphertext
naming a key the keyring lacks, it raises :class:`MigrationNeedsKeysError` and changes nothing (the database stays at
0006); empty tables need no keys. A token that does not open under its column was damaged before this migration and
unusable already: it is left as it is (the store treats that installation as not installed until the app is
installed again) and a warning names its table and row.

Both formats of associated data are written out here rather than imported: a migration is a snapshot of the format it
converts from and to, whatever later code does.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from alembic import context, op

from deferredrev.storage.db import MigrationNeedsKeysError
from deferredrev.storage.vault import DecryptionError, Identity, TokenVault, UnknownKeyError

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

logger = logging.getLogger("deferredrev.storage.migrations")

BOT_COLUMNS = ("bot_token", "bot_refresh_token")
TOKEN_COLUMNS = {"slack_bots": BOT_COLUMNS, "slack_installations": (*BOT_COLUMNS, "user_token", "user_refresh_token")}

Row = Mapping[Any, Any]
IdentityOf = Callable[[Row, str], Identity]


# Plain classes: Alembic loads this file without registering it as a module, which dataclasses need.
class _ColumnOnly:
    def __init__(self, column: str) -> None:
        self.column = column

    def associated_data(self) -> bytes:
        return f"deferredrev|slack-token|v1|col={self.column}".encode()


class _BoundToInstallation:
    def __init__(self, client_id: str, enterprise_id: str | None, team_id: str | None, column: str) -> None:
        self.client_id = client_id
        self.enterprise_id = enterprise_id
        self.team_id = team_id
        self.column = column

    def associated_data(self) -> bytes:
        fields = [("client", self.client_id), ("enterprise", self.enterprise_id), ("team", self.team_id)]
        named = [f"{name}={quote(value or '', safe='')}" for name, value in fields]
        return "|".join(["deferredrev", "slack-token", "v2", *named, f"col={quote(self.column, safe='')}"]).encode()


def column_only(row: Row, column: str) -> Identity:
    return _ColumnOnly(column)


def bound_to_installation(row: Row, column: str) -> Identity:
    return _BoundToInstallation(row["client_id"], row["enterprise_id"], row["team_id"], column)


def upgrade() -> None:
    _reseal(opened_as=column_only, sealed_as=bound_to_installation, direction="upgrade to 0007", stays_at="0006")


def downgrade() -> None:
    _reseal(opened_as=bound_to_installation, sealed_as=column_only, direction="downgrade from 0007", stays_at="0007")


def _table(name: str) -> sa.TableClause:
    columns = ("id", "client_id", "enterprise_id", "team_id", *TOKEN_COLUMNS[name])
    return sa.table(name, *(sa.column(column) for column in columns))


def _reseal(*, opened_as: IdentityOf, sealed_as: IdentityOf, direction: str, stays_at: str) -> None:
    bind = op.get_bind()
    rows = {name: _rows_with_tokens(bind, name) for name in TOKEN_COLUMNS}
    count = sum(len(found) for found in rows.values())
    if not count:
        return
    vault: TokenVault | None = context.config.attributes.get("vault")
    if vault is None:
        raise MigrationNeedsKeysError(
            f"the {direction} re-seals the Slack tokens of {count} installation row(s) and needs the encryption keys "
            f"that sealed them: set DEFERREDREV_ENCRYPTION_KEYS and run it again (the database stays at {stays_at})"
        )
    for name, found in rows.items():
        for row in found:
            resealed = _resealed_tokens(vault, name, row, opened_as, sealed_as, stays_at)
            if resealed:
                table = _table(name)
                bind.execute(sa.update(table).where(table.c.id == row["id"]).values(resealed))


def _rows_with_tokens(bind: sa.Connection, name: str) -> list[Row]:
    table = _table(name)
    tokens = [table.c[column] for column in TOKEN_COLUMNS[name]]
    query = sa.select(table).where(sa.or_(*(token.is_not(None) for token in tokens)))
    return list(bind.execute(query).mappings().all())


def _resealed_tokens(
    vault: TokenVault, name: str, row: Row, opened_as: IdentityOf, sealed_as: IdentityOf, stays_at: str
) -> dict[str, str]:
    resealed = {}
    for column in TOKEN_COLUMNS[name]:
        stored = row[column]
        if stored is None:
            continue
        try:
            token = vault.decrypt(base64.b64decode(stored, validate=True), opened_as(row, column))
        except UnknownKeyError as error:
            raise MigrationNeedsKeysError(
                f"{error}: add that key to DEFERREDREV_ENCRYPTION_KEYS and run it again (the database stays at {stays_at})"
            ) from None
        except (DecryptionError, binascii.Error):
            logger.warning("%s row %s: %s does not open (damaged before); left as it is", name, row["id"], column)
            continue
        resealed[column] = base64.b64encode(vault.encrypt(token, sealed_as(row, column))).decode()
    return resealed
