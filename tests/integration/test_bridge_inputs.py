"""The lean read of a match's bridge gives exactly the bridge of the two members' whole profiles."""

from __future__ import annotations

import random
from dataclasses import replace

import asyncpg

from soundsync_core.repositories.bridge_inputs import bridge_inputs
from soundsync_core.repositories.profiles import load_profiles, save_profiles
from soundsync_core.taste.bridge import bridge, profile_bridge
from soundsync_core.taste.profile import TasteProfile
from soundsync_synthetic import generate_community

EVERYTHING = 10_000  # a limit above any list: the whole order must agree, not only its head
NO_PROFILE = 999_999_999


def _second_source(profile: TasteProfile, rng: random.Random, *, counts: bool) -> TasteProfile:
    """Another service's view of the member: a reshuffled part of their lists, plays or ranks."""
    artists = rng.sample(profile.artists, k=len(profile.artists) // 2)
    tracks = rng.sample(profile.tracks, k=len(profile.tracks) // 2)
    return TasteProfile(
        profile.user_id,
        tuple(replace(a, rank=r, playcount=rng.randint(1, 300) if counts else None)
              for r, a in enumerate(artists, 1)),
        tuple(replace(t, rank=r, playcount=rng.randint(1, 300) if counts else None)
              for r, t in enumerate(tracks, 1)),
    )


async def _store_community(pool: asyncpg.Pool) -> list[TasteProfile]:
    """60 synthetic members from Spotify (some with plays); a third with Last.fm too (plays), a
    sixth also with ListenBrainz (half of them with plays); a few catalogue rows missing."""
    profiles = generate_community(60, seed=11).profiles
    rng = random.Random(3)
    async with pool.acquire() as conn:
        await save_profiles(conn, profiles, source="spotify")
        await save_profiles(conn, [_second_source(p, rng, counts=True) for p in profiles[::3]],
                            source="lastfm")
        await save_profiles(conn, [_second_source(p, rng, counts=i % 2 == 0)
                                   for i, p in enumerate(profiles[::6])], source="listenbrainz")
        gone_artists = [a.id for p in profiles[:4] for a in p.artists[:2]]
        gone_tracks = [t.id for p in profiles[:4] for t in p.tracks[:2]]
        await conn.execute("DELETE FROM artists WHERE artist_id = ANY($1::text[])", gone_artists)
        await conn.execute("DELETE FROM tracks WHERE track_id = ANY($1::text[])", gone_tracks)
    return profiles


async def test_the_lean_read_gives_the_bridge_of_the_whole_profiles(pool: asyncpg.Pool) -> None:
    community = await _store_community(pool)
    ids = [p.user_id for p in community]
    pairs = [(r, o) for r in ids[:12] for o in ids if o != r]
    async with pool.acquire() as conn:
        whole = {p.user_id: p for p in await load_profiles(conn, ids)}
        for reader, other in pairs:
            inputs = await bridge_inputs(conn, reader, other)
            assert inputs is not None
            want = profile_bridge(whole[reader], whole[other], limit=EVERYTHING)
            assert bridge(*inputs, limit=EVERYTHING) == want, (reader, other)
            assert bridge(*inputs) == want[:5], (reader, other)
        assert await bridge_inputs(conn, ids[0], NO_PROFILE) is None
        assert await bridge_inputs(conn, NO_PROFILE, ids[0]) is None
    # What the comparison went through: merged members on both sides, links of both kinds,
    # items the catalogue does not know.
    assert {len(whole[r].sources) for r, _ in pairs} == {1, 2, 3}
    assert {len(whole[o].sources) for _, o in pairs} == {1, 2, 3}
    shown = [item for r, o in pairs for item in profile_bridge(whole[r], whole[o], limit=EVERYTHING)]
    assert any(item.kind == "track" and item.via for item in shown)
    assert any(item.kind == "artist" and item.via for item in shown)
    assert any(item.name == item.id for item in shown)
