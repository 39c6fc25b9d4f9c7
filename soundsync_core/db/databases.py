"""Databases of their own on the same server: the demo's, the sandbox's, the benchmarks'."""

from __future__ import annotations

import asyncpg

from soundsync_core.db.migrations import migrate
from soundsync_core.db.pool import connect
from soundsync_core.db.urls import with_database


async def side_database(server: str, name: str, *, fresh: bool) -> str:
    """Create (``fresh``: recreate) database ``name``, migrate it and return its URL."""
    conn = await connect(server)
    try:
        if fresh:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        exists = await conn.fetchval("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = with_database(server, name)
    conn = await connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return url


async def drop_database(server: str, name: str) -> None:
    """Drop database ``name``, closing whatever connections it still has."""
    conn = await connect(server)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def settle(conn: asyncpg.Connection) -> None:
    """What autovacuum does to every table after a bulk load: planner statistics, the
    visibility map (index-only probes) and the rows' commit hints (else the first reader of each
    page sets them and writes the page back)."""
    await conn.execute("VACUUM ANALYZE")
