"""A match's "bridge": a few of the other member's favourites the reader does not list yet.

Candidates are the other member's top tracks and top artists that are **not** in the reader's
lists (by id; a track counts as known when the reader lists it). Each is scored

    score = 1 / log2(rank + 1)  ×  (1 + link)

where ``rank`` is the item's rank in the other member's list (how much *they* love it) and
``link`` says how it connects to what the two members share: for a track, 1 when one of its
artists is an artist the reader lists (a new song by someone they already like); for an
artist, the share of its genres that both members have. Highest score first, then the other
member's rank, then tracks before artists, then the id — so the bridge leads from common
ground to new music.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from soundsync_core.taste.profile import TasteProfile

BRIDGE_SIZE = 5


@dataclass(frozen=True)
class BridgeItem:
    """One suggestion: ``kind`` is ``track`` or ``artist``; ``via`` names the common ground."""

    kind: str
    id: str
    name: str
    rank: int
    score: float
    via: str = ""


def _genres(profile: TasteProfile) -> set[str]:
    return {genre for artist in profile.artists for genre in artist.genres}


def bridge(reader: TasteProfile, other: TasteProfile, limit: int = BRIDGE_SIZE) -> list[BridgeItem]:
    """Up to ``limit`` of ``other``'s top tracks and artists for ``reader`` (see the module)."""
    known_artists = {a.id: a.name or a.id for a in reader.artists}
    known_tracks = {t.id for t in reader.tracks}
    shared_genres = _genres(reader) & _genres(other)
    # Sort keys first and build items for the winners only: a match has ~100 candidates.
    keys: list[tuple[float, int, bool, str, int]] = []
    for index, track in enumerate(other.tracks):
        if track.id not in known_tracks:
            liked = any(a in known_artists for a in track.artist_ids)
            keys.append((-_weight(track.rank) * (2.0 if liked else 1.0), track.rank, False,
                         track.id, index))
    for index, artist in enumerate(other.artists):
        if artist.id not in known_artists:
            common = sum(g in shared_genres for g in artist.genres)
            link = common / len(artist.genres) if artist.genres else 0.0
            keys.append((-_weight(artist.rank) * (1.0 + link), artist.rank, True, artist.id, index))
    keys.sort()
    return [_item(reader_artists=known_artists, shared_genres=shared_genres, other=other, key=key)
            for key in keys[:limit]]


def _weight(rank: int) -> float:
    return 1.0 / math.log2(max(rank, 1) + 1)


def _item(
    *, reader_artists: dict[str, str], shared_genres: set[str], other: TasteProfile,
    key: tuple[float, int, bool, str, int],
) -> BridgeItem:
    score, rank, is_artist, item_id, index = key
    if not is_artist:
        track = other.tracks[index]
        liked = [reader_artists[a] for a in track.artist_ids if a in reader_artists]
        return BridgeItem("track", item_id, track.name or item_id, rank, -score,
                          liked[0] if liked else "")
    artist = other.artists[index]
    common = [g for g in artist.genres if g in shared_genres]
    return BridgeItem("artist", item_id, artist.name or item_id, rank, -score,
                      common[0] if common else "")
