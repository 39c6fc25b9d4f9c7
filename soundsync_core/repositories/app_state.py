"""Facts this deployment learnt at run time (``app_state``), shared by every process."""

from __future__ import annotations

from typing import Any

import asyncpg

# This Spotify app has no /audio-features access: {"forbidden": true}.
SPOTIFY_AUDIO_FEATURES = "spotify.audio_features"
# Spotify said QUOTA_EXCEEDED: {"until": ISO time, "retry_after": seconds}.
SPOTIFY_QUOTA_PAUSED_UNTIL = "spotify.quota_paused_until"
# The slash commands last sent to Discord: {"application_id", "sha256"} of their payload.
DISCORD_COMMANDS = "discord.commands"
# What the bot owner must fix at a source (a rejected Last.fm API key): {source: message}.
SOURCE_PROBLEMS = "sources.admin_problems"


async def get_fact(conn: asyncpg.Connection | asyncpg.Pool, key: str) -> Any | None:
    """The JSON value stored under ``key`` (None when unknown)."""
    return await conn.fetchval("SELECT value FROM app_state WHERE key = $1", key)


async def set_fact(conn: asyncpg.Connection | asyncpg.Pool, key: str, value: Any) -> None:
    """Store (or replace) the JSON value under ``key``."""
    await conn.execute(
        """INSERT INTO app_state (key, value) VALUES ($1, $2)
           ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()""",
        key, value,
    )
