"""The recluster's columnar load gives the same taste vectors as the profile objects it replaces."""

from __future__ import annotations

import gc
import math
from dataclasses import replace

import asyncpg
import numpy as np

from soundsync_core.repositories.community import load_community
from soundsync_core.repositories.profile_lists import load_coded_lists
from soundsync_core.repositories.profile_table import load_profile_table
from soundsync_core.repositories.profiles import load_profiles, save_profiles
from soundsync_core.taste.engine import TasteSpace
from soundsync_core.taste.profile import RankedArtist, RankedTrack, TasteProfile
from soundsync_core.taste.similarity import TasteVectors, build_vectors
from soundsync_synthetic import generate_community

GUILD = 4242


def assert_same_vectors(got: TasteVectors, want: TasteVectors) -> None:
    """Every view equal, array by array (the same code computes both: no rounding allowed)."""
    for name, view in want.items.items():
        other = got.items[name]
        assert other.ids.tolist() == view.ids.tolist(), name
        for attr in ("matrix", "ranks"):
            a, b = getattr(other, attr), getattr(view, attr)
            assert a.shape == b.shape, (name, attr)
            assert (a != b).nnz == 0, (name, attr)
        np.testing.assert_array_equal(other.rarity, view.rarity)
        np.testing.assert_array_equal(other.present, view.present)
    np.testing.assert_array_equal(got.audio.vectors, want.audio.vectors)
    np.testing.assert_array_equal(got.audio.present, want.audio.present)
    np.testing.assert_array_equal(got.audio.natural_means, want.audio.natural_means)
    assert got.baselines == want.baselines


def _edge_members() -> list[TasteProfile]:
    audio = (
        RankedTrack("e-t1", 1, "One", ("e-a1", "e-a2"), 5, {"energy": 0.7, "tempo": float("inf")}),
        RankedTrack("e-t2", 2, "Two", ("e-a2",), None, {"valence": float("nan"), "loudness": -9.0}),
        RankedTrack("e-t3", 3, "", ("e-a3",)),
    )
    return [
        # Tracks only: the artists come from the tracks.
        TasteProfile(901, (), audio, display_name="tracks only", guild_ids=(GUILD,)),
        # Playcounts for some artists, an artist listed twice, genres.
        TasteProfile(902, (
            RankedArtist("e-a2", 1, "A2", 40, ("shoegaze",)),
            RankedArtist("e-a1", 2, "A1", None, ("shoegaze", "dream pop")),
            RankedArtist("e-a2", 3, "A2", 3),
            RankedArtist("e-a9", 4, "", 0),
        ), audio[:2], guild_ids=(GUILD,)),
        # Artists only.
        TasteProfile(903, (RankedArtist("e-a3", 1, "A3"), RankedArtist("e-a1", 2, "A1")), guild_ids=(1,)),
    ]


async def _save(pool: asyncpg.Pool) -> None:
    community = generate_community(150, seed=4)
    profiles = [replace(p, guild_ids=(*p.guild_ids, GUILD)) if i % 3 == 0 else p
                for i, p in enumerate(community.profiles)]
    second = [  # a second source for a few members: merged by rank fusion
        TasteProfile(p.user_id, tuple(reversed(p.artists[:8])), p.tracks[5:], sources=("lastfm",))
        for p in profiles[:6]
    ]
    async with pool.acquire() as conn:
        await save_profiles(conn, [*profiles, *_edge_members()], source="import")
        await save_profiles(conn, second, source="lastfm")
        await save_profiles(conn, [TasteProfile(903, (), _edge_members()[0].tracks)], source="lastfm")


async def test_table_load_gives_the_vectors_of_the_profile_objects(pool: asyncpg.Pool) -> None:
    await _save(pool)
    async with pool.acquire() as conn:
        table = await load_profile_table(conn)
        assert gc.isenabled()  # paused for the bulk decode only
        profiles = await load_profiles(conn)
    assert table.user_ids.tolist() == [p.user_id for p in profiles]
    assert len(table) == 153
    assert sum(len(p.sources) > 1 for p in profiles) == 7
    assert_same_vectors(build_vectors(table, seed=2), build_vectors(profiles, seed=2))
    assert TasteSpace(table, build_vectors(table)).names == TasteSpace.fit(profiles).names
    names = TasteSpace(table, build_vectors(table)).names
    assert names["tracks"]["e-t1"] == "One"
    assert names["artists"]["e-a9"] == "e-a9"  # no catalogue name: the id, like the profiles
    assert "e-a3" not in names["tracks"]


