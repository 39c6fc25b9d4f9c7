"""One-time OAuth states (``oauth_states``), stored by the hash of the state only."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

Executor = asyncpg.Pool | asyncpg.Connection


async def insert_state(
    conn: Executor,
    state_hash: bytes,
    user_id: int,
    guild_id: int | None,
    code_verifier_enc: bytes,
    lifetime: timedelta,
    member_name: str | None = None,
    source: str = "spotify",
) -> None:
    """Store a new state, valid for ``lifetime`` from now (``member_name``: the Discord
    display name the web ``/link`` page shows; ``source``: the service it links)."""
    await conn.execute(
        """INSERT INTO oauth_states
               (state_hash, user_id, guild_id, code_verifier_enc, expires_at, member_name, source)
           VALUES ($1, $2, $3, $4, now() + $5::interval, $6, $7)""",
        state_hash, user_id, guild_id, code_verifier_enc, lifetime, member_name, source,
    )


async def use_state(conn: Executor, state_hash: bytes) -> asyncpg.Record | None:
    """Mark an unused, unexpired state used: its ``user_id``, ``guild_id``,
    ``code_verifier_enc``, ``member_name``, ``source``; None when there is no such state."""
    return await conn.fetchrow(
        """UPDATE oauth_states SET used_at = now()
           WHERE state_hash = $1 AND used_at IS NULL AND expires_at > now()
           RETURNING user_id, guild_id, code_verifier_enc, member_name, source""",
        state_hash,
    )


async def state_was_used(conn: Executor, state_hash: bytes) -> bool | None:
    """True when the state was used, False when it was not (so it expired), None when unknown."""
    row = await conn.fetchrow(
        "SELECT used_at IS NOT NULL AS used FROM oauth_states WHERE state_hash = $1", state_hash
    )
    return None if row is None else row["used"]


async def release_state(conn: Executor, state_hash: bytes) -> None:
    """Make a used but unexpired state usable again."""
    await conn.execute(
        "UPDATE oauth_states SET used_at = NULL WHERE state_hash = $1 AND expires_at > now()",
        state_hash,
    )


async def delete_member_states(conn: Executor, user_id: int) -> bool:
    """Delete every state of the member; False when there was none."""
    return await conn.execute("DELETE FROM oauth_states WHERE user_id = $1", user_id) != "DELETE 0"
