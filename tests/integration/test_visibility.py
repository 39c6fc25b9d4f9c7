"""The one visibility rule (repositories/visibility.py), rule by rule, through the repository
functions that list members, on a real database with a live run.

Each test changes a member's state *after* the run was written, so what it proves is the SQL
filter, not the recluster leaving someone out.
"""

from __future__ import annotations

import random

import asyncpg
import pytest

from soundsync_core.repositories import connections, match_store, members, outbox, tribes
from soundsync_core.repositories.runs import GLOBAL_SCOPE, live_run_id
from soundsync_core.services.importer import import_profiles
from soundsync_core.services.recluster import recluster
from tests.integration.community_data import community_lines, member_line

GUILD = 1
OTHER_GUILD = 2
IN_GUILD = list(range(1000, 1012))
ONLY_IN_OTHER_GUILD = 2000
EVERYONE = [*IN_GUILD, ONLY_IN_OTHER_GUILD]


async def _community(pool: asyncpg.Pool, global_members: list[int]) -> None:
    """12 members in GUILD, one in OTHER_GUILD only; ``global_members`` opted into global."""
    lines = community_lines(per_group=4, guild=GUILD)
    lines.append(member_line(ONLY_IN_OTHER_GUILD, "metal", [OTHER_GUILD], random.Random(3)))
    report = await import_profiles(pool, lines)
    assert report.imported == len(EVERYONE)
    if global_members:
        await members.set_visibility(pool, global_members, "global")
    await recluster(pool)


async def _listed(conn: asyncpg.Connection, viewer: int, scope: int) -> dict[str, set[int]]:
    """Who each member-listing query shows ``viewer`` in ``scope``."""
    stored = await match_store.live_matches(conn, scope, viewer, 50)
    checked = await match_store.checked_live_matches(
        conn, viewer, None if scope == GLOBAL_SCOPE else scope, scope, 50)
    assert checked.eligibility is not None
    assert checked.eligibility["in_run"]
    return {
        "candidates": set(await members.match_candidates(conn, viewer, scope)),
        "live matches": {r["other_id"] for r in stored},
        "checked live matches (/matches)": {r["other_id"] for r in checked.matches},
        "digest": await outbox.still_shown(conn, viewer, EVERYONE, scope),
    }


async def test_a_hidden_member_is_never_listed(pool: asyncpg.Pool) -> None:
    await _community(pool, global_members=[1000, 1001])
    async with pool.acquire() as conn:
        for scope in (GUILD, GLOBAL_SCOPE):
            assert all(1001 in found for found in (await _listed(conn, 1000, scope)).values())
        points_before = len(await tribes.map_points(conn, await live_run_id(conn, GUILD), GUILD))

        await members.update_settings(conn, 1001, None, "hidden")

        for scope in (GUILD, GLOBAL_SCOPE):
            for query, found in (await _listed(conn, 1000, scope)).items():
                assert 1001 not in found, query
        assert 1001 not in await outbox.guild_members_among(conn, GUILD, EVERYONE)
        points = await tribes.map_points(conn, await live_run_id(conn, GUILD), GUILD)
        assert len(points) == points_before - 1
        assert not await members.profile_visible(conn, 1001, GUILD)
        assert not await members.profile_visible(conn, 1001, None)


async def test_the_global_scope_lists_only_global_members(pool: asyncpg.Pool) -> None:
    await _community(pool, global_members=[1000, 1001, ONLY_IN_OTHER_GUILD])
    async with pool.acquire() as conn:
        assert (await _listed(conn, 1000, GLOBAL_SCOPE))["live matches"] == {1001, ONLY_IN_OTHER_GUILD}

        await members.update_settings(conn, 1001, None, "server")

        for query, found in (await _listed(conn, 1000, GLOBAL_SCOPE)).items():
            assert found == {ONLY_IN_OTHER_GUILD}, query
        # A guild's scope lists its own members, global or not, and nobody from elsewhere.
        for query, found in (await _listed(conn, 1000, GUILD)).items():
            assert found == set(IN_GUILD) - {1000}, query
        assert await members.profile_visible(conn, ONLY_IN_OTHER_GUILD, GUILD)
        assert not await members.profile_visible(conn, 1001, None)
        assert await members.profile_visible(conn, 1001, GUILD)
        assert not await members.profile_visible(conn, 1001, OTHER_GUILD)


@pytest.mark.parametrize("who_asked", ["viewer", "other"])
async def test_an_excluded_pair_is_hidden_in_both_directions(pool: asyncpg.Pool, who_asked: str) -> None:
    await _community(pool, global_members=[])
    async with pool.acquire() as conn:
        assert all(1001 in found for found in (await _listed(conn, 1000, GUILD)).values())

        asker, other = (1000, 1001) if who_asked == "viewer" else (1001, 1000)
        assert await connections.upsert_exclusion(conn, asker, other, "not_interested")

        for viewer, hidden in ((1000, 1001), (1001, 1000)):
            for query, found in (await _listed(conn, viewer, GUILD)).items():
                assert hidden not in found, f"{query}: {viewer} still sees {hidden}"
                assert 1002 in found, query


async def test_a_member_is_never_listed_to_themself(pool: asyncpg.Pool) -> None:
    await _community(pool, global_members=[1000, 1001])
    async with pool.acquire() as conn:
        for scope in (GUILD, GLOBAL_SCOPE):
            for query, found in (await _listed(conn, 1000, scope)).items():
                assert 1000 not in found, query
                assert 1001 in found, query