async def test_a_lean_load_gives_the_same_vectors_without_track_names(pool: asyncpg.Pool) -> None:
    await _save(pool)
    async with pool.acquire() as conn:
        lean = await load_profile_table(conn, lean=True)
        edge = await load_profile_table(conn, [901, 902, 903], lean=True)
        full_edge = await load_profile_table(conn, [901, 902, 903])
        profiles = await load_profiles(conn)
    assert_same_vectors(build_vectors(lean, seed=2), build_vectors(profiles, seed=2))
    assert lean.track_names == {}
    assert TasteSpace(lean, build_vectors(lean)).names["artists"] == TasteSpace.fit(profiles).names["artists"]
    # Only 901 lists no artist: only its tracks' artists were read.
    asked = np.flatnonzero(np.diff(edge.track_artists.start) > 0)
    assert sorted(edge.track_ids[asked].tolist()) == ["e-t1", "e-t2", "e-t3"]
    assert edge.track_ids.tolist() == full_edge.track_ids.tolist()
    np.testing.assert_array_equal(edge.track_features, full_edge.track_features)
    assert not np.isnan(edge.track_features).all()


async def test_edge_members_come_back_with_their_shapes(pool: asyncpg.Pool) -> None:
    await _save(pool)
    async with pool.acquire() as conn:
        table = await load_profile_table(conn, [901, 902, 903])
    vectors = build_vectors(table)
    artists = vectors.items["artists"]
    # 901 lists no artist: e-a2 carries t1 and t2, e-a1 only t1, e-a3 only t3.
    ranks = {artists.ids[c]: r for c, r in zip(artists.ranks[0].indices, artists.ranks[0].data, strict=True)}
    assert ranks == {"e-a2": 1, "e-a1": 2, "e-a3": 3}
    genres = vectors.items["genres"]
    assert genres.ids.tolist() == ["shoegaze", "dream pop"]
    assert genres.present.tolist() == [False, True, True]  # 903 lists e-a1, tagged by 902
    assert vectors.items["tracks"].present.tolist() == [True, True, True]  # 903's second source
    infinite_tempo = vectors.audio.natural_means[0, 6]
    assert math.isnan(infinite_tempo)
    assert vectors.audio.natural_means[1, 4] == -9.0


async def test_a_guild_community_loads_only_its_members(pool: asyncpg.Pool) -> None:
    await _save(pool)
    async with pool.acquire() as conn:
        community = await load_community(conn, GUILD)
        profiles = await load_profiles(conn, community.profiles.user_ids.tolist())
    assert community.profiles.user_ids.tolist() == sorted(community.guild_members[GUILD])
    assert {901, 902} <= set(community.profiles.user_ids.tolist())
    assert_same_vectors(build_vectors(community.profiles), build_vectors(profiles))


async def test_lists_read_in_chunks_are_the_lists_read_at_once(pool: asyncpg.Pool) -> None:
    await _save(pool)
    async with pool.acquire() as conn:
        # Members without profiles between the chunks' first members, merged members in several.
        await conn.execute("INSERT INTO members (user_id) SELECT g FROM generate_series(1, 40) g"
                           " ON CONFLICT DO NOTHING")
        whole = await load_coded_lists(conn, None, chunk_members=1_000_000)
        chunked = await load_coded_lists(conn, None, chunk_members=7)
        some = [903, 901, *whole.user_ids[::5].tolist()]
        some_whole = await load_coded_lists(conn, some, chunk_members=1_000_000)
        some_chunked = await load_coded_lists(conn, some, chunk_members=4)
    for got, want in ((chunked, whole), (some_chunked, some_whole)):
        assert got.user_ids.tolist() == want.user_ids.tolist()
        assert (got.artist_ids, got.track_ids) == (want.artist_ids, want.track_ids)
        for a, b in ((got.artists, want.artists), (got.tracks, want.tracks)):
            for column in ("member", "item", "rank", "count"):
                np.testing.assert_array_equal(getattr(a, column), getattr(b, column))
    assert len(some_whole.user_ids) == len(set(some)) < len(whole.user_ids)


async def test_nobody_to_load_gives_empty_lists(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        for asked in (None, [], [123456]):  # no member at all, none asked, one without a profile
            lists = await load_coded_lists(conn, asked)
            assert (len(lists.user_ids), len(lists.artists.member), lists.artist_ids) == (0, 0, [])
