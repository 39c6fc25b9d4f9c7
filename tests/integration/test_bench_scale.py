"""``soundsync bench scale``: its generated community, and one small run end to end."""

from __future__ import annotations

import asyncpg
import numpy as np
import pytest

from soundsync_bench import scale
from soundsync_bench.scale import JSON_KEYS, WARM_UP_MEMBERS, format_markdown, run_scale_bench, warm_up
from soundsync_bench.scale_data import (
    BIG_GUILD,
    TOP_ITEMS,
    TRACKS_PER_ARTIST,
    generate_scale_community,
    load_scale_community,
)
from soundsync_core.repositories.profile_table import load_profile_table
from soundsync_core.taste.neighbours import EXACT_LIMIT


def test_community_has_the_shape_the_issue_asks_for() -> None:
    community = generate_scale_community(5_000, seed=2)
    assert community.artists.shape == community.tracks.shape == (5_000, TOP_ITEMS)
    assert all(len(set(row)) == TOP_ITEMS for row in community.artists.tolist())
    assert community.n_artists == 1_000
    assert np.array_equal(community.tracks // TRACKS_PER_ARTIST, community.artists)
    # Zipf popularity: the most listed artist is in far more lists than the median one.
    listed = np.bincount(community.artists.ravel(), minlength=community.n_artists)
    assert listed.max() > 20 * np.median(listed)
    sizes = np.bincount(community.guilds.guild_of)
    assert sizes[BIG_GUILD] == 1_000 == sizes.max()
    per_member = np.bincount(community.guilds.member_of, minlength=5_000)
    assert per_member.min() >= 1
    assert per_member.max() <= 3


def test_the_warm_up_community_runs_the_candidate_search() -> None:
    # Its largest guild is above the exact ranking's limit, so the warm-up compiles every kernel.
    sizes = np.bincount(generate_scale_community(WARM_UP_MEMBERS).guilds.guild_of)
    assert sizes.max() > EXACT_LIMIT


async def test_warm_up_reclusters_its_community(pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scale, "WARM_UP_MEMBERS", 300)
    await warm_up(pool, None, seed=2)
    assert await pool.fetchval("SELECT count(DISTINCT user_id) FROM user_clusters") == 300
    assert await pool.fetchval("SELECT count(*) FROM matches") > 0


async def test_loaded_community_reads_back_as_generated(pool: asyncpg.Pool) -> None:
    community = generate_scale_community(300, seed=4)
    async with pool.acquire() as conn:
        await load_scale_community(conn, community)
        table = await load_profile_table(conn)
        guild_rows = await conn.fetchval("SELECT count(*) FROM guild_members")
    assert table.user_ids.tolist() == list(range(1, 301))
    mine = table.artists.member == 0
    first = [table.artist_ids[i] for i in table.artists.item[mine][np.argsort(table.artists.rank[mine])]]
    assert first == [f"ar{a:08d}" for a in community.artists[0]]
    assert guild_rows == len(community.guilds.guild_of)


async def test_small_run_reports_every_judged_figure(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Guilds above 50 members (guild 1 has 80 of 400) then use the candidate search, so recall
    # is measured on every member of theirs.
    monkeypatch.setattr(scale, "EXACT_LIMIT", 50)
    monkeypatch.setattr("soundsync_core.taste.neighbours.EXACT_LIMIT", 50)
    monkeypatch.setattr(scale, "READS", 50)
    said: list[str] = []
    report = await run_scale_bench(pool, 400, 0, None, seed=3, say=said.append)
    stored = await pool.fetchval("SELECT count(*) FROM matches")
    assert report.match_rows == stored > 0
    assert list(report.judged()) == list(JSON_KEYS)
    assert report.copy_floor_seconds > 0
    assert report.recluster_seconds > 0
    assert report.ratio_to_floor == pytest.approx(report.recluster_seconds / report.copy_floor_seconds)
    assert report.peak_rss_mb > 50
    sizes = np.bincount(generate_scale_community(400, seed=3).guilds.guild_of)
    assert report.recall_pairs == sizes[sizes > 50].sum() >= 80
    assert 0.5 < report.recall_at_10 <= 1.0
    assert 0 < report.matches_p50_ms <= report.matches_p99_ms
    assert not await pool.fetchval("SELECT to_regclass($1) IS NOT NULL",
                                    f"matches_run_{scale.FLOOR_TABLE_RUN}")
    assert "| 400 | 0 |" in format_markdown([report])
