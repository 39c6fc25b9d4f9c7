"""PostgreSQL ``NOTIFY``: messages between SoundSync processes, delivered on commit."""

from __future__ import annotations

import asyncpg


async def notify(conn: asyncpg.Connection | asyncpg.Pool, channel: str, payload: str) -> None:
    """Send ``payload`` on ``channel`` (delivered when the surrounding transaction commits)."""
    await conn.execute("SELECT pg_notify($1, $2)", channel, payload)
