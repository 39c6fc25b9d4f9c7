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
    items: list[BridgeItem] = []
    for track in other.tracks:
        if track.id in known_tracks:
            continue
        liked = [known_artists[a] for a in track.artist_ids if a in known_artists]
        weight = 1.0 / math.log2(max(track.rank, 1) + 1)
        items.append(BridgeItem("track", track.id, track.name or track.id, track.rank,
                                weight * (2.0 if liked else 1.0), liked[0] if liked else ""))
    for artist in other.artists:
        if artist.id in known_artists:
            continue
        common = [g for g in artist.genres if g in shared_genres]
        link = len(common) / len(artist.genres) if artist.genres else 0.0
        weight = 1.0 / math.log2(max(artist.rank, 1) + 1)
        items.append(BridgeItem("artist", artist.id, artist.name or artist.id, artist.rank,
                                weight * (1.0 + link), common[0] if common else ""))
    items.sort(key=lambda item: (-item.score, item.rank, item.kind != "track", item.id))
    return items[:limit]
