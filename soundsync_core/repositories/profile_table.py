"""A whole population's profiles as one :class:`ProfileTable`: the recluster's load of everyone.

Same members, items, names, genres and features as :func:`profiles.load_profiles`, but straight
from the database arrays into flat numpy arrays, without an object per listed item.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import numpy as np

from soundsync_core.gc_pause import cyclic_gc_paused
from soundsync_core.repositories.profile_lists import load_coded_lists
from soundsync_core.taste.profile import (
    AUDIO_FEATURES,
    Coder,
    Listing,
    ProfileTable,
    Ragged,
    feature_table,
)


async def load_profile_table(
    conn: asyncpg.Connection, user_ids: Sequence[int] | None = None, *, lean: bool = False
) -> ProfileTable:
    """:func:`~soundsync_core.repositories.profiles.load_profiles` as one :class:`ProfileTable`.

    Same members (sorted by id), items, names, genres and features, but straight from the
    database arrays into flat numpy arrays, without an object per listed item; the catalogue
    comes back as a few long arrays in code order rather than a record per item.

    ``lean``: only what the vectors and the tribes need (a recluster: its reasons are stored as
    column numbers and named when read). No track names, and a track's artists only for the
    tracks of members who list no artist (the only ones whose artists come from their tracks).
    At 100k members the two track queries it leaves out took 1.0 of the load's 3.9 s.
    """
    # Decoding the catalogue (hundreds of thousands of ids, names and lists): full collections
    # would free nothing (they were a fifth of a 100k-member load when every listed id was
    # decoded).
    with cyclic_gc_paused():
        return await _load_profile_table(conn, user_ids, lean)


async def _load_profile_table(
    conn: asyncpg.Connection, user_ids: Sequence[int] | None, lean: bool
) -> ProfileTable:
    lists = await load_coded_lists(conn, user_ids)
    artist_codes, track_codes, genre_codes = Coder.of(lists.artist_ids), Coder.of(lists.track_ids), Coder()
    artists, tracks = lists.artists, lists.tracks
    listed_artists, track_ids = artist_codes.ids(), track_codes.ids()  # before the tracks' artists
    genre_owner, genres = await _catalogue_lists(conn, "artists", "artist_id", "genres", listed_artists)
    asked = _tracks_of_artistless(artists, tracks, len(lists.user_ids)) if lean else np.arange(len(track_ids))
    artist_owner, track_artists = await _catalogue_lists(
        conn, "tracks", "track_id", "artist_ids", track_ids[asked])
    track_artist_lists = _ragged(len(track_ids), asked[artist_owner], artist_codes.code(track_artists))
    n_artists = len(artist_codes)  # artists known only as a track's artists have no genres
    artist_genres = _ragged(n_artists, genre_owner, genre_codes.code(genres))
    artist_names = await _artist_names(conn, listed_artists)
    track_names, features = (None, await _track_features(conn, track_ids)) if lean else \
        await _track_catalogue(conn, track_ids)
    return ProfileTable(
        user_ids=lists.user_ids,
        artists=artists,
        tracks=tracks,
        artist_ids=artist_codes.ids(),
        track_ids=track_ids,
        genre_ids=genre_codes.ids(),
        artist_code=np.arange(n_artists, dtype=np.int32),
        artist_genres=artist_genres,
        track_code=np.arange(len(track_ids), dtype=np.int32),
        track_artists=track_artist_lists,
        track_features=features,
        artist_names={a: name for a, name in zip(listed_artists, artist_names, strict=True) if name},
        track_names={} if track_names is None else
        {t: name for t, name in zip(track_ids, track_names, strict=True) if name},
    )


async def _catalogue_lists(
    conn: asyncpg.Connection, table: str, key: str, column: str, ids: np.ndarray
) -> tuple[np.ndarray, list[str]]:
    """Every element of the text[] ``column`` of the rows of ``ids``, flat, with its id's position."""
    row = await conn.fetchrow(
        # Identifiers are constants of this module, never input.
        f"""SELECT array_agg(q.code - 1 ORDER BY q.code, e.ord) AS code,
                   array_agg(e.item ORDER BY q.code, e.ord) AS item
            FROM unnest($1::text[]) WITH ORDINALITY AS q({key}, code)
            JOIN {table} USING ({key}), unnest({column}) WITH ORDINALITY AS e(item, ord)""",  # noqa: S608
        ids.tolist(),
    )
    return np.array(row["code"] or [], dtype=np.int64), row["item"] or []


async def _artist_names(conn: asyncpg.Connection, artist_ids: np.ndarray) -> np.ndarray:
    """Name of every artist; like a profile's items, the id itself when the catalogue lacks it."""
    found = await conn.fetchrow(
        """SELECT array_agg(q.code - 1) AS code, array_agg(a.name) AS name
           FROM unnest($1::text[]) WITH ORDINALITY AS q(artist_id, code)
           JOIN artists a USING (artist_id)""",
        artist_ids.tolist(),
    )
    names = artist_ids.copy()
    names[np.array(found["code"] or [], dtype=np.int64)] = found["name"] or []
    return names


async def _track_catalogue(conn: asyncpg.Connection, track_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(name of every track, else its id; its audio features, NaN where unknown)."""
    columns = ", ".join(f"array_agg(f.{f}) AS {f}" for f in AUDIO_FEATURES)
    found = await conn.fetchrow(
        f"""SELECT array_agg(q.code - 1) AS code, array_agg(t.name) AS name,
                   array_agg(f.provider) AS provider, {columns}
            FROM unnest($1::text[]) WITH ORDINALITY AS q(track_id, code)
            JOIN tracks t USING (track_id) LEFT JOIN track_features f USING (track_id)""",  # noqa: S608
        track_ids.tolist(),
    )
    names = track_ids.copy()
    features = np.full((len(track_ids), len(AUDIO_FEATURES)), np.nan)
    if found["code"] is None:
        return names, features
    code = np.array(found["code"], dtype=np.int64)
    names[code] = found["name"]
    provided = np.array([p not in (None, "none") for p in found["provider"]], dtype=bool)
    values = np.array([found[f] for f in AUDIO_FEATURES], dtype=float).T
    features[code[provided]] = values[provided]
    return names, feature_table(features)


def _tracks_of_artistless(artists: Listing, tracks: Listing, n_members: int) -> np.ndarray:
    """The track codes (ascending) listed by members who list no artist."""
    return np.unique(tracks.item[artists.unlisted(n_members)[tracks.member]])


async def _track_features(conn: asyncpg.Connection, track_ids: np.ndarray) -> np.ndarray:
    """The audio features of every track, NaN where unknown (as :func:`_track_catalogue`)."""
    columns = ", ".join(f"array_agg(f.{f}) AS {f}" for f in AUDIO_FEATURES)
    found = await conn.fetchrow(
        f"""SELECT array_agg(q.code - 1) AS code, {columns}
            FROM unnest($1::text[]) WITH ORDINALITY AS q(track_id, code)
            JOIN track_features f USING (track_id) JOIN tracks USING (track_id)
            WHERE f.provider <> 'none'""",  # noqa: S608
        track_ids.tolist(),
    )
    features = np.full((len(track_ids), len(AUDIO_FEATURES)), np.nan)
    if found["code"] is not None:
        features[np.array(found["code"], dtype=np.int64)] = np.array(
            [found[f] for f in AUDIO_FEATURES], dtype=float).T
    return feature_table(features)


def _ragged(n_rows: int, owner: np.ndarray, values: np.ndarray) -> Ragged:
    """Lists from values grouped by their (sorted) owner row."""
    start = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=n_rows), out=start[1:])
    return Ragged(start, values)
