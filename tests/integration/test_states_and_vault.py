"""OAuth states (hashed, one-time, expiring) and the token vault against a real PostgreSQL."""

from __future__ import annotations

import asyncpg
import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from soundsync_core.security.states import (
    StateError,
    consume_state,
    create_state,
    release_state,
)
from soundsync_core.security.vault import TokenVault, VaultError
from soundsync_core.settings import ConfigError


@pytest.fixture
def vault() -> TokenVault:
    return TokenVault(SecretStr(Fernet.generate_key().decode()))


def test_vault_round_trip_and_no_plaintext(vault: TokenVault) -> None:
    secret = "access-" + Fernet.generate_key().decode()
    sealed = vault.encrypt(secret)
    assert secret.encode() not in sealed
    assert vault.decrypt(sealed) == secret


def test_vault_refuses_to_work_without_a_key() -> None:
    with pytest.raises(ConfigError, match="SOUNDSYNC_SECRET_KEY"):
        TokenVault(None)
    with pytest.raises(ConfigError, match="Fernet key"):
        TokenVault(SecretStr("not-a-key"))


def test_other_key_cannot_decrypt_and_says_so(vault: TokenVault) -> None:
    other = TokenVault(SecretStr(Fernet.generate_key().decode()))
    with pytest.raises(VaultError, match="SOUNDSYNC_SECRET_KEY"):
        other.decrypt(vault.encrypt("secret"))


async def test_state_is_single_use_and_bound_to_member(
    pool: asyncpg.Pool, vault: TokenVault
) -> None:
    async with pool.acquire() as conn:
        state = await create_state(conn, vault, 42, 7, "verifier-value")
        stored = await conn.fetchval("SELECT count(*) FROM oauth_states WHERE state_hash = $1",
                                     state.encode())
        assert stored == 0  # only the hash is kept
        request = await consume_state(conn, vault, state)
        assert (request.user_id, request.guild_id, request.code_verifier) == (42, 7, "verifier-value")
        assert "verifier-value" not in repr(request)
        with pytest.raises(StateError, match="already used"):
            await consume_state(conn, vault, state)
        await release_state(conn, state)
        assert (await consume_state(conn, vault, state)).user_id == 42


@pytest.mark.parametrize(("state", "reason"), [(None, "missing"), ("", "missing"),
                                                ("forged-state", "unknown")])
async def test_missing_and_unknown_states(
    pool: asyncpg.Pool, vault: TokenVault, state: str | None, reason: str
) -> None:
    async with pool.acquire() as conn:
        with pytest.raises(StateError, match=reason):
            await consume_state(conn, vault, state)


async def test_tampered_and_expired_states(pool: asyncpg.Pool, vault: TokenVault) -> None:
    async with pool.acquire() as conn:
        state = await create_state(conn, vault, 1, None, "v")
        with pytest.raises(StateError, match="unknown"):
            await consume_state(conn, vault, state[:-1] + ("A" if state[-1] != "A" else "B"))
        await conn.execute("UPDATE oauth_states SET expires_at = now() - interval '1 second'")
        with pytest.raises(StateError, match="expired"):
            await consume_state(conn, vault, state)
