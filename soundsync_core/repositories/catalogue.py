"""The shared catalogue of artists and tracks (``artists``, ``tracks``): the data-export
import's look-ups by id or by SQL-normalised name.

Written along with profiles (:mod:`~soundsync_core.repositories.profiles`); the cross-source
artist identity rule and its ``name_key`` live in :mod:`artist_catalogue`.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

# SQL twin of sources.spotify_export.normalise_name (migration 0007 indexes it); rows it finds
# are checked again in Python, because locales differ.
_SQL_NORMALISED = r"lower(regexp_replace(btrim(name), '\s+', ' ', 'g'))"


async def tracks_by_id(conn: asyncpg.Connection, track_ids: Sequence[str]) -> list[asyncpg.Record]:
    """``track_id``, ``name``, ``artist_ids`` of the known tracks among ``track_ids``."""
    return await conn.fetch(
        "SELECT track_id, name, artist_ids FROM tracks WHERE track_id = ANY($1::text[])",
        list(track_ids),
    )


async def artist_names(conn: asyncpg.Connection, artist_ids: Sequence[str]) -> dict[str, str]:
    """Artist id → name, for the known artists among ``artist_ids``."""
    rows = await conn.fetch(
        "SELECT artist_id, name FROM artists WHERE artist_id = ANY($1::text[])", list(artist_ids)
    )
    return {r["artist_id"]: r["name"] for r in rows}


async def artists_named(conn: asyncpg.Connection, names: Sequence[str]) -> list[asyncpg.Record]:
    """``artist_id``, ``name`` of catalogue artists (not name-only ones) whose normalised name
    is one of ``names``; several artists may share a name."""
    return await conn.fetch(
        f"""SELECT artist_id, name FROM artists
            WHERE artist_id NOT LIKE 'name:%' AND {_SQL_NORMALISED} = ANY($1::text[])""",  # noqa: S608
        list(names),
    )


async def tracks_named(
    conn: asyncpg.Connection, titles: Sequence[str], artist_ids: Sequence[str]
) -> list[asyncpg.Record]:
    """``track_id``, ``name``, ``artist_ids`` of catalogue tracks (not name-only ones) whose
    normalised title is one of ``titles`` by one of ``artist_ids``."""
    return await conn.fetch(
        f"""SELECT track_id, name, artist_ids FROM tracks
            WHERE track_id NOT LIKE 'name:%' AND artist_ids && $2::text[]
              AND {_SQL_NORMALISED} = ANY($1::text[])""",  # noqa: S608
        list(titles), list(artist_ids),
    )
