"""Import → recluster → matches round trip, atomic switch, lock, live scoring, filtering."""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import subprocess
import sys
import textwrap

import asyncpg
import pytest

from soundsync_core.repositories import match_store, runs
from soundsync_core.services.community_views import export_guild_matches, guild_tribes
from soundsync_core.services.importer import import_profiles
from soundsync_core.services.matches import MatchLookupError, matches_for
from soundsync_core.services.recluster import ReclusterBusyError, recluster
from tests.integration.community_data import community_lines, group_of, member_line

GUILD = 1


async def _seed(pool: asyncpg.Pool) -> None:
    report = await import_profiles(pool, community_lines())
    assert report.imported == 30


async def test_round_trip_import_recluster_matches(pool: asyncpg.Pool) -> None:
    await _seed(pool)
    summary = await recluster(pool)
    assert summary.members == 30
    assert summary.k >= 2
    result = await matches_for(pool, 1000, GUILD, limit=5)
    assert not result.scored_live
    assert len(result.matches) == 5
    assert all(m.user_id != 1000 for m in result.matches)
    same_group = [group_of(m.user_id) == group_of(1000) for m in result.matches]
    assert sum(same_group) >= 4
    scores = [m.score for m in result.matches]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert result.matches[0].reasons["shared_artists"]

    exported = [r async for r in export_guild_matches(pool, GUILD, 3)]
    assert len(exported) == 30
    assert {len(r["matches"]) for r in exported} == {3}
    assert all(isinstance(r["user_id"], str) for r in exported)

    tribes = await guild_tribes(pool, GUILD)
    assert sum(t.members_in_guild for t in tribes) == 30
    assert all(t.name for t in tribes)


async def test_hidden_excluded_and_other_guild_members_never_appear(pool: asyncpg.Pool) -> None:
    await _seed(pool)
    rng = random.Random(1)
    await import_profiles(pool, [member_line(5000, "metal", [2], rng)])
    async with pool.acquire() as conn:
        await conn.execute("UPDATE members SET visibility = 'hidden' WHERE user_id = 1001")
    await recluster(pool)
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO match_exclusions (user_id, other_id, reason) "
            "VALUES (1000, 1002, 'friends')"
        )
        # Hidden after the run: must disappear from stored matches too.
        await conn.execute("UPDATE members SET visibility = 'hidden' WHERE user_id = 1003")
    result = await matches_for(pool, 1000, GUILD, limit=29)
    shown = {m.user_id for m in result.matches}
    assert shown.isdisjoint({1000, 1001, 1002, 1003, 5000})
    with pytest.raises(MatchLookupError, match="not in guild"):
        await matches_for(pool, 5000, GUILD)


@pytest.mark.parametrize(
    ("user_id", "guild_id", "operator_words"),
    [(5000, GUILD, "not in guild"), (4242, GUILD, "no listening profile"), (1000, None, "visibility")],
)
async def test_match_refusals_name_ids_for_the_operator_only(
    pool: asyncpg.Pool, user_id: int, guild_id: int | None, operator_words: str
) -> None:
    await _seed(pool)
    await import_profiles(pool, [member_line(5000, "metal", [2], random.Random(1))])
    with pytest.raises(MatchLookupError) as caught:
        await matches_for(pool, user_id, guild_id)
    assert f"member {user_id}" in str(caught.value)
    assert operator_words in str(caught.value)
    assert not re.search(r"[0-9]|soundsync ", caught.value.member_message)


async def test_member_who_joined_after_the_run_is_scored_live(pool: asyncpg.Pool) -> None:
    await _seed(pool)
    await recluster(pool)
    rng = random.Random(3)
    await import_profiles(pool, [member_line(6000, "jazz", [GUILD], rng)])
    result = await matches_for(pool, 6000, GUILD, limit=5)
    assert result.scored_live
    assert len(result.matches) == 5
    assert sum(group_of(m.user_id) == "jazz" for m in result.matches) >= 4
    assert all(0.0 <= m.score <= 1.0 for m in result.matches)


