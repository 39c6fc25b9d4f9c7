"""The % a member reads is stable across reclusters of unchanged data; pages carry a bridge."""

from __future__ import annotations

import asyncpg

from soundsync_core.services.importer import import_profiles
from soundsync_core.services.matches import matches_for, with_details
from soundsync_core.services.member_views import compare
from soundsync_core.services.recluster import recluster
from tests.integration.community_data import community_lines

GUILD = 1


async def _shown(pool: asyncpg.Pool, user_id: int) -> dict[int, float]:
    return {m.user_id: m.score for m in (await matches_for(pool, user_id, GUILD, limit=10)).matches}


async def test_percent_is_the_same_after_a_second_recluster_of_unchanged_data(pool: asyncpg.Pool) -> None:
    await import_profiles(pool, community_lines())
    await recluster(pool)
    first = {u: await _shown(pool, u) for u in (1000, 1001, 1010)}
    await recluster(pool)
    second = {u: await _shown(pool, u) for u in (1000, 1001, 1010)}
    assert first == second
    assert all(0.0 <= s < 1.0 for shown in first.values() for s in shown.values())
    assert all(max(shown.values()) > 0.3 for shown in first.values())


async def test_match_pages_and_compare_carry_a_bridge_from_the_other_members_lists(
    pool: asyncpg.Pool,
) -> None:
    await import_profiles(pool, community_lines())
    await recluster(pool)
    found = await matches_for(pool, 1000, GUILD, limit=3)
    pages = [await with_details(pool, 1000, m) for m in found.matches]
    assert all(page.bridge for page in pages)
    compared = await compare(pool, 1000, pages[0].user_id, GUILD)
    assert compared.bridge == pages[0].bridge
    mine = set(compared.left.artist_ids) | set(compared.left.track_ids)
    theirs = set(compared.right.artist_ids) | set(compared.right.track_ids)
    assert all(item.id in theirs and item.id not in mine for item in compared.bridge)


async def test_reasons_read_when_a_page_is_shown_equal_those_read_up_front(pool: asyncpg.Pool) -> None:
    await import_profiles(pool, community_lines())
    await recluster(pool)
    eager = (await matches_for(pool, 1000, GUILD, limit=5)).matches
    lazy = (await matches_for(pool, 1000, GUILD, limit=5, details=False)).matches
    assert [m.reasons for m in lazy] == [None] * len(eager)
    shown = [await with_details(pool, 1000, m) for m in lazy]
    assert [m.reasons for m in shown] == [m.reasons for m in eager]
    assert all(m.reasons["shared_artists"] for m in shown)
