"""What a match's bridge reads (:mod:`soundsync_core.taste.bridge`), in one query.

The same lists, ranks, names and genres as two profiles from :func:`profiles.load_profiles` (every
source's latest snapshot, merged), without building them: of the reader only the ids they list,
the genres of their artists and the names of those of their artists the other member's tracks are
by; of the other member their ranked tracks and artists with the catalogue's names, track artists
and genres (no play counts, guilds or audio features).
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from soundsync_core.repositories.profiles import merged_lists
from soundsync_core.taste.bridge import BridgeArtist, BridgeOther, BridgeReader, BridgeTrack

# $1 = the reader, $2 = the other member. One row per latest snapshot of either (as
# profiles.latest_snapshots); the reader's rows carry its genres and linked artists' names, the
# other's rows its catalogue facts aligned with the snapshot's lists ('' and [] when the
# catalogue lacks the item: the bridge shows the id). Each part is computed for the rows of its
# member only (one-time filters).
_QUERY = """
WITH snap AS (
    SELECT DISTINCT ON (p.user_id, p.source)
           p.user_id, p.source, p.artist_ids, p.artist_counts, p.track_ids, p.track_counts
    FROM profiles p JOIN members m USING (user_id)
    WHERE p.user_id IN ($1::bigint, $2::bigint)
    ORDER BY p.user_id, p.source, p.captured_at DESC
)
SELECT s.user_id, s.source, s.artist_ids, s.artist_counts, s.track_ids, s.track_counts,
       mine.genres, linked.ids AS linked_ids, linked.names AS linked_names,
       their_artists.facts AS artist_facts, their_tracks.facts AS track_facts
FROM snap s
LEFT JOIN LATERAL (
    SELECT array_agg(DISTINCT g.genre) AS genres
    FROM artists a, unnest(a.genres) AS g(genre)
    WHERE s.user_id = $1 AND a.artist_id = ANY(s.artist_ids)
) mine ON true
LEFT JOIN LATERAL (
    SELECT array_agg(a.artist_id) AS ids, array_agg(a.name) AS names
    FROM artists a
    WHERE s.user_id = $1 AND a.artist_id = ANY(s.artist_ids) AND a.artist_id IN (
        SELECT unnest(t.artist_ids)
        FROM snap o JOIN tracks t ON t.track_id = ANY(o.track_ids)
        WHERE o.user_id = $2)
) linked ON true
LEFT JOIN LATERAL (
    SELECT json_agg(json_build_array(coalesce(a.name, ''), coalesce(a.genres, '{}'))
                    ORDER BY q.ord) AS facts
    FROM unnest(s.artist_ids) WITH ORDINALITY AS q(artist_id, ord)
    LEFT JOIN artists a USING (artist_id)
    WHERE s.user_id = $2
) their_artists ON true
LEFT JOIN LATERAL (
    SELECT json_agg(json_build_array(coalesce(t.name, ''), coalesce(t.artist_ids, '{}'))
                    ORDER BY q.ord) AS facts
    FROM unnest(s.track_ids) WITH ORDINALITY AS q(track_id, ord)
    LEFT JOIN tracks t USING (track_id)
    WHERE s.user_id = $2
) their_tracks ON true
ORDER BY s.user_id, s.source
"""


async def bridge_inputs(
    conn: asyncpg.Connection, reader_id: int, other_id: int
) -> tuple[BridgeReader, BridgeOther] | None:
    """The reader's and the other member's sides of their bridge; None when either has no profile."""
    rows = await conn.fetch(_QUERY, reader_id, other_id)
    mine = [r for r in rows if r["user_id"] == reader_id]
    theirs = [r for r in rows if r["user_id"] == other_id]
    if not mine or not theirs:
        return None
    return _reader(mine), _other(theirs)


def _reader(rows: Sequence[asyncpg.Record]) -> BridgeReader:
    """Merging sources unites their lists: the reader's ranks play no part."""
    names: dict[str, str] = {}
    for row in rows:
        names.update(zip(row["linked_ids"] or (), row["linked_names"] or (), strict=True))
    return BridgeReader(
        artist_ids={a for row in rows for a in row["artist_ids"]},
        track_ids={t for row in rows for t in row["track_ids"]},
        genres={g for row in rows for g in row["genres"] or ()},
        artist_names=names,
    )


def _other(rows: Sequence[asyncpg.Record]) -> BridgeOther:
    """The merged lists (ranked 1, 2, …) with each item's catalogue facts."""
    artist_facts: dict[str, list] = {}
    track_facts: dict[str, list] = {}
    for row in rows:
        artist_facts.update(zip(row["artist_ids"], row["artist_facts"] or (), strict=True))
        track_facts.update(zip(row["track_ids"], row["track_facts"] or (), strict=True))
    lists = merged_lists(rows)
    artists = [BridgeArtist(artist_id, rank, *artist_facts[artist_id])
               for rank, artist_id in enumerate(lists.artist_ids[0], 1)]
    tracks = [BridgeTrack(track_id, rank, *track_facts[track_id])
              for rank, track_id in enumerate(lists.track_ids[0], 1)]
    return BridgeOther(tracks, artists)