async def test_second_recluster_is_refused_while_one_runs(pool: asyncpg.Pool) -> None:
    await _seed(pool)
    async with pool.acquire() as holder:
        assert await runs.try_lock_recluster(holder)
        try:
            with pytest.raises(ReclusterBusyError):
                await recluster(pool)
        finally:
            await runs.unlock_recluster(holder)
    outcomes = await asyncio.gather(recluster(pool), recluster(pool), return_exceptions=True)
    assert sum(isinstance(o, ReclusterBusyError) for o in outcomes) == 1


KILL_MID_WRITE = textwrap.dedent("""
    import asyncio, os, signal, sys
    from soundsync_core.db.pool import create_pool
    from soundsync_core.services.recluster import recluster

    def die_while_writing(stage, done, total):
        if stage == "writing" and done == 1:  # after the first chunk of matches
            os.kill(os.getpid(), signal.SIGKILL)

    async def main():
        pool = await create_pool(sys.argv[1])
        await recluster(pool, progress=die_while_writing)

    asyncio.run(main())
""")


async def _until_dead_session_released_its_lock(pool: asyncpg.Pool) -> None:
    """PostgreSQL frees a killed client's advisory lock once it notices the closed socket."""
    for _ in range(100):
        held = await pool.fetchval(
            """SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"""
        )
        if held == 0:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the killed recluster's lock was never released")


async def test_killed_run_leaves_previous_run_serving(pool: asyncpg.Pool, db_url: str) -> None:
    await _seed(pool)
    first = await recluster(pool)
    before = await matches_for(pool, 1000, GUILD, limit=5)
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME"}}
    proc = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", KILL_MID_WRITE, db_url],
        env=env, capture_output=True, timeout=120, check=False,
    )
    assert proc.returncode == -signal.SIGKILL
    async with pool.acquire() as conn:
        assert await runs.live_run_id(conn, GUILD) == first.run_id
        dead = await conn.fetchval("SELECT max(run_id) FROM cluster_runs WHERE status = 'running'")
        assert dead is not None
        assert dead > first.run_id
        assert await conn.fetchval("SELECT count(*) FROM user_clusters WHERE run_id = $1", dead)
        assert await conn.fetchval("SELECT count(*) FROM run_items WHERE run_id = $1", dead)
        assert await conn.fetchval(f"SELECT count(*) FROM {match_store.match_partition(dead)}")  # noqa: S608
    after = await matches_for(pool, 1000, GUILD, limit=5)
    assert [m.user_id for m in after.matches] == [m.user_id for m in before.matches]

    await _until_dead_session_released_its_lock(pool)
    third = await recluster(pool)
    async with pool.acquire() as conn:
        assert await runs.live_run_id(conn, GUILD) == third.run_id
        status = await conn.fetchval("SELECT status FROM cluster_runs WHERE run_id = $1", dead)
        leftovers = await conn.fetchval(
            """SELECT (SELECT count(*) FROM user_clusters WHERE run_id = $1)
                      + (SELECT count(*) FROM run_items WHERE run_id = $1)""", dead
        )
        partition = await conn.fetchval("SELECT to_regclass($1)", match_store.match_partition(dead))
    assert status == "failed"
    assert leftovers == 0
    assert partition is None


async def test_late_joiner_in_a_large_guild_is_scored_against_the_nearest_tribes(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _seed(pool)
    await recluster(pool)
    monkeypatch.setattr("soundsync_core.services.matches.LIVE_CANDIDATE_LIMIT", 5)
    rng = random.Random(4)
    await import_profiles(pool, [member_line(6001, "kpop", [GUILD], rng)])
    result = await matches_for(pool, 6001, GUILD, limit=5)
    assert result.scored_live
    assert len(result.matches) == 5
    assert all(group_of(m.user_id) == "kpop" for m in result.matches)
