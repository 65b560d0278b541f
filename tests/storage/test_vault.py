from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deferredrev.storage.vault import (
    NONCE_BYTES,
    DecryptionError,
    TokenIdentity,
    TokenKind,
    TokenVault,
    UnknownKeyError,
    VaultError,
)
from tests.conftest import make_key

IDENTITY = TokenIdentity(team_id="T1", realm_id="9130350000000001", kind=TokenKind.REFRESH)


def test_round_trip_and_format() -> None:
    vault = TokenVault([make_key("k1")])
    blob = vault.encrypt("RT1-canary-refresh-token", IDENTITY)
    assert b"canary" not in blob
    assert blob[:2] == b"v1"
    assert vault.key_id_of(blob) == "k1"
    assert vault.decrypt(blob, IDENTITY) == "RT1-canary-refresh-token"


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=0, max_size=300))
def test_any_token_round_trips_with_a_fresh_nonce(token: str) -> None:
    vault = TokenVault([make_key("k1", fill=7)])
    first, second = vault.encrypt(token, IDENTITY), vault.encrypt(token, IDENTITY)
    assert first != second
    nonce_at = 3 + len("k1")
    assert first[nonce_at : nonce_at + NONCE_BYTES] != second[nonce_at : nonce_at + NONCE_BYTES]
    assert vault.decrypt(first, IDENTITY) == token


def test_tampered_ciphertext_is_rejected() -> None:
    vault = TokenVault([make_key("k1")])
    blob = bytearray(vault.encrypt("secret-token-value", IDENTITY))
    blob[-1] ^= 0x01
    with pytest.raises(DecryptionError) as caught:
        vault.decrypt(bytes(blob), IDENTITY)
    assert "secret-token-value" not in str(caught.value)


@pytest.mark.parametrize(
    "other",
    [
        TokenIdentity(team_id="T2", realm_id=IDENTITY.realm_id, kind=TokenKind.REFRESH),
        TokenIdentity(team_id="T1", realm_id="9130350000000002", kind=TokenKind.REFRESH),
        TokenIdentity(team_id="T1", realm_id=IDENTITY.realm_id, kind=TokenKind.ACCESS),
    ],
)
def test_ciphertext_moved_to_another_row_or_column_fails(other: TokenIdentity) -> None:
    vault = TokenVault([make_key("k1")])
    with pytest.raises(DecryptionError):
        vault.decrypt(vault.encrypt("token", IDENTITY), other)


def test_old_key_still_decrypts_after_new_primary() -> None:
    old, new = make_key("old"), make_key("new")
    before = TokenVault([old]).encrypt("token-under-old-key", IDENTITY)
    after = TokenVault([new, old])
    assert after.decrypt(before, IDENTITY) == "token-under-old-key"
    assert after.needs_rotation(before)
    rotated = after.reencrypt(before, IDENTITY)
    assert after.key_id_of(rotated) == "new"
    assert TokenVault([new]).decrypt(rotated, IDENTITY) == "token-under-old-key"


def test_unknown_key_and_wrong_key() -> None:
    blob = TokenVault([make_key("gone")]).encrypt("t", IDENTITY)
    with pytest.raises(UnknownKeyError, match="gone"):
        TokenVault([make_key("k1")]).decrypt(blob, IDENTITY)
    with pytest.raises(DecryptionError):
        TokenVault([make_key("gone")]).decrypt(blob, IDENTITY)  # same id, different key bytes


@pytest.mark.parametrize("blob", [b"", b"v2xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", b"v1\x02k1short"])
def test_garbage_is_refused(blob: bytes) -> None:
    with pytest.raises(DecryptionError):
        TokenVault([make_key("k1")]).decrypt(blob, IDENTITY)


def test_vault_needs_a_256_bit_key() -> None:
    from deferredrev.settings import EncryptionKey

    with pytest.raises(VaultError, match="32"):
        TokenVault([EncryptionKey(key_id="k1", key=b"x" * 16)])
    with pytest.raises(VaultError):
        TokenVault([])
