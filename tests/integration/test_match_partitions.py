"""Each run's matches in a partition of their own: written bare, attached live, dropped with the run."""

from __future__ import annotations

import asyncio
import json

import asyncpg

from soundsync_core.db.migrations import load_migrations, migrate
from soundsync_core.db.pool import connect
from soundsync_core.repositories import match_store, runs
from soundsync_core.repositories.profiles import load_profiles
from soundsync_core.services.importer import import_profiles
from soundsync_core.services.matches import matches_for
from soundsync_core.services.members import unlink
from soundsync_core.services.recluster import recluster
from tests.integration.community_data import community_lines

GUILD = 1


async def _partitions(pool: asyncpg.Pool) -> set[str]:
    rows = await pool.fetch(
        """SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'matches'::regclass"""
    )
    return {r["relname"] for r in rows}


async def test_pruned_runs_take_their_partitions_along(pool: asyncpg.Pool) -> None:
    await import_profiles(pool, community_lines())
    run_ids = [(await recluster(pool)).run_id for _ in range(runs.KEEP_FINISHED_RUNS + 3)]
    kept = {r["run_id"] for r in await pool.fetch("SELECT run_id FROM cluster_runs")}
    assert run_ids[-1] in kept
    assert len(kept) == runs.KEEP_FINISHED_RUNS + 1  # the live run + the most recent others
    assert await _partitions(pool) == {match_store.match_partition(r) for r in kept}
    assert await pool.fetchval("SELECT count(DISTINCT run_id) FROM matches") == len(kept)


async def test_member_who_unlinks_during_a_run_leaves_no_rows_in_it(pool: asyncpg.Pool) -> None:
    await import_profiles(pool, community_lines())
    loop = asyncio.get_running_loop()
    leaver = 1003
    unlinked: list[bool] = []

    def progress(stage: str, done: int, total: int) -> None:
        # Called in the executor thread while the run computes from a community that still
        # holds the leaver: unlink them right then, through the event loop.
        if stage == "matching" and not unlinked:
            unlinked.append(asyncio.run_coroutine_threadsafe(unlink(pool, leaver), loop).result())

    summary = await recluster(pool, progress=progress)
    assert unlinked == [True]
    assert summary.members == 30  # computed before they left
    mentions = await pool.fetchval(
        "SELECT count(*) FROM matches WHERE user_id = $1 OR other_id = $1", leaver
    )
    assert mentions == 0
    others = await matches_for(pool, 1000, GUILD, limit=29)
    assert leaver not in {m.user_id for m in others.matches}
    assert len(others.matches) >= 19  # 20 stored per member, the leaver's row gone if there
    assert await pool.fetchval("SELECT count(*) FROM user_clusters WHERE user_id = $1", leaver) == 0


async def test_unlink_deletes_the_member_from_every_run(pool: asyncpg.Pool) -> None:
    await import_profiles(pool, community_lines())
    await recluster(pool)
    await recluster(pool)
    assert await pool.fetchval("SELECT count(*) FROM matches WHERE other_id = 1003") > 0
    assert await unlink(pool, 1003)
    assert await pool.fetchval(
        "SELECT count(*) FROM matches WHERE user_id = 1003 OR other_id = 1003"
    ) == 0


async def test_matches_of_runs_before_0008_stay_readable(empty_db_url: str) -> None:
    before = [m for m in load_migrations() if m.version < 8]
    conn = await connect(empty_db_url)
    try:
        await migrate(conn, before)
        await conn.execute("INSERT INTO members (user_id) VALUES (1), (2)")
        run = await conn.fetchval("INSERT INTO cluster_runs (status) VALUES ('complete') RETURNING run_id")
        await conn.execute("INSERT INTO live_runs (scope_id, run_id) VALUES (7, $1)", run)
        await conn.execute(
            """INSERT INTO matches (run_id, scope_id, user_id, rank, other_id, score, reasons)
               VALUES ($1, 7, 1, 1, 2, 0.9, '{"v": 2, "a": [["x", 1, 2]]}'::jsonb)""",
            run,
        )
        await migrate(conn)
        row = await conn.fetchrow("SELECT * FROM matches")
        assert (row["run_id"], row["user_id"], row["other_id"]) == (run, 1, 2)
        assert row["reasons"] == '{"a": [["x", 1, 2]], "v": 2}'  # jsonb's own text form
        partition = await conn.fetchval(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        )
        assert partition == match_store.match_partition(run)
        await conn.execute("INSERT INTO guild_members (guild_id, user_id) VALUES (7, 2)")
        await conn.execute("INSERT INTO artists (artist_id, name) VALUES ('x', 'The X')")
        [match] = await match_store.live_matches(conn, 7, 1, 5)
        assert match["reasons"]["shared_artists"] == [
            {"id": "x", "name": "The X", "rank_a": 1, "rank_b": 2}
        ]
    finally:
        await conn.close()


async def test_stored_reasons_are_read_from_each_members_side(pool: asyncpg.Pool) -> None:
    await import_profiles(pool, community_lines())
    await recluster(pool)
    async with pool.acquire() as conn:
        ranks = {p.user_id: {a.id: a.rank for a in p.artists} for p in await load_profiles(conn)}
    checked = 0
    for user_id in ranks:
        for match in (await matches_for(pool, user_id, GUILD, limit=20)).matches:
            for shared in match.reasons["shared_artists"]:
                assert shared["rank_a"] == ranks[user_id][shared["id"]]
                assert shared["rank_b"] == ranks[match.user_id][shared["id"]]
                checked += user_id > match.user_id
    assert checked > 50  # plenty of rows read from the second member's side


async def test_odd_item_ids_and_names_survive_the_binary_write(pool: asyncpg.Pool) -> None:
    odd = 'quote " back\\slash\ttab ünï'
    lines = [json.dumps({
        "user_id": str(u), "guild_ids": [str(GUILD)],
        "top_artists": [{"id": odd, "name": "Odd \\ One", "rank": 1, "genres": ["g\\\"x"]},
                        {"id": f"own{u}", "name": f"Own {u}", "rank": 2}],
    }) for u in (1, 2, 3)]
    assert (await import_profiles(pool, lines)).imported == 3
    await recluster(pool)
    found = await matches_for(pool, 1, GUILD, limit=5)
    assert {m.user_id for m in found.matches} == {2, 3}
    reasons = found.matches[0].reasons
    assert reasons["shared_artists"] == [{"id": odd, "name": "Odd \\ One", "rank_a": 1, "rank_b": 1}]
    assert [g["id"] for g in reasons["shared_genres"]] == ['g\\"x']
