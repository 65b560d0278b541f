"""The token vault: AES-256-GCM with a fresh 96-bit nonce per encryption and the row's identity as associated data.

A stored ciphertext is ``b"v1" | len(key_id) | key_id | nonce(12) | ciphertext+tag(16)``. The key id says which key
of the keyring encrypted it, so older keys keep decrypting after a new primary is configured and
``deferredrev keys rotate`` can re-encrypt rows under the primary. The associated data names the row and column the
token belongs to (workspace, QuickBooks company and which token; for Slack tokens the app, Grid org, workspace and
column): a ciphertext copied into another row fails to decrypt.

Messages of the errors raised here never contain plaintext, key material or ciphertext.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol
from urllib.parse import quote

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from deferredrev.settings import EncryptionKey

FORMAT_VERSION = b"v1"
NONCE_BYTES = 12
KEY_BYTES = 32


class VaultError(Exception):
    """Base class of the vault's errors."""


class UnknownKeyError(VaultError):
    """The ciphertext names a key id that is not in the keyring."""


class DecryptionError(VaultError):
    """The ciphertext is damaged, was moved to another row, or the key is wrong."""


class TokenKind(StrEnum):
    ACCESS = "access"
    REFRESH = "refresh"


@dataclass(frozen=True)
class TokenIdentity:
    """Which row and column a token belongs to; bound into every ciphertext as associated data."""

    team_id: str
    realm_id: str
    kind: TokenKind

    def associated_data(self) -> bytes:
        return f"deferredrev|qbo-token|v1|team={self.team_id}|realm={self.realm_id}|col={self.kind.value}".encode()


class Identity(Protocol):
    def associated_data(self) -> bytes: ...


@dataclass(frozen=True)
class SlackTokenIdentity:
    """A Slack installation token: which app (client id), Enterprise Grid org, workspace and column it belongs to.

    The bot rows and installation rows of one installation share an identity, so the installation store can take
    a workspace's newest bot token from either table. A missing id (``team_id`` of an org-wide Enterprise Grid
    install, ``enterprise_id`` outside Grid) is written as empty; Slack never issues an empty id, and every value
    is percent-encoded, so two different rows never share associated data.
    """

    client_id: str
    enterprise_id: str | None
    team_id: str | None
    column: str

    def associated_data(self) -> bytes:
        fields = (
            f"client={_field(self.client_id)}",
            f"enterprise={_field(self.enterprise_id)}",
            f"team={_field(self.team_id)}",
            f"col={_field(self.column)}",
        )
        return "|".join(("deferredrev", "slack-token", "v2", *fields)).encode()


def _field(value: str | None) -> str:
    return quote(value or "", safe="")


class TokenVault:
    def __init__(self, keys: Iterable[EncryptionKey]) -> None:
        keyring = list(keys)
        if not keyring:
            raise VaultError("the vault needs at least one encryption key")
        for key in keyring:
            if len(key.key) != KEY_BYTES:
                raise VaultError(f"key {key.key_id!r} is {len(key.key)} bytes; AES-256 needs {KEY_BYTES}")
        self._primary_id = keyring[0].key_id
        self._ciphers = {key.key_id: AESGCM(key.key) for key in keyring}

    @property
    def primary_key_id(self) -> str:
        return self._primary_id

    def encrypt(self, plaintext: str, identity: Identity) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        key_id = self._primary_id.encode()
        sealed = self._ciphers[self._primary_id].encrypt(nonce, plaintext.encode(), identity.associated_data())
        return FORMAT_VERSION + bytes([len(key_id)]) + key_id + nonce + sealed

    def decrypt(self, blob: bytes, identity: Identity) -> str:
        key_id, nonce, sealed = _split(blob)
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise UnknownKeyError(f"token was encrypted with key {key_id!r}, which is not in DEFERREDREV_ENCRYPTION_KEYS")
        try:
            return cipher.decrypt(nonce, sealed, identity.associated_data()).decode()
        except InvalidTag:
            raise DecryptionError(
                f"a stored token ({identity.associated_data().decode()}) does not decrypt "
                "(damaged, moved from another row, or wrong key)"
            ) from None

    def key_id_of(self, blob: bytes) -> str:
        return _split(blob)[0]

    def needs_rotation(self, blob: bytes) -> bool:
        return self.key_id_of(blob) != self._primary_id

    def reencrypt(self, blob: bytes, identity: Identity) -> bytes:
        return self.encrypt(self.decrypt(blob, identity), identity)


def _split(blob: bytes) -> tuple[str, bytes, bytes]:
    if len(blob) < 3 or blob[:2] != FORMAT_VERSION:
        raise DecryptionError("stored token is not in the vault's format")
    key_len = blob[2]
    header_end = 3 + key_len
    if len(blob) < header_end + NONCE_BYTES + 16:
        raise DecryptionError("stored token is truncated")
    key_id = blob[3:header_end].decode("ascii", errors="replace")
    nonce = blob[header_end : header_end + NONCE_BYTES]
    return key_id, nonce, blob[header_end + NONCE_BYTES :]


def generate_key(key_id: str) -> str:
    """A new key in the ``id:base64`` form that DEFERREDREV_ENCRYPTION_KEYS takes."""
    import base64

    return f"{key_id}:{base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}"
