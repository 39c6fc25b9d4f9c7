"""The artist catalogue (``artists``) as the identity rule and the tag cache use it.

:func:`resolve_artist_ids` maps one source's artists onto the ids the catalogue already holds
(:class:`~soundsync_core.profiles.identity.ArtistIndex`: by MBID, else by a unique normalised
name) and remembers what it learnt — an MBID found for a Spotify-id artist, the name key of
every artist it saw — so the next source meets them directly. ``name_key`` is computed in
Python (the name rule is not expressible in SQL); rows written elsewhere without one are
filled by :func:`fill_name_keys`, which the resolver runs first.

:class:`ArtistTagsTable` is the :class:`~soundsync_core.sources.artist_tags.ArtistTagCache` on
``artists.genres`` and ``artists.tags_fetched_at``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

import asyncpg

from soundsync_core.profiles.identity import (
    ArtistIndex,
    CatalogueArtist,
    Evidence,
    as_mbid,
    mbid_of,
    normalise_artist_name,
)
from soundsync_core.sources.artist_tags import TAGS_MAX_AGE
from soundsync_core.taste.profile import RankedArtist

NAME_KEY_BATCH = 5000


async def fill_name_keys(conn: asyncpg.Connection, batch: int = NAME_KEY_BATCH) -> int:
    """Give every catalogue artist without a ``name_key`` one; returns how many were filled."""
    filled = 0
    while True:
        rows = await conn.fetch(
            "SELECT artist_id, name FROM artists WHERE name_key IS NULL LIMIT $1", batch
        )
        if not rows:
            return filled
        await conn.execute(
            """UPDATE artists SET name_key = k.name_key
               FROM unnest($1::text[], $2::text[]) AS k (artist_id, name_key)
               WHERE artists.artist_id = k.artist_id""",
            [r["artist_id"] for r in rows], [normalise_artist_name(r["name"]) for r in rows],
        )
        filled += len(rows)


async def _catalogue(
    conn: asyncpg.Connection, evidence: Mapping[str, Evidence]
) -> list[CatalogueArtist]:
    """The catalogue rows that could be any of these artists (same MBID or same name key)."""
    mbids = sorted({m for e in evidence.values() if (m := as_mbid(e[0])) is not None})
    keys = sorted({normalise_artist_name(e[2]) for e in evidence.values() if e[2]})
    rows = await conn.fetch(
        """SELECT artist_id, name, mbid::text AS mbid FROM artists
           WHERE mbid = ANY($1::uuid[]) OR name_key = ANY($2::text[])""",
        mbids, keys,
    )
    return [CatalogueArtist(r["artist_id"], r["name"], r["mbid"]) for r in rows]


async def resolve_artist_ids(
    conn: asyncpg.Connection, evidence: Mapping[str, Evidence]
) -> dict[str, str]:
    """``{adapter's artist id: (mbid, spotify id, name)}`` → ``{adapter's id: catalogue id}``,
    remembering each artist's MBID and name key in the catalogue."""
    await fill_name_keys(conn)
    index = ArtistIndex.of(await _catalogue(conn, evidence))
    resolved = {key: index.resolve(*found) for key, found in evidence.items()}
    await remember_identities(
        conn, [(resolved[key], found[2], found[0]) for key, found in evidence.items()]
    )
    return resolved


async def remember_identities(
    conn: asyncpg.Connection, artists: Sequence[tuple[str, str, str | None]]
) -> None:
    """Record ``(artist id, name, mbid)``: new artists are added, a known artist keeps its
    name and gains the MBID if it had none; every row gets its name key."""
    chosen: dict[str, tuple[str, str | None]] = {}
    for artist_id, name, mbid in artists:
        known = as_mbid(mbid) or mbid_of(artist_id)
        name_seen, mbid_seen = chosen.get(artist_id, (name, None))
        chosen[artist_id] = (name_seen, mbid_seen or known)
    ids = sorted(chosen)
    await conn.execute(
        """INSERT INTO artists (artist_id, name, mbid, name_key)
           SELECT artist_id, name, mbid, name_key
           FROM unnest($1::text[], $2::text[], $3::uuid[], $4::text[])
                AS k (artist_id, name, mbid, name_key)
           ON CONFLICT (artist_id) DO UPDATE
           SET mbid = COALESCE(artists.mbid, EXCLUDED.mbid),
               name_key = COALESCE(artists.name_key, EXCLUDED.name_key)""",
        ids, [chosen[a][0] for a in ids], [chosen[a][1] for a in ids],
        [normalise_artist_name(chosen[a][0]) for a in ids],
    )


class ArtistTagsTable:
    """Artist genres from Last.fm tags, kept in ``artists`` (an ``ArtistTagCache``)."""

    def __init__(self, pool: asyncpg.Pool, max_age: float = TAGS_MAX_AGE) -> None:
        self._pool = pool
        self._max_age = timedelta(seconds=max_age)

    async def fresh(self, artist_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """The genres of the artists whose tags were fetched within ``max_age``."""
        rows = await self._pool.fetch(
            """SELECT artist_id, genres FROM artists
               WHERE artist_id = ANY($1::text[]) AND tags_fetched_at > now() - $2::interval""",
            list(artist_ids), self._max_age,
        )
        return {r["artist_id"]: tuple(r["genres"]) for r in rows}

    async def remember(self, artists: Sequence[RankedArtist]) -> None:
        """Store freshly fetched genres and when they were fetched (adding unknown artists)."""
        unique = {a.id: a for a in artists}
        await self._pool.executemany(
            """INSERT INTO artists (artist_id, name, genres, name_key, tags_fetched_at)
               VALUES ($1, $2, $3, $4, now())
               ON CONFLICT (artist_id) DO UPDATE
               SET genres = EXCLUDED.genres, tags_fetched_at = now()""",
            [(a.id, a.name, list(a.genres), normalise_artist_name(a.name))
             for a in unique.values()],
        )
