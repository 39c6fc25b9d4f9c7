"""Artist identity through the catalogue, against a real PostgreSQL: Last.fm, ListenBrainz, the
export and Spotify land on one id per artist; Last.fm tags are cached in ``artists``."""

from __future__ import annotations

import asyncpg

from soundsync_core.profiles.identity import evidence_of
from soundsync_core.repositories.artist_catalogue import (
    ArtistTagsTable,
    fill_name_keys,
    resolve_artist_ids,
)
from soundsync_core.taste.profile import RankedArtist

QUEEN_SPOTIFY = "1dfeR4HaWDbWqFHLkxsg1d"
QUEEN = "5eecaf18-02ec-47af-a4f2-7831db373419"
SIGUR_ROS = "f6f2326f-6b25-4170-b89d-e235b25508e8"


async def test_sources_meet_on_the_catalogues_ids(pool: asyncpg.Pool) -> None:
    # Spotify profiles wrote these rows (without name keys, as save_profiles does).
    await pool.execute(
        """INSERT INTO artists (artist_id, name) VALUES ($1, 'Queen'), ('0sZx', 'Sigur Rós'),
           ('n1', 'Nirvana'), ('n2', 'Nirvana')""",
        QUEEN_SPOTIFY,
    )
    lastfm = [RankedArtist(f"mbid:{QUEEN}", 1, "QUEEN", 40),
              RankedArtist("name:sigur ros", 2, "Sigur Ros", 9),
              RankedArtist("name:nirvana", 3, "Nirvana", 5)]
    async with pool.acquire() as conn:
        ids = await resolve_artist_ids(conn, {a.id: evidence_of(a) for a in lastfm})
    assert ids == {f"mbid:{QUEEN}": QUEEN_SPOTIFY, "name:sigur ros": "0sZx", "name:nirvana": "name:nirvana"}
    # The Spotify row learnt Queen's MBID: a later source with only the MBID lands on it too.
    assert await pool.fetchval("SELECT mbid::text FROM artists WHERE artist_id = $1", QUEEN_SPOTIFY) == QUEEN
    listenbrainz = [RankedArtist(f"mbid:{QUEEN}", 1, "Queen (UK band)", 7),
                    RankedArtist(f"mbid:{SIGUR_ROS}", 2, "Sigur Rós", 3)]
    async with pool.acquire() as conn:
        ids = await resolve_artist_ids(conn, {a.id: evidence_of(a) for a in listenbrainz})
    assert ids == {f"mbid:{QUEEN}": QUEEN_SPOTIFY, f"mbid:{SIGUR_ROS}": "0sZx"}
    assert await pool.fetchval("SELECT count(*) FROM artists WHERE name_key IS NULL") == 0


async def test_name_keys_are_filled_for_rows_written_elsewhere(pool: asyncpg.Pool) -> None:
    await pool.execute("INSERT INTO artists (artist_id, name) VALUES ('a', 'Beyoncé'), ('b', 'MØ')")
    async with pool.acquire() as conn:
        assert await fill_name_keys(conn, batch=1) == 2
        assert await fill_name_keys(conn) == 0
    keys = await pool.fetch("SELECT name_key FROM artists ORDER BY artist_id")
    assert [r["name_key"] for r in keys] == ["beyonce", "mo"]


async def test_tags_are_cached_in_the_catalogue(pool: asyncpg.Pool) -> None:
    cache = ArtistTagsTable(pool)
    await pool.execute("INSERT INTO artists (artist_id, name, genres) VALUES ('q', 'Queen', '{rock}')")
    assert await cache.fresh(["q", "new"]) == {}
    await cache.remember([RankedArtist("q", 1, "Queen", genres=("classic rock", "glam rock")),
                          RankedArtist("new", 2, "Newcomer")])
    assert await cache.fresh(["q", "new", "unknown"]) == {"q": ("classic rock", "glam rock"), "new": ()}
    stale = ArtistTagsTable(pool, max_age=0)
    assert await stale.fresh(["q"]) == {}
