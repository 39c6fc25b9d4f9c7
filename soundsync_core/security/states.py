"""One-time OAuth states: random, stored hashed, bound to a member, valid ten minutes, once."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from soundsync_core.errors import MemberFacingError
from soundsync_core.repositories import oauth_states
from soundsync_core.security.vault import TokenVault

STATE_LIFETIME = timedelta(minutes=10)


class StateError(MemberFacingError):
    """The state is missing, unknown (or tampered with), expired or already used."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"this link is {reason}")


@dataclass(frozen=True)
class LinkRequest:
    """What a valid state stands for."""

    user_id: int
    guild_id: int | None
    code_verifier: str

    def __repr__(self) -> str:
        return f"LinkRequest(user_id={self.user_id}, guild_id={self.guild_id})"


def _hash(state: str) -> bytes:
    return hashlib.sha256(state.encode()).digest()


async def create_state(
    conn: asyncpg.Connection,
    vault: TokenVault,
    user_id: int,
    guild_id: int | None,
    code_verifier: str,
) -> str:
    """Store a new state for the member and return it (only its hash is kept)."""
    state = secrets.token_urlsafe(32)
    await oauth_states.insert_state(
        conn, _hash(state), user_id, guild_id, vault.encrypt(code_verifier), STATE_LIFETIME
    )
    return state


async def consume_state(conn: asyncpg.Connection, vault: TokenVault, state: str | None) -> LinkRequest:
    """Mark the state used and return its request; :class:`StateError` says why it cannot be."""
    if not state:
        raise StateError("missing its state")
    row = await oauth_states.use_state(conn, _hash(state))
    if row is not None:
        return LinkRequest(row["user_id"], row["guild_id"], vault.decrypt(row["code_verifier_enc"]))
    used = await oauth_states.state_was_used(conn, _hash(state))
    if used is None:
        raise StateError("unknown (or was altered)")
    raise StateError("already used" if used else "expired")


async def release_state(conn: asyncpg.Connection, state: str) -> None:
    """Make a consumed state usable again (the token exchange failed: let the member retry)."""
    await oauth_states.release_state(conn, _hash(state))
