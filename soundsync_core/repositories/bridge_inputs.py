"""What a match's bridge reads (:mod:`soundsync_core.taste.bridge`), in one query.

The same lists, ranks, names and genres as two profiles from :func:`profiles.load_profiles` (every
source's latest snapshot, merged), without building them: of the reader only the ids they list,
the genres of their artists and the names of those of their artists the other member's tracks are
by; of the other member their ranked tracks and artists with the catalogue's names, track artists
and genres (no play counts, guilds or audio features).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg

from soundsync_core.repositories.profiles import merged_lists
from soundsync_core.taste.bridge import BridgeArtist, BridgeOther, BridgeReader, BridgeTrack

# $1 = the reader, $2 = the other member. One row: every latest snapshot of either (as
# profiles.latest_snapshots), the genres of the reader's artists, the names of the reader's artists
# the other's tracks are by, and the catalogue facts of the other's artists and tracks (an item
# the catalogue lacks is left out: the bridge shows its id). Each part is a subquery run once, so
# the plan's cost does not grow with the planner's guess at the number of snapshots (without
# statistics it guessed hundreds, and JIT-compiled the query for most of a second).
_QUERY = """
WITH snap AS MATERIALIZED (
    SELECT DISTINCT ON (p.user_id, p.source)
           p.user_id, p.source, p.artist_ids, p.artist_counts, p.track_ids, p.track_counts
    FROM profiles p  -- every profile has its member row (foreign key): no join needed
    WHERE p.user_id IN ($1::bigint, $2::bigint)
    ORDER BY p.user_id, p.source, p.captured_at DESC
), their_tracks AS MATERIALIZED (
    SELECT t.track_id, t.name, t.artist_ids FROM tracks t
    WHERE t.track_id IN (SELECT unnest(track_ids) FROM snap WHERE user_id = $2)
)
SELECT
    (SELECT json_agg(snap ORDER BY user_id, source) FROM snap) AS snapshots,
    (SELECT array_agg(DISTINCT g.genre) FROM artists a, unnest(a.genres) AS g(genre)
     WHERE a.artist_id IN (SELECT unnest(artist_ids) FROM snap WHERE user_id = $1)) AS genres,
    (SELECT json_object_agg(a.artist_id, a.name) FROM artists a
     WHERE a.artist_id IN (SELECT unnest(artist_ids) FROM snap WHERE user_id = $1)
       AND a.artist_id IN (SELECT unnest(artist_ids) FROM their_tracks)) AS linked_names,
    (SELECT json_object_agg(a.artist_id, json_build_array(a.name, a.genres)) FROM artists a
     WHERE a.artist_id IN (SELECT unnest(artist_ids) FROM snap WHERE user_id = $2)) AS artists,
    (SELECT json_object_agg(track_id, json_build_array(name, artist_ids))
     FROM their_tracks) AS tracks
"""
_UNKNOWN: tuple[str, tuple[str, ...]] = ("", ())  # an item the catalogue lacks


async def bridge_inputs(
    conn: asyncpg.Connection, reader_id: int, other_id: int
) -> tuple[BridgeReader, BridgeOther] | None:
    """The reader's and the other member's sides of their bridge; None when either has no profile."""
    row = await conn.fetchrow(_QUERY, reader_id, other_id)
    snapshots = row["snapshots"] or []
    mine = [s for s in snapshots if s["user_id"] == reader_id]
    theirs = [s for s in snapshots if s["user_id"] == other_id]
    if not mine or not theirs:
        return None
    reader = BridgeReader(
        # Merging sources unites their lists: the reader's ranks play no part.
        artist_ids={a for snap in mine for a in snap["artist_ids"]},
        track_ids={t for snap in mine for t in snap["track_ids"]},
        genres=set(row["genres"] or ()),
        artist_names=row["linked_names"] or {},
    )
    return reader, _other(theirs, row["artists"] or {}, row["tracks"] or {})


def _other(
    snapshots: Sequence[Mapping[str, Any]], artists: Mapping[str, Sequence[Any]],
    tracks: Mapping[str, Sequence[Any]],
) -> BridgeOther:
    """The merged lists (ranked 1, 2, …) with each item's catalogue facts."""
    lists = merged_lists(snapshots)
    return BridgeOther(
        [BridgeTrack(t, rank, *tracks.get(t, _UNKNOWN)) for rank, t in enumerate(lists.track_ids[0], 1)],
        [BridgeArtist(a, rank, *artists.get(a, _UNKNOWN))
         for rank, a in enumerate(lists.artist_ids[0], 1)],
    )
