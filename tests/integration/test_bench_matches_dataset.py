"""The bench's dataset: prepared once, recognised for reuse, askers with stored guild matches."""

from __future__ import annotations

import asyncpg

from soundsync_bench.matches_latency import dataset_ready, live_match_rows, pick_askers, prepare_dataset

MEMBERS = 120


async def test_prepared_dataset_is_recognised_and_yields_askers_with_stored_matches(
    pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as conn:
        assert not await dataset_ready(conn, MEMBERS)
    await prepare_dataset(pool, MEMBERS, seed=3)
    async with pool.acquire() as conn:
        assert await dataset_ready(conn, MEMBERS)
        assert not await dataset_ready(conn, MEMBERS + 1)
        assert await live_match_rows(conn) > 0
        askers = await pick_askers(conn, 30, seed=1)
        assert askers == await pick_askers(conn, 30, seed=1)
        assert len({a.user_id for a in askers}) == 30
        for asker in askers:
            assert await conn.fetchval(
                """SELECT count(*) FROM live_runs l JOIN matches m USING (run_id, scope_id)
                   WHERE l.scope_id = $1 AND m.user_id = $2""",
                asker.guild_id, asker.user_id,
            ) > 0
