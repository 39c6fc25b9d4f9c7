"""Link events over LISTEN/NOTIFY survive the listener's connection being killed."""

from __future__ import annotations

import asyncio

import asyncpg

from soundsync_core.services.notifications import LinkEvent, listen_for_links, notify_link


async def _notify(pool: asyncpg.Pool, user_id: int) -> None:
    async with pool.acquire() as conn:
        await notify_link(conn, LinkEvent(user_id=user_id, guild_id=None, source="spotify",
                                          event="linked", profile_ready=True))


async def _next(queue: asyncio.Queue[LinkEvent]) -> LinkEvent:
    return await asyncio.wait_for(queue.get(), timeout=10)


async def test_listener_listens_again_after_its_connection_dies(pool: asyncpg.Pool) -> None:
    received: asyncio.Queue[LinkEvent] = asyncio.Queue()
    listener = await listen_for_links(pool, received.put_nowait)
    try:
        await _notify(pool, 1)
        assert (await _next(received)).user_id == 1
        async with pool.acquire() as conn:
            killed = await conn.fetchval(
                """SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                   WHERE query LIKE 'LISTEN%' AND datname = current_database()"""
            )
        assert killed == 1
        for attempt in range(50):
            await _notify(pool, 100 + attempt)
            try:
                event = await asyncio.wait_for(received.get(), timeout=0.2)
            except TimeoutError:
                continue
            assert event.user_id >= 100
            break
        else:
            raise AssertionError("no event after the connection was killed")
    finally:
        await listener.close()
