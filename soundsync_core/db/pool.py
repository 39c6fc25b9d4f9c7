"""The asyncpg pool: created once at start-up and passed down to whoever needs it."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from soundsync_core.db.urls import mask_url

log = logging.getLogger(__name__)
T = TypeVar("T")


class DatabaseUnavailableError(Exception):
    """The database could not be reached after every retry."""


def _encode_jsonb(value: object) -> bytes:
    # Binary jsonb is a version byte (1) then the JSON text; binary lets COPY carry jsonb too.
    return b"\x01" + json.dumps(value, ensure_ascii=False).encode()


def _decode_jsonb(data: bytes) -> object:
    return json.loads(data[1:])


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb", encoder=_encode_jsonb, decoder=_decode_jsonb, schema="pg_catalog", format="binary"
    )
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _with_retries(
    url: str, open_once: Callable[[], Awaitable[T]], attempts: int, first_delay: float
) -> T:
    """Call ``open_once`` until it succeeds, backing off exponentially between attempts."""
    delay = first_delay
    for attempt in range(1, attempts + 1):
        try:
            return await open_once()
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
            if attempt == attempts:
                raise DatabaseUnavailableError(
                    f"cannot reach PostgreSQL at {mask_url(url)} after {attempts} "
                    f"attempt(s) ({reason})"
                ) from None
            log.warning(
                "PostgreSQL at %s not reachable (attempt %d/%d, %s); retrying in %.1fs",
                mask_url(url), attempt, attempts, reason, delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
    raise DatabaseUnavailableError(f"no connection attempt was made to {mask_url(url)}")


async def connect(url: str, *, attempts: int = 1, first_delay: float = 0.5) -> asyncpg.Connection:
    """One connection with SoundSync's codecs (jsonb ⇄ Python objects)."""

    async def open_once() -> asyncpg.Connection:
        conn = await asyncpg.connect(url)
        await _init_connection(conn)
        return conn

    return await _with_retries(url, open_once, attempts, first_delay)


async def create_pool(
    url: str,
    *,
    attempts: int = 5,
    first_delay: float = 0.5,
    min_size: int = 1,
    max_size: int = 10,
) -> asyncpg.Pool:
    """Open the pool, retrying with exponential backoff while the server is not reachable."""

    async def open_once() -> asyncpg.Pool:
        return await asyncpg.create_pool(
            url, min_size=min_size, max_size=max_size, init=_init_connection
        )

    return await _with_retries(url, open_once, attempts, first_delay)


async def ping(pool: asyncpg.Pool) -> None:
    """One round trip to the database (raises when it does not answer)."""
    await pool.fetchval("SELECT 1")
